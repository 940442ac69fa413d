"""``pns-rules batch``: formats, order, bad rows, exit codes, streaming in constant memory."""

from __future__ import annotations

import csv
import gzip
import io
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from pns_rules import Engine, InputError, RuleFileError
from pns_rules.batch import (
    CHUNKS_PER_WORKER,
    EXIT_ROWS_FAILED,
    Options,
    Progress,
    evaluate,
    read_records,
    records_from_rows,
)
from pns_rules.cli import main
from pns_rules.cohort import (
    OUTPUT_COLUMNS,
    evaluate_row,
    patient_arguments,
    rank_row,
    summary,
    summary_fields,
    summary_json,
)
from tests.conftest import SLICE_RULES
from tests.strategies import patients

ROWS: list[dict[str, Any]] = [
    {"id": "a1", "age": 62, "sex": "female", "findings": ["ataxia", "nystagmus"], "antibodies": ["anti-Yo"]},
    {"id": "a2", "age": 2, "sex": None, "findings": ["opsoclonus", "myoclonus"], "antibodies": []},
    {"id": "a3", "age": None, "sex": "male", "findings": [], "antibodies": []},
    {"id": "a4", "age": 70, "sex": "male", "findings": ["hyponatremia", "confusion"], "antibodies": []},
    {"id": "a5", "age": 24.5, "sex": "female", "findings": ["psychosis", "seizure"], "antibodies": ["NMDAR"]},
]  # fmt: skip


def write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["id", "age", "sex", "findings", "antibodies"])
        for row in rows:
            age = row["age"]
            writer.writerow(
                [
                    row["id"],
                    "" if age is None else age,
                    row["sex"] or "",
                    ";".join(row["findings"]),
                    ";".join(row["antibodies"]),
                ]
            )


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")


def expected_json(engine: Engine, row: dict[str, Any], strict: bool = True) -> dict[str, Any]:
    arguments = {k: v for k, v in row.items() if k != "id"}
    return summary(row["id"], engine.suggest(**arguments, strict=strict))


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def batch(*args: str) -> int:
    return main(["batch", "--quiet", *args])


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_csv_in_jsonl_out_in_order_with_ids(tmp_path: Path, engine: Engine, jobs: str) -> None:
    rows = [dict(row, id=f"{row['id']}-{n}") for n in range(40) for row in ROWS]
    source = tmp_path / "cohort.csv"
    write_csv(source, rows)
    target = tmp_path / "out.jsonl"
    assert batch(str(source), "-o", str(target), "--jobs", jobs, "--chunk-size", "7") == 0
    assert read_jsonl(target) == [expected_json(engine, row) for row in rows]
    assert (tmp_path / "out.jsonl.errors.jsonl").read_text() == ""


def test_jsonl_in_csv_out(tmp_path: Path, engine: Engine) -> None:
    source = tmp_path / "cohort.jsonl"
    write_jsonl(source, ROWS)
    target = tmp_path / "out.csv"
    assert batch(str(source), "-o", str(target), "--jobs", "1") == 0
    with target.open(newline="", encoding="utf-8") as table:
        written = list(csv.DictReader(table))
    assert [r["id"] for r in written] == [r["id"] for r in ROWS]
    assert tuple(written[0]) == OUTPUT_COLUMNS
    for row, out in zip(ROWS, written, strict=True):
        result = engine.suggest(**{k: v for k, v in row.items() if k != "id"})
        assert list(out.values()) == summary_fields(row["id"], result)
        assert out["notice"] == "Decision support, not a diagnosis."
    assert written[0]["categories"].startswith("neurological:")


