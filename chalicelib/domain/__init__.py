"""Pure rules and state machines: no boto3, no chalice, no I/O."""
