"""Property tests: the invariants of :mod:`pns_rules.testing` hold on the shipped rules, and each
check fails on an engine that breaks its invariant."""

from __future__ import annotations

import itertools
import subprocess
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pns_rules import Differential, Engine, InputError, testing
from pns_rules.loader import shipped_rules_directory
from pns_rules.patient import Patient
from pns_rules.reference import reference_fired
from tests.oracle_scoring import rank as oracle_rank
from tests.strategies import finding_names, patients

MAX_EXAMPLES = 150
ENGINE = Engine.shipped()
KB = ENGINE.knowledge_base
SLICE_RULES = Path(__file__).parent / "data" / "slice-rules"


@pytest.mark.parametrize("check", testing.PROPERTY_CHECKS, ids=lambda c: c.__name__)
def test_shipped_rules(check: Callable[..., None]) -> None:
    check(ENGINE, max_examples=MAX_EXAMPLES)


def test_checks_accept_a_rule_directory() -> None:
    testing.check_deterministic(SLICE_RULES, max_examples=10)


@pytest.mark.parametrize(
    ("call", "parameter"),
    [
        (lambda: testing.patients(None), "kb"),  # type: ignore[arg-type]
        (lambda: testing.findings({}, max_size=3), "kb"),  # type: ignore[arg-type]
        (lambda: testing.findings(KB, max_size=-1), "max_size"),
        (lambda: testing.spellings(KB, "HP:0000000"), "finding_id"),
        (lambda: testing.ranking(None), "result"),  # type: ignore[arg-type]
        (lambda: testing.assert_scores_consistent(KB, "x"), "result"),  # type: ignore[arg-type]
        (lambda: testing.check_deterministic(ENGINE, max_examples=0), "max_examples"),
        (lambda: testing.check_deterministic(ENGINE, max_examples="5"), "max_examples"),  # type: ignore[arg-type]
        (lambda: testing.check_all(None), "path"),  # type: ignore[arg-type]
    ],
)
def test_bad_arguments_to_the_curator_api_are_input_errors(
    call: Callable[[], Any], parameter: str
) -> None:
    with pytest.raises(InputError) as info:
        call()
    assert info.value.parameter == parameter


def test_shipped_rules_are_consistent() -> None:
    testing.assert_consistent()
    testing.assert_consistent(shipped_rules_directory())


@settings(max_examples=50, deadline=None)
@given(testing.patients(KB))
def test_patients_are_valid_input(patient: testing.PatientInput) -> None:
    normalized = ENGINE.patient(**patient.kwargs())
    assert not normalized.unrecognized
    assert {r.given for r in normalized.recognized} == set(patient.findings)


@settings(max_examples=50, deadline=None)
@given(finding_names(KB))
def test_every_spelling_names_a_finding(name: str) -> None:
    assert ENGINE.patient([name]).findings


def test_patients_make_rules_of_many_syndromes_fire() -> None:
    reached: set[str] = set()

    @settings(max_examples=300, deadline=None, database=None)
    @given(testing.patients(KB))
    def collect(patient: testing.PatientInput) -> None:
        reached.update(s.id for s in ENGINE.suggest(**patient.kwargs()).syndromes)

    collect()
    assert len(reached) >= len(KB.syndromes) // 2


# -- each check can fail ----------------------------------------------------------------------------
class _Broken(Engine):
    """An engine on the slice rules with one deliberate defect."""

    def __init__(self) -> None:
        super().__init__(Engine.from_directory(SLICE_RULES).knowledge_base)


class _DropsARule(_Broken):
    def fired_rules(self, patient: Patient) -> frozenset[str]:
        return frozenset(sorted(super().fired_rules(patient))[1:])


class _Alternating(_Broken):
    calls = itertools.count()

    def suggest(self, findings: Iterable[str] | None = (), **kwargs: Any) -> Differential:
        result = super().suggest(findings, **kwargs)
        return attrs.evolve(result, notes=("changed",)) if next(self.calls) % 2 else result


class _FirstFindingsOnly(_Broken):
    def suggest(self, findings: Iterable[str] | None = (), **kwargs: Any) -> Differential:
        return super().suggest(list(findings or ())[:1], **kwargs)


class _TooManyFindings(_Broken):
    def suggest(self, findings: Iterable[str] | None = (), **kwargs: Any) -> Differential:
        given = list(findings or ())
        return super().suggest(given if len(given) < 3 else [], **kwargs)


