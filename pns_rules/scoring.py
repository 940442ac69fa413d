"""Turning fired rules into a ranked, explained differential (see docs/scoring.md).

- A syndrome's score is the sum, over its rule *items*, of the highest weight among the fired rules
  of that item.
- A cancer's support from one syndrome is the syndrome's score times the strength of their
  association, plus the extra points of the syndrome's fired rules that name the cancer; its score
  is the support of its best syndrome.
  Cancers of the other sex, and associations outside their age range, are left out.
- A category's score is the score of its best syndrome.
- Cancers of equal score are ordered by their best syndrome's rank, then by the position of the
  cancer in that syndrome's list of associations (curators list each strength most frequent
  first), then by id.

Every score is a sum or maximum of non-negative terms over fired rules, and rules only ever ask for
findings to be present, so adding a finding never lowers any score.

:class:`Scorer` precomputes, once per rule base, everything about rules, syndromes and cancers
that does not depend on the patient (sort keys, condition texts, finding sets, the cancer reasons
of rules' extra points), so that ranking a patient only does the work that depends on the patient.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator

from .knowledge import SEXES, CancerLink, KnowledgeBase, Rule
from .patient import Patient
from .results import (
    CancerCandidate,
    CancerReason,
    CategoryCandidate,
    Differential,
    FindingSuggestion,
    MatchedFinding,
    PnsCareEstimate,
    RankedCancer,
    RankedCategory,
    RankedSyndrome,
    Ranking,
    RuleBaseInfo,
    RuleEvidence,
    SyndromeCandidate,
)

__all__ = ["FULL_PHENOTYPE_WEIGHT", "PHENOTYPE_ITEM", "Scorer", "cancer_score", "rank"]

#: The rule item that holds a syndrome's clinical phenotype (see docs/scoring.md).
PHENOTYPE_ITEM = "phenotype"
#: A phenotype rule of at least this weight describes the full phenotype (partial pictures are 1).
FULL_PHENOTYPE_WEIGHT = 2


#: At most this many entries in each memo (a full memo is cleared and filled again).
_MEMO_LIMIT = 4096


class _RuleInfo:
    """What scoring needs of one rule, computed once."""

    __slots__ = (
        "age",
        "all_boosts",
        "boosts",
        "citation",
        "conditions",
        "description",
        "findings",
        "id",
        "item",
        "sex",
        "syndrome",
        "weight",
    )

    def __init__(self, kb: KnowledgeBase, rule: Rule) -> None:
        self.id = rule.id
        self.syndrome = rule.syndrome
        self.item = rule.item
        self.weight = rule.weight
        self.findings = rule.findings
        self.age = rule.age
        self.sex = rule.sex
        self.description = rule.description
        self.citation = rule.citation
        self.conditions = _conditions(rule)
        boosts = [
            (
                kb.cancers[cancer_id].sex,
                cancer_id,
                CancerReason(
                    syndrome=rule.syndrome, points=points, citation=rule.citation, rule=rule.id
                ),
            )
            for cancer_id, points in rule.cancer_boosts
        ]
        #: patient sex -> the (cancer, reason) pairs of the rule's extra points that apply, in the
        #: order the rule lists its cancers (a cancer of the other sex is left out)
        self.boosts: dict[str | None, tuple[tuple[str, CancerReason], ...]] = {
            sex: _boosts_for(boosts, sex) for sex in (None, *SEXES)
        }
        self.all_boosts = boosts

    def boosts_for(self, sex: str | None) -> tuple[tuple[str, CancerReason], ...]:
        """The (cancer, reason) pairs of the rule's extra points for a patient of ``sex``."""
        found = self.boosts.get(sex)
        return _boosts_for(self.all_boosts, sex) if found is None else found


def _boosts_for(
    boosts: list[tuple[str | None, str, CancerReason]], sex: str | None
) -> tuple[tuple[str, CancerReason], ...]:
    return tuple(
        (cancer_id, reason)
        for cancer_sex, cancer_id, reason in boosts
        if cancer_sex is None or sex is None or cancer_sex == sex
    )


