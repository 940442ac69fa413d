"""CDS Hooks without HTTP: request checks and cards (pns_rules.cds), on the EHR test rules."""

from __future__ import annotations

import copy
import json
import re
import shutil
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from pns_rules import NOTICE, Engine
from pns_rules.cds import (
    CARD_LEVELS,
    MAX_SUMMARY,
    PREFETCH,
    CdsRequestError,
    cards,
    citation_url,
    discovery,
    read_request,
    respond,
)
from tests.ehr_helpers import EHR_RULES, patient_view

ENGINE = Engine.from_directory(EHR_RULES)
ON = date(2026, 11, 20)


def intermediate_request() -> dict[str, Any]:
    """The cerebellar case with anti-VGCC (intermediate risk) instead of anti-Yo: 5 points."""
    request = patient_view("cerebellar-woman")
    for entry in request["prefetch"]["observations"]["entry"]:
        if entry["resource"]["id"] == "pns-demo-1-yo":
            entry["resource"]["code"] = {"text": "P/Q-type VGCC antibody"}
    return request


def test_discovery_declares_the_hook_and_prefetch() -> None:
    (service,) = discovery()["services"]
    assert service["hook"] == "patient-view"
    assert service["id"] == "pns-differential"
    assert service["prefetch"] == {
        "patient": "Patient/{{context.patientId}}",
        "conditions": "Condition?patient={{context.patientId}}",
        "observations": "Observation?patient={{context.patientId}}",
    }
    assert NOTICE in service["description"]


def test_a_high_level_candidate_gives_a_warning_card() -> None:
    (card,) = respond(patient_view("cerebellar-woman"), ENGINE, on=ON)["cards"]
    assert card["indicator"] == "warning"
    assert uuid.UUID(card["uuid"])
    assert card["summary"].startswith(
        "Possible paraneoplastic syndrome: Paraneoplastic cerebellar degeneration (high)"
    )
    assert "Ovarian carcinoma" in card["summary"]
    assert len(card["summary"]) <= MAX_SUMMARY < 140
    assert card["source"] == {"label": "pns-rules EHR test rule base test.1"}
    detail = card["detail"]
    assert detail.startswith(f"**{NOTICE}**")
    assert "**Paraneoplastic cerebellar degeneration**" in detail
    assert "why: Ataxia with nystagmus or dysarthria" in detail
    assert "screen: Transvaginal" in detail
    assert "not mapped: Hypertension" in detail
    assert "Condition/pns\\-demo-1-dysarthria" not in detail  # escaping is only for markup
    assert "ignored: Condition/pns-demo-1-dysarthria (verificationStatus refuted)" in detail
    assert card["links"] == [
        {
            "label": "PMID:34006622",
            "url": "https://pubmed.ncbi.nlm.nih.gov/34006622/",
            "type": "absolute",
        },
        {
            "label": "PMID:20880069",
            "url": "https://pubmed.ncbi.nlm.nih.gov/20880069/",
            "type": "absolute",
        },
    ]


def test_an_intermediate_candidate_gives_an_info_card() -> None:
    (card,) = respond(intermediate_request(), ENGINE, on=ON)["cards"]
    assert card["indicator"] == "info"
    assert "(intermediate)" in card["summary"]


def test_low_or_no_candidates_give_no_card() -> None:
    assert respond(patient_view("unrelated-man"), ENGINE, on=ON) == {"cards": []}
    low = ENGINE.suggest(["ataxia", "nystagmus"])
    assert low.syndromes and low.top_level == "low" and "low" not in CARD_LEVELS
    assert cards(low) == []


def test_the_summary_stays_short_with_long_names(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(EHR_RULES, rules)
    path = rules / "syndromes.toml"
    long_name = "Paraneoplastic cerebellar degeneration " + "with a very long qualifier " * 8
    path.write_text(
        path.read_text().replace(
            'name = "Paraneoplastic cerebellar degeneration"', f'name = "{long_name}"'
        )
    )
    engine = Engine.from_directory(rules)
    (card,) = cards(engine.suggest(["ataxia", "nystagmus"], antibodies=["Yo"], sex="female"))
    assert len(card["summary"]) == MAX_SUMMARY
    assert card["summary"].endswith("\u2026")


def test_record_text_is_escaped_in_markdown() -> None:
    request = patient_view("cerebellar-woman")
    for entry in request["prefetch"]["conditions"]["entry"]:
        if entry["resource"]["id"] == "pns-demo-1-hypertension":
            entry["resource"]["code"]["text"] = "**bold** [link](javascript:x) <b>x</b>"
    (card,) = respond(request, ENGINE, on=ON)["cards"]
    assert r"\*\*bold\*\* \[link\](javascript:x) \<b\>x\</b\>" in card["detail"]


@pytest.mark.parametrize(
    ("citation", "url"),
    [
        ("PMID:34006622", "https://pubmed.ncbi.nlm.nih.gov/34006622/"),
        ("DOI:10.1212/NXI.0000000000001014", "https://doi.org/10.1212/NXI.0000000000001014"),
        ("DOI:10.1002/(SICI)1097-0142", "https://doi.org/10.1002/(SICI)1097-0142"),
        ("DOI:10.1000/a b<c>", "https://doi.org/10.1000/a%20b%3Cc%3E"),
    ],
)
def test_citation_urls(citation: str, url: str) -> None:
    assert citation_url(citation) == url


def test_every_card_link_is_a_citation_of_the_card() -> None:
    (card,) = respond(patient_view("cerebellar-woman"), ENGINE, on=ON)["cards"]
    for link in card["links"]:
        assert re.fullmatch(r"PMID:\d+|DOI:10\.\S+", link["label"])
        assert link["url"] == citation_url(link["label"])


def _without(request: dict[str, Any], *path: str) -> dict[str, Any]:
    request = copy.deepcopy(request)
    target = request
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return request


def _with(request: dict[str, Any], value: Any, *path: str) -> dict[str, Any]:
    request = copy.deepcopy(request)
    target = request
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return request


GOOD = patient_view("cerebellar-woman")
OUTCOME = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "timeout"}]}
OTHER_PATIENT = {
    "resourceType": "Patient",
    "id": "someone-else",
    "gender": "male",
    "birthDate": "1950-01-01",
}


