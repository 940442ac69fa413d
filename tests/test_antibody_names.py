"""Antibody names as laboratories and papers write them (pns_rules.antibody_names)."""

from __future__ import annotations

import pickle
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pns_rules import UnknownFindingError, default_engine, suggest
from pns_rules.antibody_names import antibody_term, compact_name
from pns_rules.knowledge import KnowledgeBase
from pns_rules.results import RecognizedFinding
from pns_rules.vocabulary import normalize_term

KB = default_engine().knowledge_base
ANTIBODIES = sorted(f.id for f in KB.findings.values() if f.kind == "antibody")


def _names(finding_id: str) -> list[str]:
    finding = KB.findings[finding_id]
    return [finding.label, *finding.synonyms]


def _antibodies_of(name: str) -> frozenset[str]:
    return _counted(suggest([], antibodies=[name]).findings)


def _counted(findings: tuple[RecognizedFinding, ...]) -> frozenset[str]:
    return frozenset(f for finding in findings for f in finding.counts_as)


@pytest.mark.parametrize(
    ("name", "antibody"),
    [
        # The 2021 PNS criteria write the antigen's two names together (PMID:34006622).
        ("CV2/CRMP5", "pns:anti-cv2"),
        ("anti-CV2/CRMP5", "pns:anti-cv2"),
        ("CV2/CRMP5-IgG", "pns:anti-cv2"),
        ("Ma2/Ta", "pns:anti-ma2"),
        ("anti-Ma2/Ta", "pns:anti-ma2"),
        ("Tr/DNER", "pns:anti-tr"),
        ("Tr (DNER)", "pns:anti-tr"),
        ("anti-Hu (ANNA-1)", "pns:anti-hu"),
        ("anti-Yo (PCA-1) antibody", "pns:anti-yo"),
        ("anti-Ri (ANNA-2)", "pns:anti-ri"),
        # Spaced or punctuated otherwise.
        ("SOX-1", "pns:anti-sox1"),
        ("GAD-65", "pns:anti-gad65"),
        ("GABA(B)R", "pns:anti-gabab"),
        ("anti-GABAB-R", "pns:anti-gabab"),
        ("NMDA-R", "pns:anti-nmdar"),
        ("anti-LGI-1", "pns:anti-lgi1"),
        ("Caspr-2", "pns:anti-caspr2"),
        ("anti-TIF1-\N{GREEK SMALL LETTER GAMMA}", "pns:anti-tif1g"),
        ("CRMP-5-IgG", "pns:anti-cv2"),
        ("anti-P/Q-type calcium channel antibodies", "pns:anti-vgcc"),
    ],
)
def test_antibody_names_as_written_in_reports(name: str, antibody: str) -> None:
    assert _antibodies_of(name) == {antibody}
    # The same name given as a finding counts the same.
    assert _counted(suggest([name]).findings) == {antibody}


@pytest.mark.parametrize(
    "name",
    [
        "anti-Yo (negative)",  # a result, not a name
        "anti-Hu (high titre)",  # a qualifier is not a second name: reported with a suggestion
        "Hu/Yo",  # two antibodies: a panel, not one antibody
        "anti-Hu/anti-Yo",
        "SOX-1 negative",
        "GAD",  # a bare abbreviation is not read as anti-GAD
        "a/b/c/d/e/f",
        # A minus sign in brackets (folded to a space when normalised), a question mark or a
        # trailing slash may be a result: not read as the antibody.
        "anti-Yo (-)",
        "SOX-1 (\N{EN DASH})",
        "anti-Yo?",
        "SOX-1?",
        "anti-Yo (?)",
        "anti-Yo/",
        "/CV2",
        "anti-Yo [1:100]",
        # Found by a sweep: a minus in a compatibility form, and bare names in brackets.
        "anti-Yo \N{SMALL HYPHEN-MINUS}",
        "anti-CASPR2\N{SMALL HYPHEN-MINUS}",
        "anti-Yo \N{PRESENTATION FORM FOR VERTICAL EM DASH}",
        "(GAD)",
        "GAD/GAD",
        "(Ta)",
    ],
)
def test_names_that_are_not_one_antibody_are_reported(name: str) -> None:
    with pytest.raises(UnknownFindingError):
        suggest([], antibodies=[name])
    result = suggest([], antibodies=[name], strict=False)
    assert [u.given for u in result.unrecognized] == [name]
    assert result.syndromes == ()


def test_a_compact_name_two_antibodies_share_names_neither(kb: KnowledgeBase) -> None:
    import attrs

    from pns_rules.antibody_names import AntibodyNames
    from pns_rules.knowledge import Term

    yo, hu = "pns:anti-yo", "pns:anti-hu"
    terms = {
        "ab 12": Term(id=yo, label="Yo", maps_to=frozenset({yo})),
        "ab12": Term(id=hu, label="Hu", maps_to=frozenset({hu})),
        "cd 34": Term(id=yo, label="Yo", maps_to=frozenset({yo})),
    }
    clashing = attrs.evolve(kb, terms=terms, antibody_names=AntibodyNames(terms, {yo, hu}))
    assert antibody_term(clashing, "a b 1 2") is None
    assert antibody_term(clashing, "cd34") is terms["cd 34"]


