"""Group-buy figures: DynamoDB round trips of a join (POST /v1/teams/{code}/join) and of opening a team,
and the items an idle `expire_group_teams` sweep reads with 0 and with 1,000 open teams not yet due.

Standalone: `python bench/group_buys.py` (embedded endpoint, fresh table).
"""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import call, measure_sweep, start_split  # noqa: E402


def _open_teams(deps: Any, n: int) -> None:
    """n open teams whose deadline is a day away (written directly, in batches)."""
    from chalicelib.clock import iso
    from chalicelib.services.growth.teams import due_pk, team_key

    later = iso(deps.clock.now() + timedelta(days=1))
    items = []
    for i in range(n):
        code = f"BENCH{i:05d}"
        items.append(
            {
                "pk": team_key(code)[0],
                "sk": "TEAM",
                "type": "team",
                "share_code": code,
                "status": "open",
                "seats": 1,
                "size": 2,
                "expires_at": later,
                "due_pk": due_pk(code),
                "due_at": later,
            }
        )
    deps.table.batch_write(items)


def main() -> dict:
    deps, counter, client = start_split("groupbuys", ("login", "authorize_credit", "open_pay_later"))
    with client:
        tokens = []
        for name in ("leader", "joiner"):
            token = call(client, "POST", "/v1/sessions", {"provider": "sandbox", "code": f"gb{name}:760"})["token"]
            call(client, "POST", "/v1/credit/authorizations", {}, token=token)
            tokens.append(token)
        now = deps.clock.now()
        gb = call(
            client,
            "POST",
            "/v1/admin/group-buys",
            {
                "product_id": "p",
                "title": "bench",
                "price": 10_000,
                "group_price": 5_000,
                "team_size": 40,
                "per_member_limit": 10,
                "starts_at": now.isoformat(),
                "ends_at": (now + timedelta(days=5)).isoformat(),
                "scenario": "books",
            },
            token=deps.settings.admin_key,
        )
        call(client, "POST", "/v1/sandbox/clock", {"advance_seconds": 86_460})
        deps.clock.now()
        with counter.measure() as opened:
            team = call(client, "POST", f"/v1/group-buys/{gb['id']}/teams", {"quantity": 2}, token=tokens[0])
        with counter.measure() as joined:
            call(client, "POST", f"/v1/teams/{team['share_code'].lower()}/join", {}, token=tokens[1])
        idle_0 = measure_sweep(deps, counter, "expire_group_teams")
        _open_teams(deps, 1_000)
        idle_1000 = measure_sweep(deps, counter, "expire_group_teams")
    return {
        "open_team_round_trips": len(opened["app"]),
        "open_team_calls": opened["app"],
        "join_round_trips": len(joined["app"]),
        "join_calls": joined["app"],
        "idle_sweep_0_teams": idle_0,
        "idle_sweep_1000_teams_not_due": idle_1000,
    }


GOALS = {
    "POST /v1/teams/{code}/join round trips": "<= 3",
    "idle team sweep items read, 0 teams": "flat",
    "idle team sweep items read, 1,000 teams": "flat",
}


def measure() -> dict[str, Any]:
    raw = main()
    return {
        "POST /v1/teams/{code}/join round trips": raw["join_round_trips"],
        "POST /v1/group-buys/{id}/teams round trips": raw["open_team_round_trips"],
        "idle team sweep queries, 0 teams": raw["idle_sweep_0_teams"]["queries"],
        "idle team sweep items read, 0 teams": raw["idle_sweep_0_teams"]["items_read"],
        "idle team sweep queries, 1,000 teams": raw["idle_sweep_1000_teams_not_due"]["queries"],
        "idle team sweep items read, 1,000 teams": raw["idle_sweep_1000_teams_not_due"]["items_read"],
    }


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
