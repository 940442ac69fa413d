"""Checking and normalising what a caller gives: findings, antibodies, age and sex."""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping

import attrs

from .antibody_names import antibody_term, names_antibodies
from .errors import InputError, UnknownFindingError, _short_repr
from .hpo_terms import HpoTerm
from .knowledge import SEXES, KnowledgeBase, Term
from .lab_values import read_lab_values
from .results import READ_FROM_TEXT, RecognizedFinding, UnrecognizedFinding
from .text_reading import blocking_cue, contained_terms, ends_with_minus, marks_negative
from .vocabulary import (
    MAX_SUGGESTIBLE_LENGTH,
    closest_terms,
    direction_variants,
    normalize_term,
    variant_keys,
)

__all__ = [
    "MAX_AGE",
    "MAX_TERMS",
    "MAX_TERM_LENGTH",
    "Patient",
    "check_age",
    "check_flag",
    "check_sex",
    "is_instance",
    "normalize_patient",
]

MAX_AGE = 120
AGE_DECIMALS = 4
#: More terms than this in one call is refused: it is not a patient, it is a mistake.
MAX_TERMS = 100_000
#: Unknown terms beyond this many are still reported, but without "did you mean" suggestions.
MAX_SUGGESTED_TERMS = 25
#: Unknown text longer than this that names known terms gets only those as suggestions.
MAX_MISSPELT_LENGTH = 40
#: Terms longer than this are reported as unknown without being looked up (no name is this long).
MAX_TERM_LENGTH = 1_000


@attrs.frozen
class Patient:
    """A validated patient: vocabulary finding ids, age and sex, and how the input was read."""

    findings: frozenset[str]
    age: float | None
    sex: str | None
    recognized: tuple[RecognizedFinding, ...] = ()
    unrecognized: tuple[UnrecognizedFinding, ...] = ()
    notes: tuple[str, ...] = ()


def is_instance(value: object, kind: type | tuple[type, ...]) -> bool:
    """``isinstance`` for a caller's value: ``False`` where ``isinstance`` itself raises (an
    object whose ``__class__`` property raises makes it do so)."""
    try:
        return isinstance(value, kind)
    except MemoryError:
        raise
    except Exception:
        return False


def check_flag(parameter: str, value: object) -> bool:
    """``value`` when it is ``True`` or ``False``; :class:`InputError` naming ``parameter``
    otherwise (a truthy ``"no"`` must not switch anything on)."""
    if not is_instance(value, bool):
        raise InputError(parameter, value, "True or False")
    return bool(value)


def check_age(age: object) -> float | None:
    """``age`` as a float in years rounded to 4 decimals, or ``None``.

    Accepts any real number (``int``, ``float``, ``fractions.Fraction``, numpy scalars: anything
    registered as :class:`numbers.Real`) from 0 to 120. Raises :class:`InputError` for anything else:
    bools, NaN, infinities, out-of-range numbers, strings, ``Decimal``, complex numbers, and objects
    whose conversion to ``float`` fails.
    """
    if age is None:
        return None
    valid = f"age in years, a number from 0 to {MAX_AGE} (int or float), or None if unknown"
    try:
        if isinstance(age, bool) or not isinstance(age, numbers.Real):
            raise InputError("age", age, valid)
        value = float(age)
    except InputError:
        raise
    except MemoryError:
        raise
    except Exception:  # OverflowError for huge ints, or whatever a custom __float__ raises
        raise InputError("age", age, valid) from None
    if math.isnan(value) or not 0 <= value <= MAX_AGE:
        raise InputError("age", age, valid)
    # Four decimals (under an hour) keep every age printable without an exponent, which the
    # engine's JSON parser needs; the engine and the reference evaluator both see this value.
    # ``+ 0.0`` turns -0.0 into 0.0.
    return round(value, AGE_DECIMALS) + 0.0


def check_sex(sex: object) -> str | None:
    """``sex`` as ``"female"``, ``"male"`` or ``None``; raises :class:`InputError` otherwise.

    Case and surrounding white space do not matter; look-alike characters (Cyrillic letters,
    full-width forms) are refused, not guessed.
    """
    if sex is None:
        return None
    if is_instance(sex, str):
        # str methods called on the class, so a str subclass cannot change what is compared.
        key = str.casefold(str.strip(sex))  # type: ignore[arg-type]
        for known in SEXES:
            if key == known:
                return known
    raise InputError("sex", sex, "'female', 'male' or None if unknown")


