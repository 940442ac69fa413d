"""Reading FHIR R4 records (pns_rules.fhir) against the EHR test rule base in tests/data."""

from __future__ import annotations

import itertools
import json
import shutil
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.condition import Condition
from fhir.resources.R4B.patient import Patient
from hypothesis import given, settings
from hypothesis import strategies as st

from pns_rules import Engine, InputError
from pns_rules.fhir import (
    HPO_SYSTEMS,
    FhirError,
    FhirRecord,
    age_on,
    read_bundle,
    read_parts,
    read_resources,
    suggest_fhir,
)

DATA = Path(__file__).parent / "data"
RULES = DATA / "ehr-rules"
ON = date(2026, 11, 20)
ENGINE = Engine.from_directory(RULES)
_IDS = itertools.count(1)
PATIENT = {"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "1962-03-14"}


def bundle_file(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / "fhir" / f"{name}.json").read_text())
    return data


OTHER = {"reference": "Patient/someone-else"}


def read(*resources: dict[str, Any], engine: Engine = ENGINE) -> FhirRecord:
    return read_resources([PATIENT, *resources], engine=engine, on=ON)


def condition(*codings: dict[str, str], status: str | None = None, **extra: Any) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Condition",
        "id": f"c{next(_IDS)}",
        "subject": {"reference": "Patient/p1"},
        "code": {"coding": list(codings)},
        **extra,
    }
    if status:
        resource["verificationStatus"] = {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                    "code": status,
                }
            ]
        }
    return resource


def observation(text: str, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": "o1",
        "status": "final",
        "subject": {"reference": "Patient/p1"},
        "code": {"text": text},
        **extra,
    }


def sct(code: str, display: str = "") -> dict[str, str]:
    coding = {"system": "http://snomed.info/sct", "code": code}
    return {**coding, "display": display} if display else coding


def hpo(code: str, system: str = "http://purl.obolibrary.org/obo/hp.owl") -> dict[str, str]:
    return {"system": system, "code": code}


POSITIVE = {
    "interpretation": [
        {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
                    "code": "POS",
                }
            ]
        }
    ]
}


# -- the test data --------------------------------------------------------------------------------
@pytest.mark.parametrize("path", sorted((DATA / "fhir").glob("*.json")), ids=lambda p: p.name)
def test_every_test_bundle_is_valid_fhir(path: Path) -> None:
    bundle = Bundle.model_validate_json(path.read_text())
    assert bundle.entry


def test_the_cerebellar_bundle_is_read_in_full() -> None:
    record = read_bundle(bundle_file("cerebellar-woman"), engine=ENGINE, on=ON)
    assert record.patient == "Patient/pns-demo-1"
    assert record.sex == "female"
    assert record.age is not None and int(record.age) == 64
    assert record.findings == ("HP:0001251", "HP:0000639")
    assert record.antibodies == ("pns:anti-yo",)
    assert {(u.resource, u.finding) for u in record.used} == {
        ("Condition/pns-demo-1-ataxia", "HP:0001251"),
        ("Condition/pns-demo-1-nystagmus", "HP:0000639"),
        ("Observation/pns-demo-1-yo", "pns:anti-yo"),
    }
    ignored = {i.resource: i.reason for i in record.ignored}
    assert ignored == {
        "Condition/pns-demo-1-dysarthria": "verificationStatus refuted",
        "Condition/pns-demo-1-hyponatremia": "verificationStatus entered-in-error",
        "Observation/pns-demo-1-hu": "negative result: not counted",
        "Observation/pns-demo-1-ri": "status cancelled",
        "Encounter/pns-demo-1-visit": "Encounter resources are not read",
    }
    unmapped = {u.resource: u for u in record.unmapped}
    assert set(unmapped) == {
        "Condition/pns-demo-1-hypertension",
        "Condition/pns-demo-1-icd",
        "Observation/pns-demo-1-sodium",
    }
    assert unmapped["Condition/pns-demo-1-hypertension"].codes == (
        "http://snomed.info/sct|38341003 (High blood pressure)",
    )
    assert (
        "not in the rule base's vocabulary" in unmapped["Condition/pns-demo-1-hypertension"].reason
    )
    assert "icd-10 is not read" in unmapped["Condition/pns-demo-1-icd"].reason
    # This rule directory has no [[lab]] entries: its numeric results stay unread.
    assert "numeric results are read only for the LOINC codes" in (
        unmapped["Observation/pns-demo-1-sodium"].reason
    )


def _quantity(loinc: str, value: Any, unit: str | None = None, **extra: Any) -> dict[str, Any]:
    quantity: dict[str, Any] = {"value": value}
    if unit is not None:
        quantity |= {"unit": unit, "system": "http://unitsofmeasure.org", "code": unit}
    return {
        "resourceType": "Observation",
        "id": f"q{next(_IDS)}",
        "status": "final",
        "subject": {"reference": "Patient/p1"},
        "code": {"coding": [{"system": "http://loinc.org", "code": loinc}]},
        "valueQuantity": quantity,
        **extra,
    }


SHIPPED = Engine.shipped()


