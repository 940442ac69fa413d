"""The result of :func:`pns_rules.suggest`: a ranked, explained differential.

All classes are frozen attrs classes; :meth:`Differential.to_dict` gives JSON-ready data.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

import attrs

from .knowledge import Screening

__all__ = [
    "NOTICE",
    "CancerCandidate",
    "CancerReason",
    "CategoryCandidate",
    "Differential",
    "FindingSuggestion",
    "MatchedFinding",
    "PnsCareEstimate",
    "RankedCancer",
    "RankedCategory",
    "RankedSyndrome",
    "Ranking",
    "RecognizedFinding",
    "RuleBaseInfo",
    "RuleEvidence",
    "SyndromeCandidate",
    "UnrecognizedFinding",
]

#: Shown with every result: pns-rules supports a clinician's judgement, it does not diagnose.
NOTICE = (
    "Decision support, not a diagnosis: these are candidates for a clinician to consider, ranked by "
    "published associations. They do not establish or exclude any syndrome or cancer."
)


#: ``RecognizedFinding.note`` of a known term read from free text.
READ_FROM_TEXT = "read from free text, which names it with no negation or doubt"


@attrs.frozen
class RecognizedFinding:
    """An input term and the vocabulary findings it counts as.

    Free text that names known terms gives one entry per term, each with the text as ``given``
    and :data:`READ_FROM_TEXT` as ``note``.
    """

    given: str
    id: str
    label: str
    counts_as: tuple[str, ...]
    note: str = ""


@attrs.frozen
class UnrecognizedFinding:
    """An input term that is not in the vocabulary, with known terms it may mean.

    ``suggestions`` lists, up to five, the known terms whose words appear in the text (longest
    first), then the closest spellings. Free text naming known terms is unrecognised only when it
    holds a negation or a doubt ("no ataxia", "possible Sweet syndrome"; ``reason`` says which
    word) or when it was not read (``read_text=False``): its suggestions are then never read as
    findings.
    """

    given: str
    suggestions: tuple[str, ...]
    reason: str = "not in the vocabulary"


@attrs.frozen
class MatchedFinding:
    """A rule's finding, and which given terms satisfied it."""

    id: str
    label: str
    given: tuple[str, ...]


@attrs.frozen
class RuleEvidence:
    """A rule that fired: what it matched, how much it added, and its source."""

    rule: str
    description: str
    item: str
    weight: int
    counted: bool
    matched: tuple[MatchedFinding, ...]
    conditions: tuple[str, ...]
    citation: str


@attrs.frozen
class FindingSuggestion:
    """A finding that is absent but would strengthen a candidate (what to look for next)."""

    id: str
    label: str
    kind: str
    weight: int
    rules: tuple[str, ...]


@attrs.frozen
class PnsCareEstimate:
    """The PNS-Care score items that the inputs allow (Graus et al. 2021).

    The cancer item is unknown before screening, so the total is given both ways: if a cancer
    consistent with the phenotype and antibody is found, and if none is found within the first
    two years of follow-up.
    """

    phenotype_risk: str
    phenotype_points: int
    antibody_points: int
    antibodies: tuple[str, ...]
    points_before_screening: int
    if_consistent_cancer_found: int
    level_if_consistent_cancer_found: str
    if_no_cancer_found_yet: int
    level_if_no_cancer_found_yet: str
    citation: str
    caveat: str = (
        "The PNS-Care cancer item is unknown before screening: these totals show what the score "
        "would be with and without a consistent cancer. The phenotype item counts only when the "
        "full phenotype rule fired."
    )


@attrs.frozen
class SyndromeCandidate:
    """A candidate paraneoplastic syndrome."""

    id: str
    name: str
    category: str
    score: float
    level: str
    evidence: tuple[RuleEvidence, ...]
    cancers: tuple[str, ...]
    look_for: tuple[FindingSuggestion, ...]
    citations: tuple[str, ...]
    pns_care: PnsCareEstimate | None = None


@attrs.frozen
class CategoryCandidate:
    """A paraneoplastic category, scored by its best syndrome."""

    name: str
    score: float
    level: str
    syndromes: tuple[str, ...]


