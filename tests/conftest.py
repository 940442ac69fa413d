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


@pytest.fixture
def rules_copy(tmp_path: Path) -> Path:
    """A writable copy of the shipped rule directory."""
    target = tmp_path / "rules"
    shutil.copytree(shipped_rules_directory(), target)
    return target
