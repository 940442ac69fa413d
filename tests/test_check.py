"""``pns-rules check``: every defect class injected into a copy of the shipped rules is reported with
its file, line and code; the shipped rules pass clean.

The injected entries live in their own file (``zz-injected.toml``, read last) and name only the
findings, cancers and syndrome they define, so these tests hold for any shipped rule base.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pns_rules import Engine, InputError, RuleFileError
from pns_rules.check import format_report
from pns_rules.cli import main
from pns_rules.consistency import CODES, check_rule_directory
from pns_rules.knowledge import Rule
from pns_rules.loader import load_rule_directory, shipped_rules_directory

INJECTED = "zz-injected.toml"
CITATION = "PMID:34006622"
LINE_RE = re.compile(r"^(?P<path>.+?)(?::(?P<line>\d+))?: (?P<code>[EW]\d{3}): ")


def _toml(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in value.items()) + " }"
    raise TypeError(value)


class RuleFile:
    """A rule file written entry by entry, remembering the line of each entry's header."""

    def __init__(self, strength: str = "strong") -> None:
        self.lines: list[str] = ["# injected by tests/test_check.py"]
        self.strength = strength

    def add(self, kind: str, /, **fields: Any) -> int:
        self.lines.append("")
        self.lines.append(f"[[{kind}]]")
        header = len(self.lines)
        self.lines += [f"{key} = {_toml(value)}" for key, value in fields.items()]
        return header

    def cancer(self, cancer_id: str, sex: str = "any") -> int:
        line = self.add("cancer", id=cancer_id, name=cancer_id.replace("-", " ").title(), sex=sex)
        screening = {
            "first_line": "CT",
            "second_line": "PET",
            "repeat": "every 6 months",
            "citation": "PMID:20880069",
        }
        self.lines += [f"screening.{key} = {_toml(value)}" for key, value in screening.items()]
        return line

    def rule(self, rule_id: str, **fields: Any) -> int:
        fields = {"syndrome": "injected-syndrome", "item": "phenotype", "weight": 2, **fields}
        fields.setdefault("citation", CITATION)
        return self.add("rule", id=rule_id, **{k: v for k, v in fields.items() if v is not None})

    def write(self, directory: Path) -> Path:
        path = directory / INJECTED
        path.write_text("\n".join(self.lines) + "\n", encoding="utf-8")
        return path


@pytest.fixture
def base(rules_copy: Path) -> RuleFile:
    """Valid entries of its own: four findings, three cancers, a syndrome and two rules."""
    strength = next(iter(load_rule_directory(rules_copy).scoring.strength))
    file = RuleFile(strength)
    for n in ("one", "two", "three", "four"):
        file.add("finding", id=f"pns:injected-{n}", label=f"Injected finding {n}", kind="sign")
    file.cancer("injected-cancer")
    file.cancer("injected-male-cancer", sex="male")
    file.cancer("injected-child-cancer")
    file.add(
        "syndrome",
        id="injected-syndrome",
        name="Injected syndrome",
        category="other",
        citations=[CITATION],
        cancers=[
            {"id": "injected-cancer", "strength": strength, "citation": CITATION},
            {"id": "injected-male-cancer", "strength": strength, "citation": CITATION},
            {
                "id": "injected-child-cancer",
                "strength": strength,
                "citation": CITATION,
                "age": {"below": 18},
            },
        ],
    )
    file.rule("injected-base", all=["pns:injected-one", "pns:injected-two"])
    file.rule("injected-other-item", item="lab", all=["pns:injected-three", "pns:injected-four"])
    return file


def _problems(directory: Path) -> set[tuple[str, int | None]]:
    """(code, line) of every problem reported in the injected file."""
    report = check_rule_directory(directory)
    return {(p.code, p.line) for p in report.problems if Path(p.path).name == INJECTED}


def test_the_shipped_rules_have_no_errors() -> None:
    report = check_rule_directory(shipped_rules_directory())
    assert report.errors == (), "\n".join(map(str, report.errors))
    assert report.rule_base is not None


def test_the_injected_base_is_clean(rules_copy: Path, base: RuleFile) -> None:
    base.write(rules_copy)
    assert _problems(rules_copy) == set()
    assert check_rule_directory(rules_copy).errors == ()


