"""pns_rules.dask on a real distributed.LocalCluster, and the Spark-style batches function."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any

import pytest

pd = pytest.importorskip("pandas")
dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")
dask = pytest.importorskip("dask")

from benchmarks.patients import PatientGenerator  # noqa: E402
from pns_rules import Engine  # noqa: E402
from pns_rules.cohort import summary  # noqa: E402
from pns_rules.dask import (  # noqa: E402
    RESULT_COLUMNS,
    load_on_workers,
    spark_schema,
    suggest_batches,
    suggest_dataframe,
    suggest_frame,
)
from tests.conftest import SLICE_RULES  # noqa: E402

BAD_ROWS: list[dict[str, Any]] = [
    {"id": "bad-term", "age": 50.0, "sex": None, "findings": ["atxia"], "antibodies": []},
    {"id": "bad-age", "age": 500.0, "sex": None, "findings": ["ataxia"], "antibodies": []},
    {"id": "bad-sex", "age": None, "sex": "x", "findings": [], "antibodies": []},
]


def cohort(kb: Any, count: int, joined: bool = False) -> pd.DataFrame:
    """Generated patients and some bad rows; with ``joined``, terms as ``;``-joined text."""
    rows = []
    for number, patient in enumerate(itertools.islice(PatientGenerator(kb, seed=5), count)):
        rows.append({"id": f"p{number}", **patient})
        if number % 50 == 7:
            rows.append(dict(BAD_ROWS[number % len(BAD_ROWS)], id=f"bad{number}"))
    if joined:
        for row in rows:
            row["findings"] = ";".join(row["findings"])
            row["antibodies"] = ";".join(row["antibodies"])
    frame = pd.DataFrame(rows, columns=["id", "age", "sex", "findings", "antibodies"])
    frame["ward"] = "ignored"  # columns other than the patient's are ignored
    return frame


def expected(engine: Engine, frame: pd.DataFrame) -> list[dict[str, Any]]:
    """What serial suggest() gives for every row (error rows: the error message)."""
    rows = []
    for record in frame.to_dict("records"):
        arguments = {k: record[k] for k in ("findings", "antibodies", "sex")}
        for key in ("findings", "antibodies"):
            if isinstance(arguments[key], str):
                arguments[key] = [t.strip() for t in arguments[key].split(";") if t.strip()]
        for key in ("age", "sex"):  # pandas gives NaN for a missing value
            arguments[key] = None if pd.isna(record[key]) else record[key]
        try:
            result = engine.suggest(**arguments)
        except ValueError as exc:
            rows.append({"id": record["id"], "error": str(exc)})
            continue
        rows.append({**summary(record["id"], result), "error": None})
    return rows


def as_rows(results: pd.DataFrame) -> list[dict[str, Any]]:
    rows = []
    for record in results.to_dict("records"):
        if record["error"] is not None:
            rows.append({"id": record["id"], "error": record["error"]})
            continue
        row = {k: record[k] for k in ("id", "top_level", "rule_base", "notice", "error")}
        for key in ("categories", "syndromes", "cancers", "unrecognized"):
            row[key] = json.loads(record[key])
        rows.append(row)
    return rows


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    with distributed.Client(cluster) as connected:
        yield connected
    cluster.close()


@pytest.mark.parametrize("joined", [True, False], ids=["joined-terms", "list-columns"])
def test_dask_on_two_worker_processes_equals_serial_suggest(
    client: Any, engine: Engine, joined: bool
) -> None:
    frame = cohort(engine.knowledge_base, 600, joined=joined)
    with dask.config.set({"dataframe.convert-string": joined}):
        patients = dd.from_pandas(frame, npartitions=8)
        results = suggest_dataframe(patients).compute()
    assert list(results.columns) == list(RESULT_COLUMNS)
    assert list(results.index) == list(frame.index)
    assert as_rows(results) == [
        {k: v for k, v in row.items() if k in ("id", "error")} if row["error"] else row
        for row in expected(engine, frame)
    ]
    assert results["error"].notna().sum() == sum(1 for i in frame["id"] if i.startswith("bad"))
    # every worker process that ran a partition loaded the engine exactly once
    loads = client.run(lambda: __import__("pns_rules.frames").frames.loads)
    assert len(loads) == 2
    assert all(count <= 1 for count in loads.values())
    assert sum(loads.values()) >= 1


def test_a_custom_rule_directory_is_loaded_on_the_workers(client: Any) -> None:
    load_on_workers(client, str(SLICE_RULES))
    slice_engine = Engine.from_directory(SLICE_RULES)
    frame = pd.DataFrame(
        {
            "id": [1, 2, 3],
            "age": [62, None, 2],
            "sex": ["female", None, None],
            "findings": ["ataxia; nystagmus", None, ["opsoclonus", "myoclonus"]],
            "antibodies": [["anti-Yo"], [], None],
        }
    )
    with dask.config.set({"dataframe.convert-string": False}):
        patients = dd.from_pandas(frame, npartitions=2)
        computed = suggest_dataframe(patients, rules=str(SLICE_RULES)).compute()
    assert list(computed["id"]) == [1, 2, 3]
    first = slice_engine.suggest(
        ["ataxia", "nystagmus"], age=62, sex="female", antibodies=["anti-Yo"]
    )
    assert json.loads(computed["syndromes"].iloc[0]) == summary(1, first)["syndromes"]
    assert json.loads(computed["syndromes"].iloc[1]) == []
    assert computed["error"].isna().all()


def test_lists_turned_into_text_are_reported_not_misread(client: Any) -> None:
    frame = pd.DataFrame({"id": ["x"], "findings": [["ataxia"]]})
    with dask.config.set({"dataframe.convert-string": True}):
        results = suggest_dataframe(dd.from_pandas(frame, npartitions=1)).compute()
    assert "is a list written as text" in results["error"].iloc[0]


def test_spark_style_batches_equal_one_frame(engine: Engine) -> None:
    frame = cohort(engine.knowledge_base, 120)
    whole = suggest_frame(frame)
    pieces = list(suggest_batches(frame.iloc[i : i + 25] for i in range(0, len(frame), 25)))
    assert pd.concat(pieces).equals(whole)
    assert as_rows(whole) == [
        {k: v for k, v in row.items() if k in ("id", "error")} if row["error"] else row
        for row in expected(engine, frame)
    ]
    # Arrow (Spark, Parquet) hands list columns over as numpy arrays
    import numpy as np

    arrays = frame.assign(
        findings=[np.array(f, dtype=object) for f in frame["findings"]],
        antibodies=[np.array(a, dtype=object) for a in frame["antibodies"]],
    )
    assert suggest_frame(arrays).equals(whole)
    assert spark_schema() == (
        "id string, top_level string, categories string, syndromes string, cancers string, "
        "unrecognized string, rule_base string, notice string, error string"
    )
    assert spark_schema("long").startswith("id long, ")


def test_free_text_is_read_unless_turned_off(client: Any) -> None:
    text = "skin biopsy consistent with Sweet syndrome"
    frame = pd.DataFrame({"id": ["t"], "age": [60.0], "findings": [text]})
    read = suggest_frame(frame)
    assert read["error"].iloc[0] is None and json.loads(read["syndromes"].iloc[0])
    lazy = suggest_dataframe(dd.from_pandas(frame, npartitions=1), read_text=False)
    unread = lazy.compute()
    assert "unknown term" in unread["error"].iloc[0]
    lenient = suggest_frame(frame, strict=False, read_text=False)
    assert json.loads(lenient["syndromes"].iloc[0]) == []
    assert text in lenient["unrecognized"].iloc[0]
