"""Reading FHIR R4 records into :func:`pns_rules.suggest` input (extra ``pns-rules[fhir]``).

A Bundle, or a list of resources, holding one Patient with Conditions and Observations becomes a
:class:`FhirRecord`: vocabulary findings, positive antibodies, age and sex, plus an account of every
resource and code that was *not* used and why. See docs/ehr.md for the mapping rules; in short:

- Findings come from codings in HPO (``http://purl.obolibrary.org/obo/hp.owl`` and the other usual
  HPO system URIs) and SNOMED CT (``http://snomed.info/sct``, matched against ``Finding.snomed`` in
  the rule files) in ``Condition.code``, ``Observation.code`` and ``Observation.valueCodeableConcept``.
- An antibody comes from an Observation whose code text or coding display names one of the
  vocabulary's antibodies (label or synonym, as whole words) and whose result is positive or
  detected (interpretation, coded or text value, or ``valueBoolean``).
- Age is computed from ``Patient.birthDate`` on a given date (default today); sex from
  ``Patient.gender`` (``other`` and ``unknown`` give ``None``).
- An Observation of a finding counts when it has no value or one that asserts the finding (true,
  yes, present, positive...); one that denies it is a negative result, and one that says neither
  (an unrecognised text or code, a number) is reported, not counted.
- Refuted and entered-in-error Conditions (the status read in any case, from codes, displays, text
  or SNOMED CT qualifiers) and ones whose status is not read, entered-in-error, cancelled and
  registered Observations, Observations with a ``dataAbsentReason`` or with results only in
  components, negative results, values not read as a result, antibodies named in a text that denies
  or doubts them, resources with a ``modifierExtension`` and resources of other types are listed in
  :attr:`FhirRecord.ignored`; codes that map to nothing in :attr:`FhirRecord.unmapped`. Nothing is
  dropped silently.

Resources are validated with ``fhir.resources`` (its R4B models: R4B is the technical-correction
release of R4, and Patient, Condition, Observation and Bundle have the same structure in both).
"""

from __future__ import annotations

import calendar
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

import attrs

from .engine import Engine, default_engine
from .errors import InputError
from .knowledge import KnowledgeBase
from .lab_values import read_quantity
from .results import Differential
from .text_reading import blocking_cue
from .vocabulary import normalize_term

try:
    from fhir.resources.R4B import get_fhir_model_class
    from fhir.resources.R4B.bundle import Bundle
    from pydantic import ValidationError
except ImportError as _missing:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "pns_rules.fhir needs the 'fhir' extra: pip install 'pns-rules[fhir]'"
    ) from _missing

__all__ = [
    "HPO_SYSTEMS",
    "SNOMED_SYSTEMS",
    "FhirError",
    "FhirFinding",
    "FhirIgnored",
    "FhirRecord",
    "FhirUnmapped",
    "age_on",
    "read_bundle",
    "read_parts",
    "read_resources",
    "suggest_fhir",
]

#: Code system URIs read as HPO (compared without scheme, ``www.`` and trailing slash).
HPO_SYSTEMS: tuple[str, ...] = (
    "http://purl.obolibrary.org/obo/hp.owl",
    "http://purl.obolibrary.org/obo/hp.obo",
    "http://purl.obolibrary.org/obo/hp",
    "http://human-phenotype-ontology.org",
    "https://hpo.jax.org",
    "https://hpo.jax.org/app",
    "urn:oid:2.16.840.1.113883.6.339",
)
#: Code system URIs read as SNOMED CT.
SNOMED_SYSTEMS: tuple[str, ...] = ("http://snomed.info/sct", "urn:oid:2.16.840.1.113883.6.96")

_INTERPRETATION_SYSTEMS = frozenset(
    {
        "terminology.hl7.org/codesystem/v3-observationinterpretation",
        "hl7.org/fhir/v2/0078",
        "terminology.hl7.org/codesystem/v2-0078",
    }
)
# Result qualifiers, as HL7 v3 ObservationInterpretation codes and SNOMED CT qualifier values.
# These say whether a test was positive or a finding present; they carry no clinical knowledge.
_INTERPRETATION_CODES = {
    "pos": "positive",
    "det": "positive",
    "neg": "negative",
    "nd": "negative",
    "n": "negative",  # Normal: the finding the Observation codes is not there
    "ind": "indeterminate",
    "e": "indeterminate",
}
_SNOMED_RESULTS = {
    "10828004": "positive",  # Positive
    "260373001": "positive",  # Detected
    "52101004": "positive",  # Present
    "373066001": "positive",  # Yes
    "410605003": "positive",  # Confirmed present
    "410515003": "positive",  # Known present
    "260385009": "negative",  # Negative
    "260415000": "negative",  # Not detected
    "2667000": "negative",  # Absent
    "373067005": "negative",  # No
    "410594000": "negative",  # Definitely NOT present
    "410516002": "negative",  # Known absent
    "419984006": "indeterminate",  # Inconclusive
    "261665006": "indeterminate",  # Unknown
}
# HL7 v2 table 0136 (Yes/No indicator), as a coded value.
_YES_NO_SYSTEMS = frozenset({"terminology.hl7.org/codesystem/v2-0136", "hl7.org/fhir/v2/0136"})
_YES_NO_CODES = {"y": "positive", "n": "negative"}
# Words a text result may start with; longer phrases first so "not detected" wins over "detected".
_RESULT_WORDS: tuple[tuple[str, str], ...] = (
    ("definitely not present", "negative"),
    ("not detected", "negative"),
    ("not present", "negative"),
    ("not seen", "negative"),
    ("not found", "negative"),
    ("denies", "negative"),
    ("denied", "negative"),
    ("none detected", "negative"),
    ("non reactive", "negative"),
    ("nonreactive", "negative"),
    ("negative", "negative"),
    ("absent", "negative"),
    ("neg", "negative"),
    ("positive", "positive"),
    ("detected", "positive"),
    ("present", "positive"),
    ("reactive", "positive"),
    ("pos", "positive"),
    ("indeterminate", "indeterminate"),
    ("inconclusive", "indeterminate"),
    ("equivocal", "indeterminate"),
    ("borderline", "indeterminate"),
)
# Short answers that are a result only as the whole text ("no" alone, not "no change").
_RESULT_ANSWERS = {
    "yes": "positive",
    "y": "positive",
    "true": "positive",
    "no": "negative",
    "n": "negative",
    "false": "negative",
    "none": "negative",
    "nil": "negative",
    "0": "negative",
    "unknown": "indeterminate",
}
# value[x] types that say nothing about presence (numbers are not interpreted).
_NUMERIC_VALUES = ("valueQuantity", "valueRange", "valueRatio", "valueSampledData")
_OTHER_VALUES = ("valueDateTime", "valuePeriod", "valueTime")
_QUOTED = 40
# A short antibody name ("Yo", "Hu", "Ri") counts only beside one of these words.
_ANTIBODY_CUES = re.compile(
    r"(?<![a-z0-9])(?:ab|abs|antibody|antibodies|autoantibody|autoantibodies|ig[gam]|anti)"
    r"(?![a-z0-9])"
)
_SHORT_NAME = 4
_HPO_CODE = re.compile(r"^(?:hp[:_])?(\d{7})$", re.IGNORECASE)
_SNOMED_CODE = re.compile(r"^\d{6,18}$")
# Condition.verificationStatus (FHIR R4 condition-ver-status), by normalised code, display or text.
_VERIFICATION_STATUSES = {
    "unconfirmed": "unconfirmed",
    "provisional": "provisional",
    "differential": "differential",
    "confirmed": "confirmed",
    "refuted": "refuted",
    "entered in error": "entered-in-error",
}
_NOT_COUNTED_VERIFICATION = ("refuted", "entered-in-error")
# A SNOMED CT result qualifier as a verification status (410516002 Known absent is refuted).
_SNOMED_VERIFICATION = {
    "positive": "confirmed",
    "negative": "refuted",
    "indeterminate": "unconfirmed",
}
_IGNORED_OBSERVATION = {
    "entered-in-error": "entered in error",
    "cancelled": "cancelled",
    "registered": "registered (no result yet)",
}
_READ_TYPES = ("Patient", "Condition", "Observation")
# The required value sets (FHIR R4) of the coded elements the reader uses.
_REQUIRED_CODES: dict[str, dict[str, tuple[str, ...]]] = {
    "Patient": {"gender": ("male", "female", "other", "unknown")},
    "Observation": {
        "status": (
            "registered",
            "preliminary",
            "final",
            "amended",
            "corrected",
            "cancelled",
            "entered-in-error",
            "unknown",
        )
    },
    "Bundle": {
        "type": (
            "document",
            "message",
            "transaction",
            "transaction-response",
            "batch",
            "batch-response",
            "history",
            "searchset",
            "collection",
        )
    },
}
_MAX_ERRORS_SHOWN = 3


