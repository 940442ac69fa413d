"""Consistency checks on a rule directory, beyond what loading validates (``pns-rules check``).

Loading (:mod:`pns_rules.loader`) validates each entry: schema, references, duplicate ids,
citations, empty age ranges. This module reasons about the rules *together*, exactly on their
structure (``all``, ``any``, ``at_least``, ``age``, ``sex``):

- rules that can never fire, cancer points that can never apply or contradict the syndrome's own
  age-restricted association, associations no rule of the syndrome can ever make apply;
- duplicate rules (equivalent conditions, same effect), conflicting rules (equivalent conditions,
  same syndrome and item, different effect), redundant rules (one's conditions imply another's,
  same effect) and rules whose weight never counts;
- orphans: findings no rule uses, syndromes no rule reaches, cancers nothing points to.

Every problem is a :class:`~pns_rules.loader.Problem` with the file and line of the entry it is
about; codes starting with ``E`` are errors, ``W`` warnings (the table is :data:`CODES`, documented
in docs/curating.md).

Implication is decided exactly. A patient's ages are the multiples of 0.0001 years from 0 to 120
(:func:`pns_rules.patient.check_age` rounds to 4 decimals), so an age condition is an interval of
those; findings are independent, so the fewest findings of a set ``X`` a rule's conditions force is
found by choosing every finding outside ``X`` first (see :func:`implies`).
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs

from .errors import InputError, RuleFileError
from .knowledge import AgeRange, CancerLink, KnowledgeBase, Rule
from .loader import Problem, inspect_rule_directory
from .patient import AGE_DECIMALS, MAX_AGE, check_flag, is_instance
from .vocabulary import normalize_term

__all__ = ["CODES", "CheckReport", "check_knowledge_base", "check_rule_directory", "implies"]

#: Every code ``pns-rules check`` adds to the loader's, with what it means.
CODES: Mapping[str, str] = {
    "E023": "two findings have the same SNOMED CT code: FHIR input coded with it counts as both",
    "E042": "a rule can never fire: its age range holds no age a patient can have",
    "E061": "a rule's cancer points can never apply: the rule's sex excludes the cancer's",
    "E062": "a rule's cancer points contradict its syndrome's age-restricted association",
    "E063": "a syndrome-cancer association can never apply: no rule of the syndrome fires for a "
    "patient of that cancer's age range and sex",
    "E070": "duplicate rule: equivalent conditions and the same effect as another rule",
    "E071": "conflicting rules: equivalent conditions, same syndrome and item, different effects",
    "W070": "redundant rule: whenever it fires, another rule with the same effect fires too",
    "W072": "a rule's weight never counts: whenever it fires, a heavier rule of the same syndrome "
    "and item fires too",
    "W073": "an `at_least` list names a finding and a more general finding it counts as (an HPO "
    "ancestor): one given finding counts twice towards n",
    "W074": "a syndrome lists a cancer after one of weaker strength: links are listed strongest "
    "first, and within a strength their order breaks ties between the cancers' scores",
    "W080": "a finding no rule uses",
    "W081": "a syndrome no rule reaches",
    "W082": "a cancer no syndrome names and no rule gives points to",
}

_SCALE: int = 10**AGE_DECIMALS
_LAST_AGE = MAX_AGE * _SCALE

Location = tuple[str, int | None]


@attrs.frozen
class CheckReport:
    """Everything ``pns-rules check`` found in one rule directory."""

    directory: str
    #: Every problem, loader's and consistency checks', ordered by file, line and code.
    problems: tuple[Problem, ...]
    #: ``name`` and ``version`` from the manifest, when it could be read.
    rule_base: tuple[str, str] | None = None

    @property
    def errors(self) -> tuple[Problem, ...]:
        """The problems of severity ``"error"``."""
        return tuple(p for p in self.problems if p.severity == "error")

    @property
    def warnings(self) -> tuple[Problem, ...]:
        """The problems of severity ``"warning"``."""
        return tuple(p for p in self.problems if p.severity == "warning")

    def ok(self, *, strict: bool = False) -> bool:
        """No errors (and, with ``strict``, no warnings either).

        Raises :class:`~pns_rules.errors.InputError` when ``strict`` is not ``True`` or ``False``.
        """
        return not (self.problems if _strict(strict) else self.errors)

    def to_dict(self, *, strict: bool = False) -> dict[str, Any]:
        """A JSON-ready dict (``pns-rules check --format json``); ``strict`` as for :meth:`ok`."""
        _strict(strict)
        return {
            "directory": self.directory,
            "rule_base": None
            if self.rule_base is None
            else {"name": self.rule_base[0], "version": self.rule_base[1]},
            "ok": self.ok(strict=strict),
            "strict": strict,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "problems": [
                {
                    "path": p.path,
                    "line": p.line,
                    "entry": p.entry,
                    "code": p.code,
                    "severity": p.severity,
                    "message": p.message,
                }
                for p in self.problems
            ],
        }


def _strict(strict: object) -> bool:
    """``strict`` itself; :class:`InputError` unless it is ``True`` or ``False`` (a truthy
    ``"no"`` must not count warnings as errors)."""
    return check_flag("strict", strict)


def check_rule_directory(directory: str | os.PathLike[str]) -> CheckReport:
    """Load ``directory`` and run every check on it, without raising for what it finds.

    The loader's problems are always reported. The rule checks then run on every entry that is
    valid on its own; orphans are reported only when the directory loads without errors (an entry
    that failed to load would make what it names look unused).
    """
    load = inspect_rule_directory(directory)
    problems = list(load.problems)
    kb = load.knowledge_base
    if kb is not None:
        problems.extend(check_knowledge_base(kb, load.locations, orphans=not any(load.problems)))
        problems.extend(_hpo_term_index(kb))
    return CheckReport(
        directory=str(directory),
        problems=tuple(sorted(problems, key=_order)),
        rule_base=None if kb is None else (kb.name, kb.version),
    )


def _hpo_term_index(kb: KnowledgeBase) -> list[Problem]:
    """Read the HPO term index now (suggest reads it on first use) and report it if unusable."""
    if kb.hpo_terms is None:
        return []
    try:
        kb.hpo_terms.load()
    except RuleFileError as exc:
        return [Problem(exc.path, exc.line, exc.entry, exc.code or "E052", exc.detail)]
    return []


def check_knowledge_base(
    kb: KnowledgeBase,
    locations: Mapping[tuple[str, str], Location] | None = None,
    *,
    orphans: bool = True,
) -> list[Problem]:
    """The consistency problems of a loaded rule base (see :data:`CODES`).

    ``locations`` maps ``(kind, id)`` to the file and line of the entry, as
    :func:`~pns_rules.loader.inspect_rule_directory` reports them; without it, problems name the
    rule directory and no line.

    Raises :class:`~pns_rules.errors.InputError` when ``kb`` is not a
    :class:`~pns_rules.knowledge.KnowledgeBase`, ``locations`` not a mapping or ``None``, or
    ``orphans`` not ``True`` or ``False``.
    """
    if not is_instance(kb, KnowledgeBase):
        raise InputError(
            "kb", kb, "a KnowledgeBase, such as load_rule_directory(path) or Engine.knowledge_base"
        )
    if locations is not None and not is_instance(locations, Mapping):
        raise InputError(
            "locations",
            locations,
            "None, or a mapping of (kind, id) to (file, line), as inspect_rule_directory reports it",
        )
    check_flag("orphans", orphans)
    known = locations or {}

    def where(kind: str, entry_id: str) -> Location:
        return known.get((kind, entry_id), (kb.directory, None))

    checker = _Checker(kb, where)
    checker.snomed_codes()
    checker.rules()
    checker.associations()
    checker.link_order()
    checker.pairs()
    if orphans:
        checker.orphans()
    return checker.problems


def _order(problem: Problem) -> tuple[str, int, str, str]:
    return (problem.path, problem.line or 0, problem.code, problem.entry or "")


# -- conditions as structure -------------------------------------------------------------------
@attrs.frozen
class _Conditions:
    """A rule's conditions: findings ``every``, at least ``n`` of each ``(n, of)`` threshold, an
    age grid interval (``None``: no age condition, so it also fires when the age is unknown) and a
    sex."""

    every: frozenset[str]
    thresholds: tuple[tuple[int, frozenset[str]], ...]
    ages: tuple[int, int] | None
    sex: str | None


def _conditions(rule: Rule) -> _Conditions:
    thresholds = []
    if rule.any_of:
        thresholds.append((1, frozenset(rule.any_of)))
    if rule.at_least_of:
        thresholds.append((rule.at_least, frozenset(rule.at_least_of)))
    return _Conditions(
        every=frozenset(rule.all_of),
        thresholds=tuple(thresholds),
        ages=None if rule.age is None else _age_grid(rule.age),
        sex=rule.sex,
    )


def _age_value(step: int) -> float:
    return round(step / _SCALE, AGE_DECIMALS)


def _age_grid(age: AgeRange) -> tuple[int, int]:
    """The ages of ``age`` as steps of 0.0001 years ``(first, last)``; empty when first > last."""
    first = 0
    if age.min is not None:
        first = max(0, math.ceil(age.min * _SCALE))
        while first > 0 and _age_value(first - 1) >= age.min:
            first -= 1
        while _age_value(first) < age.min:
            first += 1
    last = _LAST_AGE
    if age.below is not None:
        last = min(_LAST_AGE, math.ceil(age.below * _SCALE))
        while last < _LAST_AGE and _age_value(last + 1) < age.below:
            last += 1
        while last >= 0 and _age_value(last) >= age.below:
            last -= 1
    return first, last


def _fewest(conditions: _Conditions, among: frozenset[str]) -> int:
    """The fewest findings of ``among`` present in a patient the finding conditions hold for.

    Findings outside ``among`` cost nothing, so they are all taken first; what the thresholds
    still need then comes from ``among``, a finding counting for both thresholds where it can.
    """
    forced = len(conditions.every & among)
    needs = []
    for n, pool in conditions.thresholds:
        candidates = pool - conditions.every
        missing = max(0, n - len(pool & conditions.every))
        needs.append((max(0, missing - len(candidates - among)), candidates & among))
    if not needs:
        return forced
    if len(needs) == 1:
        return forced + needs[0][0]
    (need_a, pool_a), (need_b, pool_b) = needs
    shared = pool_a & pool_b
    only_a, only_b = len(pool_a - shared), len(pool_b - shared)
    costs = [
        both + max(0, need_a - both) + max(0, need_b - both)
        for both in range(len(shared) + 1)
        if max(0, need_a - both) <= only_a and max(0, need_b - both) <= only_b
    ]
    # A rule that can fire always has a way to meet both thresholds.
    return forced + min(costs, default=len(pool_a | pool_b))


def _implies(a: _Conditions, b: _Conditions) -> bool:
    if not _fires_ever(a):
        return True  # vacuously: it fires for nobody
    if b.sex is not None and a.sex != b.sex:
        return False
    if b.ages is not None:
        if a.ages is None:
            return False
        if not (b.ages[0] <= a.ages[0] and a.ages[1] <= b.ages[1]):
            return False
    if b.every and _fewest(a, b.every) < len(b.every):
        return False
    return all(_fewest(a, pool) >= n for n, pool in b.thresholds)


def implies(a: Rule, b: Rule) -> bool:
    """Whether every patient ``a`` fires for also fires ``b`` (on conditions alone: findings, age,
    sex), decided exactly from the rules' structure.

    Raises :class:`~pns_rules.errors.InputError` when ``a`` or ``b`` is not a
    :class:`~pns_rules.knowledge.Rule`.
    """
    for parameter, rule in (("a", a), ("b", b)):
        if not is_instance(rule, Rule):
            raise InputError(
                parameter, rule, "a Rule of a loaded rule base, such as kb.rules['rule-id']"
            )
    return _implies(_conditions(a), _conditions(b))


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return max(a[0], b[0]) <= min(a[1], b[1])


def _fires_ever(conditions: _Conditions) -> bool:
    return conditions.ages is None or conditions.ages[0] <= conditions.ages[1]


# -- the checks -------------------------------------------------------------------------------
class _Checker:
    def __init__(self, kb: KnowledgeBase, where: Callable[[str, str], Location]) -> None:
        self.kb = kb
        self.where = where
        self.problems: list[Problem] = []
        self.conditions = {rule_id: _conditions(rule) for rule_id, rule in kb.rules.items()}

    def report(self, kind: str, entry_id: str, code: str, message: str) -> None:
        path, line = self.where(kind, entry_id)
        self.problems.append(Problem(path, line, entry_id, code, message))

    def at(self, kind: str, entry_id: str) -> str:
        path, line = self.where(kind, entry_id)
        name = Path(path).name
        return f"{kind} {entry_id!r} ({name}{'' if line is None else f':{line}'})"

    def snomed_codes(self) -> None:
        first: dict[str, str] = {}
        for finding in self.kb.findings.values():
            if finding.snomed is None:
                continue
            owner = first.setdefault(finding.snomed, finding.id)
            if owner != finding.id:
                self.report(
                    "finding",
                    finding.id,
                    "E023",
                    f"SNOMED CT code {finding.snomed!r} is also the code of "
                    f"{self.at('finding', owner)}: FHIR input coded with it would count as both "
                    "findings; give each finding its own code, or drop it from one",
                )

    def live_rules(self) -> Iterable[Rule]:
        return (r for r in self.kb.rules.values() if _fires_ever(self.conditions[r.id]))

    def rules(self) -> None:
        for rule in self.kb.rules.values():
            conditions = self.conditions[rule.id]
            if not _fires_ever(conditions):
                assert rule.age is not None
                self.report(
                    "rule",
                    rule.id,
                    "E042",
                    f"the rule can never fire: its {rule.age.describe()} holds no age a patient "
                    f"can have (ages are 0 to {MAX_AGE} years in steps of 0.0001)",
                )
                continue
            self._double_count(rule)
            links = {link.cancer: link for link in self.kb.syndromes[rule.syndrome].cancers}
            for cancer_id, _points in rule.cancer_boosts:
                cancer = self.kb.cancers[cancer_id]
                if rule.sex is not None and cancer.sex is not None and rule.sex != cancer.sex:
                    self.report(
                        "rule",
                        rule.id,
                        "E061",
                        f"points for {cancer_id!r} can never apply: the rule fires for "
                        f"sex = {rule.sex!r} only, and {cancer_id!r} is a cancer of sex "
                        f"{cancer.sex!r}",
                    )
                link = links.get(cancer_id)
                if link is not None and link.age is not None:
                    self._boost_age(rule, conditions, cancer_id, link)

    def _double_count(self, rule: Rule) -> None:
        if rule.at_least < 2:
            return
        listed = set(rule.at_least_of)
        for finding_id in rule.at_least_of:
            term = self.kb.terms.get(normalize_term(finding_id))
            general = sorted((term.maps_to if term is not None else frozenset()) & listed)
            for ancestor in (g for g in general if g != finding_id):
                self.report(
                    "rule",
                    rule.id,
                    "W073",
                    f"`at_least` lists {self.kb.findings[finding_id].label!r} and "
                    f"{self.kb.findings[ancestor].label!r}, which it counts as: a patient with "
                    f"only the first meets 2 of the n = {rule.at_least}; drop one of them",
                )

    def _boost_age(
        self, rule: Rule, conditions: _Conditions, cancer_id: str, link: CancerLink
    ) -> None:
        assert link.age is not None
        linked = _age_grid(link.age)
        association = (
            f"{rule.syndrome!r} is associated with {cancer_id!r} at {link.age.describe()} only"
        )
        # Points reaching beyond the association's ages are not a problem: scoring applies the
        # association's age range to them. Only points that can never apply are an error.
        if conditions.ages is not None and not _overlap(conditions.ages, linked):
            assert rule.age is not None
            self.report(
                "rule",
                rule.id,
                "E062",
                f"gives points to {cancer_id!r} at {rule.age.describe()} only, but {association}",
            )

    def associations(self) -> None:
        for syndrome in self.kb.syndromes.values():
            rules = [
                self.conditions[r]
                for r in self.kb.rules_by_syndrome.get(syndrome.id, ())
                if _fires_ever(self.conditions[r])
            ]
            if not rules:
                continue  # W081 or E042 already say why
            for link in syndrome.cancers:
                cancer = self.kb.cancers[link.cancer]
                linked = None if link.age is None else _age_grid(link.age)
                if not any(
                    (c.sex is None or cancer.sex is None or c.sex == cancer.sex)
                    and (linked is None or c.ages is None or _overlap(c.ages, linked))
                    for c in rules
                ):
                    limits = [] if link.age is None else [link.age.describe()]
                    if cancer.sex is not None:
                        limits.append(f"sex {cancer.sex!r}")
                    self.report(
                        "syndrome",
                        syndrome.id,
                        "E063",
                        f"the association with {link.cancer!r} ({' and '.join(limits)}) can "
                        "never apply: no rule of the syndrome fires for such a patient",
                    )

    def link_order(self) -> None:
        factors = self.kb.scoring.strength
        for syndrome in self.kb.syndromes.values():
            for before, link in zip(syndrome.cancers, syndrome.cancers[1:], strict=False):
                if factors[link.strength] > factors[before.strength]:
                    self.report(
                        "syndrome",
                        syndrome.id,
                        "W074",
                        f"{link.cancer!r} ({link.strength}) is listed after {before.cancer!r} "
                        f"({before.strength}): list the links strongest first, and within a "
                        "strength most frequent first (the order breaks ties)",
                    )
                    break

    def pairs(self) -> None:
        groups: dict[tuple[str, str], list[Rule]] = {}
        for rule in self.live_rules():
            groups.setdefault((rule.syndrome, rule.item), []).append(rule)
        for group in groups.values():
            group.sort(key=lambda r: (*self._place(r), r.id))
            for first, second in itertools.combinations(group, 2):
                self._pair(first, second)

    def _place(self, rule: Rule) -> tuple[str, int]:
        path, line = self.where("rule", rule.id)
        return path, line or 0

    def _pair(self, first: Rule, second: Rule) -> None:
        forward = _implies(self.conditions[first.id], self.conditions[second.id])
        backward = _implies(self.conditions[second.id], self.conditions[first.id])
        same_effect = first.weight == second.weight and first.cancer_boosts == second.cancer_boosts
        if forward and backward:
            if same_effect:
                self.report(
                    "rule",
                    second.id,
                    "E070",
                    f"duplicate of {self.at('rule', first.id)}: the same conditions and the "
                    "same effect; remove one",
                )
            else:
                self.report(
                    "rule",
                    second.id,
                    "E071",
                    f"conflicts with {self.at('rule', first.id)}: the same conditions for the "
                    f"same syndrome and item {first.item!r}, but {_difference(first, second)}; "
                    "they always fire together, so give them one effect",
                )
            return
        for narrow, broad, holds in ((first, second, forward), (second, first, backward)):
            if not holds:
                continue
            if same_effect:
                doubled = " (its cancer points are added twice)" if narrow.cancer_boosts else ""
                self.report(
                    "rule",
                    narrow.id,
                    "W070",
                    f"redundant: whenever it fires, {self.at('rule', broad.id)} fires too, with "
                    f"the same effect{doubled}; remove it or make it differ",
                )
            elif narrow.weight < broad.weight:
                self.report(
                    "rule",
                    narrow.id,
                    "W072",
                    f"its weight {narrow.weight} never counts: whenever it fires, "
                    f"{self.at('rule', broad.id)} of the same item {narrow.item!r} fires too, "
                    f"with weight {broad.weight}",
                )

    def orphans(self) -> None:
        used = {f for rule in self.kb.rules.values() for f in rule.findings}
        for finding_id in self.kb.findings:
            if finding_id not in used:
                self.report("finding", finding_id, "W080", "no rule uses this finding")
        for syndrome_id in self.kb.syndromes:
            if not self.kb.rules_by_syndrome.get(syndrome_id):
                self.report(
                    "syndrome", syndrome_id, "W081", "no rule reaches this syndrome: add a rule"
                )
        named = {link.cancer for s in self.kb.syndromes.values() for link in s.cancers}
        named |= {c for rule in self.kb.rules.values() for c, _ in rule.cancer_boosts}
        for cancer_id in self.kb.cancers:
            if cancer_id not in named:
                self.report(
                    "cancer",
                    cancer_id,
                    "W082",
                    "no syndrome is associated with this cancer and no rule gives it points",
                )


def _difference(first: Rule, second: Rule) -> str:
    parts = []
    if first.weight != second.weight:
        parts.append(f"weights {first.weight} and {second.weight}")
    if first.cancer_boosts != second.cancer_boosts:
        parts.append(
            f"cancer points {_boosts(first.cancer_boosts)} and {_boosts(second.cancer_boosts)}"
        )
    return " and ".join(parts)


def _boosts(boosts: tuple[tuple[str, float], ...]) -> str:
    return "{" + ", ".join(f"{c} = {p:g}" for c, p in boosts) + "}" if boosts else "none"
