"""Hypothesis strategies shared by the test suite, built on :mod:`pns_rules.testing`."""

from __future__ import annotations

import math
import numbers
import threading
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from pns_rules import testing
from pns_rules.knowledge import KnowledgeBase

ages = testing.ages()
sexes = testing.sexes()


def finding_names(kb: KnowledgeBase) -> st.SearchStrategy[str]:
    """Any way a user may name a vocabulary finding: id, label or synonym, in any case."""
    return testing.finding_ids(kb).flatmap(lambda finding_id: testing.spellings(kb, finding_id))


def patients(kb: KnowledgeBase, max_findings: int = 8) -> st.SearchStrategy[dict[str, Any]]:
    """Keyword arguments of ``suggest`` for a random valid patient (see
    :func:`pns_rules.testing.patients`)."""
    return testing.patients(kb, max_findings=max_findings).map(lambda p: p.kwargs())


# -- hostile input (tests/reliability) ----------------------------------------------------------
# Values a careless or malicious caller may pass. Each suggest() call with them must return a
# valid differential or raise a documented error.


class ReprRaises:
    """An object whose ``repr`` fails."""

    def __repr__(self) -> str:
        raise RuntimeError("repr refused")


class SneakyClass:
    """An object whose ``__class__`` raises, so ``isinstance`` itself raises."""

    @property  # type: ignore[misc]
    def __class__(self) -> type:
        raise RuntimeError("__class__ refused")


class HashRaises(str):
    """A str whose ``hash`` fails."""

    def __hash__(self) -> int:
        raise RuntimeError("hash refused")


class LyingStr(str):
    """A str that claims to equal everything and to strip to 'female'."""

    def __eq__(self, other: object) -> bool:
        return True

    def strip(self, chars: str | None = None) -> str:
        return "female"

    __hash__ = str.__hash__


class FloatLike:
    """A numpy-like scalar registered as a real number; ``__float__`` returns or raises
    ``outcome``."""

    def __init__(self, outcome: object) -> None:
        self.outcome = outcome

    def __float__(self) -> float:
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return self.outcome  # type: ignore[return-value]

    def __repr__(self) -> str:
        return f"FloatLike({self.outcome!r})"


numbers.Real.register(FloatLike)


class IterRaises:
    """An iterable whose ``__iter__`` fails."""

    def __iter__(self) -> Iterator[str]:
        raise OSError("iteration refused")


class IterNotIterator:
    """An iterable whose ``__iter__`` returns something that is not an iterator."""

    def __iter__(self) -> Any:
        return 42


class GetItemOnly:
    """A sequence by the old ``__getitem__`` protocol only (not an ``Iterable``)."""

    def __getitem__(self, index: int) -> str:
        if index < 2:
            return "ataxia"
        raise IndexError(index)


def raising_iterable(items: list[Any], at: int, error: Exception) -> Iterator[Any]:
    """A generator yielding ``items`` that raises ``error`` before item ``at``."""
    for index, item in enumerate(items):
        if index == at:
            raise error
        yield item
    raise error


def endless(item: str) -> Iterator[str]:
    """A generator that never ends."""
    while True:
        yield item


HUGE_STRING = "x" * 1_000_000
HUGE_INT = 10**5000
DEEP: list[Any] = []
for _ in range(10_000):
    DEEP = [DEEP]
SELF_REFERENCE: list[Any] = ["ataxia"]
SELF_REFERENCE.append(SELF_REFERENCE)