@pytest.mark.parametrize(
    ("resource", "finding"),
    [
        (_quantity("2951-2", 118, "mmol/L"), "HP:0002902"),
        (_quantity("2947-0", 121, "meq/L"), "HP:0002902"),
        (_quantity("2823-3", 2.8, "mmol/L"), "HP:0002900"),
        (_quantity("17861-6", 13.1, "mg/dL"), "HP:0003072"),
        (_quantity("2345-7", 38, "mg/dL"), "HP:0001943"),
        (_quantity("777-3", 812, "10*9/L"), "HP:0001894"),
        (_quantity("777-3", 812, "10*3/uL"), "HP:0001894"),
        (_quantity("718-7", 16.2, "g/dL"), "HP:0001901"),  # the patient is a woman: 16.0 applies
        (_quantity("718-7", 172, "g/L"), "HP:0001901"),
        (_quantity("711-2", 2.4, "10*9/L"), "HP:0001880"),
    ],
)
def test_loinc_coded_values_beyond_a_cited_threshold_are_findings(
    resource: dict[str, Any], finding: str
) -> None:
    record = read_resources([PATIENT, resource], engine=SHIPPED, on=ON)
    assert record.findings == (finding,)
    # One record per finding the value counts as (eosinophilia counts as leukocytosis too).
    assert {u.finding for u in record.used} == set(
        SHIPPED.knowledge_base.terms[finding.lower()].maps_to
    )
    assert all("is above" in u.source or "is below" in u.source for u in record.used)


@pytest.mark.parametrize(
    ("resource", "reason"),
    [
        (_quantity("2951-2", 139, "mmol/L"), "is not below 135 mmol/L"),
        (_quantity("2951-2", 118, "mg/dL"), "unit 'mg/dL' is not one"),
        (_quantity("2951-2", 1180, "mmol/L"), "outside the values"),
        (_quantity("2345-7", 30), "fits no unit or more than one"),
        (_quantity("2951-2", None, "mmol/L"), "without a value"),
        (
            _quantity("2951-2", 118, "mmol/L")
            | {"valueQuantity": {"value": 118, "comparator": "<"}},
            "is a bound",
        ),
        (
            _quantity(
                "2951-2",
                118,
                "mmol/L",
                interpretation=[
                    {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
                                "code": "N",
                            }
                        ]
                    }
                ],
            ),
            "interpretation does not call the value abnormal",
        ),
    ],
)
def test_loinc_coded_values_that_are_not_findings_say_why(
    resource: dict[str, Any], reason: str
) -> None:
    record = read_resources([PATIENT, resource], engine=SHIPPED, on=ON)
    assert record.findings == ()
    (ignored,) = record.ignored
    assert reason in ignored.reason


def test_a_threshold_by_sex_uses_the_patients_sex_from_the_record() -> None:
    man = PATIENT | {"gender": "male"}
    resource = _quantity("718-7", 16.2, "g/dL")
    assert read_resources([man, resource], engine=SHIPPED, on=ON).findings == ()
    assert read_resources([PATIENT, resource], engine=SHIPPED, on=ON).findings == ("HP:0001901",)


def test_every_resource_is_accounted_for_exactly_once() -> None:
    for name in ("cerebellar-woman", "unrelated-man"):
        bundle = bundle_file(name)
        record = read_bundle(bundle, engine=ENGINE, on=ON)
        keys = [
            f"{e['resource']['resourceType']}/{e['resource']['id']}"
            for e in bundle["entry"]
            if e["resource"]["resourceType"] != "Patient"
        ]
        accounted = (
            sorted({u.resource for u in record.used})
            + [u.resource for u in record.unmapped]
            + [i.resource for i in record.ignored]
        )
        assert sorted(accounted) == sorted(keys)


def test_the_record_ranks_like_suggest_with_the_same_input() -> None:
    record, result = suggest_fhir(json.dumps(bundle_file("cerebellar-woman")), engine=ENGINE, on=ON)
    direct = ENGINE.suggest(
        ["ataxia", "nystagmus"], antibodies=["anti-Yo"], sex="female", age=record.age
    )
    assert result.syndromes[0].id == "test-cerebellar"
    assert result.syndromes[0].level == "high"
    assert [(s.id, s.score) for s in result.syndromes] == [
        (s.id, s.score) for s in direct.syndromes
    ]
    assert result.cancers[0].id == "ovarian-cancer"


def test_an_unrelated_record_gives_an_empty_differential() -> None:
    record, result = suggest_fhir(bundle_file("unrelated-man"), engine=ENGINE, on=ON)
    assert record.sex == "male" and record.findings == () and record.antibodies == ()
    assert result.syndromes == ()
    assert record.notes and "1958-07" in record.notes[0]


def test_resources_and_models_read_like_a_bundle() -> None:
    bundle = bundle_file("cerebellar-woman")
    resources = [entry["resource"] for entry in bundle["entry"]]
    from_bundle = read_bundle(bundle, engine=ENGINE, on=ON)
    from_list = read_resources(resources, engine=ENGINE, on=ON)
    assert from_list.findings == from_bundle.findings
    assert from_list.antibodies == from_bundle.antibodies
    assert from_list.unmapped == from_bundle.unmapped
    assert from_list.ignored == from_bundle.ignored
    models = read_resources(
        [Patient.model_validate(PATIENT), Condition.model_validate(condition(sct("20262006")))],
        engine=ENGINE,
        on=ON,
    )
    assert models.findings == ("HP:0001251",)
    assert read_bundle(Bundle.model_validate(bundle), engine=ENGINE, on=ON) == from_bundle


# -- codes --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "system",
    [
        *HPO_SYSTEMS,
        "https://purl.obolibrary.org/obo/hp.owl",
        "http://purl.obolibrary.org/obo/hp.owl/",
        "http://www.human-phenotype-ontology.org/",
    ],
)
@pytest.mark.parametrize("code", ["HP:0001251", "HP_0001251", "hp:0001251", "0001251"])
def test_hpo_codes_in_every_usual_system(system: str, code: str) -> None:
    assert read(condition(hpo(code, system))).findings == ("HP:0001251",)


def test_an_hpo_id_without_a_system_is_read() -> None:
    assert read(condition({"code": "HP:0000639"})).findings == ("HP:0000639",)


