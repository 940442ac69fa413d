"""Normalising what users type and looking it up in the vocabulary."""

from __future__ import annotations

import difflib
import functools
import re
import unicodedata
from collections.abc import Mapping

__all__ = ["closest_terms", "contained_terms", "normalize_term"]

_SEPARATORS = re.compile(r"[\s\-_\u2010-\u2015]+")
#: Terms longer than this are never matched fuzzily (they cannot be a finding's name).
MAX_SUGGESTIBLE_LENGTH = 120
#: Free text longer than this is not searched for the names of known terms.
MAX_SEARCHED_LENGTH = 480
#: Known terms shorter than this are not looked for inside free text (too many chance hits).
MIN_CONTAINED_LENGTH = 5
_NOT_A_WORD = re.compile(r"[^\w:]+")


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


def contained_terms(term: str, candidates: Mapping[str, str], limit: int = 3) -> tuple[str, ...]:
    """Up to ``limit`` known terms whose whole words appear in ``term``, longest first, as they are
    written in the vocabulary: for free text such as "biopsy consistent with Sweet syndrome".

    Only suggested, never read as the finding: the text may say the opposite ("no ataxia").
    ``candidates`` maps normalised keys to the text to show.
    """
    key = normalize_term(term)
    if not key or len(key) > MAX_SEARCHED_LENGTH:
        return ()
    words = _padded_words(key)
    found = [
        candidate
        for candidate in candidates
        if len(candidate) >= MIN_CONTAINED_LENGTH
        and candidate != key
        and _padded_words(candidate) in words
    ]
    found.sort(key=lambda candidate: (-len(candidate), candidate))
    return tuple(dict.fromkeys(candidates[c] for c in found))[:limit]


@functools.lru_cache(maxsize=16384)
def _padded_words(text: str) -> str:
    """``text`` as its words, single-spaced and padded with a space each side, so that one term's
    words can be found inside another's as whole words (memoised: the vocabulary's keys are the
    same for every unknown term)."""
    return f" {_NOT_A_WORD.sub(' ', text).strip()} "
