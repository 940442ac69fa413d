"""The :class:`Engine`: a loaded rule base compiled into durable-rules, and :func:`suggest`."""

from __future__ import annotations

import os
import pickle
import threading
from collections.abc import Iterable
from typing import Any

from ._durable import DurableEvaluator
from .errors import InputError
from .knowledge import KnowledgeBase
from .loader import load_rule_directory, shipped_rules_directory
from .patient import Patient, check_age, check_sex, is_instance, normalize_patient
from .results import Differential, Ranking
from .scoring import Scorer

__all__ = ["Engine", "default_engine", "suggest"]


class Engine:
    """A rule base compiled into the durable-rules engine, ready to evaluate patients.

    Build one with :meth:`from_directory` (a curator's rule directory) or :meth:`shipped` (the
    rules that come with pns-rules). An engine is immutable and thread-safe; every call leaves no
    state behind in durable-rules.

    An engine pickles (to pass it to a process pool, say) as its knowledge base: unpickling
    compiles a new engine on that same rule base, which gives the same results whatever has
    happened to the rule directory since. A knowledge base that does not pickle raises
    :class:`~pns_rules.errors.InputError` naming it.
    """

    def __init__(self, knowledge_base: KnowledgeBase) -> None:
        self._kb = knowledge_base
        self._evaluator = DurableEvaluator(knowledge_base)
        self._scorer = Scorer(knowledge_base)

    def __reduce__(self) -> tuple[Any, ...]:
        # durable-rules' compiled state (a C engine, locks) cannot be pickled: send the rule base.
        try:
            data = pickle.dumps(self._kb, protocol=pickle.HIGHEST_PROTOCOL)
        except MemoryError:
            raise
        except Exception as exc:
            raise InputError(
                "knowledge_base",
                self._kb,
                "a knowledge base that pickles, to pickle its engine (pickling it raised "
                f"{type(exc).__name__}: {exc})",
            ) from exc
        return (_unpickle_engine, (type(self), data))

    @classmethod
    def from_directory(cls, path: str | os.PathLike[str]) -> Engine:
        """Load, validate and compile the rule files in ``path``.

        Raises :class:`~pns_rules.errors.RuleFileError` naming the file, entry and line of the
        first problem.
        """
        return cls(load_rule_directory(path))

    @classmethod
    def shipped(cls) -> Engine:
        """A new engine on the rules shipped with pns-rules (``suggest`` shares one instead)."""
        return cls.from_directory(shipped_rules_directory())

    @property
    def knowledge_base(self) -> KnowledgeBase:
        """The validated rule base this engine evaluates."""
        return self._kb

    def patient(
        self,
        findings: Iterable[str] | None = (),
        *,
        age: float | None = None,
        sex: str | None = None,
        antibodies: Iterable[str] | None = (),
        strict: bool = True,
        read_text: bool = True,
    ) -> Patient:
        """Validate and normalise input without evaluating it (see :meth:`suggest`)."""
        return normalize_patient(
            self._kb,
            findings,
            age=age,
            sex=sex,
            antibodies=antibodies,
            strict=strict,
            read_text=read_text,
        )

    def fired_rules(self, patient: Patient) -> frozenset[str]:
        """The ids of the rules durable-rules fires for a normalised patient.

        ``patient`` should come from :meth:`patient` on this engine; anything else (another type,
        finding ids this rule base does not have, a bad age or sex) raises
        :class:`~pns_rules.errors.InputError`.
        """
        findings, age, sex = self._check_patient(patient)
        return frozenset(self._evaluator.fired(findings, age, sex))

    def _check_patient(self, patient: object) -> tuple[frozenset[str], float | None, str | None]:
        if not is_instance(patient, Patient):
            raise InputError("patient", patient, "a Patient, as made by Engine.patient()")
        valid = "a set of this rule base's finding ids, as made by Engine.patient()"
        try:
            assert isinstance(patient, Patient)
            findings, age, sex = patient.findings, patient.age, patient.sex
            items = list(findings) if is_instance(findings, (set, frozenset)) else None
        except MemoryError:
            raise
        except Exception:  # a Patient subclass whose attributes or iteration fail
            raise InputError("patient", patient, "a Patient, as made by Engine.patient()") from None
        if items is None:
            raise InputError("patient.findings", findings, valid)
        known = self._kb.findings
        ids = []
        for finding in items:
            if not is_instance(finding, str) or str.__str__(finding) not in known:
                raise InputError("patient.findings", finding, valid)
            ids.append(str.__str__(finding))
        return frozenset(ids), check_age(age), check_sex(sex)

    def suggest(
        self,
        findings: Iterable[str] | None = (),
        *,
        age: float | None = None,
        sex: str | None = None,
        antibodies: Iterable[str] | None = (),
        strict: bool = True,
        read_text: bool = True,
    ) -> Differential:
        """Rank paraneoplastic categories, syndromes and cancers for one patient.

        ``findings`` are symptoms, signs, lab findings (and antibodies, if you like) as labels,
        synonyms or HPO ids, in any iterable; case, spacing, hyphens, order and duplicates do not
        matter. ``age`` is in years (0 to 120) or ``None``; ``sex`` is ``"female"``, ``"male"`` or
        ``None``; ``antibodies`` are antibody names such as ``"anti-Yo"``. A more specific HPO term
        counts as the vocabulary terms it descends from; any other current HPO term is recognised,
        listed in ``result.findings`` with an empty ``counts_as`` and changes nothing else.

        A finding that is free text rather than a known term is read for the known terms it names
        ("skin biopsy consistent with Sweet syndrome" counts as Sweet syndrome; each is listed in
        ``result.findings`` with the text as ``given`` and a note), unless the text holds a
        negation, a doubt or somebody else ("no ataxia", "possible", "family history"): such text
        is never read, and is unknown. ``read_text=False`` reads no free text.

        Raises :class:`~pns_rules.errors.InputError` for a bad argument, and
        :class:`~pns_rules.errors.UnknownFindingError` listing every unknown term with its closest
        known terms, unless ``strict=False``, which reports them in ``result.unrecognized``.
        """
        patient, fired = self._evaluate(findings, age, sex, antibodies, strict, read_text)
        return self._scorer.rank(patient, fired)

    def ranking(
        self,
        findings: Iterable[str] | None = (),
        *,
        age: float | None = None,
        sex: str | None = None,
        antibodies: Iterable[str] | None = (),
        strict: bool = True,
        read_text: bool = True,
    ) -> Ranking:
        """The ranked categories, syndromes and cancers of :meth:`suggest` (the same scores,
        levels and order) without explanations, evidence or screening: for cohorts, where it is
        about twice as fast. Arguments and errors are those of :meth:`suggest`."""
        patient, fired = self._evaluate(findings, age, sex, antibodies, strict, read_text)
        return self._scorer.ranking(patient, fired)

    def _evaluate(
        self,
        findings: Iterable[str] | None,
        age: float | None,
        sex: str | None,
        antibodies: Iterable[str] | None,
        strict: bool,
        read_text: bool,
    ) -> tuple[Patient, list[str]]:
        """The normalised patient and the ids of the rules durable-rules fires for it."""
        patient = self.patient(
            findings, age=age, sex=sex, antibodies=antibodies, strict=strict, read_text=read_text
        )
        return patient, self._evaluator.fired(patient.findings, patient.age, patient.sex)


