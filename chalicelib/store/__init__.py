"""DynamoDB and SQS: the schema in one place, the table wrapper, the unit of work."""