ERRORS = st.sampled_from(
    [
        ValueError("bad"),
        RuntimeError("bad"),
        KeyError("bad"),
        TypeError("bad"),
        ZeroDivisionError("bad"),
        OSError(5, "Input/output error"),
        UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"),
        AttributeError("bad"),
        StopIteration(),  # inside a generator: RuntimeError (PEP 479)
        RecursionError("bad"),
    ]
)
LOOKALIKES = [
    "",
    " ",
    "\x00",
    "\n",
    "\t\r\x0b\x0c",
    "\u200b",
    "\ufeff",
    "\u2028",
    "\ud800",  # a lone surrogate
    "\udcff",  # as non-UTF-8 bytes arrive from a command line
    "f\u0435male",  # Cyrillic ie for e
    "\uff46\uff45\uff4d\uff41\uff4c\uff45",  # "female" in full-width letters
    "female\x00",
    "male\u200b",
    "FEMALE",
    " Male ",
    "ataxia\u200b",
    "\u0430taxia",  # Cyrillic a
    "ATAXIA",
    "a-t-a-x-i-a",
    "HP:0001251",
    "hp_0001251",
    "HP:00012510",
    "\u0130",  # İ: casefolds to two characters
    "ﬁ",  # a ligature NFKC expands
    "\ufdfa",  # one character NFKC expands to 18
    "e\u0301",  # combining accent
    "'; DROP TABLE findings; --",
    "{{7*7}}",
    "%s%s%n",
    "../../etc/passwd",
]
unicode_text = st.text(st.characters(blacklist_categories=()), max_size=40)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.just(HUGE_INT),
    st.just(-HUGE_INT),
    st.floats(),
    st.sampled_from([math.nan, -math.nan, math.inf, -math.inf, -0.0, 5e-324, 1e308, -1e-300]),
    st.complex_numbers(),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.sampled_from([Decimal("62"), Decimal("sNaN"), Decimal("-0")]),
    st.fractions(),
    st.binary(max_size=20),
    st.builds(bytearray, st.binary(max_size=20)),
    st.builds(memoryview, st.binary(max_size=20)),
    unicode_text,
    st.sampled_from(LOOKALIKES),
    st.just(HUGE_STRING),
    st.builds(ReprRaises),
    st.builds(SneakyClass),
    st.builds(FloatLike, st.one_of(ERRORS, st.floats(), st.just("62"), st.just(None))),
    st.sampled_from([object(), Ellipsis, NotImplemented, type, len, threading.Lock()]),
    st.just(DEEP),
    st.just(SELF_REFERENCE),
)
hostile_ages = st.one_of(
    ages,
    scalars,
    st.floats(min_value=-1e-3, max_value=1e-3),
    st.floats(min_value=119.9999, max_value=120.0001),
    st.sampled_from(["62", "sixty", " 62 ", "62.0", "1e1"]),
    st.builds(FloatLike, st.floats(min_value=0, max_value=120)),
)
hostile_sexes = st.one_of(
    sexes,
    st.sampled_from(["f", "m", "F", "M", "woman", "man", "unknown", "other", "Female ", " male"]),
    scalars,
    st.builds(HashRaises, st.sampled_from(["female", "male"])),
    st.builds(LyingStr, st.sampled_from(["female", "robot"])),
)


def hostile_terms(kb: KnowledgeBase) -> st.SearchStrategy[Any]:
    """One item of ``findings`` or ``antibodies``: a name, a look-alike, junk, or no string."""
    return st.one_of(
        finding_names(kb),
        finding_names(kb).map(lambda name: f"{name}\u200b"),
        finding_names(kb).map(HashRaises),
        finding_names(kb).map(LyingStr),
        unicode_text,
        st.sampled_from(LOOKALIKES),
        st.just(HUGE_STRING),
        scalars,
    )


def _many(kb: KnowledgeBase, seed: int, size: int, valid_share: float) -> list[str]:
    """``size`` terms, about ``valid_share`` of them vocabulary names, the rest junk."""
    import random

    rng = random.Random(seed)
    names = sorted({n for f in kb.findings.values() for n in (f.id, f.label, *f.synonyms)})
    return [
        rng.choice(names) if rng.random() < valid_share else f"junk-{rng.getrandbits(32):x}"
        for _ in range(size)
    ]


def hostile_collections(kb: KnowledgeBase) -> st.SearchStrategy[Any]:
    """What a caller may pass as ``findings`` or ``antibodies``."""
    items = hostile_terms(kb)
    names = finding_names(kb)
    return st.one_of(
        st.lists(items, max_size=12),
        st.lists(names, max_size=12),
        st.lists(items, max_size=6).map(tuple),
        st.sets(names, max_size=8),
        st.frozensets(unicode_text, max_size=8),
        st.dictionaries(names, scalars, max_size=4),
        st.lists(items, max_size=8).map(iter),
        st.lists(names, max_size=8).map(lambda xs: (x for x in xs)),
        st.builds(raising_iterable, st.lists(names, max_size=6), st.integers(0, 6), ERRORS),
        st.lists(st.lists(items, max_size=3), max_size=3),
        st.builds(
            _many,
            st.just(kb),
            st.integers(0, 2**32),
            st.sampled_from([1_000, 10_000]),
            st.sampled_from([0.0, 0.5, 1.0]),
        ),
        st.just(None),
        st.just(endless("ataxia")).map(lambda _: endless("ataxia")),
        st.builds(IterRaises),
        st.builds(IterNotIterator),
        st.builds(GetItemOnly),
        scalars,
    )


def hostile_calls(kb: KnowledgeBase) -> st.SearchStrategy[dict[str, Any]]:
    """Keyword arguments for ``suggest``: valid patients, and every kind of bad argument."""
    hostile = st.fixed_dictionaries(
        {},
        optional={
            "findings": hostile_collections(kb),
            "age": hostile_ages,
            "sex": hostile_sexes,
            "antibodies": hostile_collections(kb),
            "strict": st.one_of(st.booleans(), scalars),
        },
    )
    lenient = patients(kb).map(lambda p: {**p, "strict": False})
    return st.one_of(patients(kb), lenient, hostile)