class _LinkInfo:
    """One syndrome-cancer association, computed once."""

    __slots__ = ("age", "cancer", "citation", "factor", "reasons", "sex", "strength", "syndrome")

    def __init__(self, kb: KnowledgeBase, syndrome: str, link: CancerLink) -> None:
        self.syndrome = syndrome
        self.cancer = link.cancer
        self.sex = kb.cancers[link.cancer].sex
        self.strength = link.strength
        self.citation = link.citation
        self.factor = kb.scoring.strength[link.strength]
        self.age = link.age
        #: syndrome score -> the reason this association gives (scores take few values)
        self.reasons: dict[float, CancerReason] = {}

    def reason(self, score: float) -> CancerReason:
        """The reason this association gives the cancer when the syndrome scores ``score``."""
        reason = self.reasons.get(score)
        if reason is None:
            reason = CancerReason(
                syndrome=self.syndrome,
                points=round(score * self.factor, 2),
                citation=self.citation,
                strength=self.strength,
            )
            if len(self.reasons) < _MEMO_LIMIT:
                self.reasons[score] = reason
        return reason

    def applies(self, age: float | None, sex: str | None) -> bool:
        if self.sex is not None and sex is not None and self.sex != sex:
            return False
        return not (self.age is not None and age is not None and not self.age.contains(age))