def _terms(value: object, parameter: str) -> list[str]:
    """The terms of ``findings`` or ``antibodies`` as plain ``str``, or :class:`InputError`.

    Anything the caller's iterable raises while it is read (other than ``KeyboardInterrupt``,
    ``SystemExit`` and ``MemoryError``) becomes an :class:`InputError` naming the parameter.
    """
    kind = "antibody names" if parameter == "antibodies" else "finding names or HPO ids"
    if value is None:
        return []
    try:
        single = isinstance(value, str | bytes | bytearray)
        iterable = not isinstance(value, Mapping) and isinstance(value, Iterable)
    except MemoryError:
        raise
    except Exception as exc:  # a hostile __class__ or metaclass
        raise InputError(parameter, value, f"an iterable of {kind} ({_exception(exc)})") from exc
    if single:
        raise InputError(
            parameter,
            value,
            f"a list of {kind}, not a single {type(value).__name__} "
            f"(write [{_short_repr(value)}] for one term)",
        )
    if not iterable:
        raise InputError(parameter, value, f"an iterable (list, tuple, set) of {kind}")
    terms: list[str] = []
    try:
        iterator = iter(value)  # type: ignore[call-overload]
    except MemoryError:
        raise
    except Exception as exc:
        raise InputError(
            parameter, value, f"an iterable that can be read ({_exception(exc)})"
        ) from exc
    position = 0
    while True:
        try:
            item = next(iterator)
        except StopIteration:
            break
        except MemoryError:
            raise
        except Exception as exc:  # a generator that fails while we iterate it
            raise InputError(
                parameter, value, f"an iterable that can be read ({_exception(exc)})"
            ) from exc
        if not is_instance(item, str):
            raise InputError(f"{parameter}[{position}]", item, f"a string: one of the {kind}")
        # A plain str copy: a subclass's own __hash__, __eq__ or methods never run past here.
        terms.append(str.__str__(item))
        position += 1
        if position > MAX_TERMS:
            raise InputError(parameter, f"<more than {MAX_TERMS:,} terms>", "at most 100,000 terms")
    return terms


def _exception(exc: BaseException) -> str:
    """``TypeError('...')``, shortened, for a message; never raises."""
    try:
        text = f"{type(exc).__name__}: {exc}"
    except Exception:
        text = _short_repr(exc)
    return text if len(text) <= 200 else text[:197] + "..."