def _with_entry(request: dict[str, Any], resource: dict[str, Any], key: str) -> dict[str, Any]:
    """``request`` with ``resource`` added to the entries of ``prefetch[key]``."""
    request = copy.deepcopy(request)
    request["prefetch"][key]["entry"].append({"resource": resource})
    return request


ANOTHER_PATIENT_ONLY_IN_A_BUNDLE = _with_entry(
    _with(GOOD, None, "prefetch", "patient"), OTHER_PATIENT, "conditions"
)


@pytest.mark.parametrize(
    ("payload", "status", "code", "fragment"),
    [
        ([], 400, "invalid-request", "must be a JSON object"),
        (_without(GOOD, "hook"), 400, "invalid-request", "`hook` is required"),
        (_with(GOOD, "order-select", "hook"), 400, "wrong-hook", "not 'order-select'"),
        (_without(GOOD, "hookInstance"), 400, "invalid-request", "`hookInstance`"),
        (_with(GOOD, 7, "fhirServer"), 400, "invalid-request", "`fhirServer` must be a string"),
        (_without(GOOD, "context"), 400, "invalid-request", "`context` is required"),
        (_with(GOOD, "", "context", "patientId"), 400, "invalid-request", "context.patientId"),
        (_without(GOOD, "prefetch"), 412, "missing-prefetch", "no prefetch"),
        (_with(GOOD, None, "prefetch"), 400, "invalid-request", "`prefetch` must be an object"),
        (
            _without(GOOD, "prefetch", "observations"),
            412,
            "missing-prefetch",
            "prefetch lacks observations",
        ),
        (_with(GOOD, OUTCOME, "prefetch", "conditions"), 412, "missing-prefetch", "conditions"),
        (_with(GOOD, [], "prefetch", "patient"), 400, "invalid-fhir", "resource or null"),
        (
            _with(GOOD, GOOD["prefetch"]["patient"], "prefetch", "conditions"),
            400,
            "invalid-fhir",
            "prefetch.conditions must be a Bundle, got resourceType 'Patient'",
        ),
        (
            _with(GOOD, "someone-else", "context", "patientId"),
            400,
            "invalid-request",
            "not the patient in context.patientId",
        ),
        (
            ANOTHER_PATIENT_ONLY_IN_A_BUNDLE,
            400,
            "invalid-request",
            "prefetch.conditions.entry[6] is not the patient in context.patientId",
        ),
        (
            _with_entry(GOOD, OTHER_PATIENT, "observations"),
            400,
            "invalid-request",
            "prefetch.observations.entry[4] is not the patient in context.patientId",
        ),
        (
            _with_entry(GOOD, dict(GOOD["prefetch"]["patient"], gender="male"), "conditions"),
            400,
            "invalid-fhir",
            "holds Patient/pns-demo-1 more than once with a different gender or birthDate",
        ),
        (
            _with(GOOD, "F", "prefetch", "patient", "gender"),
            400,
            "invalid-fhir",
            "prefetch.patient: gender: not a FHIR Patient.gender code",
        ),
        (
            _with(GOOD, "14 March 1962", "prefetch", "patient", "birthDate"),
            400,
            "invalid-fhir",
            "prefetch.patient: birthDate",
        ),
        (
            _with(GOOD, "nope", "prefetch", "conditions", "entry"),
            400,
            "invalid-fhir",
            "prefetch.conditions: entry: Input should be a valid list",
        ),
    ],
)
def test_bad_requests_are_refused_with_what_was_wrong(
    payload: Any, status: int, code: str, fragment: str
) -> None:
    with pytest.raises(CdsRequestError) as info:
        read_request(payload, ENGINE, on=ON)
    assert (info.value.status, info.value.code) == (status, code)
    assert fragment in info.value.message


