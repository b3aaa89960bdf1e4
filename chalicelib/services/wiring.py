"""The modules that fill the registries (notification handlers, review resolvers, charge hooks).

Each registry loads them before its first lookup, so importing the app stays cheap and a Lambda
that handles a notification, a review or a charge never finds an entry missing.
"""
from __future__ import annotations

import importlib

MODULES = (
    "chalicelib.services.rental_security",
    "chalicelib.services.rentals",
    "chalicelib.services.provider_credit",
    "chalicelib.services.orders",
    "chalicelib.services.bookings",
    "chalicelib.services.pay_later",
)
_loaded = False


def load() -> None:
    global _loaded
    if not _loaded:
        for name in MODULES:
            importlib.import_module(name)
        _loaded = True
