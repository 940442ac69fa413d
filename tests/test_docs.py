"""docs/curating.md runs as written: its files are written, its commands run and print what it shows.

In the doc, ``<!-- file: PATH -->`` before a code block writes the block to PATH, and ``<!-- run -->``
(or ``<!-- run: exit N -->``) before a ``console`` block runs each ``$`` command in a scratch folder
and requires the lines after it in the output, in order; a line ``...`` stands for any lines and
``...`` inside a line for any text.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from pns_rules.consistency import CODES
from pns_rules.loader import load_rule_directory, shipped_rules_directory
from pns_rules.vocabulary import normalize_term

ROOT = Path(__file__).resolve().parents[1]
CURATING = ROOT / "docs" / "curating.md"
_DIRECTIVE = re.compile(r"^<!-- (file: (?P<path>\S+)|run(?::\s*exit (?P<exit>\d+))?) -->$")


def _steps(text: str) -> list[tuple[str, str, str]]:
    """(kind, argument, block) for every directive: ("file", path, content) or ("run", exit, block)."""
    steps = []
    lines = text.splitlines()
    for index, line in enumerate(lines):
        match = _DIRECTIVE.match(line)
        if not match:
            continue
        assert lines[index + 1].startswith("```"), f"line {index + 2}: a code block must follow"
        end = lines.index("```", index + 2)
        block = "\n".join(lines[index + 2 : end]) + "\n"
        if match["path"]:
            steps.append(("file", match["path"], block))
        else:
            steps.append(("run", match["exit"] or "0", block))
    return steps


def _commands(block: str) -> list[tuple[str, list[str]]]:
    commands: list[tuple[str, list[str]]] = []
    for line in block.splitlines():
        if line.startswith("$ "):
            commands.append((line[2:], []))
        else:
            assert commands, f"output before any command: {line!r}"
            commands[-1][1].append(line)
    return commands


def _pattern(expected: list[str]) -> re.Pattern[str]:
    parts = [
        r"(?:[^\n]*\n)*?"
        if line == "..."
        else re.escape(line).replace(re.escape("..."), r"[^\n]*") + r"\n"
        for line in expected
    ]
    return re.compile("".join(parts))


def _shell(command: str) -> str:
    python = f'"{sys.executable}"'
    command = re.sub(r"^pns-rules\b", f"{python} -m pns_rules", command)
    return re.sub(r"^python\b", python, command)


@pytest.mark.slow
def test_the_curating_walkthrough_runs(tmp_path: Path) -> None:
    steps = _steps(CURATING.read_text(encoding="utf-8"))
    assert [kind for kind, _, _ in steps].count("run") >= 5
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "100"}
    for kind, argument, block in steps:
        if kind == "file":
            target = tmp_path / argument
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(block, encoding="utf-8")
            continue
        for command, expected in _commands(block):
            result = subprocess.run(
                _shell(command),
                shell=True,
                cwd=tmp_path,
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
            )
            output = result.stdout.rstrip("\n") + "\n" if result.stdout else ""
            assert result.returncode == int(argument), (command, output, result.stderr)
            if expected:
                assert _pattern(expected).fullmatch(output), (command, output)


def test_the_walkthrough_adds_what_the_shipped_rules_do_not_have() -> None:
    kb = load_rule_directory(shipped_rules_directory())
    clashes = []
    for kind, path, block in _steps(CURATING.read_text(encoding="utf-8")):
        if kind != "file" or not path.endswith(".toml"):
            continue
        data = tomllib.loads(block)
        for entry_kind, table in (
            ("finding", kb.findings),
            ("syndrome", kb.syndromes),
            ("rule", kb.rules),
        ):
            clashes += [
                f"{entry_kind} {e['id']}" for e in data.get(entry_kind, []) if e["id"] in table
            ]
        for finding in data.get("finding", []):
            for name in (finding["label"], *finding.get("synonyms", [])):
                if normalize_term(name) in kb.suggestion_keys:
                    clashes.append(f"finding name {name!r}")
    assert not clashes, (
        f"the shipped rules now have {', '.join(clashes)}: docs/curating.md must add something "
        "they do not have (pick another syndrome for the walkthrough)"
    )


def test_every_check_code_is_documented() -> None:
    text = CURATING.read_text(encoding="utf-8")
    for code in CODES:
        assert f"| `{code}` |" in text, code


def test_no_merge_conflict_markers_are_committed() -> None:
    """A merge resolved by hand must not leave its markers in any text file of the project."""
    root = Path(__file__).resolve().parents[1]
    marker = re.compile(r"^(<{7}|>{7})( |$)|^={7}$", re.MULTILINE)
    suffixes = {".md", ".py", ".toml", ".json", ".cfg", ".txt", ".yml", ".yaml"}
    folders = ["pns_rules", "rules", "tests", "docs", "scripts", "benchmarks", ".ci"]
    paths = [root / "README.md", root / "pyproject.toml"]
    for folder in folders:
        paths += [p for p in (root / folder).rglob("*") if p.suffix in suffixes or folder == ".ci"]
    found = [
        str(p.relative_to(root))
        for p in paths
        if p.is_file() and marker.search(p.read_text(encoding="utf-8", errors="replace"))
    ]
    assert not found, f"merge conflict markers in {found}"
