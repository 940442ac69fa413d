"""pns_rules.dask on a real distributed.LocalCluster, and the Spark-style batches function."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

pd = pytest.importorskip("pandas")
dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")
dask = pytest.importorskip("dask")

from benchmarks.patients import PatientGenerator  # noqa: E402
from pns_rules import Engine, InputError, RuleFileError  # noqa: E402
from pns_rules.cohort import summary  # noqa: E402
from pns_rules.dask import (  # noqa: E402
    RESULT_COLUMNS,
    engine_for,
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
    return pd.DataFrame(rows, columns=["id", "age", "sex", "findings", "antibodies"])


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


def test_suggest_batches_reads_free_text_unless_turned_off() -> None:
    text = "skin biopsy consistent with Sweet syndrome"
    frame = pd.DataFrame({"id": ["t"], "age": [60.0], "findings": [text]})
    (read,) = suggest_batches([frame])
    assert read["error"].iloc[0] is None and json.loads(read["syndromes"].iloc[0])
    (unread,) = suggest_batches([frame], read_text=False)
    assert "unknown term" in unread["error"].iloc[0]
    (lenient,) = suggest_batches([frame], strict=False, read_text=False)
    assert json.loads(lenient["syndromes"].iloc[0]) == []
    assert json.loads(lenient["unrecognized"].iloc[0]) == [text]


PATIENT = {"id": ["p1"], "age": [62], "findings": ["ataxia"]}


@pytest.mark.parametrize(
    ("columns", "problem"),
    [
        (["id", "finding"], "unknown column 'finding' (did you mean 'findings'?)"),
        (["id", "ward"], "unknown column 'ward'"),
        (["findings"], "no id column"),
        ([], "no id column"),
        (["id", "findings", "findings"], "'findings', 'findings' name the same column 'findings'"),
        (["id", "Findings", "findings "], "'Findings', 'findings ' name the same column"),
        ([0, 1], "unknown columns 0, 1; no id column"),
        ([("id", ""), ("findings", "")], "unknown columns ('id', ''), ('findings', '')"),
    ],
    ids=[
        "misspelt",
        "other",
        "no-id",
        "none",
        "repeated",
        "repeated-in-another-case",
        "numbers",
        "multi-index",
    ],
)
def test_columns_other_than_the_input_columns_are_refused_up_front(
    columns: list[Any], problem: str
) -> None:
    rows = [["p1", "ataxia", "nystagmus"][: len(columns)]]
    index = (
        pd.MultiIndex.from_tuples(columns) if columns and isinstance(columns[0], tuple) else columns
    )
    frame = pd.DataFrame(rows if columns else [], columns=index)
    with pytest.raises(InputError) as caught:
        suggest_frame(frame)
    assert caught.value.parameter == "frame.columns"
    assert caught.value.value == columns
    assert problem in caught.value.valid
    assert caught.value.valid.startswith(
        "the columns id, age, sex, findings, antibodies (id required, each at most once"
    )
    with pytest.raises(InputError, match=re.escape(problem)) as caught:
        list(suggest_batches([pd.DataFrame(PATIENT), frame]))
    assert caught.value.parameter == "batches[1].columns"


def test_column_names_are_read_in_any_case_as_in_a_batch_csv_header() -> None:
    frame = pd.DataFrame(PATIENT)
    shouted = frame.rename(columns={"id": " ID", "age": "Age", "findings": "FINDINGS"})
    results = suggest_frame(shouted)
    assert results.equals(suggest_frame(frame))
    assert json.loads(results["syndromes"].iloc[0])  # the findings were read, not dropped


def test_a_misspelt_dask_column_is_refused_before_anything_is_computed() -> None:
    frame = pd.DataFrame({"id": ["p1"], "finding": ["ataxia"]})
    with pytest.raises(
        InputError, match=re.escape("'finding' (did you mean 'findings'?)")
    ) as caught:
        suggest_dataframe(dd.from_pandas(frame, npartitions=1))
    assert caught.value.parameter == "patients.columns"
    assert caught.value.value == ["id", "finding"]


FRAME = pd.DataFrame(PATIENT)


@pytest.mark.parametrize(
    ("call", "parameter", "valid"),
    [
        (lambda: suggest_frame(None), "frame", "a pandas DataFrame of patients"),
        (lambda: suggest_frame({"id": ["p1"]}), "frame", "a pandas DataFrame of patients"),
        (lambda: suggest_frame([{"id": "p1"}]), "frame", "a pandas DataFrame of patients"),
        (lambda: suggest_frame(FRAME, rules=["x"]), "rules", "a rule directory (a str, bytes"),
        (lambda: suggest_frame(FRAME, strict="no"), "strict", "True or False"),
        (lambda: suggest_frame(FRAME, read_text=1), "read_text", "True or False"),
        (lambda: suggest_batches(None), "batches", "an iterable of pandas DataFrames"),
        (lambda: suggest_batches(FRAME), "batches", "for one frame pass [frame]"),
        (lambda: suggest_batches([FRAME], rules=5), "rules", "or None for the shipped rules"),
        (lambda: suggest_batches([FRAME], read_text="no"), "read_text", "True or False"),
        (lambda: list(suggest_batches([FRAME, None])), "batches[1]", "a pandas DataFrame"),
        (lambda: suggest_dataframe(FRAME), "patients", "call pns_rules.frames.suggest_frame"),
        (lambda: suggest_dataframe(None), "patients", "a Dask DataFrame of patients"),
        (
            lambda: suggest_dataframe(dd.from_pandas(FRAME, npartitions=1), strict="x"),
            "strict",
            "True or False",
        ),
        (
            lambda: suggest_dataframe(dd.from_pandas(FRAME, npartitions=1), rules=[]),
            "rules",
            "a rule directory",
        ),
        (lambda: load_on_workers(None), "client", "a distributed.Client"),
        (lambda: engine_for(["x"]), "rules", "a rule directory"),
        (lambda: spark_schema("string, evil string"), "id_type", "one type name"),
        (lambda: spark_schema(None), "id_type", "one type name"),
    ],
    ids=[
        "frame-None",
        "frame-dict",
        "frame-list",
        "frame-rules-list",
        "frame-strict",
        "frame-read_text",
        "batches-None",
        "batches-one-frame",
        "batches-rules",
        "batches-read_text",
        "batches-item-None",
        "dask-pandas",
        "dask-None",
        "dask-strict",
        "dask-rules",
        "load_on_workers-None",
        "engine_for-list",
        "spark_schema-two-columns",
        "spark_schema-None",
    ],
)
def test_bad_arguments_raise_input_error_naming_them(call: Any, parameter: str, valid: str) -> None:
    with pytest.raises(InputError) as caught:
        call()
    assert caught.value.parameter == parameter
    assert valid in caught.value.valid


def test_an_empty_rules_path_is_not_the_shipped_rules() -> None:
    with pytest.raises(RuleFileError) as caught:
        suggest_frame(FRAME, rules="")
    assert caught.value.code == "E001"


def test_the_spark_schema_takes_a_type_with_precision() -> None:
    assert spark_schema("decimal(20, 0)").startswith("id decimal(20, 0), top_level string, ")
