"""Current HPO terms that no rule uses, so valid HPO input is recognised rather than refused.

A rule directory's ``hpo-terms.json.gz`` (written by ``scripts/build_hpo_map.py`` beside
``hpo-map.json``) lists every current HPO term that is neither a vocabulary finding nor one of
their descendants, with its label and exact synonyms, plus retired ids whose replacement is such a
term. A patient given one of them (Hypertension, HP:0000822, in a rule base without a rule on it)
is not an input error: the term is reported in the result as recognised and used by no rule.

The file is read on the first lookup that needs it, not when the rules load: most calls name only
vocabulary terms, and the index costs a few megabytes in memory.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from .errors import RuleFileError
from .vocabulary import normalize_term

__all__ = ["FILE_NAME", "HpoTerm", "HpoTermIndex", "retired_note"]

FILE_NAME = "hpo-terms.json.gz"
#: The decompressed document may not be larger than this (the 2025 release is ~1.6 MB).
MAX_SIZE = 64 * 1024 * 1024


@attrs.frozen
class HpoTerm:
    """A current HPO term no rule uses, as an input resolved to it."""

    id: str
    label: str
    note: str


class HpoTermIndex:
    """Lazily loaded lookup of current HPO ids, labels and exact synonyms outside the vocabulary.

    Thread- and fork-safe without a lock: reading is idempotent, so threads that race on the
    first lookup each read the file and one result is kept. A failed read raises
    :class:`~pns_rules.errors.RuleFileError` (and is retried on the next lookup). Pickling sends
    the path, not the loaded index.
    """

    def __init__(self, path: Path, hpo_release: str | None) -> None:
        self.path = path
        self.hpo_release = hpo_release
        self._index: _Index | None = None

    def __getstate__(self) -> dict[str, object]:
        return {"path": self.path, "hpo_release": self.hpo_release}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.path = state["path"]
        self.hpo_release = state["hpo_release"]
        self._index = None

    def __repr__(self) -> str:
        state = "loaded" if self._index is not None else "not loaded"
        return f"HpoTermIndex({str(self.path)!r}, {state})"

    def lookup(self, key: str) -> HpoTerm | None:
        """The term a normalised input ``key`` names, or ``None``."""
        return self.load().lookup(key)

    def load(self) -> _Index:
        """Read and check the file (once); raise :class:`RuleFileError` if it is unusable."""
        index = self._index
        if index is None:
            index = self._index = _read(self.path, self.hpo_release)
        return index


_NOTE = "a current HPO term that no rule of this rule base uses: it does not change the result"


@attrs.frozen
class _Index:
    """The loaded file, kept compact: names -> term numbers, and the (id, label) of each term."""

    terms: tuple[tuple[str, str], ...]
    #: normalised id, label or synonym -> term number
    names: Mapping[str, int]
    #: normalised retired id -> (the id as written, term number of its replacement)
    retired: Mapping[str, tuple[str, int]]

    def lookup(self, key: str) -> HpoTerm | None:
        number = self.names.get(key)
        if number is not None:
            hpo_id, label = self.terms[number]
            return HpoTerm(hpo_id, label, f"{hpo_id} ({label}) is {_NOTE}")
        old = self.retired.get(key)
        if old is None:
            return None
        old_id, number = old
        hpo_id, label = self.terms[number]
        return HpoTerm(old_id, label, f"{retired_note(old_id, hpo_id, label)}, {_NOTE}")


def retired_note(old_id: str, current_id: str, label: str) -> str:
    """The note on an input given as a retired HPO id that now reads as ``current_id``."""
    return f"{old_id} is a retired HPO id; read as its current term {current_id} ({label})"


def _read(path: Path, hpo_release: str | None) -> _Index:
    def fail(message: str) -> RuleFileError:
        return RuleFileError(str(path), message, code="E052")

    try:
        with gzip.open(path, "rb") as handle:
            raw = handle.read(MAX_SIZE + 1)
    except (OSError, EOFError) as exc:
        raise fail(f"cannot read the HPO term index: {exc}") from None
    if len(raw) > MAX_SIZE:
        raise fail(f"the HPO term index is larger than {MAX_SIZE:,} bytes")
    try:
        data: Any = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise fail(f"not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise fail("the HPO term index must be a JSON object")
    release, terms, obsolete = data.get("hpo_release"), data.get("terms"), data.get("obsolete")
    if not isinstance(terms, dict) or not isinstance(obsolete, dict):
        raise fail("`terms` and `obsolete` must be objects")
    if hpo_release is not None and release != hpo_release:
        raise fail(
            f"made from HPO {release!r} but hpo-map.json from {hpo_release!r}: regenerate both "
            "with scripts/build_hpo_map.py"
        )
    terms_list: list[tuple[str, str]] = []
    names: dict[str, int] = {}
    for hpo_id, strings in terms.items():
        if (
            not isinstance(strings, list)
            or not strings
            or not all(isinstance(s, str) and s for s in strings)
        ):
            raise fail(f"{hpo_id}: expected [label, synonyms...]")
        label, ambiguous = strings[0].removeprefix("!"), strings[0].startswith("!")
        number = len(terms_list)
        terms_list.append((hpo_id, label))
        for name in [hpo_id, *strings[1:]] if ambiguous else [hpo_id, label, *strings[1:]]:
            names.setdefault(normalize_term(name), number)
    retired: dict[str, tuple[str, int]] = {}
    for old_id, new_id in obsolete.items():
        number_of = names.get(normalize_term(new_id)) if isinstance(new_id, str) else None
        if number_of is None or terms_list[number_of][0] != new_id:
            raise fail(f"{old_id}: replacement {new_id!r} is not in the index")
        retired.setdefault(normalize_term(old_id), (old_id, number_of))
    return _Index(tuple(terms_list), names, retired)