def test_snomed_codes_come_from_the_rule_files(tmp_path: Path) -> None:
    assert read(condition(sct("20262006", "Ataxia"))).findings == ("HP:0001251",)
    assert read(condition(sct("307699005"))).findings == ("HP:0000639",)
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    findings = rules / "findings.toml"
    findings.write_text(findings.read_text().replace('snomed = "20262006"', 'snomed = "1234567"'))
    other = Engine.from_directory(rules)
    assert read(condition(sct("1234567")), engine=other).findings == ("HP:0001251",)
    record = read(condition(sct("20262006")), engine=other)
    assert record.findings == ()
    assert record.unmapped[0].reason == "SNOMED CT 20262006 is not in the rule base's vocabulary"


def test_unknown_hpo_terms_and_systems_are_reported() -> None:
    record = read(condition(hpo("HP:0000001")), condition({"system": "urn:x", "code": "1"}))
    reasons = [u.reason for u in record.unmapped]
    assert reasons == [
        "HPO HP:0000001 is not in the rule base's vocabulary",
        "code system urn:x is not read (findings are mapped from HPO and SNOMED CT codes)",
    ]


def test_a_condition_with_one_mappable_coding_is_used() -> None:
    icd = {"system": "http://hl7.org/fhir/sid/icd-10", "code": "G11.9"}
    record = read(condition(icd, sct("20262006")))
    assert record.findings == ("HP:0001251",) and record.unmapped == ()


@pytest.mark.parametrize(
    ("status", "used"),
    [
        (None, True),
        ("confirmed", True),
        ("provisional", True),
        ("unconfirmed", True),
        ("differential", True),
        ("refuted", False),
        ("entered-in-error", False),
    ],
)
def test_condition_verification_status(status: str | None, used: bool) -> None:
    record = read(condition(sct("20262006"), status=status))
    assert bool(record.findings) is used
    assert bool(record.ignored) is not used


VER_STATUS = "http://terminology.hl7.org/CodeSystem/condition-ver-status"


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        ({"coding": [{"system": VER_STATUS, "code": "Refuted"}]}, "refuted (read from 'Refuted')"),
        (
            {"coding": [{"system": VER_STATUS, "code": "ENTERED-IN-ERROR"}]},
            "entered-in-error (read from 'ENTERED-IN-ERROR')",
        ),
        ({"text": "refuted"}, "refuted"),
        ({"text": "Entered in error."}, "entered-in-error (read from 'Entered in error.')"),
        ({"coding": [{"code": "x", "display": "Refuted"}]}, "refuted (read from 'Refuted')"),
        (
            {"coding": [sct("410516002", "Known absent")]},
            "refuted (read from 'SNOMED CT 410516002 Known absent')",
        ),
        ({"coding": [sct("410594000")]}, "refuted (read from 'SNOMED CT 410594000')"),
        ({"text": "not present"}, "refuted (read from 'not present')"),
        (
            {"coding": [{"system": VER_STATUS, "code": "confirmed"}], "text": "Refuted"},
            "refuted (read from 'Refuted')",
        ),
    ],
)
def test_a_refuted_verification_status_is_read_in_any_form(
    status: dict[str, Any], reason: str
) -> None:
    record = read(condition(sct("20262006"), verificationStatus=status))
    assert record.findings == ()
    assert [i.reason for i in record.ignored] == [f"verificationStatus {reason}"]


@pytest.mark.parametrize(
    "status",
    [
        {"coding": [{"system": VER_STATUS, "code": "Provisional"}]},
        {"text": "Confirmed"},
        {"coding": [sct("410605003", "Confirmed present")]},
        {
            "coding": [
                {"system": "urn:local", "code": "7"},
                {"system": VER_STATUS, "code": "confirmed"},
            ]
        },
        {},
    ],
)
def test_other_verification_statuses_count(status: dict[str, Any]) -> None:
    assert read(condition(sct("20262006"), verificationStatus=status)).findings == ("HP:0001251",)


def test_a_verification_status_that_is_not_read_is_not_guessed() -> None:
    status = {"coding": [{"system": "urn:local", "code": "maybe"}]}
    record = read(condition(sct("20262006"), verificationStatus=status))
    assert record.findings == ()
    assert record.ignored[0].reason.startswith(
        "verificationStatus 'maybe' is not a verification status that is read (unconfirmed, "
    )
    assert record.ignored[0].reason.endswith("entered-in-error): not counted")


NEGATED = [{"url": "http://example.org/fhir/negated", "valueBoolean": True}]


def test_resources_with_a_modifier_extension_are_not_counted() -> None:
    component = {"code": {"text": "side"}, "valueString": "left", "modifierExtension": NEGATED}
    record = read(
        condition(sct("20262006"), modifierExtension=NEGATED),
        observation("", id="o1", code={"coding": [sct("307699005")]}, modifierExtension=NEGATED),
        observation("", id="o2", code={"coding": [sct("307699005")]}, component=[component]),
        condition(sct("20262006"), contained=[{**PATIENT, "modifierExtension": NEGATED}]),
    )
    assert record.findings == ("HP:0001251",)  # a contained resource's modifier is its own
    assert [i.reason for i in record.ignored] == [
        "modifierExtension 'http://example.org/fhir/negated' is not understood: not counted"
    ] * 3


def test_a_patient_with_a_modifier_extension_gives_no_age_or_sex() -> None:
    record = read_resources([{**PATIENT, "modifierExtension": NEGATED}], engine=ENGINE, on=ON)
    assert record.age is None and record.sex is None
    assert record.notes == (
        "the Patient has a modifierExtension 'http://example.org/fhir/negated' that is not "
        "understood; age and sex not read",
    )