# Each defect: (code, the entries to add); the entry whose header line is returned is where the
# problem must be reported.
def _schema(f: RuleFile) -> int:
    return f.rule("bad-key", all=["pns:injected-one"], wieght=2)


def _duplicate_id(f: RuleFile) -> int:
    return f.rule("injected-base", all=["pns:injected-three"])


def _name_of_two_findings(f: RuleFile) -> int:
    return f.add(
        "finding",
        id="pns:injected-five",
        label="Injected finding five",
        kind="sign",
        synonyms=["injected-finding-one"],
    )


def _unknown_finding(f: RuleFile) -> int:
    return f.rule("bad-ref", all=["Injected finding fifty"])


def _unknown_syndrome(f: RuleFile) -> int:
    return f.rule("bad-syndrome", syndrome="injected-syndrom", all=["pns:injected-one"])


def _missing_citation(f: RuleFile) -> int:
    line = f.rule("uncited", all=["pns:injected-one"])
    assert f.lines.pop() == f"citation = {_toml(CITATION)}"
    return line


def _pmid_zero(f: RuleFile) -> int:
    return f.rule("pmid-zero", all=["pns:injected-one"], citation="PMID:0")


def _doi_ending_in_a_full_stop(f: RuleFile) -> int:
    return f.rule("doi-full-stop", all=["pns:injected-one"], citation="DOI:10.1111/hae.14648.")


def _snomed_code_of_two_findings(f: RuleFile) -> int:
    for n in ("one", "two"):
        f.lines.insert(f.lines.index(f'id = "pns:injected-{n}"') + 1, 'snomed = "999999999001"')
    return f.lines.index('id = "pns:injected-two"')  # the 1-based line of its header


def _inverted_age(f: RuleFile) -> int:
    return f.rule("inverted", all=["pns:injected-one"], age={"min": 50, "below": 40})


def _empty_age(f: RuleFile) -> int:
    return f.rule("empty-age", all=["pns:injected-one"], age={})


def _at_least_too_many(f: RuleFile) -> int:
    return f.rule(
        "three-of-two", at_least={"n": 3, "of": ["pns:injected-one", "Injected finding two"]}
    )


def _no_age_a_patient_has(f: RuleFile) -> int:
    return f.rule(
        "between-ages", all=["pns:injected-one"], age={"min": 10.00001, "below": 10.00009}
    )


def _boost_for_the_other_sex(f: RuleFile) -> int:
    return f.rule(
        "wrong-sex-boost",
        item="sex",
        all=["pns:injected-one"],
        sex="female",
        cancers={"injected-male-cancer": 2},
    )


def _boost_outside_the_association_ages(f: RuleFile) -> int:
    return f.rule(
        "adult-boost",
        item="age",
        all=["pns:injected-one"],
        age={"min": 40},
        cancers={"injected-child-cancer": 2},
    )


def _association_for_the_other_sex(f: RuleFile) -> int:
    line = f.add(
        "syndrome",
        id="injected-women-syndrome",
        name="Injected syndrome of women",
        category="other",
        citations=[CITATION],
        cancers=[{"id": "injected-male-cancer", "strength": f.strength, "citation": CITATION}],
    )
    f.rule("women-only", syndrome="injected-women-syndrome", any=["pns:injected-one"], sex="female")
    return line


def _association_that_never_applies(f: RuleFile) -> int:
    line = f.add(
        "syndrome",
        id="injected-adult-syndrome",
        name="Injected adult syndrome",
        category="other",
        citations=[CITATION],
        cancers=[
            {
                "id": "injected-child-cancer",
                "strength": f.strength,
                "citation": CITATION,
                "age": {"below": 18},
            }
        ],
    )
    f.rule(
        "adults-only", syndrome="injected-adult-syndrome", all=["pns:injected-one"], age={"min": 40}
    )
    return line


def _weaker_link_first(f: RuleFile) -> int:
    # the shipped manifest's strengths, which the copied rule directory keeps
    line = f.add(
        "syndrome",
        id="injected-ordered-syndrome",
        name="Injected syndrome with its links out of order",
        category="other",
        citations=[CITATION],
        cancers=[
            {"id": "injected-cancer", "strength": "weak", "citation": CITATION},
            {"id": "injected-male-cancer", "strength": "strong", "citation": CITATION},
        ],
    )
    f.rule("reaches-ordered", syndrome="injected-ordered-syndrome", all=["pns:injected-three"])
    return line


