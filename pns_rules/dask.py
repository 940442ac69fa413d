"""pns-rules on Dask DataFrames, on one machine or a cluster (``pip install 'pns-rules[dask]'``).

:func:`suggest_dataframe` maps :func:`pns_rules.frames.suggest_frame` over the partitions of a
Dask DataFrame of patients; each worker process loads its engine once, on its first partition
(or up front with :func:`load_on_workers`). See docs/scale.md for the recipe, the measured
throughput and the same function under Spark's ``mapInPandas``.
"""

from __future__ import annotations

from typing import Any

import dask.dataframe as dd
import pandas as pd

from .cohort import COLUMNS
from .errors import InputError
from .frames import (
    RESULT_COLUMNS,
    check_columns,
    check_options,
    engine_for,
    rule_directory,
    spark_schema,
    suggest_batches,
    suggest_frame,
)
from .patient import is_instance

__all__ = [
    "RESULT_COLUMNS",
    "load_on_workers",
    "spark_schema",
    "suggest_batches",
    "suggest_dataframe",
    "suggest_frame",
]


def suggest_dataframe(
    patients: dd.DataFrame, rules: str | None = None, strict: bool = True, read_text: bool = True
) -> dd.DataFrame:
    """A lazy Dask DataFrame of results, one row per patient (same partitions and index),
    columns :data:`RESULT_COLUMNS`.

    ``patients`` has the columns ``id``, ``age``, ``sex``, ``findings`` and ``antibodies``, as
    :func:`pns_rules.frames.suggest_frame` reads them (in any order and case, ``id`` required);
    findings and antibodies as strings of terms separated by ``;``, or as lists when Dask's
    ``dataframe.convert-string`` option is off (otherwise Dask turns list columns into text,
    which is reported as an error per row). ``rules`` is a rule directory every worker can read
    (``None``: the shipped rules). Rows that cannot be evaluated get their reason in ``error``.
    ``strict`` and ``read_text`` are those of :meth:`pns_rules.Engine.suggest`.

    Raises :class:`InputError` at once, before anything is computed, when ``patients`` is not a
    Dask DataFrame (for a pandas DataFrame call :func:`~pns_rules.frames.suggest_frame`, or
    convert it with ``dd.from_pandas``), has another column or none named ``id``, or an argument
    is bad.
    """
    if not is_instance(patients, dd.DataFrame):
        raise _not_a_dask_frame(patients)
    directory = rule_directory(rules)
    check_options(strict, read_text)
    check_columns(patients.columns, "patients.columns")
    empty = pd.DataFrame({c: pd.Series(dtype=object) for c in COLUMNS})
    meta = pd.DataFrame({c: pd.Series(dtype=object) for c in RESULT_COLUMNS}, index=empty.index)
    results: dd.DataFrame = patients.map_partitions(  # type: ignore[no-untyped-call]
        suggest_frame, rules=directory, strict=strict, read_text=read_text, meta=meta
    )
    return results


def _not_a_dask_frame(patients: object) -> InputError:
    valid = f"a Dask DataFrame of patients, one per row, with the columns {', '.join(COLUMNS)}"
    if is_instance(patients, pd.DataFrame):
        valid += (
            " (for a pandas DataFrame call pns_rules.frames.suggest_frame, or make it a Dask one "
            "with dd.from_pandas(frame, npartitions=...))"
        )
    return InputError("patients", patients, valid)


def load_on_workers(client: Any, rules: str | None = None) -> None:
    """Load the engine in every worker process of a ``distributed.Client`` now, rather than on
    each worker's first partition.

    Raises :class:`InputError` when ``client`` is not a ``distributed.Client`` or ``rules`` is not
    a rule directory or ``None``; a rule directory that cannot be loaded raises the workers'
    :class:`~pns_rules.errors.RuleFileError`.
    """
    from distributed import Client

    if not is_instance(client, Client):
        raise InputError(
            "client", client, "a distributed.Client connected to the cluster whose workers load it"
        )
    client.run(_load, rule_directory(rules))


def _load(rules: str | None) -> int:
    engine_for(rules)
    return 1