def test_a_bundle_entry_with_a_modifier_extension_is_not_counted() -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"resource": PATIENT},
            {"resource": condition(sct("20262006"), id="c"), "modifierExtension": NEGATED},
        ],
    }
    record = read_bundle(bundle, engine=ENGINE, on=ON)
    assert record.findings == ()
    assert [(i.resource, i.reason) for i in record.ignored] == [
        (
            "Condition/c",
            "its Bundle entry has a modifierExtension 'http://example.org/fhir/negated' that is "
            "not understood: not counted",
        )
    ]


def test_an_observation_whose_results_are_in_components_is_not_counted() -> None:
    absent = {"coding": [sct("2667000", "Absent")]}
    component = {"code": {"coding": [sct("20262006")]}, "valueCodeableConcept": absent}
    record = read(observation("", code={"coding": [sct("20262006")]}, component=[component]))
    assert record.findings == ()
    assert [i.reason for i in record.ignored] == [
        "no value, and its results are in components, which are not read: not counted"
    ]
    valued = observation("", code={"coding": [sct("20262006")]}, valueBoolean=True)
    assert read({**valued, "component": [component]}).findings == ("HP:0001251",)


# -- antibodies and results -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "antibody"),
    [
        ("Anti-Yo antibody", "pns:anti-yo"),
        ("Yo Ab [Presence] in Serum", "pns:anti-yo"),
        ("Purkinje cell cytoplasmic antibody type 1 (PCA-1)", "pns:anti-yo"),
        ("ANNA-1 IgG", "pns:anti-hu"),
        ("Hu antibody, CSF", "pns:anti-hu"),
        ("anti-P/Q-type VGCC", "pns:anti-vgcc"),
    ],
)
def test_antibody_observations_are_recognised_by_name(text: str, antibody: str) -> None:
    record = read(observation(text, **POSITIVE))
    assert record.antibodies == (antibody,)
    assert record.used[0].source == f"antibody named in '{text}'"


@pytest.mark.parametrize("text", ["Hu", "Yoga class", "Hunting injury", "Ri"])
def test_short_names_need_an_antibody_word(text: str) -> None:
    record = read(observation(text, **POSITIVE))
    assert record.antibodies == ()
    assert len(record.unmapped) == 1


@pytest.mark.parametrize(
    ("code", "cue"),
    [
        ({"text": "Anti-Yo antibody negative"}, "negative"),
        ({"text": "Anti-Yo antibody: not detected"}, "not"),
        ({"text": "anti-Yo antibody - ruled out"}, "ruled out"),
        ({"text": "Family history of anti-Yo antibody"}, "family"),
        (
            {
                "coding": [
                    {"system": "urn:local", "code": "x", "display": "Anti-Yo antibody NEGATIVE"}
                ]
            },
            "negative",
        ),
    ],
)
def test_an_antibody_named_in_a_text_that_denies_or_doubts_it_is_not_counted(
    code: dict[str, Any], cue: str
) -> None:
    as_condition = condition(code=code)
    as_observation = observation("", code=code, **POSITIVE)
    for resource in (as_condition, as_observation):
        record = read(resource)
        assert record.antibodies == () and record.used == () and record.unmapped == ()
        (ignored,) = record.ignored
        assert ignored.reason.endswith(f"which says {cue!r}: not counted")
        assert ignored.reason.startswith("antibody named in '")


def test_a_panel_naming_several_antibodies_is_reported_not_guessed() -> None:
    record = read(observation("Anti-Yo / anti-Hu antibody panel", **POSITIVE))
    assert record.antibodies == ()
    assert "names several antibodies" in record.unmapped[0].reason


def _interpretation(code: str) -> dict[str, Any]:
    system = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
    return {"interpretation": [{"coding": [{"system": system, "code": code}]}]}


@pytest.mark.parametrize(
    ("result", "positive"),
    [
        (_interpretation("POS"), True),
        (_interpretation("DET"), True),
        ({"valueCodeableConcept": {"coding": [sct("10828004", "Positive")]}}, True),
        ({"valueCodeableConcept": {"coding": [sct("260373001", "Detected")]}}, True),
        ({"valueCodeableConcept": {"text": "Positive"}}, True),
        ({"valueString": "Positive 1:320"}, True),
        ({"valueString": "detected"}, True),
        ({"valueBoolean": True}, True),
        (_interpretation("NEG"), False),
        (_interpretation("ND"), False),
        ({"valueCodeableConcept": {"coding": [sct("260385009", "Negative")]}}, False),
        ({"valueCodeableConcept": {"coding": [sct("260415000", "Not detected")]}}, False),
        ({"valueString": "Not detected"}, False),
        ({"valueBoolean": False}, False),
        ({"valueCodeableConcept": {"coding": [sct("419984006", "Inconclusive")]}}, False),
        ({}, False),
        ({"valueQuantity": {"value": 1.2, "unit": "index"}}, False),
        ({**_interpretation("POS"), "valueString": "negative"}, False),
    ],
)
def test_antibodies_count_only_when_positive(result: dict[str, Any], positive: bool) -> None:
    record = read(observation("Anti-Yo antibody", **result))
    assert (record.antibodies == ("pns:anti-yo",)) is positive
    if not positive:
        assert record.ignored and record.ignored[0].resource == "Observation/o1"


@pytest.mark.parametrize("status", ["entered-in-error", "cancelled"])
def test_withdrawn_observations_are_ignored(status: str) -> None:
    record = read(observation("Anti-Yo antibody", status=status, **POSITIVE))
    assert record.antibodies == ()
    assert record.ignored[0].reason.startswith("status")


