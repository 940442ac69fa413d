"""Reading measured values in free text ("Na 118 mmol/L", "platelets 780 x 10^9/L") as lab findings.

The rule base's ``[[lab]]`` entries (see docs/rule-format.md) say, for each analyte, its names, the
threshold beyond which the value is the finding (with its citation), and its units. A value is read
only when it is written right after the analyte's name, is a plain number (no "<", ">" or range),
comes with one of the entry's units or, with none, lies in the usual range of only one of them, and
its clause holds no negation, doubt or somebody else. Values in urine, CSF or other fluids, and
ionised or free calcium, are not the serum values the thresholds are for and are never read.
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
_NUMBER = r"(?P<number>\d{1,7}(?:[.,]\d{1,3})?)"
#: Words that may stand between an analyte's name and its value ("sodium was 118", "Na: 118").
_BETWEEN = (
    r"(?:\s*\((?:serum|plasma|blood|venous|capillary)\))?"
    r"(?:\s*(?:levels?|concentration|count|value))?"
    r"(?:\s*(?:was|were|is|of|at|nadir|measured|reached|:|=)){0,3}\s*"
)
_COMPARATOR = (
    r"(?P<comparator>(?:<|>|\u2264|\u2265|=<|>=|less than|greater than|over|under|up to)\s*)?"
)
_RANGE = r"(?P<range>\s*(?:-|\u2013|to)\s*\d)?"
_UNIT = r"(?P<unit>[^,;()\[\]]{0,24})"
#: Words before a name that make the value another fluid's or another fraction's.
_OTHER_SAMPLE = re.compile(
    r"\b(?:urine|urinary|csf|cerebrospinal|fluid|pleural|ascitic|ascites|peritoneal|sweat|stool"
    r"|faecal|fecal|24 ?h(?:our)?|ioni[sz]ed|free|fractional|excretion|salivary|vitreous)\W*"
    r"(?:\w+\W+){0,2}$"
)
#: Where a clause ends, for the negation check: a semicolon, a comma, or a full stop that ends a
#: sentence (not the point of "3.2").
_CLAUSE_END = re.compile(r"[;,]|\.(?!\d)|\bbut\b")
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

    def describe(self, sex: str | None) -> str:
        """How the value was read, for a result's note."""
        t = self.threshold
        limit = t.threshold_for(sex)
        unit = "" if self.unit else f" (no unit given: read as {t.unit})"
        return (
            f"read from the lab value {self.written.strip()!r}{unit}: "
            f"{self.value:.3g} {t.unit} is {t.direction} {limit:g} {t.unit} ({t.citation})"
        )


def read_lab_values(
    text: str, thresholds: Iterable[LabThreshold], sex: str | None
) -> tuple[LabReading, ...]:
    """The values in ``text`` that cross their thresholds for a patient of ``sex``."""
    if len(text) > MAX_LAB_TEXT or _DIGIT.search(text) is None:
        return ()
    folded = text.casefold()
    readings: list[LabReading] = []
    for threshold in thresholds:
        for match in _pattern(threshold.names).finditer(folded):
            reading = _reading(threshold, folded, match, text)
            if reading is not None and threshold.crossed(reading.value, sex):
                readings.append(reading)
    return tuple(readings)


def read_quantity(
    threshold: LabThreshold, value: float, unit: str | None, written: str
) -> LabReading | str:
    """A coded result's ``value`` in ``unit`` (a FHIR ``valueQuantity``; UCUM codes such as
    ``10*9/L`` are read) as a reading in the threshold's unit, or why it cannot be read."""
    if unit:
        known = {_unit_key(u): (u, f) for u, f in threshold.units.items()}
        found = known.get(_unit_key(unit))
        if found is None:
            return (
                f"unit {unit!r} is not one {threshold.id} is read in ({', '.join(threshold.units)})"
            )
        shown: str | None = found[0]
        factor = found[1]
    else:
        inferred = _inferred_factor(threshold, value)
        if inferred is None:
            return "no unit, and the value fits more than one unit"
        shown, factor = None, inferred
    converted = value * factor
    plausible = threshold.ranges.get(threshold.unit)
    if plausible is not None and not plausible[0] <= converted <= plausible[1]:
        return f"{value:g} {unit or ''} is outside the values {threshold.unit} takes".replace(
            "  ", " "
        )
    return LabReading(threshold=threshold, value=round(converted, 6), written=written, unit=shown)