class FhirError(InputError):
    """FHIR input that cannot be read: not JSON, not valid FHIR R4, or not one patient's record.

    ``problems`` lists each problem as ``"location: message"`` (locations such as
    ``entry[2].resource.birthDate``); the message never repeats the offending values.
    """

    def __init__(self, parameter: str, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        shown = "; ".join(self.problems[:_MAX_ERRORS_SHOWN])
        more = len(self.problems) - _MAX_ERRORS_SHOWN
        valid = shown + (f" (and {more} more)" if more > 0 else "")
        InputError.__init__(self, parameter, None, valid)
        self.args = (f"{parameter}: {valid}",)


@attrs.frozen
class FhirFinding:
    """A vocabulary finding read from a resource, and the coding or text it was read from."""

    resource: str
    finding: str
    label: str
    kind: str
    source: str


@attrs.frozen
class FhirUnmapped:
    """A resource whose codes map to no vocabulary finding or antibody."""

    resource: str
    codes: tuple[str, ...]
    text: str
    reason: str


@attrs.frozen
class FhirIgnored:
    """A resource that was read but deliberately not used, and why."""

    resource: str
    reason: str


@attrs.frozen
class FhirRecord:
    """What a FHIR record gives :func:`pns_rules.suggest`, and an account of everything read.

    ``findings`` and ``antibodies`` are vocabulary terms (HPO ids or finding ids), ready to pass on;
    ``used`` says which resource each came from.
    """

    patient: str | None
    age: float | None
    sex: str | None
    findings: tuple[str, ...]
    antibodies: tuple[str, ...]
    used: tuple[FhirFinding, ...]
    unmapped: tuple[FhirUnmapped, ...]
    ignored: tuple[FhirIgnored, ...]
    notes: tuple[str, ...] = ()

    def suggest_arguments(self) -> dict[str, Any]:
        """Keyword arguments for :func:`pns_rules.suggest` or :meth:`Engine.suggest`."""
        return {
            "findings": list(self.findings),
            "antibodies": list(self.antibodies),
            "age": self.age,
            "sex": self.sex,
        }

    def suggest(self, engine: Engine | None = None) -> Differential:
        """The differential for this record on ``engine`` (default: the shipped rules).

        Use the engine whose rules the record was read against. Raises ``InputError`` when
        ``engine`` is not an :class:`~pns_rules.Engine`.
        """
        return _engine(engine).suggest(**self.suggest_arguments())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return attrs.asdict(self, recurse=True)


def read_bundle(
    bundle: Mapping[str, Any] | str | bytes | Any,
    *,
    engine: Engine | None = None,
    on: date | None = None,
) -> FhirRecord:
    """Read a FHIR R4 Bundle (JSON text, parsed JSON or a ``fhir.resources`` model).

    ``engine`` gives the vocabulary (default: the shipped rules); ``on`` is the date ages are
    computed for (a :class:`~datetime.date`, default today). Raises :class:`FhirError` (an
    ``InputError``) when the input is not a valid Bundle or holds more than one patient, and
    ``InputError`` when ``engine`` is not an :class:`~pns_rules.Engine` or ``on`` not a date.
    """
    data = _as_json(bundle, "bundle")
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        found = _describe(data.get("resourceType") if isinstance(data, dict) else data)
        raise FhirError(
            "bundle", [f"expected a FHIR Bundle, got {'None' if data is None else found}"]
        )
    return read_parts({"bundle": data}, engine=engine, on=on)


def read_resources(
    resources: Iterable[Mapping[str, Any] | Any],
    *,
    engine: Engine | None = None,
    on: date | None = None,
) -> FhirRecord:
    """Read FHIR R4 resources (parsed JSON or ``fhir.resources`` models) as one patient's record.

    A Bundle among them stands for its entries. See :func:`read_bundle` for the arguments and
    errors; an item that is not a resource (``None`` included) is a :class:`FhirError` naming its
    position.
    """
    if isinstance(resources, str | bytes | Mapping):
        raise FhirError("resources", ["expected a list of FHIR resources (use read_bundle)"])
    try:
        items = iter(resources)
    except TypeError:
        raise FhirError(
            "resources", [f"expected a list of FHIR resources, got {_python_type(resources)}"]
        ) from None
    parts = {}
    for index, resource in enumerate(items):
        if resource is None:
            raise FhirError(f"resources[{index}]", ["expected a FHIR resource, got None"])
        parts[f"resources[{index}]"] = resource
    return read_parts(parts, engine=engine, on=on)


def read_parts(
    parts: Mapping[str, Any],
    *,
    engine: Engine | None = None,
    on: date | None = None,
    patient_id: str | None = None,
) -> FhirRecord:
    """Read named resources or Bundles (``None`` for none) as one patient's record.

    This is how CDS Hooks prefetch is read: ``{"prefetch.patient": {...}, "prefetch.conditions":
    {...Bundle...}}``. The names locate problems in :class:`FhirError` messages. ``patient_id``
    (a CDS Hooks ``context.patientId``) is the patient the record is about: resources whose
    subject is another patient are ignored even when no Patient resource is given.
    """
    if patient_id is not None and (not isinstance(patient_id, str) or not patient_id.strip()):
        raise InputError("patient_id", patient_id, "a FHIR Patient id (non-empty text), or None")
    if not isinstance(parts, Mapping):
        raise FhirError(
            "parts",
            [
                "expected a mapping of names to FHIR resources or Bundles, "
                f"got {_python_type(parts)}"
            ],
        )
    kb = _engine(engine).knowledge_base
    today = _day(on)
    items: list[tuple[Any, str | None]] = []
    skipped: list[FhirIgnored] = []
    pages: list[str] = []
    for name, value in parts.items():
        if value is not None:
            found, ignored, notes = _collect(_as_json(value, name), name)
            items += found
            skipped += ignored
            pages += notes
    return _read(items, skipped, kb, today, patient_id, pages)


def suggest_fhir(
    bundle: Mapping[str, Any] | str | bytes | Any,
    *,
    engine: Engine | None = None,
    on: date | None = None,
) -> tuple[FhirRecord, Differential]:
    """Read a Bundle (see :func:`read_bundle`) and rank it: ``(record, differential)``."""
    engine = _engine(engine)
    record = read_bundle(bundle, engine=engine, on=on)
    return record, record.suggest(engine)


def age_on(birth: date | str, on: date) -> tuple[float | None, str | None]:
    """Age in years on ``on`` for a FHIR ``birthDate`` (``YYYY``, ``YYYY-MM`` or a date).

    Returns ``(age, note)``. The age is whole completed years plus the elapsed part of the current
    year, rounded down to 3 decimals, so it crosses every whole year exactly on the birthday. A
    partial date is taken at its latest possible day (the youngest possible age) and noted; a date
    after ``on`` or an age over 120 gives ``None`` and a note. A ``datetime`` counts as its date.
    Raises ``InputError`` when ``birth`` is not a date or a valid FHIR date text (``"2020-13"``,
    ``"2020-02-30"``, ``"0000"``), or ``on`` is not a date.
    """
    on = _day(on, "on", required=True)
    birth_date, partial = _birth_date(birth)
    note = None
    if partial:
        note = (
            f"birthDate {birth} gives no day; age computed from {birth_date.isoformat()}, "
            "the youngest it can be"
        )
    if birth_date > on:
        return None, f"birthDate {birth_date.isoformat()} is after {on.isoformat()}; age unknown"
    years = on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))
    if years > 120:
        return None, f"birthDate {birth_date.isoformat()} gives an age over 120; age unknown"
    last = _anniversary(birth_date, birth_date.year + years)
    following = _anniversary(birth_date, birth_date.year + years + 1)
    fraction = (on - last).days / (following - last).days
    return years + math.floor(fraction * 1000) / 1000, note