def test_jobs_2_gives_the_same_bytes_as_jobs_1(tmp_path: Path) -> None:
    rows = [dict(row, id=str(n)) for n in range(600) for row in ROWS[n % 5 : n % 5 + 1]]
    source = tmp_path / "cohort.jsonl"
    write_jsonl(source, rows)
    one, two = tmp_path / "one.csv", tmp_path / "two.csv"
    assert batch(str(source), "-o", str(one), "--jobs", "1", "--rules", str(SLICE_RULES)) == 0
    assert (
        batch(str(source), "-o", str(two), "--jobs", "2", "--chunk-size", "13", "--rules", str(SLICE_RULES))
        == 0
    )  # fmt: skip
    assert one.read_bytes() == two.read_bytes()
    with two.open(newline="") as table:
        assert [r["id"] for r in csv.DictReader(table)] == [str(n) for n in range(600)]


def test_bad_csv_rows_go_to_the_errors_file_with_row_numbers(tmp_path: Path) -> None:
    source = tmp_path / "cohort.csv"
    source.write_bytes(
        b"id,age,sex,findings,antibodies\n"
        b"ok1,60,female,ataxia;nystagmus,\n"  # row 1, line 2
        b"bad-term,60,,ataxia;atxia,\n"  # row 2: unknown finding
        b"bad-age,abc,,ataxia,\n"  # row 3: not a number
        b"old,200,,ataxia,\n"  # row 4: out of range
        b"short,60\n"  # row 5: too few fields
        b",60,,ataxia,\n"  # row 6: no id
        b"bad-utf8,60,,atax\xffia,\n"  # row 7: not UTF-8
        b"bad-sex,60,x,ataxia,\n"  # row 8: bad sex
        b'bad-quote,60,,"ataxia"x,\n'  # row 9: broken CSV quoting
        b"\n"  # a blank line is not a row
        b"ok2,,,,\n"  # row 10, line 12
    )
    target = tmp_path / "out.jsonl"
    errors = tmp_path / "bad.jsonl"
    code = batch(str(source), "-o", str(target), "--errors", str(errors), "--jobs", "1")
    assert code == EXIT_ROWS_FAILED
    assert [r["id"] for r in read_jsonl(target)] == ["ok1", "ok2"]
    failed = read_jsonl(errors)
    assert [(e["row"], e["line"]) for e in failed] == [(n, n + 1) for n in range(2, 10)]
    reasons = {e.get("id", f"row {e['row']}"): e["error"] for e in failed}
    assert "'atxia'" in reasons["bad-term"] and "did you mean" in reasons["bad-term"]
    assert "age 'abc' is not a number" in reasons["bad-age"]
    assert "age=200.0 is not valid" in reasons["old"]
    assert "expected 5 fields (id, age, sex, findings, antibodies), found 2" in reasons["short"]
    assert "id is missing" in reasons["row 6"]
    assert "not valid UTF-8" in reasons["bad-utf8"]
    assert "sex='x' is not valid" in reasons["bad-sex"]
    assert "broken CSV" in reasons["row 9"]


def test_bad_jsonl_rows_go_to_the_errors_file(tmp_path: Path) -> None:
    source = tmp_path / "cohort.jsonl"
    source.write_text(
        '{"id": "ok1", "findings": ["ataxia"]}\n'
        '{"id": "broken", "findings": [\n'
        "[1, 2]\n"
        '{"id": "extra", "findings": [], "weight": 70}\n'
        '{"id": "number", "findings": 5}\n'
        '{"id": 7, "findings": ["ataxia"], "age": "sixty"}\n'
        '{"id": true}\n'
        "\n"
        '{"id": 8, "findings": "ataxia; nystagmus", "age": 61}\n',
        encoding="utf-8",
    )
    target = tmp_path / "out.jsonl"
    assert batch(str(source), "-o", str(target), "--jobs", "1") == EXIT_ROWS_FAILED
    assert [r["id"] for r in read_jsonl(target)] == ["ok1", 8]
    failed = read_jsonl(tmp_path / "out.jsonl.errors.jsonl")
    assert [(e["row"], e["line"]) for e in failed] == [
        (2, 2),
        (3, 3),
        (4, 4),
        (5, 5),
        (6, 6),
        (7, 7),
    ]
    assert "not valid JSON" in failed[0]["error"]
    assert "must be an object" in failed[1]["error"]
    assert "unknown column(s) 'weight'" in failed[2]["error"]
    assert "findings must be a list" in failed[3]["error"]
    assert failed[4]["id"] == 7 and "not a number" in failed[4]["error"]
    assert "id must be a string or an integer" in failed[5]["error"]


