"""Shared fixtures: the shipped rule base and an engine on it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pns_rules import Engine
from pns_rules.knowledge import KnowledgeBase
from pns_rules.loader import shipped_rules_directory


@pytest.fixture(scope="session")
def engine() -> Engine:
    return Engine.shipped()


@pytest.fixture(scope="session")
def kb(engine: Engine) -> KnowledgeBase:
    return engine.knowledge_base


SLICE_RULES = Path(__file__).parent / "data" / "slice-rules"


@pytest.fixture(scope="session")
def slice_engine() -> Engine:
    """An engine on a small, fixed rule directory whose ids the engine and loader tests name.

    It is the first slice of the shipped rules, frozen, so those tests do not change when the
    shipped rule base grows.
    """
    return Engine.from_directory(SLICE_RULES)


@pytest.fixture
def slice_copy(tmp_path: Path) -> Path:
    """A writable copy of the slice rule directory."""
    target = tmp_path / "slice-rules"
    shutil.copytree(SLICE_RULES, target)
    return target


@pytest.fixture
def rules_copy(tmp_path: Path) -> Path:
    """A writable copy of the shipped rule directory."""
    target = tmp_path / "rules"
    shutil.copytree(shipped_rules_directory(), target)
    return target
