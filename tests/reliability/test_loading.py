"""Rule loading under generated damage: every broken rule directory is a RuleFileError naming a
file of the directory (and a line within it, when there is one), never another exception, never
a half-loaded engine.

The damage is done to ``tests/data/tiny-rules``: bytes cut, overwritten or inserted; entries
rewritten with values of the wrong type; files deleted, emptied, renamed, re-encoded or replaced
by directories and dangling or odd symbolic links; the HPO map rewritten. (FIFOs are tested in
``tests/test_regressions.py``, in a child process with a timeout, since a regression would block.)
"""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import os
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pns_rules import Engine, RuleFileError
from pns_rules.loader import Problem
from tests.reliability import count, profile
from tests.reliability.checks import check_differential
from tests.strategies import unicode_text

TINY = Path(__file__).resolve().parents[1] / "data" / "tiny-rules"
FILES = {path.name: path.read_bytes() for path in sorted(TINY.iterdir())}
TOML_FILES = sorted(name for name in FILES if name.endswith(".toml"))
_RUNS = itertools.count()


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("damaged")


# -- a small TOML writer, to rewrite entries with values of any type -----------------------------
def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)  # JSON escapes are TOML escapes (a lone surrogate is refused)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return (
            "{ " + ", ".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items()) + " }"
        )
    raise TypeError(type(value))


def write_toml(data: dict[str, Any]) -> str:
    """TOML for ``data``: scalars and inline values first, then arrays of tables."""
    lines = []
    tables = []
    for key, value in data.items():
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            tables.append((key, value))
        else:
            lines.append(f"{json.dumps(key)} = {_toml_value(value)}")
    for key, entries in tables:
        for entry in entries:
            lines.append(f"\n[[{key}]]")
            lines.extend(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in entry.items())
    return "\n".join(lines) + "\n"


toml_scalars = st.one_of(
    unicode_text,
    st.sampled_from(["", "PMID:1", "PMID:", "DOI:10.1/x", "Ataxia", "tiny-cancer", "female"]),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(),
    st.booleans(),
)
toml_values = st.recursive(
    toml_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(unicode_text, inner, max_size=3)
    ),
    max_leaves=8,
)


# -- damage ---------------------------------------------------------------------------------------
Damage = Callable[[Path], None]


def _cut(name: str, fraction: float) -> Damage:
    def damage(directory: Path) -> None:
        data = (directory / name).read_bytes()
        (directory / name).write_bytes(data[: int(len(data) * fraction)])

    return damage


def _overwrite(name: str, fraction: float, junk: bytes) -> Damage:
    def damage(directory: Path) -> None:
        data = (directory / name).read_bytes()
        at = int(len(data) * fraction)
        (directory / name).write_bytes(data[:at] + junk + data[at + len(junk) :])

    return damage


def _insert(name: str, fraction: float, junk: bytes) -> Damage:
    def damage(directory: Path) -> None:
        data = (directory / name).read_bytes()
        at = int(len(data) * fraction)
        (directory / name).write_bytes(data[:at] + junk + data[at:])

    return damage


def _rewrite_entry(name: str, kind_index: int, key: str, value: Any, remove: bool) -> Damage:
    def damage(directory: Path) -> None:
        data = tomllib.loads((directory / name).read_text())
        tables = [
            k for k, v in data.items() if isinstance(v, list) and v and isinstance(v[0], dict)
        ] or [None]
        kind = tables[kind_index % len(tables)]
        entry = data if kind is None else data[kind][kind_index % len(data[kind])]
        keys = sorted(entry)
        target = key if key not in ("", "*") or not keys else keys[kind_index % len(keys)]
        if remove:
            entry.pop(target, None)
        else:
            entry[target] = value
        (directory / name).write_text(write_toml(data))

    return damage


def _duplicate_entry(name: str, index: int) -> Damage:
    def damage(directory: Path) -> None:
        data = tomllib.loads((directory / name).read_text())
        for entries in data.values():
            if isinstance(entries, list) and entries:
                entries.append(dict(entries[index % len(entries)]))
                break
        (directory / name).write_text(write_toml(data))

    return damage


def _file(name: str, how: str) -> Damage:
    def damage(directory: Path) -> None:
        path = directory / name
        if how == "delete":
            path.unlink()
        elif how == "empty":
            path.write_bytes(b"")
        elif how == "directory":
            path.unlink()
            path.mkdir()
        elif how == "dangling":
            path.unlink()
            path.symlink_to(directory / "missing")
        elif how == "loop":
            path.unlink()
            path.symlink_to(path)
        elif how == "to-directory":
            path.unlink()
            path.symlink_to(directory)
        elif how == "to-device":
            path.unlink()
            path.symlink_to(os.devnull)
        elif how == "upper":
            path.rename(path.with_suffix(path.suffix.upper()))
        elif how == "utf-16":
            path.write_bytes(path.read_text().encode("utf-16"))
        elif how == "latin-1":
            path.write_bytes(path.read_bytes() + "# café\n".encode("latin-1"))
        elif how == "bom":
            path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())

    return damage


def _new_file(name: str, content: bytes) -> Damage:
    def damage(directory: Path) -> None:
        (directory / name).write_bytes(content)

    return damage


def _hpo_map(value: Any) -> Damage:
    def damage(directory: Path) -> None:
        (directory / "hpo-map.json").write_text(json.dumps(value))

    return damage


