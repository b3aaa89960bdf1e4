"""SQS: send by logical queue name; receive/delete for the local pollers and the sandbox drain."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from .schema import queue_names


class Queues:
    """Logical queue names -> URLs, resolved lazily once."""

    def __init__(self, client: Any, prefix: str, make_client: Callable[[], Any] | None = None) -> None:
        """An SQS client, or none and `make_client`, which gives the same client to every caller, to get it on
        first use: an API container serving no message-sending request never pays for one (bench/foundation.py)."""
        if (client is None) == (make_client is None):
            raise TypeError("Queues takes a client or make_client, exactly one")
        self._client = client
        self._make_client = make_client or (lambda: client)
        self.names = queue_names(prefix)
        self._urls: dict[str, str] = {}

    @property
    def client(self) -> Any:
        if self._client is None:  # make_client answers one client to every thread (bootstrap.Clients.get)
            self._client = self._make_client()
        return self._client

    def url(self, name: str) -> str:
        if name not in self._urls:
            self._urls[name] = self.client.get_queue_url(QueueName=self.names[name])["QueueUrl"]
        return self._urls[name]

    def dlq_url(self, name: str) -> str:
        key = f"{name}-dlq"
        if key not in self._urls:
            self._urls[key] = self.client.get_queue_url(QueueName=self.names[name] + "-dlq")["QueueUrl"]
        return self._urls[key]

    def send(self, name: str, body: dict) -> None:
        self.client.send_message(QueueUrl=self.url(name), MessageBody=json.dumps(body, sort_keys=True))

    def send_many(self, name: str, bodies: list[dict]) -> None:
        for start in range(0, len(bodies), 10):
            entries = [
                {"Id": str(i), "MessageBody": json.dumps(b, sort_keys=True)}
                for i, b in enumerate(bodies[start : start + 10])
            ]
            self.client.send_message_batch(QueueUrl=self.url(name), Entries=entries)

    def receive(
        self, name: str, max_messages: int = 10, wait_seconds: int = 0, visibility: int | None = None, dlq: bool = False
    ) -> list[dict]:
        args: dict[str, Any] = {
            "QueueUrl": self.dlq_url(name) if dlq else self.url(name),
            "MaxNumberOfMessages": max_messages,
            "WaitTimeSeconds": wait_seconds,
            "AttributeNames": ["All"],
        }
        if visibility is not None:
            args["VisibilityTimeout"] = visibility
        messages: list[dict] = self.client.receive_message(**args).get("Messages", [])
        return messages

    def delete(self, name: str, receipt: str) -> None:
        self.client.delete_message(QueueUrl=self.url(name), ReceiptHandle=receipt)

    def release(self, name: str, receipt: str, delay: int = 0) -> None:
        """Make a failed message visible again (after `delay` seconds)."""
        self.client.change_message_visibility(QueueUrl=self.url(name), ReceiptHandle=receipt, VisibilityTimeout=delay)
