"""What the orders area answers: provider notifications about charges, pay-later agreements and
refunds, and the review resolvers of orders, bookings and booking disputes."""

from __future__ import annotations

from . import billing, bookings, orders, pay_later, refunds

NOTIFICATIONS = {
    "charge.succeeded": billing.on_charge_answer,
    "charge.failed": billing.on_charge_answer,
    "paylater.confirmed": pay_later.on_confirmed,
    "paylater.refused": pay_later.on_refused,
    "refund.succeeded": refunds.on_refund_answer,
    "refund.failed": refunds.on_refund_answer,
}

RESOLVERS = {
    "order": orders.resolve,
    "booking": bookings.resolve,
    "dispute": bookings.resolve_dispute,
}
