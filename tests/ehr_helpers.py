"""Helpers for the EHR tests: CDS Hooks requests built from the FHIR bundles in tests/data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "data"
EHR_RULES = DATA / "ehr-rules"
BASE = "https://ehr.example.org/fhir"


def bundle(name: str) -> dict[str, Any]:
    """A test bundle from tests/data/fhir."""
    data: dict[str, Any] = json.loads((DATA / "fhir" / f"{name}.json").read_text())
    return data


def searchset(resources: list[dict[str, Any]]) -> dict[str, Any]:
    """A searchset Bundle as a FHIR server returns for ``Condition?patient=...``."""
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "entry": [
            {
                "fullUrl": f"{BASE}/{r['resourceType']}/{r['id']}",
                "resource": r,
                "search": {"mode": "match"},
            }
            for r in resources
        ],
    }


def patient_view(
    name: str, hook_instance: str = "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea"
) -> dict[str, Any]:
    """A CDS Hooks ``patient-view`` request whose prefetch holds a test bundle's resources."""
    resources = [entry["resource"] for entry in bundle(name)["entry"]]
    patient = next(r for r in resources if r["resourceType"] == "Patient")
    return {
        "hook": "patient-view",
        "hookInstance": hook_instance,
        "fhirServer": BASE,
        "context": {"userId": "Practitioner/example", "patientId": patient["id"]},
        "prefetch": {
            "patient": patient,
            "conditions": searchset([r for r in resources if r["resourceType"] == "Condition"]),
            "observations": searchset([r for r in resources if r["resourceType"] == "Observation"]),
        },
    }
