"""The loaded rule base: findings, cancers, syndromes and rules as immutable objects.

These are built by :mod:`pns_rules.loader` from the TOML files in a rule directory; nothing here
holds clinical facts of its own.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import attrs

from .antibody_names import AntibodyNames
from .hpo_terms import HpoTermIndex
from .text_reading import TextReader

__all__ = [
    "CATEGORIES",
    "FINDING_KINDS",
    "SEXES",
    "AgeRange",
    "Cancer",
    "CancerLink",
    "Finding",
    "KnowledgeBase",
    "LabThreshold",
    "PnsCareScale",
    "RareIn",
    "Rule",
    "Scoring",
    "Screening",
    "Syndrome",
    "Term",
]

#: The five paraneoplastic categories, in the order they are documented.
CATEGORIES: tuple[str, ...] = (
    "endocrine",
    "neurological",
    "mucocutaneous",
    "hematological",
    "other",
)
#: The kinds a vocabulary finding may have.
FINDING_KINDS: tuple[str, ...] = ("symptom", "sign", "lab", "antibody", "history", "diagnosis")
#: The sexes a patient may have (``None`` means unknown).
SEXES: tuple[str, ...] = ("female", "male")


@attrs.frozen
class AgeRange:
    """Ages ``min <= age < below`` in years; either bound may be open."""

    min: float | None = None
    below: float | None = None

    def contains(self, age: float | None) -> bool:
        """Whether ``age`` lies in the range; an unknown age (``None``) never does."""
        if age is None:
            return False
        if self.min is not None and age < self.min:
            return False
        return not (self.below is not None and age >= self.below)

    def describe(self) -> str:
        """A short human phrase such as ``"age 18 to <45"``."""
        lo = "0" if self.min is None else f"{self.min:g}"
        if self.below is None:
            return f"age >= {lo}"
        return f"age {lo} to <{self.below:g}"

    @property
    def upper(self) -> float:
        """The exclusive upper bound, ``inf`` when open."""
        return math.inf if self.below is None else self.below


@attrs.frozen
class Finding:
    """A vocabulary entry: a symptom, sign, lab finding, antibody or history item."""

    id: str
    label: str
    kind: str
    synonyms: tuple[str, ...] = ()
    snomed: str | None = None
    risk: str | None = None
    citation: str | None = None
    #: other HPO terms that stand for this finding (for a ``pns:`` antibody, Anti-Yo antibody
    #: positivity, HP:5000037; for Dysarthria, Slurred speech, HP:0001350, which HPO files
    #: elsewhere); given as input, they and their HPO descendants read as this finding
    hpo: tuple[str, ...] = ()


@attrs.frozen
class LabThreshold:
    """When a measured value written in free text ("Na 118 mmol/L") counts as a lab finding.

    ``direction`` is ``"below"`` or ``"above"``; ``threshold`` is in ``unit``, per sex
    (``"female"``, ``"male"``, or ``"any"`` for both); ``units`` converts another unit to
    ``unit`` (a value in it times the factor); ``ranges`` are the values each unit takes in
    practice, used to tell the unit when the text gives none; ``names`` are the analyte's names
    as the rule file writes them. With the sex unknown, the threshold that is harder to cross applies.
    """

    id: str
    finding: str
    names: tuple[str, ...]
    direction: str
    threshold: Mapping[str, float]
    unit: str
    units: Mapping[str, float]
    ranges: Mapping[str, tuple[float, float]]
    citation: str
    description: str = ""
    #: LOINC codes of the analyte, for FHIR Observations with a ``valueQuantity``
    loinc: tuple[str, ...] = ()
    #: the ages the threshold is for; a value of a patient of another (known) age is not read
    age: AgeRange | None = None

    def threshold_for(self, sex: str | None) -> float:
        """The threshold for a patient of ``sex`` (``None``: unknown)."""
        if sex is not None and sex in self.threshold:
            return self.threshold[sex]
        if "any" in self.threshold:
            return self.threshold["any"]
        pick = min if self.direction == "below" else max
        return pick(self.threshold.values())

    def crossed(self, value: float, sex: str | None) -> bool:
        """Whether ``value`` (in :attr:`unit`) is beyond the threshold for ``sex``."""
        limit = self.threshold_for(sex)
        return value < limit if self.direction == "below" else value > limit


@attrs.frozen
class Screening:
    """How to screen for a cancer, and the source of the recommendation."""

    first_line: str
    second_line: str
    repeat: str
    citation: str


@attrs.frozen
class RareIn:
    """A cancer of both sexes that is much rarer in one of them (breast cancer in men).

    For a patient of ``sex`` the cancer's score is multiplied by ``factor`` (0 < factor < 1), so it
    stays listed but ranks by how rare it is there; ``citation`` gives the figure.
    """

    sex: str
    factor: float
    citation: str

    def describe(self) -> str:
        """A short human explanation."""
        person, people = _PEOPLE[self.sex]
        return f"score x{self.factor:g} for a {person}: much rarer in {people} [{self.citation}]"


_PEOPLE = {"female": ("woman", "women"), "male": ("man", "men")}


@attrs.frozen
class Cancer:
    """A cancer that paraneoplastic syndromes point to.

    ``sex`` is the only sex it occurs in (``None``: both); ``rare_in``, when set, says it is much
    rarer in one sex and by how much.
    """

    id: str
    name: str
    sex: str | None
    screening: Screening
    rare_in: RareIn | None = None

    def rare_for(self, sex: str | None) -> RareIn | None:
        """``rare_in`` when it applies to a patient of ``sex``, else ``None``."""
        rare = self.rare_in
        return rare if rare is not None and sex == rare.sex else None

    def scaled(self, score: float, sex: str | None) -> float:
        """``score`` (its best syndrome's support) for a patient of ``sex``: multiplied by the
        ``rare_in`` factor where it applies, to 4 places so that it never rounds to 0."""
        rare = self.rare_for(sex)
        return score if rare is None else round(score * rare.factor, 4)


@attrs.frozen
class CancerLink:
    """A cited association between a syndrome and a cancer."""

    cancer: str
    strength: str
    citation: str
    age: AgeRange | None = None


@attrs.frozen
class Syndrome:
    """A paraneoplastic syndrome, its category and the cancers associated with it."""

    id: str
    name: str
    category: str
    citations: tuple[str, ...]
    cancers: tuple[CancerLink, ...]
    description: str = ""
    #: Graus 2021 phenotype risk ("high" or "intermediate") for the PNS-Care score, if any
    pns_care_phenotype: str | None = None


@attrs.frozen
class Rule:
    """A declarative rule: when its conditions hold, it adds ``weight`` to ``syndrome``.

    Findings in ``all_of``, ``any_of`` and ``at_least_of`` are vocabulary ids.
    """

    id: str
    syndrome: str
    item: str
    weight: int
    citation: str
    all_of: tuple[str, ...] = ()
    any_of: tuple[str, ...] = ()
    at_least: int = 0
    at_least_of: tuple[str, ...] = ()
    age: AgeRange | None = None
    sex: str | None = None
    cancer_boosts: tuple[tuple[str, float], ...] = ()
    description: str = ""
    source: str = ""

    @property
    def findings(self) -> frozenset[str]:
        """Every finding id the rule mentions."""
        return frozenset(self.all_of) | frozenset(self.any_of) | frozenset(self.at_least_of)


@attrs.frozen
class Term:
    """What an input term resolves to.

    ``id`` and ``label`` name the term itself (a vocabulary finding, or a more specific HPO term
    from the precomputed HPO map); ``maps_to`` are the vocabulary findings it counts as; ``note``
    explains anything a user should know (an obsolete HPO id replaced by a current one).
    """

    id: str
    label: str
    maps_to: frozenset[str]
    note: str = ""


@attrs.frozen
class Scoring:
    """Scoring constants from ``manifest.toml`` (see docs/scoring.md)."""

    high: float
    intermediate: float
    strength: Mapping[str, float]

    def level(self, score: float) -> str:
        """The level of a score: ``"high"``, ``"intermediate"`` or ``"low"``."""
        if score >= self.high:
            return "high"
        if score >= self.intermediate:
            return "intermediate"
        return "low"


@attrs.frozen
class PnsCareScale:
    """The points and levels of the PNS-Care score (from ``manifest.toml``, ``[pns_care]``)."""

    citation: str
    phenotype: Mapping[str, int]
    antibody: Mapping[str, int]
    cancer_found: int
    cancer_not_found_under_2_years: int
    definite: int
    probable: int
    possible: int

    def level(self, total: int) -> str:
        """``"definite"``, ``"probable"``, ``"possible"`` or ``"non-PNS"``."""
        if total >= self.definite:
            return "definite"
        if total >= self.probable:
            return "probable"
        if total >= self.possible:
            return "possible"
        return "non-PNS"


@attrs.frozen
class KnowledgeBase:
    """A validated rule base, as loaded from one rule directory."""

    name: str
    version: str
    directory: str
    scoring: Scoring
    findings: Mapping[str, Finding]
    cancers: Mapping[str, Cancer]
    syndromes: Mapping[str, Syndrome]
    rules: Mapping[str, Rule]
    #: normalised input term -> what it stands for (labels, synonyms, ids, the HPO map)
    terms: Mapping[str, Term]
    hpo_release: str | None = None
    pns_care: PnsCareScale | None = None
    #: normalised id, label or synonym of a vocabulary finding -> the text as written, for
    #: "did you mean" suggestions
    suggestion_keys: Mapping[str, str] = attrs.field(factory=dict)
    #: rule ids per syndrome, in file order
    rules_by_syndrome: Mapping[str, tuple[str, ...]] = attrs.field(factory=dict)
    #: current HPO terms no rule uses (``hpo-terms.json.gz``), read on first use; ``None`` when
    #: the directory has no such file
    hpo_terms: HpoTermIndex | None = attrs.field(default=None, eq=False)
    #: finds the terms a free-text finding names ("biopsy consistent with Sweet syndrome"),
    #: indexed on first use; ``None`` reads nothing
    text_reader: TextReader | None = attrs.field(default=None, eq=False)
    #: when a measured value in free text counts as a lab finding (``[[lab]]`` entries)
    lab_thresholds: tuple[LabThreshold, ...] = ()
    #: the vocabulary's antibodies by compact name ("SOX-1", "GABA(B)R"), indexed on first use;
    #: ``None`` matches names only as the vocabulary writes them
    antibody_names: AntibodyNames | None = attrs.field(default=None, eq=False)
