"""One regression test per bug that hostile input found (issue 7), named for the bug.

Each test failed on the code before its fix. Hypothesis keeps looking for more in
``tests/reliability/``.
"""

from __future__ import annotations

import codecs
import json
import math
import multiprocessing
import os
import pickle
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from pns_rules import Engine, InputError, RuleFileError, UnknownFindingError, suggest
from pns_rules.errors import EngineError
from pns_rules.loader import load_rule_directory
from pns_rules.patient import Patient
from tests.helpers import ranking, write_rule_directory

ROOT = Path(__file__).resolve().parents[1]
SLICE_RULES = ROOT / "tests" / "data" / "slice-rules"

# -- input validation (patient.py, errors.py) -------------------------------------------------


class _ReprRaises:
    def __repr__(self) -> str:
        raise RuntimeError("no repr")


def test_an_age_of_a_huge_int_is_an_input_error_not_a_valueerror_from_repr() -> None:
    # repr() of an int past 4,300 digits raises ValueError while the message was built.
    with pytest.raises(InputError) as info:
        suggest(["ataxia"], age=10**5000)
    assert "<int of" in str(info.value)


@pytest.mark.parametrize("where", ["findings", "age", "sex", "antibodies"])
def test_a_value_whose_repr_raises_is_an_input_error(where: str) -> None:
    kwargs: dict[str, Any] = {"findings": ["ataxia"]}
    kwargs[where] = [_ReprRaises()] if where in ("findings", "antibodies") else _ReprRaises()
    with pytest.raises(InputError, match="_ReprRaises object"):
        suggest(**kwargs)


class _Table:
    def __repr__(self) -> str:
        return "   id  age\n0  p1   62\n1  p2   70"


def test_a_value_whose_repr_spans_lines_is_named_by_its_type_in_one_line() -> None:
    # A DataFrame's repr would break the one-line message over several lines.
    with pytest.raises(InputError) as info:
        suggest(["ataxia"], age=_Table())
    assert "\n" not in str(info.value) and "age=<_Table object>" in str(info.value)


def test_a_deeply_nested_list_is_an_input_error_not_a_recursionerror() -> None:
    nested: list[Any] = []
    for _ in range(100_000):
        nested = [nested]
    with pytest.raises(InputError):
        suggest([nested])


class _FloatRaises(float):
    def __float__(self) -> float:
        raise ZeroDivisionError("no float")


class _IntFloatRaises(int):
    def __float__(self) -> float:
        raise RuntimeError("no float")


@pytest.mark.parametrize("age", [_FloatRaises(3.0), _IntFloatRaises(3)])
def test_an_age_whose_float_conversion_raises_is_an_input_error(age: object) -> None:
    with pytest.raises(InputError) as info:
        suggest(["ataxia"], age=age)  # type: ignore[arg-type]
    assert info.value.parameter == "age"


def test_other_real_numbers_are_still_ages() -> None:
    assert suggest(["ataxia"], age=Fraction(125, 2)).age == 62.5


def test_an_age_of_minus_zero_is_zero() -> None:
    result = suggest(["ataxia"], age=-0.0)
    assert result.age == 0.0 and math.copysign(1, result.age) == 1


class _HashRaises(str):
    def __hash__(self) -> int:
        raise ZeroDivisionError("no hash")


class _LyingStr(str):
    def strip(self, chars: str | None = None) -> str:
        return "female"

    def __eq__(self, other: object) -> bool:
        return True

    __hash__ = str.__hash__


def test_str_subclasses_are_read_as_plain_strings() -> None:
    result = suggest([_HashRaises("ataxia")], strict=False)
    assert [f.given for f in result.findings] == ["ataxia"]
    assert type(result.findings[0].given) is str
    with pytest.raises(InputError):
        suggest(["ataxia"], sex=_LyingStr("robot"))


class _SneakyClass:
    @property  # type: ignore[misc]
    def __class__(self) -> type:
        raise RuntimeError("no class")


