"""The straightforward scoring of docs/scoring.md, as first written: an oracle for the tests.

:class:`pns_rules.scoring.Scorer` precomputes and shortcuts for speed; the property tests require it
to give exactly the results of this plain, direct reading of the rules, which favours clarity over
speed. Keep the two in step when the scoring changes.

- A syndrome's score is the sum, over its rule *items*, of the highest weight among the fired rules
  of that item.
- A cancer's support from one syndrome is the syndrome's score times the strength of their
  association, plus the extra points of the syndrome's fired rules that name the cancer; its score
  is the support of its best syndrome.
  Cancers of the other sex, and associations outside their age range, are left out. A cancer
  much rarer in the patient's sex (``rare_in``) has its score multiplied by the cited factor.
- A category's score is the score of its best syndrome.
- Cancers of equal score are ordered by their best syndrome's rank (the highest-ranked syndrome
  giving the score), then by the cancer's first position in that syndrome's associations, then by id.

Every score is a sum or maximum of non-negative terms over fired rules, and rules only ever ask for
findings to be present, so adding a finding never lowers any score.
"""

from __future__ import annotations

from collections.abc import Iterable

from pns_rules.knowledge import CancerLink, KnowledgeBase, Rule
from pns_rules.patient import Patient
from pns_rules.results import (
    CancerCandidate,
    CancerReason,
    CategoryCandidate,
    Differential,
    FindingSuggestion,
    MatchedFinding,
    PnsCareEstimate,
    RuleBaseInfo,
    RuleEvidence,
    SyndromeCandidate,
)

__all__ = ["rank"]

#: The rule item that holds a syndrome's clinical phenotype (see docs/scoring.md).
PHENOTYPE_ITEM = "phenotype"
#: A phenotype rule of at least this weight describes the full phenotype (partial pictures are 1).
FULL_PHENOTYPE_WEIGHT = 2


def rank(kb: KnowledgeBase, patient: Patient, fired: Iterable[str]) -> Differential:
    """The differential for ``patient`` given the ids of the rules that fired."""
    rules_by_syndrome: dict[str, list[Rule]] = {}
    for rule_id in sorted(set(fired)):
        rule = kb.rules[rule_id]
        rules_by_syndrome.setdefault(rule.syndrome, []).append(rule)
    given_for = _given_terms(patient)
    syndromes = [
        _syndrome(kb, patient, syndrome_id, rules, given_for)
        for syndrome_id, rules in rules_by_syndrome.items()
    ]
    syndromes.sort(key=lambda s: (-s.score, s.id))
    cancers = _cancers(kb, patient, syndromes, rules_by_syndrome)
    return Differential(
        categories=_categories(kb, syndromes),
        syndromes=tuple(syndromes),
        cancers=cancers,
        findings=patient.recognized,
        unrecognized=patient.unrecognized,
        age=patient.age,
        sex=patient.sex,
        rule_base=RuleBaseInfo(name=kb.name, version=kb.version, hpo_release=kb.hpo_release),
        notes=patient.notes,
    )


def _given_terms(patient: Patient) -> dict[str, tuple[str, ...]]:
    given: dict[str, list[str]] = {}
    for recognized in patient.recognized:
        for finding_id in recognized.counts_as:
            given.setdefault(finding_id, []).append(recognized.given)
    return {k: tuple(v) for k, v in given.items()}


