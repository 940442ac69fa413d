"""Published case vignettes (tests/data/vignettes*.toml) against the shipped rules.

The targets of the knowledge-base issue are 90% for the category and for a cancer in the top 3.
Where a figure is below its target (docs/validation.md lists every case missed), the test holds
the measured figure as a floor so that it can only go up, and the gap is reported, not hidden.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Measured on all sets together; the targets are 0.90 for both.
CATEGORY_FLOOR = 0.86  # measured 0.868 on 2026-11-26 (nineteen sets; set 19 added held out)
CANCER_TOP3_FLOOR = 0.56  # measured 0.567 on 2026-11-26 (nineteen sets; set 19 added held out)


@pytest.fixture(scope="module")
def validation() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "validate_vignettes", ROOT / "scripts" / "validate_vignettes.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_suite_is_large_and_sourced(validation: ModuleType) -> None:
    cases = validation.load_cases()
    published = [c for c in cases if c["expected_category"] != "none"]
    assert len(published) >= 40
    assert len(cases) - len(published) >= 5
    assert len({c["id"] for c in cases}) == len(cases), "case ids are unique across sets"
    sources = [c["source"] for c in published]
    assert len(set(sources)) == len(sources), "no published case is counted twice"
    for case in published:
        assert case["source"].startswith(("PMID:", "DOI:")), case["id"]
        assert case["findings"] and case["expected_cancers"], case["id"]


def test_figures(validation: ModuleType) -> None:
    from pns_rules import Engine

    figures = validation.figures(validation.evaluate(Engine.shipped(), validation.load_cases()))
    assert figures["category_first"] >= CATEGORY_FLOOR
    assert figures["cancer_top3"] >= CANCER_TOP3_FLOOR
    assert figures["negatives_without_high"] == 1.0


def test_report_is_up_to_date(validation: ModuleType) -> None:
    assert validation.main(["--check"]) == 0, "run python scripts/validate_vignettes.py"