@pytest.mark.parametrize("where", ["findings", "sex", "strict", "patient"])
def test_a_value_whose___class___raises_is_an_input_error(where: str, slice_engine: Engine) -> None:
    # isinstance() itself raised (it reads __class__), and the RuntimeError escaped.
    with pytest.raises(InputError):
        if where == "patient":
            slice_engine.fired_rules(_SneakyClass())  # type: ignore[arg-type]
        elif where == "findings":
            slice_engine.suggest([_SneakyClass()])  # type: ignore[list-item]
        else:
            slice_engine.suggest(["ataxia"], **{where: _SneakyClass()})  # type: ignore[arg-type]


def test_many_copies_of_a_huge_term_are_looked_up_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # 100,000 references to one 1 MB string took ~45 minutes: each was normalised again.
    import pns_rules.patient as patient

    calls = []
    real = patient.normalize_term
    monkeypatch.setattr(patient, "normalize_term", lambda t: calls.append(t) or real(t))
    huge = "x" * 1_000_000
    result = suggest([huge] * 1000 + ["ataxia"] * 1000, strict=False)
    assert [u.given for u in result.unrecognized] == [huge]
    assert result.unrecognized[0].reason.startswith("longer than")
    assert calls == ["ataxia"]  # the huge term is too long to be a name: never normalised


class _CountingDict(dict):  # type: ignore[type-arg]
    lookups = 0

    def get(self, key: Any, default: Any = None) -> Any:
        type(self).lookups += 1
        return super().get(key, default)


def test_taking_antibody_wrappers_off_a_hostile_term_is_bounded() -> None:
    # "x" and a thousand "+" took 1.2 s (a new name for each "+" taken off, each round over all
    # of them): 100,000 such terms would have taken a day and a half.
    import attrs

    from pns_rules.antibody_names import antibody_term
    from pns_rules.vocabulary import normalize_term

    kb = Engine.shipped().knowledge_base
    counting = attrs.evolve(kb, terms=_CountingDict(kb.terms))
    assert antibody_term(counting, normalize_term("x" + "+" * 1000)) is None
    assert _CountingDict.lookups <= 20
    for name in ("anti-Yo antibody IgG positive", "P/Q-type VGCC antibodies", "Hu Ab"):
        assert antibody_term(kb, normalize_term(name)) is not None


def test_unknown_antibodies_are_reported_where_they_were_given() -> None:
    with pytest.raises(UnknownFindingError) as info:
        suggest(["ataxia"], antibodies=["anti-Yo", "anti-Nonsense"])
    assert info.value.parameter == "antibodies"
    assert info.value.positions == {"anti-Nonsense": "antibodies[1]"}
    assert str(info.value).startswith("antibodies: unknown term: 'anti-Nonsense'")


def test_an_error_for_many_unknown_terms_stays_short_and_keeps_them_all() -> None:
    terms = [f"nonsense {i}" for i in range(10_000)]
    with pytest.raises(UnknownFindingError) as info:
        suggest(terms)
    assert len(info.value.unknown) == 10_000
    assert len(str(info.value)) < 5_000
    assert "and 9,980 more" in str(info.value)


def test_a_generator_re_raising_someone_elses_input_error_is_blamed_on_the_generator() -> None:
    def terms() -> Iterator[str]:
        yield "ataxia"
        suggest(["ataxia"], age=-1)  # raises InputError(age) inside the caller's generator

    with pytest.raises(InputError) as info:
        suggest(terms())
    assert info.value.parameter == "findings"
    assert "age=-1" in str(info.value)


# -- errors cross process boundaries (errors.py) ----------------------------------------------


@pytest.mark.parametrize(
    "error",
    [
        InputError("age", 200, "a number from 0 to 120"),
        InputError("findings", (t for t in ["x"]), "a list"),  # an unpicklable value
        UnknownFindingError({"atxia": ("Ataxia",)}, "findings", {"atxia": "findings[0]"}),
        RuleFileError("rules/x.toml", "E005: TOML syntax error", entry="r", line=3),
        RuleFileError("rules/x.toml", "TOML syntax error", entry="r", line=3, code="E005"),
        EngineError("durable-rules failed"),
    ],
)
def test_errors_survive_pickling(error: Exception) -> None:
    # Unpickling called InputError(message) and failed, which broke process pools.
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert str(copy) == str(error)
    for name in ("parameter", "valid", "unknown", "positions", "path", "line", "entry", "code"):
        assert getattr(copy, name, None) == getattr(error, name, None)


