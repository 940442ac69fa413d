"""Checking and normalising what a caller gives: findings, antibodies, age and sex."""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping

import attrs

from .errors import InputError, UnknownFindingError
from .knowledge import SEXES, KnowledgeBase, Term
from .results import RecognizedFinding, UnrecognizedFinding
from .vocabulary import MAX_SUGGESTIBLE_LENGTH, closest_terms, normalize_term

__all__ = ["MAX_AGE", "Patient", "normalize_patient"]

MAX_AGE = 120
AGE_DECIMALS = 4
#: More terms than this in one call is refused: it is not a patient, it is a mistake.
MAX_TERMS = 100_000
#: Unknown terms beyond this many are still reported, but without "did you mean" suggestions.
MAX_SUGGESTED_TERMS = 25


@attrs.frozen
class Patient:
    """A validated patient: vocabulary finding ids, age and sex, and how the input was read."""

    findings: frozenset[str]
    age: float | None
    sex: str | None
    recognized: tuple[RecognizedFinding, ...] = ()
    unrecognized: tuple[UnrecognizedFinding, ...] = ()
    notes: tuple[str, ...] = ()


def check_age(age: object) -> float | None:
    """``age`` as a float in years rounded to 4 decimals, or ``None``.

    Raises :class:`InputError` for anything but a real number from 0 to 120 (bools and NaN
    included).
    """
    if age is None:
        return None
    valid = f"age in years, a number from 0 to {MAX_AGE} (int or float), or None if unknown"
    if isinstance(age, bool) or not isinstance(age, numbers.Real):
        raise InputError("age", age, valid)
    try:
        value = float(age)
    except (OverflowError, ValueError, TypeError):
        raise InputError("age", age, valid) from None
    if math.isnan(value) or not 0 <= value <= MAX_AGE:
        raise InputError("age", age, valid)
    # Four decimals (under an hour) keep every age printable without an exponent, which the
    # engine's JSON parser needs; the engine and the reference evaluator both see this value.
    return round(value, AGE_DECIMALS)


def check_sex(sex: object) -> str | None:
    """``sex`` as ``"female"``, ``"male"`` or ``None``; raises :class:`InputError` otherwise."""
    if sex is None:
        return None
    if isinstance(sex, str):
        key = sex.strip().casefold()
        if key in SEXES:
            return key
    raise InputError("sex", sex, "'female', 'male' or None if unknown")


def _terms(value: object, parameter: str) -> list[str]:
    kind = "antibody names" if parameter == "antibodies" else "finding names or HPO ids"
    if value is None:
        return []
    if isinstance(value, str | bytes | bytearray):
        raise InputError(
            parameter,
            value,
            f"a list of {kind}, not a single {type(value).__name__} "
            f"(write [{value!r}] for one term)",
        )
    if isinstance(value, Mapping) or not isinstance(value, Iterable):
        raise InputError(parameter, value, f"an iterable (list, tuple, set) of {kind}")
    terms: list[str] = []
    try:
        for position, item in enumerate(value):
            if not isinstance(item, str):
                raise InputError(f"{parameter}[{position}]", item, f"a string: one of the {kind}")
            terms.append(item)
            if len(terms) > MAX_TERMS:
                raise InputError(
                    parameter, f"<more than {MAX_TERMS} terms>", "at most 100,000 terms"
                )
    except InputError:
        raise
    except Exception as exc:  # a generator that fails while we iterate it
        raise InputError(parameter, value, f"an iterable that can be read ({exc!r})") from exc
    return terms