def _duplicate_rule(f: RuleFile) -> int:
    return f.rule("copy-of-base", all=["pns:injected-two", "Injected finding one"])


def _equivalent_rule(f: RuleFile) -> int:
    return f.rule("two-of-two", at_least={"n": 2, "of": ["pns:injected-one", "pns:injected-two"]})


def _conflicting_rule(f: RuleFile) -> int:
    return f.rule("heavier-base", all=["pns:injected-one", "pns:injected-two"], weight=3)


def _conflicting_boosts(f: RuleFile) -> int:
    return f.rule(
        "boosting-base",
        all=["pns:injected-one", "pns:injected-two"],
        cancers={"injected-cancer": 1},
    )


def _subsumed_rule(f: RuleFile) -> int:
    return f.rule("narrower", all=["pns:injected-one", "pns:injected-two", "pns:injected-three"])


def _never_counts(f: RuleFile) -> int:
    return f.rule(
        "lighter-narrower",
        weight=1,
        all=["pns:injected-one", "pns:injected-two", "pns:injected-three"],
    )


def _double_count(f: RuleFile) -> int:
    # Status epilepticus (HP:0002133) is a Seizure (HP:0001250) in HPO, so it counts as both.
    return f.rule(
        "double-count",
        at_least={"n": 2, "of": ["HP:0002133", "HP:0001250", "pns:injected-three"]},
    )


def _unused_finding(f: RuleFile) -> int:
    return f.add("finding", id="pns:injected-unused", label="Injected unused finding", kind="lab")


def _unreached_syndrome(f: RuleFile) -> int:
    return f.add(
        "syndrome",
        id="injected-lonely",
        name="Injected syndrome without rules",
        category="other",
        citations=[CITATION],
        cancers=[{"id": "injected-cancer", "strength": f.strength, "citation": CITATION}],
    )


def _unnamed_cancer(f: RuleFile) -> int:
    return f.cancer("injected-unnamed-cancer")


DEFECTS = [
    ("E010", _schema),
    ("E020", _duplicate_id),
    ("E022", _name_of_two_findings),
    ("E021", _unknown_finding),
    ("E021", _unknown_syndrome),
    ("E030", _missing_citation),
    ("E030", _pmid_zero),
    ("E030", _doi_ending_in_a_full_stop),
    ("E023", _snomed_code_of_two_findings),
    ("E014", _inverted_age),
    ("E014", _empty_age),
    ("E040", _at_least_too_many),
    ("E042", _no_age_a_patient_has),
    ("E061", _boost_for_the_other_sex),
    ("E062", _boost_outside_the_association_ages),
    ("E063", _association_for_the_other_sex),
    ("E063", _association_that_never_applies),
    ("E070", _duplicate_rule),
    ("E070", _equivalent_rule),
    ("E071", _conflicting_rule),
    ("E071", _conflicting_boosts),
    ("W070", _subsumed_rule),
    ("W072", _never_counts),
    ("W073", _double_count),
    ("W074", _weaker_link_first),
    ("W080", _unused_finding),
    ("W081", _unreached_syndrome),
    ("W082", _unnamed_cancer),
]


@pytest.mark.parametrize(("code", "inject"), DEFECTS, ids=lambda x: getattr(x, "__name__", x))
def test_each_defect_is_reported_at_its_file_and_line(
    rules_copy: Path, base: RuleFile, code: str, inject: Any
) -> None:
    line = inject(base)
    path = base.write(rules_copy)
    assert _problems(rules_copy) == {(code, line)}
    report = check_rule_directory(rules_copy)
    (problem,) = [p for p in report.problems if p.path == str(path)]
    assert problem.entry  # names the entry
    assert problem.severity == ("error" if code.startswith("E") else "warning")
    assert (
        problem.code in CODES or int(problem.code[1:]) < 60
    )  # documented in CODES or the loader's


def test_subsumption_through_any_and_age(rules_copy: Path, base: RuleFile) -> None:
    base.rule("either", any=["pns:injected-one", "pns:injected-three"], age={"min": 18})
    narrow = base.rule("adult-one", all=["pns:injected-one"], age={"min": 50, "below": 60})
    base.write(rules_copy)
    assert _problems(rules_copy) == {("W070", narrow)}


