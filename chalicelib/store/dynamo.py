"""A thin typed wrapper over the low-level DynamoDB client: plain dicts in and out, ints not Decimals."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any, Iterator

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

_ser = TypeSerializer()
_de = TypeDeserializer()


def to_dynamo(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _ser.serialize(v) for k, v in item.items() if v is not None}


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, set):
        return {_plain(v) for v in value}
    return value


def from_dynamo(item: dict[str, Any] | None) -> dict[str, Any] | None:
    if item is None:
        return None
    return {k: _plain(_de.deserialize(v)) for k, v in item.items()}


def key(pk: str, sk: str) -> dict[str, str]:
    return {"pk": pk, "sk": sk}


class ConditionFailed(Exception):
    """A conditional write or transaction was refused; `reasons` has one code per transaction item."""

    def __init__(self, reasons: list[str | None], old_items: list[dict | None] | None = None) -> None:
        super().__init__(f"condition failed: {reasons}")
        self.reasons = reasons
        self.old_items = old_items or []


class Table:
    """The single table. Every method is one round trip (batch_get may page)."""

    def __init__(self, client: Any, name: str) -> None:
        self.client, self.name = client, name

    def get(self, pk: str, sk: str) -> dict | None:
        out = self.client.get_item(TableName=self.name, Key=to_dynamo(key(pk, sk)), ConsistentRead=True)
        return from_dynamo(out.get("Item"))

    def batch_get(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], dict]:
        """Fetch up to 100 items by key in one call (retrying unprocessed keys)."""
        unique = list(dict.fromkeys(keys))
        found: dict[tuple[str, str], dict] = {}
        request = {self.name: {"Keys": [to_dynamo(key(p, s)) for p, s in unique], "ConsistentRead": True}}
        for attempt in range(6):
            out = self.client.batch_get_item(RequestItems=request)
            for raw in out.get("Responses", {}).get(self.name, []):
                item = from_dynamo(raw) or {}  # a returned item is never None
                found[(item["pk"], item["sk"])] = item
            request = out.get("UnprocessedKeys") or {}
            if not request:
                break
            time.sleep(0.05 * 2**attempt)
        return found

    def put(
        self,
        item: dict,
        condition: str | None = None,
        names: dict | None = None,
        values: dict | None = None,
        return_old_on_fail: bool = False,
    ) -> None:
        args: dict[str, Any] = {"TableName": self.name, "Item": to_dynamo(item)}
        with_expression(args, condition, names, values)
        if return_old_on_fail:
            args["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        try:
            self.client.put_item(**args)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                old = from_dynamo(exc.response.get("Item"))
                raise ConditionFailed(["ConditionalCheckFailed"], [old]) from exc
            raise

    def update(
        self,
        pk: str,
        sk: str,
        update: str | None = None,
        condition: str | None = None,
        names: dict | None = None,
        values: dict | None = None,
        *,
        set: dict | None = None,
        add: dict | None = None,
        remove: list[str] | None = None,
    ) -> dict:
        """One UpdateItem: either a written `update` expression or set/add/remove (built by
        `update_expression`, the same builder the unit of work uses); returns the new item."""
        names, values = dict(names or {}), dict(values or {})
        if update is None:
            update = update_expression(names, values, set=set, add=add, remove=remove)
        elif set or add or remove:
            raise ValueError("give either an update expression or set/add/remove, not both")
        args: dict[str, Any] = {
            "TableName": self.name,
            "Key": to_dynamo(key(pk, sk)),
            "UpdateExpression": update,
            "ReturnValues": "ALL_NEW",
        }
        with_expression(args, condition, names, values)
        try:
            return from_dynamo(self.client.update_item(**args).get("Attributes")) or {}
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise ConditionFailed(["ConditionalCheckFailed"]) from exc
            raise

    def delete(self, pk: str, sk: str) -> None:
        self.client.delete_item(TableName=self.name, Key=to_dynamo(key(pk, sk)))

    def query(
        self,
        key_condition: str,
        values: dict,
        names: dict | None = None,
        index: str | None = None,
        forward: bool = True,
        limit: int | None = None,
        filter_: str | None = None,
    ) -> Iterator[dict]:
        """Yield items page by page; stops after `limit` items when given."""
        args: dict[str, Any] = {
            "TableName": self.name,
            "KeyConditionExpression": key_condition,
            "ExpressionAttributeValues": to_dynamo(values),
            "ScanIndexForward": forward,
        }
        if names:
            args["ExpressionAttributeNames"] = names
        if index:
            args["IndexName"] = index
        if filter_:
            args["FilterExpression"] = filter_
        if limit:
            args["Limit"] = limit
        seen = 0
        while True:
            out = self.client.query(**args)
            for raw in out.get("Items", []):
                yield from_dynamo(raw)  # type: ignore[misc]
                seen += 1
                if limit and seen >= limit:
                    return
            if "LastEvaluatedKey" not in out:
                return
            args["ExclusiveStartKey"] = out["LastEvaluatedKey"]

    def transact(self, ops: list[dict]) -> None:
        """TransactWriteItems; on a refused condition raise ConditionFailed with per-item reasons."""
        try:
            self.client.transact_write_items(TransactItems=ops)
        except ClientError as exc:
            err = exc.response["Error"]
            if err["Code"] != "TransactionCanceledException":
                raise
            reasons = exc.response.get("CancellationReasons") or _reasons_from_message(err.get("Message", ""), len(ops))
            codes = [None if r.get("Code") in (None, "None") else r.get("Code") for r in reasons]
            if (
                any(c in ("TransactionConflict", "ThrottlingError") for c in codes)
                and "ConditionalCheckFailed" not in codes
            ):
                raise TransactionConflict(codes) from exc
            raise ConditionFailed(codes, [from_dynamo(r.get("Item")) for r in reasons]) from exc

    def batch_write(self, items: list[dict]) -> int:
        """BatchWriteItem puts, 25 a call; returns the number of calls made."""
        calls = 0
        for start in range(0, len(items), 25):
            pending = [{"PutRequest": {"Item": to_dynamo(i)}} for i in items[start : start + 25]]
            attempt = 0
            while pending:
                calls += 1
                out = self.client.batch_write_item(RequestItems={self.name: pending})
                pending = out.get("UnprocessedItems", {}).get(self.name, [])
                if pending:
                    time.sleep(0.05 * 2 ** min(attempt, 5))
                    attempt += 1
        return calls


class TransactionConflict(ConditionFailed):
    """Another transaction touched the same items at the same moment; retry."""


def _reasons_from_message(message: str, n: int) -> list[dict]:
    # Some emulators put the reasons only in the message: "... [None, ConditionalCheckFailed]".
    if "[" in message:
        parts = message[message.rfind("[") + 1 : message.rfind("]")].split(",")
        return [{"Code": p.strip()} for p in parts]
    return [{"Code": "ConditionalCheckFailed"}] * n


def update_expression(
    names: dict[str, str],
    values: dict[str, Any],
    *,
    set: dict | None = None,
    add: dict | None = None,
    remove: list[str] | None = None,
    set_raw: list[str] | None = None,
) -> str:
    """The UpdateExpression for set/add/remove, its placeholders (#s0/:s0, #a0/:a0, #r0) added to `names` and
    `values`. A None in `set` is refused: removing an attribute is said with `remove=`, never implied."""
    sets = list(set_raw or [])
    for i, (attr, val) in enumerate((set or {}).items()):
        if val is None:
            raise ValueError(f"set {attr!r} to None: name it in remove= to remove it")
        names[f"#s{i}"], values[f":s{i}"] = attr, val
        sets.append(f"#s{i} = :s{i}")
    adds = []
    for i, (attr, val) in enumerate((add or {}).items()):
        names[f"#a{i}"], values[f":a{i}"] = attr, val
        adds.append(f"#a{i} :a{i}")
    both = sorted(frozenset(set or {}) & frozenset(remove or []))
    if both:
        raise ValueError(f"an update cannot both set and remove {both}")
    removes = []
    for i, attr in enumerate(remove or []):
        names[f"#r{i}"] = attr
        removes.append(f"#r{i}")
    expr = " ".join(
        part
        for part in (
            "SET " + ", ".join(sets) if sets else "",
            "ADD " + ", ".join(adds) if adds else "",
            "REMOVE " + ", ".join(removes) if removes else "",
        )
        if part
    )
    if not expr:
        raise ValueError("an update needs something to set, add or remove")
    return expr


def with_expression(args: dict, condition: str | None, names: dict | None, values: dict | None) -> dict:
    """Add the condition and its placeholders to a request (a call's arguments or a transaction item)."""
    if condition:
        args["ConditionExpression"] = condition
    if names:
        args["ExpressionAttributeNames"] = names
    if values:
        args["ExpressionAttributeValues"] = to_dynamo(values)
    return args