def normalize_patient(
    kb: KnowledgeBase,
    findings: Iterable[str] | None,
    *,
    age: object = None,
    sex: object = None,
    antibodies: Iterable[str] | None = None,
    strict: bool = True,
) -> Patient:
    """Validate a caller's input against ``kb`` and resolve every term to vocabulary ids.

    Raises :class:`InputError` for a bad argument and :class:`UnknownFindingError` for unknown terms
    (unless ``strict`` is false, when they are reported in ``Patient.unrecognized``).
    """
    if not isinstance(strict, bool):
        raise InputError("strict", strict, "True or False")
    checked_age = check_age(age)
    checked_sex = check_sex(sex)
    finding_terms = _terms(findings, "findings")
    antibody_terms = _terms(antibodies, "antibodies")
    present: set[str] = set()
    recognized: dict[str, RecognizedFinding] = {}
    unknown: dict[str, tuple[str, ...]] = {}
    reasons: dict[str, str] = {}
    notes: list[str] = []
    terms = kb.terms
    for parameter, given_terms in (("findings", finding_terms), ("antibodies", antibody_terms)):
        for given in given_terms:
            key = normalize_term(given)
            term: Term | None = terms.get(key)
            if term is None:
                term = antibody_term(kb, key)
            if (
                term is not None
                and parameter == "antibodies"
                and any(kb.findings[f].kind != "antibody" for f in term.maps_to)
            ):
                unknown[given] = ()
                reasons[given] = "not an antibody; pass it in findings"
                continue
            if term is None:
                if given not in unknown:
                    unknown[given] = (
                        _suggest(kb, given) if len(unknown) < MAX_SUGGESTED_TERMS else ()
                    )
                continue
            present.update(term.maps_to)
            if given not in recognized:
                recognized[given] = RecognizedFinding(
                    given=given,
                    id=term.id,
                    label=term.label,
                    counts_as=tuple(sorted(term.maps_to)),
                    note=term.note,
                )
                if term.note:
                    notes.append(term.note)
    if unknown and strict:
        error = UnknownFindingError(unknown)
        raise error
    return Patient(
        findings=frozenset(present),
        age=checked_age,
        sex=checked_sex,
        recognized=tuple(recognized.values()),
        unrecognized=tuple(
            UnrecognizedFinding(
                given=g, suggestions=s, reason=reasons.get(g, "not in the vocabulary")
            )
            for g, s in unknown.items()
        ),
        notes=tuple(dict.fromkeys(notes)),
    )


_ANTIBODY_PREFIXES = ("anti ",)
_ANTIBODY_SUFFIXES = (
    " autoantibodies",
    " autoantibody",
    " antibodies",
    " antibody",
    " positive",
    " abs",
    " ab",
    " igg",
    "+",
)


def antibody_term(kb: KnowledgeBase, key: str) -> Term | None:
    """The antibody a normalised ``key`` names once the usual wrappers are taken off.

    Laboratories and clinicians write the same antibody many ways: "anti-P/Q-type VGCC",
    "P/Q-type VGCC antibodies", "Hu Ab", "anti-Yo positive". The vocabulary lists the core names;
    this strips an "anti" prefix and suffixes such as "antibody", "Ab", "IgG" or "positive", adds
    an "anti" prefix, and accepts the result only if it names antibodies and nothing else.
    """
    cores = {key}
    changed = True
    while changed:
        changed = False
        for core in list(cores):
            for suffix in _ANTIBODY_SUFFIXES:
                if core.endswith(suffix) and len(core) > len(suffix):
                    stripped = core[: -len(suffix)].strip()
                    if stripped not in cores:
                        cores.add(stripped)
                        changed = True
            for prefix in _ANTIBODY_PREFIXES:
                if core.startswith(prefix) and len(core) > len(prefix):
                    stripped = core[len(prefix) :].strip()
                    if stripped not in cores:
                        cores.add(stripped)
                        changed = True
    if cores == {key}:
        return None
    for core in sorted(cores | {f"anti {c}" for c in cores}, key=lambda c: (-len(c), c)):
        term = kb.terms.get(core)
        if term is not None and all(kb.findings[f].kind == "antibody" for f in term.maps_to):
            return term
    return None


def _suggest(kb: KnowledgeBase, given: str) -> tuple[str, ...]:
    if len(given) > MAX_SUGGESTIBLE_LENGTH * 4:
        return ()
    return closest_terms(given, kb.suggestion_keys)
