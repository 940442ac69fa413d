"""Reading measured values in free text ("Na 118 mmol/L", "platelets 780 x 10^9/L") as lab findings.

The rule base's ``[[lab]]`` entries (see docs/rule-format.md) say, for each analyte, its names, the
threshold beyond which the value is the finding (with its citation), its units and the ages the
threshold is for. Reading is cautious: a value it is not sure of is left unread (and the text is
reported as unknown), never read. A value is read only when

- it is written right after the analyte's name ("Na 118", "sodium was 118", "Na: 118"), as a plain
  number: no comparator before or after it ("<125", "125 or less"), no range;
- it comes with one of the entry's units, or with none, lies in the usual range of only one unit
  and is followed by nothing that could be its unit or count ("glucose 2 hours after", "K 2
  tablets" are not values);
- its sentence names no other sample, fluid, solution or analyte (urine, CSF, dialysate, ionised
  calcium, vitamin K, fetal haemoglobin, the CA 19-9 marker...) and no other person, hypothetical,
  target, statistic, example or definition ("mother's", "if", "target", "mean", "e.g.", "defined
  as"), its clause no negation or doubt, and what follows it no doubt ("?", "spurious", "haemolysed",
  "repeat 139", "corrected 2.45");
- where the text also gives the albumin-corrected calcium, only that one is read.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

import attrs

from .knowledge import LabThreshold
from .text_reading import blocking_cue
from .vocabulary import normalize_term

__all__ = ["LabReading", "read_lab_values", "read_quantity"]

#: Text longer than this is not searched for lab values.
MAX_LAB_TEXT = 480

_DIGIT = re.compile(r"\d")
_NUMBER = (
    r"(?P<number>\d{1,3}(?:,\d{3}){1,2}(?![.,]?\d)"
    r"|\d{1,3}(?:[ \u00a0\u202f]\d{3}){1,2}(?=\s*(?:/|x|\u00d7))"
    r"|\d{1,7}(?:[.,]\d{1,3})?)"
)
#: Words that may stand between an analyte's name and its value ("sodium was 118", "Na: 118").
_BETWEEN = (
    r"(?:\s*\((?:serum|plasma|blood|venous|capillary|corrected|adjusted)\))?"
    r"(?:\s*(?:levels?|concentration|count|value))?"
    r"(?:\s*(?:on|at)\s+(?:admission|presentation|arrival))?"
    r"(?:\s*(?:fell|dropped|decreased|declined|rose|increased|climbed|peaked)"
    r"(?:\s+from\s+\d{1,7}(?:[.,]\d{1,3})?(?:\s*[a-z/]+)?)?(?:\s+(?:to|at))?)?"
    r"(?:\s*(?:was\s+)?(?:low|high)\s+at)?(?:\s*as\s+(?:low|high)\s+as)?"
    r"(?:\s*(?:was|were|is|of|at|nadir|measured|reached|:|=)){0,3}\s*"
)
_COMPARATOR = (
    r"(?P<comparator>(?:<|>|\u2264|\u2265|=<|>=|less than|greater than|over|under|up to)\s*)?"
)
_RANGE = r"(?P<range>\s*(?:-|\u2013|to)\s*\d)?"
_UNIT = r"(?P<unit>[^,;()\[\]]{0,24})"
#: A sample, fluid, solution, fraction or other analyte anywhere in the value's sentence: the
#: thresholds are for the patient's own serum (or blood) values.
_OTHER_SAMPLE = re.compile(
    r"\b(?:urine|urinary|csf|cerebrospinal|lumbar puncture|lp|fluids?(?! restrict)|pleural|ascitic|ascites"
    r"|peritoneal|sweat|stool|faecal|fecal|synovial|pericardial|amniotic|dialysate|dialysis"
    r"|haemodialysis|hemodialysis|bath|bal|lavage|bronchoalveolar|aspirate|drain|effusion"
    r"|solution|hartmann|ringer|ors|tpn|parenteral|infusion|bag|saline|24 ?h(?:our|r)?s?"
    r"|ioni[sz]ed|free(?= ?(?:calcium|ca)\b)|fractional|excretion|salivary|vitreous|vitamin|vit|slow|sando|fetal"
    r"|foetal|cord|met|carboxy|glycated|glycosylated|coronary|agatston|score|marker|tumou?r"
    r"|donor|osmolality|osm)\b"
)
#: A serum value named as such: no other sample is meant, whatever the sentence names.
_SERUM = re.compile(r"\b(?:serum|plasma|venous|s|p)\s*-?\s*$")
_SERUM_NAME = re.compile(r"(?:serum|plasma|s\s*-|p\s*-)")
#: Somebody else, a hypothetical, a target, a statistic, an example or a definition anywhere
#: before the value in its sentence.
_CONTEXT = re.compile(
    r"\b(?:mother|father|sister|brother|son|daughter|sibling|family|relative|husband|wife"
    r"|partner|twin|baby|neonate|newborn|another patient|previous patient|index case"
    r"|for comparison|if|whenever|should|would|unless|in case|target|aim|goal|keep|maintain"
    r"|titrat\w*|correct to|desired|ideal|predict\w*|expected|estimat\w*|calculat\w*"
    r"|project\w*|threshold|cut ?-?off|defin\w*|criteri\w*|e\.?g|for example|such as|typical"
    r"|mean|median|average|cohort|textbook|literature)\b"
)
#: Doubt, an artefact or a better value after the value, in brackets or not.
_DOUBT_AFTER = re.compile(
    r"\?|\b(?:spurious|error|erroneous|artefact\w*|artifact\w*|pseudo\w*|haemoly\w*|hemoly\w*"
    r"|drip|contaminat\w*|delayed|repeat\w*|recheck\w*|redo|uncorrected"
    r"|(?:corrected|adjusted)\W{0,3}(?:\w+\W{1,3})?\d+"
    r"|mother|father|donor|fetal|foetal|target|predicted|expected|unlikely|doubtful|query"
    r"|questionable|not confirmed|unconfirmed|ruled out|excluded|not seen|not found|absent"
    r"|negative|denied|family|relative|sibling|brother|sister|son|daughter|husband|wife|partner"
    r"|child|average|mean|median|typical|expected)\b"
)
#: A comparator written after a value ("125 mmol/L or less", "450+").
_COMPARATOR_AFTER = re.compile(
    r"^\s*(?:\+|or\s+(?:less|lower|below|more|higher|above|under|greater|over)"
    r"|and\s+(?:below|above|under|over|less|more|lower|higher))\b"
)
#: What may follow a value written without a unit: the end, punctuation, or one of these words.
_AFTER_UNITLESS = frozenset(
    {
        "on",
        "at",
        "and",
        "with",
        "was",
        "which",
        "despite",
        "in",
        "during",
        "while",
        "but",
        "from",
        "this",
        "that",
        "then",
        "together",
        "alongside",
        "noted",
        "found",
        "recorded",
    }
)
#: The CA tumour markers, which are written like calcium ("CA 19.9", "CA 125").
_TUMOUR_MARKERS = frozenset(
    {
        "19.9",
        "19,9",
        "19",
        "15.3",
        "15,3",
        "15",
        "125",
        "72.4",
        "72,4",
        "72",
        "27.29",
        "27",
        "242",
        "549",
        "50",
    }
)
#: Where a sentence ends: a semicolon, a line break, or a full stop before a space or the end
#: (not the point of "3.2", nor the stops of "e.g.").
_SENTENCE_END = re.compile(r"[;\n]|(?<![a-z]\.[a-z])\.(?=\s|$)")
#: Where a clause ends, for the negation check: a sentence end, a comma or "but".
_CLAUSE_END = re.compile(r"[;,\n]|(?<![a-z]\.[a-z])\.(?=\s|$)|\bbut\b")
_BRACKETS = re.compile(r"\([^()]*\)|\[[^\[\]]*\]")
_SUPERSCRIPTS = str.maketrans(
    "\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079", "0123456789"
)


@attrs.frozen
class LabReading:
    """A value read from free text that crosses its threshold."""

    threshold: LabThreshold
    #: the value in :attr:`LabThreshold.unit`
    value: float
    #: the text read ("Na 118 mmol/L")
    written: str
    #: the unit the text gave, or ``None`` when it gave none and the value told it
    unit: str | None
    #: with no unit given, the one unit whose usual range holds the value
    inferred_unit: str | None = None

    def describe(self, sex: str | None) -> str:
        """How the value was read, for a result's note."""
        t = self.threshold
        limit = t.threshold_for(sex)
        unit = "" if self.unit else f" (no unit given: read as {self.inferred_unit or t.unit})"
        return (
            f"read from the lab value {self.written.strip()!r}{unit}: "
            f"{self.value:.4g} {t.unit} is {t.direction} {limit:g} {t.unit} ({t.citation})"
        )


