"""Small helpers shared by the tests."""

from __future__ import annotations

from typing import Any

from pns_rules import Differential


def ranking(result: Differential) -> dict[str, Any]:
    """The clinical content of a result: what is ranked, how, and why (not how terms were spelled)."""
    return {
        "categories": [(c.name, c.score, c.level, c.syndromes) for c in result.categories],
        "syndromes": [
            (s.id, s.score, s.level, tuple((e.rule, e.counted) for e in s.evidence), s.cancers)
            for s in result.syndromes
        ],
        "cancers": [(c.id, c.score, c.level, c.reasons) for c in result.cancers],
        "fired": result.fired_rules,
    }