def test_a_duplicate_of_a_shipped_rule(rules_copy: Path) -> None:
    kb = load_rule_directory(rules_copy)
    shipped: Rule = next(iter(kb.rules.values()))
    fields: dict[str, Any] = {
        "syndrome": shipped.syndrome,
        "item": shipped.item,
        "weight": shipped.weight,
        "all": list(shipped.all_of) or None,
        "any": list(shipped.any_of) or None,
        "at_least": {"n": shipped.at_least, "of": list(shipped.at_least_of)}
        if shipped.at_least_of
        else None,
        "sex": shipped.sex,
        "cancers": dict(shipped.cancer_boosts) or None,
        "citation": shipped.citation,
    }
    if shipped.age is not None:
        fields["age"] = {
            k: v
            for k, v in (("min", shipped.age.min), ("below", shipped.age.below))
            if v is not None
        }
    file = RuleFile()
    line = file.rule("copy-of-a-shipped-rule", **fields)
    file.write(rules_copy)
    report = check_rule_directory(rules_copy)
    (problem,) = [p for p in report.problems if Path(p.path).name == INJECTED]
    assert (problem.code, problem.line, problem.entry) == ("E070", line, "copy-of-a-shipped-rule")
    assert repr(shipped.id) in problem.message


def test_orphans_wait_until_the_rules_load(rules_copy: Path, base: RuleFile) -> None:
    _unused_finding(base)
    line = _schema(base)
    base.write(rules_copy)
    assert _problems(rules_copy) == {("E010", line)}


def test_rule_checks_run_on_what_loads(rules_copy: Path, base: RuleFile) -> None:
    bad = _schema(base)
    conflict = _conflicting_rule(base)
    base.write(rules_copy)
    assert _problems(rules_copy) == {("E010", bad), ("E071", conflict)}


# -- the command line --------------------------------------------------------------------------
def _run_main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["check", *args])
    return code, capsys.readouterr().out


