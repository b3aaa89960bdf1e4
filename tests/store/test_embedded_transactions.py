"""The embedded moto endpoint's transactions: all or nothing as DynamoDB's, with one table backup each
(chalicelib/local/moto_fixes.py)."""

from __future__ import annotations

import uuid

import boto3
import pytest

from chalicelib.local import moto_fixes
from chalicelib.local.stack import FAKE_CREDENTIALS


@pytest.fixture
def dynamodb(endpoint):
    client = boto3.client(
        "dynamodb",
        endpoint_url=endpoint,  # the embedded endpoint itself, whatever AWS_ENDPOINT_URL_DYNAMODB says
        region_name="us-east-1",
        aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )
    name = f"moto-fix-{uuid.uuid4().hex[:8]}"
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    yield client, name
    client.delete_table(TableName=name)


@pytest.fixture
def backups(monkeypatch):
    taken: list[str] = []
    real = moto_fixes._copy_fields

    def counting(table, memo):
        taken.append(table.name)
        return real(table, memo)

    monkeypatch.setattr(moto_fixes, "_copy_fields", counting)
    return taken


def _put(name: str, pk: str, **cond: str) -> dict:
    return {"Put": {"TableName": name, "Item": {"pk": {"S": pk}, "n": {"N": "1"}}, **cond}}


def test_a_100_item_transaction_backs_its_table_up_once_and_writes_every_item(dynamodb, backups):
    client, name = dynamodb
    client.transact_write_items(TransactItems=[_put(name, f"k{i}") for i in range(100)])
    assert backups == [name]
    assert client.scan(TableName=name, Select="COUNT")["Count"] == 100


def test_a_cancelled_transaction_still_writes_nothing(dynamodb, backups):
    client, name = dynamodb
    client.put_item(TableName=name, Item={"pk": {"S": "taken"}, "n": {"N": "7"}})
    refused = _put(name, "taken", ConditionExpression="attribute_not_exists(pk)")
    with pytest.raises(client.exceptions.TransactionCanceledException):
        client.transact_write_items(TransactItems=[_put(name, "new1"), _put(name, "new2"), refused])
    assert backups == [name]
    items = {i["pk"]["S"]: i["n"]["N"] for i in client.scan(TableName=name)["Items"]}
    assert items == {"taken": "7"}  # the two puts before the refused one were rolled back
    client.transact_write_items(TransactItems=[_put(name, "new1")])  # and the table still takes writes
    assert client.get_item(TableName=name, Key={"pk": {"S": "new1"}})["Item"]["n"] == {"N": "1"}


def test_a_deep_copy_outside_a_transaction_is_a_full_independent_copy(dynamodb):
    import copy

    from moto.dynamodb.models import dynamodb_backends

    client, name = dynamodb
    client.put_item(TableName=name, Item={"pk": {"S": "a"}, "n": {"N": "1"}})
    table = dynamodb_backends["123456789012"]["us-east-1"].tables[name]
    clone = copy.deepcopy(table)
    client.put_item(TableName=name, Item={"pk": {"S": "b"}, "n": {"N": "2"}})
    assert clone is not table and len(clone.all_items()) == 1 and len(table.all_items()) == 2