def read_lab_values(
    text: str,
    thresholds: Iterable[LabThreshold],
    sex: str | None,
    age: float | None = None,
) -> tuple[LabReading, ...]:
    """The values in ``text`` that cross their thresholds for a patient of ``sex`` and ``age``.

    A threshold whose values in the text disagree (one crosses it, another does not: "glucose
    2.1 (fingerprick), lab glucose 4.9") gives nothing."""
    if len(text) > MAX_LAB_TEXT or _DIGIT.search(text) is None:
        return ()
    # Case-folded character by character, so that offsets still index ``text`` ("ß", "ﬁ").
    folded = "".join(c if len(f := c.casefold()) != 1 else f for c in text)
    readings: list[LabReading] = []
    for threshold in thresholds:
        if threshold.age is not None and age is not None and not threshold.age.contains(age):
            continue
        matches = list(_pattern(threshold.names).finditer(folded))
        corrected = [m for m in matches if _CORRECTED.search(m.group("name"))]
        found = [
            reading
            for match in corrected or matches
            if (reading := _reading(threshold, folded, match, text)) is not None
        ]
        crossed = [r for r in found if threshold.crossed(r.value, sex)]
        if crossed and len(crossed) == len(found):
            readings.extend(crossed)
    return tuple(readings)


_CORRECTED = re.compile(r"\b(?:corrected|adjusted)\b")