class _IgnoresSex(_Broken):
    def suggest(self, findings: Iterable[str] | None = (), **kwargs: Any) -> Differential:
        result = super().suggest(findings, **dict(kwargs, sex="female"))
        return attrs.evolve(result, sex=kwargs.get("sex"))


class _Untraceable(_Broken):
    def fired_rules(self, patient: Patient) -> frozenset[str]:
        return super().fired_rules(patient) | {"nonexistent-rule"}


class _Unsorted(_Broken):
    def suggest(self, findings: Iterable[str] | None = (), **kwargs: Any) -> Differential:
        result = super().suggest(findings, **kwargs)
        return attrs.evolve(result, syndromes=tuple(reversed(result.syndromes)))


@pytest.mark.parametrize(
    ("check", "broken"),
    [
        (testing.check_matches_reference, _DropsARule),
        (testing.check_deterministic, _Alternating),
        (testing.check_input_invariance, _FirstFindingsOnly),
        (testing.check_monotonic, _TooManyFindings),
        (testing.check_constraints_respected, _IgnoresSex),
        (testing.check_traceable, _Untraceable),
        (testing.check_scores_consistent, _Unsorted),
    ],
    ids=lambda x: getattr(x, "__name__", str(x)),
)
def test_each_check_fails_on_an_engine_that_breaks_it(
    check: Callable[..., None], broken: type[_Broken]
) -> None:
    with pytest.raises(AssertionError):
        check(broken(), max_examples=200)


# -- the module itself ------------------------------------------------------------------------------
def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_import_pns_rules_does_not_import_hypothesis() -> None:
    result = _python(
        "import sys, pns_rules, pns_rules.cli, pns_rules.check, pns_rules.consistency;"
        "pns_rules.suggest(['ataxia']);"
        "assert 'hypothesis' not in sys.modules, 'hypothesis imported'"
    )
    assert result.returncode == 0, result.stderr


def test_the_testing_module_says_what_it_needs() -> None:
    result = _python("import sys; sys.modules['hypothesis'] = None; import pns_rules.testing")
    assert result.returncode != 0
    assert 'pip install "pns-rules[testing]"' in result.stderr


@settings(max_examples=MAX_EXAMPLES, deadline=None)
@given(patients(KB), st.booleans())
def test_optimised_scoring_equals_the_plain_oracle(patient: dict[str, Any], lenient: bool) -> None:
    """The Scorer's precomputed, memoised ranking gives exactly what the plain scoring gives."""
    findings = [*patient["findings"], *(["no such finding"] if lenient else [])]
    arguments = dict(patient, findings=findings, strict=not lenient)
    result = ENGINE.suggest(**arguments)
    p = ENGINE.patient(**arguments)
    expected = oracle_rank(KB, p, reference_fired(KB, p.findings, p.age, p.sex))
    assert result == expected
    assert result.to_dict() == expected.to_dict()


def test_every_rule_at_ages_and_sexes_scores_as_the_oracle_and_ranks_the_same() -> None:
    """Each rule met on its own, at ages on both sides of every age bound and with each sex: the
    Scorer equals the plain oracle, and Engine.ranking equals suggest (what hypothesis may miss,
    such as extra cancer points outside their association's age range)."""
    from pns_rules.cohort import summary

    bounds = {0.0, 30.0, 60.0}
    for rule in KB.rules.values():
        for age_range in [rule.age] + [
            link.age for s in KB.syndromes.values() for link in s.cancers
        ]:
            if age_range is not None:
                bounds.update(b for b in (age_range.min, age_range.below) if b is not None)
    ages = sorted({max(0.0, min(120.0, b + d)) for b in bounds for d in (-0.5, 0.0)})
    for rule in KB.rules.values():
        findings = [*rule.all_of, *rule.any_of[:1], *rule.at_least_of[: rule.at_least]]
        for age, sex in itertools.product([None, *ages], [None, "female", "male"]):
            p = ENGINE.patient(findings, age=age, sex=sex)
            result = ENGINE.suggest(findings, age=age, sex=sex)
            assert result == oracle_rank(KB, p, reference_fired(KB, p.findings, p.age, p.sex))
            ranking = ENGINE.ranking(findings, age=age, sex=sex)
            assert summary("x", ranking) == summary("x", result), (rule.id, age, sex)
