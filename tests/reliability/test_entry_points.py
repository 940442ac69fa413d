"""suggest, Engine.suggest, Engine.patient and Engine.fired_rules under generated hostile input.

Each call returns a valid result or raises a documented InputError; nothing else escapes, and
bad calls leave no trace in the engine.
"""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pns_rules import Engine, InputError, suggest
from pns_rules.patient import Patient
from pns_rules.results import READ_FROM_TEXT
from tests.reliability import count, profile
from tests.reliability.checks import (
    check_differential,
    check_input_error,
    check_patient,
    given_terms,
)
from tests.strategies import (
    hostile_ages,
    hostile_calls,
    hostile_sexes,
    patients,
    raising_iterable,
    scalars,
    unicode_text,
)

ENGINE = Engine.shipped()
KB = ENGINE.knowledge_base
#: an engine no bad call ever reaches, to compare with
PRISTINE = Engine.shipped()


@profile("entry")
@given(call=hostile_calls(KB), via=st.sampled_from(["suggest", "Engine.suggest"]))
def test_suggest_returns_a_differential_or_a_documented_error(
    call: dict[str, Any], via: str
) -> None:
    count("suggest / Engine.suggest")
    terms = given_terms(call)
    function = suggest if via == "suggest" else ENGINE.suggest
    try:
        result = function(**call)
    except InputError as error:
        check_input_error(error)
        return
    check_differential(KB, result, terms)


@profile("entry")
@given(call=hostile_calls(KB))
def test_patient_returns_a_patient_or_a_documented_error(call: dict[str, Any]) -> None:
    count("Engine.patient")
    terms = given_terms(call)
    try:
        patient = ENGINE.patient(**call)
    except InputError as error:
        check_input_error(error)
        return
    check_patient(KB, patient, terms)


finding_ids = st.sampled_from(sorted(KB.findings))
hostile_patients = st.one_of(
    st.builds(
        Patient,
        findings=st.one_of(
            st.frozensets(finding_ids, max_size=30),
            st.frozensets(st.one_of(finding_ids, unicode_text), max_size=5),
            st.sets(finding_ids, max_size=5),
            scalars,
        ),
        age=hostile_ages,
        sex=hostile_sexes,
    ),
    patients(KB).map(lambda p: ENGINE.patient(p["findings"], age=p["age"], sex=p["sex"])),
    scalars,
)


@profile("entry")
@given(patient=hostile_patients)
def test_fired_rules_returns_rule_ids_or_a_documented_error(patient: Any) -> None:
    count("Engine.fired_rules")
    try:
        fired = ENGINE.fired_rules(patient)
    except InputError as error:
        check_input_error(error)
        return
    assert type(fired) is frozenset and fired <= KB.rules.keys()
    assert fired == PRISTINE.fired_rules(patient)


@profile("state")
@given(patient=patients(KB), bad=st.lists(hostile_calls(KB), min_size=1, max_size=10))
def test_bad_calls_leave_no_trace(patient: dict[str, Any], bad: list[dict[str, Any]]) -> None:
    count("suggest: valid, bad calls, valid", len(bad) + 2)
    before = ENGINE.suggest(**patient)
    for call in bad:
        with contextlib.suppress(InputError):
            ENGINE.suggest(**call)
    after = ENGINE.suggest(**patient)
    assert after == before == PRISTINE.suggest(**patient)
    assert ENGINE._evaluator.held_states() == []


@pytest.mark.parametrize("error", [KeyboardInterrupt(), SystemExit(3), MemoryError()])
def test_interrupts_and_memory_errors_from_the_callers_iterable_pass_through(
    error: BaseException,
) -> None:
    with pytest.raises(type(error)):
        suggest(raising_iterable(["ataxia"], 1, error))  # type: ignore[arg-type]


def test_ten_thousand_symptoms() -> None:
    names = sorted({n for f in KB.findings.values() for n in (f.id, f.label, *f.synonyms)})
    terms = (names * (10_000 // len(names) + 1))[:10_000]
    for strict in (True, False):
        check_differential(KB, ENGINE.suggest(terms, age=50, sex="female", strict=strict), terms)
    junk = [f"{name} {i}" for i, name in enumerate(terms)]
    result = ENGINE.suggest(terms + junk, strict=False, read_text=False)
    check_differential(KB, result, terms + junk)
    assert len(result.unrecognized) == 10_000
    # Read as free text, "Ataxia 17" is Ataxia and "raised eosinophils 4816" a lab value; the
    # rest are still each reported.
    result = ENGINE.suggest(terms + junk, strict=False)
    check_differential(KB, result, terms + junk)
    read = {
        f.given
        for f in result.findings
        if f.note == READ_FROM_TEXT or f.note.startswith("read from the lab value")
    }
    assert read and read | {u.given for u in result.unrecognized} == set(junk)
    assert ENGINE._evaluator.held_states() == []