def test_observations_of_findings() -> None:
    coded = {"code": {"coding": [hpo("HP:0001251")]}}
    assert read(observation("", **coded)).findings == ("HP:0001251",)
    assert read(observation("", **coded, valueBoolean=False)).findings == ()
    feature = observation(
        "Phenotypic feature", valueCodeableConcept={"coding": [hpo("HP:0000639")]}
    )
    assert read(feature).findings == ("HP:0000639",)
    absent = dict(feature, **_interpretation("NEG"))
    assert read(absent).findings == ()


def _finding(**value: Any) -> dict[str, Any]:
    """An Observation of ataxia (SNOMED CT 20262006) with a value or other extra fields."""
    return observation("", code={"coding": [sct("20262006", "Ataxia")]}, **value)


def _coded(system: str, code: str) -> dict[str, Any]:
    return {"valueCodeableConcept": {"coding": [{"system": system, "code": code}]}}


V2_YES_NO = "http://terminology.hl7.org/CodeSystem/v2-0136"
V3_INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"


@pytest.mark.parametrize(
    "value",
    [
        {},
        {"valueBoolean": True},
        {"valueString": "yes"},
        {"valueString": "Present"},
        {"valueString": "positive"},
        {"valueString": "detected"},
        _coded("http://snomed.info/sct", "373066001"),  # Yes
        _coded("http://snomed.info/sct", "52101004"),  # Present
        _coded("http://snomed.info/sct", "10828004"),  # Positive
        _coded(V2_YES_NO, "Y"),
        {"valueCodeableConcept": {"text": "Yes"}},
        {"valueQuantity": {"value": 3}, **POSITIVE},
    ],
)
def test_an_observation_of_a_finding_counts_with_no_value_or_one_asserting_it(
    value: dict[str, Any],
) -> None:
    record = read(_finding(**value))
    assert record.findings == ("HP:0001251",)
    assert record.ignored == ()


@pytest.mark.parametrize(
    "value",
    [
        {"valueString": text}
        for text in ["No", "no.", "none", "not present", "false", "N", "Not seen", "0", "absent"]
    ]
    + [
        {"valueBoolean": False},
        {"valueInteger": 0},
        _coded("http://snomed.info/sct", "373067005"),  # No
        _coded("http://snomed.info/sct", "2667000"),  # Absent
        _coded("http://snomed.info/sct", "410594000"),  # Definitely NOT present
        _coded("http://snomed.info/sct", "410516002"),  # Known absent
        _coded(V2_YES_NO, "N"),
        {"valueCodeableConcept": {"text": "No"}},
        {"interpretation": [{"coding": [{"system": V3_INTERPRETATION, "code": "N"}]}]},  # Normal
    ],
)
def test_an_observation_denying_a_finding_does_not_count(value: dict[str, Any]) -> None:
    record = read(_finding(**value))
    assert record.findings == ()
    assert [(i.resource, i.reason) for i in record.ignored] == [
        ("Observation/o1", "negative result: not counted")
    ]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ({"valueString": "maybe"}, "value 'maybe' is not read as a result: not counted"),
        ({"valueString": "no change"}, "value 'no change' is not read as a result: not counted"),
        ({"valueString": "positive?"}, "indeterminate result: not counted"),
        ({"valueString": "present, possibly artefact"}, "indeterminate result: not counted"),
        ({"valueInteger": 2}, "value 2 is not read as a result: not counted"),
        (
            _coded("http://snomed.info/sct", "255604002"),
            "value '255604002' is not read as a result: not counted",
        ),
        ({"valueQuantity": {"value": 1.5}}, "numeric results are not interpreted: not counted"),
        ({"valueDateTime": "2026-01-01"}, "a DateTime value is not read as a result: not counted"),
        (
            {
                "dataAbsentReason": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/data-absent-reason",
                            "code": "not-performed",
                        }
                    ]
                }
            },
            "no result (dataAbsentReason not-performed): not counted",
        ),
        ({"status": "registered"}, "status registered (no result yet)"),
    ],
)
def test_an_observation_whose_value_says_neither_is_reported_not_counted(
    value: dict[str, Any], reason: str
) -> None:
    record = read(_finding(**value))
    assert record.findings == ()
    assert [(i.resource, i.reason) for i in record.ignored] == [("Observation/o1", reason)]


def test_an_antibody_result_that_is_not_read_is_named() -> None:
    record = read(observation("Anti-Yo antibody", valueString="weakly positive"))
    assert record.antibodies == ()
    assert record.ignored[0].reason == (
        "antibody test without a positive result (value 'weakly positive' is not read as a result)"
    )


def test_without_a_patient_resources_about_two_patients_are_refused() -> None:
    first = condition(sct("20262006"))
    second = condition(sct("307699005"), subject={"reference": "https://x.org/fhir/Patient/p2"})
    with pytest.raises(FhirError, match=r"about 2 patients \(Patient/p1, Patient/p2\)"):
        read_resources([first, second], on=ON)
    same = condition(sct("307699005"), subject={"reference": "https://x.org/fhir/Patient/p1"})
    assert read_resources([first, same], on=ON).findings  # one patient, written two ways


def test_read_parts_with_a_patient_id_ignores_other_patients_without_a_patient_resource() -> None:
    mine, theirs = condition(sct("20262006")), condition(sct("307699005"), subject=OTHER)
    record = read_parts(
        {
            "conditions": {
                "resourceType": "Bundle",
                "type": "collection",
                "entry": [{"resource": mine}, {"resource": theirs}],
            }
        },
        on=ON,
        patient_id="p1",
    )
    assert record.findings == ("HP:0001251",)
    assert [i.reason for i in record.ignored] == ["about another patient"]


