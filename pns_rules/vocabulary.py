"""Normalising what users type and looking it up in the vocabulary."""

from __future__ import annotations

import difflib
import functools
import heapq
import re
import unicodedata
from collections.abc import Mapping

__all__ = ["closest_terms", "direction_variants", "normalize_term", "variant_keys"]

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
    # Only keys that share trigrams with the term, the most first, are compared: difflib over the
    # whole vocabulary took up to 40 ms per unknown term.
    index = _trigram_index(candidates)
    shared: dict[str, int] = {}
    for gram in _trigrams(key):
        for candidate in index.get(gram, ()):
            shared[candidate] = shared.get(candidate, 0) + 1
    nearest = heapq.nlargest(_COMPARED, shared, key=lambda k: (shared[k], -abs(len(k) - len(key))))
    matches = difflib.get_close_matches(key, nearest, n=limit, cutoff=_CUTOFF)
    return tuple(dict.fromkeys(candidates[m] for m in matches))


_CUTOFF = 0.6
#: At most this many keys, those sharing the most trigrams with the term, are compared.
_COMPARED = 150
_INDEXES: dict[int, tuple[Mapping[str, str], int, dict[str, list[str]]]] = {}


def _trigrams(text: str) -> set[str]:
    padded = f"  {text} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


def _trigram_index(candidates: Mapping[str, str]) -> dict[str, list[str]]:
    """Trigram -> the keys of ``candidates`` that hold it, built once per mapping."""
    cached = _INDEXES.get(id(candidates))
    if cached is not None and cached[0] is candidates and cached[1] == len(candidates):
        return cached[2]
    index: dict[str, list[str]] = {}
    for candidate in candidates:
        for gram in _trigrams(candidate):
            index.setdefault(gram, []).append(candidate)
    if len(_INDEXES) > 16:
        _INDEXES.clear()
    _INDEXES[id(candidates)] = (candidates, len(candidates), index)
    return index


#: Words that say the same of a measurement, as the first word of a name ("raised calcium",
#: "elevated calcium", "high calcium").
_SAME_DIRECTION = (
    frozenset({"elevated", "raised", "high", "increased"}),
    frozenset({"low", "reduced", "decreased", "lowered"}),
)
_DIRECTION_OF = {word: group for group in _SAME_DIRECTION for word in group}
#: Plural endings of a name's last word and their singular ("pseudofractures", "emboli").
_PLURALS = (("ies", "y"), ("es", ""), ("s", ""), ("i", "us"))
_NOT_PLURAL = ("ss", "us", "is")
#: Names with more words than this have no variants looked up.
_MAX_VARIANT_WORDS = 6


def direction_variants(key: str) -> tuple[str, ...]:
    """``key`` with its first word, a measurement's direction, swapped for another with the same
    direction ("raised cortisol" for "high cortisol"); never for the opposite direction.

    >>> "high cortisol" in direction_variants("raised cortisol")
    True
    """
    words = key.split(" ")
    group = _DIRECTION_OF.get(words[0])
    if group is None or len(words) < 2 or len(words) > _MAX_VARIANT_WORDS:
        return ()
    rest = " ".join(words[1:])
    return tuple(f"{word} {rest}" for word in sorted(group) if word != words[0])


def variant_keys(key: str) -> tuple[str, ...]:
    """Other spellings of a normalised ``key`` that name the same thing, to look up when ``key``
    itself is not known: with or without a possessive ("Cushing syndrome", "Cushing's syndrome",
    "Cushings syndrome", with a straight or curly apostrophe), and the last word in the singular
    or the plural ("pseudofractures", "hypoglycaemic episode", "DVTs").

    >>> "cushing's syndrome" in variant_keys("cushing syndrome")
    True
    """
    given = key
    key = key.replace("\u2019", "'")
    words = key.split(" ")
    if not key or len(words) > _MAX_VARIANT_WORDS:
        return ()
    variants: list[str] = [key]
    if "'s" in key:
        variants.append(key.replace("'s ", " ").removesuffix("'s"))
    else:
        for i, word in enumerate(words[:-1]):
            if not word.isalpha() or len(word) <= 2 or word in _DIRECTION_OF:
                continue
            variants.append(" ".join([*words[:i], f"{word}'s", *words[i + 1 :]]))
            if word.endswith("s") and not word.endswith("ss") and len(word) > 4:
                # "Cushings syndrome": a possessive written without its apostrophe.
                variants.append(" ".join([*words[:i], f"{word[:-1]}'s", *words[i + 1 :]]))
                variants.append(" ".join([*words[:i], word[:-1], *words[i + 1 :]]))
    last = words[-1]
    for ending, singular in _PLURALS if not last.endswith(_NOT_PLURAL) else ():
        if last.endswith(ending) and len(last) > len(ending) + 2:
            variants.append(" ".join([*words[:-1], last[: -len(ending)] + singular]))
    if last.isalpha() and not last.endswith("s") and len(last) > 2:
        variants.append(" ".join([*words[:-1], f"{last}s"]))
    return tuple(dict.fromkeys(v for v in variants if v != given))
