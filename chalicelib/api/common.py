"""Shared field types for request and response models."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Fen = Annotated[int, Field(gt=0, le=100_000_000_000, description="Money in fen (1 yuan = 100 fen), > 0")]
FenOrZero = Annotated[int, Field(ge=0, le=100_000_000_000)]
Id = Annotated[str, Field(min_length=1, max_length=128)]


# defer_build: a model's validator is built on its first use, not when its module is imported, so a cold
# start pays only for the models its request validates (bench/foundation.py import_ratio).
class Body(BaseModel):
    """Request bodies: strict types, unknown fields refused."""

    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)


class Out(BaseModel):
    """Response bodies: may grow new optional fields, never change shape."""

    model_config = ConfigDict(extra="allow", defer_build=True)
