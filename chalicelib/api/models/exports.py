"""Query model of chalicelib/api/exports.py."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ExportQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: str | None = Field(default=None, alias="from", description="First day, YYYY-MM-DD (default: to - 29 days)",
                              json_schema_extra={"format": "date"})
    to: str | None = Field(default=None, description="Last day, YYYY-MM-DD, inclusive (default: today, UTC)",
                           json_schema_extra={"format": "date"})
