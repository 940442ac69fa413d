"""Property-test any rule base: hypothesis strategies and ready-made checks for curators.

This module needs hypothesis (``pip install "pns-rules[testing]"``); ``import pns_rules`` does not
import it. Call the checks from your own pytest on your own rule directory::

    import pytest
    from pns_rules import testing

    def test_my_rules_are_consistent():
        testing.assert_consistent("my-rules")          # what `pns-rules check` reports as errors

    @pytest.mark.parametrize("check", testing.PROPERTY_CHECKS)
    def test_my_rules(check):
        check("my-rules")                               # generates patients, asserts an invariant

Each ``check_*`` function generates patients from the rule base with :func:`patients` (findings
that complete a random rule, plus random ones, spelled as users spell them; ages at the rules' age
limits; all sexes) and fails with hypothesis' smallest counterexample. The ``assert_*`` functions
check one result, for use in your own tests.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import attrs

try:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        'pns_rules.testing needs hypothesis: pip install "pns-rules[testing]"'
    ) from exc

from .consistency import check_rule_directory
from .engine import Engine
from .errors import InputError
from .knowledge import AgeRange, KnowledgeBase
from .patient import MAX_AGE
from .reference import reference_fired, rule_holds
from .results import Differential
from .vocabulary import normalize_term

__all__ = [
    "PROPERTY_CHECKS",
    "PatientInput",
    "ages",
    "assert_consistent",
    "assert_constraints_respected",
    "assert_not_lower",
    "assert_scores_consistent",
    "assert_traceable",
    "check_all",
    "check_constraints_respected",
    "check_deterministic",
    "check_input_invariance",
    "check_matches_reference",
    "check_monotonic",
    "check_scores_consistent",
    "check_traceable",
    "finding_ids",
    "findings",
    "patients",
    "ranking",
    "sexes",
    "spellings",
]

Rules = Engine | str | os.PathLike[str]


@attrs.frozen
class PatientInput:
    """One generated patient, as a caller would pass it to ``suggest``."""

    findings: tuple[str, ...]
    age: float | None = None
    sex: str | None = None

    def kwargs(self) -> dict[str, Any]:
        """Keyword arguments for :meth:`Engine.suggest` and :meth:`Engine.patient`."""
        return {"findings": list(self.findings), "age": self.age, "sex": self.sex}


# -- strategies ---------------------------------------------------------------------------------
def _checked_kb(kb: object, parameter: str = "kb") -> KnowledgeBase:
    """``kb`` when it is a rule base (``engine.knowledge_base``), else :class:`InputError`."""
    if not isinstance(kb, KnowledgeBase):
        raise InputError(parameter, kb, "a KnowledgeBase, such as engine.knowledge_base")
    return kb


def _checked_result(result: object, parameter: str = "result") -> Differential:
    if not isinstance(result, Differential):
        raise InputError(parameter, result, "a Differential, as suggest() returns")
    return result


def _checked_count(value: object, parameter: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(parameter, value, "a whole number of at least 1")
    return value


def sexes() -> st.SearchStrategy[str | None]:
    """``"female"``, ``"male"`` or ``None`` (unknown)."""
    return st.sampled_from([None, "female", "male"])


def ages(kb: KnowledgeBase | None = None) -> st.SearchStrategy[float | None]:
    """Ages a caller may give: unknown, whole or fractional years, and (given ``kb``) the limits of
    every age range in its rules and associations, with the ages just inside and outside them."""
    options: list[st.SearchStrategy[float | None]] = [
        st.none(),
        st.integers(min_value=0, max_value=MAX_AGE).map(float),
        st.floats(min_value=0, max_value=MAX_AGE, allow_nan=False),
    ]
    if kb is not None:
        limits = _age_limits(_checked_kb(kb))
        if limits:
            options.append(st.sampled_from(limits))
    return st.one_of(options)


def _age_limits(kb: KnowledgeBase) -> list[float]:
    ranges: list[AgeRange] = [r.age for r in kb.rules.values() if r.age is not None]
    ranges += [link.age for s in kb.syndromes.values() for link in s.cancers if link.age]
    values: set[float] = set()
    for age_range in ranges:
        for bound in (age_range.min, age_range.below):
            if bound is not None:
                values.update(
                    v for v in (bound - 0.0001, bound, bound + 0.0001) if 0 <= v <= MAX_AGE
                )
    return sorted(values)


def finding_ids(kb: KnowledgeBase) -> st.SearchStrategy[str]:
    """Vocabulary finding ids, those the rules use (all of them if no rule uses any)."""
    kb = _checked_kb(kb)
    used = sorted({f for rule in kb.rules.values() for f in rule.findings}) or sorted(kb.findings)
    if not used:
        raise ValueError(f"rule base {kb.name!r} has no findings to draw from")
    return st.sampled_from(used)


def spellings(kb: KnowledgeBase, finding_id: str) -> st.SearchStrategy[str]:
    """Every way a user may name a vocabulary finding: its id, label or a synonym, in any case,
    with extra spaces, hyphens or underscores between words."""
    kb = _checked_kb(kb)
    if not isinstance(finding_id, str) or finding_id not in kb.findings:
        raise InputError("finding_id", finding_id, f"a finding id of rule base {kb.name!r}")
    finding = kb.findings[finding_id]
    return st.sampled_from(_variants((finding.id, finding.label, *finding.synonyms)))


def _variants(names: Sequence[str]) -> list[str]:
    variants: dict[str, None] = {}
    for name in names:
        key = normalize_term(name)
        for variant in (
            name,
            name.upper(),
            name.lower(),
            f"  {name} ",
            name.replace(" ", "  "),
            name.replace(" ", "-"),
            name.replace(" ", "_"),
        ):
            if normalize_term(variant) == key:
                variants[variant] = None
    return list(variants)


@st.composite
def _firing(draw: st.DrawFn, kb: KnowledgeBase) -> list[str]:
    """The findings of a random rule, chosen so that its finding conditions hold."""
    rule = kb.rules[draw(st.sampled_from(sorted(kb.rules)))]
    chosen = list(rule.all_of)
    if rule.any_of:
        chosen.append(draw(st.sampled_from(rule.any_of)))
    if rule.at_least_of:
        chosen += draw(
            st.lists(
                st.sampled_from(rule.at_least_of),
                min_size=rule.at_least,
                max_size=len(rule.at_least_of),
                unique=True,
            )
        )
    return chosen


@st.composite
def _findings(
    draw: st.DrawFn, kb: KnowledgeBase, max_size: int, mapped: Sequence[str]
) -> list[str]:
    ids = draw(st.lists(finding_ids(kb), max_size=max_size))
    complete_a_rule = draw(st.booleans())
    if complete_a_rule and kb.rules:
        ids = draw(_firing(kb)) + ids
    names = [draw(spellings(kb, finding_id)) for finding_id in ids]
    if mapped:
        names += draw(st.lists(st.sampled_from(mapped), max_size=2))
    return names


def findings(kb: KnowledgeBase, *, max_size: int = 8) -> st.SearchStrategy[list[str]]:
    """Lists of findings as a user writes them (see :func:`spellings`).

    Up to ``max_size`` random findings that the rules use, half the time after the findings that
    complete a random rule, so that rules of every syndrome fire; and, when the rule base has an
    HPO map, up to two of its more specific or retired HPO ids.
    """
    kb = _checked_kb(kb)
    max_size = _checked_count(max_size, "max_size") if max_size != 0 else 0
    mapped = sorted({term.id for term in kb.terms.values() if term.id not in kb.findings})
    return _findings(kb, max_size, mapped)


def patients(kb: KnowledgeBase, *, max_findings: int = 8) -> st.SearchStrategy[PatientInput]:
    """Patients: :func:`findings`, :func:`ages` (with the rule base's age limits) and
    :func:`sexes`."""
    kb = _checked_kb(kb)
    return st.builds(
        PatientInput,
        findings=findings(kb, max_size=max_findings).map(tuple),
        age=ages(kb),
        sex=sexes(),
    )


# -- invariants of one result ---------------------------------------------------------------------
def ranking(result: Differential) -> dict[str, Any]:
    """The clinical content of a result: what is ranked, how, and why (not how terms were spelled).

    Two results with equal rankings say the same thing to a clinician.
    """
    result = _checked_result(result)
    return {
        "categories": [(c.name, c.score, c.level, c.syndromes) for c in result.categories],
        "syndromes": [
            (s.id, s.score, s.level, tuple((e.rule, e.counted) for e in s.evidence), s.cancers)
            for s in result.syndromes
        ],
        "cancers": [(c.id, c.score, c.level, c.reasons) for c in result.cancers],
        "fired": result.fired_rules,
    }


def _scores(result: Differential) -> dict[tuple[str, str], float]:
    return {
        **{("syndrome", s.id): s.score for s in result.syndromes},
        **{("cancer", c.id): c.score for c in result.cancers},
        **{("category", c.name): c.score for c in result.categories},
    }


def assert_not_lower(before: Differential, after: Differential) -> None:
    """Every candidate of ``before`` is in ``after`` with at least the same score (what adding a
    finding must do)."""
    later = _scores(_checked_result(after, "after"))
    _checked_result(before, "before")
    for key, score in _scores(before).items():
        assert key in later, f"{key[0]} {key[1]!r} (score {score:g}) was lost"
        assert later[key] >= score, f"{key[0]} {key[1]!r} fell from {score:g} to {later[key]:g}"


def assert_constraints_respected(
    kb: KnowledgeBase, result: Differential, present: frozenset[str]
) -> None:
    """Every fired rule holds for the patient (findings ``present``, age, sex), sex-specific
    cancers appear only for that sex or unknown sex, and age-restricted associations only within
    their ages or at unknown age."""
    kb, result = _checked_kb(kb), _checked_result(result)
    for rule_id in result.fired_rules:
        rule = kb.rules[rule_id]
        assert rule_holds(rule, present, result.age, result.sex), f"rule {rule_id!r} cannot fire"
        if rule.age is not None:
            assert result.age is not None and rule.age.contains(result.age), rule_id
        if rule.sex is not None:
            assert result.sex == rule.sex, rule_id
    for cancer in result.cancers:
        sex = kb.cancers[cancer.id].sex
        assert sex is None or result.sex in (None, sex), f"{cancer.id!r} for sex {result.sex!r}"
        for reason in cancer.reasons:
            if reason.rule is not None:
                continue
            link = next(x for x in kb.syndromes[reason.syndrome].cancers if x.cancer == cancer.id)
            assert link.age is None or result.age is None or link.age.contains(result.age), (
                f"{cancer.id!r} via {reason.syndrome!r} outside {link.age.describe()}"
            )


def assert_traceable(kb: KnowledgeBase, result: Differential, fired: frozenset[str]) -> None:
    """Every syndrome, category and cancer of ``result`` comes from the rules that ``fired``, and
    every score is what its listed reasons add up to (times the cited factor for a cancer much
    rarer in the patient's sex)."""
    kb, result = _checked_kb(kb), _checked_result(result)
    assert set(result.fired_rules) == set(fired), "the evidence is not the rules that fired"
    candidates = {s.id: s for s in result.syndromes}
    assert set(candidates) == {kb.rules[r].syndrome for r in fired}
    for syndrome in result.syndromes:
        for evidence in syndrome.evidence:
            assert kb.rules[evidence.rule].syndrome == syndrome.id, evidence.rule
    for category in result.categories:
        members = [candidates[s] for s in category.syndromes]
        assert members and all(s.category == category.name for s in members), category.name
        assert category.score == max(s.score for s in members), category.name
    assert {c.name for c in result.categories} == {s.category for s in result.syndromes}
    for cancer in result.cancers:
        assert cancer.reasons, cancer.id
        for reason in cancer.reasons:
            assert reason.syndrome in candidates, (cancer.id, reason.syndrome)
            if reason.rule is not None:
                assert reason.rule in fired, (cancer.id, reason.rule)
                assert kb.rules[reason.rule].syndrome == reason.syndrome
                assert cancer.id in dict(kb.rules[reason.rule].cancer_boosts), reason.rule
            else:
                links = {link.cancer for link in kb.syndromes[reason.syndrome].cancers}
                assert cancer.id in links, (cancer.id, reason.syndrome)
        best = max(
            sum(r.points for r in cancer.reasons if r.syndrome == syndrome)
            for syndrome in {r.syndrome for r in cancer.reasons}
        )
        expected = round(best, 2)
        rare = kb.cancers[cancer.id].rare_in
        if rare is not None and result.sex == rare.sex:
            # A cancer much rarer in the patient's sex: scaled by the cited factor, and said so.
            expected = round(expected * rare.factor, 4)
            assert cancer.note is not None and rare.citation in cancer.note, cancer.id
        else:
            assert cancer.note is None, cancer.id
        assert abs(cancer.score - expected) < 1e-9, cancer.id


def assert_scores_consistent(kb: KnowledgeBase, result: Differential) -> None:
    """Candidates are ordered by score then id (categories by name; cancers of equal score by
    their best syndrome's rank, then their position in its associations), every score is positive
    with the level the manifest gives it, and each syndrome scores the sum over its items of the
    heaviest fired rule, the one marked as counted."""
    kb, result = _checked_kb(kb), _checked_result(result)
    orders: list[tuple[Sequence[Any], Callable[[Any], Any]]] = [
        (result.syndromes, lambda c: (-c.score, c.id)),
        (result.cancers, _cancer_order(kb, result)),
        (result.categories, lambda c: (-c.score, c.name)),
    ]
    for candidates, key in orders:
        assert list(candidates) == sorted(candidates, key=key), "not ordered by score"
        for candidate in candidates:
            assert candidate.score > 0
            assert candidate.level == kb.scoring.level(candidate.score)
    for syndrome in result.syndromes:
        counted: dict[str, int] = {}
        for evidence in syndrome.evidence:
            if evidence.counted:
                assert evidence.item not in counted, f"item {evidence.item!r} counted twice"
                counted[evidence.item] = evidence.weight
            assert evidence.weight <= max(
                e.weight for e in syndrome.evidence if e.item == evidence.item
            )
        assert {e.item for e in syndrome.evidence} == set(counted), syndrome.id
        for evidence in syndrome.evidence:
            assert evidence.weight <= counted[evidence.item]
        assert syndrome.score == sum(counted.values()), syndrome.id


def _cancer_order(kb: KnowledgeBase, result: Differential) -> Callable[[Any], Any]:
    """The order of cancers docs/scoring.md gives: score, then the rank of the best syndrome (the
    highest-ranked one whose support gives the score), then the cancer's first position among that
    syndrome's associations (curators list each strength most frequent first), then id."""
    rank = {syndrome.id: n for n, syndrome in enumerate(result.syndromes)}

    def key(cancer: Any) -> tuple[float, int, int, str]:
        support: dict[str, float] = {}
        for reason in cancer.reasons:
            support[reason.syndrome] = support.get(reason.syndrome, 0.0) + reason.points
        top = max(round(value, 2) for value in support.values())
        best = min((s for s in support if round(support[s], 2) == top), key=rank.__getitem__)
        listed = [link.cancer for link in kb.syndromes[best].cancers]
        position = listed.index(cancer.id) if cancer.id in listed else len(listed)
        return (-cancer.score, rank[best], position, cancer.id)

    return key


def assert_consistent(
    directory: str | os.PathLike[str] | None = None, *, strict: bool = False
) -> None:
    """Fail with every problem ``pns-rules check`` reports as an error (with ``strict``, warnings
    too) for ``directory`` (default: the shipped rules)."""
    from .loader import shipped_rules_directory

    report = check_rule_directory(directory if directory is not None else shipped_rules_directory())
    failing = report.problems if strict else report.errors
    assert not failing, "pns-rules check found:\n" + "\n".join(str(p) for p in failing)


# -- property checks ------------------------------------------------------------------------------
def _engine(rules: Rules) -> Engine:
    return rules if isinstance(rules, Engine) else Engine.from_directory(rules)  # checks the path


def _run(
    test: Callable[..., None], *strategies: st.SearchStrategy[Any], max_examples: int | None
) -> None:
    options: dict[str, Any] = {
        "deadline": None,
        "report_multiple_bugs": False,
        "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
    }
    if max_examples is not None:
        options["max_examples"] = _checked_count(max_examples, "max_examples")
    settings(**options)(given(*strategies)(test))()


def check_matches_reference(rules: Rules, *, max_examples: int | None = None) -> None:
    """durable-rules fires exactly the rules the pure-Python reference evaluator fires."""
    engine = _engine(rules)
    kb = engine.knowledge_base

    def test(case: PatientInput) -> None:
        patient = engine.patient(**case.kwargs())
        expected = reference_fired(kb, patient.findings, patient.age, patient.sex)
        assert engine.fired_rules(patient) == expected

    _run(test, patients(kb), max_examples=max_examples)


def check_deterministic(rules: Rules, *, max_examples: int | None = None) -> None:
    """The same patient always gives the same result."""
    engine = _engine(rules)

    def test(case: PatientInput) -> None:
        assert engine.suggest(**case.kwargs()) == engine.suggest(**case.kwargs())

    _run(test, patients(engine.knowledge_base), max_examples=max_examples)


def check_input_invariance(rules: Rules, *, max_examples: int | None = None) -> None:
    """Order, duplicates and spelling (id, label or synonym; case, spaces, hyphens) of the findings
    do not change the ranking."""
    engine = _engine(rules)
    kb = engine.knowledge_base

    def test(case: PatientInput, data: st.DataObject) -> None:
        permuted = data.draw(st.permutations([*case.findings, *case.findings]), label="reordered")
        respelled = [data.draw(_respelling(kb, name), label=name) for name in permuted]
        other = attrs.evolve(case, findings=tuple(respelled))
        assert ranking(engine.suggest(**case.kwargs())) == ranking(engine.suggest(**other.kwargs()))

    _run(test, patients(kb), st.data(), max_examples=max_examples)


def _respelling(kb: KnowledgeBase, name: str) -> st.SearchStrategy[str]:
    term = kb.terms.get(normalize_term(name))
    if term is None or term.id not in kb.findings:
        return st.just(name)
    return spellings(kb, term.id)


def check_monotonic(rules: Rules, *, max_examples: int | None = None) -> None:
    """Adding a finding (often one the result says to look for) never lowers the score of any
    syndrome, cancer or category, nor drops one."""
    engine = _engine(rules)
    kb = engine.knowledge_base

    def test(case: PatientInput, data: st.DataObject) -> None:
        before = engine.suggest(**case.kwargs())
        supporting = sorted({f.id for s in before.syndromes for f in s.look_for})
        extra = data.draw(
            st.one_of(st.sampled_from(supporting), finding_ids(kb))
            if supporting
            else finding_ids(kb),
            label="added finding",
        )
        after = engine.suggest(**attrs.evolve(case, findings=(*case.findings, extra)).kwargs())
        assert_not_lower(before, after)

    _run(test, patients(kb), st.data(), max_examples=max_examples)


def check_constraints_respected(rules: Rules, *, max_examples: int | None = None) -> None:
    """Fired rules hold for the patient's findings, age and sex; cancers and associations respect
    their sex and age limits (see :func:`assert_constraints_respected`)."""
    engine = _engine(rules)
    kb = engine.knowledge_base

    def test(case: PatientInput) -> None:
        result = engine.suggest(**case.kwargs())
        assert_constraints_respected(kb, result, engine.patient(**case.kwargs()).findings)

    _run(test, patients(kb), max_examples=max_examples)


def check_traceable(rules: Rules, *, max_examples: int | None = None) -> None:
    """Every output comes from a fired rule (see :func:`assert_traceable`)."""
    engine = _engine(rules)
    kb = engine.knowledge_base

    def test(case: PatientInput) -> None:
        fired = engine.fired_rules(engine.patient(**case.kwargs()))
        assert_traceable(kb, engine.suggest(**case.kwargs()), fired)

    _run(test, patients(kb), max_examples=max_examples)


def check_scores_consistent(rules: Rules, *, max_examples: int | None = None) -> None:
    """Scores, levels, counted items and ordering agree (see :func:`assert_scores_consistent`)."""
    engine = _engine(rules)
    kb = engine.knowledge_base

    def test(case: PatientInput) -> None:
        assert_scores_consistent(kb, engine.suggest(**case.kwargs()))

    _run(test, patients(kb), max_examples=max_examples)


#: Every property check, for ``pytest.mark.parametrize``.
PROPERTY_CHECKS: tuple[Callable[..., None], ...] = (
    check_matches_reference,
    check_deterministic,
    check_input_invariance,
    check_monotonic,
    check_constraints_respected,
    check_traceable,
    check_scores_consistent,
)


def check_all(rules: Rules, *, max_examples: int | None = None) -> None:
    """Run every property check on one engine (a rule directory is loaded once)."""
    engine = _engine(rules)
    for check in PROPERTY_CHECKS:
        check(engine, max_examples=max_examples)