class Scorer:
    """Ranks patients against one rule base; build it once per rule base, then call :meth:`rank`.

    Thread-safe: it holds only precomputed data that it never changes, and a small memo of the
    level of each score seen (a dict written whole entries at a time).
    """

    def __init__(self, kb: KnowledgeBase) -> None:
        self._kb = kb
        self._rules = {rule_id: _RuleInfo(kb, rule) for rule_id, rule in kb.rules.items()}
        self._links = {
            s.id: tuple(_LinkInfo(kb, s.id, link) for link in s.cancers)
            for s in kb.syndromes.values()
        }
        #: per syndrome: its association with each cancer (the last one listed), whose age range a
        #: rule's extra points for that cancer follow
        self._restricting = {
            syndrome_id: {link.cancer: link for link in links}
            for syndrome_id, links in self._links.items()
        }
        #: per syndrome: the position of each cancer in its list of associations (first listing),
        #: which orders cancers of equal score
        self._positions = {s.id: _first_positions(s.cancers) for s in kb.syndromes.values()}
        #: rule infos per syndrome, in file order (for what to look for next)
        self._by_syndrome = {
            syndrome_id: tuple(self._rules[r] for r in rule_ids)
            for syndrome_id, rule_ids in kb.rules_by_syndrome.items()
        }
        #: per syndrome: every finding its rules name, and the age ranges and whether any sex
        #: conditions of its rules: with the fired rules, all that what to look for depends on
        self._look_for_inputs = {
            syndrome_id: (
                frozenset().union(*(info.findings for info in infos)),
                tuple(info.age for info in infos if info.age is not None),
                any(info.sex is not None for info in infos),
            )
            for syndrome_id, infos in self._by_syndrome.items()
        }
        self._look_for_memo: dict[object, tuple[FindingSuggestion, ...]] = {}
        #: per syndrome: the age ranges of its associations (what applies depends on)
        self._link_ages = {
            syndrome_id: tuple(link.age for link in links if link.age is not None)
            for syndrome_id, links in self._links.items()
        }
        self._links_memo: dict[object, tuple[_LinkInfo, ...]] = {}
        self._labels = {f.id: f.label for f in kb.findings.values()}
        self._kinds = {f.id: f.kind for f in kb.findings.values()}
        self._label_keys = {f.id: f.label.casefold() for f in kb.findings.values()}
        self._rule_base = RuleBaseInfo(name=kb.name, version=kb.version, hpo_release=kb.hpo_release)
        self._levels: dict[float, str] = {}
        self._pns_care = kb.pns_care
        #: antibodies with a risk tier -> their PNS-Care antibody points
        self._antibody_points: dict[str, int] = {}
        if kb.pns_care is not None:
            self._antibody_points = {
                f.id: kb.pns_care.antibody[f.risk]
                for f in kb.findings.values()
                if f.kind == "antibody" and f.risk
            }

    @property
    def knowledge_base(self) -> KnowledgeBase:
        """The rule base this scorer ranks against."""
        return self._kb

    def level(self, score: float) -> str:
        """The level of ``score`` (as :meth:`~pns_rules.knowledge.Scoring.level`), memoised."""
        level = self._levels.get(score)
        if level is None:
            level = self._kb.scoring.level(score)
            if len(self._levels) < 4096:
                self._levels[score] = level
        return level

    def rank(self, patient: Patient, fired: Iterable[str]) -> Differential:
        """The differential for ``patient`` given the ids of the rules that fired."""
        rules = self._rules
        by_syndrome: dict[str, list[_RuleInfo]] = {}
        for rule_id in sorted(set(fired)):
            info = rules[rule_id]
            group = by_syndrome.get(info.syndrome)
            if group is None:
                by_syndrome[info.syndrome] = [info]
            else:
                group.append(info)
        age = patient.age
        sex = patient.sex
        if by_syndrome:
            given_for = _given_terms(patient)
            antibodies = self._antibodies(patient) if self._pns_care is not None else None
            syndromes = [
                self._syndrome(patient, syndrome_id, infos, given_for, antibodies)
                for syndrome_id, infos in by_syndrome.items()
            ]
            if len(syndromes) > 1:
                syndromes.sort(key=_score_then_id)
            cancers = self._cancers(age, sex, syndromes, by_syndrome)
            categories = self._categories(syndromes)
        else:
            syndromes, cancers, categories = [], (), ()
        return Differential(
            categories=categories,
            syndromes=tuple(syndromes),
            cancers=cancers,
            findings=patient.recognized,
            unrecognized=patient.unrecognized,
            age=age,
            sex=sex,
            rule_base=self._rule_base,
            notes=patient.notes,
        )

    def ranking(self, patient: Patient, fired: Iterable[str]) -> Ranking:
        """The ranked candidates of :meth:`rank` (same scores, levels and order) without
        explanations: what cohorts need, at a fraction of the cost."""
        rules = self._rules
        best: dict[str, dict[str, int]] = {}  # syndrome -> item -> best weight
        by_syndrome: dict[str, list[_RuleInfo]] = {}
        for rule_id in sorted(set(fired)):
            info = rules[rule_id]
            items = best.get(info.syndrome)
            if items is None:
                best[info.syndrome] = {info.item: info.weight}
                by_syndrome[info.syndrome] = [info]
                continue
            by_syndrome[info.syndrome].append(info)
            if info.weight > items.get(info.item, 0):
                items[info.item] = info.weight
        syndromes_kb = self._kb.syndromes
        level = self.level
        syndromes = []
        for syndrome_id, items in best.items():
            syndrome = syndromes_kb[syndrome_id]
            score = float(sum(items.values()))
            syndromes.append(
                RankedSyndrome(syndrome_id, syndrome.name, syndrome.category, score, level(score))
            )
        if len(syndromes) > 1:
            syndromes.sort(key=_score_then_id)
        age = patient.age
        sex = patient.sex
        support: dict[str, float] = {}  # cancer -> support of its best syndrome so far
        order: dict[str, tuple[int, int]] = {}  # cancer -> (best syndrome's rank, position there)
        for syndrome_rank, candidate in enumerate(syndromes):
            points: dict[str, float] = {}
            for link in self._applicable_links(candidate.id, age, sex):
                points[link.cancer] = (
                    points.get(link.cancer, 0.0) + link.reason(candidate.score).points
                )
            for cancer_id, reason in self._applicable_boosts(
                candidate.id, by_syndrome[candidate.id], age, sex
            ):
                points[cancer_id] = points.get(cancer_id, 0.0) + reason.points
            for cancer_id, value in points.items():
                value = round(value, 2)
                if cancer_id not in support or value > support[cancer_id]:
                    support[cancer_id] = value
                    order[cancer_id] = (syndrome_rank, self._position(candidate.id, cancer_id))
        cancers_kb = self._kb.cancers
        keyed = []
        for cancer_id, value in support.items():
            cancer = cancers_kb[cancer_id]
            score = cancer.scaled(value, sex)
            keyed.append(
                (
                    (-score, *order[cancer_id], cancer_id),
                    RankedCancer(cancer_id, cancer.name, score, level(score)),
                )
            )
        if len(keyed) > 1:
            keyed.sort(key=_first)
        cancers = [ranked_cancer for _, ranked_cancer in keyed]
        categories: dict[str, RankedCategory] = {}
        for candidate in syndromes:
            if candidate.category not in categories:
                categories[candidate.category] = RankedCategory(
                    candidate.category, candidate.score, candidate.level
                )
        ranked = sorted(categories.values(), key=_score_then_name)
        return Ranking(
            categories=tuple(ranked),
            syndromes=tuple(syndromes),
            cancers=tuple(cancers),
            unrecognized=patient.unrecognized,
            rule_base=self._rule_base,
        )

    def _syndrome(
        self,
        patient: Patient,
        syndrome_id: str,
        infos: list[_RuleInfo],
        given_for: dict[str, tuple[str, ...]],
        antibodies: tuple[tuple[str, ...], int] | None,
    ) -> SyndromeCandidate:
        syndrome = self._kb.syndromes[syndrome_id]
        present = patient.findings
        labels = self._labels
        best: dict[str, _RuleInfo] = {}
        for info in infos:
            current = best.get(info.item)
            if current is None or info.weight > current.weight:
                best[info.item] = info
        score = float(sum(info.weight for info in best.values()))
        ordered = infos if len(infos) == 1 else sorted(infos, key=_weight_then_id)
        evidence = tuple(
            RuleEvidence(
                rule=info.id,
                description=info.description,
                item=info.item,
                weight=info.weight,
                counted=best[info.item] is info,
                matched=tuple(
                    MatchedFinding(id=f, label=labels[f], given=given_for.get(f, ()))
                    for f in sorted(info.findings & present)
                ),
                conditions=info.conditions,
                citation=info.citation,
            )
            for info in ordered
        )
        age = patient.age
        sex = patient.sex
        return SyndromeCandidate(
            id=syndrome.id,
            name=syndrome.name,
            category=syndrome.category,
            score=score,
            level=self.level(score),
            evidence=evidence,
            cancers=tuple(link.cancer for link in self._applicable_links(syndrome_id, age, sex)),
            look_for=self._look_for(patient, syndrome_id, infos),
            citations=syndrome.citations,
            pns_care=(
                None
                if antibodies is None or syndrome.pns_care_phenotype is None
                else self._pns_care_estimate(
                    syndrome.pns_care_phenotype, best.get(PHENOTYPE_ITEM), antibodies
                )
            ),
        )

    def _applicable_boosts(
        self, syndrome_id: str, infos: Iterable[_RuleInfo], age: float | None, sex: str | None
    ) -> Iterator[tuple[str, CancerReason]]:
        """The extra cancer points of a syndrome's fired rules that apply to the patient: not for
        a cancer of the other sex, and within the age range of the syndrome's association with
        that cancer, if it has one."""
        restricting = self._restricting[syndrome_id]
        for info in infos:
            for cancer_id, reason in info.boosts_for(sex):
                association = restricting.get(cancer_id)
                if association is None or association.applies(age, sex):
                    yield cancer_id, reason

    def _applicable_links(
        self, syndrome_id: str, age: float | None, sex: str | None
    ) -> tuple[_LinkInfo, ...]:
        """The syndrome's associations that apply to a patient of ``age`` and ``sex``."""
        key = (
            syndrome_id,
            sex,
            tuple(a.contains(age) or age is None for a in self._link_ages[syndrome_id]),
        )
        links = self._links_memo.get(key)
        if links is None:
            links = tuple(link for link in self._links[syndrome_id] if link.applies(age, sex))
            if len(self._links_memo) >= _MEMO_LIMIT:
                self._links_memo.clear()
            self._links_memo[key] = links
        return links

    def _antibodies(self, patient: Patient) -> tuple[tuple[str, ...], int]:
        """The patient's antibodies that have a risk tier, sorted, and their best PNS-Care points."""
        points = self._antibody_points
        antibodies = tuple(sorted(f for f in patient.findings if f in points))
        return antibodies, max((points[f] for f in antibodies), default=0)

    def _pns_care_estimate(
        self,
        phenotype_risk: str,
        phenotype_rule: _RuleInfo | None,
        antibodies: tuple[tuple[str, ...], int],
    ) -> PnsCareEstimate:
        scale = self._pns_care
        assert scale is not None
        full_phenotype = (
            phenotype_rule is not None and phenotype_rule.weight >= FULL_PHENOTYPE_WEIGHT
        )
        phenotype_points = scale.phenotype[phenotype_risk] if full_phenotype else 0
        antibody_ids, antibody_points = antibodies
        before = phenotype_points + antibody_points
        found = before + scale.cancer_found
        not_yet = before + scale.cancer_not_found_under_2_years
        return PnsCareEstimate(
            phenotype_risk=phenotype_risk,
            phenotype_points=phenotype_points,
            antibody_points=antibody_points,
            antibodies=antibody_ids,
            points_before_screening=before,
            if_consistent_cancer_found=found,
            level_if_consistent_cancer_found=scale.level(found),
            if_no_cancer_found_yet=not_yet,
            level_if_no_cancer_found_yet=scale.level(not_yet),
            citation=scale.citation,
        )

    def _look_for(
        self, patient: Patient, syndrome_id: str, fired: list[_RuleInfo]
    ) -> tuple[FindingSuggestion, ...]:
        """What to look for next, memoised on everything it depends on (see _compute_look_for)."""
        inputs = self._look_for_inputs.get(syndrome_id)
        if inputs is None:
            return ()
        findings, ages, has_sex = inputs
        age = patient.age
        key = (
            syndrome_id,
            tuple(info.id for info in fired),
            patient.findings & findings,
            tuple(a.contains(age) for a in ages),
            patient.sex if has_sex else None,
        )
        memo = self._look_for_memo
        result = memo.get(key)
        if result is None:
            result = self._compute_look_for(patient, syndrome_id, fired)
            if len(memo) >= _MEMO_LIMIT:
                memo.clear()
            memo[key] = result
        return result

    def _compute_look_for(
        self, patient: Patient, syndrome_id: str, fired: list[_RuleInfo]
    ) -> tuple[FindingSuggestion, ...]:
        """Findings of the syndrome's rules that did not fire (and whose age and sex conditions
        the patient meets) that are absent, by the weight of the rule they would help complete.

        It reads only the syndrome's fired rules, the patient's findings among those its rules
        name, whether the patient's age lies in each of its rules' age ranges, and the patient's
        sex if a rule asks for one: the key :meth:`_look_for` memoises it on.
        """
        present = patient.findings
        age = patient.age
        sex = patient.sex
        weights: dict[str, int] = {}
        sources: dict[str, list[str]] = {}
        for info in self._by_syndrome.get(syndrome_id, ()):
            if info in fired:
                continue
            if info.age is not None and not info.age.contains(age):
                continue
            if info.sex is not None and info.sex != sex:
                continue
            weight = info.weight
            for finding_id in info.findings - present:
                if weight > weights.get(finding_id, 0):
                    weights[finding_id] = weight
                rule_ids = sources.get(finding_id)
                if rule_ids is None:
                    sources[finding_id] = [info.id]
                else:
                    rule_ids.append(info.id)
        if not weights:
            return ()
        label_keys = self._label_keys
        ordered = sorted(weights, key=lambda f: (-weights[f], label_keys[f], f))
        labels = self._labels
        kinds = self._kinds
        return tuple(
            FindingSuggestion(
                id=f,
                label=labels[f],
                kind=kinds[f],
                weight=weights[f],
                rules=tuple(sources[f]),
            )
            for f in ordered
        )

    def _cancers(
        self,
        age: float | None,
        sex: str | None,
        syndromes: list[SyndromeCandidate],
        by_syndrome: dict[str, list[_RuleInfo]],
    ) -> tuple[CancerCandidate, ...]:
        reasons: dict[str, list[CancerReason]] = {}
        for candidate in syndromes:
            score = candidate.score
            for link in self._applicable_links(candidate.id, age, sex):
                reason = link.reason(score)
                found = reasons.get(link.cancer)
                if found is None:
                    reasons[link.cancer] = [reason]
                else:
                    found.append(reason)
            for cancer_id, reason in self._applicable_boosts(
                candidate.id, by_syndrome[candidate.id], age, sex
            ):
                found = reasons.get(cancer_id)
                if found is None:
                    reasons[cancer_id] = [reason]
                else:
                    found.append(reason)
        cancers = self._kb.cancers
        syndrome_ranks = {candidate.id: n for n, candidate in enumerate(syndromes)}
        ranked = []
        for cancer_id, cancer_reasons in reasons.items():
            cancer = cancers[cancer_id]
            support, best = best_support(cancer_reasons)
            score = cancer.scaled(support, sex)
            rare = cancer.rare_for(sex)
            if len(cancer_reasons) > 1:
                cancer_reasons.sort(key=_reason_order)
            key = (-score, syndrome_ranks[best], self._position(best, cancer_id), cancer_id)
            ranked.append(
                (
                    key,
                    CancerCandidate(
                        id=cancer.id,
                        name=cancer.name,
                        score=score,
                        level=self.level(score),
                        reasons=tuple(cancer_reasons),
                        screening=cancer.screening,
                        note=None if rare is None else rare.describe(),
                    ),
                )
            )
        if len(ranked) > 1:
            ranked.sort(key=_first)
        return tuple(candidate for _, candidate in ranked)

    def _position(self, syndrome_id: str, cancer_id: str) -> int:
        """Where ``cancer_id`` first stands in the syndrome's associations (after them all when
        only a rule's extra points name it): the order of cancers of equal score."""
        positions = self._positions[syndrome_id]
        return positions.get(cancer_id, len(positions))

    def _categories(self, syndromes: list[SyndromeCandidate]) -> tuple[CategoryCandidate, ...]:
        members: dict[str, list[str]] = {}
        best: dict[str, float] = {}
        for candidate in syndromes:
            group = members.get(candidate.category)
            if group is None:
                members[candidate.category] = [candidate.id]
                best[candidate.category] = candidate.score
            else:
                group.append(candidate.id)
        categories = [
            CategoryCandidate(
                name=name,
                score=best[name],
                level=self.level(best[name]),
                syndromes=tuple(group),
            )
            for name, group in members.items()
        ]
        if len(categories) > 1:
            categories.sort(key=_score_then_name)
        return tuple(categories)


