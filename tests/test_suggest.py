"""Behaviour of suggest() on clinically meaningful examples from the shipped rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pns_rules import NOTICE, Engine, suggest
from tests.helpers import SYNTHETIC_MANIFEST


def test_readme_example_ranks_neurological_first() -> None:
    result = suggest(["ataxia", "nystagmus", "dysarthria"], age=62)
    assert result.categories[0].name == "neurological"
    assert result.syndromes[0].id == "pcd"
    assert result.syndromes[0].level == "low"  # a phenotype without an antibody is not "high"
    assert {"sclc", "ovarian-cancer", "breast-cancer"} <= {c.id for c in result.cancers[:4]}


def test_anti_yo_in_a_woman_points_to_ovary_and_breast() -> None:
    result = suggest(["HP:0001251", "HP:0000639"], age=62, sex="female", antibodies=["anti-Yo"])
    top = result.syndromes[0]
    assert top.id == "pcd"
    assert top.level == "high"
    assert {c.id for c in result.cancers[:2]} == {"ovarian-cancer", "breast-cancer"}
    assert result.cancers[0].level == "high"
    antibody = [e for e in top.evidence if e.item == "antibody" and e.counted]
    assert len(antibody) == 1
    yo = [m for m in antibody[0].matched if m.id == "pns:anti-yo"]
    assert yo and yo[0].given == ("anti-Yo",)
    phenotype = next(e for e in top.evidence if e.item == "phenotype" and e.counted)
    assert {m.given for m in phenotype.matched} == {("HP:0001251",), ("HP:0000639",)}


def test_explanations_name_the_given_terms_and_citations() -> None:
    result = suggest(["Slurred-Speech", "ATAXIA"], age=50)
    evidence = result.syndromes[0].evidence[0]
    given = {m.id: m.given for m in evidence.matched}
    assert given["HP:0001260"] == ("Slurred-Speech",)
    assert given["HP:0001251"] == ("ATAXIA",)
    assert evidence.citation.startswith(("PMID:", "DOI:"))


def test_opsoclonus_in_a_child_points_to_neuroblastoma_not_lung() -> None:
    child = suggest(["opsoclonus", "myoclonus"], age=2)
    assert child.cancers[0].id == "neuroblastoma"
    assert "sclc" not in {c.id for c in child.cancers}
    adult = suggest(["opsoclonus", "myoclonus"], age=55)
    assert "neuroblastoma" not in {c.id for c in adult.cancers}
    assert adult.cancers[0].id in {"sclc", "breast-cancer"}


def test_nmdar_in_a_young_woman_points_to_teratoma() -> None:
    result = suggest(["psychosis", "seizure"], age=24, sex="female", antibodies=["anti-NMDAR"])
    assert result.syndromes[0].id == "anti-nmdar-encephalitis"
    assert result.cancers[0].id == "ovarian-teratoma"
    older_man = suggest(["psychosis", "seizure"], age=60, sex="male", antibodies=["NMDAR"])
    assert "ovarian-teratoma" not in {c.id for c in older_man.cancers}


def test_sex_specific_cancer_never_suggested_for_the_other_sex() -> None:
    result = suggest(["ataxia", "nystagmus"], age=40, sex="male", antibodies=["anti-Yo"])
    assert "ovarian-cancer" not in {c.id for c in result.cancers}
    assert all("ovarian" not in c for s in result.syndromes for c in s.cancers)


def test_a_cancer_rare_in_the_patients_sex_is_scaled_down_not_dropped() -> None:
    # Breast cancer in men is about 1% of breast cancers (rare_in in rules/cancers.toml).
    findings = ["ataxia", "nystagmus", "dysarthria"]
    man = suggest(findings, age=62, sex="male", antibodies=["anti-Yo"])
    unknown = suggest(findings, age=62, antibodies=["anti-Yo"])
    (male_breast,) = [c for c in man.cancers if c.id == "breast-cancer"]
    (any_breast,) = [c for c in unknown.cancers if c.id == "breast-cancer"]
    assert male_breast.reasons == any_breast.reasons  # same evidence...
    assert male_breast.score == round(any_breast.score * 0.01, 4)  # ...scaled by the cited share
    assert male_breast.note is not None and "DOI:10.1056/NEJMra1707939" in male_breast.note
    assert any_breast.note is None
    assert man.cancers.index(male_breast) == len(man.cancers) - 1  # ranked after the rest
    assert unknown.cancers.index(any_breast) <= 1
    woman = suggest(findings, age=62, sex="female", antibodies=["anti-Yo"])
    assert all(c.note is None for c in woman.cancers)


def test_each_category_is_reachable() -> None:
    examples = {
        "endocrine": ["hyponatremia", "confusion"],
        "mucocutaneous": ["acanthosis nigricans", "weight loss"],
        "hematological": ["erythrocytosis"],
        "other": ["clubbing", "periostosis"],
        "neurological": ["memory loss", "seizures"],
    }
    for category, findings in examples.items():
        assert suggest(findings, age=60).categories[0].name == category


def test_look_for_lists_absent_findings_that_would_strengthen() -> None:
    result = suggest(["ataxia", "nystagmus"], age=60, sex="female")
    look_for = {s.label: s for s in result.syndromes[0].look_for}
    assert "Anti-Yo (PCA-1) antibody" in look_for
    assert "Ataxia" not in look_for and "Nystagmus" not in look_for
    kb = Engine.shipped().knowledge_base
    male = suggest(["ataxia", "nystagmus"], age=60, sex="male")
    for suggestion in male.syndromes[0].look_for:
        for rule_id in suggestion.rules:
            assert kb.rules[rule_id].sex in (None, "male")


def test_cancers_carry_screening() -> None:
    result = suggest(["hyponatremia"], age=70)
    sclc = next(c for c in result.cancers if c.id == "sclc")
    assert "CT" in sclc.screening.first_line
    assert "PMID:20880069" in sclc.screening.citation
    assert sclc.reasons[0].syndrome == "siadh"


def test_empty_findings_give_an_empty_differential() -> None:
    result = suggest([], age=30)
    assert result.categories == () and result.syndromes == () and result.cancers == ()
    assert result.top_level is None
    assert result.notice == NOTICE


def test_to_dict_is_json_ready_and_names_the_rule_base() -> None:
    result = suggest(["ataxia", "nystagmus"], age=62, sex="female", antibodies=["Yo"])
    data = json.loads(json.dumps(result.to_dict()))
    assert data["rule_base"]["version"] == Engine.shipped().knowledge_base.version
    assert data["notice"].startswith("Decision support, not a diagnosis")
    assert data["syndromes"][0]["id"] == "pcd"
    assert data["cancers"][0]["screening"]["first_line"]


def test_a_ranking_carries_the_notice_and_its_to_dict_matches_the_differential(
    engine: Engine,
) -> None:
    args = (["ataxia", "nystagmus", "atxia"],)
    kwargs = {"age": 62, "sex": "female", "antibodies": ["Yo"], "strict": False}
    ranking = engine.ranking(*args, **kwargs)  # type: ignore[arg-type]
    result = engine.suggest(*args, **kwargs)  # type: ignore[arg-type]
    assert ranking.notice == result.notice == NOTICE
    data = ranking.to_dict()
    assert json.loads(json.dumps(data))["notice"] == NOTICE  # JSON-ready
    assert set(data) == {
        "categories",
        "syndromes",
        "cancers",
        "unrecognized",
        "rule_base",
        "notice",
    }
    full = result.to_dict()
    assert data["notice"] == full["notice"] and data["rule_base"] == full["rule_base"]
    assert data["unrecognized"] == full["unrecognized"] and data["unrecognized"]
    for key in ("categories", "syndromes", "cancers"):
        assert data[key] and len(data[key]) == len(full[key])
        for ranked, candidate in zip(data[key], full[key], strict=True):
            assert ranked == {field: candidate[field] for field in ranked}
    assert engine.ranking([]).to_dict()["notice"] == NOTICE


@pytest.mark.parametrize("term", ["Ataxia", "ataxia", "  ATAXIA ", "HP:0001251", "hp:0001251"])
def test_terms_are_case_space_and_id_insensitive(term: str) -> None:
    result = suggest([term], age=60)
    assert result.findings[0].id == "HP:0001251"


def test_extra_cancer_points_follow_the_association_age_range() -> None:
    child = suggest(["memory loss", "seizures"], age=10, antibodies=["anti-Hu"])
    assert child.cancers[0].id == "neuroblastoma"
    kb = Engine.shipped().knowledge_base
    for cancer in child.cancers:
        for reason in cancer.reasons:
            links = {link.cancer: link for link in kb.syndromes[reason.syndrome].cancers}
            link = links.get(cancer.id)
            if link is not None and link.age is not None:
                assert link.age.contains(10), (cancer.id, reason)
    adult = suggest(["memory loss", "seizures"], age=60, antibodies=["anti-Hu"])
    assert adult.cancers[0].id == "sclc"


_TIED_RULES = """
[[finding]]
id = "pns:lead"
label = "lead finding"
kind = "sign"

