"""The one catalogue of domain events: every type the code publishes, its entity, when it happens and the
fields of its detail's `before` / `after` / `data`.

UnitOfWork.audit refuses a type that is not here, docs/EVENTS.md is generated from it
(`python -m chalicelib.events_doc > docs/EVENTS.md`), and tests/domain/test_events_catalogue.py holds
every `event=` in chalicelib to it. Add the entry in the same change that emits a new event.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EventType:
    """Fields are space-separated names; an entry lists every field the type may carry (some are optional)."""

    entity: str
    when: str
    before: str = ""
    after: str = ""
    data: str = ""

    def fields(self, part: str) -> set[str]:
        """The field names of `before`, `after` or `data`."""
        return set(getattr(self, part).split())


class UnknownEvent(LookupError):
    """An event type missing from the catalogue: a programming error, never a client's."""


E = EventType
_SCENARIO_FIELDS = "risk_level base_threshold threshold trial_days auto_adjust rules"
_RENTAL_DECIDED = "status decision reason frozen_amount deposit_amount exposure_amount"

CATALOGUE: dict[str, EventType] = {
    # -- members and credit ---------------------------------------------------------------------------
    "credit.granted": E(
        "member", "a credit authorization was granted (also by a provider callback)", before="tier", after="band tier"
    ),
    "credit.declined": E("member", "the provider declined the credit authorization"),
    "credit.withdrawn": E("member", "the member withdrew consent; the band snapshot is deleted"),
    "credit.expired": E("member", "the 30-day band snapshot expired"),
    "member.blacklisted": E("member", "added to the blacklist (an overdue default or an operator)", after="reason by"),
    "member.unblacklisted": E(
        "member", "an operator took the member off the blacklist", before="member_id reason by at", after="blacklisted"
    ),
    # -- rentals --------------------------------------------------------------------------------------
    "rental.created": E("rental", "a rental was decided", after="status decision reason"),
    "rental.pending_freeze": E(
        "rental", "an approved review: the freeze is asked of the provider", before="status", after=_RENTAL_DECIDED
    ),
    "rental.awaiting_deposit": E(
        "rental", "an approved review: a deposit is required", before="status", after=_RENTAL_DECIDED
    ),
    "rental.active": E(
        "rental",
        "the provider confirmed the freeze (or the deposit was paid)",
        before="status",
        after="status activated_at freeze_ref freeze_expires_at deposit_ref",
    ),
    "rental.rejected": E(
        "rental",
        "the provider refused the freeze or deposit, or a review was rejected",
        before="status",
        after=_RENTAL_DECIDED,
    ),
    "rental.returned": E("rental", "the member returned the item", before="status", after="status returned_at"),
    "rental.overdue": E(
        "rental", "the return is overdue: settlement from the freeze started", after="settle_started_at"
    ),
    "rental.closed": E(
        "rental",
        "settled: rent taken, deductions kept, the rest released",
        before="status",
        after="status outcome rent_charged deducted_amount released_amount "
        "closed_at exposure_amount days_charged lines discounts",
    ),
    "rental.deducted": E(
        "rental", "an operator's deduction from the freeze (or deposit)", after="amount reason out_request_no"
    ),
    "rental.renewed": E(
        "rental",
        "the member extended the rental: a later due date, the rent recomputed",
        before="days due_at rent",
        after="days rent return_by due_at extended_days",
    ),
    "rental.closing": E(
        "rental",
        "the member bought the item out: price and rent fixed, the provider asked",
        before="status",
        after="status buyout_price buyout_rent buyout_days buyout_at",
    ),
    "rental.damage_recorded": E(
        "rental",
        "an operator recorded damage lines with evidence (taken at close)",
        after="damage_id lines evidence total",
    ),
    "rental.inspecting": E(
        "rental",
        "the item is back and held for the scenario's inspection window",
        before="status",
        after="status returned_at inspection_until",
    ),
    "rental.disputed": E(
        "rental",
        "the member disputed what a closed rental took (into the review queue)",
        after="dispute_id reason amount respond_by",
    ),
    "rental.dispute_answered": E(
        "rental", "an operator upheld (refund follows) or rejected a rental dispute", after="dispute_id status"
    ),
    "rental.dispute_refunded": E(
        "rental", "the disputed lines of an upheld dispute were refunded", after="dispute_id amount"
    ),
    "rental.freeze_renewed": E(
        "rental",
        "a lapsing freeze was replaced by a fresh one",
        before="freeze_expires_at",
        after="freeze_expires_at freeze_ref",
    ),
    # -- orders (pay later, installments) ---------------------------------------------------------------
    "order.created": E("order", "a pay-later or installment order was decided", after="status payable kind"),
    "order.reviewed": E("order", "an operator decided the order's risk review", before="status", after="status"),
    "order.cancelled": E(
        "order",
        "cancelled before any charge (by the member, a refusal or an unpaid trade)",
        before="status",
        after="status reason",
    ),
    "order.charge_failed": E("order", "a charge attempt failed; it is retried", data="attempt"),
    "order.charged": E("order", "the charge succeeded", before="status", after="status amount"),
    "order.past_due": E("order", "charge retries exhausted (a default)", before="status", after="status"),
    "order.refunded": E("order", "a refund (whole or partial) was paid back", before="status", after="status amount"),
    # -- bookings --------------------------------------------------------------------------------------
    "booking.created": E("booking", "a booking on credit was decided", after="status price"),
    "booking.reviewed": E("booking", "an operator decided the booking's risk review", before="status", after="status"),
    "booking.cancelled": E(
        "booking",
        "cancelled before the start (with its fee, if any) or refused",
        before="status",
        after="status cancellation_fee reason",
    ),
    "booking.completed": E(
        "booking",
        "the service took place: satisfied (to charge) or disputed",
        before="status",
        after="status satisfied",
    ),
    "booking.dispute_resolved": E(
        "booking", "an operator decided the dispute (waived or charged)", before="status", after="status"
    ),
    "booking.charge_failed": E("booking", "a charge attempt failed; it is retried", data="attempt"),
    "booking.charged": E("booking", "the price was charged", before="status", after="status amount"),
    "booking.fee_charged": E("booking", "the cancellation fee was charged", after="amount"),
    "booking.past_due": E("booking", "charge retries exhausted (a default)", before="status"),
    # -- trials ----------------------------------------------------------------------------------------
    "trial.created": E("trial", "a gold member took a trial slot; the freeze is asked", after="status item_value"),
    "trial.active": E("trial", "the provider confirmed the trial's freeze", before="status", after="status"),
    "trial.rejected": E("trial", "the provider refused the trial's freeze", before="status", after="status"),
    "trial.overdue": E("trial", "not returned by the end of the trial", before="status", after="status"),
    "trial.returned": E("trial", "returned and the freeze released", before="status", after="status"),
    "product.trial_slots_added": E("product", "operators opened trial slots", data="slots"),
    # -- reservations ----------------------------------------------------------------------------------
    "reservation.created": E(
        "reservation", "a silver or gold member joined a product's queue", after="product_id tier"
    ),
    "reservation.offered": E(
        "reservation", "a place was offered to the head of the queue", before="status", after="status offer_expires_at"
    ),
    "reservation.converted": E("reservation", "the holder took the offered place", before="status", after="status"),
    "reservation.expired": E(
        "reservation", "the offer lapsed; the place goes down the queue", before="status", after="status"
    ),
    "product.stock_added": E("product", "operators added stock", data="quantity"),
    # -- risk reviews and scenarios --------------------------------------------------------------------
    "risk.review_opened": E(
        "review", "a risk rule (or a dispute) sent something to the review queue", after="kind ref_id rule member_id"
    ),
    "risk.review_approved": E(
        "review", "an operator approved the review", before="status", after="status kind ref_id note"
    ),
    "risk.review_rejected": E(
        "review", "an operator rejected the review", before="status", after="status kind ref_id note"
    ),
    "scenario.created": E(
        "scenario", "an operator created a scenario", after=f"name {_SCENARIO_FIELDS} adjusted_on updated_at"
    ),
    "scenario.updated": E(
        "scenario",
        "an operator changed a scenario (the changed fields only)",
        before=_SCENARIO_FIELDS,
        after=_SCENARIO_FIELDS,
    ),
    "scenario.threshold_adjusted": E(
        "scenario",
        "the daily job moved a threshold on the bad-debt rate",
        before="threshold",
        after="threshold",
        data="closed defaults day bad_debt_rate_bp",
    ),
    # -- marketing -------------------------------------------------------------------------------------
    "coupon.issued": E("coupon", "a coupon was issued to a member", after="kind amount member_id"),
    "coupons.issued": E(
        "drop", "one batch of a coupon drop (credit day, campaign) was issued", data="kind amount count coupons"
    ),
    "campaign.created": E(
        "campaign",
        "an operator created a coupon campaign",
        after="id tier amount percent_off min_spend valid_days budget valid_from valid_until "
        "given issued status created_at",
    ),
    # -- group-buys (拼团) ------------------------------------------------------------------------------
    "group_buy.created": E("group_buy", "an operator created a group-buy", after="team_size group_price"),
    "team.opened": E(
        "team",
        "a member opened a team and holds its first seat",
        after="status size",
        data="share_code group_buy_id member_id order_id",
    ),
    "team.joined": E("team", "a member took a seat in a team", data="share_code member_id order_id seats"),
    "team.left": E(
        "team",
        "a member cancelled their seat's order while the team was open: the seat is free",
        data="share_code member_id order_id seats",
    ),
    "team.full": E(
        "team",
        "every seat was taken: each seat's order proceeds",
        before="status",
        after="status seats",
        data="share_code group_buy_id",
    ),
    "team.virtual_full": E(
        "team",
        "short at its deadline but completed by virtual fill",
        before="status",
        after="status seats",
        data="share_code group_buy_id",
    ),
    "team.failed": E(
        "team",
        "short at its deadline: every seat's order is cancelled (team_failed)",
        before="status",
        after="status seats",
        data="share_code group_buy_id",
    ),
    # -- referrals (老带新) -----------------------------------------------------------------------------
    "referral.bound": E(
        "referral", "a new member was bound to a referrer's code", after="status referrer_id", data="self_referral"
    ),
    "referral.pending": E(
        "referral",
        "the referee's first charged order or on-time rental: the hold starts",
        before="status",
        after="status hold_until",
        data="trigger",
    ),
    "referral.review": E(
        "referral", "a self-referral at the end of its hold waits for an operator", before="status", after="status"
    ),
    "referral.earned": E(
        "referral", "the hold passed: both reward coupons were issued", before="status", after="status coupon_id"
    ),
    "referral.void": E(
        "referral",
        "a refund or default in the hold, a rejected review, the cap or the budget",
        before="status",
        after="status reason",
    ),
    # -- member-day reminders -------------------------------------------------------------------------
    "credit_day.reminded": E("member", "the day before the credit day, the member's reminder went out", data="month"),
    "credit_day.confirmed": E("member", "the member confirmed they will take part in the credit day", data="month"),
    # -- reconciliation --------------------------------------------------------------------------------
    "reconciliation.mismatched": E(
        "reconciliation",
        "the daily bill reconciliation found a provider's bill and "
        "our ledger of a day differ (an alert: the report is at "
        "GET /v1/admin/reconciliation?date=)",
        after="status matched only_provider only_ours amount_mismatch",
        data="date provider",
    ),
}


def require(event: str) -> EventType:
    """The catalogue entry of `event`; UnknownEvent when the code emits a type the catalogue lacks."""
    try:
        return CATALOGUE[event]
    except KeyError:
        raise UnknownEvent(f"event type {event!r} is not in chalicelib/domain/events.py") from None
