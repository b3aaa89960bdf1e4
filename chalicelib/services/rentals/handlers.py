"""What the rentals area answers: provider notifications about a rental's security, and the review
resolver that continues a rental an operator decided."""

from __future__ import annotations

from . import disputes, rentals, security

NOTIFICATIONS = {
    "freeze.succeeded": security.on_freeze_succeeded,  # a freeze, or its renewal (lapse.py), confirmed
    "freeze.failed": security.on_freeze_failed,
    "deposit.paid": security.on_deposit_paid,
    "deposit.failed": security.on_deposit_failed,
}

RESOLVERS = {
    "rental": rentals.resolve_review,
}

DISPUTES = {  # the review resolver of a dispute whose subject is a rental (services/tables.py dispatches)
    "rt": disputes.resolve,
}