@pytest.mark.parametrize("lenient", [False, True])
def test_lone_surrogates_from_json_escapes_are_row_errors(tmp_path: Path, lenient: bool) -> None:
    # "\ud800" is valid JSON but not text UTF-8 can hold: writing it stopped the whole batch.
    source = tmp_path / "cohort.jsonl"
    source.write_text(
        '{"id": "p1", "findings": ["ataxia"]}\n'
        '{"id": "\\ud800", "findings": ["ataxia"]}\n'
        '{"id": "p3", "findings": ["ataxia", "\\udc80x"]}\n'
        '{"id": "p4", "findings": ["\\ud83d\\ude00 ataxia"], "\\ud800": 1}\n'
        '{"id": "p5", "findings": ["nystagmus \\ud83d\\ude00"]}\n',
        encoding="utf-8",
    )
    target = tmp_path / "out.jsonl"
    flags = ["--lenient"] if lenient else []
    assert batch(str(source), "-o", str(target), "--jobs", "1", *flags) == EXIT_ROWS_FAILED
    assert [r["id"] for r in read_jsonl(target)] == ["p1", "p5"]  # an escaped pair is fine
    failed = read_jsonl(tmp_path / "out.jsonl.errors.jsonl")
    assert [(e["row"], e.get("id")) for e in failed] == [(2, None), (3, "p3"), (4, "p4")]
    assert failed[0]["error"].startswith("id '\\ud800' is not valid Unicode text (a lone surrogate")
    assert failed[1]["error"].startswith("findings '\\udc80x' is not valid Unicode text")
    assert failed[2]["error"] == "the column name '\\ud800' is not valid Unicode text"


def test_in_memory_rows_with_lone_surrogates_are_row_errors() -> None:
    rows = [{"id": "\ud800", "findings": ["ataxia"]}, {"id": "p2", "findings": ("x\udcff",)}]
    options = Options(rules=str(SLICE_RULES), strict=False)
    outcomes = list(evaluate(records_from_rows(rows), options))
    assert [o.text for o in outcomes] == [None, None]
    errors = [json.loads(o.error or "") for o in outcomes]
    assert "id" not in errors[0] and "id '\\ud800' is not valid Unicode" in errors[0]["error"]
    assert (
        errors[1]["id"] == "p2" and "findings 'x\\udcff' is not valid Unicode" in errors[1]["error"]
    )


def test_json_rows_with_nan_infinity_or_a_repeated_key_are_row_errors(tmp_path: Path) -> None:
    # Python's json reads NaN and Infinity, which JSON has not, and keeps the last of repeated
    # keys: the rows were evaluated with age unknown, or with one of two ids.
    source = tmp_path / "cohort.jsonl"
    source.write_text(
        '{"id": "p1", "age": NaN, "findings": ["ataxia"]}\n'
        '{"id": "p2", "age": Infinity, "findings": ["ataxia"]}\n'
        '{"id": "p3", "age": -Infinity}\n'
        '{"id": "p4", "findings": ["ataxia", NaN]}\n'
        '{"id": "p", "findings": ["ataxia"], "id": "q"}\n'
        '{"id": "p6", "age": 60, "age": 70}\n'
        '{"id": "p7", "findings": ["ataxia"], "age": null}\n'
        '{"id": "p8", "findings": [{"a": 1, "a": 1}]}\n'
        '{"id": "p9", "findings": ' + "[" * 100_000 + "]" * 100_000 + "}\n",
        encoding="utf-8",
    )
    target = tmp_path / "out.jsonl"
    assert batch(str(source), "-o", str(target), "--jobs", "1") == EXIT_ROWS_FAILED
    assert [r["id"] for r in read_jsonl(target)] == ["p7"]
    failed = read_jsonl(tmp_path / "out.jsonl.errors.jsonl")
    assert [e.get("id") for e in failed] == ["p1", "p2", "p3", "p4", None, "p6", "p8", None]
    assert [e["error"].split(" (")[0] for e in failed] == [
        "age NaN is not valid JSON",
        "age Infinity is not valid JSON",
        "age -Infinity is not valid JSON",
        "findings NaN is not valid JSON",
        "the key 'id' is given twice",
        "the key 'age' is given twice",
        "the key 'a' is given twice",
        "not valid JSON: nested too deeply",
    ]
    assert "write null for an unknown value" in failed[0]["error"]


