"""Measure the shipped rules on published case vignettes and write docs/validation.md.

Usage::

    python scripts/validate_vignettes.py            # prints the figures and rewrites docs/validation.md
    python scripts/validate_vignettes.py --check    # exits 1 if docs/validation.md is out of date

Each case in ``tests/data/vignettes*.toml`` comes from a published case report (its PMID or DOI
is in the file) with the findings, antibodies, age and sex reported before the cancer was found,
and the category and cancer that were found. Negative controls are young adults with nonspecific
findings. Both sets were collected independently of the rule files, by collectors who never saw
them; set 2 was collected later and first measured before the rules were extended (see
docs/validation.md).
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import attrs

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pns_rules import Differential, Engine  # noqa: E402

VIGNETTE_SETS = {
    "set 1": ROOT / "tests" / "data" / "vignettes.toml",
    "set 2": ROOT / "tests" / "data" / "vignettes-2.toml",
    "set 3": ROOT / "tests" / "data" / "vignettes-3.toml",
    "set 4": ROOT / "tests" / "data" / "vignettes-4.toml",
    "set 5": ROOT / "tests" / "data" / "vignettes-5.toml",
    "set 6": ROOT / "tests" / "data" / "vignettes-6.toml",
    "set 7": ROOT / "tests" / "data" / "vignettes-7.toml",
    "set 8": ROOT / "tests" / "data" / "vignettes-8.toml",
    "set 9": ROOT / "tests" / "data" / "vignettes-9.toml",
    "set 10": ROOT / "tests" / "data" / "vignettes-10.toml",
    "set 11": ROOT / "tests" / "data" / "vignettes-11.toml",
    "set 12": ROOT / "tests" / "data" / "vignettes-12.toml",
    "set 13": ROOT / "tests" / "data" / "vignettes-13.toml",
    "set 14": ROOT / "tests" / "data" / "vignettes-14.toml",
    "set 15": ROOT / "tests" / "data" / "vignettes-15.toml",
    "set 16": ROOT / "tests" / "data" / "vignettes-16.toml",
    "set 17": ROOT / "tests" / "data" / "vignettes-17.toml",
    "set 18": ROOT / "tests" / "data" / "vignettes-18.toml",
    "set 19": ROOT / "tests" / "data" / "vignettes-19.toml",
}
REPORT = ROOT / "docs" / "validation.md"
TOP_CANCERS = 3


@attrs.frozen
class Outcome:
    """How the rules did on one case."""

    case: dict[str, Any]
    result: Differential

    @property
    def negative(self) -> bool:
        return bool(self.case["expected_category"] == "none")

    @property
    def category_first(self) -> bool:
        categories = self.result.categories
        return bool(categories) and categories[0].name == self.case["expected_category"]

    @property
    def cancer_in_top(self) -> bool:
        top = {c.id for c in self.result.cancers[:TOP_CANCERS]}
        return bool(top & set(self.case["expected_cancers"]))

    @property
    def no_high_candidate(self) -> bool:
        return self.result.top_level != "high"


def load_cases(paths: Iterable[Path] | None = None) -> list[dict[str, Any]]:
    """The cases of the vignette files (every set by default), each with its ``set`` name."""
    names = {path: name for name, path in VIGNETTE_SETS.items()}
    cases: list[dict[str, Any]] = []
    for path in VIGNETTE_SETS.values() if paths is None else paths:
        with path.open("rb") as handle:
            for case in tomllib.load(handle)["case"]:
                cases.append({**case, "set": names.get(path, path.name)})
    return cases


def case_findings(case: dict[str, Any]) -> list[str]:
    """The findings of a case as suggest() takes them: HPO ids, or the reported text."""
    return [item.get("hpo") or item["text"] for item in case["findings"]]


def evaluate(engine: Engine, cases: Iterable[dict[str, Any]]) -> list[Outcome]:
    """Run every case through ``engine`` (unknown terms are reported, not fatal)."""
    return [
        Outcome(
            case,
            engine.suggest(
                case_findings(case),
                age=case.get("age"),
                sex=case.get("sex"),
                antibodies=case.get("antibodies", []),
                strict=False,
            ),
        )
        for case in cases
    ]


def figures(outcomes: list[Outcome]) -> dict[str, float | int]:
    """The headline figures."""
    positive = [o for o in outcomes if not o.negative]
    negative = [o for o in outcomes if o.negative]
    return {
        "cases": len(positive),
        "negative_controls": len(negative),
        "category_first": sum(o.category_first for o in positive) / len(positive),
        "cancer_top3": sum(o.cancer_in_top for o in positive) / len(positive),
        "negatives_without_high": sum(o.no_high_candidate for o in negative)
        / max(len(negative), 1),
    }


def report(engine: Engine, outcomes: list[Outcome]) -> str:
    """docs/validation.md."""
    f = figures(outcomes)
    kb = engine.knowledge_base
    by_set = {
        name: figures([o for o in outcomes if o.case["set"] == name]) for name in VIGNETTE_SETS
    }
    lines = [
        "# Validation on published cases",
        "",
        "Generated by `python scripts/validate_vignettes.py` (do not edit by hand); "
        "`tests/test_vignettes.py` fails when this page is out of date or a figure drops "
        "below its floor.",
        "",
        f"Rule base: {kb.name} {kb.version}, HPO {kb.hpo_release}. "
        f"Cases: {f['cases']} published cases and {f['negative_controls']} negative controls in "
        f"{len(VIGNETTE_SETS)} sets, each collected from case reports by a collector who never saw the rule files "
        "(each case names its PMID or DOI): "
        + "; ".join(
            f"{name} `{path.relative_to(ROOT)}` ({by_set[name]['cases']} cases, "
            f"{by_set[name]['negative_controls']} controls)"
            for name, path in VIGNETTE_SETS.items()
        )
        + ". Findings are passed as the collector coded them: HPO ids, or the reported text "
        "(text the vocabulary does not know is reported as unrecognised, not guessed).",
        "",
        "| measure | all | " + " | ".join(VIGNETTE_SETS) + " | target |",
        "|---|---|" + "---|" * len(VIGNETTE_SETS) + "---|",
    ]
    rows = [
        ("expected category ranked first", "category_first", ">= 90%"),
        (f"an expected cancer in the top {TOP_CANCERS}", "cancer_top3", ">= 90%"),
        ("negative controls with no high-level candidate", "negatives_without_high", "100%"),
    ]
    for label, key, target in rows:
        cells = [f"{f[key]:.1%}"] + [f"{by_set[name][key]:.1%}" for name in VIGNETTE_SETS]
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {target} |")
    lines += [
        "",
        "## Per case",
        "",
        "| set | case | source | expected | first category | top cancers | ok |",
        "|---|---|---|---|---|---|---|",
    ]
    for o in outcomes:
        first = o.result.categories[0].name if o.result.categories else "-"
        top = ", ".join(c.id for c in o.result.cancers[:TOP_CANCERS]) or "-"
        if o.negative:
            expected = "none"
            ok = o.no_high_candidate
        else:
            expected = f"{o.case['expected_category']}; {', '.join(o.case['expected_cancers'])}"
            ok = o.category_first and o.cancer_in_top
        lines.append(
            f"| {o.case['set']} | {o.case['id']} | {o.case['source']} | {expected} | {first} | "
            f"{top} | {'yes' if ok else '**no**'} |"
        )
    lines += ["", *READING, ""]
    lines += circular_sources(engine, outcomes)
    return "\n".join(lines)


_IDENTIFIER = re.compile(r"(?:PMID:\d+|DOI:10\.[^\s;\"',]+)")


def cited_identifiers(engine: Engine) -> set[str]:
    """Every PMID and DOI the rule files cite, lower-cased (comments included)."""
    directory = Path(engine.knowledge_base.directory)
    return {
        match.lower()
        for path in sorted(directory.glob("*.toml"))
        for match in _IDENTIFIER.findall(path.read_text(encoding="utf-8"))
    }


def circular_sources(engine: Engine, outcomes: list[Outcome]) -> list[str]:
    """The cases whose own source the rules cite: those cases do not test the rules blind."""
    cited = cited_identifiers(engine)
    circular = [
        o
        for o in outcomes
        if not o.negative and {i.lower() for i in _IDENTIFIER.findall(o.case["source"])} & cited
    ]
    lines = [
        "## Cases whose source the rules cite",
        "",
        "A case whose own paper is cited by a rule file does not test the rules blind. Matched by "
        "identifier as written (a case named by its DOI and cited by its PMID is not caught).",
        "",
    ]
    if not circular:
        return [*lines, "None.", ""]
    lines += [f"- {o.case['set']} `{o.case['id']}` ({o.case['source']})" for o in circular]
    return [*lines, ""]


#: The hand-written part of the page: what the figures mean, kept beside the code that makes them.
READING = [
    "## Reading the figures",
    "",
    "Set 1 (47 cases) was collected first and the rules were reviewed while its results were "
    "known, so it is a development set. Set 2 (21 cases, collected later by another collector "
    "who never saw the rules) was first measured on the rules as they were before the "
    "knowledge-base extension of 2026-11-26: expected category first 66.7%, expected cancer in "
    "the top 3 57.1%; most misses then were cases whose coded findings the vocabulary did not "
    "know (Erythema, Papule, Ischemic stroke, Hypokalemic alkalosis, Pallor), which yielded no "
    "candidate at all. Set 3 (19 cases, a third collector) was added before it was first "
    "measured, after a curator who saw no set had extended the rules from the literature: its "
    "first, held-out figures were expected category first 94.7% and expected cancer in the top 3 "
    "73.7%. Set 4 (20 cases, a fourth collector) was added and first measured on the rules "
    "of commit a2b92d9: expected category first 65.0%, expected cancer in the top 3 35.0%; four "
    "of its cancers (leiomyosarcoma, prostate, bladder, olfactory neuroblastoma) are outside the "
    "rule base's taxonomy, five were known before the syndrome, and several cases code only one "
    "nonspecific finding. Changes made after a set's first measurement are listed in the git "
    "history; the held-out figures of sets 3 to 9 are the ones to quote for unseen cases. "
    "After set 4 was measured, prostate, bladder and olfactory-neuroblastoma entries, a uterine "
    "leiomyoma entry and acquired haemophilia A were added from the literature; no paper that is "
    "itself a validation case was cited for them (the cases whose source the rules cite are "
    "listed at the end). Set 5 (21 cases, collected in two rounds by collectors who never saw "
    "the rules) was added and first measured on the rules of commit 92d9fe7, after those "
    "extensions: expected category first 90.5%, expected cancer in the top 3 57.1%, every "
    "control without a high-level candidate; two of its cancers (upper-tract urothelial, lung "
    "neuroendocrine carcinoma) are outside the taxonomy. Association strengths were then "
    "audited against the rubric of docs/rule-format.md (commit cb5a540). Set 6 (22 cases, a "
    "further collector) was added and first measured on the rules of that commit: expected "
    "category first 77.3%, expected cancer in the top 3 54.5%, every control without a "
    "high-level candidate; two of its syndromes (RS3PE, pyoderma gangrenosum) are not in the "
    "rule base. RS3PE, malignancy-associated pyoderma gangrenosum, cancer-associated necrotizing "
    "myopathy and lymphoproliferative ITP were then added from the literature. Set 7 (22 cases, "
    "a further collector) was added and first measured on the rules of commit 9bc24a6: expected "
    "category first 63.6%, expected cancer in the top 3 45.5%, every control without a "
    "high-level candidate; five of its syndromes (acral vascular syndrome, polymyalgia "
    "rheumatica, rheumatoid-like arthritis, erythroderma, erythema nodosum) and two of its "
    "cancers (thymic neuroendocrine tumour, small-cell carcinoma of unknown primary) are outside "
    "the rule base. Diagnosed syndromes entered by name, seven facultative rheumatologic and "
    "cutaneous syndromes and the rest of the git history since then were added next. Set 8 (22 "
    "cases collected; one duplicated a set-7 source and was dropped) was added and first "
    "measured on the rules of commit 53cc8b0: expected category first 85.7%, expected cancer "
    "in the top 3 61.9%, every control without a high-level candidate. The first-measured "
    "figures of sets 3 to 8 are held out too. Set 9 (16 cases: the collector's search "
    "budget ran out; eight of its cases had the cancer known before the syndrome) was added "
    "and first measured on the rules of commit 48c533d: expected category first 81.2%, "
    "expected cancer in the top 3 56.2%, every control without a high-level candidate. Pooled "
    "over the 141 held-out cases of sets 3 to 9: expected category first 79.4% (112), expected "
    "cancer in the top 3 54.6% (77). Cancers of equal score were then ordered by the rule "
    "files (each syndrome's links listed most frequent first, by curators who saw no case) "
    "instead of by id (commits a9b202e and cda19b7). Set 10 (22 cases, 4 controls; "
    "six cases had the cancer known before the syndrome) was collected meanwhile and first "
    "measured on the rules of commit de954da, before that change: expected category first "
    "72.7%, expected cancer in the top 3 36.4%, every control without a high-level candidate; "
    "the same figures after the change. Four of its cases have a non-Hodgkin lymphoma, and two "
    "of its cancers (cutaneous squamous cell carcinoma, pleural mesothelioma) are outside the "
    "taxonomy. Lymphoma and mesothelioma links were then added from the literature (commit "
    "de02e48). Set 11 (22 cases, 4 controls; seven cases had the cancer known before or with "
    "the syndrome) was added and first measured on the rules of commit 8e3d802: expected "
    "category first 81.8%, expected cancer in the top 3 31.8%, every control without a "
    "high-level candidate (on the rules of de954da, before the tie-break change: 81.8% and "
    "36.4%; the difference is one dermatomyositis case with bladder cancer, third when ties "
    "went by the alphabet and last now that the links follow their published frequency). Four "
    "of its cancers (neuroendocrine carcinoma, Merkel cell carcinoma, gastrointestinal stromal "
    "tumour, papillary thyroid carcinoma) are outside the taxonomy. Pooled over the 185 "
    "held-out cases of sets 3 to 11: expected category first 78.9% (146), expected cancer in "
    "the top 3 49.7% (92). Necrobiotic xanthogranuloma, acquired angioedema with C1-inhibitor "
    "deficiency, malignancy-associated granuloma annulare, Merkel cell carcinoma and an "
    "age-and-sex rule for autoimmune haemolysis with an ovarian dermoid were then added from the "
    "literature (commits 49ad11c and 3f6eb00). Set 12 (22 cases, 4 controls) was added and first "
    "measured on the rules of commit eae5178: expected category first 81.8%, expected cancer in "
    "the top 3 27.3%, every control without a high-level candidate; the same figures on de954da, "
    "before any change of this session. Five of its cancers (mediastinal choriocarcinoma, "
    "follicular dendritic cell sarcoma, signet-ring carcinoma of unknown primary, epithelioid "
    "sarcoma, papillary thyroid carcinoma) are outside the taxonomy. Pooled over the 207 "
    "held-out cases of sets 3 to 12: expected category first 79.2% (164), expected cancer in "
    "the top 3 47.3% (98). Sets 13 (17 cases: 10 neurological, 7 haematological; 2 controls) "
    "and 14 (17 cases: 6 endocrine, 6 mucocutaneous, 5 other; 2 controls) were collected in "
    "parallel by two collectors while curators who saw no case added syndromes from the "
    "literature, and were first measured on the rules of commit a6aca7b, before any change of "
    "that session: set 13 expected category first 94.1%, expected cancer in the top 3 47.1%; "
    "set 14 64.7% and 29.4%; every control without a high-level candidate. Reading free-text "
    "findings (commit 7f61b5f) raised set 14 to 70.6% / 29.4% (a tripe-palms case coded as a "
    "sentence) and left set 13 unchanged; the curators' additions (commits b13be11 to bd1538f) "
    "changed neither. Many of their cases had the cancer known before the syndrome, and two of "
    "their cancers (duodenal neuroendocrine tumour, upper-tract urothelial carcinoma) are outside "
    "the taxonomy; the paper of one set-13 case (a G-CSF leukemoid reaction with bladder cancer) "
    "was already cited by a weak link, and that case is missed all the same. Pooled over the 241 held-out cases of sets 3 to 14, each set at its first "
    "measurement: expected category first 79.3% (191), expected cancer in the top 3 46.1% (111). "
    "After a second round of literature additions, sets 15 (16 cases: 7 neurological, 5 "
    "endocrine, 4 other; 2 controls) and 16 (15 cases: 8 mucocutaneous, 7 haematological; 2 "
    "controls) were collected in parallel with an audit of every syndrome's cancer links by "
    "curators who saw no case, and first measured on the rules of commit d868ddf, before that "
    "audit: set 15 expected category first 100.0%, expected cancer in the top 3 50.0%; set 16 "
    "46.7% and 33.3%; every control without a high-level candidate. The audit (commits 6cfd6ff "
    "to aa1b7ce) changed neither set; it moved one case each way in sets 13 and 14 (41.2% and "
    "35.3% for the cancer after it). Set 16's misses are mostly syndromes outside the rule base "
    "(bullous pemphigoid, which a 2017 meta-analysis found unrelated to cancer overall; "
    "subacute cutaneous lupus; melanoma-associated depigmentation; erythema annulare "
    "centrifugum; pure white cell aplasia). Five of set 15's cancers are outside the taxonomy "
    "(GIST, adrenocortical carcinoma, papillary thyroid, junctional neuroendocrine carcinoma, "
    "lung cancer of unstated type). The paper of one set-16 case (a G-CSF leukocytosis with "
    "cervical cancer) was already cited by a weak link. Pooled over the 272 held-out cases of sets 3 to 16, each set "
    "at its first measurement: expected category first 78.7% (214), expected cancer in the top "
    "3 45.6% (124). A third round of literature additions by curators who saw no case (new "
    "syndromes suggested partly by the misses of sets 13 to 16, such as melanoma-associated "
    "leukoderma and pure white cell aplasia, and audits of the remaining cancer lists; commits "
    "after b237747) ran in parallel with two more collectors, who found few unused reports: "
    "sets 17 (6 cases: 2 neurological, 4 haematological; 2 controls) and 18 (7 cases: 3 "
    "endocrine, 3 mucocutaneous, 1 other; 2 controls) were first measured on the rules of "
    "commit b237747, before that round: set 17 expected category first 100.0%, expected cancer "
    "in the top 3 100.0%; set 18 85.7% and 42.9%; every control without a high-level "
    "candidate; the round changed neither. It raised set 16, measured before it, from 46.7% / "
    "33.3% to 60.0% / 46.7%. Pooled over the 285 held-out cases of sets 3 to 18, each set at "
    "its first measurement: expected category first 79.3% (226), expected cancer in the top 3 "
    "46.7% (133). Set 19 (12 cases of all categories, 2 controls; the collector was asked for "
    "less common pairings) was first measured on the rules of commit 2d621f2, while a curator "
    "who saw no case added cholangiocarcinoma and widened the bladder and IGF-II tumour entries "
    "(commit 4a192ae): expected category first 83.3%, expected cancer in the top 3 33.3%, every "
    "control without a high-level candidate, and the same after that commit. Pooled over the "
    "297 held-out cases of sets 3 to 19, each set at its first measurement: expected category "
    "first 79.5% (236), expected cancer in the top 3 46.1% (137).",
    "",
    "Missed cases are kept: dropping cases the rules miss would flatter the figures. Many are "
    "atypical associations that a rule base faithful to the literature does not rank first "
    "(erythrocytosis with a colon cancer and a normal erythropoietin, osteoarthropathy from a "
    "melanoma, Ma2 encephalitis with a tonsillar carcinoma, ectopic ACTH from an endometrial "
    "carcinoma), or cases whose coded findings do not describe the syndrome. Dermatomyositis "
    "counts as neurological, as the project's taxonomy files it.",
    "",
    "Decision support, not a diagnosis: these figures measure how often the ranking puts the "
    "syndrome category and the cancer that were eventually found where a clinician would "
    "look first; they are not a diagnostic accuracy study.",
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if docs/validation.md is stale")
    args = parser.parse_args(argv)
    engine = Engine.shipped()
    outcomes = evaluate(engine, load_cases())
    text = report(engine, outcomes)
    for key, value in figures(outcomes).items():
        print(f"{key:<24} {value:.3f}" if isinstance(value, float) else f"{key:<24} {value}")
    if args.check:
        if not REPORT.exists() or REPORT.read_text() != text:
            print("docs/validation.md is out of date: run python scripts/validate_vignettes.py")
            return 1
        return 0
    REPORT.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