@pytest.mark.parametrize(
    ("resource", "text"),
    [
        (
            dict(condition(), code={"coding": [sct("20262006", "Ataxia")], "text": "No ataxia"}),
            "No ataxia",
        ),
        (
            observation(
                "Negative findings",
                valueCodeableConcept={"coding": [sct("20262006", "Ataxia")]},
            ),
            "Negative findings",
        ),
    ],
)
def test_a_coded_finding_whose_text_denies_it_does_not_count(
    resource: dict[str, Any], text: str
) -> None:
    record = read(resource)
    assert record.findings == ()
    assert [i.reason for i in record.ignored] == [
        f"coded, but its text {text!r} says {'no' if text == 'No ataxia' else 'negative'!r}: "
        "not counted"
    ]


def test_an_antibody_screen_is_not_a_doubt() -> None:
    record = read(observation("Anti-Yo antibody screen", **POSITIVE))
    assert record.antibodies == ("pns:anti-yo",)


def test_resources_about_another_patient_are_ignored() -> None:
    other = condition(sct("20262006"), subject={"reference": "Patient/someone-else"})
    absolute = condition(sct("307699005"), subject={"reference": "https://x.org/fhir/Patient/p1"})
    record = read(other, absolute)
    assert record.findings == ("HP:0000639",)
    assert record.ignored[0].reason == "about another patient"


MRN = {"system": "urn:mrn", "value": "P1"}


def test_subjects_given_by_identifier_are_compared_with_the_patients() -> None:
    patient = {**PATIENT, "identifier": [MRN]}
    mine = condition(sct("20262006"), subject={"identifier": MRN})
    theirs = condition(sct("307699005"), subject={"identifier": {**MRN, "value": "P2"}})
    other_system = condition(sct("307699005"), subject={"identifier": {**MRN, "system": "urn:x"}})
    both = condition(
        sct("307699005"), subject={"reference": "Patient/p1", "identifier": {**MRN, "value": "P2"}}
    )
    record = read_resources([patient, mine, theirs, other_system, both], engine=ENGINE, on=ON)
    assert record.findings == ("HP:0001251",)
    assert [i.reason for i in record.ignored] == [
        "about another patient (its subject identifier is none of the Patient's)"
    ] * 3


def test_subjects_that_cannot_be_tied_to_the_patient_are_not_counted() -> None:
    by_identifier = condition(sct("20262006"), subject={"identifier": MRN})
    by_display = condition(sct("20262006"), subject={"display": "Henrike Quellmalz"})
    record = read(by_identifier, by_display)  # PATIENT has no identifier
    assert record.findings == ()
    assert [i.reason for i in record.ignored] == [
        "its subject is given by identifier only and the Patient's identifiers are not known: "
        "cannot be tied to the patient",
        "its subject has no reference or identifier: cannot be tied to the patient",
    ]
    alone = read_resources([by_display], engine=ENGINE, on=ON)
    assert alone.findings == () and len(alone.ignored) == 1


def test_an_observation_whose_focus_is_not_the_patient_is_not_counted() -> None:
    coded = {"coding": [sct("20262006")]}
    mother = observation("", code=coded, focus=[{"reference": "RelatedPerson/mum"}])
    record = read(mother)
    assert record.findings == ()
    assert [i.reason for i in record.ignored] == [
        "its focus ('RelatedPerson/mum') is not the patient: about someone or something else"
    ]
    herself = observation("", code=coded, focus=[{"reference": "Patient/p1"}])
    assert read(herself).findings == ("HP:0001251",)
    assert read_resources([herself], engine=ENGINE, on=ON).findings == ("HP:0001251",)


def test_without_a_patient_subjects_with_different_identifiers_are_refused() -> None:
    first = condition(sct("20262006"), subject={"identifier": MRN})
    second = condition(sct("307699005"), subject={"identifier": {**MRN, "value": "P2"}})
    with pytest.raises(FhirError, match=r"about 2 patients \(identifier urn:mrn\|P1, "):
        read_resources([first, second], on=ON)
    by_reference = condition(sct("307699005"))
    with pytest.raises(FhirError, match="about 2 patients"):
        read_resources([first, by_reference], on=ON)
    # a subject giving both ties them together
    tied = condition(sct("307699005"), subject={"reference": "Patient/p1", "identifier": MRN})
    record = read_resources([first, by_reference, tied], engine=ENGINE, on=ON)
    assert record.findings == ("HP:0001251", "HP:0000639")
    # and so does a Patient without an id
    patient = {k: v for k, v in PATIENT.items() if k != "id"}
    record = read_resources([{**patient, "identifier": [MRN]}, first], engine=ENGINE, on=ON)
    assert record.findings == ("HP:0001251",)


def _searchset(**extra: Any) -> dict[str, Any]:
    entries = [
        {"resource": condition(sct("20262006")), "search": {"mode": "match"}},
        {"resource": PATIENT, "search": {"mode": "include"}},
    ]
    return {"resourceType": "Bundle", "type": "searchset", "entry": entries, **extra}


@pytest.mark.parametrize(
    ("extra", "signs"),
    [
        (
            {"link": [{"relation": "next", "url": "https://x.org/fhir/Condition?page=2"}]},
            "it links to a next page",
        ),
        ({"total": 2}, "it holds 1 of 2 matches"),
    ],
)
def test_a_bundle_that_is_one_page_of_a_search_is_noted(extra: dict[str, Any], signs: str) -> None:
    record = read_parts({"conditions": _searchset(**extra)}, engine=ENGINE, on=ON)
    assert record.findings == ("HP:0001251",)
    assert record.notes == (
        f"conditions is one page of a search ({signs}): resources on other pages were not read, "
        "so the record may be incomplete",
    )


def test_a_complete_search_gets_no_note() -> None:
    complete = _searchset(total=1, link=[{"relation": "self", "url": "https://x.org/fhir/C"}])
    assert read_parts({"conditions": complete}, engine=ENGINE, on=ON).notes == ()