def test_unknown_terms_in_the_errors_file_point_to_the_lenient_flag(tmp_path: Path) -> None:
    # The reason told command-line users to pass strict=False.
    source = tmp_path / "cohort.jsonl"
    write_jsonl(source, [{"id": "x", "findings": ["ataxia", "atxia"]}])
    target = tmp_path / "out.jsonl"
    assert batch(str(source), "-o", str(target), "--jobs", "1") == EXIT_ROWS_FAILED
    (failed,) = read_jsonl(tmp_path / "out.jsonl.errors.jsonl")
    assert failed["error"].startswith("findings: unknown term: 'atxia' (did you mean 'Ataxia'")
    assert failed["error"].endswith(
        "Use a label, synonym or HPO id from the vocabulary, or --lenient to report unknown "
        "terms in the result instead"
    )
    # From Python, the reason names strict=False, or what Options.lenient_option says.
    for options, named in ((Options(), "strict=False"), (Options(lenient_option="X"), "X")):
        (outcome,) = evaluate(records_from_rows([{"id": "x", "findings": ["atxia"]}]), options)
        assert f"vocabulary, or {named} to report" in json.loads(outcome.error or "")["error"]


def test_lenient_reports_unknown_terms_in_the_row(tmp_path: Path) -> None:
    source = tmp_path / "cohort.jsonl"
    write_jsonl(source, [{"id": "x", "findings": ["ataxia", "atxia"]}])
    target = tmp_path / "out.jsonl"
    assert batch(str(source), "-o", str(target), "--jobs", "1", "--lenient") == 0
    (row,) = read_jsonl(target)
    assert row["unrecognized"] == ["atxia"]
    assert row["syndromes"]


def test_full_results_and_gzip(tmp_path: Path, engine: Engine) -> None:
    source = tmp_path / "cohort.csv.gz"
    plain = tmp_path / "plain.csv"
    write_csv(plain, ROWS)
    source.write_bytes(gzip.compress(plain.read_bytes()))
    target = tmp_path / "out.jsonl.gz"
    assert batch(str(source), "-o", str(target), "--jobs", "1", "--full") == 0
    written = [json.loads(line) for line in gzip.decompress(target.read_bytes()).splitlines()]
    for row, out in zip(ROWS, written, strict=True):
        result = engine.suggest(**{k: v for k, v in row.items() if k != "id"})
        assert out == json.loads(json.dumps({"id": row["id"], **result.to_dict()}))


