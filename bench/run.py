"""make bench: every figure the issues ask for, as a table, also written to bench/results.json.

Each bench module exposes `measure() -> dict[str, number]` and `GOALS: dict[str, str]`.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

MODULES = [
    "bench.foundation",
    "bench.rentals",
    "bench.orders",
    "bench.risk",
    "bench.providers",
    "bench.coupon_drop",
    "bench.webhooks",
    "bench.group_buys",
    "bench.load",
]


def _cell(value: object) -> str:
    """Scalars as they are; a list or dict (call sequences) compactly on one line."""
    if isinstance(value, (list, dict)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def main() -> None:
    results: dict[str, dict] = {}
    for name in MODULES:
        module = importlib.import_module(name)
        figures = module.measure()
        goals = getattr(module, "GOALS", {})
        results[name.split(".")[-1]] = {k: {"value": v, "goal": goals.get(k, "")} for k, v in figures.items()}
    width = max(len(k) for r in results.values() for k in r)
    for section, figures in results.items():
        print(f"\n{section}")
        for key, fig in figures.items():
            print(f"  {key.ljust(width)}  {_cell(fig['value']):>12}  {fig['goal']}")
    out = Path(__file__).with_name("results.json")
    out.write_text(json.dumps(results, indent=2))
    print(f"\nwritten to {out}")


if __name__ == "__main__":
    main()