# -- age and sex --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("birth", "on", "age"),
    [
        (date(2000, 6, 15), date(2018, 6, 14), 17.997),
        (date(2000, 6, 15), date(2018, 6, 15), 18.0),
        (date(2000, 2, 29), date(2001, 2, 28), 1.0),
        (date(2026, 11, 20), date(2026, 11, 20), 0.0),
        ("1962", date(2026, 11, 20), 63.887),
        ("2000-06-15", date(2018, 6, 15), 18.0),
    ],
)
def test_age_on(birth: date | str, on: date, age: float) -> None:
    assert age_on(birth, on)[0] == age


def test_ages_cross_whole_years_on_the_birthday() -> None:
    birth = date(1990, 1, 31)
    for day in range(1, 366):
        on = date.fromordinal(date(2024, 1, 1).toordinal() + day)
        value, _ = age_on(birth, on)
        assert value is not None
        assert int(value) == on.year - 1990 - ((on.month, on.day) < (1, 31))


@pytest.mark.parametrize(
    "birth", ["abcd", "", "2020-13", "2020-00", "2020-02-30", "0000", "62", "1962-5", None, 1962]
)
def test_age_on_refuses_what_is_not_a_birth_date(birth: Any) -> None:
    with pytest.raises(InputError) as info:
        age_on(birth, ON)
    assert (info.value.parameter, info.value.value) == ("birth", birth)
    assert "YYYY, YYYY-MM or YYYY-MM-DD" in str(info.value)


@pytest.mark.parametrize("on", ["2020-01-01", None, 2020])
def test_age_on_refuses_what_is_not_a_date_to_count_to(on: Any) -> None:
    with pytest.raises(InputError) as info:
        age_on("1962", on)
    assert (info.value.parameter, info.value.value) == ("on", on)


def test_age_on_takes_a_datetime_as_its_date() -> None:
    assert age_on(datetime(2000, 6, 15, 12), datetime(2018, 6, 15, 1)) == (18.0, None)


def test_partial_future_and_implausible_birth_dates_are_noted() -> None:
    assert "gives no day" in str(age_on("1962-05", ON)[1])
    assert age_on(date(2030, 1, 1), ON) == (
        None,
        "birthDate 2030-01-01 is after 2026-11-20; age unknown",
    )
    assert age_on(date(1890, 1, 1), ON)[0] is None


@pytest.mark.parametrize(
    ("gender", "sex"), [("female", "female"), ("male", "male"), ("other", None), ("unknown", None)]
)
def test_sex_from_gender(gender: str, sex: str | None) -> None:
    record = read_resources([dict(PATIENT, gender=gender)], engine=ENGINE, on=ON)
    assert record.sex == sex


def test_a_record_without_a_patient_has_unknown_age_and_sex() -> None:
    record = read_resources([condition(sct("20262006"))], engine=ENGINE, on=ON)
    assert (record.age, record.sex, record.patient) == (None, None, None)
    assert record.findings == ("HP:0001251",)
    assert record.notes == ("no Patient resource; age and sex unknown",)


# -- errors -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("bundle", "fragment"),
    [
        ("{not json", "not valid JSON"),
        ("[[[[" * 100_000, "not valid JSON"),
        ({"resourceType": "Patient"}, "expected a FHIR Bundle, got resourceType 'Patient'"),
        ([], "expected a FHIR Bundle, got a JSON list"),
        (None, "expected a FHIR Bundle, got None"),
        ({"resourceType": "Bundle"}, "type: Value for the field 'type' is required"),
        (
            {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {"id": "x"}}]},
            "entry[0].resource: resourceType is missing",
        ),
        (
            {
                "resourceType": "Bundle",
                "type": "collection",
                "entry": [{"resource": {"resourceType": "Frob"}}],
            },
            "unknown resourceType 'Frob'",
        ),
        (
            {
                "resourceType": "Bundle",
                "type": "collection",
                "entry": [{"resource": dict(PATIENT, birthDate="62")}],
            },
            "entry[0].resource.birthDate",
        ),
    ],
)
def test_invalid_input_raises_a_readable_error(bundle: Any, fragment: str) -> None:
    with pytest.raises(FhirError) as info:
        read_bundle(bundle, engine=ENGINE, on=ON)
    assert isinstance(info.value, InputError) and isinstance(info.value, ValueError)
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    ("resources", "parameter", "fragment"),
    [
        (
            [dict(PATIENT, gender="F")],
            "resources[0]",
            "gender: not a FHIR Patient.gender code (male, female, other, unknown)",
        ),
        (
            [PATIENT, observation("Anti-Yo antibody", status="done")],
            "resources[1]",
            "status: not a FHIR Observation.status code (registered, preliminary, final",
        ),
        (
            [{"resourceType": "Bundle", "type": "nonsense", "entry": [{"resource": PATIENT}]}],
            "resources[0]",
            "type: not a FHIR Bundle.type code (document, message",
        ),
        (
            [
                {
                    "resourceType": "Bundle",
                    "type": "collection",
                    "entry": [{"resource": dict(PATIENT, gender="F")}],
                }
            ],
            "resources[0]",
            "entry[0].resource.gender: not a FHIR Patient.gender code",
        ),
    ],
)
def test_codes_outside_required_value_sets_are_refused(
    resources: list[dict[str, Any]], parameter: str, fragment: str
) -> None:
    with pytest.raises(FhirError) as info:
        read_resources(resources, engine=ENGINE, on=ON)
    assert info.value.parameter == parameter
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    ("call", "parameter", "fragment"),
    [
        (lambda: read_bundle(bundle_file("unrelated-man"), on="2020-01-01"), "on", "datetime.date"),
        (lambda: read_bundle(bundle_file("unrelated-man"), on=5), "on", "None for today"),
        (lambda: read_bundle(bundle_file("unrelated-man"), engine="x"), "engine", "Engine"),
        (lambda: suggest_fhir(bundle_file("unrelated-man"), engine="x"), "engine", "Engine"),
        (lambda: read_bundle(bundle_file("unrelated-man"), on=ON).suggest("x"), "engine", "Engine"),
        (lambda: read_parts(None), "parts", "mapping of names to FHIR resources"),
        (lambda: read_parts([PATIENT]), "parts", "got a list"),
        (lambda: read_resources(None), "resources", "got None"),
        (lambda: read_resources(5), "resources", "got an int"),
        (lambda: read_resources([None]), "resources[0]", "expected a FHIR resource, got None"),
        (lambda: read_resources([PATIENT, None]), "resources[1]", "got None"),
    ],
)
def test_bad_arguments_raise_input_errors_naming_them(
    call: Any, parameter: str, fragment: str
) -> None:
    with pytest.raises(InputError) as info:
        call()
    assert info.value.parameter == parameter
    assert fragment in str(info.value)