@pytest.mark.parametrize(
    ("args", "code", "fragment"),
    [
        (["missing.csv", "-o", "out.jsonl"], 1, "No such file"),
        (["in.txt", "-o", "out.jsonl"], 2, "a file ending in .csv"),
        (["noid.csv", "-o", "out.jsonl"], 2, "CSV header"),
        (["in.csv", "-o", "out.jsonl", "--jobs", "0"], 2, "positive whole number"),
        (["in.csv", "-o", "in.csv", "--format", "jsonl"], 2, "different files"),
        (["in.csv", "-o", "out.csv", "--full"], 2, "JSON Lines output"),
        (["in.csv", "-o", "out.jsonl", "--rules", "nowhere"], 1, "rule directory does not exist"),
        (["in.csv", "-o", "out.jsonl", "--rules", ""], 1, "empty path"),
    ],
)
def test_exit_codes_for_bad_arguments_and_unreadable_input(
    tmp_path: Path, args: list[str], code: int, fragment: str
) -> None:
    write_csv(tmp_path / "in.csv", ROWS)
    (tmp_path / "in.txt").write_text("id\n")
    (tmp_path / "noid.csv").write_text("name,age\nx,3\n")
    result = subprocess.run(
        [sys.executable, "-m", "pns_rules", "batch", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(),
    )
    assert result.returncode == code, result.stderr
    assert fragment in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("errors", ["afile/e.jsonl", ".", "out.jsonl.d"])
def test_an_errors_file_that_cannot_be_opened_leaves_the_output_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, errors: str
) -> None:
    # The output was truncated to 0 bytes before the errors file failed to open.
    monkeypatch.chdir(tmp_path)
    write_csv(tmp_path / "in.csv", ROWS)
    (tmp_path / "afile").write_text("a regular file, not a directory")
    (tmp_path / "out.jsonl.d").mkdir()
    (tmp_path / "out.jsonl").write_text('{"id": "earlier run"}\n')
    assert batch("in.csv", "-o", "out.jsonl", "--errors", errors, "--jobs", "1") == 1
    assert (tmp_path / "out.jsonl").read_text() == '{"id": "earlier run"}\n'
    # an output the failed run created is removed again
    assert batch("in.csv", "-o", "new.csv", "--errors", errors, "--jobs", "1") == 1
    assert not (tmp_path / "new.csv").exists()
    # once both open, both are written from the start
    (tmp_path / "e.jsonl").write_text("stale\n" * 100)
    assert batch("in.csv", "-o", "out.jsonl", "--errors", "e.jsonl", "--jobs", "1") == 0
    assert [row["id"] for row in read_jsonl(tmp_path / "out.jsonl")] == [r["id"] for r in ROWS]
    assert (tmp_path / "e.jsonl").read_text() == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["in.csv", "-o", "-", "--format", "jsonl"],
            "--output='-' is not valid: a file: batch does not write to standard output",
        ),
        (
            ["-", "-o", "out.jsonl"],
            "INPUT='-' is not valid: a file: batch does not read standard input",
        ),
        (["-", "-o", "out.jsonl", "--input-format", "csv"], "INPUT='-' is not valid"),
        (
            ["in.csv", "-o", "out.jsonl", "--errors", "-"],
            "--errors='-' is not valid: a file: batch does not write to standard output",
        ),
        (
            ["in.csv", "-o", "/dev/stdout", "--format", "jsonl"],
            "--errors=None is not valid: a path, required when OUTPUT is not a regular file, as "
            "'/dev/stdout' is not",
        ),
        (
            ["in.csv", "-o", "out.xml"],
            "--output='out.xml' is not valid: its extension '.xml' is not a known format: a file "
            "ending in .csv, .jsonl, .ndjson or .json (optionally .gz), or --format csv or jsonl "
            "to name the format",
        ),
        (
            ["in.txt", "-o", "out.jsonl"],
            "INPUT='in.txt' is not valid: its extension '.txt' is not a known format: a file "
            "ending in .csv, .jsonl, .ndjson or .json (optionally .gz), or --input-format csv or "
            "jsonl to name the format",
        ),
        (["in.csv", "-o", "out"], "--output='out' is not valid: it has no extension: "),
        (
            ["in.csv", "-o", "out.jsonl", "--errors", "in.csv"],
            "--errors='in.csv' is not valid: a different file from INPUT ('in.csv'): input, "
            "output and errors must be different files",
        ),
        (
            ["in.csv", "-o", "./in.csv"],
            "--output='in.csv' is not valid: a different file from INPUT ('in.csv')",
        ),
        (
            ["in.csv", "-o", "out.jsonl", "--errors", "out.jsonl"],
            "--errors='out.jsonl' is not valid: a different file from --output ('out.jsonl')",
        ),
        (
            ["out.jsonl.errors.jsonl", "-o", "out.jsonl"],
            "the errors file (OUTPUT.errors.jsonl)='out.jsonl.errors.jsonl' is not valid: a "
            "different file from INPUT ('out.jsonl.errors.jsonl')",
        ),
    ],
)
def test_standard_streams_formats_and_clashing_paths_are_refused_by_name(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    # "-o -" wrote files named "-" and "-.errors.jsonl"; "-o /dev/stdout" made
    # /dev/stdout.errors.jsonl; "--errors" equal to the input named the output path; an unknown
    # extension was "format='out.xml'".
    monkeypatch.chdir(tmp_path)
    write_csv(tmp_path / "in.csv", ROWS)
    (tmp_path / "in.txt").write_text("id\n")
    write_jsonl(tmp_path / "out.jsonl.errors.jsonl", ROWS)
    assert batch(*args, "--jobs", "1") == 2
    err = capsys.readouterr().err
    assert err.startswith(f"pns-rules: error: {message}"), err
    assert len(err.splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "in.csv",
        "in.txt",
        "out.jsonl.errors.jsonl",
    ]


@pytest.mark.skipif(not Path("/dev/stdin").exists(), reason="no /dev/stdin")
def test_pipes_through_dev_stdin_and_dev_stdout(tmp_path: Path) -> None:
    write_csv(tmp_path / "in.csv", ROWS)
    pipe_in = ["/dev/stdin", "--input-format", "csv"]
    pipe_out = ["-o", "/dev/stdout", "--format", "jsonl", "--errors", "e.jsonl"]
    result = subprocess.run(
        [sys.executable, "-m", "pns_rules", "batch", *pipe_in, *pipe_out, "--jobs", "1"],
        input=(tmp_path / "in.csv").read_text(),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(),
    )
    assert result.returncode == 0, result.stderr
    assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == [
        r["id"] for r in ROWS
    ]
    assert (tmp_path / "e.jsonl").read_text() == ""


ONE_ROW = [{"id": "p", "findings": ["ataxia"]}]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"jobs": "2"}, "jobs='2' is not valid: a whole number of at least 1"),
        ({"jobs": 1.5}, "jobs=1.5 is not valid: a whole number of at least 1"),
        ({"jobs": True}, "jobs=True is not valid"),
        ({"chunk_size": 0}, "chunk_size=0 is not valid: a whole number of at least 1"),
        ({"options": {"strict": False}}, "options={'strict': False} is not valid: a pns_rules.batch.Options"),
        ({"options": Options(output_format="xml")}, "options.output_format='xml' is not valid: one of 'csv', 'jsonl'"),
        ({"options": Options(output_format="csv", full=True)}, "options.full=True is not valid: False with CSV output"),
        ({"options": Options(strict="yes")}, "options.strict='yes' is not valid: True or False"),  # type: ignore[arg-type]
        ({"options": Options(read_text=None)}, "options.read_text=None is not valid: True or False"),  # type: ignore[arg-type]
        ({"options": Options(header=("age", "findings"))}, "options.header=('age', 'findings') is not valid: a tuple of the columns"),
        ({"records": None}, "records=None is not valid: an iterable of records"),
        ({"records": 5}, "records=5 is not valid: an iterable of records"),
    ],
)  # fmt: skip
def test_evaluate_refuses_bad_arguments_at_once(arguments: dict[str, Any], message: str) -> None:
    # They raised TypeError, or were used as they were: output_format="xml" wrote JSON Lines.
    records = arguments.pop("records", records_from_rows(ONE_ROW))
    with pytest.raises(InputError) as raised:
        evaluate(records, **arguments)  # not iterated: raised by the call itself
    assert str(raised.value).startswith(message)