# -- reading ------------------------------------------------------------------------------------
@attrs.define
class _Reader:
    kb: KnowledgeBase
    snomed: dict[str, list[str]]
    antibody_names: list[tuple[str, str]]
    findings: dict[str, None] = attrs.field(factory=dict)
    antibodies: dict[str, None] = attrs.field(factory=dict)
    used: list[FhirFinding] = attrs.field(factory=list)
    unmapped: list[FhirUnmapped] = attrs.field(factory=list)
    ignored: list[FhirIgnored] = attrs.field(factory=list)
    #: the Patient's sex and age, for thresholds by sex (haemoglobin) and age (adults)
    sex: str | None = None
    age: float | None = None

    def use(self, resource: str, terms: list[tuple[str, str]]) -> None:
        """Record ``(term, source)`` pairs read from ``resource``."""
        for term, source in terms:
            for finding_id in sorted(self.kb.terms[normalize_term(term)].maps_to):
                finding = self.kb.findings[finding_id]
                target = self.antibodies if finding.kind == "antibody" else self.findings
                target[term] = None
                self.used.append(
                    FhirFinding(resource, finding.id, finding.label, finding.kind, source)
                )

    def map_codings(self, concept: Any) -> tuple[list[tuple[str, str]], list[str], list[str]]:
        """Vocabulary terms for a CodeableConcept's codings: ``(terms, codes, reasons)``.

        ``terms`` pairs each vocabulary term with the coding it came from; ``codes`` lists every
        coding as ``system|code (display)``; ``reasons`` says why a coding mapped to nothing.
        """
        terms: list[tuple[str, str]] = []
        codes: list[str] = []
        reasons: list[str] = []
        for coding in _list(getattr(concept, "coding", None)):
            system = _text(coding.system)
            code = _text(coding.code)
            display = _text(coding.display)
            codes.append(f"{system or '(no system)'}|{code}" + (f" ({display})" if display else ""))
            kind = _system_kind(system, code)
            if kind == "hpo":
                match = _HPO_CODE.match(code.strip())
                hpo_id = f"HP:{match.group(1)}" if match else code
                if normalize_term(hpo_id) in self.kb.terms:
                    terms.append((hpo_id, f"HPO {hpo_id}" + (f" ({display})" if display else "")))
                else:
                    reasons.append(self.hpo_reason(hpo_id))
            elif kind == "snomed":
                ids = self.snomed.get(code.strip(), [])
                source = f"SNOMED CT {code.strip()}" + (f" ({display})" if display else "")
                terms.extend((finding_id, source) for finding_id in ids)
                if not ids:
                    reasons.append(f"SNOMED CT {code.strip()} is not in the rule base's vocabulary")
            else:
                reasons.append(
                    f"code system {system or '(none)'} is not read "
                    "(findings are mapped from HPO and SNOMED CT codes)"
                )
        return terms, codes, reasons

    def hpo_reason(self, hpo_id: str) -> str:
        """Why an HPO code outside the vocabulary and the HPO map is not used."""
        other = (
            None if self.kb.hpo_terms is None else self.kb.hpo_terms.lookup(normalize_term(hpo_id))
        )
        if other is not None:
            return f"HPO {hpo_id} ({other.label}) is a current HPO term that no rule uses"
        return f"HPO {hpo_id} is not in the rule base's vocabulary"

    def antibody_terms(self, concept: Any) -> tuple[list[tuple[str, str]], str, str]:
        """Antibodies named by a code's text or coding displays: ``(terms, problem, blocked)``.

        ``problem`` says why the names are not used (the resource is unmapped); ``blocked`` says
        why they are not counted (the resource is ignored): a text that names an antibody and
        holds a negation, doubt, family or hypothetical cue ("Anti-Yo antibody negative", "Family
        history of anti-Yo antibody") does not say the patient has it.
        """
        texts = [_text(getattr(concept, "text", None))]
        texts += [_text(c.display) for c in _list(getattr(concept, "coding", None))]
        found: dict[str, str] = {}
        cues = [(text, word) for text in filter(None, texts) if (word := blocking_cue(text))]
        for text in filter(None, texts):
            key = normalize_term(text)
            cue = _ANTIBODY_CUES.search(key) is not None
            for name, finding_id in self.antibody_names:
                if len(name) < _SHORT_NAME and not cue:
                    continue
                if re.search(rf"(?<![a-z0-9]){re.escape(name)}(?![a-z0-9])", key):
                    found.setdefault(finding_id, f"antibody named in '{text}'")
        if found and cues:
            cued, word = cues[0]
            return [], "", f"antibody named in {_quoted(cued)}, which says {word!r}: not counted"
        if len(found) > 1:
            labels = ", ".join(self.kb.findings[f].label for f in sorted(found))
            return [], f"names several antibodies ({labels}); give one Observation per antibody", ""
        return [(f, source) for f, source in found.items()], "", ""