def _syndrome(
    kb: KnowledgeBase,
    patient: Patient,
    syndrome_id: str,
    rules: list[Rule],
    given_for: dict[str, tuple[str, ...]],
) -> SyndromeCandidate:
    syndrome = kb.syndromes[syndrome_id]
    best: dict[str, Rule] = {}
    for rule in rules:
        current = best.get(rule.item)
        if current is None or rule.weight > current.weight:
            best[rule.item] = rule
    counted = {rule.id for rule in best.values()}
    score = float(sum(rule.weight for rule in best.values()))
    evidence = tuple(
        RuleEvidence(
            rule=rule.id,
            description=rule.description,
            item=rule.item,
            weight=rule.weight,
            counted=rule.id in counted,
            matched=tuple(
                MatchedFinding(id=f, label=kb.findings[f].label, given=given_for.get(f, ()))
                for f in sorted(rule.findings & patient.findings)
            ),
            conditions=_conditions(rule),
            citation=rule.citation,
        )
        for rule in sorted(rules, key=lambda r: (-r.weight, r.id))
    )
    return SyndromeCandidate(
        id=syndrome.id,
        name=syndrome.name,
        category=syndrome.category,
        score=score,
        level=kb.scoring.level(score),
        evidence=evidence,
        cancers=tuple(link.cancer for link in syndrome.cancers if _link_applies(kb, patient, link)),
        look_for=_look_for(kb, patient, syndrome_id, {r.id for r in rules}),
        citations=syndrome.citations,
        pns_care=_pns_care(kb, patient, syndrome.pns_care_phenotype, best.get(PHENOTYPE_ITEM)),
    )


def _pns_care(
    kb: KnowledgeBase, patient: Patient, phenotype_risk: str | None, phenotype_rule: Rule | None
) -> PnsCareEstimate | None:
    scale = kb.pns_care
    if scale is None or phenotype_risk is None:
        return None
    full_phenotype = phenotype_rule is not None and phenotype_rule.weight >= FULL_PHENOTYPE_WEIGHT
    phenotype_points = scale.phenotype[phenotype_risk] if full_phenotype else 0
    antibodies = sorted(
        f for f in patient.findings if kb.findings[f].kind == "antibody" and kb.findings[f].risk
    )
    antibody_points = max(
        (scale.antibody[kb.findings[f].risk or "low"] for f in antibodies), default=0
    )
    before = phenotype_points + antibody_points
    found = before + scale.cancer_found
    not_yet = before + scale.cancer_not_found_under_2_years
    return PnsCareEstimate(
        phenotype_risk=phenotype_risk,
        phenotype_points=phenotype_points,
        antibody_points=antibody_points,
        antibodies=tuple(antibodies),
        points_before_screening=before,
        if_consistent_cancer_found=found,
        level_if_consistent_cancer_found=scale.level(found),
        if_no_cancer_found_yet=not_yet,
        level_if_no_cancer_found_yet=scale.level(not_yet),
        citation=scale.citation,
    )


def _conditions(rule: Rule) -> tuple[str, ...]:
    conditions = []
    if rule.age is not None:
        conditions.append(rule.age.describe())
    if rule.sex is not None:
        conditions.append(f"sex {rule.sex}")
    return tuple(conditions)


def _link_applies(kb: KnowledgeBase, patient: Patient, link: CancerLink) -> bool:
    cancer = kb.cancers[link.cancer]
    if cancer.sex is not None and patient.sex is not None and cancer.sex != patient.sex:
        return False
    return not (
        link.age is not None and patient.age is not None and not link.age.contains(patient.age)
    )


def _look_for(
    kb: KnowledgeBase, patient: Patient, syndrome_id: str, fired: set[str]
) -> tuple[FindingSuggestion, ...]:
    weights: dict[str, int] = {}
    sources: dict[str, list[str]] = {}
    for rule_id in kb.rules_by_syndrome.get(syndrome_id, ()):
        if rule_id in fired:
            continue
        rule = kb.rules[rule_id]
        if rule.age is not None and not rule.age.contains(patient.age):
            continue
        if rule.sex is not None and rule.sex != patient.sex:
            continue
        for finding_id in rule.findings - patient.findings:
            if rule.weight > weights.get(finding_id, 0):
                weights[finding_id] = rule.weight
            sources.setdefault(finding_id, []).append(rule_id)
    ordered = sorted(weights, key=lambda f: (-weights[f], kb.findings[f].label.casefold(), f))
    return tuple(
        FindingSuggestion(
            id=f,
            label=kb.findings[f].label,
            kind=kb.findings[f].kind,
            weight=weights[f],
            rules=tuple(sources[f]),
        )
        for f in ordered
    )