def normalize_patient(
    kb: KnowledgeBase,
    findings: Iterable[str] | None,
    *,
    age: object = None,
    sex: object = None,
    antibodies: Iterable[str] | None = None,
    strict: bool = True,
    read_text: bool = True,
) -> Patient:
    """Validate a caller's input against ``kb`` and resolve every term to vocabulary ids.

    A finding that is not a known term but free text naming known terms ("skin biopsy consistent
    with Sweet syndrome") counts as those terms, unless ``read_text`` is false or the text holds a
    negation, a doubt or somebody else ("no ataxia", "possible", "mother"): then it is unknown.

    Raises :class:`InputError` for a bad argument and :class:`UnknownFindingError` for unknown terms
    (unless ``strict`` is false, when they are reported in ``Patient.unrecognized``).
    """
    check_flag("strict", strict)
    check_flag("read_text", read_text)
    checked_age = check_age(age)
    checked_sex = check_sex(sex)
    finding_terms = _terms(findings, "findings")
    antibody_terms = _terms(antibodies, "antibodies")
    present: set[str] = set()
    recognized: dict[str | tuple[str, str], RecognizedFinding] = {}
    read_labels: list[str] = []
    lab_labels: list[str] = []
    unknown: dict[str, tuple[str, ...]] = {}
    positions: dict[str, str] = {}
    reasons: dict[str, str] = {}
    notes: list[str] = []
    unused: list[str] = []
    terms = kb.terms
    looked_up: dict[str, Term | HpoTerm | None] = {}
    for parameter, given_terms in (("findings", finding_terms), ("antibodies", antibody_terms)):
        for position, given in enumerate(given_terms):
            if given in looked_up:
                found: Term | HpoTerm | None = looked_up[given]
            elif len(given) > MAX_TERM_LENGTH:
                found = looked_up[given] = None
                reasons.setdefault(given, f"longer than {MAX_TERM_LENGTH:,} characters")
            elif marks_negative(given) or ends_with_minus(given):
                # "nystagmus-", "anti-CASPR2-": a result, read as free text
                found = looked_up[given] = None
                reasons.setdefault(given, _MARKED_RESULT)
            else:
                key = normalize_term(given)
                found = terms.get(key)
                if found is None:
                    found = antibody_term(kb, key)
                if found is None and kb.hpo_terms is not None:
                    found = kb.hpo_terms.lookup(key)
                if found is None:
                    found = _variant_term(kb, key)
                looked_up[given] = found
            if (
                found is not None
                and parameter == "antibodies"
                and (isinstance(found, HpoTerm) or not names_antibodies(kb, found))
            ):
                unknown[given] = ()
                positions.setdefault(given, f"{parameter}[{position}]")
                what = (
                    "an HPO term, not an antibody"
                    if isinstance(found, HpoTerm)
                    else "not an antibody"
                )
                reasons[given] = f"{what}; pass it in findings"
                continue
            if isinstance(found, HpoTerm):
                if given not in recognized:
                    recognized[given] = RecognizedFinding(
                        given=given, id=found.id, label=found.label, counts_as=(), note=found.note
                    )
                    unused.append(found.label)
                continue
            term = found
            if term is None and read_text and parameter == "findings" and given not in unknown:
                named = _read_text(kb, given)
                # An antibody result is read only from a term of its own ("anti-Yo",
                # "anti-Yo positive"): in free text, titres, pending tests and lab shorthand
                # ("anti-Hu <1:10", "anti-Yo sent") say too many things to be read safely.
                asserted: list[tuple[str, Term]] = []
                denied: list[tuple[str, str | None]] = []  # label, cue (None: an antibody)
                for name, named_term, cue in named:
                    if names_antibodies(kb, named_term) or cue is not None:
                        denied.append((named_term.label, cue))
                    else:
                        asserted.append((name, named_term))
                labs = read_lab_values(given, kb.lab_thresholds, checked_sex, checked_age)
                for reading in labs:
                    lab_term = terms[normalize_term(reading.threshold.finding)]
                    note = reading.describe(checked_sex)
                    if _count(recognized, present, (given, lab_term.id), given, lab_term, note):
                        lab_labels.append(f"{reading.written.strip()!r} as {lab_term.label}")
                if asserted or labs:
                    for name, term in asserted:
                        pair = (given, term.id)
                        if _count(recognized, present, pair, given, term, READ_FROM_TEXT):
                            read_labels.append(
                                term.label
                                if normalize_term(name) == normalize_term(term.label)
                                else f"{name!r} as {term.label}"
                            )
                    if denied:
                        notes.append(
                            f"{given!r} also names {_listed([label for label, _ in denied])}, "
                            f"not read: {_why_not(denied)} (give a finding on its own when the "
                            "patient has it)"
                        )
                    continue
                if (denied and reasons.get(given) != _MARKED_RESULT) or any(c for _, c in denied):
                    reasons[given] = (
                        f"free text naming {_listed([label for label, _ in denied])}, not read: "
                        f"{_why_not(denied)} (give a finding on its own when the patient has it)"
                    )
            if term is None:
                if given not in unknown:
                    positions[given] = f"{parameter}[{position}]"
                    # A term that is not read as free text ("anti-Yo (negative)" given as an
                    # antibody) but holds a cue is a result, not a misspelling: it says so, and
                    # gets no "did you mean", which would be the finding as if it were positive.
                    cue = None if given in reasons else blocking_cue(given)
                    if cue is not None:
                        reasons[given] = (
                            f"it says {cue!r}: a negative, doubtful or pending result is not "
                            "counted (give the name alone when the patient has it)"
                        )
                    unknown[given] = (
                        _suggest(kb, given)
                        if len(unknown) < MAX_SUGGESTED_TERMS and cue is None
                        else ()
                    )
                continue
            if _count(recognized, present, given, given, term, term.note) and term.note:
                notes.append(term.note)
    if unknown and strict:
        where = {location.partition("[")[0] for location in positions.values()}
        raise UnknownFindingError(
            unknown,
            parameter=" and ".join(sorted(where, reverse=True)),
            positions=positions,
            reasons={g: r for g, r in reasons.items() if g in unknown},
        )
    if read_labels:
        several = len(read_labels) > 1
        notes.append(
            f"{len(read_labels)} finding{'s were' if several else ' was'} read from free text "
            f"({_listed(read_labels)}): check that the text asserts "
            f"{'them' if several else 'it'} (a name in the clause of a negation or a doubt is never "
            "read, and the rest of the text is not read at all)"
        )
    if lab_labels:
        several = len(lab_labels) > 1
        notes.append(
            f"{len(lab_labels)} lab value{'s were' if several else ' was'} read from free text "
            f"({_listed(lab_labels)}) against the rule base's cited thresholds: check the unit and "
            "that it is the patient's serum value"
        )
    if unused:
        several = len(unused) > 1
        notes.append(
            f"{len(unused)} finding{'s are current HPO terms' if several else ' is a current HPO term'}"
            f" that no rule uses ({_listed(unused)}): recognised, but "
            f"{'they do' if several else 'it does'} not change the result"
        )
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


