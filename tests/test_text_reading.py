"""Free-text findings: known terms are read from asserting text, never from denying or doubting text."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from pns_rules import default_engine, suggest
from pns_rules.cli import main
from pns_rules.testing import ranking
from pns_rules.text_reading import (
    _AMBIGUOUS_ACRONYMS,
    MIN_CONTAINED_LENGTH,
    TextReader,
    blocking_cue,
)
from pns_rules.vocabulary import normalize_term

KB = default_engine().knowledge_base
#: Vocabulary labels that can be read from text (long enough, no cue word of their own).
READABLE_LABELS = sorted(
    finding.label
    for finding in KB.findings.values()
    if len(normalize_term(finding.label)) >= MIN_CONTAINED_LENGTH
    and blocking_cue(finding.label) is None
    and finding.kind != "antibody"
)
#: Antibody labels, which are read only from a term of their own, never from inside text.
ANTIBODY_LABELS = sorted(f.label for f in KB.findings.values() if f.kind == "antibody")


def test_the_reader_reads_whole_words_longest_first_without_overlaps() -> None:
    reader = TextReader(["ataxia", "gait ataxia", "gait", "erythema gyratum repens", "acne"])

    def keys(text: str) -> tuple[str, ...]:
        return tuple(named.key for named in reader.read(text))

    assert keys("Progressive gait ataxia.") == ("gait ataxia",)
    assert keys("ataxias and dysataxia") == ()
    assert keys("acne on the face") == ()  # too short a name to look for inside text
    assert keys("Erythema gyratum repens: serpiginous rash") == ("erythema gyratum repens",)
    assert keys("ataxia, then gait ataxia") == ("ataxia", "gait ataxia")
    assert keys("x " * 1_000 + "ataxia") == ()  # too long to read


def test_a_cue_stops_the_names_in_its_own_clause_only() -> None:
    reader = TextReader(
        ["ataxia", "gait ataxia", "nystagmus", "diplopia", "non islet tumour", "depression"]
    )
    cases = {
        "gait ataxia; no diplopia": {"gait ataxia": None, "diplopia": "no"},
        "no diplopia. Gait ataxia": {"diplopia": "no", "gait ataxia": None},
        "no diplopia, nystagmus or ataxia": {"diplopia": "no", "nystagmus": "no", "ataxia": "no"},
        "diplopia and nystagmus ruled out": {"diplopia": "ruled out", "nystagmus": "ruled out"},
        "ataxia (no nystagmus)": {"ataxia": None, "nystagmus": "no"},
        "ataxia (negative)": {"ataxia": "negative"},
        "ataxia (not present)": {"ataxia": "not"},
        "ataxia (no history of falls)": {"ataxia": "no"},
        "nystagmus sought but absent": {"nystagmus": "absent"},
        "nystagmus, but ataxia": {"nystagmus": None, "ataxia": None},
        "ataxia- nystagmus+": {"ataxia": "-", "nystagmus": None},
        "ataxia: -; nystagmus": {"ataxia": "-", "nystagmus": None},
        "nystagmus with CD34- cells": {"nystagmus": None},
        "neg. for ataxia": {"ataxia": "neg"},
        "fever etc. or diplopia denied": {"diplopia": "denied"},
        "ataxia ..... negative": {"ataxia": "negative"},
        "ataxia due to a tumour": {"ataxia": None},
        "ataxia that did not improve": {"ataxia": None},
        "onset in May 2021 with ataxia": {"ataxia": None},
        "a non-smoker with ataxia": {"ataxia": None},
        "a 2-year-old child with ataxia": {"ataxia": None},
        "her child has ataxia": {"ataxia": "child"},
        "her husband witnessed nystagmus": {"nystagmus": None},
        "nystagmus noticed by her family": {"nystagmus": None},
        "according to his wife, nystagmus": {"nystagmus": None},
        "her mother has nystagmus": {"nystagmus": "mother"},
        "diplopia normal, nystagmus and ataxia": {
            "diplopia": "normal",
            "nystagmus": None,
            "ataxia": None,
        },
        "nystagmus and ataxia, diplopia normal": {
            "nystagmus": None,
            "ataxia": None,
            "diplopia": "normal",
        },
        "nystagmus and ataxia negative": {"nystagmus": "negative", "ataxia": "negative"},
        "negative for nystagmus, ataxia": {"nystagmus": "negative for", "ataxia": "negative for"},
        "ataxia with normal MRI and diplopia": {"ataxia": None, "diplopia": None},
        # Written just before a name, "normal", "low", "reduced"... deny it ("low 5-HIAA").
        "ataxia with normal diplopia": {"ataxia": None, "diplopia": "normal"},
        "reduced nystagmus, ataxia": {"nystagmus": "reduced", "ataxia": None},
        "ataxia due to a tumour, apart from nystagmus": {"ataxia": None, "nystagmus": None},
        "ataxia may be present": {"ataxia": "may"},
        "ST depression; nystagmus": {"nystagmus": None},
        "no ataxia (nystagmus on gaze)": {"ataxia": "no", "nystagmus": "no"},
        "ataxia (nystagmus) was excluded": {"ataxia": "excluded", "nystagmus": "excluded"},
        "no diplopia but gait ataxia": {"diplopia": "no", "gait ataxia": None},
        "diplopia? ataxia": {"diplopia": "?", "ataxia": None},
        "?nystagmus; ataxia": {"nystagmus": "?", "ataxia": None},
        "ataxia, ? nystagmus": {"ataxia": "?", "nystagmus": "?"},
        "ataxia without diplopia": {"ataxia": None, "diplopia": "without"},
        "ataxia first attributed to a stroke": {"ataxia": None},
        "a stroke first attributed to ataxia": {"ataxia": "attributed to"},
        "mother had ataxia; nystagmus": {"ataxia": "mother", "nystagmus": None},
        "ataxia 1.5 years, no nystagmus": {"ataxia": "no", "nystagmus": "no"},
        "no ataxia; ataxia later": {"ataxia": None},
        "non-islet tumour confirmed": {"non islet tumour": None},
        "seronegative ataxia": {"ataxia": None},
        "seronegative for ataxia": {"ataxia": "seronegative for"},
    }
    for text, expected in cases.items():
        assert dict(reader.read(text)) == expected, text


def test_modifiers_coordinated_before_a_name_form_names_with_its_last_words() -> None:
    reader = TextReader(["gait ataxia", "truncal ataxia", "limb ataxia", "ataxia", "night sweats"])
    cases = {
        "truncal and gait ataxia": {"gait ataxia": None, "truncal ataxia": None},
        "truncal, limb or gait ataxia": {
            "gait ataxia": None,
            "limb ataxia": None,
            "truncal ataxia": None,
        },
        "no truncal and gait ataxia": {"gait ataxia": "no", "truncal ataxia": "no"},
        # Only names the vocabulary has: "fever ... sweats" and "severe ataxia" are not names.
        "fever and night sweats": {"night sweats": None},
        "severe and gait ataxia": {"gait ataxia": None},
        # Not across a full stop, and not over a word another name already took.
        "truncal. And gait ataxia": {"gait ataxia": None},
        "limb ataxia and gait ataxia": {"limb ataxia": None, "gait ataxia": None},
    }
    for text, expected in cases.items():
        assert dict(reader.read(text)) == expected, text


def test_acronyms_are_read_inside_text_only_in_capitals() -> None:
    reader = TextReader(
        ["dvt", "deep vein thrombosis", "itp", "igav"], acronyms=["DVT", "ITP", "IgAV"]
    )
    cases = {
        "unprovoked DVT": {"dvt": None},
        "no DVT": {"dvt": "no"},
        "ataxia; ?ITP": {"itp": "?"},
        "IgAV rash": {"igav": None},
        "dvt in the left leg": {},  # not written as an acronym
        "IGAV rash": {},  # not written as the vocabulary writes it
        "DVT-like swelling": {},  # part of a hyphenated word
        # A process around the finding, not the finding (found by a sweep):
        "DVT prophylaxis given": {},
        "Doppler ultrasound for DVT": {},
        "Wells score for DVT 0": {},
        "DVT clinic": {},
        "UNPROVOKED DVT": {},  # all in capitals: an acronym cannot be told from a word
    }
    for text, expected in cases.items():
        assert dict(reader.read(text)) == expected, text


_ACRONYMS = sorted(
    a for a in (KB.text_reader._acronyms if KB.text_reader else ()) if a not in _AMBIGUOUS_ACRONYMS
)


@given(st.sampled_from(_ACRONYMS))
def test_every_vocabulary_acronym_is_read_in_capitals_and_denied_by_a_cue(acronym: str) -> None:
    expected = KB.terms[normalize_term(acronym)].maps_to
    asserted = suggest([f"a patient with {acronym} since May"]).findings
    assert {f for finding in asserted for f in finding.counts_as} == expected
    denied = suggest([f"no {acronym}"], strict=False)
    assert denied.findings == ()
    assert denied.unrecognized[0].reason.startswith("free text naming")


_TWO_WORD_NAMES = sorted(
    {
        (words[0], words[1])
        for label in READABLE_LABELS
        if len(words := normalize_term(label).split()) == 2 and words[0].isalpha()
    }
)
_SHARED_HEADS = sorted(
    (first, second)
    for first in _TWO_WORD_NAMES
    for second in _TWO_WORD_NAMES
    if first[1] == second[1] and first[0] != second[0]
)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(_SHARED_HEADS), st.sampled_from([" and ", " or ", ", "]))
def test_two_vocabulary_names_sharing_their_last_word_are_both_read_when_coordinated(
    pair: tuple[tuple[str, str], tuple[str, str]], joint: str
) -> None:
    (modifier, head), (other, _) = pair
    # Commas are not words: "peripheral, sensory neuropathy" names peripheral sensory neuropathy.
    assume(f"{modifier} {other} {head}" not in KB.terms)
    text = f"{modifier}{joint}{other} {head}"
    read = dict(KB.text_reader.read(text)) if KB.text_reader else {}
    assert {f"{modifier} {head}", f"{other} {head}"} <= read.keys(), text
    assert all(cue is None for cue in read.values())
    denied = dict(KB.text_reader.read(f"no {text}")) if KB.text_reader else {}
    assert {f"{modifier} {head}", f"{other} {head}"} <= denied.keys()
    assert all(cue == "no" for cue in denied.values())


@settings(max_examples=150, deadline=None)
@given(
    label=st.sampled_from(READABLE_LABELS),
    before=st.sampled_from(["", "on examination:", "biopsy consistent with", "new"]),
    after=st.sampled_from(["", "since March", "(reported by the patient)", "- confirmed"]),
)
def test_a_label_inside_asserting_text_counts_as_the_label(
    label: str, before: str, after: str
) -> None:
    text = f"{before} {label} {after}".strip()
    assert ranking(suggest([text], age=60, sex="female")) == ranking(
        suggest([label], age=60, sex="female")
    )


@settings(max_examples=150, deadline=None)
@given(
    label=st.sampled_from(READABLE_LABELS),
    cue=st.sampled_from(["no {}", "{} ruled out", "possible {}", "family history of {}", "{}?"]),
)
def test_a_label_inside_denying_or_doubting_text_never_counts(label: str, cue: str) -> None:
    text = cue.format(label)
    result = suggest([text], age=60, sex="female", strict=False)
    assert result.syndromes == ()
    assert [u.given for u in result.unrecognized] == [text]


@settings(max_examples=100, deadline=None)
@given(
    label=st.sampled_from(ANTIBODY_LABELS),
    around=st.sampled_from(["{} positive in serum", "serum {} 1:640", "new {} (confirmed)"]),
)
def test_an_antibody_inside_free_text_is_never_read_and_says_why(label: str, around: str) -> None:
    text = around.format(label)
    result = suggest([text], age=60, sex="female", strict=False)
    assert result.findings == () and result.syndromes == ()
    assert [u.given for u in result.unrecognized] == [text]
    assert "antibodies are read only from a term of their own" in result.unrecognized[0].reason
    assert suggest([label], age=60, sex="female").findings[0].label == label


@pytest.mark.parametrize(
    "text",
    [
        "ST depression on ECG",
        "Friedreich ataxia",
        "psychogenic seizures",
        "ataxia rating scale 0",
        "respiratory depression after opioids",
        "breast ptosis",
        "glandular fever as a teenager",
        "falls asleep easily",
        "pulmonary hypertension",
    ],
)
def test_a_name_used_in_another_sense_is_not_read(text: str) -> None:
    result = suggest([text], age=60, sex="female", strict=False)
    assert result.findings == () and [u.given for u in result.unrecognized] == [text]


CUE_TEMPLATES = ["no {}", "{} ruled out", "possible {}", "family history of {}", "{}?"]
SEPARATED_TEMPLATES = ["{asserted}; {denied}", "{denied}. {asserted}", "{asserted} ({denied})"]


@settings(max_examples=150, deadline=None)
@given(
    asserted=st.sampled_from(READABLE_LABELS),
    denied=st.sampled_from(READABLE_LABELS),
    cue=st.sampled_from(CUE_TEMPLATES),
    joined=st.sampled_from(SEPARATED_TEMPLATES),
)
def test_a_denied_clause_beside_an_asserting_one_counts_only_the_asserted_label(
    asserted: str, denied: str, cue: str, joined: str
) -> None:
    text = joined.format(asserted=asserted, denied=cue.format(denied))
    result = suggest([text], age=60, sex="female")
    assert ranking(result) == ranking(suggest([asserted], age=60, sex="female"))
    if normalize_term(denied) not in normalize_term(asserted):
        # The denied name is reported as not read, never silently dropped.
        assert any(text in note and "not read" in note for note in result.notes)


def test_the_command_line_reads_free_text_unless_told_not_to(tmp_path: Path) -> None:
    text = "skin biopsy consistent with Sweet syndrome"
    rows = tmp_path / "rows.jsonl"
    rows.write_text(json.dumps({"id": "p1", "age": 60, "findings": [text, "Fever"]}) + "\n")
    for flags, read in (([], True), (["--no-read-text", "--lenient"], False)):
        out = tmp_path / f"out{len(flags)}.jsonl"
        assert main(["batch", str(rows), "-o", str(out), "--quiet", "--full", *flags]) == 0
        result = json.loads(out.read_text())
        assert (text in [f["given"] for f in result["findings"]]) is read
        assert (text in [u["given"] for u in result["unrecognized"]]) is not read
        printed = io.StringIO()
        code = main(["suggest", text, "--age", "60", "--json", *flags], out=printed)
        assert code == 0
        assert (json.loads(printed.getvalue())["syndromes"] != []) is read
