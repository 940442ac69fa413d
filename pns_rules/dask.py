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
from .frames import RESULT_COLUMNS, engine_for, spark_schema, suggest_batches, suggest_frame

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

    ``patients`` has the columns ``id``, ``age``, ``sex``, ``findings`` and ``antibodies``
    (findings and antibodies as strings of terms separated by ``;``, or as lists when Dask's
    ``dataframe.convert-string`` option is off: otherwise Dask turns list columns into text,
    which is reported as an error per row); other columns are ignored. ``rules`` is a rule directory every worker can read (``None``: the shipped rules).
    Rows that cannot be evaluated get their reason in ``error``. ``strict`` and ``read_text``
    are those of :meth:`pns_rules.Engine.suggest`.
    """
    empty = pd.DataFrame({c: pd.Series(dtype=object) for c in COLUMNS})
    meta = pd.DataFrame({c: pd.Series(dtype=object) for c in RESULT_COLUMNS}, index=empty.index)
    results: dd.DataFrame = patients.map_partitions(  # type: ignore[no-untyped-call]
        suggest_frame, rules=rules, strict=strict, read_text=read_text, meta=meta
    )
    return results


def load_on_workers(client: Any, rules: str | None = None) -> None:
    """Load the engine in every worker process of a ``distributed.Client`` now, rather than on
    each worker's first partition."""
    client.run(_load, rules)


def _load(rules: str | None) -> int:
    engine_for(rules)
    return 1
