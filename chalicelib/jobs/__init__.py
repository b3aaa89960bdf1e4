"""Sweeps (scheduled: find due work through an index, enqueue) and workers (SQS: do it).

The feature modules hold them; tables.py lists them all (SWEEPS, WORKERS)."""
