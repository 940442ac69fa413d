"""The durable-rules adapter: no fact left behind, recovery, thread safety, independent engines."""

from __future__ import annotations

import json
import multiprocessing
import pickle
import threading
import types
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import attrs
import pytest

from pns_rules import Engine, EngineError, InputError, _durable
from pns_rules._durable import alternatives, compile_rule
from pns_rules.reference import reference_fired, rule_holds
from tests.helpers import ranking

PATIENTS = [
    {"findings": ["ataxia", "nystagmus"], "age": 62, "sex": "female", "antibodies": ["anti-Yo"]},
    {"findings": ["opsoclonus", "myoclonus"], "age": 2},
    {"findings": ["hyponatremia", "confusion"], "age": 70, "sex": "male"},
    {"findings": ["psychosis", "seizure"], "age": 24, "sex": "female", "antibodies": ["NMDAR"]},
    {"findings": ["clubbing", "periostosis", "arthralgia"], "age": 66},
    {"findings": [], "age": 30},
    {"findings": ["headache", "fatigue"], "age": 25},
]


def test_no_fact_is_left_after_a_call(slice_engine: Engine) -> None:
    engine = slice_engine
    evaluator = engine._evaluator
    for patient in PATIENTS:
        engine.suggest(**patient)  # type: ignore[arg-type]
        assert evaluator.last_sid is not None
        assert evaluator.facts_held() == []
    # every patient went through the same session, which holds nothing between calls
    assert evaluator.has_state(evaluator.last_sid or "")


def test_a_patient_matching_no_rule_is_handled(slice_engine: Engine) -> None:
    engine = slice_engine
    for _ in range(3):
        result = engine.suggest([], age=40)
        assert result.syndromes == ()
    assert engine._evaluator.facts_held() == []


def test_many_calls_do_not_exhaust_the_engine(engine: Engine) -> None:
    session = None
    for i in range(5000):
        engine.suggest(PATIENTS[i % len(PATIENTS)]["findings"], age=50, strict=False)
        session = session or engine._evaluator.last_sid
    assert engine._evaluator.last_sid == session
    assert engine._evaluator.facts_held() == []


def test_the_same_patient_twice_in_a_row_fires_the_same_rules(slice_engine: Engine) -> None:
    patient = slice_engine.patient(["ataxia", "nystagmus"], age=62, sex="female")
    first = slice_engine.fired_rules(patient)
    assert first
    assert slice_engine.fired_rules(patient) == first


def test_an_engine_failure_starts_a_new_session(
    slice_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    evaluator = slice_engine._evaluator
    expected = ranking(slice_engine.suggest(["ataxia", "nystagmus"], age=62))
    broken = evaluator.last_sid

    def fail(handle: int, state: int) -> list[str]:
        raise RuntimeError("simulated engine failure")

    monkeypatch.setattr(_durable, "_drain", fail)
    with pytest.raises(EngineError, match="simulated engine failure"):
        slice_engine.suggest(["ataxia", "nystagmus"], age=62)
    monkeypatch.undo()
    assert not evaluator.has_state(broken or "")
    assert ranking(slice_engine.suggest(["ataxia", "nystagmus"], age=62)) == expected
    assert evaluator.last_sid != broken
    assert evaluator.facts_held() == []


def test_threads_get_the_same_results_as_serial_calls(slice_engine: Engine) -> None:
    engine = slice_engine
    serial = [ranking(engine.suggest(**p)) for p in PATIENTS]  # type: ignore[arg-type]
    jobs = PATIENTS * 60
    barrier = threading.Barrier(8)

    def run(index: int) -> object:
        if index < 8:
            barrier.wait()
        return ranking(engine.suggest(**jobs[index]))  # type: ignore[arg-type]

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(run, range(len(jobs))))
    assert results == [serial[i % len(PATIENTS)] for i in range(len(jobs))]


