"""Domain errors: one base with a code and message; api/errors.py maps them to HTTP."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every expected failure; `code` is the API error code."""

    code = "domain_error"
    status = 400

    def __init__(self, message: str, field: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code


class ValidationFailed(DomainError):
    """Bad or missing input."""

    code = "validation_error"
    status = 400


class Unauthenticated(DomainError):
    """No or bad credentials."""

    code = "unauthenticated"
    status = 401


class Forbidden(DomainError):
    """Authenticated but not allowed."""

    code = "forbidden"
    status = 403


class NotFound(DomainError):
    """No such object, or not the caller's."""

    code = "not_found"
    status = 404


class InvalidState(DomainError):
    """The action is not allowed in the object's current status."""

    code = "invalid_state"
    status = 409


class InvalidTransition(InvalidState):
    """A state machine refused a transition."""


class Conflict(DomainError):
    """A concurrent change won; the request may be retried."""

    code = "conflict"
    status = 409


class IdempotencyKeyReused(DomainError):
    """The same Idempotency-Key was used with a different request."""

    code = "idempotency_key_reused"
    status = 422


class IdempotencyInProgress(DomainError):
    """The first request with this Idempotency-Key has not finished yet."""

    code = "idempotency_in_progress"
    status = 409


class InvalidSignature(DomainError):
    """A provider callback failed signature verification."""

    code = "invalid_signature"
    status = 401


class ProviderError(DomainError):
    """The credit provider failed or refused; safe to retry with the same request number."""

    code = "provider_error"
    status = 502


class ProviderNotConfigured(ProviderError):
    """This deployment has no keys for the provider: it does not offer it (not a provider outage)."""

    code = "provider_not_configured"
