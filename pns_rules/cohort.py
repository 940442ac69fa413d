"""Patients as rows of a cohort: reading one row into ``suggest`` arguments, and a result into a
compact output row. Shared by ``pns-rules batch`` and the DataFrame integrations (Dask, Spark).

A row has the columns ``id``, ``age``, ``sex``, ``findings`` and ``antibodies`` (see
docs/batch.md). ``findings`` and ``antibodies`` are lists of terms, or one string with the terms
separated by ``;`` (as a CSV cell holds them). Missing or empty cells mean unknown (age, sex) or
none (findings, antibodies).
"""

from __future__ import annotations

import difflib
import functools
import json
import math
import numbers
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar, cast

from .engine import Engine
from .errors import InputError, PnsRulesError, _short_repr
from .loader import LIST_SEPARATOR
from .patient import is_instance
from .results import Differential, Ranking

__all__ = [
    "COLUMNS",
    "NOTICE",
    "OUTPUT_COLUMNS",
    "RowError",
    "check_columns",
    "evaluate_row",
    "patient_arguments",
    "rank_row",
    "row_identifier",
    "summary",
    "summary_fields",
    "summary_json",
]

#: The columns of an input row, in the order pns-rules writes them.
COLUMNS: tuple[str, ...] = ("id", "age", "sex", "findings", "antibodies")
#: The keys of a summary row (JSON Lines output; CSV output flattens the lists).
OUTPUT_COLUMNS: tuple[str, ...] = (
    "id",
    "top_level",
    "categories",
    "syndromes",
    "cancers",
    "unrecognized",
    "rule_base",
    "notice",
)
#: Every output row says what it is.
NOTICE = "Decision support, not a diagnosis."
#: Separates terms in one cell (no finding name contains it: the loader refuses such names).
SEPARATOR = LIST_SEPARATOR


