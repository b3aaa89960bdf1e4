"""What the members area answers: the provider's credit notifications."""

from __future__ import annotations

from . import provider_credit

NOTIFICATIONS = {
    "credit.granted": provider_credit.on_credit_granted,
    "credit.withdrawn": provider_credit.on_credit_withdrawn,
    "credit.declined": provider_credit.on_credit_declined,
}