names = st.sampled_from(sorted(FILES))
fractions = st.floats(min_value=0, max_value=1)
junk = st.one_of(
    st.binary(min_size=1, max_size=40),
    unicode_text.map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.sampled_from([b"[[", b"]]", b"=", b'"', b"\n[[rule]]\n", b"\x00", b"\xff\xfe", b"'''"]),
)
hpo_values = st.one_of(
    toml_values,
    st.fixed_dictionaries(
        {"hpo_release": toml_values, "terms": toml_values},
        optional={"obsolete": toml_values},
    ),
    st.fixed_dictionaries(
        {
            "hpo_release": st.just("r"),
            "terms": st.dictionaries(
                st.sampled_from(["HP:0002066", "HP:0001251", "HP:1234567", "gait", ""]),
                st.fixed_dictionaries(
                    {"label": toml_values, "maps_to": toml_values},
                    optional={"synonyms": toml_values, "label_ambiguous": toml_values},
                ),
                max_size=3,
            ),
            "obsolete": st.dictionaries(
                st.sampled_from(["HP:0000001", "HP:0002066", "HP:0001251", "x"]),
                st.one_of(st.sampled_from(["HP:0002066", "HP:0000001", "HP:0009999"]), toml_values),
                max_size=3,
            ),
        }
    ),
)
damages = st.one_of(
    st.builds(_cut, names, fractions),
    st.builds(_overwrite, names, fractions, junk),
    st.builds(_insert, names, fractions, junk),
    st.builds(
        _rewrite_entry,
        st.sampled_from(TOML_FILES),
        st.integers(0, 20),
        st.sampled_from(
            ["", "*", "id", "weight", "all", "any", "at_least", "age", "sex", "cancers"]
        ),
        toml_values,
        st.booleans(),
    ),
    st.builds(_duplicate_entry, st.sampled_from(TOML_FILES), st.integers(0, 20)),
    st.builds(
        _file,
        names,
        st.sampled_from(
            [
                "delete",
                "empty",
                "directory",
                "dangling",
                "loop",
                "to-directory",
                "to-device",
                "upper",
                "utf-16",
                "latin-1",
                "bom",
            ]
        ),
    ),
    st.builds(
        _new_file,
        st.sampled_from(["extra.toml", ".hidden.toml", "extra.TOML", "notes.txt"]),
        st.one_of(junk, toml_values.map(lambda v: write_toml({"rule": [{"id": v}]}).encode())),
    ),
    st.builds(_hpo_map, hpo_values),
)


def _check_problem(directory: Path, path: str, line: int | None) -> None:
    assert path == str(directory) or path.startswith(f"{directory}{os.sep}"), path
    if line is not None:
        assert line >= 1
        file = Path(path)
        if file.is_file():
            assert line <= file.read_bytes().count(b"\n") + 1, (path, line)


@profile("loading")
@given(damage=st.lists(damages, min_size=1, max_size=3))
def test_damaged_rule_directories_load_fully_or_raise_a_rule_file_error(
    workspace: Path, damage: list[Damage]
) -> None:
    count("Engine.from_directory / load_rule_directory")
    directory = workspace / f"run-{next(_RUNS)}"
    directory.mkdir()
    for name, data in FILES.items():
        (directory / name).write_bytes(data)
    for step in damage:
        # A step may not apply (its file is already gone, or no longer TOML): skip it.
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError, IndexError):
            step(directory)
    try:
        engine = Engine.from_directory(directory)
    except RuleFileError as error:
        assert isinstance(error, ValueError)
        _check_problem(directory, error.path, error.line)
        problems = error.problems  # type: ignore[attr-defined]
        assert problems and all(type(p) is Problem for p in problems)
        for problem in problems:
            _check_problem(directory, problem.path, problem.line)
        assert str(error)
        return
    # Loaded: then completely, and it works.
    kb = engine.knowledge_base
    names = [f.label for f in kb.findings.values()]
    for age, sex in ((None, None), (30, "female"), (70, "male")):
        check_differential(kb, engine.suggest(names, age=age, sex=sex), names)
    assert engine._evaluator.held_states() == []


def _huge(directory: Path) -> None:
    with (directory / "huge.toml").open("wb") as handle:
        handle.truncate(17 * 1024 * 1024)  # sparse: nothing is written


def _unreadable(directory: Path) -> None:
    (directory / "entries.toml").chmod(0)


NAMED_CASES: list[tuple[str, Damage, str, str]] = [
    ("missing directory", lambda d: _remove_tree(d), "", "E001: rule directory does not exist"),
    ("a file over 16 MB", _huge, "huge.toml", "E003: file is 17,825,792 bytes"),
    ("a binary file", _new_file("x.toml", bytes(range(256))), "x.toml", "E004"),
    ("a syntax error", _insert("entries.toml", 0.5, b"\nweight = = 3\n"), "entries.toml", "E005"),
]
if hasattr(os, "geteuid") and os.geteuid() != 0:  # root reads anything
    NAMED_CASES.append(("an unreadable file", _unreadable, "entries.toml", "Permission denied"))


def _remove_tree(directory: Path) -> None:
    for path in directory.iterdir():
        path.unlink()
    directory.rmdir()


@pytest.mark.parametrize(
    ("damage", "name", "message"),
    [case[1:] for case in NAMED_CASES],
    ids=[case[0] for case in NAMED_CASES],
)
def test_named_cases(workspace: Path, damage: Damage, name: str, message: str) -> None:
    directory = workspace / f"named-{next(_RUNS)}"
    directory.mkdir()
    for file, data in FILES.items():
        (directory / file).write_bytes(data)
    damage(directory)
    with pytest.raises(RuleFileError) as info:
        Engine.from_directory(directory)
    assert info.value.path == (str(directory / name) if name else str(directory))
    assert message in str(info.value)
