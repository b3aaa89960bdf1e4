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
NAMESPACE = "creditfirst"


def count(name: str, **dimensions: str) -> None:
    """One CloudWatch metric point (Embedded Metric Format on stdout), flushed at once: Chalice routes and
    workers have no Lambda handler to hang Powertools' @log_metrics on (STACK-NOTES.md)."""
    from aws_lambda_powertools.metrics import MetricUnit, single_metric

    with single_metric(name=name, unit=MetricUnit.Count, value=1, namespace=NAMESPACE) as metric:
        for key, value in dimensions.items():
            metric.add_dimension(name=key, value=value)
