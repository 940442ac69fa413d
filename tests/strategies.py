"""Hypothesis strategies shared by the test suite."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from pns_rules.knowledge import KnowledgeBase

ages = st.one_of(
    st.none(),
    st.integers(min_value=0, max_value=120),
    st.floats(min_value=0, max_value=120, allow_nan=False),
)
sexes = st.sampled_from([None, "female", "male"])


def finding_names(kb: KnowledgeBase) -> st.SearchStrategy[str]:
    """Any way a user may name a vocabulary finding: id, label or synonym, in any case."""
    names = sorted({name for f in kb.findings.values() for name in (f.id, f.label, *f.synonyms)})
    return st.sampled_from(names).flatmap(
        lambda name: st.sampled_from([name, name.upper(), name.lower(), f"  {name} "])
    )


def patients(kb: KnowledgeBase, max_findings: int = 8) -> st.SearchStrategy[dict[str, Any]]:
    """Keyword arguments of ``suggest`` for a random valid patient.

    Findings are drawn mostly from those that rules mention, so that rules actually fire.
    """
    used = sorted({f for rule in kb.rules.values() for f in rule.findings})
    findings = st.lists(st.sampled_from(used), max_size=max_findings)
    return st.fixed_dictionaries({"findings": findings, "age": ages, "sex": sexes})