def _cancers(
    kb: KnowledgeBase,
    patient: Patient,
    syndromes: list[SyndromeCandidate],
    rules_by_syndrome: dict[str, list[Rule]],
) -> tuple[CancerCandidate, ...]:
    reasons: dict[str, list[CancerReason]] = {}
    for candidate in syndromes:
        syndrome = kb.syndromes[candidate.id]
        links = {link.cancer: link for link in syndrome.cancers}
        for link in syndrome.cancers:
            if not _link_applies(kb, patient, link):
                continue
            points = candidate.score * kb.scoring.strength[link.strength]
            reasons.setdefault(link.cancer, []).append(
                CancerReason(
                    syndrome=candidate.id,
                    points=round(points, 2),
                    citation=link.citation,
                    strength=link.strength,
                )
            )
        for rule in rules_by_syndrome[candidate.id]:
            for cancer_id, points in rule.cancer_boosts:
                cancer = kb.cancers[cancer_id]
                if cancer.sex is not None and patient.sex is not None and cancer.sex != patient.sex:
                    continue
                restricting = links.get(cancer_id)
                if restricting is not None and not _link_applies(kb, patient, restricting):
                    continue
                reasons.setdefault(cancer_id, []).append(
                    CancerReason(
                        syndrome=candidate.id, points=points, citation=rule.citation, rule=rule.id
                    )
                )
    ranked = []
    for cancer_id, cancer_reasons in reasons.items():
        cancer = kb.cancers[cancer_id]
        score = cancer_score(cancer_reasons)
        note = None
        rare = cancer.rare_in
        if rare is not None and patient.sex == rare.sex:
            score = round(score * rare.factor, 4)
            person, people = {"female": ("woman", "women"), "male": ("man", "men")}[rare.sex]
            note = (
                f"score x{rare.factor:g} for a {person}: much rarer in {people} [{rare.citation}]"
            )
        ranked.append(
            CancerCandidate(
                id=cancer.id,
                name=cancer.name,
                score=score,
                level=kb.scoring.level(score),
                reasons=tuple(
                    sorted(cancer_reasons, key=lambda r: (-r.points, r.syndrome, r.rule or ""))
                ),
                screening=cancer.screening,
                note=note,
            )
        )
    syndrome_rank = {candidate.id: n for n, candidate in enumerate(syndromes)}

    def order(candidate: CancerCandidate) -> tuple[float, int, int, str]:
        support: dict[str, float] = {}
        for reason in candidate.reasons:
            support[reason.syndrome] = support.get(reason.syndrome, 0.0) + reason.points
        top = max(round(value, 2) for value in support.values())
        best = min(
            (s for s, value in support.items() if round(value, 2) == top), key=syndrome_rank.get
        )
        listed = [link.cancer for link in kb.syndromes[best].cancers]
        position = listed.index(candidate.id) if candidate.id in listed else len(listed)
        return (-candidate.score, syndrome_rank[best], position, candidate.id)

    ranked.sort(key=order)
    return tuple(ranked)


def cancer_score(reasons: Iterable[CancerReason]) -> float:
    """A cancer's score: the support of its best syndrome (association plus that syndrome's rules).

    Syndromes in a differential are alternative explanations of one patient, so their support is
    not added up: an antibody that several syndromes share must not count once per syndrome.
    """
    per_syndrome: dict[str, float] = {}
    for reason in reasons:
        per_syndrome[reason.syndrome] = per_syndrome.get(reason.syndrome, 0.0) + reason.points
    return round(max(per_syndrome.values(), default=0.0), 2)


def _categories(
    kb: KnowledgeBase, syndromes: list[SyndromeCandidate]
) -> tuple[CategoryCandidate, ...]:
    members: dict[str, list[SyndromeCandidate]] = {}
    for candidate in syndromes:
        members.setdefault(candidate.category, []).append(candidate)
    categories = [
        CategoryCandidate(
            name=name,
            score=group[0].score,
            level=kb.scoring.level(group[0].score),
            syndromes=tuple(s.id for s in group),
        )
        for name, group in members.items()
    ]
    categories.sort(key=lambda c: (-c.score, c.name))
    return tuple(categories)
