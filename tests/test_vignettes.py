"""Published case vignettes (tests/data/vignettes.toml) against the shipped rules.

The targets of the knowledge-base issue are 90% for the category and for a cancer in the top 3.
The category target is met and asserted. The cancer target is not met yet (see
docs/validation.md for the cases missed and why): the test holds the measured figure as a floor so
that it can only go up, and the gap is reported, not hidden.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
CATEGORY_TARGET = 0.90
CANCER_TOP3_FLOOR = 0.78  # measured 0.787 on 2026-11-26; the target is 0.90


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
    for case in published:
        assert case["source"].startswith(("PMID:", "DOI:")), case["id"]
        assert case["findings"] and case["expected_cancers"], case["id"]


def test_figures(validation: ModuleType) -> None:
    from pns_rules import Engine

    figures = validation.figures(validation.evaluate(Engine.shipped(), validation.load_cases()))
    assert figures["category_first"] >= CATEGORY_TARGET
    assert figures["cancer_top3"] >= CANCER_TOP3_FLOOR
    assert figures["negatives_without_high"] == 1.0


def test_report_is_up_to_date(validation: ModuleType) -> None:
    assert validation.main(["--check"]) == 0, "run python scripts/validate_vignettes.py"