[[finding]]
id = "pns:minor"
label = "minor finding"
kind = "sign"
{cancers}
[[syndrome]]
id = "leading"
name = "Leading syndrome"
category = "other"
citations = ["PMID:1"]
cancers = [{leading_links}]

[[syndrome]]
id = "lesser"
name = "Lesser syndrome"
category = "other"
citations = ["PMID:1"]
cancers = [{{ id = "cancer-m", strength = "strong", citation = "PMID:1" }}]

[[rule]]
id = "leading-rule"
syndrome = "leading"
weight = 2
all = ["lead finding"]
citation = "PMID:1"

[[rule]]
id = "lesser-rule"
syndrome = "lesser"
weight = 1
all = ["minor finding"]
citation = "PMID:1"
"""


def _tied_engine(directory: Path, order: list[str]) -> Engine:
    cancers = "".join(
        f'\n[[cancer]]\nid = "{c}"\nname = "{c}"\nsex = "any"\nscreening.first_line = "a"\n'
        f'screening.second_line = "b"\nscreening.repeat = "once"\nscreening.citation = "PMID:1"\n'
        for c in ["cancer-a", "cancer-m", "cancer-z"]
    )
    links = ", ".join(f'{{ id = "{c}", strength = "weak", citation = "PMID:1" }}' for c in order)
    directory.mkdir()
    (directory / "manifest.toml").write_text(SYNTHETIC_MANIFEST)
    (directory / "rules.toml").write_text(_TIED_RULES.format(cancers=cancers, leading_links=links))
    return Engine.from_directory(directory)


@pytest.mark.parametrize(
    "order", [["cancer-z", "cancer-a"], ["cancer-a", "cancer-z"]], ids=["z-first", "a-first"]
)
def test_cancers_of_equal_score_follow_the_rule_files_order(
    tmp_path: Path, order: list[str]
) -> None:
    # The leading syndrome (2 points) gives both its weak cancers 1.0, as much as the lesser
    # syndrome (1 point) gives its strong one: the leading syndrome's cancers come first, in the
    # order its list gives them, whatever their ids.
    engine = _tied_engine(tmp_path / "rules", order)
    result = engine.suggest(["lead finding", "minor finding"])
    assert [(c.id, c.score) for c in result.cancers] == [
        (order[0], 1.0),
        (order[1], 1.0),
        ("cancer-m", 1.0),
    ]
    ranked = engine.ranking(["lead finding", "minor finding"])
    assert [c.id for c in ranked.cancers] == [c.id for c in result.cancers]


def test_angioedema_alone_stays_low_and_the_acquired_c1_inh_picture_points_to_lymphoma() -> None:
    # ACE-inhibitor and allergic angioedema are far commoner: alone it is a low candidate; with a
    # low C4 and a low C1q at 65 it is the acquired C1-inhibitor deficiency of B-cell lymphomas.
    alone = suggest(["Angioedema"], age=65, sex="male")
    assert alone.top_level == "low"
    full = suggest(
        [
            "Angioedema",
            "Decreased circulating complement C4 concentration",
            "Decreased circulating C1q concentration",
        ],
        age=65,
        sex="male",
    )
    assert full.syndromes[0].id == "acquired-angioedema-c1-inh"
    assert full.syndromes[0].score > alone.syndromes[0].score
    assert full.cancers[0].id == "non-hodgkin-lymphoma"


def test_yellow_plaques_with_a_paraprotein_point_to_myeloma() -> None:
    result = suggest(["Yellow skin plaque", "Paraproteinemia"], age=70, sex="female")
    assert result.syndromes[0].id == "necrobiotic-xanthogranuloma"
    assert result.cancers[0].id == "multiple-myeloma"
    plaques_only = suggest(["Yellow skin plaque"], age=70, sex="female")
    assert plaques_only.top_level == "low"


@pytest.mark.parametrize(
    ("age", "sex", "first"),
    [(24, "female", "ovarian-teratoma"), (70, "male", "chronic-lymphocytic-leukemia")],
)
def test_autoimmune_haemolysis_coded_by_its_parts_is_read_as_aiha(
    age: int, sex: str, first: str
) -> None:
    # Anaemia, a positive DAT and a marker of haemolysis: AIHA, whose tumour depends on who has it.
    parts = ["Anemia", "Positive direct antiglobulin test", "raised LDH"]
    result = suggest(parts, age=age, sex=sex)
    assert result.syndromes[0].id == "autoimmune-hemolytic-anemia-lymphoproliferative"
    assert result.cancers[0].id == first
    # without the antiglobulin test it is not autoimmune haemolysis
    assert "autoimmune-hemolytic-anemia-lymphoproliferative" not in {
        s.id for s in suggest(["Anemia", "raised LDH"], age=age, sex=sex).syndromes
    }
