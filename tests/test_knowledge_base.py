"""The shipped knowledge base: coverage, citations, the seed symptoms, and its generated page."""

from __future__ import annotations

import importlib.util
import re
from collections import Counter
from pathlib import Path

import pytest

from pns_rules import suggest
from pns_rules.knowledge import KnowledgeBase
from pns_rules.loader import CITATION_RE
from pns_rules.scoring import FULL_PHENOTYPE_WEIGHT

ROOT = Path(__file__).resolve().parents[1]

SEED_SYMPTOMS = [
    "ataxia",
    "dizziness",
    "nystagmus",
    "dysphagia",
    "loss of muscle tone",
    "loss of fine motor coordination",
    "slurred speech",
    "memory loss",
    "vision problems",
    "sleep disturbance",
    "dementia",
    "seizures",
    "sensory loss in the limbs",
]

ANTIBODIES = [
    "Hu",
    "Yo",
    "Ri",
    "CV2",
    "Ma2",
    "amphiphysin",
    "SOX1",
    "PCA-2",
    "Tr",
    "KLHL11",
    "NMDAR",
    "AMPAR",
    "GABA-B",
    "mGluR5",
    "VGCC",
    "CASPR2",
    "LGI1",
    "GAD65",
    "AChR",
]


def test_coverage_per_category(kb: KnowledgeBase) -> None:
    counts = Counter(s.category for s in kb.syndromes.values())
    assert counts["neurological"] >= 18
    assert counts["endocrine"] >= 8
    assert counts["mucocutaneous"] >= 10
    assert counts["hematological"] >= 6
    assert counts["other"] >= 4


def test_every_fact_is_cited(kb: KnowledgeBase) -> None:
    cited = []
    for rule in kb.rules.values():
        cited.append(rule.citation)
    for syndrome in kb.syndromes.values():
        assert syndrome.citations, syndrome.id
        cited += syndrome.citations
        cited += [link.citation for link in syndrome.cancers]
    for cancer in kb.cancers.values():
        cited.append(cancer.screening.citation)
        assert cancer.screening.first_line and cancer.screening.second_line
        assert cancer.screening.repeat
    for finding in kb.findings.values():
        if finding.risk:
            cited.append(finding.citation or "")
    assert all(CITATION_RE.match(c) for c in cited), [c for c in cited if not CITATION_RE.match(c)]


@pytest.mark.parametrize("symptom", SEED_SYMPTOMS)
def test_each_seed_symptom_reaches_a_syndrome(symptom: str) -> None:
    result = suggest([symptom])
    assert result.syndromes, symptom
    assert result.syndromes[0].category == "neurological"


#: Muscle AChR antibodies mark myasthenia gravis, which the Graus 2021 criteria leave out: they
#: have a tumour association (thymoma) but no Graus tier.
WITHOUT_GRAUS_TIER = {"AChR"}


@pytest.mark.parametrize("name", ANTIBODIES)
def test_antibodies_have_tiers_and_tumour_associations(name: str, kb: KnowledgeBase) -> None:
    result = suggest([], antibodies=[name])
    (finding,) = result.findings
    antibody = kb.findings[finding.counts_as[0]]
    assert antibody.kind == "antibody"
    if name in WITHOUT_GRAUS_TIER:
        assert antibody.risk is None
    else:
        assert antibody.risk in ("high", "intermediate", "low")
    using = [r for r in kb.rules.values() if antibody.id in r.findings]
    assert using, f"no rule uses {name}"
    cancers = {c for r in using for c, _ in r.cancer_boosts}
    cancers |= {link.cancer for r in using for link in kb.syndromes[r.syndrome].cancers}
    assert cancers, f"{name} leads to no cancer"


def test_lab_abnormalities_are_hpo_coded(kb: KnowledgeBase) -> None:
    for label in ["Hyponatremia", "Hypercalcemia", "Hypokalemia", "Hypoglycemia", "Polycythemia"]:
        found = [f for f in kb.findings.values() if f.label == label]
        assert found and re.match(r"^HP:\d{7}$", found[0].id), label


