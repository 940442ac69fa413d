"""Finding the known terms free text names ("skin biopsy consistent with Sweet syndrome"): to read
them as findings, or to suggest them for text that is not read.

A free-text finding is read only when it asserts: text with a negation, a doubt, a family member or
a past misdiagnosis in it ("no ataxia", "possible dermatomyositis", "mother had ataxia",
"misdiagnosed as gout") is not read at all, and stays unrecognised with its suggestions. What is
read is reported, term by term, so the clinician can see it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping

from .vocabulary import normalize_term

__all__ = [
    "MAX_SEARCHED_LENGTH",
    "MIN_CONTAINED_LENGTH",
    "TextReader",
    "blocking_cue",
    "contained_terms",
]

#: Free text longer than this is not searched for the names of known terms.
MAX_SEARCHED_LENGTH = 480
#: Known terms shorter than this are not looked for inside free text (too many chance hits).
MIN_CONTAINED_LENGTH = 5

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
        key, words = self._words(text)
        found: list[str] = []
        position = 0
        while position < len(words):
            match = next(self._matches(key, words, position), None)
            if match is None:
                position += 1
            else:
                entry_words, entry = match
                found.append(entry)
                position += len(entry_words)
        return tuple(dict.fromkeys(found))

    def contained(self, text: str) -> tuple[str, ...]:
        """Every key whose whole words appear in ``text``, overlapping ones too ("gait ataxia"
        and "ataxia" from "progressive gait ataxia"), in the order they start, longest first.
        Text longer than :data:`MAX_SEARCHED_LENGTH` is not searched."""
        key, words = self._words(text)
        found = [entry for n in range(len(words)) for _, entry in self._matches(key, words, n)]
        return tuple(dict.fromkeys(found))

    @staticmethod
    def _words(text: str) -> tuple[str, list[str]]:
        """``text`` normalised, and its words (none when it is too long to search)."""
        key = normalize_term(text)
        return key, [] if len(key) > MAX_SEARCHED_LENGTH else _words_of(key)

    def _matches(
        self, key: str, words: list[str], position: int
    ) -> Iterator[tuple[tuple[str, ...], str]]:
        """The keys whose words start at ``words[position]``, longest first, with their words;
        never ``key`` itself (the whole text: a known term is looked up, not searched for)."""
        for entry_words, entry in self._by_first_word().get(words[position], ()):
            end = position + len(entry_words)
            if entry != key and tuple(words[position:end]) == entry_words:
                yield entry_words, entry


def _words_of(key: str) -> list[str]:
    """The words of normalised text, as free text is matched against known terms (an HPO id such
    as "hp:0001251" and "gottron's" are one word each)."""
    return _WORD.findall(key)


def contained_terms(
    term: str, candidates: Mapping[str, str], limit: int = 3, reader: TextReader | None = None
) -> tuple[str, ...]:
    """Up to ``limit`` known terms whose whole words appear in ``term``, longest first, as they are
    written in the vocabulary: the suggestions for free text that is not read.

    ``candidates`` maps normalised keys to the text to show; ``reader`` is a reader of (at least)
    those keys, such as the rule base's own, so that none has to be built.
    """
    found = (reader or TextReader(candidates)).contained(term)
    ordered = sorted((key for key in found if key in candidates), key=lambda k: (-len(k), k))
    return tuple(dict.fromkeys(candidates[key] for key in ordered))[:limit]


def _index(keys: Iterable[str]) -> dict[str, tuple[tuple[tuple[str, ...], str], ...]]:
    """First word -> (words, key) of every key at least :data:`MIN_CONTAINED_LENGTH` long,
    longest first."""
    index: dict[str, list[tuple[tuple[str, ...], str]]] = {}
    for key in keys:
        if len(key) < MIN_CONTAINED_LENGTH:
            continue
        words = tuple(_words_of(key))
        if words:
            index.setdefault(words[0], []).append((words, key))
    return {
        first: tuple(sorted(entries, key=lambda e: (-len(e[0]), -len(e[1]), e[1])))
        for first, entries in index.items()
    }
