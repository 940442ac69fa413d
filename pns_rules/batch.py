"""``pns-rules batch``: rank a whole cohort file, streaming, on every core.

The input (CSV or JSON Lines, optionally gzipped) is read one row at a time, sent in chunks to
worker processes that each load the engine once, and the results are written in input order as
they come back; a bounded number of chunks is in flight, so memory stays constant whatever the
input size. A row that cannot be evaluated goes to the errors file with its row and line numbers
and the reason; it never stops the batch. See docs/batch.md.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import gzip
import io
import json
import os
import sys
import time
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from pathlib import Path
from typing import IO, Any, NamedTuple, TextIO, cast

from ._argtypes import positive_int
from .cohort import (
    COLUMNS,
    OUTPUT_COLUMNS,
    RowError,
    check_columns,
    evaluate_row,
    rank_row,
    summary_fields,
    summary_json,
)
from .engine import Engine, default_engine
from .errors import EngineError, InputError, UnknownFindingError, _join_choices, _short_repr
from .patient import check_flag

__all__ = [
    "EXIT_ROWS_FAILED",
    "Options",
    "Outcome",
    "add_parser",
    "evaluate",
    "read_records",
    "records_from_rows",
]

#: Exit code when the batch ran to the end but some rows failed (see the errors file).
EXIT_ROWS_FAILED = 3
#: Rows per chunk sent to a worker.
CHUNK_SIZE = 500
#: Chunks in flight per worker: enough to keep every worker busy, few enough to bound memory.
CHUNKS_PER_WORKER = 3
FORMATS = ("csv", "jsonl")
_SUFFIXES = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}


class Options(NamedTuple):
    """How every row of one batch is evaluated and written.

    :func:`evaluate` checks every field and raises :class:`InputError` naming a bad one.
    """

    #: a rule directory, or ``None`` for the shipped rules
    rules: str | os.PathLike[str] | None = None
    #: ``True`` or ``False``: whether an unknown term fails its row (``Engine.suggest``'s)
    strict: bool = True
    #: read free-text findings for the known terms they name (``Engine.suggest``'s ``read_text``)
    read_text: bool = True
    #: ``True`` to write each whole result (JSON Lines only)
    full: bool = False
    #: ``"jsonl"`` or ``"csv"``
    output_format: str = "jsonl"
    #: the CSV header of the input (the column of each field of a ``"csv"`` record)
    header: tuple[str, ...] = COLUMNS
    #: what the reason of a row with unknown terms names as the way to evaluate it anyway
    #: (``pns-rules batch`` sets ``"--lenient"``)
    lenient_option: str = "strict=False"


class Record(NamedTuple):
    """One input row: its 1-based number, the line it starts on, and what was read.

    ``kind`` is ``"csv"`` (``payload``: the fields), ``"json"`` (the line's text), ``"row"`` (a
    mapping) or ``"error"`` (the reason the row could not be read, and its id if known).
    """

    row: int
    line: int
    kind: str
    payload: Any


class Outcome(NamedTuple):
    """The result of one row: its output ``text`` (a formatted line), or its ``error`` record (a
    JSON line for the errors file)."""

    row: int
    line: int
    text: str | None
    error: str | None


# -- reading ---------------------------------------------------------------------------------


def format_of(
    path: str | os.PathLike[str],
    given: str | None,
    *,
    parameter: str = "format",
    option: str = "--format",
) -> str:
    """``given`` if set, else the format named by the file's extension (``.gz`` looked through).

    An unknown extension raises :class:`InputError` on ``parameter`` (the file), naming the
    extension, the known ones and ``option``, which names the format instead.
    """
    if given is not None:
        return _checked_format(option, given)
    name = Path(path).name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    suffix = Path(name).suffix
    fmt = _SUFFIXES.get(suffix)
    if fmt is None:
        what = (
            f"its extension {suffix!r} is not a known format" if suffix else "it has no extension"
        )
        raise InputError(
            parameter,
            str(path),
            f"{what}: a file ending in .csv, .jsonl, .ndjson or .json (optionally .gz), or "
            f"{option} {' or '.join(FORMATS)} to name the format",
        )
    return fmt


def read_records(text: TextIO, fmt: str) -> tuple[tuple[str, ...], Iterator[Record]]:
    """The header and the rows of an input stream in format ``fmt`` (``"csv"`` or ``"jsonl"``).

    Raises :class:`InputError` when ``text`` is not a text stream, ``fmt`` is not a format, or a
    CSV file has no header, no ``id`` column or an unknown column; a row that cannot be read
    becomes an ``"error"`` record.
    """
    _checked_format("fmt", fmt)
    if isinstance(text, str | bytes | bytearray | io.BufferedIOBase | io.RawIOBase):
        raise InputError(
            "text", text, "a text stream, such as open(path, newline='') or io.StringIO(text)"
        )
    if fmt == "jsonl":
        return COLUMNS, _json_records(text)
    reader = csv.reader(text, strict=True)
    try:
        fields = next(reader)
    except StopIteration:
        raise InputError(
            "input", "<empty file>", "a CSV header: id,age,sex,findings,antibodies"
        ) from None
    except csv.Error as exc:
        raise InputError("input", "<CSV header>", f"a readable CSV header ({exc})") from None
    header = check_columns(fields, "CSV header")
    return header, _csv_records(reader, header)


def _csv_records(reader: Any, header: tuple[str, ...]) -> Iterator[Record]:
    width = len(header)
    id_column = header.index("id")
    row = 0
    while True:
        line = reader.line_num + 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            row += 1
            yield Record(row, line, "error", (f"broken CSV: {exc}", None))
            continue
        if not fields:
            continue  # a blank line is not a row
        row += 1
        if len(fields) != width:
            reason = f"expected {width} fields ({', '.join(header)}), found {len(fields)}"
            row_id = fields[id_column] if id_column < len(fields) else None
            yield Record(row, line, "error", (reason, row_id))
        else:
            yield Record(row, line, "csv", fields)


def _json_records(text: TextIO) -> Iterator[Record]:
    row = 0
    for line, content in enumerate(text, start=1):
        if content.strip():
            row += 1
            yield Record(row, line, "json", content)


def _checked_format(parameter: str, fmt: object) -> str:
    if not isinstance(fmt, str) or fmt not in FORMATS:
        raise InputError(parameter, fmt, f"one of {_join_choices(FORMATS)}")
    return fmt


def _valid_header(header: tuple[str, ...]) -> bool:
    """Whether ``header`` names columns of :data:`COLUMNS` as :func:`read_records` gives them:
    ``id`` among them, each once, written as in :data:`COLUMNS`."""
    try:
        return check_columns(header) == header
    except InputError:
        return False


def records_from_rows(rows: Iterable[Mapping[str, Any]]) -> Iterator[Record]:
    """Records of in-memory rows (mappings with the input columns), numbered from 1.

    Raises :class:`InputError` if ``rows`` is not an iterable of rows (a single row, a string).
    A row that is not a mapping becomes a bad row of the batch.
    """
    valid = "an iterable of rows, each a mapping of columns, such as [{'id': 'p1', 'age': 62}]"
    if isinstance(rows, str | bytes | bytearray | Mapping):
        raise InputError("rows", rows, valid)
    try:
        iterator = iter(rows)
    except TypeError:
        raise InputError("rows", rows, valid) from None
    return _row_records(iterator)


def _row_records(rows: Iterator[Mapping[str, Any]]) -> Iterator[Record]:
    for number, row in enumerate(rows, start=1):
        yield Record(number, number, "row", row)


# -- evaluating ------------------------------------------------------------------------------

_state: dict[str, Any] = {}


def _engine(options: Options) -> Engine:
    return Engine.from_directory(options.rules) if options.rules is not None else default_engine()


def _start_worker(options: Options) -> None:
    """Load the engine once in this worker process."""
    _state["options"] = options
    _state["engine"] = _engine(options)
    _state["csv"] = _CsvLine()


def _evaluate_chunk(records: list[Record]) -> list[Outcome]:
    """The outcomes of ``records`` in a worker process started by :func:`_start_worker`."""
    return _evaluate_records(records, _state["options"], _state["engine"], _state["csv"])


def _evaluate_records(
    records: list[Record], options: Options, engine: Engine, csv_line: _CsvLine
) -> list[Outcome]:
    outcomes = []
    for record in records:
        row: Mapping[str, Any] | None = None
        try:
            row = _row(record, options.header)
            if options.full:
                row_id, result = evaluate_row(
                    engine, row, strict=options.strict, read_text=options.read_text
                )
                text = json.dumps({"id": row_id, **result.to_dict()}, ensure_ascii=False) + "\n"
            else:
                row_id, ranking = rank_row(
                    engine, row, strict=options.strict, read_text=options.read_text
                )
                if options.output_format == "csv":
                    text = csv_line(summary_fields(row_id, ranking))
                else:
                    text = summary_json(row_id, ranking) + "\n"
            if not _valid_text(text):  # a term of an in-memory row not checked by _check_values
                raise RowError("the result holds text that is not valid Unicode (a lone surrogate)")
            outcomes.append(Outcome(record.row, record.line, text, None))
        except Exception as exc:  # a bad row must never stop the batch
            reason = _reason(exc, options)
            error: dict[str, Any] = {"row": record.row, "line": record.line}
            given_id = row.get("id") if isinstance(row, Mapping) else None
            if isinstance(exc, RowError) and exc.row_id is not None:
                given_id = exc.row_id
            if _readable_id(given_id) is not None:
                error["id"] = given_id
            error["error"] = _printable(reason)
            outcomes.append(Outcome(record.row, record.line, None, json.dumps(error) + "\n"))
    return outcomes


def _reason(exc: Exception, options: Options) -> str:
    """Why a row failed, for the errors file."""
    if not isinstance(exc, RowError):
        return f"unexpected error: {exc!r}"
    if isinstance(exc.__cause__, UnknownFindingError):
        return exc.__cause__.message_for(options.lenient_option)
    return exc.reason


def _row(record: Record, header: tuple[str, ...]) -> Mapping[str, Any]:
    if record.kind == "error":
        reason, row_id = record.payload
        raise RowError(reason, row_id)
    if record.kind == "row":
        row: Mapping[Any, Any] = record.payload
        if not isinstance(row, Mapping):
            raise RowError(f"a row must be a mapping of columns, not {type(row).__name__}")
        _check_values(row, _readable_id(row.get("id")))
        return row
    if record.kind == "csv":
        row = dict(zip(header, record.payload, strict=True))
        for value in row.values():
            if not _valid_text(value):
                row_id = row.get("id")
                raise RowError("not valid UTF-8 text", row_id if _valid_text(row_id) else None)
        return row
    text: str = record.payload
    if not _valid_text(text):
        raise RowError("not valid UTF-8 text")
    return _json_row(text)


def _json_row(text: str) -> dict[str, Any]:
    """The object on one JSON line; :class:`RowError` if it is not a JSON object, repeats a key,
    or holds what standard JSON has not (NaN, Infinity, a lone surrogate escape such as
    ``"\\ud800"``)."""
    try:
        data = _JSON.decode(text)
    except json.JSONDecodeError as exc:
        raise RowError(f"not valid JSON: {exc}") from None
    except RecursionError:
        raise RowError("not valid JSON: nested too deeply") from None
    except _RepeatedKey as exc:
        raise RowError(f"the key {_short_repr(exc.key)} is given twice", _sole_id(text)) from None
    if not isinstance(data, dict):
        raise RowError(f"a JSON line must be an object, not {type(data).__name__}")
    if "\\u" in text or "NaN" in text or "Infinity" in text:  # else neither can be in data
        _check_values(data, _readable_id(data.get("id")))
    return data


class _RepeatedKey(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


def _json_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object as a dict; :class:`_RepeatedKey` if a key is given twice (``json`` would
    keep the last silently)."""
    obj = dict(pairs)
    if len(obj) < len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _RepeatedKey(key)
            seen.add(key)
    return obj