def read_quantity(
    threshold: LabThreshold, value: float, unit: str | None, written: str
) -> LabReading | str:
    """A coded result's ``value`` in ``unit`` (a FHIR ``valueQuantity``; UCUM codes such as
    ``10*9/L`` are read) as a reading in the threshold's unit, or why it cannot be read."""
    guessed: str | None = None
    if unit:
        found = _known_units(threshold).get(_unit_key(unit))
        if found is None:
            return (
                f"unit {unit!r} is not one {threshold.id} is read in ({', '.join(threshold.units)})"
            )
        shown: str | None = found[0]
        factor = found[1]
    else:
        inferred = _inferred_unit(threshold, value)
        if inferred is None:
            return "no unit, and the value fits no unit or more than one"
        shown = None
        guessed, factor = inferred
    converted = value * factor
    plausible = threshold.ranges.get(threshold.unit)
    if plausible is not None and not plausible[0] <= converted <= plausible[1]:
        return f"{value:g} {unit or ''} is outside the values {threshold.unit} takes".replace(
            "  ", " "
        )
    return LabReading(
        threshold=threshold,
        value=round(converted, 6),
        written=written,
        unit=shown,
        inferred_unit=guessed,
    )


@functools.lru_cache(maxsize=64)
def _pattern(names: tuple[str, ...]) -> re.Pattern[str]:
    spelled = sorted((_spelling(normalize_term(name)) for name in names), key=len, reverse=True)
    return re.compile(
        rf"(?<![\w+\-/'\u2019])(?P<name>{'|'.join(spelled)})(?![a-z_])"
        + _BETWEEN
        + _COMPARATOR
        + _NUMBER
        + r"(?![\d.,]*\d)"
        + _RANGE
        + r"\s*"
        + _UNIT
    )


def _spelling(name: str) -> str:
    """A regular expression for a normalised name: its words apart by spaces or hyphens, and a
    one-letter prefix by a hyphen only ("S-Na", not the "s Na" of "mother's Na")."""
    words = name.split(" ")
    joints = [r"\s*-\s*" if len(word) == 1 else r"[\s\-]*" for word in words[:-1]]
    pairs = zip(words[:-1], joints, strict=True)
    return "".join(re.escape(word) + joint for word, joint in pairs) + re.escape(words[-1])


