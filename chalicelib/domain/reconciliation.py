"""Daily bill reconciliation (PRODUCT.md 8): the provider's bill of a day against our ledger of that day,
line by line by our request number.

A provider's bill and our ledger both reduce to lines (request number, kind, amount in fen). A request
number seen on both sides with the same signed total is matched; with a different total it is an amount
mismatch; seen on one side only it is `only_provider` / `only_ours`. Kinds are normalised to the money's
direction (in: charge, capture, deposit; out: refund), so a provider calling a capture a "trade" still matches.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

# Money towards the merchant is positive, money back to the member negative.
DIRECTION: dict[str, int] = {"charge": 1, "capture": 1, "deposit": 1, "rent": 1, "deduction": 1, "refund": -1}
STATUSES = ("matched", "mismatched", "unavailable")


@dataclass(frozen=True)
class BillLine:
    """One money movement of a day: our request number, its kind, amount in fen (positive), ISO time."""

    out_request_no: str
    kind: str
    amount: int
    at: str = ""
    provider_ref: str = ""

    @property
    def signed(self) -> int:
        return DIRECTION.get(self.kind, 1) * self.amount


def _totals(lines: Iterable[BillLine]) -> dict[str, tuple[int, str]]:
    """Per request number: (signed total, kind). One number may appear on several lines (a bill's adjustment);
    their kinds are joined in sorted order ("capture+charge"), so the report never depends on line order."""
    totals: dict[str, int] = {}
    kinds: dict[str, set[str]] = {}
    for line in lines:
        totals[line.out_request_no] = totals.get(line.out_request_no, 0) + line.signed
        kinds.setdefault(line.out_request_no, set()).add(line.kind)
    return {number: (total, "+".join(sorted(kinds[number]))) for number, total in totals.items()}


def _side(number: str, total: int, kind: str) -> dict:
    return {"out_request_no": number, "kind": kind, "amount": abs(total)}


def match(provider: str, theirs: Iterable[BillLine], ours: Iterable[BillLine]) -> dict:
    """The report of one provider for one day: lists sorted by request number (the same input gives the
    same report, so a rerun is recognised as one)."""
    bill, ledger = _totals(theirs), _totals(ours)
    matched, only_provider, only_ours, amount_mismatch = 0, [], [], []
    for number in sorted(bill.keys() | ledger.keys()):
        if number not in ledger:
            only_provider.append(_side(number, *bill[number]))
        elif number not in bill:
            only_ours.append(_side(number, *ledger[number]))
        elif bill[number][0] != ledger[number][0]:
            amount_mismatch.append(
                {
                    "out_request_no": number,
                    "kind": ledger[number][1],
                    "provider_amount": abs(bill[number][0]),
                    "our_amount": abs(ledger[number][0]),
                }
            )
        else:
            matched += 1
    mismatched = bool(only_provider or only_ours or amount_mismatch)
    return {
        "provider": provider,
        "status": "mismatched" if mismatched else "matched",
        "matched": matched,
        "only_provider": only_provider,
        "only_ours": only_ours,
        "amount_mismatch": amount_mismatch,
    }


def unavailable(provider: str, reason: str) -> dict:
    """The report of a provider whose bill could not be fetched (retried by the next run)."""
    return {
        "provider": provider,
        "status": "unavailable",
        "matched": 0,
        "only_provider": [],
        "only_ours": [],
        "amount_mismatch": [],
        "reason": reason,
    }