def _read(
    resources: list[tuple[Any, str | None]],
    skipped: list[FhirIgnored],
    kb: KnowledgeBase,
    today: date,
    patient_id: str | None = None,
    pages: Sequence[str] = (),
) -> FhirRecord:
    reader = _Reader(kb=kb, snomed=_snomed_index(kb), antibody_names=_antibody_names(kb))
    reader.ignored.extend(skipped)
    patients = [(r, url) for r, url in resources if r.get_resource_type() == "Patient"]
    patient_keys = {_key(r, url, 0) for r, url in patients}
    if len(patient_keys) > 1:
        raise FhirError(
            "record",
            [
                f"holds {len(patient_keys)} patients ({', '.join(sorted(patient_keys))}); "
                "pass one patient's record"
            ],
        )
    if len({(_text(r.gender), _text(r.birthDate)) for r, _ in patients}) > 1:
        raise FhirError(
            "record",
            [
                f"holds {next(iter(patient_keys))} more than once with a different gender or "
                "birthDate; pass one patient's record"
            ],
        )
    notes: list[str] = []
    age: float | None = None
    sex: str | None = None
    patient_key: str | None = None
    references: set[str] = set()
    identifiers = {i for p, _ in patients for i in map(_identifier_key, _list(p.identifier)) if i}
    if patients:
        patient, url = patients[0]
        patient_key = _key(patient, url, 0)
        references = {f"Patient/{patient.id}"} if patient.id else set()
        if url:
            references.add(url)
        gender = _text(patient.gender)
        sex = gender if gender in ("female", "male") else None
        modifiers = [url for p, _ in patients for url in _modifier_urls(p)]
        if modifiers:
            sex = None
            notes.append(
                f"the Patient has a modifierExtension {_quoted(modifiers[0])} that is not "
                "understood; age and sex not read"
            )
        elif patient.birthDate is not None:
            age, note = age_on(patient.birthDate, today)
            if note:
                notes.append(note)
        else:
            notes.append("the Patient has no birthDate; age unknown")
    else:
        notes.append("no Patient resource; age and sex unknown")
    reader.sex, reader.age = sex, age
    if patient_id is not None:
        references.add(f"Patient/{patient_id}")
    if not references:
        _one_subject(resources, identifiers)
    for index, (resource, url) in enumerate(resources):
        kind = resource.get_resource_type()
        key = _key(resource, url, index)
        if kind == "Patient":
            continue
        if kind not in _READ_TYPES:
            reader.ignored.append(FhirIgnored(key, f"{kind} resources are not read"))
            continue
        modifiers = _modifier_urls(resource)
        if modifiers:
            more = f" (and {len(modifiers) - 1} more)" if len(modifiers) > 1 else ""
            reason = (
                f"modifierExtension {_quoted(modifiers[0])}{more} is not understood: not counted"
            )
            reader.ignored.append(FhirIgnored(key, reason))
            continue
        problem = _subject_problem(resource, references, identifiers)
        if problem:
            reader.ignored.append(FhirIgnored(key, problem))
            continue
        if kind == "Condition":
            _condition(reader, resource, key)
        else:
            _observation(reader, resource, key)
    return FhirRecord(
        patient=patient_key,
        age=age,
        sex=sex,
        findings=tuple(reader.findings),
        antibodies=tuple(reader.antibodies),
        used=tuple(reader.used),
        unmapped=tuple(reader.unmapped),
        ignored=tuple(reader.ignored),
        notes=(*notes, *pages),
    )


def _condition(reader: _Reader, condition: Any, key: str) -> None:
    reason = _verification(condition.verificationStatus)
    if reason:
        reader.ignored.append(FhirIgnored(key, reason))
        return
    terms, codes, reasons = reader.map_codings(condition.code)
    problem = blocked = ""
    if not terms:
        terms, problem, blocked = reader.antibody_terms(condition.code)
    if blocked:
        reader.ignored.append(FhirIgnored(key, blocked))
        return
    denied = _denying_text(condition.code)
    if terms and denied:
        reader.ignored.append(FhirIgnored(key, denied))
        return
    if terms:
        reader.use(key, terms)
        return
    reader.unmapped.append(
        FhirUnmapped(
            key,
            tuple(codes),
            _text(getattr(condition.code, "text", None)),
            problem or "; ".join(reasons) or "no code",
        )
    )


