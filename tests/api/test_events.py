"""Every state change is an audit entry, and those marked as events reach the EventBridge bus
with the documented detail (docs/EVENTS.md)."""

from __future__ import annotations

import json

from tests.helpers import Api


class Bus:
    """Records put_events calls (stands in for the EventBridge client)."""

    def __init__(self):
        self.entries = []

    def put_events(self, Entries):
        self.entries.extend(Entries)
        return {"FailedEntryCount": 0, "Entries": [{"EventId": str(i)} for i, _ in enumerate(Entries)]}


def test_audit_entries_are_published_once_as_domain_events(client, aws):
    bus = Bus()
    aws.events = bus
    api = Api(client)
    token = api.member("eve:720")
    member_id = api.get("/v1/me", token=token)[1]["member_id"]
    api.delete("/v1/credit/authorization", token=token)
    api.run_jobs()
    api.run_jobs()  # a second sweep finds nothing left to publish
    mine = [e for e in bus.entries if json.loads(e["Detail"])["entity_id"] == f"member#{member_id}"]
    assert [e["DetailType"] for e in mine] == ["credit.granted", "credit.withdrawn"]
    detail = json.loads(mine[0]["Detail"])
    assert set(detail) == {"entity_id", "action", "actor", "at", "before", "after", "data"}
    assert (detail["action"], detail["actor"], detail["after"]["band"]) == ("credit_granted", member_id, "700-749")
    assert mine[0]["Source"] == "creditfirst" and mine[0]["EventBusName"] == aws.settings.event_bus
    status, audit = api.admin("GET", f"/v1/admin/audit?entity_id=member%23{member_id}")
    assert [e["at"] for e in reversed(audit["items"])] == [json.loads(e["Detail"])["at"] for e in mine]
