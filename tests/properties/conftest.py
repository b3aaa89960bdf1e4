"""Hypothesis profiles for the property tests.

- default (`dev`): a few examples, the example database on (failures replay first);
- `ci` (picked when env CI is set): the same bounds, derandomized, no database: reproducible;
- `long` (env HYPOTHESIS_PROFILE=long): many more and longer runs, for a soak.
HYPOTHESIS_PROFILE always wins over CI.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_COMMON = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large], print_blob=True)
settings.register_profile("dev", **_COMMON)
settings.register_profile("ci", derandomize=True, database=None, **_COMMON)
settings.register_profile("long", **_COMMON)

PROFILE = os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
settings.load_profile(PROFILE)


def budget(max_examples: int, steps: int) -> settings:
    """The bounded run of one state machine under the loaded profile (`long`: 10x examples, 2x steps)."""
    if PROFILE == "long":
        max_examples, steps = max_examples * 10, steps * 2
    return settings(settings.default, max_examples=max_examples, stateful_step_count=steps)
