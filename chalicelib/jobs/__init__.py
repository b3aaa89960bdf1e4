"""Sweeps (scheduled: find due work through an index, enqueue) and workers (SQS: do it).

Feature modules register here; `load()` imports them so the registries are complete.
"""
from __future__ import annotations

import importlib

FEATURE_MODULES = [
    "chalicelib.jobs.members",
    "chalicelib.jobs.outbox",
    "chalicelib.jobs.sandbox",
    "chalicelib.jobs.rentals",
    "chalicelib.jobs.orders",
    "chalicelib.jobs.reservations",
    "chalicelib.jobs.trials",
    "chalicelib.jobs.providers",
    "chalicelib.jobs.intents",
    "chalicelib.jobs.thresholds",
    "chalicelib.jobs.coupons",
]


def load() -> None:
    for name in FEATURE_MODULES:
        importlib.import_module(name)