def _sole_id(text: str) -> str | int | None:
    """The ``id`` of a JSON line that repeats a key, unless ``id`` is the key repeated."""
    pairs = json.loads(text, object_pairs_hook=list)
    ids = [value for key, value in pairs if key == "id"]
    return _readable_id(ids[0]) if len(ids) == 1 else None


class _NotJson:
    """What a JSON line's ``NaN``, ``Infinity`` or ``-Infinity`` is read as, to be refused."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


#: Reads JSON lines: NaN and infinities as :class:`_NotJson`, a repeated key as an error.
_JSON = json.JSONDecoder(object_pairs_hook=_json_object, parse_constant=_NotJson)


def _check_values(row: Mapping[Any, Any], row_id: object) -> None:
    """Raise :class:`RowError` naming the column of a value (or an item of a list) that is NaN or
    an infinity from JSON, or text holding a lone surrogate (which cannot be written as UTF-8)."""
    for key, value in row.items():
        if isinstance(key, str) and not _valid_text(key):
            raise RowError(f"the column name {_short_repr(key)} is not valid Unicode text", row_id)
        for item in value if isinstance(value, list | tuple) else (value,):
            if isinstance(item, _NotJson):
                raise RowError(
                    f"{key} {item.name} is not valid JSON (JSON has no NaN or infinities; "
                    "write null for an unknown value)",
                    row_id,
                )
            if isinstance(item, str) and not _valid_text(item):
                raise RowError(
                    f"{key} {_short_repr(item)} is not valid Unicode text (a lone surrogate, such "
                    "as the JSON escape \\ud800 without its pair)",
                    row_id,
                )


def _readable_id(value: object) -> str | int | None:
    """``value`` if it can name its row in the errors file: non-empty valid text or an integer."""
    if isinstance(value, str) and value and _valid_text(value):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


def _valid_text(text: object) -> bool:
    """Whether ``text`` is a string that was valid UTF-8 (no escaped undecodable bytes)."""
    if not isinstance(text, str):
        return False
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _printable(text: str) -> str:
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


class _CsvLine:
    """Formats one CSV line at a time."""

    def __init__(self) -> None:
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer)

    def __call__(self, values: list[str]) -> str:
        self._buffer.seek(0)
        self._buffer.truncate()
        self._writer.writerow(values)
        return self._buffer.getvalue()


def _chunks(records: Iterator[Record], size: int) -> Iterator[list[Record]]:
    chunk: list[Record] = []
    for index, record in enumerate(records):
        if not isinstance(record, Record):
            raise InputError(
                f"records[{index}]", record, "a record from read_records or records_from_rows"
            )
        chunk.append(record)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def evaluate(
    records: Iterable[Record],
    options: Options | None = None,
    *,
    jobs: int = 1,
    chunk_size: int = CHUNK_SIZE,
) -> Iterator[Outcome]:
    """The outcome of every record, in input order, evaluated by ``jobs`` processes.

    Records are pulled from ``records`` only as fast as results are consumed: at most
    ``jobs * CHUNKS_PER_WORKER + 1`` chunks are read ahead, so an input of any size is processed
    in constant memory. ``jobs=1`` evaluates in this process. A bad record gives an outcome with
    an ``error``; nothing here raises for bad input in a row.

    Raises :class:`InputError` at once for a bad ``options`` field, ``jobs`` or ``chunk_size``
    (each a whole number of at least 1) or ``records`` that is not iterable, and
    :class:`RuleFileError` for a bad ``options.rules``; and while iterating, for an item of
    ``records`` that is not a record of :func:`read_records` or :func:`records_from_rows`.
    """
    _check_count("jobs", jobs)
    _check_count("chunk_size", chunk_size)
    options = _checked_options(options)
    try:
        iterator = iter(records)
    except TypeError:
        raise InputError(
            "records", records, "an iterable of records from read_records or records_from_rows"
        ) from None
    chunks = _chunks(iterator, chunk_size)
    if jobs == 1:
        return _evaluate_here(chunks, options, _engine(options))
    if options.rules is not None:
        Engine.from_directory(options.rules)  # a bad rule directory fails here, not in a worker
    return _evaluate_in_workers(chunks, options, jobs)


def _check_count(parameter: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(parameter, value, "a whole number of at least 1")


def _checked_options(options: object) -> Options:
    """``options`` (``None`` for the defaults), or :class:`InputError` naming a bad field."""
    if options is None:
        return Options()
    if not isinstance(options, Options):
        raise InputError("options", options, "a pns_rules.batch.Options, or None for the defaults")
    for name in ("strict", "read_text", "full"):
        check_flag(f"options.{name}", getattr(options, name))
    _checked_format("options.output_format", options.output_format)
    if options.full and options.output_format == "csv":
        raise InputError(
            "options.full", True, "False with CSV output: a whole result does not fit a CSV row"
        )
    if not isinstance(options.lenient_option, str):
        raise InputError("options.lenient_option", options.lenient_option, "a string")
    header = options.header
    if not (isinstance(header, tuple) and all(isinstance(h, str) for h in header)) or not (
        _valid_header(header)
    ):
        raise InputError(
            "options.header",
            header,
            f"a tuple of the columns {', '.join(COLUMNS)} (id required, each at most once), "
            "as read_records gives",
        )
    return options


def _evaluate_here(
    chunks: Iterator[list[Record]], options: Options, engine: Engine
) -> Iterator[Outcome]:
    csv_line = _CsvLine()
    for chunk in chunks:
        yield from _evaluate_records(chunk, options, engine, csv_line)


def _evaluate_in_workers(
    chunks: Iterator[list[Record]], options: Options, jobs: int
) -> Iterator[Outcome]:
    window = jobs * CHUNKS_PER_WORKER
    with ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=get_context("spawn"),
        initializer=_start_worker,
        initargs=(options,),
    ) as pool:
        pending: deque[Future[list[Outcome]]] = deque()
        try:
            for chunk in chunks:
                pending.append(pool.submit(_evaluate_chunk, chunk))
                if len(pending) > window:
                    yield from pending.popleft().result()
            while pending:
                yield from pending.popleft().result()
        except BrokenProcessPool as exc:
            raise EngineError(f"a batch worker process died: {exc}") from exc
        finally:
            for future in pending:
                future.cancel()


# -- the command -----------------------------------------------------------------------------


def add_parser(commands: Any) -> None:
    """Register ``pns-rules batch`` on the ``commands`` subparsers of ``pns-rules``."""
    batch = commands.add_parser(
        "batch",
        help="rank every patient of a cohort file (CSV or JSON Lines), on all cores",
        description="Rank paraneoplastic categories, syndromes and cancers for every row of a "
        "cohort file, streaming, in input order. Rows that cannot be evaluated go to the errors "
        f"file. Exit codes: 0 every row evaluated, {EXIT_ROWS_FAILED} some rows failed, "
        "2 bad arguments or input that is not the expected format, 1 rule-file or I/O error. "
        "Decision support, not a diagnosis.",
    )
    batch.add_argument("input", metavar="INPUT", help="a .csv or .jsonl file (optionally .gz)")
    batch.add_argument(
        "-o", "--output", required=True, metavar="OUTPUT", help="a .jsonl or .csv file to write"
    )
    batch.add_argument(
        "--format",
        type=str.lower,
        choices=FORMATS,
        help="output format, csv or jsonl, any case (default: by extension)",
    )
    batch.add_argument(
        "--input-format",
        type=str.lower,
        choices=FORMATS,
        help="input format, csv or jsonl, any case (default: by extension)",
    )
    batch.add_argument(
        "--errors", metavar="PATH", help="where bad rows go (default: OUTPUT.errors.jsonl)"
    )
    batch.add_argument(
        "--jobs",
        "-j",
        type=positive_int,
        default=os.cpu_count() or 1,
        help="worker processes (default: all cores)",
    )
    batch.add_argument(
        "--chunk-size", type=positive_int, default=CHUNK_SIZE, help=argparse.SUPPRESS
    )
    batch.add_argument(
        "--lenient",
        action="store_true",
        help="report unknown terms in each row's output instead of failing the row",
    )
    batch.add_argument(
        "--no-read-text",
        action="store_true",
        help="do not read free-text findings for the known terms they name (see docs/api.md)",
    )
    batch.add_argument(
        "--full",
        action="store_true",
        help="write each whole result (evidence, screening...; JSON Lines only)",
    )
    batch.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    batch.add_argument(
        "--rules", metavar="DIR", help="a rule directory instead of the shipped rules"
    )
    batch.set_defaults(handler=run)


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Run ``pns-rules batch``; returns 0, or :data:`EXIT_ROWS_FAILED` if any row failed."""
    _refuse_standard_streams(args)
    input_path = Path(args.input)
    output_path = Path(args.output)
    errors_path = Path(args.errors) if args.errors else Path(f"{args.output}.errors.jsonl")
    input_format = format_of(
        input_path, args.input_format, parameter="INPUT", option="--input-format"
    )
    output_format = format_of(output_path, args.format, parameter="--output", option="--format")
    if output_format == "csv" and args.full:
        raise InputError("--full", True, "JSON Lines output: a whole result does not fit a CSV row")
    if args.errors is None and _is_special(output_path):
        raise InputError(
            "--errors",
            None,
            f"a path, required when OUTPUT is not a regular file, as {str(output_path)!r} is "
            "not: the default OUTPUT.errors.jsonl cannot go beside it",
        )
    _check_distinct(
        [
            ("INPUT", input_path),
            ("--output", output_path),
            ("--errors" if args.errors else "the errors file (OUTPUT.errors.jsonl)", errors_path),
        ]
    )
    if args.rules is not None:
        Engine.from_directory(args.rules)  # a bad rule directory fails here, before any work
    with _open_input(input_path) as (text, position, size):
        header, records = read_records(text, input_format)
        options = Options(
            rules=args.rules,
            strict=not args.lenient,
            read_text=not args.no_read_text,
            full=args.full,
            output_format=output_format,
            header=header,
            lenient_option="--lenient",
        )
        read = [0]

        def counted(records: Iterator[Record]) -> Iterator[Record]:
            for record in records:
                read[0] += 1
                yield record

        progress = Progress(
            sys.stderr,
            size=size,
            position=position,
            rows_read=lambda: read[0],
            enabled=not args.quiet and _is_tty(),
        )
        failed = total = 0
        with _open_outputs(output_path, errors_path) as (output, errors):
            if output_format == "csv":
                output.write(",".join(OUTPUT_COLUMNS) + "\r\n")
            outcomes = evaluate(
                counted(records), options, jobs=args.jobs, chunk_size=args.chunk_size
            )
            for outcome in outcomes:
                total += 1
                if outcome.text is not None:
                    output.write(outcome.text)
                else:
                    failed += 1
                    errors.write(outcome.error or "")
                progress.update(total, failed)
        progress.finish(total, failed)
    if failed and not args.quiet:
        sys.stderr.write(
            f"pns-rules: {failed:,} of {total:,} rows could not be evaluated; see {errors_path}\n"
        )
    return EXIT_ROWS_FAILED if failed else 0


