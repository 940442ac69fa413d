"""Adversarial tests of every entry point, driven by hypothesis (see docs/reliability.md).

``PNS_RELIABILITY_PROFILE=ci`` (the default) runs a short profile on every test run;
``PNS_RELIABILITY_PROFILE=long`` generates at least 100,000 inputs per entry point.
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict

from hypothesis import HealthCheck, settings

__all__ = ["PROFILE", "count", "profile"]

PROFILE = os.environ.get("PNS_RELIABILITY_PROFILE", "ci")
if PROFILE not in ("ci", "long"):
    raise ValueError(f"PNS_RELIABILITY_PROFILE must be 'ci' or 'long', not {PROFILE!r}")

#: examples per test in each profile
_EXAMPLES = {
    "ci": {"entry": 300, "state": 30, "loading": 100, "cli": 200, "threads": 6},
    "long": {
        "entry": 100_000,
        "state": 20_000,
        "loading": 100_000,
        "cli": 100_000,
        "threads": 4_000,
    },
}

#: generated inputs per entry point, and the tests that generated them
COUNTS: Counter[str] = Counter()
TESTS: defaultdict[str, set[str]] = defaultdict(set)


def profile(kind: str) -> settings:
    """Hypothesis settings for one test of the current profile (never a global profile, so the
    rest of the suite keeps its own settings). ``PNS_RELIABILITY_EXAMPLES=N`` overrides the
    number of examples of every test, for a run between the two profiles."""
    override = os.environ.get("PNS_RELIABILITY_EXAMPLES")
    return settings(
        max_examples=int(override) if override else _EXAMPLES[PROFILE][kind],
        deadline=None,
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )


def count(entry: str, inputs: int = 1) -> None:
    """Record ``inputs`` generated inputs given to ``entry``."""
    COUNTS[entry] += inputs
    test = os.environ.get("PYTEST_CURRENT_TEST", "?").split(" ")[0]
    TESTS[entry].add(test)