@functools.lru_cache(maxsize=64)
def _pattern(names: tuple[str, ...]) -> re.Pattern[str]:
    spelled = sorted((_spelling(normalize_term(name)) for name in names), key=len, reverse=True)
    return re.compile(
        rf"(?<![\w+\-/'\u2019])(?P<name>{'|'.join(spelled)})(?![\w])"
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
    if match.group("comparator") or match.group("range"):
        return None
    if _OTHER_SAMPLE.search(folded[max(0, match.start() - 40) : match.start()]):
        return None
    value = _number(match.group("number"))
    if value is None:
        return None
    unit, factor = _unit(threshold, match.group("unit"))
    if unit is None:  # a unit this analyte is not measured in
        return None
    if unit == "":
        inferred = _inferred_factor(threshold, value)
        if inferred is None:
            return None
        factor = inferred
    converted = value * factor
    plausible = threshold.ranges.get(threshold.unit)
    if plausible is not None and not plausible[0] <= converted <= plausible[1]:
        return None
    if _denied(folded, match):
        return None
    end = (
        match.end("number")
        if not unit
        else match.end("unit")
        - (len(match.group("unit")) - len(_unit_prefix(match.group("unit"), unit)))
    )
    return LabReading(
        threshold=threshold,
        value=round(converted, 6),
        written=text[match.start() : end],
        unit=unit or None,
    )


def _unit_prefix(written: str, unit: str) -> str:
    """The start of ``written`` that spells ``unit`` (its first words)."""
    words = written.split()
    for count in (1, 2, 3):
        if _unit_key("".join(words[:count])).rstrip(".:") == _unit_key(unit):
            return written[: written.index(words[count - 1]) + len(words[count - 1])]
    return written


def _number(written: str) -> float | None:
    """``written`` as a number: "3.2" and "3,2" are 3.2, "135,000" is 135000."""
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


def _unit(threshold: LabThreshold, written: str) -> tuple[str | None, float]:
    """The unit ``written`` after a value starts with (its first one to three words), and its
    factor to the main unit: ``("", 1.0)`` when it starts with no unit at all ("118 on
    admission"), ``(None, 0.0)`` when it starts with a unit the analyte is not measured in ("2 mg"
    of vitamin K)."""
    words = written.split()
    known = {_unit_key(unit): (unit, factor) for unit, factor in threshold.units.items()}
    for count in (3, 2, 1):
        if len(words) >= count:
            key = _unit_key("".join(words[:count])).rstrip(".:")
            if key in known:
                return known[key]
    first = words[0].rstrip(".:") if words else ""
    if not first or (first.isalpha() and first.casefold() not in _UNIT_WORDS):
        return "", 1.0
    return None, 0.0


#: Words that are units on their own (so "118 mg" is a unit this analyte may not take).
_UNIT_WORDS = frozenset({"mg", "g", "mmol", "mol", "meq", "ng", "ug", "pg", "iu", "u", "l", "ml"})


def _inferred_factor(threshold: LabThreshold, value: float) -> float | None:
    """The factor of the one unit whose usual range holds ``value`` (or of several with the same
    factor, such as mmol/L and mEq/L for sodium); ``None`` when no unit or units that disagree do."""
    factors = {
        threshold.units[unit]
        for unit, (low, high) in threshold.ranges.items()
        if low <= value <= high
    }
    return factors.pop() if len(factors) == 1 else None


def _denied(folded: str, match: re.Match[str]) -> bool:
    """Whether the clause of ``match`` holds a negation, doubt or somebody else (brackets, which
    often hold the reference range, and the analyte's name are left out)."""
    starts = [m.end() for m in _CLAUSE_END.finditer(folded, 0, match.start())]
    start = starts[-1] if starts else 0
    after = _CLAUSE_END.search(folded, match.end("number"))
    end = after.start() if after else len(folded)
    # The analyte's own name is no cue ("corrected calcium").
    clause = _BRACKETS.sub(
        " ", folded[start : match.start()] + " " + folded[match.end("name") : end]
    )
    return blocking_cue(normalize_term(clause)) is not None
