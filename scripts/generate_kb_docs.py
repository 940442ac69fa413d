"""Generate docs/knowledge-base.md from the rule files.

Usage::

    python scripts/generate_kb_docs.py           # rewrite docs/knowledge-base.md
    python scripts/generate_kb_docs.py --check   # exit 1 if it is out of date

The page lists the syndromes by category with their rules and cancer associations, the vocabulary,
the cancers with their screening recommendations, and every citation with where it is used.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pns_rules.knowledge import CATEGORIES, KnowledgeBase, Rule  # noqa: E402
from pns_rules.loader import load_rule_directory  # noqa: E402

OUTPUT = ROOT / "docs" / "knowledge-base.md"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _link(citation: str) -> str:
    parts = []
    for item in citation.split("; "):
        kind, _, ref = item.partition(":")
        url = (
            f"https://pubmed.ncbi.nlm.nih.gov/{ref}/"
            if kind == "PMID"
            else f"https://doi.org/{ref}"
        )
        parts.append(f"[{item}]({url})")
    return "; ".join(parts)


def _condition(kb: KnowledgeBase, rule: Rule) -> str:
    def names(ids: tuple[str, ...]) -> str:
        return ", ".join(kb.findings[f].label for f in ids)

    parts = []
    if rule.all_of:
        parts.append(f"all of: {names(rule.all_of)}")
    if rule.any_of:
        parts.append(f"any of: {names(rule.any_of)}")
    if rule.at_least_of:
        parts.append(f"at least {rule.at_least} of: {names(rule.at_least_of)}")
    if rule.age is not None:
        parts.append(rule.age.describe())
    if rule.sex is not None:
        parts.append(f"sex {rule.sex}")
    return "; ".join(parts)


def render(kb: KnowledgeBase) -> str:
    """The Markdown page for ``kb``."""
    lines = [
        "# Knowledge base",
        "",
        "Generated from `rules/` by `python scripts/generate_kb_docs.py`; do not edit by hand "
        "(`tests/test_knowledge_base.py` fails when this page is out of date).",
        "",
        f"**{kb.name}**, version {kb.version}; HPO release {kb.hpo_release or 'none'}. "
        f"{len(kb.syndromes)} syndromes, {len(kb.rules)} rules, {len(kb.findings)} findings, "
        f"{len(kb.cancers)} cancers. Decision support, not a diagnosis.",
        "",
        "## Syndromes by category",
        "",
    ]
    rules_of: dict[str, list[Rule]] = defaultdict(list)
    for rule in kb.rules.values():
        rules_of[rule.syndrome].append(rule)
    for category in CATEGORIES:
        members = sorted(
            (s for s in kb.syndromes.values() if s.category == category), key=lambda s: s.name
        )
        lines += [f"### {category.capitalize()} ({len(members)})", ""]
        for syndrome in members:
            lines += [f"#### {syndrome.name} (`{syndrome.id}`)", ""]
            if syndrome.description:
                lines += [syndrome.description, ""]
            if syndrome.pns_care_phenotype:
                lines += [f"Graus 2021 {syndrome.pns_care_phenotype}-risk phenotype.", ""]
            lines.append(f"Sources: {'; '.join(_link(c) for c in syndrome.citations)}")
            lines.append("")
            if syndrome.cancers:
                lines += ["| cancer | strength | applies | source |", "|---|---|---|---|"]
                for link in syndrome.cancers:
                    applies = link.age.describe() if link.age else "all ages"
                    lines.append(
                        f"| {kb.cancers[link.cancer].name} | {link.strength} | {applies} | "
                        f"{_link(link.citation)} |"
                    )
                lines.append("")
            lines += ["| rule | item | points | when | extra cancer points | source |"]
            lines += ["|---|---|---|---|---|---|"]
            for rule in sorted(rules_of[syndrome.id], key=lambda r: (r.item, -r.weight, r.id)):
                boosts = ", ".join(f"{kb.cancers[c].name} +{p:g}" for c, p in rule.cancer_boosts)
                lines.append(
                    f"| `{rule.id}` | {rule.item} | {rule.weight} | {_cell(_condition(kb, rule))} | "
                    f"{boosts or '-'} | {_link(rule.citation)} |"
                )
            lines.append("")
    lines += ["## Cancers and screening", ""]
    lines += ["| cancer | sex | first line | second line | repeat | source |"]
    lines += ["|---|---|---|---|---|---|"]
    for cancer in sorted(kb.cancers.values(), key=lambda c: c.name):
        screening = cancer.screening
        sex = cancer.sex or "any"
        if cancer.rare_in is not None:
            rare = cancer.rare_in
            sex += f" (x{rare.factor:g} for {rare.sex} patients, {_link(rare.citation)})"
        lines.append(
            f"| {cancer.name} (`{cancer.id}`) | {sex} | {_cell(screening.first_line)} | "
            f"{_cell(screening.second_line)} | {_cell(screening.repeat)} | {_link(screening.citation)} |"
        )
    lines += ["", "## Findings", "", "| id | label | kind | synonyms | antibody risk |"]
    lines += ["|---|---|---|---|---|"]
    for finding in sorted(kb.findings.values(), key=lambda f: (f.kind, f.label.casefold())):
        risk = (
            f"{finding.risk} ({_link(finding.citation)})"
            if finding.risk and finding.citation
            else "-"
        )
        lines.append(
            f"| {finding.id} | {_cell(finding.label)} | {finding.kind} | "
            f"{_cell(', '.join(finding.synonyms)) or '-'} | {risk} |"
        )
    if kb.lab_thresholds:
        lines += [
            "",
            "## Lab values read from free text",
            "",
            "| finding | names | threshold | other units | source |",
            "|---|---|---|---|---|",
        ]
        for lab in kb.lab_thresholds:
            limits = ", ".join(
                f"{sex}: {value:g}" if sex != "any" else f"{value:g}"
                for sex, value in sorted(lab.threshold.items())
            )
            others = ", ".join(f"{u} (x{f:g})" for u, f in lab.units.items() if u != lab.unit)
            lines.append(
                f"| {_cell(kb.findings[lab.finding].label)} (`{lab.id}`) | "
                f"{_cell(', '.join(lab.names))} | {lab.direction} {limits} {lab.unit} | "
                f"{others or '-'} | {_link(lab.citation)} |"
            )
    used: dict[str, set[str]] = defaultdict(set)
    for syndrome in kb.syndromes.values():
        for citation in syndrome.citations:
            used[citation].add(f"syndrome {syndrome.id}")
        for link in syndrome.cancers:
            used[link.citation].add(f"association {syndrome.id}-{link.cancer}")
    for rule in kb.rules.values():
        used[rule.citation].add(f"rule {rule.id}")
    for cancer in kb.cancers.values():
        used[cancer.screening.citation].add(f"screening {cancer.id}")
        if cancer.rare_in is not None:
            used[cancer.rare_in.citation].add(
                f"rarity of {cancer.id} in {cancer.rare_in.sex} patients"
            )
    for finding in kb.findings.values():
        if finding.citation:
            used[finding.citation].add(f"finding {finding.id}")
    for lab in kb.lab_thresholds:
        used[lab.citation].add(f"lab threshold {lab.id}")
    lines += ["", "## Citations", "", "| citation | used by |", "|---|---|"]
    for citation in sorted(used):
        users = sorted(used[citation])
        shown = ", ".join(users[:6]) + (f" and {len(users) - 6} more" if len(users) > 6 else "")
        lines.append(f"| {_link(citation)} | {shown} |")
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the page is out of date")
    args = parser.parse_args(argv)
    text = render(load_rule_directory(ROOT / "rules"))
    if args.check:
        if not OUTPUT.exists() or OUTPUT.read_text() != text:
            print("docs/knowledge-base.md is out of date: run python scripts/generate_kb_docs.py")
            return 1
        return 0
    OUTPUT.write_text(text)
    print(f"wrote {OUTPUT} ({len(text):,} characters)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
