"""Normalising what users type and looking it up in the vocabulary."""

from __future__ import annotations

import difflib
import functools
import re
import unicodedata
from collections.abc import Mapping

__all__ = ["closest_terms", "normalize_term"]

_SEPARATORS = re.compile(r"[\s\-_\u2010-\u2015]+")
#: Terms longer than this are never matched fuzzily (they cannot be a finding's name).
MAX_SUGGESTIBLE_LENGTH = 120


def normalize_term(text: str) -> str:
    """The lookup key of a term: Unicode-normalised, case-folded, with hyphens, underscores and runs
    of white space folded to single spaces.

    >>> normalize_term("  Slurred-Speech ")
    'slurred speech'
    """
    if len(text) <= _CACHED_LENGTH:
        return _normalize_cached(text)
    return _normalize(text)


def _normalize(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).casefold()
    return _SEPARATORS.sub(" ", folded).strip()


#: Terms up to this long are memoised (the same few thousand terms recur in every cohort).
_CACHED_LENGTH = 200
_normalize_cached = functools.lru_cache(maxsize=8192)(_normalize)


def closest_terms(term: str, candidates: Mapping[str, str], limit: int = 3) -> tuple[str, ...]:
    """Up to ``limit`` known terms closest to ``term``, as they are written in the vocabulary.

    ``candidates`` maps normalised keys to the text to show.
    """
    key = normalize_term(term)
    if not key or len(key) > MAX_SUGGESTIBLE_LENGTH:
        return ()
    matches = difflib.get_close_matches(key, list(candidates), n=limit, cutoff=0.6)
    return tuple(dict.fromkeys(candidates[m] for m in matches))
