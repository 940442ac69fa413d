"""suggest from 8 threads and from process pools gives exactly the serial results; a failing call
in one thread disturbs no other; the engine holds no state afterwards."""

from __future__ import annotations

import json
import multiprocessing
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pns_rules import Engine, InputError, UnknownFindingError, _durable, default_engine, suggest
from pns_rules.errors import EngineError
from tests.helpers import ranking
from tests.reliability import count, profile
from tests.strategies import (
    finding_names,
    hostile_ages,
    hostile_sexes,
    hostile_terms,
    patients,
)

THREADS = 8
ENGINE = default_engine()
KB = ENGINE.knowledge_base
PRISTINE = Engine.shipped()


def outcome(function: Callable[..., Any], call: dict[str, Any]) -> tuple[str, Any]:
    """What a call gives, comparably: the clinical content of its result, or its error."""
    try:
        return ("result", ranking(function(**call)))
    except InputError as error:
        return (type(error).__name__, str(error))


# Calls that can be made twice with the same outcome (no generators), valid and invalid.
replayable_calls = st.one_of(
    patients(KB, max_findings=12),
    st.fixed_dictionaries(
        {"findings": st.lists(finding_names(KB), max_size=80)},
        optional={"age": hostile_ages, "sex": hostile_sexes},
    ),
    st.fixed_dictionaries(
        {},
        optional={
            "findings": st.lists(hostile_terms(KB), max_size=6),
            "age": hostile_ages,
            "sex": hostile_sexes,
            "antibodies": st.lists(hostile_terms(KB), max_size=3),
            "strict": st.booleans(),
        },
    ),
)


def _in_threads(calls: list[dict[str, Any]], function: Callable[..., Any]) -> list[Any]:
    barrier = threading.Barrier(THREADS)
    slices = [calls[i::THREADS] for i in range(THREADS)]

    def work(mine: list[dict[str, Any]]) -> list[Any]:
        barrier.wait()
        return [outcome(function, call) for call in mine]

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        done = list(pool.map(work, slices))
    results: list[Any] = [None] * len(calls)
    for offset, part in enumerate(done):
        results[offset::THREADS] = part
    return results


@profile("threads")
@given(calls=st.lists(replayable_calls, min_size=THREADS, max_size=60))
def test_threads_give_the_serial_results(calls: list[dict[str, Any]]) -> None:
    count("suggest from 8 threads", len(calls))
    serial = [outcome(PRISTINE.suggest, call) for call in calls]
    assert _in_threads(calls, suggest) == serial
    assert ENGINE._evaluator.held_states() == []


def test_an_engine_failure_in_one_thread_does_not_disturb_the_others(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A sentinel age makes durable-rules fail for those calls only, as a real engine error would.
    real = _durable._engine.assert_fact
    sentinel = 13.1313

    def assert_fact(handle: int, text: str) -> Any:
        if json.loads(text).get("age") == sentinel:
            raise RuntimeError("simulated engine failure")
        return real(handle, text)

    monkeypatch.setattr(_durable._engine, "assert_fact", assert_fact)
    engine = Engine.shipped()
    names = sorted({n for f in KB.findings.values() for n in (f.label, *f.synonyms)})
    calls = [
        {"findings": names[i % len(names) : i % len(names) + 1 + i % 90], "age": 40 + i % 30}
        for i in range(400)
    ]
    for i in range(0, len(calls), 7):
        calls[i] = {**calls[i], "age": sentinel}
    serial = [outcome(PRISTINE.suggest, c) if c["age"] != sentinel else None for c in calls]

    def run(call: dict[str, Any]) -> Any:
        try:
            return outcome(engine.suggest, call)
        except EngineError:
            return "engine error"

    barrier = threading.Barrier(THREADS)

    def work(mine: list[dict[str, Any]]) -> list[Any]:
        barrier.wait()
        return [run(call) for call in mine]

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        done = list(pool.map(work, [calls[i::THREADS] for i in range(THREADS)]))
    results: list[Any] = [None] * len(calls)
    for offset, part in enumerate(done):
        results[offset::THREADS] = part
    count("suggest from 8 threads, some failing", len(calls))
    for call, got, expected in zip(calls, results, serial, strict=True):
        if call["age"] == sentinel:
            assert got == "engine error"
        else:
            assert got == expected
    assert engine._evaluator.held_states() == []


# -- process pools ----------------------------------------------------------------------------
POOL_CALLS: list[dict[str, Any]] = [
    {"findings": ["ataxia", "nystagmus"], "age": 62, "sex": "female", "antibodies": ["anti-Yo"]},
    {"findings": ["opsoclonus", "myoclonus"], "age": 2},
    {"findings": ["hyponatremia", "confusion"], "age": 70, "sex": "male"},
    {"findings": ["atxia"]},  # UnknownFindingError
    {"findings": ["ataxia"], "age": 200},  # InputError
    {"findings": sorted(KB.findings), "age": 50, "sex": "female"},  # evaluated in parts
    {"findings": [], "age": 30},
]


def _pool_outcome(call: dict[str, Any]) -> tuple[str, Any]:
    return outcome(suggest, call)


def _hammer(stop: threading.Event) -> None:
    while not stop.is_set():
        suggest(["ataxia", "nystagmus", "dysarthria"], age=60)


@pytest.mark.parametrize(
    "method",
    [m for m in ("fork", "forkserver", "spawn") if m in multiprocessing.get_all_start_methods()],
)
def test_process_pools_give_the_serial_results(method: str) -> None:
    serial = [outcome(PRISTINE.suggest, call) for call in POOL_CALLS]
    jobs = POOL_CALLS * 4
    stop = threading.Event()
    # Threads keep calling suggest while the pool forks its workers: a worker must not inherit a
    # lock held by one of them.
    hammers = [threading.Thread(target=_hammer, args=(stop,)) for _ in range(THREADS)]
    for thread in hammers:
        thread.start()
    try:
        context = multiprocessing.get_context(method)
        with ProcessPoolExecutor(max_workers=4, mp_context=context) as pool:
            futures = [pool.submit(_pool_outcome, call) for call in jobs]
            results = [future.result(timeout=300) for future in futures]
    finally:
        stop.set()
        for thread in hammers:
            thread.join()
    count(f"suggest in a {method} process pool", len(jobs))
    assert results == serial * 4
    assert ENGINE._evaluator.held_states() == []


def test_errors_raised_in_a_worker_reach_the_caller_intact() -> None:
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        with pytest.raises(InputError, match="age=200"):
            pool.submit(suggest, ["ataxia"], age=200).result(timeout=300)
        with pytest.raises(UnknownFindingError) as info:
            pool.submit(suggest, ["atxia"]).result(timeout=300)
    assert info.value.positions == {"atxia": "findings[0]"}