def _score_then_id(
    candidate: SyndromeCandidate | CancerCandidate | RankedSyndrome | RankedCancer,
) -> tuple[float, str]:
    return (-candidate.score, candidate.id)


def _first_positions(links: Iterable[CancerLink]) -> dict[str, int]:
    positions: dict[str, int] = {}
    for position, link in enumerate(links):
        positions.setdefault(link.cancer, position)
    return positions


def _first(pair: tuple[tuple[float, int, int, str], object]) -> tuple[float, int, int, str]:
    return pair[0]


def _score_then_name(candidate: CategoryCandidate | RankedCategory) -> tuple[float, str]:
    return (-candidate.score, candidate.name)


def _weight_then_id(info: _RuleInfo) -> tuple[int, str]:
    return (-info.weight, info.id)


def _reason_order(reason: CancerReason) -> tuple[float, str, str]:
    return (-reason.points, reason.syndrome, reason.rule or "")


def _given_terms(patient: Patient) -> dict[str, tuple[str, ...]]:
    given: dict[str, list[str]] = {}
    for recognized in patient.recognized:
        for finding_id in recognized.counts_as:
            terms = given.get(finding_id)
            if terms is None:
                given[finding_id] = [recognized.given]
            else:
                terms.append(recognized.given)
    return {k: tuple(v) for k, v in given.items()}


