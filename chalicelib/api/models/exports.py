"""Query model of chalicelib/api/exports.py."""

from __future__ import annotations

from .ops import DateRangeQuery


class ExportQuery(DateRangeQuery):
    """GET /v1/admin/exports/{export}.csv: the days whose records are exported."""
