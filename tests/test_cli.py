"""The pns-rules command line, run as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pns_rules import Engine, __version__
from pns_rules.cli import build_parser, main


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pns_rules.cli", *args], capture_output=True, text=True, timeout=120
    )


def test_suggest_prints_a_ranked_table_with_reasons(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["suggest", "--age", "62", "--sex", "female", "ataxia", "nystagmus", "slurred speech"]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "Decision support, not a diagnosis" in out
    assert "1. neurological" in out
    assert "Paraneoplastic cerebellar degeneration" in out
    assert "why:" in out and "PMID:34006622" in out
    assert "screen: Transvaginal" in out or "screen: Mammography" in out
    assert "slurred speech -> Dysarthria" in out


def test_suggest_json(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["suggest", "--json", "--age", "2", "opsoclonus", "myoclonus"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0
    assert data["cancers"][0]["id"] == "neuroblastoma"
    assert data["rule_base"]["version"]


def test_antibodies_and_lenient(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["suggest", "--lenient", "-a", "anti-Yo", "--sex", "female", "ataxia", "atxia"])
    out = capsys.readouterr().out
    assert code == 0
    assert "Not recognised: 'atxia' (did you mean Ataxia" in out


def test_empty_differential_is_said_plainly(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["suggest", "--age", "30"]) == 0
    assert "No paraneoplastic syndrome is suggested" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["suggest", "atxia"], "unknown term: 'atxia' (did you mean 'Ataxia'"),
        (["suggest", "--age", "200", "ataxia"], "age=200.0 is not valid"),
        (["suggest", "--age", "old", "ataxia"], "age must be a number"),
        (
            ["suggest", "--sex", "x", "ataxia"],
            "argument --sex: sex must be female or male (any case), got 'x'",
        ),
        (["frobnicate"], "invalid choice"),
        (["suggest", "--rules", "/nonexistent/dir", "ataxia"], "rule directory does not exist"),
    ],
)
def test_errors_are_one_line_without_traceback(args: list[str], fragment: str) -> None:
    result = run(*args)
    assert result.returncode in (1, 2)
    assert fragment in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("given", ["Female", "FEMALE", " female "])
def test_sex_is_taken_in_any_case_as_by_suggest(
    capsys: pytest.CaptureFixture[str], given: str
) -> None:
    # "--sex Female" was refused as an invalid choice though suggest(sex="Female") is fine.
    assert main(["suggest", "--json", "--sex", given, "ataxia"]) == 0
    assert json.loads(capsys.readouterr().out)["sex"] == "female"


def test_choices_of_batch_and_serve_are_taken_in_any_case() -> None:
    batch = build_parser().parse_args(
        ["batch", "in.CSV", "-o", "o", "--format", "JSONL", "--input-format", "Csv"]
    )
    assert (batch.format, batch.input_format) == ("jsonl", "csv")
    assert build_parser().parse_args(["serve", "--log-level", "WARNING"]).log_level == "warning"
    # check refused "--format JSON" while batch and serve took any case
    assert build_parser().parse_args(["check", "--format", "JSON"]).format == "json"


def test_check_format_is_taken_in_any_case(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--format", "Json"]) == 0
    assert json.loads(capsys.readouterr().out)["ok"] is True


def test_version_names_the_package_and_the_shipped_rule_base(engine: Engine) -> None:
    # "--version" was refused: "the following arguments are required: COMMAND"
    result = run("--version")
    kb = engine.knowledge_base
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"pns-rules {__version__} (rule base {kb.version}: {kb.name})\n"
    assert result.stderr == ""


def test_unknown_terms_point_to_the_lenient_flag_not_to_strict_false() -> None:
    line = run("suggest", "ataxia", "atxia").stderr.strip()
    assert line.startswith(
        "pns-rules: error: findings: unknown term: 'atxia' (did you mean 'Ataxia'"
    )
    assert line.endswith(
        "Use a label, synonym or HPO id from the vocabulary, or --lenient to report unknown terms "
        "in the result instead"
    )
    assert "strict=False" not in line


def test_debug_shows_the_traceback() -> None:
    result = run("--debug", "suggest", "atxia")
    assert result.returncode != 0
    assert "Traceback" in result.stderr


def test_console_script_is_installed() -> None:
    script = Path(sys.executable).parent / "pns-rules"
    if not script.exists():
        pytest.skip("pns-rules is not installed as a console script in this environment")
    result = subprocess.run(
        [str(script), "suggest", "ataxia", "nystagmus"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0
    assert "neurological" in result.stdout


def test_an_hpo_term_no_rule_uses_is_shown_as_such(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["suggest", "--age", "62", "ataxia", "HP:0000400"]) == 0  # Macrotia
    out = capsys.readouterr().out
    assert "HP:0000400 -> Macrotia (no rule uses it)" in out
    assert "Ataxia (no rule uses it)" not in out
    assert "1 finding is a current HPO term that no rule uses (Macrotia)" in out
