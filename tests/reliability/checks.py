"""What every outcome of a hostile call must satisfy: the oracle of the reliability tests."""

from __future__ import annotations

import json
import math
import pickle
from collections.abc import Iterable
from typing import Any

from pns_rules import NOTICE, Differential, InputError, UnknownFindingError
from pns_rules.knowledge import SEXES, KnowledgeBase
from pns_rules.patient import Patient
from pns_rules.reference import reference_fired

LEVELS = ("high", "intermediate", "low")
MAX_MESSAGE = 20_000


def given_terms(call: dict[str, Any]) -> list[str] | None:
    """Every term of a call's ``findings`` and ``antibodies`` as plain str, when they can be read
    without consuming them (lists, tuples, sets of strings); else ``None``."""
    terms: list[str] = []
    for key in ("findings", "antibodies"):
        value = call.get(key, ())
        if value is None:
            continue
        if type(value) not in (list, tuple, set, frozenset):
            return None
        for item in value:
            if not issubclass(type(item), str):  # type(), as isinstance may raise
                return None
            terms.append(str.__str__(item))
    return terms


def check_input_error(error: BaseException) -> None:
    """A documented input error: an InputError (a ValueError) that names the parameter, says
    what is valid, renders a bounded message and pickles intact."""
    assert isinstance(error, InputError), f"undocumented {type(error).__name__}: {error!r}"
    assert isinstance(error, ValueError)
    message = str(error)
    assert message and len(message) < MAX_MESSAGE, len(message)
    assert isinstance(error.parameter, str) and error.parameter
    assert isinstance(error.valid, str) and error.valid
    if isinstance(error, UnknownFindingError):
        assert error.unknown
        assert all(type(term) is str for term in error.unknown)
        assert set(error.positions) == set(error.unknown)
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error) and str(copy) == message


def check_differential(
    kb: KnowledgeBase, result: object, terms: Iterable[str] | None = None
) -> None:
    """A valid differential: consistent with the reference evaluator, ordered, JSON-ready, and
    accounting for every term it was given (none silently dropped)."""
    assert type(result) is Differential, type(result)
    json.dumps(result.to_dict())
    assert result.notice == NOTICE
    assert result.age is None or (type(result.age) is float and 0 <= result.age <= 120)
    assert result.sex is None or result.sex in SEXES
    present = frozenset(f for r in result.findings for f in r.counts_as)
    assert present <= kb.findings.keys()
    assert set(result.fired_rules) == reference_fired(kb, present, result.age, result.sex)
    for group in (result.categories, result.syndromes, result.cancers):
        for candidate in group:
            assert math.isfinite(candidate.score) and candidate.score > 0
            assert candidate.level in LEVELS
    for group in (result.categories, result.syndromes):
        keys = [(-c.score, getattr(c, "id", getattr(c, "name", ""))) for c in group]
        assert keys == sorted(keys)
    # cancers of equal score follow their best syndrome, then the rule files' order
    # (docs/scoring.md; the property tests check that order exactly)
    scores = [c.score for c in result.cancers]
    assert scores == sorted(scores, reverse=True)
    if terms is not None:
        accounted = {r.given for r in result.findings} | {u.given for u in result.unrecognized}
        assert set(terms) <= accounted, set(terms) - accounted


def check_patient(kb: KnowledgeBase, patient: object, terms: Iterable[str] | None) -> None:
    """A valid normalised patient."""
    assert type(patient) is Patient
    assert type(patient.findings) is frozenset and patient.findings <= kb.findings.keys()
    assert patient.age is None or (type(patient.age) is float and 0 <= patient.age <= 120)
    assert patient.sex is None or patient.sex in SEXES
    counted = frozenset(f for r in patient.recognized for f in r.counts_as)
    assert counted == patient.findings
    if terms is not None:
        accounted = {r.given for r in patient.recognized} | {u.given for u in patient.unrecognized}
        assert set(terms) <= accounted
