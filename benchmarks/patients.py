"""Realistic, seeded patients generated from a rule base, for benchmarks and cohort files.

A patient is built the way cases reach the engine: one or two syndromes' rules partly or fully
met, antibodies passed separately, findings that no rule uses (and more specific HPO terms that
count as a rule's finding), each named as a clinician might type it (label, synonym or HPO id, in
any case), with an age and sex that usually meet the rule's conditions. Some patients have only
findings that no rule uses. The same seed always gives the same patients.
"""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pns_rules.knowledge import KnowledgeBase, Rule

__all__ = ["PatientGenerator", "write_cohort"]


class PatientGenerator:
    """Keyword arguments of ``suggest`` for realistic patients of one rule base."""

    def __init__(self, kb: KnowledgeBase, seed: int = 0) -> None:
        self._kb = kb
        self._random = random.Random(seed)
        self._rules: list[Rule] = [kb.rules[r] for r in sorted(kb.rules)]
        used = {f for rule in self._rules for f in rule.findings}
        self._unused = sorted(set(kb.findings) - used)
        #: names a user may type for each vocabulary finding: id, label, synonyms
        self._names: dict[str, list[str]] = {
            f.id: [f.id, f.label, *f.synonyms] for f in kb.findings.values()
        }
        #: HPO terms from the precomputed map that count as some vocabulary finding
        self._specific: dict[str, list[str]] = {}
        for term in sorted(kb.terms.values(), key=lambda t: t.id):
            if term.id not in kb.findings and len(term.maps_to) == 1:
                (target,) = term.maps_to
                self._specific.setdefault(target, []).append(term.id)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        while True:
            yield self.patient()

    def patient(self) -> dict[str, Any]:
        """One patient: ``findings``, ``antibodies``, ``age`` and ``sex``."""
        rng = self._random
        chosen: list[str] = []
        rule: Rule | None = None
        if rng.random() < 0.9:
            for _ in range(1 if rng.random() < 0.75 else 2):
                rule = rng.choice(self._rules)
                chosen.extend(self._meet(rule))
        if self._unused:
            chosen.extend(rng.sample(self._unused, min(len(self._unused), rng.randint(0, 3))))
        chosen = list(dict.fromkeys(chosen))
        findings: list[str] = []
        antibodies: list[str] = []
        for finding_id in chosen:
            kind = self._kb.findings[finding_id].kind
            name = self._name(finding_id)
            if kind == "antibody" and rng.random() < 0.8:
                antibodies.append(name)
            else:
                findings.append(name)
        return {
            "findings": findings,
            "antibodies": antibodies,
            "age": self._age(rule),
            "sex": self._sex(rule),
        }

    def _meet(self, rule: Rule) -> list[str]:
        """Findings that meet ``rule`` (sometimes one short of it)."""
        rng = self._random
        findings = list(rule.all_of)
        if rule.any_of:
            findings.append(rng.choice(rule.any_of))
        if rule.at_least_of:
            findings.extend(rng.sample(rule.at_least_of, rule.at_least))
        if len(findings) > 1 and rng.random() < 0.2:
            findings.pop(rng.randrange(len(findings)))
        return findings

    def _name(self, finding_id: str) -> str:
        rng = self._random
        specific = self._specific.get(finding_id)
        if specific and rng.random() < 0.1:
            return rng.choice(specific)
        name = rng.choice(self._names[finding_id])
        roll = rng.random()
        if roll < 0.2:
            return name.lower()
        if roll < 0.25:
            return name.upper()
        if roll < 0.3:
            return f" {name} "
        return name

    def _age(self, rule: Rule | None) -> float | None:
        rng = self._random
        if rng.random() < 0.08:
            return None
        if rule is not None and rule.age is not None and rng.random() < 0.85:
            low = rule.age.min if rule.age.min is not None else 0.0
            high = min(rule.age.upper, 100.0)
            return float(rng.randrange(int(low), max(int(low) + 1, int(high))))
        return float(rng.choice([rng.randint(0, 17), rng.randint(18, 95), rng.randint(40, 85)]))

    def _sex(self, rule: Rule | None) -> str | None:
        rng = self._random
        if rng.random() < 0.08:
            return None
        if rule is not None and rule.sex is not None and rng.random() < 0.85:
            return rule.sex
        return rng.choice(["female", "male"])


def write_cohort(path: Path, kb: KnowledgeBase, count: int, seed: int = 0) -> None:
    """Write ``count`` generated patients to ``path`` (``.csv`` or ``.jsonl``), ids ``p1``...

    CSV columns are ``id, age, sex, findings, antibodies``, with findings and antibodies separated
    by ``;`` (see docs/batch.md).
    """
    patients = PatientGenerator(kb, seed)
    with path.open("w", encoding="utf-8", newline="") as out:
        if path.suffix == ".csv":
            writer = csv.writer(out)
            writer.writerow(["id", "age", "sex", "findings", "antibodies"])
            for number, patient in zip(range(1, count + 1), patients, strict=False):
                age = patient["age"]
                writer.writerow(
                    [
                        f"p{number}",
                        "" if age is None else f"{age:g}",
                        patient["sex"] or "",
                        ";".join(patient["findings"]),
                        ";".join(patient["antibodies"]),
                    ]
                )
        else:
            for number, patient in zip(range(1, count + 1), patients, strict=False):
                out.write(json.dumps({"id": f"p{number}", **patient}) + "\n")
