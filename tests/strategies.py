"""Hypothesis strategies shared by the test suite, built on :mod:`pns_rules.testing`."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from pns_rules import testing
from pns_rules.knowledge import KnowledgeBase

ages = testing.ages()
sexes = testing.sexes()


def finding_names(kb: KnowledgeBase) -> st.SearchStrategy[str]:
    """Any way a user may name a vocabulary finding: id, label or synonym, in any case."""
    return testing.finding_ids(kb).flatmap(lambda finding_id: testing.spellings(kb, finding_id))


def patients(kb: KnowledgeBase, max_findings: int = 8) -> st.SearchStrategy[dict[str, Any]]:
    """Keyword arguments of ``suggest`` for a random valid patient (see
    :func:`pns_rules.testing.patients`)."""
    return testing.patients(kb, max_findings=max_findings).map(lambda p: p.kwargs())