def _unpickle_engine(cls: type[Engine], data: bytes) -> Engine:
    """An engine of ``cls`` on the pickled knowledge base ``data`` (see :meth:`Engine.__reduce__`)."""
    return cls(pickle.loads(data))


_default: Engine | None = None
_default_lock = threading.Lock()


def _after_fork_in_child() -> None:
    # A thread of the parent may have held the lock while it forked: that thread does not exist
    # in the child, so the child would wait for it forever.
    global _default_lock
    _default_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def default_engine() -> Engine:
    """The engine on the shipped rules, loaded once per process on first use."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = Engine.shipped()
    return _default


def suggest(
    findings: Iterable[str] | None = (),
    *,
    age: float | None = None,
    sex: str | None = None,
    antibodies: Iterable[str] | None = (),
    strict: bool = True,
    read_text: bool = True,
) -> Differential:
    """Rank paraneoplastic categories, syndromes and cancers to screen for, using the shipped rules.

    >>> result = suggest(["ataxia", "nystagmus", "dysarthria"], age=62)
    >>> result.categories[0].name
    'neurological'

    See :meth:`Engine.suggest` for the arguments and errors. The result is decision support, not a
    diagnosis.
    """
    return default_engine().suggest(
        findings, age=age, sex=sex, antibodies=antibodies, strict=strict, read_text=read_text
    )