def test_a_datetime_for_on_counts_as_its_date() -> None:
    moment = datetime(2026, 11, 20, 23, 59)
    assert read_resources([PATIENT], engine=ENGINE, on=moment) == read(engine=ENGINE)


def test_two_patients_are_refused() -> None:
    with pytest.raises(FhirError, match="holds 2 patients"):
        read_resources([PATIENT, dict(PATIENT, id="p2")], engine=ENGINE, on=ON)


@pytest.mark.parametrize("change", [{"gender": "male"}, {"birthDate": "1962-03-15"}])
def test_the_same_patient_twice_with_different_data_is_refused(change: dict[str, str]) -> None:
    with pytest.raises(FhirError, match="holds Patient/p1 more than once with a different"):
        read_resources([PATIENT, dict(PATIENT, **change)], engine=ENGINE, on=ON)
    same = read_resources([PATIENT, dict(PATIENT, meta={"versionId": "2"})], engine=ENGINE, on=ON)
    assert same.sex == "female"


def test_a_bundle_passed_as_resources_is_refused() -> None:
    with pytest.raises(FhirError, match="use read_bundle"):
        read_resources(bundle_file("unrelated-man"), engine=ENGINE)  # type: ignore[arg-type]


# -- a property: nothing is dropped, withdrawn data never counts --------------------------------
CODINGS = [
    sct("20262006"),
    sct("307699005"),
    sct("38341003"),
    hpo("HP:0001260"),
    hpo("HP:0000001"),
    {"system": "http://loinc.org", "code": "2947-0"},
]
ANTIBODY_TEXTS = ["Anti-Yo antibody", "ANNA-1 IgG", "Glucose", "Yo and Hu antibodies"]
RESULTS = [{}, POSITIVE, _interpretation("NEG"), {"valueBoolean": True}]


@st.composite
def resources(draw: st.DrawFn) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for index in range(draw(st.integers(0, 8))):
        if draw(st.booleans()):
            item = condition(
                draw(st.sampled_from(CODINGS)),
                status=draw(st.sampled_from([None, "confirmed", "refuted", "entered-in-error"])),
            )
        else:
            item = observation(
                draw(st.sampled_from(ANTIBODY_TEXTS)),
                status=draw(st.sampled_from(["final", "preliminary", "cancelled"])),
                **draw(st.sampled_from(RESULTS)),
            )
        item["id"] = f"r{index}"
        items.append(item)
    return items


@settings(max_examples=80, deadline=None)
@given(resources())
def test_every_resource_lands_in_exactly_one_place(items: list[dict[str, Any]]) -> None:
    record = read(*items)
    used = {u.resource for u in record.used}
    places = [*used, *(u.resource for u in record.unmapped), *(i.resource for i in record.ignored)]
    assert sorted(places) == sorted(f"{r['resourceType']}/{r['id']}" for r in items)
    withdrawn = {
        f"{r['resourceType']}/{r['id']}"
        for r in items
        if r.get("status") == "cancelled"
        or r.get("verificationStatus", {}).get("coding", [{}])[0].get("code")
        in ("refuted", "entered-in-error")
    }
    assert not used & withdrawn
    assert all(ENGINE.knowledge_base.findings[u.finding].kind == u.kind for u in record.used)


def test_every_shipped_snomed_code_maps_to_its_finding() -> None:
    """Holds for any rule base: a Condition coded with a finding's SNOMED CT code reads as it."""
    shipped = Engine.shipped()
    coded = [f for f in shipped.knowledge_base.findings.values() if f.snomed]
    codes = [f.snomed for f in coded]
    assert len(codes) == len(set(codes)), "two findings share a SNOMED CT code"
    for finding in coded:
        assert finding.snomed is not None
        record = read(condition(sct(finding.snomed)), engine=shipped)
        # It reads as the finding, and as every vocabulary term the finding counts as (its HPO
        # ancestors in the vocabulary: Insomnia is also a Sleep abnormality).
        counts_as = shipped.patient([finding.id]).findings
        assert finding.id in counts_as
        assert sorted(u.finding for u in record.used) == sorted(counts_as)


def test_an_hpo_code_no_rule_uses_is_named_in_its_reason() -> None:
    # Macrotia: a current HPO term no shipped rule uses (the test rule base has no HPO index).
    record = read(condition(hpo("HP:0000400")), engine=Engine.shipped())
    assert record.findings == ()
    assert [u.reason for u in record.unmapped] == [
        "HPO HP:0000400 (Macrotia) is a current HPO term that no rule uses"
    ]