def test_evaluate_refuses_items_that_are_not_records() -> None:
    with pytest.raises(
        InputError, match=r"^records\[0\]=1 is not valid: a record from read_records"
    ):
        list(evaluate([1, 2, 3]))  # type: ignore[list-item]


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_bad_or_empty_rules_path_is_a_rule_file_error_not_the_shipped_rules(jobs: int) -> None:
    # rules="" evaluated with the shipped rules; a bad directory with jobs=2 killed the workers
    # (EngineError: a batch worker process died).
    for rules, fragment in (("", "empty path"), ("/nonexistent/rules", "does not exist")):
        with pytest.raises(RuleFileError, match=fragment):
            evaluate(records_from_rows(ONE_ROW), Options(rules=rules), jobs=jobs)


def test_two_batches_in_one_process_keep_their_own_options() -> None:
    # With jobs=1 the options were module state: the batch started last set them for both.
    rows = ONE_ROW * 3
    as_csv = evaluate(records_from_rows(rows), Options(output_format="csv"), chunk_size=1)
    as_json = evaluate(records_from_rows(rows), Options(output_format="jsonl"), chunk_size=1)
    for csv_outcome, json_outcome in zip(as_csv, as_json, strict=True):
        assert (csv_outcome.text or "").startswith("p,low,neurological:")
        assert json.loads(json_outcome.text or "")["id"] == "p"


