"""The durable-rules adapter: no state left behind, thread safety, independent engines."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pns_rules import Engine
from pns_rules._durable import compile_rule
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


def test_no_state_is_left_after_a_call() -> None:
    engine = Engine.shipped()
    evaluator = engine._evaluator
    sids = []
    for patient in PATIENTS:
        engine.suggest(**patient)  # type: ignore[arg-type]
        assert evaluator.last_sid is not None
        sids.append(evaluator.last_sid)
    assert len(set(sids)) == len(PATIENTS)
    assert not any(evaluator.has_state(sid) for sid in sids)


def test_a_patient_matching_no_rule_is_handled() -> None:
    engine = Engine.shipped()
    for _ in range(3):
        result = engine.suggest([], age=40)
        assert result.syndromes == ()
    assert not engine._evaluator.has_state(engine._evaluator.last_sid or "")


def test_many_calls_do_not_exhaust_the_engine() -> None:
    engine = Engine.shipped()
    for i in range(5000):
        engine.suggest(PATIENTS[i % len(PATIENTS)]["findings"], age=50)
    assert not engine._evaluator.has_state(engine._evaluator.last_sid or "")


def test_threads_get_the_same_results_as_serial_calls() -> None:
    engine = Engine.shipped()
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


def test_two_engines_on_the_same_rules_coexist(rules_copy: Path) -> None:
    first = Engine.from_directory(rules_copy)
    second = Engine.from_directory(rules_copy)
    a = first.suggest(["ataxia", "nystagmus"], age=60)
    b = second.suggest(["ataxia", "nystagmus"], age=60)
    assert ranking(a) == ranking(b)


def test_compiled_conditions_are_data() -> None:
    kb = Engine.shipped().knowledge_base
    rule = kb.rules["cerebellar-anti-yo-woman"]
    assert compile_rule(rule) == {"$and": [{"f_pns_anti_yo": 1}, {"sex": "female"}]}
    rule = kb.rules["nmdar-young-woman"]
    assert compile_rule(rule) == {
        "$and": [
            {"f_pns_anti_nmdar": 1},
            {"$gte": {"age": 12.0}},
            {"$lt": {"age": 45.0}},
            {"sex": "female"},
        ]
    }