def test_the_compact_index_is_built_once_and_not_pickled() -> None:
    names = KB.antibody_names
    assert names is not None
    assert names.lookup("sox 1") is not None
    copy = pickle.loads(pickle.dumps(names))
    assert copy._index is None
    assert copy.lookup("sox 1") == names.lookup("sox 1")


def test_compact_names() -> None:
    assert compact_name("gaba(b)r") == compact_name("gabab r") == "gababr"
    assert compact_name("tif1 \N{GREEK SMALL LETTER GAMMA}") == "tif1gamma"


_pairs = st.sampled_from(ANTIBODIES).flatmap(
    lambda a: st.tuples(st.just(a), st.sampled_from(_names(a)), st.sampled_from(_names(a)))
)


@given(_pairs, st.sampled_from(["/", " / ", " (", "("]))
def test_two_names_of_one_antibody_together_name_it(pair: tuple[str, str, str], joint: str) -> None:
    antibody, first, second = pair
    name = f"{first}{joint}{second}{')' if '(' in joint else ''}"
    term = antibody_term(KB, normalize_term(name))
    if term is None:  # a name that is itself two names ("P/Q-type VGCC") may not split cleanly
        assert "/" in first + second or "(" in first + second
    else:
        assert term.maps_to == {antibody}


def _splits_into_names(antibody: str, name: str) -> bool:
    """Whether what ``name`` holds in brackets is a name of ``antibody`` too ("Anti-Hu (ANNA-1)
    antibody"), not a qualifier ("Anti-AChR (muscle) antibody")."""
    inner = re.findall(r"\(([^()]*)\)", name)
    return all(KB.terms.get(normalize_term(part), None) is not None for part in inner) and all(
        KB.terms[normalize_term(part)].maps_to == {antibody} for part in inner
    )


_simple_names = [
    (antibody, name)
    for antibody in ANTIBODIES
    for name in _names(antibody)
    if "/" not in name and _splits_into_names(antibody, name)
]


@given(st.sampled_from(_simple_names), st.sampled_from(_simple_names))
def test_names_of_two_antibodies_together_never_name_one(
    first: tuple[str, str], second: tuple[str, str]
) -> None:
    term = antibody_term(KB, normalize_term(f"{first[1]}/{second[1]}"))
    if first[0] != second[0]:
        assert term is None
    else:
        assert term is not None and term.maps_to == {first[0]}


_RESULTS = ["negative", "neg", "not detected", "pending", "-", "\N{MINUS SIGN}", "?", "+/-", " "]


@given(
    st.sampled_from(ANTIBODIES), st.sampled_from(_RESULTS), st.sampled_from(["({})", " {}", "{}"])
)
def test_a_result_written_after_a_name_never_counts_as_the_antibody(
    antibody: str, result: str, form: str
) -> None:
    for name in _names(antibody):
        given = name + form.format(result)
        if given.strip() == name:
            continue
        counted = _counted(suggest([], antibodies=[given], strict=False).findings)
        assert counted == frozenset(), given


@pytest.mark.parametrize("given", ["anti-CASPR2-", "GAD65 -", "anti-LGI1 \N{EN DASH}", "SOX1 +/-"])
def test_a_minus_after_a_name_with_a_digit_is_a_negative_result(given: str) -> None:
    # Inside text a minus after a word with a digit marks nothing ("CD34-"); a term given on
    # its own that ends with one is a result.
    for call in ({"findings": [given]}, {"findings": [], "antibodies": [given]}):
        result = suggest(**call, strict=False)  # type: ignore[arg-type]
        assert result.findings == ()
        assert "negative or equivocal result" in result.unrecognized[0].reason


def test_a_refused_result_says_why_and_suggests_nothing() -> None:
    with pytest.raises(UnknownFindingError) as info:
        suggest([], antibodies=["anti-Yo (negative)"])
    assert "it says 'negative'" in str(info.value)
    assert "did you mean" not in str(info.value)
    with pytest.raises(UnknownFindingError) as marked:
        suggest([], antibodies=["anti-CASPR2-"])
    assert "negative or equivocal result" in str(marked.value)
    with pytest.raises(UnknownFindingError) as finding:
        suggest([], antibodies=["ataxia"])
    assert "not an antibody; pass it in findings" in str(finding.value)


def test_a_blank_term_is_not_called_a_negative_result() -> None:
    # ends_with_minus() took the empty last character of "   " for a dash ("" is in any string).
    result = suggest(["   "], strict=False)
    assert "negative or equivocal" not in result.unrecognized[0].reason