def test_null_prefetch_keys_mean_no_data() -> None:
    request = _with(GOOD, None, "prefetch", "observations")
    record = read_request(_with(request, None, "prefetch", "patient"), ENGINE, on=ON)
    assert record.age is None and record.antibodies == ()
    assert record.findings == ("HP:0001251", "HP:0000639")
    assert set(PREFETCH) == {"patient", "conditions", "observations"}


def test_the_context_patient_may_come_in_a_bundle_too() -> None:
    patient = GOOD["prefetch"]["patient"]
    request = _with_entry(_with(GOOD, None, "prefetch", "patient"), patient, "conditions")
    record = read_request(_with_entry(request, patient, "observations"), ENGINE, on=ON)
    assert record.patient == "Patient/pns-demo-1" and record.sex == "female"
    assert record.findings == ("HP:0001251", "HP:0000639")


def test_the_example_request_in_tests_data_is_current() -> None:
    path = EHR_RULES.parent / "cds" / "patient-view-cerebellar-woman.json"
    assert json.loads(path.read_text()) == patient_view("cerebellar-woman")


def test_a_cancer_clause_that_does_not_fit_is_dropped_not_cut(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(EHR_RULES, rules)
    path = rules / "syndromes.toml"
    name = "Paraneoplastic cerebellar degeneration (rapidly progressive cerebellar syndrome)"
    path.write_text(
        path.read_text().replace(
            'name = "Paraneoplastic cerebellar degeneration"', f'name = "{name}"'
        )
    )
    engine = Engine.from_directory(rules)
    (card,) = cards(engine.suggest(["ataxia", "nystagmus"], antibodies=["Yo"], sex="female"))
    assert card["summary"] == f"Possible paraneoplastic syndrome: {name} (high)"


def _without_yo() -> dict[str, Any]:
    request = copy.deepcopy(GOOD)
    entries = request["prefetch"]["observations"]["entry"]
    entries[:] = [e for e in entries if e["resource"]["id"] != "pns-demo-1-yo"]
    return request


def test_a_condition_saying_an_antibody_is_negative_gives_no_antibody() -> None:
    negative = {
        "resourceType": "Condition",
        "id": "yo-negative",
        "subject": {"reference": "Patient/pns-demo-1"},
        "code": {"text": "Anti-Yo antibody negative"},
    }
    request = _with_entry(_without_yo(), negative, "conditions")
    record = read_request(request, ENGINE, on=ON)
    assert record.antibodies == ()
    assert [i.reason for i in record.ignored if i.resource == "Condition/yo-negative"] == [
        "antibody named in 'Anti-Yo antibody negative', which says 'negative': not counted"
    ]
    indicators = [c["indicator"] for c in respond(request, ENGINE, on=ON)["cards"]]
    assert indicators == [c["indicator"] for c in respond(_without_yo(), ENGINE, on=ON)["cards"]]
    assert indicators != ["warning"]


def test_a_condition_about_another_mrn_is_not_counted() -> None:
    request = copy.deepcopy(GOOD)
    for entry in request["prefetch"]["conditions"]["entry"]:
        entry["resource"]["subject"] = {
            "identifier": {"system": "https://ehr.example.org/mrn", "value": "MRN-OTHER"}
        }
    record = read_request(request, ENGINE, on=ON)
    assert record.findings == ()
    assert {i.reason for i in record.ignored if i.resource.startswith("Condition/")} == {
        "about another patient (its subject identifier is none of the Patient's)"
    }


def test_an_undeclared_prefetch_key_is_reported_not_dropped() -> None:
    request = _with(GOOD, GOOD["prefetch"]["conditions"], "prefetch", "extra")
    request["prefetch"]["nothing"] = None
    record = read_request(request, ENGINE, on=ON)
    assert record.ignored[-1].resource == "prefetch.extra"
    assert record.ignored[-1].reason == (
        "not a prefetch key of this service (patient, conditions, observations): not read"
    )
    assert len(record.ignored) == len(read_request(GOOD, ENGINE, on=ON).ignored) + 1
    (card,) = respond(request, ENGINE, on=ON)["cards"]
    assert "prefetch.extra (not a prefetch key of this service" in card["detail"]


def test_a_prefetch_bundle_that_is_one_page_is_noted() -> None:
    request = copy.deepcopy(GOOD)
    conditions = request["prefetch"]["conditions"]
    conditions["link"] = [{"relation": "next", "url": "https://ehr.example.org/fhir/Condition?p=2"}]
    conditions["total"] = 500
    record = read_request(request, ENGINE, on=ON)
    note = (
        "prefetch.conditions is one page of a search (it links to a next page and it holds "
        f"{len(conditions['entry'])} of 500 matches): resources on other pages were not read, so "
        "the record may be incomplete"
    )
    assert record.notes[-1] == note
    (card,) = respond(request, ENGINE, on=ON)["cards"]
    assert "- note: prefetch.conditions is one page of a search" in card["detail"]
    assert not any("one page" in n for n in read_request(GOOD, ENGINE, on=ON).notes)