class RowError(ValueError):
    """A row cannot be evaluated; ``reason`` says why, for the errors file (with the row's ``id``
    when it could be read)."""

    def __init__(self, reason: str, row_id: object = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.row_id = row_id


def _missing(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    return isinstance(value, float) and math.isnan(value)


def _terms(value: object, column: str) -> list[str]:
    if _missing(value):
        return []
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("[") and text.endswith("]"):
            raise RowError(
                f"{column} {_short(text)} is a list written as text (Dask converts list columns "
                "to strings unless dask.config 'dataframe.convert-string' is False): give a list, "
                f"or the terms joined by {SEPARATOR!r}"
            )
        return [t for t in (part.strip() for part in text.split(SEPARATOR)) if t]
    if isinstance(value, list | tuple):
        return list(value)
    tolist = getattr(value, "tolist", None)  # a numpy array, as pandas and Arrow give lists
    if callable(tolist):
        converted = tolist()
        if isinstance(converted, list):
            return converted
    raise RowError(
        f"{column} must be a list of terms or one string of terms separated by "
        f"{SEPARATOR!r}, not {type(value).__name__}"
    )


def _short(text: str, limit: int = 60) -> str:
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


def _age(value: object) -> object:
    if _missing(value):
        return None
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            raise RowError(f"age {value!r} is not a number of years") from None
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value)
    return value  # suggest() says what is wrong with it


def _sex(value: object) -> object:
    return None if _missing(value) else value


def row_identifier(value: object) -> str | int:
    """A row's ``id``: a non-empty string or an integer (kept as given in the output)."""
    if _missing(value):
        raise RowError("id is missing or empty")
    if isinstance(value, str):
        return value
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    raise RowError(f"id must be a string or an integer, not {type(value).__name__}")


def patient_arguments(row: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword arguments of ``suggest`` for ``row`` (without ``strict``).

    Raises :class:`RowError` for an unknown column or a cell that cannot be read; the values
    themselves are checked by ``suggest``. Raises :class:`InputError` if ``row`` is not a mapping.
    """
    _check_row(row)
    unknown = [key for key in row if key not in COLUMNS]
    if unknown:
        raise RowError(
            f"unknown column(s) {', '.join(repr(k) for k in unknown)}; "
            f"expected {', '.join(COLUMNS)}"
        )
    return {
        "findings": _terms(row.get("findings"), "findings"),
        "antibodies": _terms(row.get("antibodies"), "antibodies"),
        "age": _age(row.get("age")),
        "sex": _sex(row.get("sex")),
    }


def _check_row(row: object) -> None:
    if not isinstance(row, Mapping):
        raise InputError("row", row, f"a mapping of columns ({', '.join(COLUMNS)})")


def _check_result(row_id: object, result: object, *, any_id: bool = False) -> None:
    """:class:`InputError` unless ``result`` is a result of ``Engine.suggest`` or
    ``Engine.ranking`` and ``row_id`` a string or an integer (any value if ``any_id``)."""
    if not isinstance(result, Differential | Ranking):
        raise InputError(
            "result", result, "a Differential or a Ranking, from Engine.suggest or Engine.ranking"
        )
    if not any_id and (isinstance(row_id, bool) or not isinstance(row_id, str | int)):
        raise InputError("row_id", row_id, "a string or an integer, as row_identifier gives")


def summary(row_id: object, result: Differential | Ranking) -> dict[str, Any]:
    """The compact output row of ``result``: ranked categories, syndromes and cancers."""
    _check_result(row_id, result, any_id=True)
    return {
        "id": row_id,
        "top_level": result.top_level,
        "categories": [
            {"name": c.name, "score": c.score, "level": c.level} for c in result.categories
        ],
        "syndromes": [
            {"id": s.id, "name": s.name, "category": s.category, "score": s.score, "level": s.level}
            for s in result.syndromes
        ],
        "cancers": [
            {"id": c.id, "name": c.name, "score": c.score, "level": c.level} for c in result.cancers
        ],
        "unrecognized": [u.given for u in result.unrecognized],
        "rule_base": result.rule_base.version,
        "notice": NOTICE,
    }


def evaluate_row(
    engine: Engine, row: Mapping[str, Any], *, strict: bool = True, read_text: bool = True
) -> tuple[str | int, Differential]:
    """Evaluate one row: its id and its whole differential (``Engine.suggest``; ``strict`` and
    ``read_text`` as there).

    Raises :class:`RowError` for a row that cannot be evaluated, with the reason, and
    :class:`InputError` if ``engine`` is not an :class:`Engine` or ``row`` not a mapping.
    """
    return _run_row(_checked_engine(engine).suggest, row, strict, read_text)


def rank_row(
    engine: Engine, row: Mapping[str, Any], *, strict: bool = True, read_text: bool = True
) -> tuple[str | int, Ranking]:
    """Evaluate one row: its id and its ranking (``Engine.ranking``: what a summary needs;
    ``strict`` and ``read_text`` as for ``Engine.suggest``).

    Raises :class:`RowError` for a row that cannot be evaluated, with the reason, and
    :class:`InputError` if ``engine`` is not an :class:`Engine` or ``row`` not a mapping.
    """
    return _run_row(_checked_engine(engine).ranking, row, strict, read_text)


def _checked_engine(engine: object) -> Engine:
    if not isinstance(engine, Engine):
        raise InputError("engine", engine, "a pns_rules.Engine, such as Engine.shipped()")
    return engine


def summary_json(row_id: str | int, result: Differential | Ranking) -> str:
    """``json.dumps(summary(row_id, result), ensure_ascii=False)``, built from memoised pieces
    (a candidate's JSON depends only on its id, name, score and level)."""
    _check_result(row_id, result)
    if len(_syndrome_json) + len(_cancer_json) + len(_category_json) > _FRAGMENTS_LIMIT:
        _syndrome_json.clear()
        _cancer_json.clear()
        _category_json.clear()
    parts = []
    for c in result.categories:
        key: tuple[object, ...] = c if isinstance(c, tuple) else (c.name, c.score, c.level)
        text = _category_json.get(key)
        if text is None:
            text = _category_json[key] = _dumps(
                {"name": c.name, "score": c.score, "level": c.level}
            )
        parts.append(text)
    categories = ", ".join(parts)
    parts = []
    for s in result.syndromes:
        key = s if isinstance(s, tuple) else (s.id, s.name, s.category, s.score, s.level)
        text = _syndrome_json.get(key)
        if text is None:
            text = _syndrome_json[key] = _dumps(
                {
                    "id": s.id,
                    "name": s.name,
                    "category": s.category,
                    "score": s.score,
                    "level": s.level,
                }
            )
        parts.append(text)
    syndromes = ", ".join(parts)
    parts = []
    for k in result.cancers:
        key = k if isinstance(k, tuple) else (k.id, k.name, k.score, k.level)
        text = _cancer_json.get(key)
        if text is None:
            text = _cancer_json[key] = _dumps(
                {"id": k.id, "name": k.name, "score": k.score, "level": k.level}
            )
        parts.append(text)
    cancers = ", ".join(parts)
    version = result.rule_base.version
    tail = _tails.get(version)
    if tail is None:
        tail = _tails[version] = f'"rule_base": {_dumps(version)}, "notice": {_dumps(NOTICE)}}}'
    unrecognized = result.unrecognized
    return (
        f'{{"id": {_json_id(row_id)}, "top_level": {_LEVEL_JSON[result.top_level]}, '
        f'"categories": [{categories}], "syndromes": [{syndromes}], "cancers": [{cancers}], '
        f'"unrecognized": {_dumps([u.given for u in unrecognized]) if unrecognized else "[]"}, '
        f"{tail}"
    )


def _json_id(row_id: str | int) -> str:
    if isinstance(row_id, str) and _PLAIN_JSON.fullmatch(row_id):
        return f'"{row_id}"'
    return _dumps(row_id)


def summary_fields(row_id: str | int, result: Differential | Ranking) -> list[str]:
    """The summary as CSV cells (:data:`OUTPUT_COLUMNS`): ranked lists as ``id:score:level``
    joined by ``;``."""
    _check_result(row_id, result)
    return [
        str(row_id),
        result.top_level or "",
        ";".join(f"{c.name}:{c.score:g}:{c.level}" for c in result.categories),
        ";".join(f"{s.id}:{s.score:g}:{s.level}" for s in result.syndromes),
        ";".join(f"{c.id}:{c.score:g}:{c.level}" for c in result.cancers),
        ";".join(u.given for u in result.unrecognized),
        result.rule_base.version,
        NOTICE,
    ]


_category_json: dict[tuple[object, ...], str] = {}
_syndrome_json: dict[tuple[object, ...], str] = {}
_cancer_json: dict[tuple[object, ...], str] = {}
_tails: dict[str, str] = {}
_FRAGMENTS_LIMIT = 8192
_dumps = functools.partial(json.dumps, ensure_ascii=False)
_LEVEL_JSON = {level: _dumps(level) for level in (None, "high", "intermediate", "low")}
#: strings json.dumps(ensure_ascii=False) writes as they are, between quotes
_PLAIN_JSON = re.compile(r'[^"\\\x00-\x1f]*')


_Result = TypeVar("_Result", Differential, Ranking)


def _run_row(
    method: Callable[..., _Result], row: Mapping[str, Any], strict: bool, read_text: bool
) -> tuple[str | int, _Result]:
    """The row's id and what ``method`` (``Engine.suggest`` or ``Engine.ranking``) gives for it;
    a row that cannot be evaluated raises :class:`RowError` with the reason."""
    _check_row(row)
    row_id = row_identifier(row.get("id"))
    arguments = patient_arguments(row)
    try:
        return row_id, method(**arguments, strict=strict, read_text=read_text)
    except PnsRulesError as exc:
        raise RowError(str(exc)) from exc


def check_columns(columns: Iterable[object], parameter: str = "columns") -> tuple[str, ...]:
    """The input column (:data:`~pns_rules.cohort.COLUMNS`) each of ``columns`` names, in order.

    This is how ``pns-rules batch`` reads a CSV header and :mod:`pns_rules.frames` a DataFrame's
    columns: in any order and case, surrounding white space ignored, ``id`` required, each
    column at most once. Raises :class:`InputError`
    (``parameter``, the names as given) naming every column that is not an input column, with
    the closest input column where there is one, or the names that repeat one.
    """
    given = list(columns)
    names = [_column_name(c) for c in given]
    problems = []
    unknown = [c for c, name in zip(given, names, strict=True) if name not in COLUMNS]
    if unknown:
        problems.append(
            "unknown "
            + ("column " if len(unknown) == 1 else "columns ")
            + ", ".join(_unknown_column(c) for c in unknown)
        )
    for column in COLUMNS:
        repeats = [c for c, name in zip(given, names, strict=True) if name == column]
        if len(repeats) > 1:
            problems.append(
                f"{', '.join(_short_repr(c) for c in repeats)} name the same column {column!r}"
            )
    if "id" not in names:
        problems.append("no id column")
    if problems:
        raise InputError(
            parameter,
            given,
            f"the columns {', '.join(COLUMNS)} (id required, each at most once, in any order and "
            f"case); {'; '.join(problems)}",
        )
    return tuple(name for name in names if name is not None)


def _column_name(column: object) -> str | None:
    """The input column ``column`` names when it is text, ignoring case and white space."""
    if not is_instance(column, str):
        return None
    return str.lower(str.strip(cast(str, column)))  # a str subclass's own methods never run


def _unknown_column(column: object) -> str:
    name = _column_name(column)
    matches = difflib.get_close_matches(name, COLUMNS, n=1, cutoff=0.6) if name else []
    return _short_repr(column) + (f" (did you mean {matches[0]!r}?)" if matches else "")
