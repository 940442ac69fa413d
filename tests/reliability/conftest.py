"""Reports how many generated inputs each entry point received, how long it took and what failed.

With ``PNS_RELIABILITY_REPORT=path.json`` the figures are also written as JSON.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import pytest

from tests.reliability import COUNTS, PROFILE, TESTS

_DURATIONS: dict[str, float] = {}
_FAILED: list[str] = []
_STARTED = time.time()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if "tests/reliability/" not in report.nodeid:
        return
    _DURATIONS[report.nodeid] = _DURATIONS.get(report.nodeid, 0.0) + report.duration
    if report.failed:
        _FAILED.append(report.nodeid)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not COUNTS:
        return
    rows = []
    for entry, inputs in sorted(COUNTS.items()):
        seconds = sum(_DURATIONS.get(test, 0.0) for test in TESTS[entry])
        rows.append({"entry_point": entry, "inputs": inputs, "seconds": round(seconds, 1)})
    terminalreporter.section(f"reliability ({PROFILE} profile)")
    for row in rows:
        terminalreporter.write_line(
            f"{row['entry_point']:<44} {row['inputs']:>9,} inputs {row['seconds']:>8.1f} s"
        )
    terminalreporter.write_line(f"failed tests: {len(_FAILED)}")
    path = os.environ.get("PNS_RELIABILITY_REPORT")
    if path:
        report = {
            "profile": PROFILE,
            "wall_seconds": round(time.time() - _STARTED, 1),
            "entry_points": rows,
            "failed": _FAILED,
        }
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(report, handle, indent=2)
            handle.write("\n")
