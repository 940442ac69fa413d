"""Reading the known terms a free-text finding names ("skin biopsy consistent with Sweet syndrome").

A free-text finding is read only when it asserts: text with a negation, a doubt, a family member or
a past misdiagnosis in it ("no ataxia", "possible dermatomyositis", "mother had ataxia",
"misdiagnosed as gout") is not read at all, and stays unrecognised with its suggestions. What is
read is reported, term by term, so the clinician can see it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .vocabulary import MAX_SEARCHED_LENGTH, MIN_CONTAINED_LENGTH, normalize_term

__all__ = ["TextReader", "blocking_cue"]

#: Words and phrases that stop a free-text finding from being read: negation ("no", "without",
#: "negative", "ruled out"), doubt ("possible", "suspected", "?"), somebody else ("family",
#: "mother"), a condition named only to be set aside ("misdiagnosed as", "treated as"), and
#: hypotheticals ("if", "risk of", "screening for").
_CUES = (
    "no",
    "not",
    "non",
    "none",
    "nor",
    "never",
    "without",
    "absent",
    "absence",
    "deny",
    "denies",
    "denied",
    "negative",
    "normal",
    "unremarkable",
    "free of",
    "rule out",
    "ruled out",
    "rules out",
    "r/o",
    "exclude",
    "excluded",
    "excluding",
    "exclusion",
    "unlikely",
    "possible",
    "possibly",
    "probable",
    "probably",
    "maybe",
    "may",
    "might",
    "suspect",
    "suspected",
    "suspicion",
    "suspicious",
    "query",
    "questionable",
    "uncertain",
    "equivocal",
    "consider",
    "considered",
    "versus",
    "vs",
    "differential",
    "concern",
    "worried",
    "if",
    "risk",
    "screen",
    "screening",
    "family",
    "mother",
    "father",
    "sister",
    "brother",
    "sibling",
    "son",
    "daughter",
    "parent",
    "misdiagnosed",
    "misdiagnosis",
    "misdiagnoses",
    "mistaken",
    "treated as",
    "diagnosed as",
    "attributed to",
)
_CUE_PATTERN = re.compile(
    r"(?<![\w/])(" + "|".join(re.escape(c).replace(r"\ ", r"\s+") for c in _CUES) + r")(?![\w/])"
    r"|\?"
)
_WORD = re.compile(r"\w+(?:[:']\w+)*")


def blocking_cue(text: str) -> str | None:
    """The first word or phrase in ``text`` that stops it from being read, or ``None``.

    >>> blocking_cue("no ataxia")
    'no'
    >>> blocking_cue("non-smoker") is not None, blocking_cue("progressive gait ataxia")
    (True, None)
    """
    match = _CUE_PATTERN.search(normalize_term(text))
    return match.group(0) if match else None


class TextReader:
    """Finds the known terms a free-text finding names, as whole words.

    Made from a rule base's normalised term keys; its index (first word -> keys) is built on the
    first read, so loading a rule base does not pay for it. :meth:`read` then costs a dictionary
    lookup per word of the text, not a scan of the vocabulary.
    """

    def __init__(self, keys: Iterable[str]) -> None:
        self._keys = tuple(keys)
        self._index: dict[str, tuple[tuple[tuple[str, ...], str], ...]] | None = None

    def _by_first_word(self) -> dict[str, tuple[tuple[tuple[str, ...], str], ...]]:
        # Two threads may both build it the first time: the same index, and no lock to be held
        # across a fork.
        index = self._index
        if index is None:
            index = self._index = _index(self._keys)
        return index

    def read(self, text: str) -> tuple[str, ...]:
        """The keys ``text`` names, in the order they appear, none inside another one's words.

        Where two names overlap, the one that starts first is read, and of those starting at the
        same word, the longest ("gait ataxia", not "ataxia", from "progressive gait ataxia").
        Text longer than :data:`MAX_SEARCHED_LENGTH` is not read.
        """
        key = normalize_term(text)
        if not key or len(key) > MAX_SEARCHED_LENGTH:
            return ()
        words = _WORD.findall(key)
        index = self._by_first_word()
        found: list[str] = []
        position = 0
        while position < len(words):
            for entry_words, entry in index.get(words[position], ()):
                end = position + len(entry_words)
                if entry != key and tuple(words[position:end]) == entry_words:
                    found.append(entry)
                    position = end
                    break
            else:
                position += 1
        return tuple(dict.fromkeys(found))


def _index(keys: Iterable[str]) -> dict[str, tuple[tuple[tuple[str, ...], str], ...]]:
    """First word -> (words, key) of every key at least :data:`MIN_CONTAINED_LENGTH` long,
    longest first."""
    index: dict[str, list[tuple[tuple[str, ...], str]]] = {}
    for key in keys:
        if len(key) < MIN_CONTAINED_LENGTH:
            continue
        words = tuple(_WORD.findall(key))
        if words:
            index.setdefault(words[0], []).append((words, key))
    return {
        first: tuple(sorted(entries, key=lambda e: (-len(e[0]), -len(e[1]), e[1])))
        for first, entries in index.items()
    }