def _observation(reader: _Reader, observation: Any, key: str) -> None:
    status = _text(observation.status)
    if status in _IGNORED_OBSERVATION:
        reader.ignored.append(FhirIgnored(key, f"status {_IGNORED_OBSERVATION[status]}"))
        return
    terms, codes, reasons = reader.map_codings(observation.code)
    problem = blocked = ""
    if not terms:
        terms, problem, blocked = reader.antibody_terms(observation.code)
    if blocked:
        reader.ignored.append(FhirIgnored(key, blocked))
        return
    value_is_finding = False
    if not terms and not problem and observation.valueCodeableConcept is not None:
        terms = reader.map_codings(observation.valueCodeableConcept)[0]
        value_is_finding = bool(terms)
    if not terms and observation.valueQuantity is not None:
        quantity = _quantity_finding(reader, observation)
        if quantity is not None:
            found, why = quantity
            if found:
                reader.use(key, found)
            else:
                reader.ignored.append(FhirIgnored(key, why))
            return
    if not terms:
        if observation.valueQuantity is not None:
            reasons.append(
                "numeric results are read only for the LOINC codes of the rule base's [[lab]] "
                "entries"
            )
        reader.unmapped.append(
            FhirUnmapped(
                key,
                tuple(codes),
                _text(getattr(observation.code, "text", None)),
                problem or "; ".join(dict.fromkeys(reasons)) or "no code",
            )
        )
        return
    reason = _denying_text(observation.code) or (
        _denying_text(observation.valueCodeableConcept) if value_is_finding else ""
    )
    reason = reason or _not_counted(reader, observation, terms, value_is_finding)
    if reason:
        reader.ignored.append(FhirIgnored(key, reason))
    else:
        reader.use(key, terms)


def _quantity_finding(
    reader: _Reader, observation: Any
) -> tuple[list[tuple[str, str]], str] | None:
    """A LOINC-coded ``valueQuantity`` read against the rule base's lab thresholds: ``(terms,
    "")`` when it crosses one, ``([], why)`` when it does not or cannot be read, ``None`` when no
    threshold has the Observation's LOINC code."""
    codes = [
        _text(c.code).strip()
        for c in _list(getattr(observation.code, "coding", None))
        if _system(_text(c.system)) == _LOINC
    ]
    labs = [lab for lab in reader.kb.lab_thresholds if set(lab.loinc) & set(codes)]
    if not labs:
        return None
    labs_for_age = [
        lab for lab in labs if lab.age is None or reader.age is None or lab.age.contains(reader.age)
    ]
    if not labs_for_age:
        return [], (
            f"{labs[0].id}: its threshold is for {labs[0].age.describe() if labs[0].age else ''}, "
            f"not age {reader.age:g}: not read"
        )
    labs = labs_for_age
    quantity = observation.valueQuantity
    code = next(c for c in codes if any(c in lab.loinc for lab in labs))
    if quantity.value is None:
        return [], f"LOINC {code}: valueQuantity without a value: not read"
    if _text(quantity.comparator):
        return [], (
            f"LOINC {code}: value {_text(quantity.comparator)}{quantity.value} is a bound, "
            "not a value: not read"
        )
    if _interpretation(observation) in ("negative", "indeterminate", "conflicting"):
        return [], f"LOINC {code}: its interpretation does not call the value abnormal: not counted"
    unit = (_text(quantity.code) or _text(quantity.unit)).strip()
    value = float(quantity.value)
    written = f"LOINC {code} = {value:g}" + (f" {unit}" if unit else "")
    why: list[str] = []
    for lab in labs:
        reading = read_quantity(lab, value, unit or None, written)
        if isinstance(reading, str):
            why.append(f"{written}: {reading}")
            continue
        limit = lab.threshold_for(reader.sex)
        if lab.crossed(reading.value, reader.sex):
            return [(lab.finding, reading.describe(reader.sex))], ""
        why.append(
            f"{written}: {reading.value:.3g} {lab.unit} is not {lab.direction} {limit:g} "
            f"{lab.unit} ({lab.citation}): no finding"
        )
    return [], "; ".join(why)


def _denying_text(concept: Any) -> str:
    """Why a coded finding does not count when its concept's text or a display denies or doubts it
    ("No ataxia", "Negative findings", "Family history of ataxia"): "" when none does."""
    if concept is None:
        return ""
    texts = [_text(getattr(concept, "text", None))]
    texts += [_text(c.display) for c in _list(getattr(concept, "coding", None))]
    for text in filter(None, texts):
        cue = blocking_cue(text)
        if cue:
            return f"coded, but its text {_quoted(text)} says {cue!r}: not counted"
    return ""


def _verification(concept: Any) -> str:
    """Why a Condition's ``verificationStatus`` stops it from counting ("" when it counts).

    Codes are read in any case, and so are displays and the text ("Refuted", "refuted"); a SNOMED
    CT result qualifier reads as its status (410516002 Known absent as refuted), and so does a
    text result ("absent", "not present" as refuted). A status with none of these is not guessed:
    the Condition does not count.
    """
    if concept is None:
        return ""
    statuses: list[tuple[str, str]] = []  # (status, what it was read from)
    unread: list[str] = []
    for coding in _list(concept.coding):
        code, display = _text(coding.code).strip(), _text(coding.display).strip()
        if _system(_text(coding.system)) in _SNOMED and code in _SNOMED_RESULTS:
            snomed = _SNOMED_VERIFICATION[_SNOMED_RESULTS[code]]
            statuses.append((snomed, f"SNOMED CT {code}" + (f" {display}" if display else "")))
            continue
        read = [(s, word) for word in (code, display) if (s := _verification_word(word))]
        if read:
            statuses.append(read[0])
        elif code or display:
            unread.append(f"{code} ({display})" if code and display else code or display)
    text = _text(concept.text).strip()
    from_text = _verification_word(text)
    if from_text:
        statuses.append((from_text, text))
    elif text:
        unread.append(text)
    for status, source in statuses:
        if status in _NOT_COUNTED_VERIFICATION:
            return f"verificationStatus {status}" + (
                "" if source == status else f" (read from {_quoted(source)})"
            )
    if unread and not statuses:
        return (
            f"verificationStatus {_quoted(unread[0])} is not a verification status that is read "
            f"({', '.join(_VERIFICATION_STATUSES.values())}): not counted"
        )
    return ""


