"""Cohorts as pandas DataFrames: the per-partition function behind Dask and Spark.

Needs pandas (``pip install 'pns-rules[dask]'`` brings it). :func:`suggest_frame` turns a frame of
patients into a frame of results, one row per input row, in the same order and with the same
index; :func:`suggest_batches` does it for an iterator of frames, as Spark's ``mapInPandas``
wants. Each process loads its engine once, on first use, and keeps it (see docs/scale.md).

Input columns are those of a cohort row (:data:`pns_rules.cohort.COLUMNS`); other columns are
ignored. A row that cannot be evaluated gets its reason in the ``error`` column and empty
results: it never fails the partition.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator
from typing import Any

import pandas as pd

from .cohort import COLUMNS, NOTICE, OUTPUT_COLUMNS, RowError, rank_row
from .engine import Engine, default_engine

__all__ = [
    "RESULT_COLUMNS",
    "engine_for",
    "spark_schema",
    "suggest_batches",
    "suggest_frame",
]

#: The columns of a result frame. ``categories``, ``syndromes``, ``cancers`` and
#: ``unrecognized`` hold JSON text (lists of objects, as in ``pns-rules batch`` JSON Lines), so the
#: frame can be written to Parquet or CSV or handed to Spark as it is.
RESULT_COLUMNS: tuple[str, ...] = (*OUTPUT_COLUMNS, "error")

_engines: dict[str | None, Engine] = {}
_engines_lock = threading.Lock()
#: how many engines this process has loaded (the tests check it is one per worker)
loads = 0


def engine_for(rules: str | None = None) -> Engine:
    """The engine of this process for ``rules`` (a rule directory, ``None`` for the shipped
    rules), loaded on first use and kept."""
    global loads
    engine = _engines.get(rules)
    if engine is None:
        with _engines_lock:
            engine = _engines.get(rules)
            if engine is None:
                engine = Engine.from_directory(rules) if rules else default_engine()
                _engines[rules] = engine
                loads += 1
    return engine


def _cell(value: Any) -> Any:
    if isinstance(value, str | list | tuple) or hasattr(value, "tolist"):
        return value
    try:
        return None if pd.isna(value) else value
    except (TypeError, ValueError):
        return value


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def suggest_frame(
    frame: pd.DataFrame, rules: str | None = None, strict: bool = True, read_text: bool = True
) -> pd.DataFrame:
    """One result row per row of ``frame`` (same order and index), columns
    :data:`RESULT_COLUMNS`; bad rows carry their reason in ``error``. ``strict`` and
    ``read_text`` are those of :meth:`pns_rules.Engine.suggest`."""
    engine = engine_for(rules)
    columns = [c for c in COLUMNS if c in frame.columns]
    results: list[list[object]] = []
    for values in frame[columns].itertuples(index=False, name=None):
        row = {column: _cell(value) for column, value in zip(columns, values, strict=True)}
        try:
            row_id, result = rank_row(engine, row, strict=strict, read_text=read_text)
        except RowError as exc:
            results.append([row.get("id"), None, "[]", "[]", "[]", "[]", None, NOTICE, exc.reason])
            continue
        results.append(
            [
                row_id,
                result.top_level,
                _dumps(
                    [
                        {"name": c.name, "score": c.score, "level": c.level}
                        for c in result.categories
                    ]
                ),
                _dumps(
                    [
                        {
                            "id": s.id,
                            "name": s.name,
                            "category": s.category,
                            "score": s.score,
                            "level": s.level,
                        }
                        for s in result.syndromes
                    ]
                ),
                _dumps(
                    [
                        {"id": c.id, "name": c.name, "score": c.score, "level": c.level}
                        for c in result.cancers
                    ]
                ),
                _dumps([u.given for u in result.unrecognized]),
                result.rule_base.version,
                NOTICE,
                None,
            ]
        )
    return pd.DataFrame(results, index=frame.index, columns=list(RESULT_COLUMNS), dtype=object)


def suggest_batches(
    batches: Iterable[pd.DataFrame], rules: str | None = None, strict: bool = True
) -> Iterator[pd.DataFrame]:
    """:func:`suggest_frame` for each frame of ``batches``: the function Spark's
    ``DataFrame.mapInPandas`` calls (with :func:`spark_schema` as its schema)."""
    for frame in batches:
        yield suggest_frame(frame, rules=rules, strict=strict)


def spark_schema(id_type: str = "string") -> str:
    """The Spark DDL schema of :func:`suggest_batches`' output; ``id_type`` is the Spark type of
    the input ``id`` column (``"string"``, ``"long"``...)."""
    other = ", ".join(f"{column} string" for column in RESULT_COLUMNS[1:])
    return f"id {id_type}, {other}"
