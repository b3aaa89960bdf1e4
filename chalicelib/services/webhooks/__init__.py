"""Webhooks to the merchant's own systems: endpoints, the event log with deliveries, and delivery attempts."""