def _verification_word(text: str) -> str | None:
    key = normalize_term(text).rstrip(".")
    if key in _VERIFICATION_STATUSES:
        return _VERIFICATION_STATUSES[key]
    return _SNOMED_VERIFICATION.get(_result_word(text) or "") if key else None


def _not_counted(
    reader: _Reader, observation: Any, terms: list[tuple[str, str]], value_is_finding: bool
) -> str:
    """Why an Observation of a finding or antibody does not count ("" when it counts).

    A finding counts when the Observation has no value or a value that asserts it; an antibody only
    with a positive result. When the value is the finding, only the interpretation can deny it.
    """
    if observation.dataAbsentReason is not None:
        return f"no result (dataAbsentReason {_concept_name(observation.dataAbsentReason)}): not counted"
    if observation.component and _value(observation) == (None, ""):
        return "no value, and its results are in components, which are not read: not counted"
    if value_is_finding:
        result, unread = _interpretation(observation), ""
    else:
        value, unread = _value(observation)
        result = _combine({r for r in (_interpretation(observation), value) if r})
    if result in ("negative", "indeterminate", "conflicting"):
        return f"{result} result: not counted"
    is_antibody = any(
        reader.kb.findings[f].kind == "antibody"
        for term, _ in terms
        for f in reader.kb.terms[normalize_term(term)].maps_to
    )
    if is_antibody and not value_is_finding and result != "positive":
        detail = f" ({unread})" if unread else ""
        return f"antibody test without a positive result{detail}"
    if unread and result != "positive":
        return f"{unread}: not counted"
    return ""


def _value(observation: Any) -> tuple[str | None, str]:
    """What ``value[x]`` says: ``(result, unread)``.

    ``result`` is ``positive``, ``negative``, ``indeterminate``, ``conflicting`` or ``None``;
    ``unread`` says why a value that is there gives no result ("" when there is none, or it does).
    """
    if observation.valueBoolean is not None:
        return ("positive" if observation.valueBoolean else "negative"), ""
    if observation.valueInteger is not None:
        if observation.valueInteger == 0:
            return "negative", ""
        return None, f"value {observation.valueInteger} is not read as a result"
    if observation.valueString is not None:
        text = _text(observation.valueString)
        word = _result_word(text)
        return (word, "") if word else (None, f"value {_quoted(text)} is not read as a result")
    concept = observation.valueCodeableConcept
    if concept is not None:
        result = _concept_result(concept)
        name = _quoted(_concept_name(concept))
        return (result, "") if result else (None, f"value {name} is not read as a result")
    for field in _NUMERIC_VALUES:
        if getattr(observation, field) is not None:
            return None, "numeric results are not interpreted"
    for field in _OTHER_VALUES:
        if getattr(observation, field) is not None:
            return None, f"a {field.removeprefix('value')} value is not read as a result"
    return None, ""


def _concept_result(concept: Any) -> str | None:
    """What a coded value says: its result codes, or else the words of its displays and text."""
    found = set()
    for coding in _list(concept.coding):
        system = _system(_text(coding.system))
        code = _text(coding.code).strip()
        if system in _SNOMED and code in _SNOMED_RESULTS:
            found.add(_SNOMED_RESULTS[code])
        elif system in _INTERPRETATION_SYSTEMS and code.lower() in _INTERPRETATION_CODES:
            found.add(_INTERPRETATION_CODES[code.lower()])
        elif system in _YES_NO_SYSTEMS and code.lower() in _YES_NO_CODES:
            found.add(_YES_NO_CODES[code.lower()])
        else:
            word = _result_word(_text(coding.display))
            if word:
                found.add(word)
    word = _result_word(_text(concept.text))
    if word:
        found.add(word)
    return _combine(found)


def _concept_name(concept: Any) -> str:
    """A CodeableConcept as its text, else its first coding's code and display."""
    text = _text(getattr(concept, "text", None)).strip()
    if text:
        return text
    for coding in _list(getattr(concept, "coding", None)):
        code, display = _text(coding.code).strip(), _text(coding.display).strip()
        if code or display:
            return f"{code} ({display})" if code and display else code or display
    return "(no code)"


def _quoted(text: str) -> str:
    text = " ".join(text.split())
    return repr(text if len(text) <= _QUOTED else text[: _QUOTED - 3] + "...")


def _interpretation(observation: Any) -> str | None:
    found = set()
    for concept in _list(observation.interpretation):
        for coding in _list(concept.coding):
            system = _system(_text(coding.system))
            code = _text(coding.code).lower()
            if (not system or system in _INTERPRETATION_SYSTEMS) and code in _INTERPRETATION_CODES:
                found.add(_INTERPRETATION_CODES[code])
        word = _result_word(_text(concept.text))
        if word:
            found.add(word)
    return _combine(found)


def _combine(found: set[str]) -> str | None:
    if not found:
        return None
    if len(found) > 1:
        return "conflicting"
    return next(iter(found))


def _result_word(text: str) -> str | None:
    key = normalize_term(text).rstrip(".")
    if key in _RESULT_ANSWERS:
        return _RESULT_ANSWERS[key]
    for phrase, meaning in _RESULT_WORDS:
        if key == phrase:
            return meaning
        if key.startswith(phrase) and not key[len(phrase)].isalnum():
            # "positive?", "positive, previously negative": a doubt or a denial after the word
            # leaves the result open.
            return "indeterminate" if blocking_cue(key[len(phrase) :]) else meaning
    return None


# -- helpers -----------------------------------------------------------------------------------
_FHIR_DATE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?", re.ASCII)
_VALID_BIRTH = "a datetime.date, or a FHIR date text: YYYY, YYYY-MM or YYYY-MM-DD (a real date)"


def _engine(engine: object) -> Engine:
    """``engine``, or the shipped rules' engine for ``None``; anything else is an ``InputError``."""
    if engine is None:
        return default_engine()
    if not isinstance(engine, Engine):
        raise InputError(
            "engine",
            engine,
            "a pns_rules Engine (such as Engine.shipped() or Engine.from_directory(path)), "
            "or None for the shipped rules",
        )
    return engine


def _day(on: object, parameter: str = "on", *, required: bool = False) -> date:
    """``on`` as a date (a ``datetime`` counts as its date; ``None`` is today unless required)."""
    if on is None and not required:
        return date.today()
    if isinstance(on, datetime):
        return on.date()
    if isinstance(on, date):
        return on
    valid = "a datetime.date such as date.fromisoformat('2026-11-20')"
    raise InputError(parameter, on, valid if required else f"{valid}, or None for today")


