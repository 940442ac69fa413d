"""A small pure-Python evaluator of the same rule files, for differential testing.

It reads the rules' meaning straight from :class:`~pns_rules.knowledge.Rule` with set operations,
sharing no code with the durable-rules compiler, so the two can check each other.
"""

from __future__ import annotations

from collections.abc import Iterable

from .knowledge import KnowledgeBase, Rule

__all__ = ["reference_fired", "rule_holds"]


def rule_holds(rule: Rule, present: frozenset[str], age: float | None, sex: str | None) -> bool:
    """Whether ``rule`` fires for a patient with findings ``present``, ``age`` and ``sex``."""
    if not present.issuperset(rule.all_of):
        return False
    if rule.any_of and present.isdisjoint(rule.any_of):
        return False
    if rule.at_least_of and len(present.intersection(rule.at_least_of)) < rule.at_least:
        return False
    if rule.age is not None and not rule.age.contains(age):
        return False
    return rule.sex is None or rule.sex == sex


def reference_fired(
    kb: KnowledgeBase, findings: Iterable[str], age: float | None, sex: str | None
) -> frozenset[str]:
    """The ids of every rule in ``kb`` that fires for the patient."""
    present = frozenset(findings)
    return frozenset(r.id for r in kb.rules.values() if rule_holds(r, present, age, sex))
