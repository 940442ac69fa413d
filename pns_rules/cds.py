"""CDS Hooks 2.0 for pns-rules: the discovery document, request checks and cards.

This module is the protocol, without a web framework: :mod:`pns_rules.server` puts it behind HTTP.
The service answers the ``patient-view`` hook from prefetched FHIR data (see docs/ehr.md):

- ``patient``: ``Patient/{{context.patientId}}``
- ``conditions``: ``Condition?patient={{context.patientId}}``
- ``observations``: ``Observation?patient={{context.patientId}}``

It returns one card when the best syndrome reaches :data:`CARD_LEVELS` (intermediate or high), and
no card otherwise. Needs the ``fhir`` extra.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any
from urllib.parse import quote

import attrs

from .engine import Engine
from .fhir import FhirError, FhirIgnored, FhirRecord, read_parts
from .results import NOTICE, CancerCandidate, Differential, SyndromeCandidate

__all__ = [
    "CARD_LEVELS",
    "HOOK",
    "MAX_SUMMARY",
    "PREFETCH",
    "SERVICE_ID",
    "CdsRequestError",
    "cards",
    "citation_url",
    "discovery",
    "respond",
]

SERVICE_ID = "pns-differential"
HOOK = "patient-view"
#: Prefetch templates declared in discovery; every key must be in a request's ``prefetch``.
PREFETCH: Mapping[str, str] = {
    "patient": "Patient/{{context.patientId}}",
    "conditions": "Condition?patient={{context.patientId}}",
    "observations": "Observation?patient={{context.patientId}}",
}
#: Syndrome levels worth a card; a differential whose best syndrome is "low" gives no card.
CARD_LEVELS: tuple[str, ...] = ("high", "intermediate")
#: CDS Hooks asks for a summary under 140 characters.
MAX_SUMMARY = 139
#: How many syndromes and cancers a card lists at most.
MAX_SYNDROMES = 5
MAX_CANCERS = 5
MAX_LISTED = 10
# How much of an undeclared prefetch key is repeated in the record.
_MAX_KEY = 60
_A = {str: "a string", dict: "an object"}
_RESOURCE_TYPES = {"patient": ("Patient",), "conditions": ("Bundle",), "observations": ("Bundle",)}


@attrs.define
class CdsRequestError(Exception):
    """A CDS Hooks request the service cannot answer: ``status`` is the HTTP status to return.

    ``code`` is a short machine-readable name (``invalid-request``, ``wrong-hook``,
    ``missing-prefetch``, ``invalid-fhir``); ``message`` says what was wrong. Neither repeats
    patient data beyond what is needed to find the problem.
    """

    status: int
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"


def discovery() -> dict[str, Any]:
    """The CDS Hooks discovery document (``GET /cds-services``)."""
    return {
        "services": [
            {
                "hook": HOOK,
                "id": SERVICE_ID,
                "title": "Paraneoplastic syndrome differential (pns-rules)",
                "description": (
                    "Ranks paraneoplastic syndromes and the cancers to screen for from the "
                    "patient's coded conditions (HPO, SNOMED CT) and positive antibody results. "
                    + NOTICE
                ),
                "prefetch": dict(PREFETCH),
                "usageRequirements": (
                    "Send all three prefetch keys (null for no data). Conditions and observations "
                    "are read as searchset Bundles."
                ),
            }
        ]
    }


def respond(payload: Any, engine: Engine, *, on: date | None = None) -> dict[str, Any]:
    """The CDS Hooks response (``{"cards": [...]}``) to a parsed request body.

    Raises :class:`CdsRequestError` for a request that is not a valid ``patient-view`` call with
    the declared prefetch.
    """
    record = read_request(payload, engine, on=on)
    differential = record.suggest(engine)
    return {"cards": cards(differential, record)}


def read_request(payload: Any, engine: Engine, *, on: date | None = None) -> FhirRecord:
    """Check a request body and read its prefetch into a :class:`~pns_rules.fhir.FhirRecord`."""
    if not isinstance(payload, dict):
        raise CdsRequestError(400, "invalid-request", "the body must be a JSON object")
    hook = payload.get("hook")
    if not isinstance(hook, str):
        raise CdsRequestError(400, "invalid-request", "`hook` is required and must be a string")
    if hook != HOOK:
        raise CdsRequestError(
            400, "wrong-hook", f"this service answers the {HOOK} hook, not {hook[:60]!r}"
        )
    if not isinstance(payload.get("hookInstance"), str):
        raise CdsRequestError(
            400, "invalid-request", "`hookInstance` is required and must be a string"
        )
    for name, expected in (("fhirServer", str), ("fhirAuthorization", dict)):
        if name in payload and not isinstance(payload[name], expected):
            raise CdsRequestError(400, "invalid-request", f"`{name}` must be {_A[expected]}")
    context = payload.get("context")
    if not isinstance(context, dict):
        raise CdsRequestError(400, "invalid-request", "`context` is required and must be an object")
    for name in ("userId", "encounterId"):
        if name in context and not isinstance(context[name], str):
            raise CdsRequestError(400, "invalid-request", f"`context.{name}` must be a string")
    patient_id = context.get("patientId")
    if not isinstance(patient_id, str) or not patient_id:
        raise CdsRequestError(
            400, "invalid-request", "`context.patientId` is required and must be a string"
        )
    prefetch = payload.get("prefetch")
    if "prefetch" not in payload:
        raise CdsRequestError(
            412,
            "missing-prefetch",
            f"no prefetch: send {', '.join(PREFETCH)} (this service does not query FHIR servers)",
        )
    if not isinstance(prefetch, dict):
        raise CdsRequestError(400, "invalid-request", "`prefetch` must be an object")
    for key in PREFETCH:
        if prefetch.get(key) is not None and not isinstance(prefetch[key], dict):
            raise CdsRequestError(
                400, "invalid-fhir", f"prefetch.{key} must be a FHIR resource or null"
            )
    missing = [key for key in PREFETCH if key not in prefetch]
    if missing:
        raise CdsRequestError(
            412,
            "missing-prefetch",
            f"prefetch lacks {', '.join(missing)} (this service does not query FHIR servers)",
        )
    for key, kinds in _RESOURCE_TYPES.items():
        value = prefetch[key]
        if value is None:  # CDS Hooks: null means the client had no data for this key
            continue
        kind = value.get("resourceType") if isinstance(value, dict) else None
        if kind == "OperationOutcome":
            raise CdsRequestError(
                412, "missing-prefetch", f"the client could not prefetch {key} (OperationOutcome)"
            )
        if kind not in kinds:
            raise CdsRequestError(
                400,
                "invalid-fhir",
                f"prefetch.{key} must be a {' or '.join(kinds)}, got {_kind(value)}",
            )
    other = _other_patient(prefetch, patient_id)
    if other:
        raise CdsRequestError(
            400, "invalid-request", f"{other} is not the patient in context.patientId"
        )
    try:
        record = read_parts(
            {f"prefetch.{key}": prefetch[key] for key in PREFETCH},
            engine=engine,
            on=on,
            patient_id=patient_id,
        )
    except FhirError as exc:
        raise CdsRequestError(400, "invalid-fhir", str(exc)) from None
    # Keys this service did not ask for are not read, but not dropped without a word either.
    undeclared = tuple(
        FhirIgnored(
            f"prefetch.{_shorten(str(key), _MAX_KEY)}",
            f"not a prefetch key of this service ({', '.join(PREFETCH)}): not read",
        )
        for key, value in prefetch.items()
        if key not in PREFETCH and value is not None
    )
    return attrs.evolve(record, ignored=(*record.ignored, *undeclared)) if undeclared else record


def cards(differential: Differential, record: FhirRecord | None = None) -> list[dict[str, Any]]:
    """CDS Hooks cards for a differential: one card, or none below :data:`CARD_LEVELS`.

    ``record`` adds what was read from the FHIR data (and what was not) to the card.
    """
    shown = [s for s in differential.syndromes if s.level in CARD_LEVELS][:MAX_SYNDROMES]
    if not shown:
        return []
    shown_ids = {s.id for s in shown}
    cancers = [c for c in differential.cancers if any(r.syndrome in shown_ids for r in c.reasons)]
    top = shown[0]
    summary = f"Possible paraneoplastic syndrome: {top.name} ({top.level})"
    if cancers:
        # the cancer clause is dropped rather than cut when it does not fit
        with_cancer = f"{summary}; consider screening for {cancers[0].name}"
        summary = with_cancer if len(with_cancer) <= MAX_SUMMARY else summary
    rule_base = differential.rule_base
    return [
        {
            "uuid": str(uuid.uuid4()),
            "summary": _shorten(summary, MAX_SUMMARY),
            "indicator": "warning" if any(s.level == "high" for s in shown) else "info",
            "detail": _detail(differential, shown, cancers, record),
            "source": {"label": f"{rule_base.name} {rule_base.version}"},
            "links": [
                {"label": citation, "url": citation_url(citation), "type": "absolute"}
                for citation in _citations(shown, cancers[:MAX_CANCERS])
            ],
        }
    ]


def citation_url(citation: str) -> str:
    """The web address of one citation: PubMed for ``PMID:``, doi.org for ``DOI:``."""
    kind, _, value = citation.partition(":")
    if kind == "PMID":
        return f"https://pubmed.ncbi.nlm.nih.gov/{value}/"
    if kind == "DOI":
        return f"https://doi.org/{quote(value, safe='/:;()._-')}"
    raise ValueError(f"not a citation: {citation!r}")


# -- the card's detail ---------------------------------------------------------------------------
def _detail(
    differential: Differential,
    shown: list[SyndromeCandidate],
    cancers: list[CancerCandidate],
    record: FhirRecord | None,
) -> str:
    lines = [f"**{_md(NOTICE)}**", "", "**Candidate syndromes**", ""]
    for rank, syndrome in enumerate(shown, 1):
        lines.append(
            f"{rank}. **{_md(syndrome.name)}** ({syndrome.category}): {syndrome.level}, "
            f"score {syndrome.score:g}"
        )
        for evidence in syndrome.evidence:
            matched = ", ".join(m.label for m in evidence.matched)
            conditions = "; ".join(evidence.conditions)
            extra = f"; {conditions}" if conditions else ""
            counted = "" if evidence.counted else ", not counted: same item"
            lines.append(
                f"    - why: {_md(evidence.description or evidence.rule)} "
                f"(+{evidence.weight}{counted}; {_md(matched)}{_md(extra)}) {evidence.citation}"
            )
        if syndrome.look_for:
            names = ", ".join(s.label for s in syndrome.look_for[:MAX_LISTED])
            lines.append(f"    - look for: {_md(names)}")
    if cancers:
        lines += ["", "**Cancers to screen for, and how**", ""]
        for rank, cancer in enumerate(cancers[:MAX_CANCERS], 1):
            screening = cancer.screening
            lines.append(f"{rank}. **{_md(cancer.name)}**: {cancer.level}, score {cancer.score:g}")
            lines.append(
                f"    - screen: {_md(screening.first_line)}; then {_md(screening.second_line)}. "
                f"{_md(screening.repeat)} {screening.citation}"
            )
            lines.append(f"    - why: {_md('; '.join(r.describe() for r in cancer.reasons))}")
            if cancer.note is not None:
                lines.append(f"    - note: {_md(cancer.note)}")
        if len(cancers) > MAX_CANCERS:
            lines.append(f"{len(cancers) - MAX_CANCERS} more cancers with lower scores.")
    if record is not None:
        lines += ["", *_record_lines(record)]
    rule_base = differential.rule_base
    lines += ["", f"_Rules: {_md(rule_base.name)} {_md(rule_base.version)}._"]
    return "\n".join(lines)


def _record_lines(record: FhirRecord) -> list[str]:
    lines = ["**Read from the record**", ""]
    patient = [f"age {int(record.age)}" if record.age is not None else "age unknown"]
    patient.append(record.sex or "sex unknown")
    lines.append(f"- patient: {', '.join(patient)}")
    used = [f"{_md(u.label)} ({_md(u.source)})" for u in record.used]
    lines.append(f"- used: {_listing(used) or 'nothing'}")
    if record.unmapped:
        unmapped = [_md(u.text or ", ".join(u.codes) or u.resource) for u in record.unmapped]
        lines.append(f"- not mapped: {_listing(unmapped)}")
    if record.ignored:
        ignored = [f"{_md(i.resource)} ({_md(i.reason)})" for i in record.ignored]
        lines.append(f"- ignored: {_listing(ignored)}")
    lines.extend(f"- note: {_md(note)}" for note in record.notes)
    return lines


def _listing(items: list[str]) -> str:
    shown = "; ".join(items[:MAX_LISTED])
    more = len(items) - MAX_LISTED
    return shown + (f"; and {more} more" if more > 0 else "")


def _citations(
    syndromes: Iterable[SyndromeCandidate], cancers: Iterable[CancerCandidate]
) -> list[str]:
    found: dict[str, None] = {}
    for syndrome in syndromes:
        for text in (*(e.citation for e in syndrome.evidence), *syndrome.citations):
            found.update(dict.fromkeys(text.split("; ")))
    for cancer in cancers:
        for text in (*(r.citation for r in cancer.reasons), cancer.screening.citation):
            found.update(dict.fromkeys(text.split("; ")))
    return list(found)


_MARKDOWN = re.compile(r"([\\`*_\[\]<>|~])")


def _md(text: str) -> str:
    """``text`` with Markdown's special characters escaped (EHR data is not markup)."""
    return _MARKDOWN.sub(r"\\\1", " ".join(text.split()))


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"


def _other_patient(prefetch: Mapping[str, Any], patient_id: str) -> str | None:
    """Where prefetch holds a Patient whose id is not ``patient_id``, or ``None``.

    Looks at ``prefetch.patient`` and at the entries of the prefetched Bundles (a Patient without an
    id is not refused here: it is the one patient of the record or an error of the FHIR reader).
    """
    for key in PREFETCH:
        value = prefetch[key]
        if not isinstance(value, dict):
            continue
        found = [(f"prefetch.{key}", value)]
        entries = value.get("entry") if value.get("resourceType") == "Bundle" else None
        for index, entry in enumerate(entries if isinstance(entries, list) else ()):
            if isinstance(entry, dict) and isinstance(entry.get("resource"), dict):
                found.append((f"prefetch.{key}.entry[{index}]", entry["resource"]))
        for where, resource in found:
            if resource.get("resourceType") == "Patient" and resource.get("id") not in (
                None,
                patient_id,
            ):
                return where
    return None


def _kind(value: object) -> str:
    if not isinstance(value, dict):
        return f"a JSON {type(value).__name__}"
    kind = value.get("resourceType")
    return f"resourceType {kind[:40]!r}" if isinstance(kind, str) else "no resourceType"