@pytest.mark.parametrize(
    "rows", [None, 5, "p1", b"p1", {"id": "p", "findings": ["ataxia"]}], ids=repr
)
def test_records_from_rows_refuses_what_is_not_an_iterable_of_rows(rows: Any) -> None:
    with pytest.raises(
        InputError, match=r"^rows=.* is not valid: an iterable of rows, each a mapping"
    ):
        records_from_rows(rows)


def test_read_records_refuses_an_unknown_format_or_a_binary_stream() -> None:
    # "xml" was read as CSV.
    with pytest.raises(InputError, match=r"^fmt='xml' is not valid: one of 'csv', 'jsonl'"):
        read_records(io.StringIO("id\np1\n"), "xml")
    for stream in (io.BytesIO(b"id\np1\n"), "id\np1\n"):
        with pytest.raises(InputError, match=r"^text=.* is not valid: a text stream"):
            read_records(stream, "jsonl")  # type: ignore[arg-type]


def test_cohort_functions_refuse_what_is_not_an_engine_a_row_or_a_result(engine: Engine) -> None:
    ranking = engine.ranking(["ataxia"])
    calls: list[tuple[Callable[[], object], str]] = [
        (lambda: rank_row(None, ONE_ROW[0]), "engine=None is not valid: a pns_rules.Engine"),  # type: ignore[arg-type]
        (lambda: evaluate_row(engine, None), "row=None is not valid: a mapping of columns"),  # type: ignore[arg-type]
        (lambda: rank_row(engine, [("id", "p")]), "row=[('id', 'p')] is not valid: a mapping"),  # type: ignore[arg-type]
        (lambda: patient_arguments(None), "row=None is not valid: a mapping of columns"),  # type: ignore[arg-type]
        (lambda: summary("p", None), "result=None is not valid: a Differential or a Ranking"),  # type: ignore[arg-type]
        (lambda: summary_json("p", None), "result=None is not valid"),  # type: ignore[arg-type]
        (lambda: summary_fields("p", {"top_level": None}), "result={'top_level'"),  # type: ignore[arg-type]
        (lambda: summary_json(object(), ranking), "row_id=<object object at"),  # type: ignore[arg-type]
        (lambda: summary_fields(None, ranking), "row_id=None is not valid: a string or an integer"),  # type: ignore[arg-type]
    ]  # fmt: skip
    for call, message in calls:
        with pytest.raises(InputError) as raised:
            call()
        assert str(raised.value).startswith(message)


