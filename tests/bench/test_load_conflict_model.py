"""The load bench's conflict model answers as DynamoDB does, so the app takes its own retry path
(DynamoDB Local serialises transactions and never sends TransactionConflict itself)."""

from __future__ import annotations

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError

from bench.load import ConflictModel
from chalicelib.store.dynamo import Table, TransactionConflict

NOWHERE = "http://127.0.0.1:9"  # nothing listens: a call the model lets through fails to connect


def _client() -> object:
    return boto3.client(
        "dynamodb",
        endpoint_url=NOWHERE,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=1),
    )


def _ops(*keys: tuple[str, str]) -> list[dict]:
    return [
        {
            "Update": {
                "TableName": "bench",
                "Key": {"pk": {"S": pk}, "sk": {"S": sk}},
                "UpdateExpression": "ADD n :one",
                "ExpressionAttributeValues": {":one": {"N": "1"}},
            }
        }
        for pk, sk in keys
    ]


def test_a_transaction_touching_an_item_in_flight_elsewhere_is_cancelled_and_the_app_retries() -> None:
    client = _client()
    model = ConflictModel(client, enabled=True)
    shared = ("METRIC#band#700-749", "2026-12-06#1")
    model.inflight[shared] = {1: True}  # another request's transaction has it
    with pytest.raises(TransactionConflict) as caught:
        Table(client, "bench").transact(_ops(("RENTAL#r1", "RENTAL"), shared))
    assert caught.value.reasons == [None, "TransactionConflict"]
    assert (model.cancelled, model.shared) == (1, 1)
    assert model.items == {"METRIC#band#700-749 2026-12-06#1": 1}


def test_a_single_write_to_an_item_in_a_transaction_gets_transaction_conflict_exception() -> None:
    client = _client()
    model = ConflictModel(client, enabled=True)
    model.inflight[("MEMBER#m1", "MEMBER")] = {1: True}
    with pytest.raises(ClientError) as caught:
        client.put_item(TableName="bench", Item={"pk": {"S": "MEMBER#m1"}, "sk": {"S": "MEMBER"}})
    assert caught.value.response["Error"]["Code"] == "TransactionConflictException"
    assert model.single_conflicts == 1


def test_own_items_a_single_write_holds_or_a_switched_off_model_let_the_call_through() -> None:
    client = _client()
    model = ConflictModel(client, enabled=True)
    model.inflight[("SBX#op#x", "OP")] = {1: False}  # a single write in flight does not cancel a transaction
    with pytest.raises(EndpointConnectionError):
        client.transact_write_items(TransactItems=_ops(("RENTAL#r2", "RENTAL"), ("SBX#op#x", "OP")))
    model.enabled = False
    model.inflight[("RENTAL#r3", "RENTAL")] = {1: True}
    with pytest.raises(EndpointConnectionError):
        client.transact_write_items(TransactItems=_ops(("RENTAL#r3", "RENTAL")))
    assert (model.cancelled, model.single_conflicts) == (0, 0)
    assert model.inflight == {
        ("SBX#op#x", "OP"): {1: False},
        ("RENTAL#r3", "RENTAL"): {1: True},
    }  # theirs kept, ours released
