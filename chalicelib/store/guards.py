"""The one helper that writes a status guard: the condition that the item is still in the state the caller read.

Every state machine (rentals, orders, bookings, trials, charge_state, agreement_state, reviews, campaigns)
guards its writes with `expect(...)`, so a concurrent change fails the transaction instead of being overwritten.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

ABSENT = None  # in a tuple of expected values: the attribute may also be missing


def expect(
    expected: Mapping[str, Any],
    *,
    also: str = "",
    values: Mapping[str, Any] | None = None,
    names: Mapping[str, str] | None = None,
    on_fail: Any = None,
) -> dict[str, Any]:
    """Keyword arguments for `UnitOfWork.update`/`delete`: each attribute of `expected` still holds its value
    (a tuple: any of them; ABSENT among them: or missing), AND `also` (a further condition over `values` and
    `names`, which the update's own expression may use too). Placeholders are `#x_<attr>` and `:x_<attr><i>`,
    so they never collide with the update's own."""
    parts: list[str] = []
    refs: dict[str, str] = dict(names or {})
    vals: dict[str, Any] = {}
    for attr, want in expected.items():
        ref = f"#x_{attr}"
        refs[ref] = attr
        options = want if isinstance(want, tuple) else (want,)
        alternatives = []
        for i, option in enumerate(options):
            if option is ABSENT:
                alternatives.append(f"attribute_not_exists({ref})")
            else:
                vals[f":x_{attr}{i}"] = str(option) if isinstance(option, str) else option
                alternatives.append(f"{ref} = :x_{attr}{i}")
        parts.append(alternatives[0] if len(alternatives) == 1 else "(" + " OR ".join(alternatives) + ")")
    if also:
        parts.append(also)
    if not parts:
        raise ValueError("a guard needs at least one expected attribute")
    guard: dict[str, Any] = {"condition": " AND ".join(parts), "names": refs, "values": {**vals, **(values or {})}}
    if on_fail is not None:  # a unit-of-work write; a direct Table write takes no on_fail
        guard["on_fail"] = on_fail
    return guard
