"""Structured JSON logging (Powertools Logger), created on first use to keep the cold import small.
Never log secrets, tokens, keys or bodies."""
from __future__ import annotations

from typing import Any


class _LazyLogger:
    _real: Any = None

    def _get(self) -> Any:
        if self._real is None:
            from aws_lambda_powertools import Logger

            type(self)._real = Logger(service="creditfirst")
        return self._real

    def __getattr__(self, name: str) -> Any:
        return getattr(self._get(), name)


logger: Any = _LazyLogger()
