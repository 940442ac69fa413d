"""Reading and validating a rule directory into a :class:`~pns_rules.knowledge.KnowledgeBase`.

Every problem is recorded with its file, line, entry id and a code; loading raises
:class:`~pns_rules.errors.RuleFileError` for the first one (all of them are on ``.problems``), so an
engine is never built from a half-valid rule base.
"""

from __future__ import annotations

import codecs
import importlib.resources
import json
import math
import os
import re
import stat
import tomllib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs

from .antibody_names import AntibodyNames
from .errors import InputError, RuleFileError
from .hpo_terms import FILE_NAME as HPO_TERMS_INDEX_FILE
from .hpo_terms import HpoTermIndex, retired_note
from .knowledge import (
    CATEGORIES,
    FINDING_KINDS,
    SEXES,
    AgeRange,
    Cancer,
    CancerLink,
    Finding,
    KnowledgeBase,
    LabThreshold,
    PnsCareScale,
    RareIn,
    Rule,
    Scoring,
    Screening,
    Syndrome,
    Term,
)
from .text_reading import MIN_CONTAINED_LENGTH, TextReader
from .vocabulary import normalize_term

__all__ = [
    "LoadReport",
    "Problem",
    "collect_problems",
    "inspect_rule_directory",
    "load_rule_directory",
    "shipped_rules_directory",
]

MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_ALTERNATIVES = 200
#: A rule may require at most this many findings at once (``all`` plus one of ``any`` plus ``n``
#: of ``at_least``): the engine must fit them all in one fact.
MAX_CONJUNCTION = 100
MAX_WEIGHT = 10
HPO_MAP_FILE = "hpo-map.json"
#: The top-level keys of ``hpo-map.json`` (scripts/build_hpo_map.py writes them all).
HPO_MAP_KEYS = (
    "dropped_ambiguous_synonyms",
    "generated_by",
    "hpo_release",
    "obsolete",
    "source",
    "terms",
)
HPO_TERMS_FILE = HPO_TERMS_INDEX_FILE
MANIFEST_FILE = "manifest.toml"
#: The keys ``[scoring.strength]`` of ``manifest.toml`` may set (at least one): the strengths a
#: syndrome's cancer link may name.
STRENGTHS = ("strong", "moderate", "weak")

#: A PMID is a positive whole number, written without leading zeros.
_PMID = r"PMID:[1-9]\d{0,8}"
#: A DOI is 10.<registrant>/<suffix>; the suffix does not end in sentence punctuation and does
#: not run into a second citation written without its space ("DOI:10.1/x;PMID:1").
_DOI = r"DOI:10\.\d{4,9}/(?:(?!;(?:PMID|DOI):)\S)*[^\s.,;:]"
_CITATION = rf"(?:{_PMID}|{_DOI})"
CITATION_RE = re.compile(rf"^{_CITATION}(?:; {_CITATION})*$")
_FINDING_ID_RE = re.compile(r"^(?:HP:\d{7}|pns:[a-z0-9][a-z0-9-]*)$")
_SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_HPO_ID_RE = re.compile(r"^HP:\d{7}$")
_LOINC_RE = re.compile(r"^\d{1,7}-\d$")
_ENTRY_KINDS = ("finding", "cancer", "syndrome", "rule", "lab")
_CITATION_KEYS = ("citation", "citations")
#: Separates terms in one cell of a batch CSV file (pns_rules.cohort): no finding name may hold it.
LIST_SEPARATOR = ";"


@attrs.frozen
class Problem:
    """One problem found in a rule directory."""

    path: str
    line: int | None
    entry: str | None
    code: str
    message: str

    def __str__(self) -> str:
        location = self.path if self.line is None else f"{self.path}:{self.line}"
        where = f" [{self.entry}]" if self.entry else ""
        return f"{location}: {self.code}:{where} {self.message}"

    @property
    def severity(self) -> str:
        """``"warning"`` for codes starting with ``W``, else ``"error"``."""
        return "warning" if self.code.startswith("W") else "error"


@attrs.frozen
class LoadReport:
    """What loading a rule directory found, without raising (see :func:`inspect_rule_directory`).

    ``knowledge_base`` holds every entry that is valid on its own, even when ``problems`` is not
    empty (then it is partial: never evaluate patients with it), or ``None`` when the directory or
    its manifest could not be read. ``locations`` maps ``(kind, id)`` (kind ``"finding"``,
    ``"cancer"``, ``"syndrome"`` or ``"rule"``) to the file and line of that entry's header.
    """

    knowledge_base: KnowledgeBase | None
    problems: tuple[Problem, ...]
    locations: Mapping[tuple[str, str], tuple[str, int | None]]


