"""Request and response models of chalicelib/api/webhooks.py."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..common import Body, Out

Pattern = Annotated[str, Field(min_length=1, max_length=128)]


class WebhookIn(Body):
    url: str = Field(min_length=1, max_length=2048, description="https URL (http and loopback only in stage local)")
    events: list[Pattern] = Field(
        min_length=1, max_length=50, description="event types; `prefix.*` matches every type under prefix, `*` all"
    )


class WebhookCreated(Out):
    id: str
    url: str
    events: list[str]
    secret: str = Field(description="signs deliveries; shown only in this answer")


class Webhook(Out):
    id: str
    url: str
    events: list[str]
    created_at: str
    failing: bool = Field(description="3+ consecutive failed attempts, or a delivery that used up its retries")
    consecutive_failures: int
    last_failure_at: str | None = None
    secret_rotated_at: str | None = None


class WebhooksOut(Out):
    items: list[Webhook]


class SecretOut(Out):
    secret: str = Field(description="the new secret; the previous one keeps signing for 24 h")


class EventsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    type: str | None = Field(default=None, min_length=1, max_length=128, description="event type, or `prefix.*`")
    delivery: Literal["pending", "delivered", "failed"] | None = Field(
        default=None, description="only events with a delivery in this status"
    )
    limit: int = Field(default=50, ge=1, le=200)


class Delivery(Out):
    webhook_id: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    next_attempt_at: str | None
    last_status_code: int | None


class Event(Out):
    id: str
    type: str
    created_at: str
    data: dict
    deliveries: list[Delivery]


class EventsOut(Out):
    items: list[Event]


class RedeliveryOut(Out):
    id: str
    webhooks: list[str] = Field(description="endpoints the event is being sent to again")