@attrs.frozen
class CancerReason:
    """One reason a cancer is suggested: a syndrome association or a rule's extra points."""

    syndrome: str
    points: float
    citation: str
    strength: str | None = None
    rule: str | None = None

    def describe(self) -> str:
        """A short human explanation."""
        if self.rule is not None:
            return f"rule {self.rule} (+{self.points:g})"
        return f"{self.strength} association with {self.syndrome} (+{self.points:g})"


@attrs.frozen
class CancerCandidate:
    """A cancer to screen for, why, and how.

    ``score`` is the support of its best syndrome (see docs/scoring.md); for a cancer much rarer in
    the patient's sex (breast cancer in a man) it is multiplied by the cited factor, and ``note``
    says so (otherwise ``None``).
    """

    id: str
    name: str
    score: float
    level: str
    reasons: tuple[CancerReason, ...]
    screening: Screening
    note: str | None = None


@attrs.frozen
class RuleBaseInfo:
    """Which rule base produced a result."""

    name: str
    version: str
    hpo_release: str | None


@attrs.frozen
class Differential:
    """A ranked, explained paraneoplastic differential for one patient.

    Every candidate list is ordered by score (highest first), ties broken by id; cancers of equal
    score follow their best syndrome's rank and then the order of its associations in the rule
    files (docs/scoring.md). ``notice`` says what the result is and is not.
    """

    categories: tuple[CategoryCandidate, ...]
    syndromes: tuple[SyndromeCandidate, ...]
    cancers: tuple[CancerCandidate, ...]
    findings: tuple[RecognizedFinding, ...]
    unrecognized: tuple[UnrecognizedFinding, ...]
    age: float | None
    sex: str | None
    rule_base: RuleBaseInfo
    notes: tuple[str, ...] = ()
    notice: str = NOTICE

    @property
    def fired_rules(self) -> tuple[str, ...]:
        """The ids of every rule that fired, sorted."""
        return tuple(sorted({e.rule for s in self.syndromes for e in s.evidence}))

    @property
    def top_level(self) -> str | None:
        """The highest level reached by any syndrome, or ``None`` for an empty differential."""
        return _top_level(self.syndromes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data, including the rule base name and version and the notice."""
        return attrs.asdict(self, recurse=True)


class RankedCategory(NamedTuple):
    """A category in a :class:`Ranking`."""

    name: str
    score: float
    level: str


class RankedSyndrome(NamedTuple):
    """A syndrome in a :class:`Ranking`."""

    id: str
    name: str
    category: str
    score: float
    level: str


class RankedCancer(NamedTuple):
    """A cancer in a :class:`Ranking`."""

    id: str
    name: str
    score: float
    level: str


class Ranking(NamedTuple):
    """What :meth:`pns_rules.Engine.ranking` gives: the ranked candidates of a
    :class:`Differential` (same scores, levels and order) without their explanations, for
    cohorts. Decision support, not a diagnosis: ``notice`` says so, as on a
    :class:`Differential`."""

    categories: tuple[RankedCategory, ...]
    syndromes: tuple[RankedSyndrome, ...]
    cancers: tuple[RankedCancer, ...]
    unrecognized: tuple[UnrecognizedFinding, ...]
    rule_base: RuleBaseInfo

    @property
    def notice(self) -> str:
        """What the result is and is not (:data:`NOTICE`, as :attr:`Differential.notice`)."""
        return NOTICE

    @property
    def top_level(self) -> str | None:
        """The highest level reached by any syndrome (as :attr:`Differential.top_level`)."""
        return _top_level(self.syndromes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data, shaped as :meth:`Differential.to_dict` for the fields both have:
        ``categories``, ``syndromes``, ``cancers`` and ``unrecognized`` (tuples of dicts),
        ``rule_base`` (its name, version and HPO release) and ``notice``."""
        return {
            "categories": tuple(category._asdict() for category in self.categories),
            "syndromes": tuple(syndrome._asdict() for syndrome in self.syndromes),
            "cancers": tuple(cancer._asdict() for cancer in self.cancers),
            "unrecognized": tuple(attrs.asdict(unknown) for unknown in self.unrecognized),
            "rule_base": attrs.asdict(self.rule_base),
            "notice": NOTICE,
        }


def _top_level(syndromes: Iterable[SyndromeCandidate | RankedSyndrome]) -> str | None:
    levels = {s.level for s in syndromes}
    return next((level for level in ("high", "intermediate", "low") if level in levels), None)
