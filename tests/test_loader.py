"""Loading validates every rule file and fails fast with the file, entry and line.

Defects are injected into a copy of the frozen slice rule directory (tests/data/slice-rules).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from pns_rules import Engine, RuleFileError
from pns_rules.knowledge import CATEGORIES, KnowledgeBase
from pns_rules.loader import load_rule_directory


def test_shipped_rules_load_and_cover_every_category(kb: KnowledgeBase) -> None:
    assert {s.category for s in kb.syndromes.values()} == set(CATEGORIES)
    assert kb.rules and kb.cancers and kb.findings
    for rule in kb.rules.values():
        assert re.match(r"^(PMID|DOI):", rule.citation)


def _replace(path: Path, old: str, new: str) -> int:
    text = path.read_text()
    assert old in text, old
    index = text.index(old)
    path.write_text(text.replace(old, new, 1))
    return text[:index].count("\n") + 1


def _line_of_header_before(path: Path, line: int) -> int:
    lines = path.read_text().splitlines()
    for number in range(line, 0, -1):
        if lines[number - 1].startswith("[["):
            return number
    raise AssertionError("no header")


DEFECTS = [
    # (file, old, new, expected message fragment)
    (
        "neurological.toml",
        'weight = 3\nall = ["Ataxia"]',
        'weight = 3\nall = ["Ataxiaa"]',
        "unknown finding 'Ataxiaa'",
    ),
    (
        "neurological.toml",
        'syndrome = "lambert-eaton"',
        'syndrome = "lambert-eatn"',
        "unknown syndrome",
    ),
    (
        "neurological.toml",
        'citation = "PMID:34006622"\n',
        'citation = "see Graus"\n',
        "must cite PMID",
    ),
    (
        "neurological.toml",
        'citation = "PMID:34006622"\n',
        'citation = "PMID:0"\n',
        "must cite PMID:<positive number>",
    ),
    (
        "neurological.toml",
        'citation = "PMID:34006622"\n',
        'citation = "DOI:10.1056/NEJMra1707939;PMID:34006622"\n',
        "must cite PMID",
    ),
    (
        "neurological.toml",
        'item = "phenotype"\nweight = 3',
        'item = "phenotype"\nweight = 3\nwieght = 2',
        "unknown key(s): wieght",
    ),
    ("neurological.toml", "age = { min = 50 }", "age = { min = 50, below = 40 }", "inverted"),
    ("neurological.toml", "age = { min = 50 }", "age = {}", "age range is empty"),
    ("neurological.toml", 'id = "lems-sox1"', 'id = "lems-vgcc"', "duplicate rule id"),
    (
        "endocrine.toml",
        '{ id = "sclc", strength = "strong"',
        '{ id = "sclc-x", strength = "strong"',
        "unknown cancer",
    ),
    ("endocrine.toml", 'category = "endocrine"', 'category = "hormonal"', "expected one of"),
    (
        "cancers.toml",
        'screening.citation = "PMID:20880069"\n',
        "\n",
        "missing required key(s): screening.citation",
    ),
    (
        "findings.toml",
        '"dizziness", "spinning sensation"',
        '"dizziness; spinning sensation"',
        "contains ';', which separates findings in batch CSV files",
    ),
    (
        "cancers.toml",
        'name = "Breast cancer"\nsex = "any"\n',
        'name = "Breast cancer"\nsex = "any"\n'
        'rare_in = { sex = "male", factor = 1.5, citation = "DOI:10.1056/NEJMra1707939" }\n',
        "`rare_in.factor` must be between 0 and 1, got 1.5",
    ),
    (
        "cancers.toml",
        'name = "Breast cancer"\nsex = "any"\n',
        'name = "Breast cancer"\nsex = "any"\nrare_in = { sex = "men", factor = 0.01, '
        'citation = "DOI:10.1056/NEJMra1707939" }\n',
        "`rare_in.sex` is 'men'; expected one of female, male",
    ),
    (
        "cancers.toml",
        'name = "Breast cancer"\nsex = "any"\n',
        'name = "Breast cancer"\nsex = "any"\nrare_in = { sex = "male", factor = 0.01 }\n',
        "missing required key(s): rare_in.citation",
    ),
    (
        "cancers.toml",
        'name = "Breast cancer"\nsex = "any"\n',
        'name = "Breast cancer"\nsex = "female"\nrare_in = { sex = "male", factor = 0.01, '
        'citation = "DOI:10.1056/NEJMra1707939" }\n',
        '`rare_in` needs `sex = "any"`',
    ),
]


@pytest.mark.parametrize(("filename", "old", "new", "message"), DEFECTS)
def test_defects_name_file_entry_and_line(
    slice_copy: Path, filename: str, old: str, new: str, message: str
) -> None:
    path = slice_copy / filename
    line = _replace(path, old, new)
    with pytest.raises(RuleFileError) as info:
        load_rule_directory(slice_copy)
    error = info.value
    assert message in str(error)
    assert error.path == str(path)
    assert error.line == _line_of_header_before(path, line)
    assert error.entry  # the entry id is named


def test_synonym_claimed_twice(slice_copy: Path) -> None:
    _replace(
        slice_copy / "findings.toml",
        'synonyms = ["dry mouth"]',
        'synonyms = ["dry mouth", "slurred speech"]',
    )
    with pytest.raises(RuleFileError, match="may belong to one finding only"):
        load_rule_directory(slice_copy)


def test_at_least_more_than_listed(slice_copy: Path) -> None:
    path = slice_copy / "other.toml"
    _replace(
        path, 'any = ["Nephrotic syndrome"]', 'at_least = { n = 2, of = ["Nephrotic syndrome"] }'
    )
    with pytest.raises(RuleFileError, match="can never hold"):
        load_rule_directory(slice_copy)


def test_rule_without_conditions(slice_copy: Path) -> None:
    _replace(slice_copy / "hematological.toml", 'all = ["Polycythemia"]\n', "")
    with pytest.raises(RuleFileError, match="fire for everybody"):
        load_rule_directory(slice_copy)


def test_toml_syntax_error_names_the_line(slice_copy: Path) -> None:
    path = slice_copy / "other.toml"
    line = _replace(path, "weight = 4", "weight = = 4")
    with pytest.raises(RuleFileError) as info:
        load_rule_directory(slice_copy)
    assert info.value.line == line
    assert "TOML syntax error" in str(info.value)


@pytest.mark.parametrize(
    "content", [b"\xff\xfe\x00binary", b"[[rule]\nid = ", "é".encode("latin-1")]
)
def test_broken_files(slice_copy: Path, content: bytes) -> None:
    (slice_copy / "broken.toml").write_bytes(content)
    with pytest.raises(RuleFileError) as info:
        load_rule_directory(slice_copy)
    assert info.value.path.endswith("broken.toml")


def test_missing_directory_and_manifest(tmp_path: Path) -> None:
    with pytest.raises(RuleFileError, match="does not exist") as missing_directory:
        Engine.from_directory(tmp_path / "nope")
    assert missing_directory.value.code == "E001"
    with pytest.raises(RuleFileError, match=r"manifest\.toml is missing") as missing_manifest:
        Engine.from_directory(tmp_path)
    assert missing_manifest.value.code == "E002"
    assert missing_manifest.value.message.startswith("E002: ")


def test_all_problems_are_collected(slice_copy: Path) -> None:
    _replace(slice_copy / "other.toml", "weight = 4", "weight = 40")
    _replace(slice_copy / "endocrine.toml", 'all = ["Hyponatremia"]\n', 'all = ["Hyponatremiaa"]\n')
    with pytest.raises(RuleFileError) as info:
        load_rule_directory(slice_copy)
    problems = info.value.problems  # type: ignore[attr-defined]
    assert len(problems) == 2
    assert {Path(p.path).name for p in problems} == {"other.toml", "endocrine.toml"}


def test_a_curator_directory_extends_the_rules(slice_copy: Path) -> None:
    (slice_copy / "local.toml").write_text(
        '[[syndrome]]\nid = "test-syndrome"\nname = "Test"\ncategory = "other"\n'
        'citations = ["PMID:20810794"]\ncancers = [{ id = "sclc", strength = "weak", citation = "PMID:20810794" }]\n\n'
        '[[rule]]\nid = "test-rule"\nsyndrome = "test-syndrome"\nweight = 5\nall = ["Headache", "Fatigue"]\n'
        'citation = "PMID:20810794"\n'
    )
    engine = Engine.from_directory(slice_copy)
    result = engine.suggest(["headache", "fatigue"])
    assert result.syndromes[0].id == "test-syndrome"
    assert result.syndromes[0].score == 5


def test_a_finding_names_the_hpo_terms_that_stand_for_it(slice_copy: Path) -> None:
    path = slice_copy / "findings.toml"
    _replace(path, 'id = "pns:anti-hu"\nlabel', 'id = "pns:anti-hu"\nhpo = ["HP:5000016"]\nlabel')
    kb = load_rule_directory(slice_copy)
    assert kb.findings["pns:anti-hu"].hpo == ("HP:5000016",)
    assert kb.terms["hp:5000016"].maps_to == frozenset({"pns:anti-hu"})


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            'id = "pns:anti-hu"\nlabel',
            'id = "pns:anti-hu"\nhpo = ["Hu"]\nlabel',
            "`hpo` must list HPO ids",
        ),
        (
            'id = "HP:0001251"\nlabel',
            'id = "HP:0001251"\nhpo = ["HP:0001251"]\nlabel',
            "`hpo` lists the finding's own id",
        ),
        (
            'id = "pns:anti-hu"\nlabel',
            'id = "pns:anti-hu"\nhpo = ["HP:0001251"]\nlabel',
            "also names finding 'HP:0001251'",
        ),
    ],
)
def test_bad_hpo_lists_are_refused(slice_copy: Path, old: str, new: str, message: str) -> None:
    _replace(slice_copy / "findings.toml", old, new)
    with pytest.raises(RuleFileError, match=message) as info:
        load_rule_directory(slice_copy)
    assert info.value.entry


def test_an_unknown_top_level_key_of_the_hpo_map_is_refused(rules_copy: Path) -> None:
    path = rules_copy / "hpo-map.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps({"extra": 1, **data}, indent=0), encoding="utf-8")
    with pytest.raises(RuleFileError) as info:
        load_rule_directory(rules_copy)
    error = info.value
    assert (error.path, error.line, error.code) == (str(path), 2, "E010")
    assert error.detail == (
        "unknown top-level key 'extra'; expected dropped_ambiguous_synonyms, generated_by, "
        "hpo_release, obsolete, source, terms"
    )
