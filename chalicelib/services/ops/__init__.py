"""Ops: metrics counters, analytics read from them, the audit log."""