class _Invalid(Exception):
    """Raised inside entry validation; turned into a Problem by the caller."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def shipped_rules_directory() -> Path:
    """The rule directory shipped with the package (inside the wheel, or the checkout's ``rules/``)."""
    packaged = importlib.resources.files("pns_rules") / "rules"
    if packaged.is_dir():
        return Path(str(packaged))
    checkout = Path(__file__).resolve().parent.parent / "rules"
    if checkout.is_dir():
        return checkout
    raise RuleFileError(
        str(packaged), "the shipped rule directory is missing from this install", code="E001"
    )


def load_rule_directory(directory: str | os.PathLike[str]) -> KnowledgeBase:
    """Load and validate every rule file in ``directory``.

    Raises :class:`RuleFileError` naming the file, entry and line of the first problem; the full
    list is on its ``problems`` attribute.
    """
    builder = _Builder(_path_text(directory))
    kb = builder.build()
    if builder.problems:
        first = builder.problems[0]
        error = RuleFileError(
            first.path, first.message, entry=first.entry, line=first.line, code=first.code
        )
        error.problems = list(builder.problems)  # type: ignore[attr-defined]
        raise error
    assert kb is not None
    return kb


def collect_problems(directory: str | os.PathLike[str]) -> list[Problem]:
    """Every problem in ``directory``, without raising (used by ``pns-rules check``)."""
    return list(inspect_rule_directory(directory).problems)


def inspect_rule_directory(directory: str | os.PathLike[str]) -> LoadReport:
    """Load ``directory`` as far as it goes and report every problem, without raising."""
    builder = _Builder(_path_text(directory))
    kb = builder.build()
    return LoadReport(
        knowledge_base=kb, problems=tuple(builder.problems), locations=dict(builder.where)
    )


def _path_text(directory: object) -> str:
    """``directory`` (str, bytes or path-like) as a str; :class:`InputError` for anything else."""
    try:
        text = os.fspath(directory)  # type: ignore[call-overload]
        if isinstance(text, bytes):
            text = os.fsdecode(text)
    except MemoryError:
        raise
    except Exception:
        raise InputError(
            "path", directory, "a rule directory: a str, bytes or os.PathLike path"
        ) from None
    return str(text)


@attrs.define
class _SourceFile:
    path: Path
    text: str
    data: dict[str, Any]
    headers: dict[str, list[int]]

    def line_of(self, kind: str, index: int) -> int | None:
        lines = self.headers.get(kind, [])
        return lines[index] if index < len(lines) else None


class _Builder:
    def __init__(self, directory: str) -> None:
        self.given = directory
        self.directory = Path(directory)
        self.problems: list[Problem] = []
        self.findings: dict[str, Finding] = {}
        self.cancers: dict[str, Cancer] = {}
        self.syndromes: dict[str, Syndrome] = {}
        self.rules: dict[str, Rule] = {}
        self.labs: dict[str, LabThreshold] = {}
        self.where: dict[tuple[str, str], tuple[str, int | None]] = {}
        self.terms: dict[str, Term] = {}
        self.term_owner: dict[str, tuple[str, str, int | None]] = {}
        self.display: dict[str, str] = {}
        #: vocabulary finding id -> the normalised keys of its names (built on first need)
        self._names_by_finding: dict[str, list[str]] | None = None
        self.pns_care: PnsCareScale | None = None

    # -- reporting -------------------------------------------------------------------------
    def problem(
        self, path: Path | str, line: int | None, entry: str | None, code: str, message: str
    ) -> None:
        self.problems.append(Problem(str(path), line, entry, code, message))

    # -- top level -------------------------------------------------------------------------
    def build(self) -> KnowledgeBase | None:
        directory = self.directory
        if not self.given:
            self.problem(self.given, None, None, "E001", "empty path: name a rule directory")
            return None
        if "\x00" in self.given:
            self.problem(self.given, None, None, "E001", "the path contains a NUL character")
            return None
        try:
            if not directory.exists():
                self.problem(directory, None, None, "E001", "rule directory does not exist")
                return None
            if not directory.is_dir():
                self.problem(directory, None, None, "E001", "not a directory")
                return None
            names = sorted(entry.name for entry in os.scandir(directory))
        except OSError as exc:
            self.problem(directory, None, None, "E001", f"cannot list directory: {_reason(exc)}")
            return None
        paths = [directory / name for name in names if name.endswith(".toml")]
        for name in names:
            if name.lower().endswith(".toml") and not name.endswith(".toml"):
                self.problem(
                    directory / name,
                    None,
                    None,
                    "E003",
                    "rule files must end in '.toml' (lower case): rename it, or it is not read",
                )
        manifest_path = directory / MANIFEST_FILE
        if manifest_path not in paths:
            self.problem(manifest_path, None, None, "E002", "manifest.toml is missing")
            return None
        sources: list[_SourceFile] = []
        for path in paths:
            source = self._read(path)
            if source is not None:
                sources.append(source)
        if self.problems:
            return None
        manifest = next(s for s in sources if s.path == manifest_path)
        header = self._manifest(manifest)
        others = [s for s in sources if s.path != manifest_path]
        for source in others:
            self._check_top_level(source)
        for kind, handler in (
            ("finding", self._finding),
            ("cancer", self._cancer),
        ):
            for source, index, entry in self._entries(others, kind):
                self._guard(source, kind, index, entry, handler)
        self._index_vocabulary()
        hpo_release = self._hpo_map()
        if header is None:
            return None
        name, version, scoring = header
        for source, index, entry in self._entries(others, "syndrome"):
            self._guard(source, "syndrome", index, entry, lambda e: self._syndrome(e, scoring))
        for source, index, entry in self._entries(others, "rule"):
            self._guard(source, "rule", index, entry, self._rule)
        for source, index, entry in self._entries(others, "lab"):
            self._guard(source, "lab", index, entry, self._lab)
        by_syndrome: dict[str, list[str]] = {}
        for rule in self.rules.values():
            by_syndrome.setdefault(rule.syndrome, []).append(rule.id)
        return KnowledgeBase(
            name=name,
            version=version,
            directory=str(directory),
            scoring=scoring,
            findings=self.findings,
            cancers=self.cancers,
            syndromes=self.syndromes,
            rules=self.rules,
            terms=self.terms,
            hpo_release=hpo_release,
            suggestion_keys=dict(sorted(self.display.items())),
            pns_care=self.pns_care,
            rules_by_syndrome={k: tuple(v) for k, v in by_syndrome.items()},
            lab_thresholds=tuple(self.labs.values()),
            hpo_terms=self._hpo_terms(hpo_release),
            text_reader=TextReader(self.terms, acronyms=self._acronyms()),
            antibody_names=AntibodyNames(
                self.terms, [f.id for f in self.findings.values() if f.kind == "antibody"]
            ),
        )

    def _acronyms(self) -> list[str]:
        """Vocabulary names shorter than free text is searched for that are acronyms (two or
        more capitals: "DVT", "IgAV"), of findings that are not antibodies (never read from
        text)."""
        return [
            name
            for key, name in self.display.items()
            if len(key) < MIN_CONTAINED_LENGTH
            and name.isalnum()
            and sum(c.isupper() for c in name) >= 2
            and key in self.terms
            and not all(self.findings[f].kind == "antibody" for f in self.terms[key].maps_to)
        ]

    def _read_bytes(self, path: Path, code: str) -> bytes | None:
        """The bytes of a regular file of at most :data:`MAX_FILE_BYTES`, or ``None`` after
        recording why not. Never blocks: a FIFO or device is refused without being read."""
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        except FileNotFoundError:
            if os.path.islink(path):
                self.problem(path, None, None, code, "broken symbolic link: its target is missing")
            else:
                self.problem(path, None, None, code, "file disappeared while loading")
            return None
        except OSError as exc:
            self.problem(path, None, None, code, f"cannot read file: {_reason(exc)}")
            return None
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                self.problem(
                    path, None, None, code, f"not a regular file (a {_file_kind(info.st_mode)})"
                )
                return None
            if info.st_size > MAX_FILE_BYTES:
                self.problem(path, None, None, code, _too_big(info.st_size))
                return None
            chunks = []
            size = 0
            while size <= MAX_FILE_BYTES:
                chunk = os.read(fd, MAX_FILE_BYTES + 1 - size)
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
            if size > MAX_FILE_BYTES:
                self.problem(path, None, None, code, _too_big(size))
                return None
            return b"".join(chunks)
        except OSError as exc:
            self.problem(path, None, None, code, f"cannot read file: {_reason(exc)}")
            return None
        finally:
            os.close(fd)

    def _read(self, path: Path) -> _SourceFile | None:
        raw = self._read_bytes(path, "E003")
        if raw is None:
            return None
        text = self._decode(path, raw, "E004")
        if text is None:
            return None
        if not text.strip():
            self.problem(path, 1, None, "E006", "file is empty")
            return None
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            match = re.search(r"line (\d+)", str(exc))
            if match:
                line: int | None = int(match.group(1))
            elif "end of document" in str(exc):
                line = text.count("\n") + (0 if text.endswith("\n") else 1)
            else:
                line = None
            self.problem(path, line, None, "E005", f"TOML syntax error: {exc}")
            return None
        except RecursionError:
            self.problem(path, None, None, "E005", "TOML nesting is too deep to read")
            return None
        if not data:
            self.problem(path, 1, None, "E006", "file holds no entries, only comments")
            return None
        headers: dict[str, list[int]] = {}
        for number, text_line in enumerate(text.splitlines(), start=1):
            match = re.match(r"^\s*\[\[\s*([A-Za-z_-]+)\s*\]\]", text_line)
            if match:
                headers.setdefault(match.group(1), []).append(number)
        return _SourceFile(path, text, data, headers)

    def _decode(self, path: Path, raw: bytes, code: str) -> str | None:
        if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            self.problem(path, 1, None, code, "file is UTF-16 text; save it as UTF-8")
            return None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            bad_line = raw[: exc.start].count(b"\n") + 1
            self.problem(path, bad_line, None, code, "file is not valid UTF-8 text")
            return None
        return text.removeprefix("\ufeff")  # a UTF-8 byte order mark, as some editors write

    def _manifest(self, source: _SourceFile) -> tuple[str, str, Scoring] | None:
        data = source.data
        try:
            _keys(
                data, required={"name", "version", "scoring"}, optional={"description", "pns_care"}
            )
            name = _string(data, "name")
            version = _string(data, "version")
            scoring_data = data["scoring"]
            if not isinstance(scoring_data, dict):
                raise _Invalid("E010", "`scoring` must be a table")
            _keys(scoring_data, required={"high", "intermediate", "strength"}, optional=set())
            high = _number(scoring_data, "high")
            intermediate = _number(scoring_data, "intermediate")
            if not 0 < intermediate < high:
                raise _Invalid("E014", "scoring thresholds must satisfy 0 < intermediate < high")
            strength = scoring_data["strength"]
            if not isinstance(strength, dict) or not strength:
                raise _Invalid("E010", "`scoring.strength` must be a non-empty table")
            unknown = sorted(k for k in strength if k not in STRENGTHS)
            if unknown:  # a misspelt strength would otherwise be a new, unused strength
                line = _toml_key_line(source.text, unknown[0], "scoring.strength")
                self.problem(
                    source.path,
                    line,
                    None,
                    "E010",
                    f"unknown key(s): {', '.join('scoring.strength.' + k for k in unknown)} "
                    f"(allowed: {', '.join('scoring.strength.' + k for k in STRENGTHS)})",
                )
                return None
            factors: dict[str, float] = {}
            for key in strength:
                value = _number(strength, key)
                if not 0 < value <= 1:
                    raise _Invalid("E014", f"strength {key!r} must be in (0, 1], got {value}")
                factors[key] = value
        except _Invalid as exc:
            self.problem(source.path, None, None, exc.code, exc.message)
            return None
        try:
            pns_care = _pns_care(data["pns_care"]) if "pns_care" in data else None
        except _Invalid as exc:
            self.problem(source.path, None, "pns_care", exc.code, exc.message)
            return None
        self.pns_care = pns_care
        return name, version, Scoring(high=high, intermediate=intermediate, strength=factors)

    def _check_top_level(self, source: _SourceFile) -> None:
        for key, value in source.data.items():
            if key not in _ENTRY_KINDS:
                self.problem(
                    source.path,
                    None,
                    None,
                    "E010",
                    f"unknown top-level key {key!r}; expected {', '.join(_ENTRY_KINDS)}",
                )
            elif not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
                self.problem(source.path, None, None, "E011", f"`{key}` must be an array of tables")

    def _entries(
        self, sources: list[_SourceFile], kind: str
    ) -> Iterator[tuple[_SourceFile, int, dict[str, Any]]]:
        for source in sources:
            entries = source.data.get(kind)
            if isinstance(entries, list):
                for index, entry in enumerate(entries):
                    if isinstance(entry, dict):
                        yield source, index, entry

    def _guard(
        self,
        source: _SourceFile,
        kind: str,
        index: int,
        entry: dict[str, Any],
        handler: Callable[[dict[str, Any]], Any],
    ) -> None:
        entry_id = entry.get("id") if isinstance(entry.get("id"), str) else None
        line = source.line_of(kind, index)
        try:
            built = handler(entry)
        except _Invalid as exc:
            self.problem(source.path, line, entry_id, exc.code, exc.message)
            return
        table = getattr(self, kind + "s")
        if built.id in table:
            other_path, other_line = self.where[(kind, built.id)]
            at = other_path if other_line is None else f"{other_path}:{other_line}"
            self.problem(
                source.path, line, built.id, "E020", f"duplicate {kind} id (first defined at {at})"
            )
            return
        table[built.id] = built
        self.where[(kind, built.id)] = (str(source.path), line)

    # -- entries ---------------------------------------------------------------------------
    def _finding(self, entry: dict[str, Any]) -> Finding:
        _keys(
            entry,
            required={"id", "label", "kind"},
            optional={"synonyms", "snomed", "risk", "citation", "hpo"},
        )
        finding_id = _string(entry, "id")
        if not _FINDING_ID_RE.match(finding_id):
            raise _Invalid(
                "E012",
                f"finding id {finding_id!r} must be an HPO id (HP:0001251) or 'pns:<slug>'",
            )
        kind = _choice(entry, "kind", FINDING_KINDS)
        synonyms = _strings(entry, "synonyms", required=False)
        snomed = _string(entry, "snomed") if "snomed" in entry else None
        if snomed is not None and not snomed.isdigit():
            raise _Invalid(
                "E012", f"snomed must be a SNOMED CT concept id (digits), got {snomed!r}"
            )
        hpo = _strings(entry, "hpo", required=False)
        for hpo_id in hpo:
            if not _HPO_ID_RE.match(hpo_id):
                raise _Invalid("E012", f"`hpo` must list HPO ids (HP:0000000), got {hpo_id!r}")
            if hpo_id == finding_id:
                raise _Invalid("E012", f"`hpo` lists the finding's own id {hpo_id!r}")
        risk = None
        citation = None
        if "risk" in entry:
            if kind != "antibody":
                raise _Invalid("E012", "`risk` applies to antibodies only")
            risk = _choice(entry, "risk", ("high", "intermediate", "low"))
            citation = _citation(entry, "citation")
        elif "citation" in entry:
            citation = _citation(entry, "citation")
        label = _string(entry, "label")
        for name in (label, *synonyms):
            if LIST_SEPARATOR in name:
                raise _Invalid(
                    "E012",
                    f"finding name {name!r} contains {LIST_SEPARATOR!r}, which separates findings "
                    "in batch CSV files; reword it",
                )
        return Finding(
            id=finding_id,
            label=label,
            kind=kind,
            synonyms=synonyms,
            snomed=snomed,
            risk=risk,
            citation=citation,
            hpo=hpo,
        )

    def _cancer(self, entry: dict[str, Any]) -> Cancer:
        _keys(entry, required={"id", "name", "sex", "screening"}, optional={"rare_in"})
        cancer_id = _slug(entry, "id")
        sex = _choice(entry, "sex", ("any", *SEXES))
        rare_in = self._rare_in(entry["rare_in"], sex) if "rare_in" in entry else None
        screening = entry["screening"]
        if not isinstance(screening, dict):
            raise _Invalid("E011", "`screening` must be a table")
        _keys(
            screening,
            required={"first_line", "second_line", "repeat", "citation"},
            optional=set(),
            prefix="screening.",
        )
        return Cancer(
            id=cancer_id,
            name=_string(entry, "name"),
            sex=None if sex == "any" else sex,
            screening=Screening(
                first_line=_string(screening, "first_line", "screening."),
                second_line=_string(screening, "second_line", "screening."),
                repeat=_string(screening, "repeat", "screening."),
                citation=_citation(screening, "citation", "screening."),
            ),
            rare_in=rare_in,
        )

    @staticmethod
    def _rare_in(table: Any, sex: str) -> RareIn:
        if not isinstance(table, dict):
            raise _Invalid("E011", "`rare_in` must be a table {sex, factor, citation}")
        _keys(table, required={"sex", "factor", "citation"}, optional=set(), prefix="rare_in.")
        if sex != "any":
            raise _Invalid(
                "E012", f'`rare_in` needs `sex = "any"`: this cancer occurs only in {sex} patients'
            )
        rare_sex = _choice(table, "sex", SEXES, "rare_in.")
        factor = _number(table, "factor", "rare_in.")
        if not 0 < factor < 1:
            raise _Invalid("E014", f"`rare_in.factor` must be between 0 and 1, got {factor:g}")
        return RareIn(rare_sex, factor, _citation(table, "citation", "rare_in."))

    def _syndrome(self, entry: dict[str, Any], scoring: Scoring) -> Syndrome:
        _keys(
            entry,
            required={"id", "name", "category", "citations", "cancers"},
            optional={"description", "pns_care_phenotype"},
        )
        syndrome_id = _slug(entry, "id")
        citations = _strings(entry, "citations", required=True)
        for citation in citations:
            if not CITATION_RE.match(citation):
                raise _Invalid("E030", _citation_message("citations", citation))
        links_data = entry["cancers"]
        if not isinstance(links_data, list):
            raise _Invalid("E011", "`cancers` must be an array of tables")
        links: list[CancerLink] = []
        seen: set[str] = set()
        for link in links_data:
            if not isinstance(link, dict):
                raise _Invalid("E011", "each of `cancers` must be a table {id, strength, citation}")
            _keys(
                link, required={"id", "strength", "citation"}, optional={"age"}, prefix="cancers."
            )
            cancer_id = _string(link, "id", "cancers.")
            if cancer_id not in self.cancers:
                raise _Invalid(
                    "E021", f"unknown cancer {cancer_id!r}{_hint(cancer_id, self.cancers)}"
                )
            if cancer_id in seen:
                raise _Invalid("E020", f"cancer {cancer_id!r} is listed twice")
            seen.add(cancer_id)
            strength = _choice(link, "strength", tuple(scoring.strength), "cancers.")
            links.append(
                CancerLink(
                    cancer=cancer_id,
                    strength=strength,
                    citation=_citation(link, "citation", "cancers."),
                    age=_age(link["age"]) if "age" in link else None,
                )
            )
        return Syndrome(
            id=syndrome_id,
            name=_string(entry, "name"),
            category=_choice(entry, "category", CATEGORIES),
            citations=citations,
            cancers=tuple(links),
            description=_string(entry, "description") if "description" in entry else "",
            pns_care_phenotype=(
                _choice(entry, "pns_care_phenotype", ("high", "intermediate"))
                if "pns_care_phenotype" in entry
                else None
            ),
        )

    def _rule(self, entry: dict[str, Any]) -> Rule:
        _keys(
            entry,
            required={"id", "syndrome", "weight", "citation"},
            optional={"item", "all", "any", "at_least", "age", "sex", "cancers", "description"},
        )
        rule_id = _slug(entry, "id")
        syndrome = _string(entry, "syndrome")
        if syndrome not in self.syndromes:
            raise _Invalid(
                "E021", f"unknown syndrome {syndrome!r}{_hint(syndrome, self.syndromes)}"
            )
        weight = entry["weight"]
        if isinstance(weight, bool) or not isinstance(weight, int) or not 1 <= weight <= MAX_WEIGHT:
            raise _Invalid(
                "E013", f"weight must be a whole number from 1 to {MAX_WEIGHT}, got {weight!r}"
            )
        all_of = self._finding_refs(entry, "all")
        any_of = self._finding_refs(entry, "any")
        at_least = 0
        at_least_of: tuple[str, ...] = ()
        if "at_least" in entry:
            spec = entry["at_least"]
            if not isinstance(spec, dict):
                raise _Invalid("E011", "`at_least` must be a table {n, of}")
            _keys(spec, required={"n", "of"}, optional=set(), prefix="at_least.")
            n = spec["n"]
            if isinstance(n, bool) or not isinstance(n, int) or n < 1:
                raise _Invalid("E013", f"at_least.n must be a whole number >= 1, got {n!r}")
            at_least_of = self._finding_refs(spec, "of", prefix="at_least.")
            if n > len(at_least_of):
                raise _Invalid(
                    "E040",
                    f"at_least asks for {n} of {len(at_least_of)} findings: it can never hold",
                )
            at_least = n
        alternatives = max(1, len(any_of)) * (
            math.comb(len(at_least_of), at_least) if at_least else 1
        )
        if alternatives > MAX_ALTERNATIVES:
            raise _Invalid(
                "E013",
                f"the rule's `any` and `at_least` allow {alternatives} combinations of findings; "
                f"the limit is {MAX_ALTERNATIVES}: split the rule",
            )
        conjunction = len(all_of) + (1 if any_of else 0) + at_least
        if conjunction > MAX_CONJUNCTION:
            raise _Invalid(
                "E013",
                f"the rule requires {conjunction} findings at once; the limit is "
                f"{MAX_CONJUNCTION}: split the rule",
            )
        if not (all_of or any_of or at_least_of):
            raise _Invalid(
                "E041",
                "a rule needs at least one of `all`, `any`, `at_least`: it would fire for everybody",
            )
        boosts: list[tuple[str, float]] = []
        if "cancers" in entry:
            table = entry["cancers"]
            if not isinstance(table, dict) or not table:
                raise _Invalid("E011", "`cancers` must be a non-empty table {cancer-id = points}")
            for cancer_id in table:
                if cancer_id not in self.cancers:
                    raise _Invalid(
                        "E021", f"unknown cancer {cancer_id!r}{_hint(cancer_id, self.cancers)}"
                    )
                points = _number(table, cancer_id, "cancers.")
                if not 0 < points <= MAX_WEIGHT:
                    raise _Invalid("E013", f"cancers.{cancer_id} must be in (0, {MAX_WEIGHT}]")
                boosts.append((cancer_id, points))
        return Rule(
            id=rule_id,
            syndrome=syndrome,
            item=_string(entry, "item") if "item" in entry else rule_id,
            weight=weight,
            citation=_citation(entry, "citation"),
            all_of=all_of,
            any_of=any_of,
            at_least=at_least,
            at_least_of=at_least_of,
            age=_age(entry["age"]) if "age" in entry else None,
            sex=_choice(entry, "sex", SEXES) if "sex" in entry else None,
            cancer_boosts=tuple(sorted(boosts)),
            description=_string(entry, "description") if "description" in entry else "",
        )

    def _lab(self, entry: dict[str, Any]) -> LabThreshold:
        _keys(
            entry,
            required={"id", "finding", "names", "unit", "citation"},
            optional={"below", "above", "units", "ranges", "description", "loinc", "age"},
        )
        lab_id = _slug(entry, "id")
        loinc = _strings(entry, "loinc", required=False)
        for code in loinc:
            if not _LOINC_RE.match(code):
                raise _Invalid("E012", f"`loinc` must list LOINC codes (2951-2), got {code!r}")
        finding = _string(entry, "finding")
        if finding not in self.findings:
            raise _Invalid("E021", f"unknown finding {finding!r}{_hint(finding, self.findings)}")
        if self.findings[finding].kind != "lab":
            raise _Invalid("E012", f"finding {finding!r} is not of kind 'lab'")
        directions = [d for d in ("below", "above") if d in entry]
        if len(directions) != 1:
            raise _Invalid("E010", "give exactly one of `below` and `above`")
        direction = directions[0]
        threshold = _threshold(entry[direction], direction)
        unit = _string(entry, "unit")
        units: dict[str, float] = {unit: 1.0}
        raw_units = entry.get("units", {})
        if not isinstance(raw_units, dict):
            raise _Invalid("E011", "`units` must be a table {unit = factor to the main unit}")
        for name, factor in raw_units.items():
            value = _number(raw_units, name, "units.")
            if value <= 0:
                raise _Invalid("E014", f"`units.{name}` must be above 0, got {factor!r}")
            units[name] = value
        ranges: dict[str, tuple[float, float]] = {}
        raw_ranges = entry.get("ranges", {})
        if not isinstance(raw_ranges, dict):
            raise _Invalid("E011", "`ranges` must be a table {unit = [lowest, highest]}")
        for name, bounds in raw_ranges.items():
            if name not in units:
                raise _Invalid("E021", f"`ranges.{name}` names a unit not in `unit` or `units`")
            if (
                not isinstance(bounds, list)
                or len(bounds) != 2
                or not all(isinstance(b, int | float) and not isinstance(b, bool) for b in bounds)
                or not 0 <= bounds[0] < bounds[1]
            ):
                raise _Invalid("E014", f"`ranges.{name}` must be [lowest, highest], got {bounds!r}")
            ranges[name] = (float(bounds[0]), float(bounds[1]))
        return LabThreshold(
            id=lab_id,
            finding=finding,
            names=tuple(
                {normalize_term(n): n for n in _strings(entry, "names", required=True)}.values()
            ),
            direction=direction,
            threshold=threshold,
            unit=unit,
            units=units,
            ranges=ranges,
            citation=_citation(entry, "citation"),
            description=_string(entry, "description") if "description" in entry else "",
            loinc=loinc,
            age=_age(entry["age"]) if "age" in entry else None,
        )

    def _finding_refs(self, entry: dict[str, Any], key: str, prefix: str = "") -> tuple[str, ...]:
        if key not in entry:
            return ()
        names = _strings(entry, key, required=True, prefix=prefix)
        ids: list[str] = []
        for name in names:
            term = self.terms.get(normalize_term(name))
            if term is None or term.id not in self.findings:
                raise _Invalid(
                    "E021",
                    f"unknown finding {name!r} in `{prefix}{key}`: rules name vocabulary findings "
                    f"by id, label or synonym{_hint(normalize_term(name), self.term_owner)}",
                )
            finding_id = term.id
            if finding_id in ids:
                raise _Invalid("E020", f"finding {name!r} is listed twice in `{prefix}{key}`")
            ids.append(finding_id)
        return tuple(ids)

    # -- vocabulary ------------------------------------------------------------------------
    def _index_vocabulary(self) -> None:
        for finding in self.findings.values():
            path, line = self.where[("finding", finding.id)]
            term = Term(id=finding.id, label=finding.label, maps_to=frozenset({finding.id}))
            for name in (finding.id, finding.label, *finding.synonyms, *finding.hpo):
                key = normalize_term(name)
                if not key:
                    self.problem(path, line, finding.id, "E012", "empty label or synonym")
                    continue
                owner = self.term_owner.get(key)
                if owner is not None and owner[0] != finding.id:
                    at = owner[1] if owner[2] is None else f"{owner[1]}:{owner[2]}"
                    self.problem(
                        path,
                        line,
                        finding.id,
                        "E022",
                        f"{name!r} also names finding {owner[0]!r} ({at}); a label or synonym "
                        "may belong to one finding only",
                    )
                    continue
                self.term_owner[key] = (finding.id, path, line)
                self.display[key] = name
                self.terms[key] = term

    def _hpo_map(self) -> str | None:
        path = self.directory / HPO_MAP_FILE
        if not os.path.lexists(path):
            return None
        raw = self._read_bytes(path, "E050")
        text = None if raw is None else self._decode(path, raw, "E050")
        if text is None:
            return None
        try:
            data = json.loads(text, object_pairs_hook=_unique_keys)
        except json.JSONDecodeError as exc:
            self.problem(path, exc.lineno, None, "E050", f"not valid JSON: {exc.msg}")
            return None
        except (ValueError, RecursionError) as exc:
            self.problem(path, None, None, "E050", f"not valid JSON: {_reason(exc)}")
            return None
        if not isinstance(data, dict):
            self.problem(path, 1, None, "E050", "the HPO map must be a JSON object")
            return None
        for key in data:
            if key not in HPO_MAP_KEYS:
                self.problem(
                    path,
                    _json_line(text, key),
                    None,
                    "E010",
                    f"unknown top-level key {key!r}; expected {', '.join(HPO_MAP_KEYS)}",
                )
        release = data.get("hpo_release")
        terms = data.get("terms")
        obsolete = data.get("obsolete", {})
        for key, value, kind in (
            ("hpo_release", release, str),
            ("terms", terms, dict),
            ("obsolete", obsolete, dict),
        ):
            if not isinstance(value, kind) or (kind is str and not value):
                what = "a non-empty string" if kind is str else "an object"
                self.problem(path, _json_line(text, key), None, "E050", f"`{key}` must be {what}")
        if not (isinstance(release, str) and release):
            return None
        if not (isinstance(terms, dict) and isinstance(obsolete, dict)):
            return None
        mapped: dict[str, Term] = {}
        for hpo_id, info in sorted(terms.items()):
            try:
                label, maps_to, names = _hpo_term(hpo_id, info)
            except _Invalid as exc:
                self.problem(path, _json_line(text, hpo_id), hpo_id, exc.code, exc.message)
                continue
            stale = sorted(m for m in maps_to if m not in self.findings)
            if stale:
                self.problem(
                    path,
                    _json_line(text, hpo_id),
                    hpo_id,
                    "E051",
                    f"maps to {', '.join(stale)}, not in the vocabulary: regenerate the HPO map "
                    "(scripts/build_hpo_map.py)",
                )
                continue
            if hpo_id in self.findings:
                # A vocabulary term that descends from other vocabulary terms counts as them too
                # (Status epilepticus is a Seizure), exactly as a non-vocabulary descendant does.
                self._widen_vocabulary_term(hpo_id, maps_to)
                mapped[hpo_id] = self.terms[normalize_term(hpo_id)]
                continue
            term = Term(id=hpo_id, label=label, maps_to=maps_to)
            mapped[hpo_id] = term
            for name in names:
                key = normalize_term(name)
                if key and key not in self.terms:
                    self.terms[key] = term
        for old_id, new_id in sorted(obsolete.items()):
            line = _json_line(text, old_id)
            if not _HPO_ID_RE.match(old_id) or not isinstance(new_id, str):
                self.problem(
                    path, line, old_id, "E050", "`obsolete` maps retired HPO ids to current ones"
                )
                continue
            if old_id in mapped or old_id in self.findings:
                self.problem(
                    path, line, old_id, "E051", "is listed as retired but is also a current term"
                )
                continue
            target = mapped.get(new_id) or (
                self.terms.get(normalize_term(new_id)) if new_id in self.findings else None
            )
            if target is None:
                # Also catches chains and cycles: a replacement must itself be current.
                self.problem(
                    path, line, old_id, "E051", f"replacement {new_id!r} is not in the map"
                )
                continue
            key = normalize_term(old_id)
            if key not in self.terms:
                self.terms[key] = Term(
                    id=old_id,
                    label=target.label,
                    maps_to=target.maps_to,
                    note=retired_note(old_id, target.id, target.label),
                )
        return release

    def _hpo_terms(self, hpo_release: str | None) -> HpoTermIndex | None:
        """The index of other HPO terms, read on first use (``pns-rules check`` reads it now)."""
        path = self.directory / HPO_TERMS_FILE
        if not os.path.lexists(path):
            return None
        if not path.is_file():
            self.problem(path, None, None, "E052", "the HPO term index must be a regular file")
            return None
        return HpoTermIndex(path, hpo_release)

    def _widen_vocabulary_term(self, finding_id: str, maps_to: frozenset[str]) -> None:
        """Make every name of vocabulary finding ``finding_id`` count as ``maps_to`` as well."""
        old = self.terms.get(normalize_term(finding_id))
        if old is None or old.id != finding_id:
            return
        if self._names_by_finding is None:
            self._names_by_finding = {}
            for name_key, owner in self.term_owner.items():
                self._names_by_finding.setdefault(owner[0], []).append(name_key)
        widened = Term(id=old.id, label=old.label, maps_to=old.maps_to | maps_to, note=old.note)
        for name_key in self._names_by_finding.get(finding_id, ()):
            if self.terms.get(name_key) is old:
                self.terms[name_key] = widened


# -- files ------------------------------------------------------------------------------------
def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    if isinstance(exc, RecursionError):
        return "nesting is too deep to read"
    return str(exc) or type(exc).__name__


def _file_kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "directory"
    if stat.S_ISFIFO(mode):
        return "named pipe"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    return "special file"


def _too_big(size: int) -> str:
    return f"file is {size:,} bytes or more; the limit is {MAX_FILE_BYTES:,}"


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``object_pairs_hook`` refusing duplicate keys (JSON would silently keep the last)."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _toml_key_line(text: str, key: str, table: str) -> int | None:
    """The line of the first ``key =`` (bare or quoted) after the ``[table]`` header of a TOML
    text, or anywhere in it (a key written inline or dotted), if it is there."""
    forms = "|".join(re.escape(form) for form in (key, f'"{key}"', f"'{key}'"))
    assignment = re.compile(rf"(?<![^\s{{,.])(?:{forms})\s*=")
    header = re.search(rf"^\s*\[\s*{re.escape(table)}\s*\]", text, re.MULTILINE)
    match = assignment.search(text, header.end()) if header is not None else None
    match = match or assignment.search(text)
    return None if match is None else text.count("\n", 0, match.start()) + 1


def _json_line(text: str, key: str) -> int | None:
    """The line of the first ``"key":`` in a JSON text, if it is there."""
    index = text.find(json.dumps(key) + ":")
    return None if index < 0 else text.count("\n", 0, index) + 1


def _hpo_term(hpo_id: str, info: Any) -> tuple[str, frozenset[str], list[str]]:
    """The label, vocabulary ids and input names of one HPO map term, or :class:`_Invalid`."""
    if not _HPO_ID_RE.match(hpo_id):
        raise _Invalid("E050", "a term of the HPO map must be an HPO id such as HP:0001251")
    if not isinstance(info, dict):
        raise _Invalid("E050", "each term needs label and maps_to")
    _keys(info, required={"label", "maps_to"}, optional={"synonyms", "label_ambiguous"})
    label = info["label"]
    maps_to = info["maps_to"]
    synonyms = info.get("synonyms", [])
    ambiguous = info.get("label_ambiguous", False)
    if not isinstance(label, str) or not label.strip():
        raise _Invalid("E050", "`label` must be a non-empty string")
    if not isinstance(maps_to, list) or not maps_to or not all(isinstance(m, str) for m in maps_to):
        raise _Invalid("E050", "`maps_to` must be a non-empty list of vocabulary ids")
    if not isinstance(synonyms, list) or not all(isinstance(n, str) for n in synonyms):
        raise _Invalid("E050", "`synonyms` must be a list of strings")
    if not isinstance(ambiguous, bool):
        raise _Invalid("E050", "`label_ambiguous` must be true or false")
    names = [hpo_id, *synonyms] if ambiguous else [hpo_id, *synonyms, label]
    return label, frozenset(maps_to), names


# -- small typed accessors --------------------------------------------------------------------
def _keys(
    entry: Mapping[str, Any], *, required: set[str], optional: set[str], prefix: str = ""
) -> None:
    missing = sorted(required - entry.keys())
    if missing:
        # A missing citation is a citation problem (E030) before it is a schema one.
        code = "E030" if all(m in _CITATION_KEYS for m in missing) else "E010"
        raise _Invalid(code, f"missing required key(s): {', '.join(prefix + m for m in missing)}")
    unknown = sorted(entry.keys() - required - optional)
    if unknown:
        allowed = ", ".join(prefix + k for k in sorted(required | optional))
        raise _Invalid(
            "E010", f"unknown key(s): {', '.join(prefix + u for u in unknown)} (allowed: {allowed})"
        )


def _string(entry: Mapping[str, Any], key: str, prefix: str = "") -> str:
    value = entry[key]
    if not isinstance(value, str) or not value.strip():
        raise _Invalid("E011", f"`{prefix}{key}` must be a non-empty string, got {value!r}")
    return value.strip()


def _strings(
    entry: Mapping[str, Any], key: str, *, required: bool, prefix: str = ""
) -> tuple[str, ...]:
    if key not in entry:
        return ()
    value = entry[key]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise _Invalid("E011", f"`{prefix}{key}` must be a list of non-empty strings")
    if required and not value:
        raise _Invalid("E011", f"`{prefix}{key}` must not be empty")
    return tuple(v.strip() for v in value)


def _number(entry: Mapping[str, Any], key: str, prefix: str = "") -> float:
    value = entry[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _Invalid("E011", f"`{prefix}{key}` must be a number, got {value!r}")
    return float(value)


def _choice(entry: Mapping[str, Any], key: str, choices: tuple[str, ...], prefix: str = "") -> str:
    value = entry[key]
    if value not in choices:
        raise _Invalid(
            "E012", f"`{prefix}{key}` is {value!r}; expected one of {', '.join(choices)}"
        )
    return str(value)


def _slug(entry: Mapping[str, Any], key: str) -> str:
    value = _string(entry, key)
    if not _SLUG_RE.match(value):
        raise _Invalid("E012", f"id {value!r} must be lowercase letters, digits and hyphens")
    return value


def _citation(entry: Mapping[str, Any], key: str, prefix: str = "") -> str:
    if key not in entry:
        raise _Invalid("E030", f"missing citation `{prefix}{key}`")
    value = entry[key]
    if not isinstance(value, str) or not CITATION_RE.match(value.strip()):
        raise _Invalid("E030", _citation_message(prefix + key, value))
    return value.strip()


def _citation_message(key: str, value: object) -> str:
    return (
        f"`{key}` must cite PMID:<positive number> or DOI:10.<registrant>/<suffix> "
        f"(several joined by '; '), got {value!r}"
    )


def _threshold(value: Any, direction: str) -> dict[str, float]:
    """``below``/``above``: a number, or a table of numbers by sex (female, male, any)."""
    table = value if isinstance(value, dict) else {"any": value}
    if not table or set(table) - {"any", *SEXES}:
        raise _Invalid(
            "E012",
            f"`{direction}` must be a number or a table by sex (female, male), got {value!r}",
        )
    threshold = {}
    for sex in table:
        number = _number(table, sex, f"{direction}.")
        if number <= 0:
            raise _Invalid("E014", f"`{direction}` must be above 0, got {number:g}")
        threshold[sex] = number
    return threshold


def _age(value: Any) -> AgeRange:
    if not isinstance(value, dict):
        raise _Invalid("E011", "`age` must be a table { min = ..., below = ... }")
    _keys(value, required=set(), optional={"min", "below"}, prefix="age.")
    if not value:
        raise _Invalid("E014", "age range is empty: give `min`, `below` or both")
    low = _number(value, "min", "age.") if "min" in value else None
    high = _number(value, "below", "age.") if "below" in value else None
    if low is not None and not 0 <= low <= 120:
        raise _Invalid("E014", f"age.min must be between 0 and 120, got {low:g}")
    if high is not None and not 0 < high <= 121:
        raise _Invalid("E014", f"age.below must be above 0 and at most 121, got {high:g}")
    if low is not None and high is not None and low >= high:
        raise _Invalid("E014", f"age range is empty or inverted: min {low:g} >= below {high:g}")
    return AgeRange(min=low, below=high)


def _pns_care(value: Any) -> PnsCareScale:
    if not isinstance(value, dict):
        raise _Invalid("E011", "`pns_care` must be a table")
    ints = ("cancer_found", "cancer_not_found_under_2_years", "definite", "probable", "possible")
    _keys(
        value,
        required={"citation", "phenotype", "antibody", *ints},
        optional=set(),
        prefix="pns_care.",
    )
    points: dict[str, dict[str, int]] = {}
    for key, levels in (
        ("phenotype", ("high", "intermediate")),
        ("antibody", ("high", "intermediate", "low")),
    ):
        table = value[key]
        if not isinstance(table, dict):
            raise _Invalid("E011", f"`pns_care.{key}` must be a table")
        _keys(table, required=set(levels), optional=set(), prefix=f"pns_care.{key}.")
        points[key] = {level: int(_number(table, level, f"pns_care.{key}.")) for level in levels}
    numbers = {key: int(_number(value, key, "pns_care.")) for key in ints}
    if not numbers["possible"] < numbers["probable"] < numbers["definite"]:
        raise _Invalid("E014", "pns_care levels must satisfy possible < probable < definite")
    return PnsCareScale(
        citation=_citation(value, "citation", "pns_care."),
        phenotype=points["phenotype"],
        antibody=points["antibody"],
        **numbers,
    )


def _hint(name: str, known: Mapping[str, Any]) -> str:
    import difflib

    matches = difflib.get_close_matches(name, list(known), n=3, cutoff=0.6)
    return f" (did you mean {', '.join(repr(m) for m in matches)}?)" if matches else ""