def test_cli_clean_directory(rules_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _run_main(capsys, str(rules_copy))
    lines = out.splitlines()
    assert code == 0
    assert lines[-1].startswith("pns-rules check: ok: 0 errors")
    for line in lines[:-1]:
        match = LINE_RE.match(line)
        assert match, line
        assert match["code"].startswith("W")


def test_cli_reports_errors_as_file_line_code(
    rules_copy: Path, base: RuleFile, capsys: pytest.CaptureFixture[str]
) -> None:
    line = _conflicting_rule(base)
    path = base.write(rules_copy)
    code, out = _run_main(capsys, str(rules_copy))
    assert code == 1
    assert f"{path}:{line}: E071: [heavier-base] conflicts with rule 'injected-base'" in out
    assert out.splitlines()[-1].startswith("pns-rules check: failed: 1 error")


def test_cli_warnings_fail_only_when_strict(
    rules_copy: Path, base: RuleFile, capsys: pytest.CaptureFixture[str]
) -> None:
    line = _unused_finding(base)
    path = base.write(rules_copy)
    code, out = _run_main(capsys, str(rules_copy))
    assert code == 0
    assert f"{path}:{line}: W080: [pns:injected-unused] no rule uses this finding" in out
    code, out = _run_main(capsys, "--strict", str(rules_copy))
    assert code == 1
    assert "warnings count as errors" in out.splitlines()[-1]


def test_cli_json(rules_copy: Path, base: RuleFile, capsys: pytest.CaptureFixture[str]) -> None:
    line = _duplicate_rule(base)
    path = base.write(rules_copy)
    code, out = _run_main(capsys, "--format", "json", str(rules_copy))
    data = json.loads(out)
    assert code == 1
    assert data["ok"] is False and data["errors"] == 1
    assert data["rule_base"]["version"]
    (problem,) = [p for p in data["problems"] if p["path"] == str(path)]
    assert problem == {
        "path": str(path),
        "line": line,
        "entry": "copy-of-base",
        "code": "E070",
        "severity": "error",
        "message": problem["message"],
    }
    assert data["warnings"] == sum(p["severity"] == "warning" for p in data["problems"])


def test_cli_missing_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _run_main(capsys, str(tmp_path / "nope"))
    assert code == 1
    assert f"{tmp_path / 'nope'}: E001: rule directory does not exist" in out
    code, out = _run_main(capsys, "--format", "json", str(tmp_path))
    assert code == 1
    assert json.loads(out)["problems"][0]["code"] == "E002"


def test_cli_checks_the_shipped_rules_by_default() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pns_rules", "check"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout
    assert str(shipped_rules_directory()) in result.stdout.splitlines()[-1]
    assert result.stderr == ""


@pytest.mark.parametrize(
    "content", [b"not gzip", b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\x03\x00\x00\x00\x00\x00"]
)
def test_an_unusable_hpo_term_index_is_reported(rules_copy: Path, content: bytes) -> None:
    (rules_copy / "hpo-terms.json.gz").write_bytes(content)
    report = check_rule_directory(rules_copy)
    (problem,) = [p for p in report.problems if p.code == "E052"]
    assert problem.path.endswith("hpo-terms.json.gz")
    assert problem.message and not problem.message.startswith("E052")
    engine = Engine.from_directory(rules_copy)  # the rules still load: the index is read lazily
    assert engine.suggest(["ataxia"]).findings[0].id == "HP:0001251"
    with pytest.raises(RuleFileError, match="E052") as raised:
        engine.suggest(["HP:0000400"])  # Macrotia: needs the index
    assert raised.value.code == "E052"
    assert raised.value.message == f"E052: {problem.message}"


def test_a_snomed_code_of_two_findings_names_both(rules_copy: Path, base: RuleFile) -> None:
    line = _snomed_code_of_two_findings(base)
    base.write(rules_copy)
    (problem,) = [p for p in check_rule_directory(rules_copy).problems if p.code == "E023"]
    first = base.lines.index('id = "pns:injected-one"')
    assert (problem.entry, problem.line) == ("pns:injected-two", line)
    assert problem.message.startswith(
        f"SNOMED CT code '999999999001' is also the code of finding 'pns:injected-one' "
        f"({INJECTED}:{first}): FHIR input coded with it would count as both findings"
    )
    Engine.from_directory(rules_copy)  # a check error: the rule base still loads


def test_a_report_and_strict_of_the_wrong_kind_are_refused(
    rules_copy: Path, base: RuleFile
) -> None:
    base.add("finding", id="pns:injected-unused", label="Injected unused finding", kind="lab")
    base.write(rules_copy)
    report = check_rule_directory(rules_copy)
    assert report.warnings and not report.errors
    for call in (
        lambda: report.ok(strict="no"),  # truthy: it counted the warning as an error
        lambda: report.to_dict(strict="no"),
        lambda: format_report(report, strict="no"),
    ):
        with pytest.raises(InputError, match=r"^strict='no' is not valid: True or False$"):
            call()
    with pytest.raises(InputError) as caught:
        format_report(None)  # type: ignore[arg-type]
    assert (caught.value.parameter, caught.value.value) == ("report", None)


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("strong = 1.0", "stong = 1.0", "stong"),  # misspelt: links to 'strong' would fail anyway
        ("weak = 0.3", "weak = 0.3\nfoo = 1", "foo"),  # a key meant for another table
        ("weak = 0.3", 'weak = 0.3\n"Strong" = 0.5', "Strong"),
    ],
)
def test_an_unknown_strength_key_is_refused(
    rules_copy: Path, capsys: pytest.CaptureFixture[str], old: str, new: str, key: str
) -> None:
    manifest = rules_copy / "manifest.toml"
    text = manifest.read_text()
    assert old in text
    manifest.write_text(text.replace(old, new, 1))
    line = manifest.read_text().splitlines().index(new.splitlines()[-1]) + 1
    expected = (
        f"{manifest}:{line}: E010: unknown key(s): scoring.strength.{key} (allowed: "
        "scoring.strength.strong, scoring.strength.moderate, scoring.strength.weak)"
    )
    code, out = _run_main(capsys, str(rules_copy))
    assert code == 1
    assert expected in out.splitlines()
    with pytest.raises(RuleFileError) as raised:
        load_rule_directory(rules_copy)
    assert (raised.value.path, raised.value.line, raised.value.code) == (
        str(manifest),
        line,
        "E010",
    )
