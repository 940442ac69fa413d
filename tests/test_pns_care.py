"""PNS-Care points for neurological candidates (Graus et al. 2021, PMID:34006622)."""

from __future__ import annotations

from pns_rules import suggest


def _candidate(result, syndrome_id):  # type: ignore[no-untyped-def]
    return next(s for s in result.syndromes if s.id == syndrome_id)


def test_high_risk_phenotype_and_high_risk_antibody() -> None:
    result = suggest(["ataxia", "nystagmus", "dysarthria"], age=62, sex="female", antibodies=["Yo"])
    care = _candidate(result, "pcd").pns_care
    assert care is not None
    assert (care.phenotype_points, care.antibody_points) == (3, 3)
    assert care.antibodies == ("pns:anti-yo",)
    assert (care.if_consistent_cancer_found, care.level_if_consistent_cancer_found) == (
        10,
        "definite",
    )
    assert (care.if_no_cancer_found_yet, care.level_if_no_cancer_found_yet) == (7, "probable")
    assert "unknown before screening" in care.caveat


def test_authors_worked_example_intermediate_phenotype_with_ma2() -> None:
    # Graus et al.'s reply: intermediate-risk phenotype (2) + Ma2 (3) + no cancer in the first two
    # years (1) = 6, probable.
    result = suggest(["diplopia", "vertigo", "dysarthria"], age=40, sex="male", antibodies=["Ma2"])
    care = _candidate(result, "brainstem-encephalitis").pns_care
    assert care is not None
    assert care.phenotype_risk == "intermediate"
    assert (care.phenotype_points, care.antibody_points) == (2, 3)
    assert (care.if_no_cancer_found_yet, care.level_if_no_cancer_found_yet) == (6, "probable")


def test_without_antibody_definite_is_out_of_reach() -> None:
    result = suggest(["ataxia", "nystagmus", "dysarthria"], age=62)
    care = _candidate(result, "pcd").pns_care
    assert care is not None and care.antibody_points == 0
    assert care.level_if_consistent_cancer_found == "probable"


def test_a_partial_phenotype_scores_no_phenotype_points() -> None:
    result = suggest(["nystagmus"], age=62, antibodies=["anti-Hu"])
    for syndrome in result.syndromes:
        if syndrome.pns_care is not None and syndrome.id == "pcd":
            assert syndrome.pns_care.phenotype_points == 0
            assert syndrome.pns_care.antibody_points == 3


def test_non_neurological_and_out_of_criteria_syndromes_have_no_pns_care() -> None:
    assert suggest(["hyponatremia"], age=70).syndromes[0].pns_care is None
