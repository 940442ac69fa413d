"""Other ways of writing a known name: direction words, possessives and plurals."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pns_rules import default_engine, suggest
from pns_rules.vocabulary import normalize_term, variant_keys

KB = default_engine().knowledge_base
HIGH = ("elevated", "raised", "high", "increased")
LOW = ("low", "reduced", "decreased", "lowered")


def _counted(term: str) -> frozenset[str]:
    return frozenset(f for finding in suggest([term]).findings for f in finding.counts_as)


@pytest.mark.parametrize(
    ("written", "known"),
    [
        ("raised cortisol", "high cortisol"),
        ("elevated calcium", "hypercalcaemia"),
        ("raised alkaline phosphatase", "high alkaline phosphatase"),
        ("high ALP", "elevated ALP"),
        ("elevated beta-hCG", "high beta-hCG"),
        ("reduced level of consciousness", "decreased level of consciousness"),
        ("Cushing syndrome", "Cushing's syndrome"),
        ("Gottron\N{RIGHT SINGLE QUOTATION MARK}s papules", "Gottron's papules"),
        ("pseudofractures", "pseudofracture"),
        ("pulmonary emboli", "pulmonary embolus"),
        ("Cushing\N{RIGHT SINGLE QUOTATION MARK}s syndrome", "Cushing's syndrome"),
        ("Cushings syndrome", "Cushing's syndrome"),
        ("Bell\N{RIGHT SINGLE QUOTATION MARK}s palsy", "Bell's palsy"),
        ("hypoglycaemic episode", "hypoglycaemic episodes"),
        ("night sweat", "night sweats"),
        ("DVTs", "DVT"),
    ],
)
def test_another_way_of_writing_a_known_name_counts_as_it(written: str, known: str) -> None:
    assert normalize_term(written) not in KB.terms  # the variant is what is tested
    assert _counted(written) == _counted(known) != frozenset()


@pytest.mark.parametrize(
    "written",
    [
        "raised sodium",
        "low calcium",
        "high potassium",
        "low CK",
        # A direction word is swapped only on lab findings and levels: here it is no direction.
        "reduced back pain",
        "increased stepping",
    ],
)
def test_a_direction_word_is_never_turned_into_its_opposite(written: str) -> None:
    result = suggest([written], strict=False)
    assert result.findings == ()
    assert [u.given for u in result.unrecognized] == [written]


_DIRECTED = sorted(
    (key, term.maps_to)
    for key, term in KB.terms.items()
    if key.split(" ")[0] in HIGH + LOW and len(key.split(" ")) > 1
)


@given(st.sampled_from(_DIRECTED), st.sampled_from(HIGH + LOW))
def test_a_variant_counts_only_as_a_known_name_with_the_same_direction(
    directed: tuple[str, frozenset[str]], word: str
) -> None:
    key, _ = directed
    rest = key.split(" ", 1)[1]
    written = f"{word} {rest}"
    counted = frozenset(
        f
        for finding in suggest([written], strict=False, read_text=False).findings
        for f in finding.counts_as
    )
    group = HIGH if word in HIGH else LOW
    allowed = frozenset(
        f
        for w in group
        if (term := KB.terms.get(normalize_term(f"{w} {rest}"))) is not None
        for f in term.maps_to
    )
    assert counted <= allowed, written


def test_variant_keys_are_few_and_never_the_key_itself() -> None:
    for key in list(KB.terms)[:2000]:
        variants = variant_keys(key)
        assert key not in variants
        assert len(variants) <= 12
    assert variant_keys("") == ()
    assert variant_keys(" ".join(["word"] * 50)) == ()