def _refuse_standard_streams(args: argparse.Namespace) -> None:
    """``-`` is not standard input or output here (rows go to workers, bad rows to a file): it
    would be a file named ``-``, so it is refused."""
    if args.input == "-":
        raise InputError(
            "INPUT",
            "-",
            "a file: batch does not read standard input (on Linux and macOS, /dev/stdin with "
            "--input-format reads a pipe)",
        )
    for option, value in (("--output", args.output), ("--errors", args.errors)):
        if value == "-":
            raise InputError(
                option,
                "-",
                "a file: batch does not write to standard output (on Linux and macOS, "
                "-o /dev/stdout with --format and --errors PATH writes to a pipe)",
            )


def _is_special(path: Path) -> bool:
    """Whether ``path`` is a device, a pipe, a directory..., or a name for one under ``/dev`` or
    ``/proc`` (``/dev/stdout`` is a regular file when the shell redirects it to one)."""
    if str(path.absolute()).startswith(("/dev/", "/proc/")):
        return True
    return path.exists() and not path.is_file()


def _check_distinct(paths: list[tuple[str, Path]]) -> None:
    """Refuse two of the input, output and errors files that are the same file, naming both."""
    seen: dict[Path, tuple[str, Path]] = {}
    for name, path in paths:
        resolved = path.resolve()
        if resolved in seen:
            first, first_path = seen[resolved]
            raise InputError(
                name,
                str(path),
                f"a different file from {first} ({str(first_path)!r}): input, output and errors "
                "must be different files",
            )
        seen[resolved] = (name, path)