def test_errors_of_other_signatures_survive_pickling() -> None:
    fhir = pytest.importorskip("pns_rules.fhir")
    error = fhir.FhirError("bundle", ["entry[0]: not a resource", "entry[1]: no code"])
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is fhir.FhirError
    assert (copy.parameter, copy.problems, str(copy)) == (
        error.parameter,
        error.problems,
        str(error),
    )


def _suggest_unknown(term: str) -> object:
    return suggest([term])


def test_an_input_error_in_a_process_pool_reaches_the_caller_intact() -> None:
    with ProcessPoolExecutor(max_workers=1) as pool:
        future = pool.submit(_suggest_unknown, "atxia")
        with pytest.raises(UnknownFindingError) as info:
            future.result(timeout=120)
    assert "Ataxia" in info.value.unknown["atxia"]


# -- engine.py ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "patient",
    [
        "ataxia",
        None,
        Patient(findings=frozenset({"no-such-finding"}), age=None, sex=None),
        Patient(findings=["HP:0001251"], age=None, sex=None),  # type: ignore[arg-type]
        Patient(findings=frozenset({"HP:0001251"}), age=math.nan, sex=None),
        Patient(findings=frozenset({"HP:0001251"}), age=None, sex="robot"),
    ],
)
def test_fired_rules_refuses_what_is_not_a_patient_of_this_engine(
    slice_engine: Engine, patient: object
) -> None:
    with pytest.raises(InputError):
        slice_engine.fired_rules(patient)  # type: ignore[arg-type]


# -- the durable-rules adapter (_durable.py) ------------------------------------------------------

_EVERY_FINDING = """
import sys
from pns_rules import Engine
from pns_rules.reference import reference_fired
engine = Engine.from_directory(sys.argv[1]) if len(sys.argv) > 1 else Engine.shipped()
kb = engine.knowledge_base
for age, sex in ((None, None), (50, "female"), (5, "male")):
    patient = engine.patient(sorted(kb.findings), age=age, sex=sex)
    assert engine.fired_rules(patient) == reference_fired(kb, patient.findings, age, sex)
    assert engine._evaluator.held_states() == []
print("ok")
"""


