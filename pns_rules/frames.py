"""Cohorts as pandas DataFrames: the per-partition function behind Dask and Spark.

Needs pandas (``pip install 'pns-rules[dask]'`` brings it). :func:`suggest_frame` turns a frame of
patients into a frame of results, one row per input row, in the same order and with the same
index; :func:`suggest_batches` does it for an iterator of frames, as Spark's ``mapInPandas``
wants. Each process loads its engine once, on first use, and keeps it (see docs/scale.md).

Input columns are those of a cohort row (:data:`pns_rules.cohort.COLUMNS`), named as in the header
of a ``pns-rules batch`` CSV file: in any order and case, ``id`` required, each at most once. A frame
with another column (a misspelt ``finding``) is refused with :class:`~pns_rules.errors.InputError`
before any row is read, so that no column is silently ignored. A row that cannot be evaluated gets
its reason in the ``error`` column and empty results: it never fails the partition.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable, Iterator
from typing import Any, cast

import pandas as pd

from .cohort import COLUMNS, NOTICE, OUTPUT_COLUMNS, RowError, check_columns, rank_row
from .engine import Engine, default_engine
from .errors import InputError
from .loader import _path_text
from .patient import check_flag, is_instance

__all__ = [
    "RESULT_COLUMNS",
    "check_columns",
    "check_options",
    "engine_for",
    "rule_directory",
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


#: A Spark SQL type name, such as ``string``, ``long`` or ``decimal(20,0)`` (one type, no comma
#: outside its brackets, so it cannot add columns to the schema).
_SPARK_TYPE = re.compile(r"[A-Za-z]+(?:\(\s*\d+\s*(?:,\s*\d+\s*)?\))?")


def engine_for(rules: object = None) -> Engine:
    """The engine of this process for ``rules`` (a rule directory: a ``str``, ``bytes`` or
    ``os.PathLike`` path; ``None`` for the shipped rules), loaded on first use and kept.

    Raises :class:`InputError` when ``rules`` is not a path or ``None``, and
    :class:`~pns_rules.errors.RuleFileError` when the directory cannot be loaded.
    """
    global loads
    directory = rule_directory(rules)
    engine = _engines.get(directory)
    if engine is None:
        with _engines_lock:
            engine = _engines.get(directory)
            if engine is None:
                engine = default_engine() if directory is None else Engine.from_directory(directory)
                _engines[directory] = engine
                loads += 1
    return engine


def rule_directory(rules: object) -> str | None:
    """``rules`` as the text of a rule directory, or ``None`` (the shipped rules) for ``None``.

    Raises :class:`InputError` for anything but ``None``, a ``str``, ``bytes`` or ``os.PathLike``.
    An empty path is a path (loading it fails), never a request for the shipped rules.
    """
    if rules is None:
        return None
    try:
        return _path_text(rules)
    except InputError:
        raise InputError(
            "rules",
            rules,
            "a rule directory (a str, bytes or os.PathLike path), or None for the shipped rules",
        ) from None


def check_options(strict: object, read_text: object) -> None:
    """Raise :class:`InputError` unless ``strict`` and ``read_text`` are both ``True`` or
    ``False`` (checked once per call, not reported on every row)."""
    check_flag("strict", strict)
    check_flag("read_text", read_text)


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
    ``read_text`` are those of :meth:`pns_rules.Engine.suggest`.

    Raises :class:`InputError`, before any row is read, when ``frame`` is not a pandas
    DataFrame, its columns are not input columns (see :func:`check_columns`), or an argument is
    bad; :class:`~pns_rules.errors.RuleFileError` when ``rules`` cannot be loaded.
    """
    directory = rule_directory(rules)
    check_options(strict, read_text)
    return _suggest_frame(frame, "frame", directory, strict, read_text)


def _suggest_frame(
    frame: object, parameter: str, rules: str | None, strict: bool, read_text: bool
) -> pd.DataFrame:
    if not is_instance(frame, pd.DataFrame):
        raise InputError(parameter, frame, f"a pandas DataFrame of patients, {_ONE_PER_ROW}")
    patients = cast(pd.DataFrame, frame)
    columns = check_columns(patients.columns, f"{parameter}.columns")
    engine = engine_for(rules)
    results: list[list[object]] = []
    for values in patients.itertuples(index=False, name=None):
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
    return pd.DataFrame(results, index=patients.index, columns=list(RESULT_COLUMNS), dtype=object)


def suggest_batches(
    batches: Iterable[pd.DataFrame],
    rules: str | None = None,
    strict: bool = True,
    read_text: bool = True,
) -> Iterator[pd.DataFrame]:
    """:func:`suggest_frame` for each frame of ``batches``: the function Spark's
    ``DataFrame.mapInPandas`` calls (with :func:`spark_schema` as its schema). ``strict`` and
    ``read_text`` are those of :meth:`pns_rules.Engine.suggest`.

    Raises :class:`InputError` at once when ``batches`` is not an iterable of frames (a single
    DataFrame included: pass ``[frame]``, or call :func:`suggest_frame`) or an argument is bad,
    and when a frame is read that :func:`suggest_frame` would refuse (``parameter``
    ``"batches[i]"``).
    """
    directory = rule_directory(rules)
    check_options(strict, read_text)
    valid = f"an iterable of pandas DataFrames of patients, {_ONE_PER_ROW}"
    if is_instance(batches, pd.DataFrame | str | bytes):
        raise InputError("batches", batches, f"{valid}; for one frame pass [frame]")
    try:
        frames = iter(batches)
    except MemoryError:
        raise
    except Exception:
        raise InputError("batches", batches, valid) from None
    return _each_batch(frames, directory, strict, read_text)


def _each_batch(
    frames: Iterator[object], rules: str | None, strict: bool, read_text: bool
) -> Iterator[pd.DataFrame]:
    for index, frame in enumerate(frames):
        yield _suggest_frame(frame, f"batches[{index}]", rules, strict, read_text)


def spark_schema(id_type: str = "string") -> str:
    """The Spark DDL schema of :func:`suggest_batches`' output; ``id_type`` is the Spark type of
    the input ``id`` column (``"string"``, ``"long"``, ``"decimal(20,0)"``...).

    Raises :class:`InputError` when ``id_type`` is not one Spark type name (a comma would add
    columns to the schema).
    """
    name = str.__str__(id_type) if is_instance(id_type, str) else ""
    if not _SPARK_TYPE.fullmatch(name):
        raise InputError(
            "id_type",
            id_type,
            "the Spark SQL type of the id column, one type name such as 'string', 'long' or "
            "'decimal(20,0)'",
        )
    other = ", ".join(f"{column} string" for column in RESULT_COLUMNS[1:])
    return f"id {name}, {other}"


_ONE_PER_ROW = "one per row, with the columns " + ", ".join(COLUMNS)