def _is_tty() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


class _Input:
    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> tuple[TextIO, Callable[[], int], int | None]:
        self.raw: IO[bytes] = open(self.path, "rb")
        size = os.fstat(self.raw.fileno()).st_size or None
        binary: IO[bytes] = self.raw
        if self.path.name.lower().endswith(".gz"):
            binary = cast(IO[bytes], _GzipInput(self.path, self.raw))
        self.text = io.TextIOWrapper(
            binary, encoding="utf-8-sig", errors="surrogateescape", newline=""
        )
        return self.text, self.raw.tell, size

    def __exit__(self, *exc: object) -> None:
        self.text.close()
        self.raw.close()


class _GzipInput(gzip.GzipFile):
    """A gzipped input whose damage (cut short, corrupt, not gzip) is an :class:`OSError` naming
    the file, as any other input that cannot be read, not ``EOFError`` or ``zlib.error``."""

    def __init__(self, path: Path, raw: IO[bytes]) -> None:
        super().__init__(fileobj=raw, mode="rb")
        self._path = path

    def read(self, size: int | None = -1) -> bytes:
        try:
            return super().read(size)
        except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
            raise self._damaged(exc) from exc

    def read1(self, size: int = -1) -> bytes:
        try:
            return super().read1(size)
        except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
            raise self._damaged(exc) from exc

    def _damaged(self, exc: Exception) -> OSError:
        return OSError(f"{self._path}: not a readable gzip file, cut short or damaged ({exc})")


