"""The pns-rules command line, run as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pns_rules.cli import main


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
        (["suggest", "--sex", "x", "ataxia"], "invalid choice"),
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