def _isolated(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter: a crash there fails the test instead of the suite."""
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_patient_with_every_shipped_finding_does_not_crash_the_interpreter() -> None:
    # About 70 findings overflowed durable-rules' 64-node match stack (error 303); reading the
    # failed call's state then crashed the interpreter with a segmentation fault.
    result = _isolated(_EVERY_FINDING)
    assert result.returncode == 0, f"exit {result.returncode}: {result.stderr[-3000:]}"


@pytest.mark.parametrize(
    ("findings", "rules"),
    [
        (64, [{"all": [f"pns:f{i}"]} for i in range(64)]),  # 64 rules firing at once: error 303
        (300, [{"all": [f"pns:f{i}"]} for i in range(300)]),  # a fact of 300 properties: 302
        (100, [{"any": [f"pns:f{i}" for i in range(100)]}]),  # one rule, 100 alternatives
        (20, [{"at_least": {"n": 2, "of": [f"pns:f{i}" for i in range(20)]}}]),  # 190 of them
    ],
    ids=["64-rules", "300-findings", "any-of-100", "2-of-20"],
)
def test_patients_too_large_for_one_engine_call_are_evaluated_in_parts(
    tmp_path: Path, findings: int, rules: list[dict[str, Any]]
) -> None:
    directory = write_rule_directory(tmp_path / "rules", findings, rules)
    result = _isolated(_EVERY_FINDING, str(directory))
    assert result.returncode == 0, f"exit {result.returncode}: {result.stderr[-3000:]}"


def test_the_state_of_a_failed_engine_call_is_never_touched(
    monkeypatch: pytest.MonkeyPatch, slice_engine: Engine
) -> None:
    # After a failed assert, get_state and delete_state on that sid crashed the interpreter.
    from pns_rules import _durable

    engine = Engine.from_directory(SLICE_RULES)
    evaluator = engine._evaluator
    host = evaluator._host
    touched: list[object] = []

    def fail(*args: object) -> None:
        raise RuntimeError("Could not assert fact, error code: 303")

    with monkeypatch.context() as patch:
        patch.setattr(_durable._engine, "assert_fact", fail)
        patch.setattr(host, "get_state", lambda *args: touched.append(args))
        patch.setattr(host, "delete_state", lambda *args: touched.append(args))
        with pytest.raises(EngineError, match="303"):
            engine.suggest(["ataxia"])
    assert touched == []
    patient = {"findings": ["ataxia", "nystagmus"], "age": 60, "sex": "female"}
    assert ranking(engine.suggest(**patient)) == ranking(slice_engine.suggest(**patient))
    assert evaluator._host is not host
    assert evaluator.held_states() == []


def _child_suggest(queue: Any) -> None:
    queue.put(ranking(suggest(["ataxia", "nystagmus"], age=60)))


@pytest.mark.skipif(sys.platform == "win32", reason="fork is POSIX")
def test_a_child_forked_while_a_call_holds_the_engine_lock_does_not_hang() -> None:
    import pns_rules.engine as engine_module

    expected = ranking(suggest(["ataxia", "nystagmus"], age=60))
    default = engine_module.default_engine()
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    # As if other threads were inside a call, or loading the default engine, at the fork.
    with default._evaluator._lock, engine_module._default_lock:
        child = context.Process(target=_child_suggest, args=(queue,))
        child.start()
    try:
        assert queue.get(timeout=60) == expected
    finally:
        child.join(10)
        if child.is_alive():
            child.kill()


# -- loading rule directories (loader.py) -----------------------------------------------------


@pytest.mark.parametrize("path", [None, 42, 3.5, ["rules"], object()])
def test_from_directory_refuses_a_path_of_the_wrong_type(path: object) -> None:
    # TypeError from pathlib escaped.
    with pytest.raises(InputError) as info:
        Engine.from_directory(path)  # type: ignore[arg-type]
    assert info.value.parameter == "path"


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("", "empty path"),  # was silently read as the current directory
        ("rules\x00x", "NUL character"),
        ("x" * 5000, "E001"),  # OSError: file name too long escaped
    ],
)
def test_from_directory_reports_impossible_paths_as_rule_file_errors(
    path: str, message: str
) -> None:
    with pytest.raises(RuleFileError, match=message):
        Engine.from_directory(path)


def test_from_directory_accepts_bytes_paths() -> None:
    assert Engine.from_directory(bytes(SLICE_RULES)).knowledge_base.rules


def _load_in_a_child(directory: Path) -> subprocess.CompletedProcess[str]:
    """Load in a fresh interpreter with a timeout: reading a FIFO blocks for ever."""
    code = (
        "import sys\n"
        "from pns_rules import RuleFileError\n"
        "from pns_rules.loader import load_rule_directory\n"
        "try:\n"
        "    load_rule_directory(sys.argv[1])\n"
        "except RuleFileError as error:\n"
        "    print(error)\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code, str(directory)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _mkfifo(path: Path) -> None:
    os.mkfifo(path)


def _write(name: str, data: bytes | str) -> Callable[[Path], None]:
    def write(directory: Path) -> None:
        target = directory / name
        if isinstance(data, bytes):
            target.write_bytes(data)
        else:
            target.write_text(data)

    return write


def _map(data: object) -> Callable[[Path], None]:
    return _write("hpo-map.json", json.dumps(data))


_GAIT_ATAXIA = {"label": "Gait ataxia", "maps_to": ["HP:0001251"]}

# (what is wrong, how to make it, file named, fragment of the message)
BROKEN_DIRECTORIES: list[tuple[str, Callable[[Path], None], str, str]] = [
    # *.toml entries that are not regular files were skipped without a word
    ("a directory named x.toml", lambda d: (d / "x.toml").mkdir(), "x.toml", "a directory"),
    (
        "a dangling symlink",
        lambda d: (d / "x.toml").symlink_to(d / "gone"),
        "x.toml",
        "broken symbolic link",
    ),
    ("a FIFO", lambda d: _mkfifo(d / "x.toml"), "x.toml", "named pipe"),
    ("a symlink to a directory", lambda d: (d / "x.toml").symlink_to(d), "x.toml", "directory"),
    (
        "a symlink to a device",
        lambda d: (d / "x.toml").symlink_to("/dev/zero"),
        "x.toml",
        "device",
    ),
    (
        "manifest.toml as a directory",
        lambda d: _replace_by_dir(d / "manifest.toml"),
        "manifest.toml",
        "not a regular file (a directory)",
    ),
    ("a rule file in capitals", _write("local.TOML", "# rules\n"), "local.TOML", "lower case"),
    # empty files were accepted silently
    ("an empty file", _write("local.toml", ""), "local.toml", "E006: file is empty"),
    ("a file of comments", _write("local.toml", "# todo\n"), "local.toml", "only comments"),
    # RecursionError escaped from tomllib
    ("deep TOML nesting", _write("x.toml", "a = " + "[" * 5000 + "]" * 5000), "x.toml", "deep"),
    ("UTF-16 text", _write("x.toml", "# x\n".encode("utf-16")), "x.toml", "UTF-16"),
    # hpo-map.json: a FIFO blocked the loader for ever, a dangling symlink was ignored, wrong
    # types escaped as TypeError or AttributeError, deep nesting as RecursionError
    ("a FIFO as the HPO map", lambda d: _mkfifo(d / "hpo-map.json"), "hpo-map.json", "pipe"),
    (
        "a dangling HPO map",
        lambda d: (d / "hpo-map.json").symlink_to(d / "gone"),
        "hpo-map.json",
        "broken symbolic link",
    ),
    ("an HPO map that is a list", _map([]), "hpo-map.json", "must be a JSON object"),
    (
        "deep HPO map nesting",
        _write("hpo-map.json", "[" * 100_000 + "]" * 100_000),
        "hpo-map.json",
        "too deep",
    ),
    (
        "duplicate keys in the HPO map",
        _write("hpo-map.json", '{"hpo_release": "x", "terms": {}, "terms": {}}'),
        "hpo-map.json",
        "duplicate key",
    ),
    (
        "obsolete as a list",
        _map({"hpo_release": "x", "terms": {}, "obsolete": []}),
        "hpo-map.json",
        "`obsolete` must be an object",
    ),
    (
        "a label that is a number",
        _map(
            {"hpo_release": "x", "terms": {"HP:0002066": {"label": 3, "maps_to": ["HP:0001251"]}}}
        ),
        "hpo-map.json",
        "`label` must be",
    ),
    (
        "synonyms as one string",  # each character became a synonym
        _map({"hpo_release": "x", "terms": {"HP:0002066": {**_GAIT_ATAXIA, "synonyms": "gait"}}}),
        "hpo-map.json",
        "`synonyms` must be",
    ),
    (
        "a term mapping to nothing",
        _map({"hpo_release": "x", "terms": {"HP:0002066": {"label": "x", "maps_to": []}}}),
        "hpo-map.json",
        "`maps_to` must be",
    ),
    (
        "a retired id that is also current (a self-reference)",
        _map(
            {
                "hpo_release": "x",
                "terms": {"HP:0002066": _GAIT_ATAXIA},
                "obsolete": {"HP:0002066": "HP:0002066"},
            }
        ),
        "hpo-map.json",
        "also a current term",
    ),
    (
        "a cycle of retired ids",  # already refused before issue 7: kept as a contract check
        _map(
            {
                "hpo_release": "x",
                "terms": {},
                "obsolete": {"HP:0000001": "HP:0000002", "HP:0000002": "HP:0000001"},
            }
        ),
        "hpo-map.json",
        "is not in the map",
    ),
    (
        "a replacement that is a list",
        _map({"hpo_release": "x", "terms": {}, "obsolete": {"HP:0000001": ["HP:0000002"]}}),
        "hpo-map.json",
        "retired HPO ids",
    ),
]


def _replace_by_dir(path: Path) -> None:
    path.unlink()
    path.mkdir()


@pytest.mark.parametrize(
    ("make", "name", "message"),
    [case[1:] for case in BROKEN_DIRECTORIES],
    ids=[case[0] for case in BROKEN_DIRECTORIES],
)
def test_broken_rule_directories_give_a_rule_file_error_naming_the_file(
    tmp_path: Path, make: Callable[[Path], None], name: str, message: str
) -> None:
    directory = tmp_path / "rules"
    shutil.copytree(SLICE_RULES, directory)
    make(directory)
    result = _load_in_a_child(directory)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"{directory / name}" in result.stdout
    assert message in result.stdout


def test_a_truncated_rule_file_names_its_last_line(slice_copy: Path) -> None:
    path = slice_copy / "other.toml"
    text = path.read_text()
    cut = text[: text.index('"', text.index("citation")) + 3]  # inside a string
    path.write_text(cut)
    with pytest.raises(RuleFileError) as info:
        load_rule_directory(slice_copy)
    assert info.value.line == cut.count("\n") + 1
    assert "end of document" in str(info.value)


def test_a_rule_file_with_a_utf8_byte_order_mark_loads(slice_copy: Path) -> None:
    path = slice_copy / "other.toml"
    path.write_bytes(codecs.BOM_UTF8 + path.read_bytes())
    assert load_rule_directory(slice_copy).rules


def test_a_rule_requiring_more_findings_than_one_fact_holds_is_refused(tmp_path: Path) -> None:
    directory = write_rule_directory(
        tmp_path / "rules", 120, [{"all": [f"pns:f{i}" for i in range(101)]}]
    )
    with pytest.raises(RuleFileError, match="requires 101 findings at once"):
        load_rule_directory(directory)


# -- the command line (cli.py) ------------------------------------------------------------------


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pns_rules", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        errors="backslashreplace",
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def _one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("pns-rules: error: ")
    return lines[0]


def test_an_error_naming_a_path_with_a_newline_stays_on_one_line() -> None:
    line = _one_line_error(_cli("suggest", "--rules", "/no/such\ndir", "ataxia"))
    assert "/no/such\\ndir" in line


def test_check_reports_a_path_with_a_newline_on_one_line_per_problem() -> None:
    # pns-rules check promises one line per problem; the path's newline split it.
    result = _cli("check", "/no/such\ndir")
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 2, result.stdout
    assert lines[0].startswith("/no/such\\ndir: E001")
    assert lines[1].startswith("pns-rules check: failed")


def test_an_argparse_error_quoting_a_newline_stays_on_one_line() -> None:
    # argparse joins unrecognised arguments as they are.
    line = _one_line_error(_cli("suggest", "ataxia", "--bogus", "a\nb"))
    assert "--bogus a\\nb" in line


@pytest.mark.parametrize("command", ["suggest", "serve"])
def test_an_empty_rules_option_is_an_error_not_the_shipped_rules(command: str) -> None:
    result = _cli(command, "--rules", "", *(["ataxia"] if command == "suggest" else []))
    assert "empty path" in _one_line_error(result)
    assert result.returncode == 1


def test_terms_that_are_not_utf8_do_not_break_json_output() -> None:
    # The surrogate the bytes arrive as raised UnicodeEncodeError on a strict UTF-8 stdout.
    result = _cli(
        "suggest", "--json", "--lenient", "ataxia", "caf\udce9", env={"PYTHONIOENCODING": "utf-8"}
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["unrecognized"][0]["given"] == "caf\udce9"


def test_a_reader_that_goes_away_is_not_an_error() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "pns_rules", "suggest", "--json", "ataxia", "nystagmus"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # like `pns-rules ... | head -0`
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=120) == 141
    assert stderr == ""


class _Failing:
    def __init__(self, error: BaseException) -> None:
        self.error = error

    def suggest(self, *args: object, **kwargs: object) -> None:
        raise self.error


@pytest.mark.parametrize(
    ("error", "code", "message"),
    [
        (KeyboardInterrupt(), 130, "pns-rules: error: interrupted"),  # the message was empty
        (ZeroDivisionError("boom"), 3, "pns-rules: error: internal error: ZeroDivisionError: boom"),
        (EngineError("durable broke"), 3, "pns-rules: error: internal error in the rules engine"),
    ],
)
def test_unexpected_failures_are_one_line(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    error: BaseException,
    code: int,
    message: str,
) -> None:
    from pns_rules import cli

    monkeypatch.setattr(cli, "default_engine", lambda: _Failing(error))
    assert cli.main(["suggest", "ataxia"]) == code
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [captured.err.strip()]
    assert captured.err.startswith(message)
    with pytest.raises(type(error)):
        cli.main(["--debug", "suggest", "ataxia"])
