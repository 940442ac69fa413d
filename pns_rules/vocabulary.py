"""Normalising what users type and looking it up in the vocabulary."""

from __future__ import annotations

import difflib
import functools
import re
import unicodedata
from collections.abc import Mapping

__all__ = ["closest_terms", "normalize_term", "variant_keys"]

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


def variant_keys(key: str) -> tuple[str, ...]:
    """Other ways of writing a normalised ``key`` that name the same thing, to look up when
    ``key`` itself is not known: the same direction word for a measurement ("raised cortisol" for
    "high cortisol"), with or without a possessive "'s" ("Cushing syndrome", "Cushing's
    syndrome"), and the last word in the singular ("pseudofractures").

    >>> "high cortisol" in variant_keys("raised cortisol")
    True
    >>> "cushing's syndrome" in variant_keys("cushing syndrome")
    True
    """
    words = key.split(" ")
    if not key or len(words) > _MAX_VARIANT_WORDS:
        return ()
    variants: list[str] = []
    group = _DIRECTION_OF.get(words[0])
    if group is not None and len(words) > 1:
        rest = " ".join(words[1:])
        variants += [f"{word} {rest}" for word in sorted(group) if word != words[0]]
    if "'s" in key or "\u2019s" in key:
        variants.append(key.replace("\u2019s", "'s").replace("'s ", " ").removesuffix("'s"))
    else:
        variants += [
            " ".join([*words[:i], f"{word}'s", *words[i + 1 :]])
            for i, word in enumerate(words[:-1])
            if word.isalpha() and len(word) > 2 and word not in _DIRECTION_OF
        ]
    last = words[-1]
    for ending, singular in _PLURALS if not last.endswith(_NOT_PLURAL) else ():
        if last.endswith(ending) and len(last) > len(ending) + 3:
            variants.append(" ".join([*words[:-1], last[: -len(ending)] + singular]))
    return tuple(dict.fromkeys(v for v in variants if v != key))
