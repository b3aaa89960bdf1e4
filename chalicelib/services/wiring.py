"""The modules that fill the registries (notification handlers, review resolvers, charge hooks).

Each registry loads them before its first lookup, so importing the app stays cheap and a Lambda
that handles a notification, a review or a charge never finds an entry missing.
"""
from __future__ import annotations

import importlib

MODULES = (
    "chalicelib.services.rentals.security",
    "chalicelib.services.rentals.rentals",
    "chalicelib.services.members.provider_credit",
    "chalicelib.services.orders.orders",
    "chalicelib.services.orders.bookings",
    "chalicelib.services.orders.pay_later",
)
_loaded = False


def load() -> None:
    global _loaded
    if not _loaded:
        for name in MODULES:
            importlib.import_module(name)
        _loaded = True