def test_a_diagnosed_syndrome_entered_by_name_counts_as_its_full_phenotype(
    kb: KnowledgeBase,
) -> None:
    diagnoses = [f for f in kb.findings.values() if f.kind == "diagnosis"]
    assert len(diagnoses) >= 20
    for finding in diagnoses:
        (rule,) = [r for r in kb.rules.values() if r.all_of == (finding.id,) and not r.any_of]
        assert rule.item in {"phenotype", "lab"} and rule.age is None and rule.sex is None
        full_picture = max(
            kb.rules[r].weight
            for r in kb.rules_by_syndrome[rule.syndrome]
            if kb.rules[r].item == rule.item and r != rule.id
        )
        # a diagnosis counts as a full picture, never more than the syndrome's own full picture
        assert FULL_PHENOTYPE_WEIGHT <= rule.weight <= full_picture, finding.id
        for name in (finding.label, *finding.synonyms):
            result = suggest([name])  # no age or sex: only the diagnosis rule can fire
            assert result.findings[0].id == finding.id, name
            top = result.syndromes[0]
            assert top.id == rule.syndrome, name
            assert top.score == rule.weight >= FULL_PHENOTYPE_WEIGHT, name
            if top.pns_care is not None:  # a Graus phenotype: its PNS-Care phenotype points
                assert top.pns_care.phenotype_points > 0, name


def test_a_diagnosed_syndrome_keeps_its_age_and_sex_cancer_points() -> None:
    # Dermatomyositis in a woman: pelvic ultrasound and mammography (EFNS); in a child with
    # opsoclonus-myoclonus, neuroblastoma.
    woman = suggest(["dermatomyositis"], age=55, sex="female")
    assert "dm-woman" in woman.fired_rules and "dm-over-50" in woman.fired_rules
    assert {c.id for c in woman.cancers[:2]} == {"breast-cancer", "ovarian-cancer"}
    child = suggest(["opsoclonus-myoclonus syndrome"], age=2)
    assert child.cancers[0].id == "neuroblastoma"


def test_every_associated_cancer_is_screened(kb: KnowledgeBase) -> None:
    named = {link.cancer for s in kb.syndromes.values() for link in s.cancers}
    named |= {c for r in kb.rules.values() for c, _ in r.cancer_boosts}
    assert named <= set(kb.cancers)


def test_nonspecific_findings_never_reach_a_high_level() -> None:
    for findings in (["fatigue", "headache"], ["anxiety", "insomnia"], ["weight loss", "fever"]):
        for age in (25, 70):
            assert suggest(findings, age=age).top_level in (None, "low"), findings


NONSPECIFIC = [
    "fatigue",
    "fever",
    "weight loss",
    "anemia",
    "headache",
    "nausea",
    "vomiting",
    "night sweats",
    "anxiety",
    "depression",
    "insomnia",
    "myalgia",
    "arthralgia",
    "cough",
    "dyspnea",
    "constipation",
    "abdominal pain",
    "diarrhea",
    "pruritus",
    "hypertension",
    "edema",
    "confusion",
    "muscle weakness",
    "numbness",
    "blurred vision",
]


@pytest.mark.parametrize("finding", NONSPECIFIC)
def test_a_nonspecific_finding_alone_stays_below_intermediate(finding: str) -> None:
    for age in (25, 70):
        for sex in (None, "female", "male"):
            result = suggest([finding], age=age, sex=sex)
            assert all(s.score < 4 for s in result.syndromes), (finding, age, sex)


def test_a_young_adult_with_only_nonspecific_findings_gets_no_high_candidate() -> None:
    for sex in (None, "female", "male"):
        result = suggest(NONSPECIFIC, age=25, sex=sex)
        assert result.top_level != "high", sex
        assert all(c.level != "high" for c in result.cancers), sex


def test_generated_page_is_up_to_date() -> None:
    spec = importlib.util.spec_from_file_location("gen", ROOT / "scripts" / "generate_kb_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--check"]) == 0, "run python scripts/generate_kb_docs.py"
