"""Reading an antibody's name the many ways laboratories and papers write it.

The vocabulary lists each antibody's label and usual synonyms. Reports also write:

- wrappers around the name: "anti-Yo antibody IgG positive", "Hu Ab";
- the name spaced or punctuated otherwise: "SOX-1", "GAD-65", "GABA(B)R",
  "anti-TIF1-gamma" with a Greek gamma;
- the antigen's two names together, as the 2021 PNS criteria do (Graus et al., PMID:34006622):
  "CV2/CRMP5", "Ma2/Ta", "Tr/DNER", "anti-Hu (ANNA-1)".

:func:`antibody_term` accepts these, and only when every part names the same antibody: anything
else in the name ("anti-Yo (negative)", "Hu/Yo") leaves it unrecognised, to be reported.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .knowledge import KnowledgeBase, Term

__all__ = ["MAX_WRAPPERS", "AntibodyNames", "antibody_term", "compact_name", "names_antibodies"]

_PREFIXES = ("anti ",)
#: At most this many wrappers ("anti", "antibody", "IgG", "positive"...) are taken off a name.
MAX_WRAPPERS = 6
_SUFFIXES = (
    " positivity",
    " autoantibodies",
    " autoantibody",
    " antibodies",
    " antibody",
    " positive",
    " abs",
    " ab",
    " igg",
    "+",
)
#: A name split at "/" or brackets into more parts than this is not one antibody's names.
MAX_PARTS = 6
_WRAPPER_WORDS = frozenset(
    {"anti", *(suffix.strip() for suffix in _SUFFIXES), "igg antibody", "igg antibodies"}
)
#: Compact names shorter than this are not matched: "Hu", "Yo" and "Ri" are matched as written.
MIN_COMPACT = 4
_GREEK = str.maketrans(
    {
        "\N{GREEK SMALL LETTER ALPHA}": "alpha",
        "\N{GREEK SMALL LETTER BETA}": "beta",
        "\N{GREEK SMALL LETTER GAMMA}": "gamma",
        "\N{GREEK SMALL LETTER DELTA}": "delta",
        "\N{GREEK SMALL LETTER KAPPA}": "kappa",
    }
)
_NOT_ALNUM = re.compile(r"[^0-9a-z]+")
_ALTERNATIVES = re.compile(r"\s*[/()\[\]]\s*")
_PLAIN = re.compile(r"[0-9a-z\u03b1-\u03c9 ()\[\]/]+")
_EMPTY_PART = re.compile(r"[(\[]\s*[)\]]|^\s*/|/\s*$|/\s*/|/\s*[)\]]|[(\[]\s*/")


def compact_name(key: str) -> str:
    """A normalised name with Greek letters spelt out and everything but ASCII letters and digits
    taken out: "gaba(b)r" and "gabab r" are both "gababr", a Greek gamma after "tif1" gives "tif1gamma"."""
    return _NOT_ALNUM.sub("", key.translate(_GREEK))


class AntibodyNames:
    """Compact names of the vocabulary's antibodies, indexed on first use.

    A compact name two different antibodies share is left out: it names neither.
    """

    def __init__(self, terms: Mapping[str, Term], antibodies: Collection[str]) -> None:
        self._terms = terms
        self._antibodies = frozenset(antibodies)
        self._index: dict[str, Term] | None = None

    def __getstate__(self) -> dict[str, object]:
        return {"_terms": self._terms, "_antibodies": self._antibodies, "_index": None}

    def lookup(self, key: str) -> Term | None:
        """The antibody whose compact name is ``compact_name(key)``, or ``None``."""
        name = compact_name(key)
        if len(name) < MIN_COMPACT:
            return None
        return self._indexed().get(name)

    def _indexed(self) -> dict[str, Term]:
        if self._index is None:
            index: dict[str, Term] = {}
            shared: set[str] = set()
            for key, term in self._terms.items():
                if not term.maps_to or not term.maps_to <= self._antibodies:
                    continue
                for core in {key, key.removeprefix("anti ")}:
                    name = compact_name(core)
                    if len(name) < MIN_COMPACT or name in shared:
                        continue
                    known = index.get(name)
                    if known is None:
                        index[name] = term
                    elif known.maps_to != term.maps_to:
                        shared.add(name)
                        del index[name]
            self._index = index
        return self._index


def antibody_term(kb: KnowledgeBase, key: str) -> Term | None:
    """The antibody a normalised ``key`` names, as laboratories and papers write it.

    Takes wrappers off ("anti", "antibody", "Ab", "IgG", "positive"), adds an "anti" prefix,
    compares names compacted (:func:`compact_name`), and splits a name at "/" and brackets when
    every part names the same antibody ("CV2/CRMP5", "anti-Hu (ANNA-1)"). The result must name
    antibodies and nothing else; otherwise ``None``.
    """
    cores = _unwrapped(key)
    found = _one_name(kb, key, cores)
    if found is not None:
        return found
    for core in sorted(cores, key=lambda c: (-len(c), c)):
        if not _ALTERNATIVES.search(core) or not _is_plain(core):
            continue
        parts = [part for part in _ALTERNATIVES.split(core) if part]
        if len(parts) > MAX_PARTS:
            continue
        # "Anti-Hu (ANNA-1) antibody/anti-Hu": a wrapper between the names is not a name.
        parts = [part for part in parts if part not in _WRAPPER_WORDS]
        if not parts:
            continue
        # A bare name ("Ta") is read as the antibody only beside another of its names ("Ma2/Ta"),
        # not in brackets alone or beside itself ("(GAD)", "GAD/GAD").
        beside = len(set(parts)) > 1
        named = [_one_name(kb, part, _unwrapped(part), beside_another=beside) for part in parts]
        first = named[0]
        if first is not None and all(
            term is not None and term.maps_to == first.maps_to for term in named
        ):
            return first
    return None


def _unwrapped(key: str) -> set[str]:
    """``key`` and every name left by taking wrappers off it."""
    cores = {key}
    changed = True
    rounds = 0
    # Each round takes one more wrapper off; a few suffice for real names, and the cap keeps a
    # hostile term ("x" followed by a thousand "+") from costing a second per call.
    while changed and rounds < MAX_WRAPPERS:
        changed = False
        rounds += 1
        for core in list(cores):
            for suffix in _SUFFIXES:
                if core.endswith(suffix) and len(core) > len(suffix):
                    stripped = core[: -len(suffix)].strip()
                    if stripped not in cores:
                        cores.add(stripped)
                        changed = True
            for prefix in _PREFIXES:
                if core.startswith(prefix) and len(core) > len(prefix):
                    stripped = core[len(prefix) :].strip()
                    if stripped not in cores:
                        cores.add(stripped)
                        changed = True
    return cores


def _one_name(
    kb: KnowledgeBase, key: str, cores: set[str], *, beside_another: bool = False
) -> Term | None:
    """The antibody one name (no alternatives) stands for: as written, unwrapped (then also with
    an "anti" prefix: "Hu Ab" is anti-Hu, while a bare "GAD" is not read as anti-GAD unless it is
    ``beside_another`` name of the antibody, as "Ta" is in "Ma2/Ta"), or compact."""
    prefixed = {f"anti {c}" for c in cores} if len(cores) > 1 or beside_another else set()
    for core in sorted(cores | prefixed, key=lambda c: (-len(c), c)):
        term = kb.terms.get(core)
        if term is not None:
            if names_antibodies(kb, term):
                return term
            if core == key:
                return None  # a finding that is not an antibody: not one by another spelling
    if kb.antibody_names is None:
        return None
    for core in sorted(cores, key=lambda c: (-len(c), c)):
        if "/" in core or not _is_plain(core):
            continue
        term = kb.antibody_names.lookup(core)
        if term is not None:
            return term
    return None


def _is_plain(core: str) -> bool:
    """Whether ``core`` holds only letters, digits, spaces, "/" and brackets, with nothing empty
    between them: "anti yo ( )" (a minus sign, folded to a space), "anti yo?" and "anti yo/" may be
    results, not names."""
    return (
        _PLAIN.fullmatch(core) is not None
        and _EMPTY_PART.search(core) is None
        and core.count("(") == core.count(")")
        and core.count("[") == core.count("]")
    )


def names_antibodies(kb: KnowledgeBase, term: Term) -> bool:
    """Whether ``term`` stands for antibodies and nothing else."""
    return bool(term.maps_to) and all(kb.findings[f].kind == "antibody" for f in term.maps_to)