def _reading(
    threshold: LabThreshold, folded: str, match: re.Match[str], text: str
) -> LabReading | None:
    """The value ``match`` found, if it is one to read (see the module's description)."""
    if match.group("comparator") or match.group("range"):
        return None
    number = match.group("number")
    if normalize_term(match.group("name")) == "ca" and number in _TUMOUR_MARKERS:
        return None
    value = _number(number)
    if value is None:
        return None
    written_unit = match.group("unit")
    unit, factor, spelt = _unit(threshold, written_unit)
    if unit is None:  # a unit this analyte is not measured in
        return None
    if _COMPARATOR_AFTER.match(written_unit[spelt:]):
        return None
    inferred: str | None = None
    if unit == "":
        if not _ends_unitless(written_unit):
            return None
        found = _inferred_unit(threshold, value)
        if found is None:
            return None
        inferred, factor = found
    converted = value * factor
    plausible = threshold.ranges.get(threshold.unit)
    if plausible is not None and not plausible[0] <= converted <= plausible[1]:
        return None
    if _out_of_context(folded, match):
        return None
    end = match.start("unit") + spelt if unit else match.end("number")
    return LabReading(
        threshold=threshold,
        value=round(converted, 6),
        written=text[match.start() : end],
        unit=unit or None,
        inferred_unit=inferred,
    )


def _ends_unitless(after: str) -> bool:
    """Whether what follows a value written without a unit leaves it a value: the end,
    punctuation, a flag of a lab table ("L", "H", an arrow), the next analyte of a table ("Na 118
    K 3.2"), or a word such as "on" ("118 on admission"); not "hours", "tablets" or "x"."""
    words = after.split()
    if not words:
        return True
    first = words[0].rstrip(".:")
    if _flag_follows(after):
        return True
    if not first[:1].isalpha():
        return not first[:1].isalnum() and first[:1] not in "x\u00d7*/^%+"
    if first in _AFTER_UNITLESS:
        return True
    # The next name and value of a lab table, but not a time or a count ("2 hours 7.8").
    return (
        _TABLE_NEXT.match(after) is not None
        and first not in _NOT_TABLE_WORDS
        and first not in _UNIT_WORDS
    )


#: Flags a laboratory prints after a value.
_FLAGS = frozenset({"l", "h", "ll", "hh", "low", "high", "*", "**", "!", "(l)", "(h)"})
_ARROWS = "\u2191\u2193\u2192"
_TABLE_NEXT = re.compile(r"\s*[a-z][a-z0-9+&]{0,6}\s*:?\s*\d")
_NOT_TABLE_WORDS = frozenset(
    {
        "h",
        "hr",
        "hrs",
        "hour",
        "hours",
        "min",
        "mins",
        "minute",
        "minutes",
        "d",
        "day",
        "days",
        "wk",
        "wks",
        "week",
        "weeks",
        "mo",
        "month",
        "months",
        "y",
        "yr",
        "yrs",
        "year",
        "years",
        "x",
        "times",
        "tab",
        "tabs",
        "tablet",
        "tablets",
        "dose",
        "doses",
        "am",
        "pm",
        "st",
        "nd",
        "rd",
        "th",
        "jan",
        "feb",
        "mar",
        "apr",
        "may",
        "jun",
        "jul",
        "aug",
        "sep",
        "oct",
        "nov",
        "dec",
        "of",
        "to",
        "from",
        "and",
    }
)


def _number(written: str) -> float | None:
    """``written`` as a number: "3.2" and "3,2" are 3.2, "135,000" and "780 000" are 135000 and
    780000."""
    written = re.sub(r"[ \u00a0\u202f]", "", written)
    if written.count(",") > 1:
        written = written.replace(",", "")
    if "," in written:
        whole, _, part = written.partition(",")
        written = whole + part if len(part) == 3 and len(whole) <= 3 else f"{whole}.{part}"
    try:
        return float(written)
    except ValueError:
        return None


def _unit_key(unit: str) -> str:
    return re.sub(
        r"[\s^*]",
        "",
        unit.casefold().translate(_SUPERSCRIPTS).replace("\u00d7", "x").replace("\u00b5", "u"),
    ).replace("\u03bc", "u")