def _birth_date(birth: object) -> tuple[date, bool]:
    """A FHIR birthDate as a date, and whether it was partial (taken at its latest day)."""
    if isinstance(birth, datetime):
        return birth.date(), False
    if isinstance(birth, date):
        return birth, False
    match = _FHIR_DATE.fullmatch(birth) if isinstance(birth, str) else None
    if match is None:
        raise InputError("birth", birth, _VALID_BIRTH)
    year = int(match[1])
    try:
        if match[3]:
            return date(year, int(match[2]), int(match[3])), False
        month = int(match[2]) if match[2] else 12
        return date(year, month, calendar.monthrange(year, month)[1]), True
    except ValueError:  # calendar.IllegalMonthError is a ValueError
        raise InputError("birth", birth, _VALID_BIRTH) from None


def _python_type(value: object) -> str:
    if value is None:
        return "None"
    name = type(value).__name__
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"


def _snomed_index(kb: KnowledgeBase) -> dict[str, list[str]]:
    index: dict[str, list[str]] = {}
    for finding in kb.findings.values():
        if finding.snomed:
            index.setdefault(finding.snomed, []).append(finding.id)
    return index


def _antibody_names(kb: KnowledgeBase) -> list[tuple[str, str]]:
    names = []
    for finding in kb.findings.values():
        if finding.kind == "antibody":
            for name in {finding.label, *finding.synonyms}:
                key = normalize_term(name)
                if key:
                    names.append((key, finding.id))
    return sorted(names, key=lambda pair: (-len(pair[0]), pair))


def _system(system: str) -> str:
    value = system.strip().lower()
    value = re.sub(r"^https?://", "", value)
    value = value.removeprefix("www.")
    return value.rstrip("/")


_HPO = frozenset(_system(s) for s in HPO_SYSTEMS)
_LOINC = _system("http://loinc.org")
_SNOMED = frozenset(_system(s) for s in SNOMED_SYSTEMS)


def _system_kind(system: str, code: str) -> str | None:
    normalized = _system(system)
    if normalized in _HPO:
        return "hpo" if _HPO_CODE.match(code.strip()) else None
    if normalized in _SNOMED:
        return "snomed" if _SNOMED_CODE.match(code.strip()) else None
    if not normalized and code.strip().upper().startswith("HP:"):
        return "hpo" if _HPO_CODE.match(code.strip()) else None
    return None


def _list(value: Any) -> list[Any]:
    return list(value) if value else []


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _modifier_urls(resource: Any) -> list[str]:
    """The urls of the ``modifierExtension``s anywhere in a resource (its contained resources
    aside). FHIR: a reader must not ignore a modifier it does not understand."""
    urls: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for name, item in value.items():
                if name == "modifierExtension" and isinstance(item, list):
                    urls.extend(
                        _text(e.get("url")) or "(no url)" for e in item if isinstance(e, dict)
                    )
                else:
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    data = resource.model_dump(exclude_none=True)
    data.pop("contained", None)
    walk(data)
    return urls


def _reference(value: Any) -> str:
    return _text(getattr(value, "reference", None))


def _identifier_key(identifier: Any) -> str | None:
    """An Identifier as ``identifier system|value``, or ``None`` without a value."""
    value = _text(getattr(identifier, "value", None)).strip()
    if not value:
        return None
    return f"identifier {_text(getattr(identifier, 'system', None)).strip()}|{value}"


def _subject_keys(reference: Any) -> set[str]:
    """What names the patient of a Reference: ``Patient/<id>`` (or the reference) and its
    identifier."""
    keys = {
        _patient_part(_reference(reference)),
        _identifier_key(getattr(reference, "identifier", None)),
    }
    return {k for k in keys if k}


def _one_subject(resources: list[tuple[Any, str | None]], identifiers: set[str]) -> None:
    """With no Patient id to compare with, the resources read must not name two patients.

    A subject's reference and identifier name one patient; so do the Patient's identifiers.
    Different references or identifiers not tied together that way are different patients.
    """
    groups: list[tuple[set[str], bool]] = [(set(identifiers), False)] if identifiers else []
    for resource, _ in resources:
        if resource.get_resource_type() not in _READ_TYPES:
            continue
        keys = _subject_keys(getattr(resource, "subject", None))
        if not keys:
            continue
        joined = [g for g in groups if g[0] & keys]
        groups = [g for g in groups if not g[0] & keys]
        groups.append((keys.union(*(g[0] for g in joined)), True))
    subjects = sorted(" = ".join(sorted(keys)) for keys, read in groups if read)
    if len(subjects) > 1:
        raise FhirError(
            "record",
            [
                f"has no Patient resource and its resources are about {len(subjects)} patients "
                f"({', '.join(subjects)}); pass one patient's record"
            ],
        )


def _subject_problem(resource: Any, references: set[str], identifiers: set[str]) -> str:
    """Why a resource is not about the record's patient ("" when it is, or may be).

    ``references`` and ``identifiers`` name the patient (either may be empty). A subject with
    neither a reference nor an identifier cannot be tied to the patient; neither can one given
    only by identifier when the patient's identifiers are not known. An Observation whose
    ``focus`` is not the patient is about someone (or something) else.
    """
    subject = getattr(resource, "subject", None)
    if subject is not None:
        reference = _reference(subject)
        identifier = _identifier_key(subject.identifier)
        if not reference and identifier is None:
            return "its subject has no reference or identifier: cannot be tied to the patient"
        if reference and references and not _same_patient(reference, references):
            return "about another patient"
        if identifier is not None and identifiers and identifier not in identifiers:
            return "about another patient (its subject identifier is none of the Patient's)"
        if not reference and references and not identifiers:
            return (
                "its subject is given by identifier only and the Patient's identifiers are not "
                "known: cannot be tied to the patient"
            )
    patient = _subject_keys(subject) | identifiers
    for focus in _list(getattr(resource, "focus", None)):
        reference = _reference(focus)
        if reference and references and _same_patient(reference, references):
            continue
        if _subject_keys(focus) & patient:
            continue
        named = _quoted(reference) if reference else "given without a reference"
        return f"its focus ({named}) is not the patient: about someone or something else"
    return ""


_VERSION = re.compile(r"/_history/[^/]*$")


def _without_version(reference: str) -> str:
    """A reference without its ``/_history/<version>`` part."""
    return _VERSION.sub("", reference)


