"""Property tests: invariants that must hold for every patient on the shipped rules."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pns_rules import Engine
from pns_rules.reference import reference_fired, rule_holds
from tests.helpers import ranking
from tests.oracle_scoring import rank as oracle_rank
from tests.strategies import patients

SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
ENGINE = Engine.shipped()
KB = ENGINE.knowledge_base


@SETTINGS
@given(patients(KB))
def test_engine_fires_exactly_what_the_reference_evaluator_fires(patient: dict[str, Any]) -> None:
    p = ENGINE.patient(patient["findings"], age=patient["age"], sex=patient["sex"])
    assert ENGINE.fired_rules(p) == reference_fired(KB, p.findings, p.age, p.sex)


@SETTINGS
@given(patients(KB))
def test_deterministic(patient: dict[str, Any]) -> None:
    assert ENGINE.suggest(**patient) == ENGINE.suggest(**patient)


@SETTINGS
@given(patients(KB), st.randoms(use_true_random=False))
def test_order_and_duplicates_do_not_matter(patient: dict[str, Any], random: Any) -> None:
    shuffled = list(patient["findings"]) * 2
    random.shuffle(shuffled)
    other = dict(patient, findings=shuffled)
    assert ranking(ENGINE.suggest(**patient)) == ranking(ENGINE.suggest(**other))


@SETTINGS
@given(patients(KB), st.sampled_from(sorted({f for r in KB.rules.values() for f in r.findings})))
def test_adding_a_finding_never_lowers_any_score(patient: dict[str, Any], extra: str) -> None:
    before = ENGINE.suggest(**patient)
    after = ENGINE.suggest(**dict(patient, findings=[*patient["findings"], extra]))
    after_scores = {
        **{("syndrome", s.id): s.score for s in after.syndromes},
        **{("cancer", c.id): c.score for c in after.cancers},
        **{("category", c.name): c.score for c in after.categories},
    }
    for key, score in [
        *((("syndrome", s.id), s.score) for s in before.syndromes),
        *((("cancer", c.id), c.score) for c in before.cancers),
        *((("category", c.name), c.score) for c in before.categories),
    ]:
        assert after_scores[key] >= score, key


@SETTINGS
@given(patients(KB))
def test_fired_rules_respect_their_age_and_sex_conditions(patient: dict[str, Any]) -> None:
    result = ENGINE.suggest(**patient)
    present = ENGINE.patient(patient["findings"]).findings
    for rule_id in result.fired_rules:
        rule = KB.rules[rule_id]
        assert rule_holds(rule, present, result.age, result.sex)
        if rule.age is not None:
            assert result.age is not None and rule.age.contains(result.age)
        if rule.sex is not None:
            assert result.sex == rule.sex


@SETTINGS
@given(patients(KB))
def test_every_cancer_is_traceable_to_a_fired_rule(patient: dict[str, Any]) -> None:
    result = ENGINE.suggest(**patient)
    fired = set(result.fired_rules)
    candidates = {s.id for s in result.syndromes}
    for cancer in result.cancers:
        assert cancer.reasons
        for reason in cancer.reasons:
            assert reason.syndrome in candidates
            assert any(KB.rules[r].syndrome == reason.syndrome for r in fired)
            if reason.rule is not None:
                assert reason.rule in fired
                assert cancer.id in dict(KB.rules[reason.rule].cancer_boosts)
            else:
                links = {link.cancer for link in KB.syndromes[reason.syndrome].cancers}
                assert cancer.id in links
        best = max(
            sum(r.points for r in cancer.reasons if r.syndrome == syndrome)
            for syndrome in {r.syndrome for r in cancer.reasons}
        )
        assert abs(cancer.score - round(best, 2)) < 1e-9


@SETTINGS
@given(patients(KB))
def test_sex_specific_cancers_only_for_that_sex(patient: dict[str, Any]) -> None:
    result = ENGINE.suggest(**patient)
    if result.sex is None:
        return
    for cancer in result.cancers:
        sex = KB.cancers[cancer.id].sex
        assert sex is None or sex == result.sex


@SETTINGS
@given(patients(KB))
def test_scores_levels_and_ordering_are_consistent(patient: dict[str, Any]) -> None:
    result = ENGINE.suggest(**patient)
    for candidates, key in (
        (result.syndromes, lambda c: (-c.score, c.id)),
        (result.cancers, lambda c: (-c.score, c.id)),
        (result.categories, lambda c: (-c.score, c.name)),
    ):
        assert list(candidates) == sorted(candidates, key=key)
        for candidate in candidates:
            assert candidate.score > 0
            assert candidate.level == KB.scoring.level(candidate.score)
    for syndrome in result.syndromes:
        counted: dict[str, int] = {}
        for evidence in syndrome.evidence:
            if evidence.counted:
                assert evidence.item not in counted
                counted[evidence.item] = evidence.weight
            assert evidence.weight <= max(
                e.weight for e in syndrome.evidence if e.item == evidence.item
            )
        assert syndrome.score == sum(counted.values())


@SETTINGS
@given(patients(KB), st.sampled_from([True, False]))
def test_optimised_scoring_equals_the_plain_oracle(patient: dict[str, Any], lenient: bool) -> None:
    extra = ["no such finding"] if lenient else []
    result = ENGINE.suggest(
        **dict(patient, findings=[*patient["findings"], *extra]), strict=not lenient
    )
    p = ENGINE.patient(
        [*patient["findings"], *extra], age=patient["age"], sex=patient["sex"], strict=not lenient
    )
    expected = oracle_rank(KB, p, reference_fired(KB, p.findings, p.age, p.sex))
    assert result == expected
    assert result.to_dict() == expected.to_dict()