def _unit(threshold: LabThreshold, written: str) -> tuple[str | None, float, int]:
    """The unit ``written`` after a value starts with (its first one to three words), its factor
    to the main unit, and how many characters of ``written`` spell it: ``("", 1.0, 0)`` when it
    starts with no unit at all ("118 on admission"), ``(None, 0.0, 0)`` when it starts with a unit
    the analyte is not measured in ("2 mg" of vitamin K)."""
    words = list(re.finditer(r"\S+", written))
    known = _known_units(threshold)
    for count in (3, 2, 1):
        if len(words) >= count:
            key = _unit_key("".join(w.group() for w in words[:count])).rstrip(".:")
            if key in known:
                unit, factor = known[key]
                return unit, factor, words[count - 1].end()
    first = words[0].group().rstrip(".:") if words else ""
    if not first or _flag_follows(written) or _TABLE_NEXT.match(written):
        return "", 1.0, 0
    if first.isalpha() and first.casefold() not in _UNIT_WORDS:
        return "", 1.0, 0
    return None, 0.0, 0


def _known_units(threshold: LabThreshold) -> dict[str, tuple[str, float]]:
    """The threshold's units by their comparison key ("10^9/L" and UCUM "10*9/L" alike)."""
    return _units_by_key(tuple(threshold.units.items()))


@functools.lru_cache(maxsize=128)
def _units_by_key(units: tuple[tuple[str, float], ...]) -> dict[str, tuple[str, float]]:
    return {_unit_key(unit): (unit, factor) for unit, factor in units}


def _flag_follows(after: str) -> bool:
    """Whether a laboratory's flag ("L", "H", "*", an arrow) follows a value, on its own: at the
    end, before punctuation or before the next analyte of a table ("Na 118 L K 3.2"), not the
    "h" of "2 h post-load"."""
    words = after.split(maxsplit=1)
    if not words:
        return False
    first = words[0].rstrip(".:,;")
    if first not in _FLAGS and not (first[:1] in _ARROWS and len(first) <= 2):
        return False
    rest = after[after.index(words[0]) + len(words[0]) :]
    return not rest.strip() or not rest.strip()[0].isalnum() or _TABLE_NEXT.match(rest) is not None


#: Words that are units on their own (so "118 mg" is a unit this analyte may not take).
_UNIT_WORDS = frozenset({"mg", "g", "mmol", "mol", "meq", "ng", "ug", "pg", "iu", "u", "l", "ml"})


def _inferred_unit(threshold: LabThreshold, value: float) -> tuple[str, float] | None:
    """The one unit whose usual range holds ``value``, with its factor (or the first of several
    with the same factor, such as mmol/L and mEq/L for sodium); ``None`` when no unit or units
    that disagree do."""
    fitting = [
        (unit, threshold.units[unit])
        for unit, (low, high) in threshold.ranges.items()
        if low <= value <= high
    ]
    return fitting[0] if fitting and len({f for _, f in fitting}) == 1 else None


def _out_of_context(folded: str, match: re.Match[str]) -> bool:
    """Whether the value ``match`` found is not the patient's own serum value as it stands: its
    sentence names another sample or analyte (unless the name says serum), or before the value
    another person, a hypothetical, a target, a statistic or a definition; its clause a negation
    or doubt; or the rest of its sentence (brackets included) a doubt, somebody else or a better
    value ("(? spurious)", "repeat 139", "corrected 2.45", "ruled out")."""
    starts = [m.end() for m in _SENTENCE_END.finditer(folded, 0, match.start())]
    sentence_start = starts[-1] if starts else 0
    after = _SENTENCE_END.search(folded, match.end("number"))
    sentence_end = after.start() if after else len(folded)
    before = folded[sentence_start : match.start()]
    rest = folded[match.end("name") : sentence_end]
    explicit = _SERUM.search(before) or _SERUM_NAME.match(match.group("name"))
    if not explicit and _OTHER_SAMPLE.search(before + match.group("name") + rest):
        return True
    if _CONTEXT.search(_BRACKETS.sub(" ", before)):
        return True
    clauses = [m.end() for m in _CLAUSE_END.finditer(folded, 0, match.start())]
    clause_before = _BRACKETS.sub(" ", folded[clauses[-1] if clauses else 0 : match.start()])
    if blocking_cue(normalize_term(clause_before)) is not None:
        return True
    return _DOUBT_AFTER.search(folded, match.end("number"), sentence_end) is not None