def _patient_part(reference: str) -> str:
    """``Patient/<id>`` of a subject reference (relative or absolute), or the reference itself."""
    reference = _without_version(reference)
    match = re.search(r"(?:^|/)(Patient/[^/]+)$", reference)
    return match.group(1) if match else reference


def _same_patient(reference: str, patient: set[str]) -> bool:
    reference = _without_version(reference)
    if reference in patient:
        return True
    return any(p.startswith("Patient/") and reference.endswith("/" + p) for p in patient)


def _key(resource: Any, full_url: str | None, index: int) -> str:
    kind = resource.get_resource_type()
    if resource.id:
        return f"{kind}/{resource.id}"
    if full_url:
        return str(full_url)
    return f"{kind} #{index}"


def _anniversary(birth: date, year: int) -> date:
    try:
        return birth.replace(year=year)
    except ValueError:  # 29 February in a common year
        return date(year, 2, 28)


def _describe(value: object) -> str:
    """A resourceType, or the JSON type of what stands where a resource should."""
    if isinstance(value, str):
        return f"resourceType {value[:40]!r}"
    return "no resourceType" if value is None else f"a JSON {type(value).__name__}"


def _as_json(value: Any, parameter: str) -> Any:
    if isinstance(value, str | bytes | bytearray):
        try:
            return json.loads(value)
        except (ValueError, RecursionError) as exc:
            message = exc.msg if isinstance(exc, json.JSONDecodeError) else type(exc).__name__
            raise FhirError(parameter, [f"not valid JSON ({message})"]) from None
    if hasattr(value, "get_resource_type") and hasattr(value, "model_dump_json"):
        return json.loads(value.model_dump_json())
    return value


def _collect(
    data: Any, where: str
) -> tuple[list[tuple[Any, str | None]], list[FhirIgnored], list[str]]:
    """Validated resources (with their fullUrl) from one resource or Bundle, skipped entries, and
    notes (a Bundle that is one page of a search)."""
    if not isinstance(data, dict):
        raise FhirError(where, [f"expected a FHIR resource, got {_describe(data)}"])
    _check_type(data, "(top level)", where)
    if data["resourceType"] != "Bundle":
        resource = _validate(get_fhir_model_class(data["resourceType"]), data, where)
        _check_codes([("", resource)], where)
        return [(resource, None)], [], []
    entries = data.get("entry")
    for index, entry in enumerate(entries if isinstance(entries, list) else ()):
        if isinstance(entry, dict) and isinstance(entry.get("resource"), dict):
            _check_type(entry["resource"], f"entry[{index}].resource", where)
    bundle = _validate(Bundle, data, where)
    _check_codes(
        [("", bundle)]
        + [(f"entry[{i}].resource.", e.resource) for i, e in enumerate(bundle.entry or ())],
        where,
    )
    items: list[tuple[Any, str | None]] = []
    skipped: list[FhirIgnored] = []
    for index, entry in enumerate(bundle.entry or ()):
        resource = entry.resource
        if resource is None:
            skipped.append(FhirIgnored(f"{where}.entry[{index}]", "entry without a resource"))
        elif entry.search is not None and entry.search.mode == "outcome":
            key = _key(resource, entry.fullUrl, index)
            skipped.append(FhirIgnored(key, "search outcome, not data"))
        elif entry.modifierExtension:
            key = _key(resource, entry.fullUrl, index)
            url = _quoted(_text(entry.modifierExtension[0].url))
            reason = f"its Bundle entry has a modifierExtension {url} that is not understood"
            skipped.append(FhirIgnored(key, f"{reason}: not counted"))
        else:
            items.append((resource, entry.fullUrl))
    return items, skipped, _page_notes(bundle, where)


def _page_notes(bundle: Any, where: str) -> list[str]:
    """A note when a Bundle is one page of a search: it links to a next page, or its ``total``
    (the number of matches) is more than the matches it holds."""
    signs = []
    if any(_text(link.relation).strip().lower() == "next" for link in _list(bundle.link)):
        signs.append("it links to a next page")
    matches = sum(
        1
        for entry in _list(bundle.entry)
        if entry.search is None or entry.search.mode not in ("include", "outcome")
    )
    if bundle.total is not None and bundle.total > matches:
        signs.append(f"it holds {matches} of {bundle.total} matches")
    if not signs:
        return []
    return [
        f"{where} is one page of a search ({' and '.join(signs)}): resources on other pages "
        "were not read, so the record may be incomplete"
    ]


def _check_type(resource: dict[str, Any], location: str, where: str) -> None:
    """Refuse unknown resource types up front (``fhir.resources`` fails on them obscurely)."""
    kind = resource.get("resourceType")
    if not isinstance(kind, str):
        raise FhirError(where, [f"{location}: resourceType is missing"])
    try:
        get_fhir_model_class(kind)
    except ValueError:
        raise FhirError(where, [f"{location}: unknown resourceType {kind[:40]!r}"]) from None


def _check_codes(resources: list[tuple[str, Any]], where: str) -> None:
    """Refuse codes outside the FHIR R4 required value sets of Patient.gender, Observation.status
    and Bundle.type: ``fhir.resources`` accepts any code there, and a wrong one would be read as
    unknown (a sex of ``None``) or as an ordinary status without a word."""
    problems = []
    for location, resource in resources:
        if resource is None:  # an entry without a resource, reported when read
            continue
        kind = resource.get_resource_type()
        for element, codes in _REQUIRED_CODES.get(kind, {}).items():
            value = getattr(resource, element)
            if value is not None and value not in codes:
                name = f"{kind}.{element}"
                problems.append(f"{location}{element}: not a FHIR {name} code ({', '.join(codes)})")
    if problems:
        raise FhirError(where, problems)


def _validate(model_class: Any, data: dict[str, Any], parameter: str) -> Any:
    try:
        return model_class.model_validate(data)
    except ValidationError as exc:
        problems = [
            f"{_location(error['loc'])}: {error['msg'].removeprefix('Value error, ')}"
            for error in exc.errors(include_input=False, include_url=False)
        ]
        raise FhirError(parameter, problems or ["not valid FHIR R4"]) from None
    except (RecursionError, ValueError, TypeError, KeyError) as exc:
        raise FhirError(parameter, [f"not valid FHIR R4 ({type(exc).__name__})"]) from None


def _location(loc: Sequence[int | str]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return " ".join(text.split()) or "(top level)"