def _conditions(rule: Rule) -> tuple[str, ...]:
    conditions = []
    if rule.age is not None:
        conditions.append(rule.age.describe())
    if rule.sex is not None:
        conditions.append(f"sex {rule.sex}")
    return tuple(conditions)


_scorers: dict[int, Scorer] = {}
_scorers_lock = threading.Lock()


def _scorer_for(kb: KnowledgeBase) -> Scorer:
    scorer = _scorers.get(id(kb))
    if scorer is None or scorer.knowledge_base is not kb:
        scorer = Scorer(kb)
        with _scorers_lock:
            if len(_scorers) >= 8:
                _scorers.clear()
            _scorers[id(kb)] = scorer
    return scorer


def rank(kb: KnowledgeBase, patient: Patient, fired: Iterable[str]) -> Differential:
    """The differential for ``patient`` given the ids of the rules that fired.

    Engines keep a :class:`Scorer` per rule base; this function reuses one for the last few rule
    bases it was given.
    """
    return _scorer_for(kb).rank(patient, fired)


def cancer_score(reasons: Iterable[CancerReason]) -> float:
    """A cancer's score: the support of its best syndrome (association plus that syndrome's rules).

    Syndromes in a differential are alternative explanations of one patient, so their support is
    not added up: an antibody that several syndromes share must not count once per syndrome.
    """
    listed = list(reasons)
    return best_support(listed)[0] if listed else 0.0


def best_support(reasons: Iterable[CancerReason]) -> tuple[float, str]:
    """A cancer's score (as :func:`cancer_score`) and its best syndrome: the first, in the order
    of ``reasons``, whose support gives that score.

    ``reasons`` must not be empty.
    """
    per_syndrome: dict[str, float] = {}
    for reason in reasons:
        per_syndrome[reason.syndrome] = per_syndrome.get(reason.syndrome, 0.0) + reason.points
    best = ""
    score = -1.0
    for syndrome, value in per_syndrome.items():
        value = round(value, 2)
        if value > score:
            best, score = syndrome, value
    return score, best