_MARKED_RESULT = (
    "a minus sign, dash or '+/-' marks it as a negative or equivocal result: not counted (give "
    "the name alone when the patient has it)"
)
_ANTIBODY_IN_TEXT = "antibodies are read only from a term of their own ('anti-Yo')"


def _why_not(denied: list[tuple[str, str | None]]) -> str:
    """Why names in free text were not read: "it says 'no', so it may deny or doubt them",
    and/or that antibodies are not read from text (a name with no cue is an antibody)."""
    said = list(dict.fromkeys(repr(cue) for _, cue in denied if cue is not None))
    parts = [f"it says {' and '.join(said)}, so it may deny or doubt them"] if said else []
    return "; ".join(parts + ([_ANTIBODY_IN_TEXT] if any(c is None for _, c in denied) else []))


def _listed(labels: list[str], limit: int = 5) -> str:
    shown = ", ".join(labels[:limit])
    return shown if len(labels) <= limit else f"{shown} and {len(labels) - limit} more"


def _count(
    recognized: dict[str | tuple[str, str], RecognizedFinding],
    present: set[str],
    key: str | tuple[str, str],
    given: str,
    term: Term,
    note: str,
) -> bool:
    """Count ``term``, read from ``given``, among the patient's findings; whether it is new."""
    present.update(term.maps_to)
    if key in recognized:
        return False
    recognized[key] = RecognizedFinding(
        given=given,
        id=term.id,
        label=term.label,
        counts_as=tuple(sorted(term.maps_to)),
        note=note,
    )
    return True


def _variant_term(kb: KnowledgeBase, key: str) -> Term | None:
    """The vocabulary term another spelling of ``key`` names ("Cushing syndrome", "Cushings
    syndrome", a curly apostrophe, "pseudofractures") or, for a lab finding or a level, another word for the same
    direction ("raised cortisol" for "high cortisol", "reduced level of consciousness"), when all
    such known names name the same findings; ``None`` otherwise. A direction word is not swapped
    on other findings, where it may not be a direction ("reduced back pain" is not low back
    pain, "increased purpura" not raised, palpable, purpura)."""
    found = [term for variant in variant_keys(key) if (term := kb.terms.get(variant)) is not None]
    for variant in direction_variants(key):
        term = kb.terms.get(variant)
        if term is not None and (
            " level" in variant or all(kb.findings[f].kind == "lab" for f in term.maps_to)
        ):
            found.append(term)
    if found and all(term.maps_to == found[0].maps_to for term in found):
        return found[0]
    return None


def _read_text(kb: KnowledgeBase, given: str) -> tuple[tuple[str, Term, str | None], ...]:
    """The known terms free text ``given`` names, each with the name found (as the vocabulary
    writes it) and the cue that stops it from being read there (``None`` where it is asserted)."""
    if kb.text_reader is None or len(given) > MAX_TERM_LENGTH:
        return ()
    return tuple(
        (kb.suggestion_keys.get(key, key), kb.terms[key], cue)
        for key, cue in kb.text_reader.read(given)
        if key in kb.terms
    )


def _suggest(kb: KnowledgeBase, given: str) -> tuple[str, ...]:
    if len(given) > min(MAX_SUGGESTIBLE_LENGTH * 4, MAX_TERM_LENGTH):
        return ()
    named = contained_terms(given, kb.suggestion_keys, reader=kb.text_reader)
    if named and len(given) > MAX_MISSPELT_LENGTH:
        # A sentence that names known terms is not a misspelling of one: skip the closest
        # spellings, which take milliseconds on text this long.
        return named
    return tuple(dict.fromkeys((*named, *closest_terms(given, kb.suggestion_keys))))[:5]
