"""The event catalogue (chalicelib/domain/events.py) is the one truth: every `event=` the code writes is in
it with the fields it sets, every entry is emitted somewhere, and docs/EVENTS.md is generated from it."""

from __future__ import annotations

import ast
from pathlib import Path

from chalicelib.domain import group_buys, rentals, trials
from chalicelib.domain.events import CATALOGUE
from chalicelib.events_doc import render

ROOT = Path(__file__).resolve().parents[2]
PARTS = ("before", "after", "data")


def _targets(transitions: dict, sources: tuple = ()) -> set[str]:
    """Every status a transition table can enter (from `sources` only, when given)."""
    return {str(t) for s, ts in transitions.items() if not sources or s in sources for t in ts}


def _f_string_expansions() -> dict[str, set[str]]:
    """The types an f-string `event=` can build, keyed by its source (a new one must be declared here)."""
    from chalicelib.services.orders.pay_later import TERMS

    return {
        "f'rental.{target}'": {f"rental.{s}" for s in _targets(rentals.TRANSITIONS)},  # rental_store.stage_move
        "f'trial.{target}'": {f"trial.{s}" for s in _targets(trials.TRANSITIONS, (trials.T.PENDING_FREEZE,))},
        "f'risk.review_{status}'": {"risk.review_approved", "risk.review_rejected"},  # reviews.decide
        "f\"{item['type']}.cancelled\"": {f"{kind}.cancelled" for kind in TERMS},  # pay_later.stage_refused
        "f'team.{target}'": {f"team.{s}" for s in _targets(group_buys.TRANSITIONS)},  # growth/settle._close
    }


def _emissions() -> list[tuple[str, set[str], ast.Call]]:
    """(where, the types it can emit, the call) for every `.audit(..., event=...)` in chalicelib."""
    expansions, out = _f_string_expansions(), []
    for path in sorted((ROOT / "chalicelib").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "audit"):
                continue
            event = next((k.value for k in node.keywords if k.arg == "event"), None)
            if event is None:
                continue
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            if isinstance(event, ast.Constant):
                out.append((where, {event.value}, node))
            else:
                source = ast.unparse(event)
                assert source in expansions, f"{where}: declare what event={source} can be in this test"
                out.append((where, expansions[source], node))
    return out


def test_every_event_the_code_writes_is_catalogued():
    missing = {(where, t) for where, types, _ in _emissions() for t in types if t not in CATALOGUE}
    assert not missing


def test_every_catalogued_event_is_written_somewhere():
    emitted = {t for _, types, _ in _emissions() for t in types}
    assert set(CATALOGUE) - emitted == set()


def test_the_literal_fields_of_every_event_are_catalogued():
    """Keys written as literals in before=/after=/data= (views and computed dicts are read in the catalogue)."""
    wrong = []
    for where, types, call in _emissions():
        for kw in call.keywords:
            if kw.arg in PARTS and isinstance(kw.value, ast.Dict):
                keys = {k.value for k in kw.value.keys if isinstance(k, ast.Constant)}
                wrong += [
                    (where, t, kw.arg, sorted(keys - CATALOGUE[t].fields(kw.arg)))
                    for t in types
                    if t in CATALOGUE and keys - CATALOGUE[t].fields(kw.arg)
                ]
    assert wrong == []


def test_every_entry_says_what_and_when():
    for name, event in CATALOGUE.items():
        assert name.count(".") == 1 and event.entity and event.when, name


def test_the_committed_events_document_is_the_generated_one():
    committed = (ROOT / "docs" / "EVENTS.md").read_text()
    assert committed == render(), "regenerate: python -m chalicelib.events_doc > docs/EVENTS.md"
    for name in CATALOGUE:
        assert f"| `{name}` |" in committed