def _open_input(path: Path) -> _Input:
    return _Input(path)


def _open_output(path: Path) -> TextIO:
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "wt", encoding="utf-8", newline="")
    return open(path, "w", encoding="utf-8", newline="")


@contextlib.contextmanager
def _open_outputs(*paths: Path) -> Iterator[list[TextIO]]:
    """Every output opened for writing, truncated only once all of them could be opened: when one
    cannot be (a missing directory, a path under a regular file), the others are left as they
    were (an earlier run's results are not emptied) and the files this call created are removed.
    """
    held: list[int] = []
    created: list[Path] = []
    with contextlib.ExitStack() as stack:
        try:
            for path in paths:
                existed = os.path.lexists(path)
                held.append(os.open(path, os.O_WRONLY | os.O_CREAT | _CLOEXEC, 0o666))
                if not existed:
                    created.append(path)
            streams = [stack.enter_context(_open_output(path)) for path in paths]
        except BaseException:
            for path in created:
                with contextlib.suppress(OSError):
                    os.unlink(path)
            raise
        finally:
            for fd in held:
                os.close(fd)
        yield streams


_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


class Progress:
    """A one-line progress bar with rate and ETA on a terminal; silent when disabled.

    The share done is estimated from the share of the input read (``position() / size``), scaled
    by how many of the rows read so far are done (``rows_read``): rows are read ahead of results.
    """

    def __init__(
        self,
        stream: TextIO,
        *,
        size: int | None,
        position: Callable[[], int] | None,
        enabled: bool,
        rows_read: Callable[[], int] | None = None,
        interval: float = 0.2,
    ) -> None:
        self._stream = stream
        self._size = size
        self._position = position
        self._rows_read = rows_read
        self.enabled = enabled
        self._interval = interval
        self._start = time.monotonic()
        self._next = self._start + max(interval, 1.0)  # a rate and ETA need a second of data

    def update(self, rows: int, failed: int) -> None:
        """Show progress after ``rows`` rows (at most every ``interval`` seconds)."""
        if not self.enabled or rows == 0:
            return
        now = time.monotonic()
        if now < self._next:
            return
        self._next = now + self._interval
        self._draw(rows, failed, now, final=False)

    def finish(self, rows: int, failed: int) -> None:
        """Show the final counts and end the line."""
        if self.enabled:
            self._draw(rows, failed, time.monotonic(), final=True)
            self._stream.write("\n")
            self._stream.flush()

    def _draw(self, rows: int, failed: int, now: float, *, final: bool) -> None:
        elapsed = max(now - self._start, 1e-9)
        parts = [f"{rows:,} rows", f"{rows / elapsed:,.0f} rows/s"]
        if failed:
            parts.append(f"{failed:,} failed")
        if final:
            parts.append(f"done in {_clock(elapsed)}")
        elif self._size and self._position is not None:
            try:
                fraction = min(self._position() / self._size, 1.0)
            except (OSError, ValueError):
                fraction = 0.0
            read = self._rows_read() if self._rows_read is not None else 0
            if read > 0:
                fraction *= min(rows / read, 1.0)
            if fraction > 0:
                filled = int(fraction * 20)
                remaining = elapsed * (1 - fraction) / fraction
                parts.insert(0, f"[{'#' * filled}{'.' * (20 - filled)}] {fraction:4.0%}")
                parts.append(f"ETA {_clock(remaining)}")
        self._stream.write("\r" + "  ".join(parts) + "\033[K")
        self._stream.flush()


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds + 0.5), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:d}:{minutes:02d}:{secs:02d}"