def test_two_engines_on_the_same_rules_coexist(slice_copy: Path) -> None:
    first = Engine.from_directory(slice_copy)
    second = Engine.from_directory(slice_copy)
    a = first.suggest(["ataxia", "nystagmus"], age=60)
    b = second.suggest(["ataxia", "nystagmus"], age=60)
    assert ranking(a) == ranking(b)


def test_compiled_conditions_are_data(slice_engine: Engine) -> None:
    kb = slice_engine.knowledge_base
    rule = kb.rules["cerebellar-anti-yo-woman"]
    assert compile_rule(rule) == [{"$and": [{"f_pns_anti_yo": 1}, {"sex": "female"}]}]
    rule = kb.rules["nmdar-young-woman"]
    assert compile_rule(rule) == [
        {
            "$and": [
                {"f_pns_anti_nmdar": 1},
                {"$gte": {"age": 12.0}},
                {"$lt": {"age": 45.0}},
                {"sex": "female"},
            ]
        }
    ]


def test_rules_with_many_alternatives_compile_and_match_the_reference(slice_copy: Path) -> None:
    names = [
        "Ataxia",
        "Vertigo",
        "Nystagmus",
        "Dysphagia",
        "Hypotonia",
        "Incoordination",
        "Dysarthria",
        "Memory impairment",
        "Visual loss",
        "Seizure",
    ]
    rules_dir = slice_copy
    (rules_dir / "wide.toml").write_text(
        '[[rule]]\nid = "wide"\nsyndrome = "siadh"\nweight = 1\ncitation = "PMID:20810794"\n'
        f"any = {json.dumps(names[:6])}\n"
        f"at_least = {{ n = 3, of = {json.dumps(names[4:])} }}\n"
    )
    engine = Engine.from_directory(rules_dir)
    rule = engine.knowledge_base.rules["wide"]
    assert len(alternatives(rule)) > 60
    assert len(compile_rule(rule)) > 6
    kb = engine.knowledge_base
    for findings in ([], names[:1], names[4:7], names[:2] + names[7:], names[5:8], names):
        patient = engine.patient(findings)
        fired = engine.fired_rules(patient)
        assert fired == reference_fired(kb, patient.findings, None, None)
        assert ("wide" in fired) == rule_holds(rule, patient.findings, None, None)


def _suggest_json(engine: Engine, patient: dict[str, Any]) -> str:
    return json.dumps(engine.suggest(**patient).to_dict(), sort_keys=True)


def test_an_engine_pickles_as_its_rule_base(slice_copy: Path) -> None:
    engine = Engine.from_directory(slice_copy)
    (slice_copy / "manifest.toml").unlink()  # the copy does not read the directory again
    copy = pickle.loads(pickle.dumps(engine))
    assert type(copy) is Engine and copy is not engine
    assert copy.knowledge_base == engine.knowledge_base
    assert copy._evaluator is not engine._evaluator
    for patient in PATIENTS:
        assert _suggest_json(copy, patient) == _suggest_json(engine, patient)
        assert copy.ranking(**patient) == engine.ranking(**patient)  # type: ignore[arg-type]
    assert copy._evaluator.facts_held() == []


def test_an_engine_crosses_a_spawned_process_pool(engine: Engine) -> None:
    serial = [_suggest_json(engine, patient) for patient in PATIENTS]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(2, mp_context=context) as pool:
        results = list(pool.map(_suggest_json, [engine] * len(PATIENTS), PATIENTS))
    assert results == serial


def test_an_engine_whose_rule_base_does_not_pickle_says_so(slice_engine: Engine) -> None:
    kb = slice_engine.knowledge_base
    engine = Engine(attrs.evolve(kb, findings=types.MappingProxyType(dict(kb.findings))))
    with pytest.raises(InputError) as raised:
        pickle.dumps(engine)
    assert raised.value.parameter == "knowledge_base"
    assert "a knowledge base that pickles, to pickle its engine" in str(raised.value)
    assert "cannot pickle 'mappingproxy' object" in str(raised.value)
    assert isinstance(raised.value.__cause__, TypeError)