def _damaged(data: bytes, how: str) -> bytes:
    if how == "cut short":
        return data[: len(data) // 2]
    if how == "not gzip":
        return b"id,findings\np1,ataxia\n"
    flipped = bytearray(data)
    flipped[12 if how == "corrupt" else -6] ^= 0xFF  # the deflate data, or its checksum
    return bytes(flipped)


@pytest.mark.parametrize("how", ["cut short", "corrupt", "checksum", "not gzip"])
def test_a_damaged_gzip_input_is_an_io_error_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], how: str
) -> None:
    # EOFError and zlib.error were reported as a bug in pns-rules (exit 3).
    plain = tmp_path / "plain.csv"
    write_csv(plain, ROWS * 10)
    source = tmp_path / "cohort.csv.gz"
    source.write_bytes(_damaged(gzip.compress(plain.read_bytes()), how))
    assert batch(str(source), "-o", str(tmp_path / "out.jsonl"), "--jobs", "1") == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(
        f"pns-rules: error: {source}: not a readable gzip file, cut short or damaged ("
    )


def test_progress_is_quiet_when_stderr_is_not_a_terminal(tmp_path: Path) -> None:
    source = tmp_path / "cohort.csv"
    write_csv(source, ROWS * 20)
    result = subprocess.run(
        [sys.executable, "-m", "pns_rules", "batch", str(source), "-o", str(tmp_path / "o.jsonl")],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(),
    )
    assert result.returncode == 0
    assert result.stderr == ""
    assert result.stdout == ""


def test_progress_bar_shows_rate_and_eta() -> None:
    stream = io.StringIO()
    progress = Progress(
        stream, size=1000, position=lambda: 500, rows_read=lambda: 1000, enabled=True, interval=0.0
    )
    progress.update(500, 2)  # within the first second: nothing yet
    assert stream.getvalue() == ""
    progress._next = 0.0
    progress.update(500, 2)  # half the file read, half of what was read done: a quarter
    progress.finish(2000, 2)
    text = stream.getvalue()
    assert "\r[#####..............." in text and "25%" in text
    assert "500 rows" in text and "rows/s" in text and "ETA" in text and "2 failed" in text
    assert "2,000 rows" in text and "done in" in text and text.endswith("\n")
    silent = io.StringIO()
    Progress(silent, size=None, position=None, enabled=False).update(5, 0)
    assert silent.getvalue() == ""


def _many_rows(count: int, pulled: list[int]) -> Iterator[dict[str, Any]]:
    for number in range(count):
        pulled[0] += 1
        yield dict(ROWS[number % len(ROWS)], id=str(number))


@pytest.mark.parametrize("jobs", [1, 2])
def test_streams_in_constant_memory(jobs: int) -> None:
    """Rows are pulled only as fast as results are consumed: never more than a bounded window."""
    count, chunk = 3000, 25
    pulled = [0]
    bound = chunk * (jobs * CHUNKS_PER_WORKER + 2)
    consumed = 0
    ahead = 0
    options = Options(rules=str(SLICE_RULES))
    for outcome in evaluate(
        records_from_rows(_many_rows(count, pulled)), options, jobs=jobs, chunk_size=chunk
    ):
        consumed += 1
        assert outcome.text is not None and outcome.row == consumed
        ahead = max(ahead, pulled[0] - consumed)
        assert pulled[0] - consumed <= bound
    assert consumed == count
    assert ahead >= chunk - 1  # it did read ahead, in chunks


ENGINE = Engine.shipped()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(patients(ENGINE.knowledge_base))
def test_ranking_and_fast_json_summary_equal_the_full_result(patient: dict[str, Any]) -> None:
    """Cohorts use Engine.ranking and summary_json: exactly what suggest() and json.dumps give."""
    result = ENGINE.suggest(**patient)
    ranking = ENGINE.ranking(**patient)
    assert ranking.top_level == result.top_level
    assert summary("p", ranking) == summary("p", result)
    for row_id in ("p1", 17, 'q"u\u00f6te', "tab\there", "line\u2028sep", "back\\slash", "\x7f"):
        expected = json.dumps(summary(row_id, result), ensure_ascii=False)
        assert summary_json(row_id, ranking) == expected
        assert summary_json(row_id, result) == expected
        assert summary_fields(row_id, ranking) == summary_fields(row_id, result)


def _env() -> dict[str, str]:
    import os

    root = str(Path(__file__).resolve().parents[1])
    return dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
