"""The durable-rules adapter: the only module that imports ``durable``.

Rule files are compiled to durable-rules ruleset definitions as data (JSON-shaped dicts), one
ruleset per engine on a private host. Each patient is asserted as one *fact* (not an event: durable
consumes an event with the first rule that matches it, while a fact is seen by every rule), the
engine starts one action per matching rule, whose names say which rules fired, and the fact is
retracted before the call returns.

Engine hazards this module designs around (see docs/engine.md):

- ``MessageNotHandledException`` when a fact matches no rule, and a crash (segfault) when the state of
  such a fact is then deleted: a catch-all rule matches every patient, so neither can happen.
- State kept per ``sid`` until deleted, which exhausts memory after a few thousand calls, and a new
  ``sid`` costs ~80 us to set up: every patient goes through one session whose fact is retracted
  before the call returns (the session holds no fact between calls; a failed call deletes the
  session and starts a new one).
- ``set_rulesets`` pops the actions out of the definition it is given: a fresh definition is built for
  each engine.
- The global host refuses a ruleset name twice: each engine has its own host.
- ``Host()`` starts background timer threads that may run pending actions on another thread: the
  private host never starts them, so all actions run inside ``assert_fact``, under the engine's lock.
- ``$ne`` conditions made the engine loop forever in our tests: the compiler never emits them.
- Its JSON parser rejects some floats Python writes with an exponent (an age of ``5e-324``
  failed with error 204): ages are rounded to 4 decimals before they reach the engine, see
  :func:`pns_rules.patient.check_age`.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections.abc import Iterable
from typing import Any

import durable.engine as durable_engine
import durable_rules_engine as _engine

from .errors import EngineError
from .knowledge import KnowledgeBase, Rule

__all__ = [
    "DurableEvaluator",
    "alternatives",
    "compile_rule",
    "fact_key",
    "ruleset_definition",
]

CATCH_ALL = "__every_patient__"
#: At most this many alternative finding sets go into one durable-rules condition.
ALTERNATIVES_PER_CONDITION = 10
_KEY_RE = re.compile(r"[^A-Za-z0-9]")


class _SynchronousHost(durable_engine.Host):  # type: ignore[misc]
    """A durable host that never starts its background dispatch threads."""

    def _run(self) -> None:
        return None


def fact_key(finding_id: str) -> str:
    """The fact property that marks a finding as present (``HP:0001251`` -> ``f_HP_0001251``)."""
    return "f_" + _KEY_RE.sub("_", finding_id)


def _present(finding_id: str) -> dict[str, Any]:
    return {fact_key(finding_id): 1}


def _conjunction(parts: list[dict[str, Any]]) -> dict[str, Any]:
    flat: list[dict[str, Any]] = []
    for part in parts:
        flat.extend(part.get("$and", [part]))
    return flat[0] if len(flat) == 1 else {"$and": flat}


def _disjunction(parts: list[dict[str, Any]]) -> dict[str, Any]:
    return parts[0] if len(parts) == 1 else {"$or": parts}


def alternatives(rule: Rule) -> list[tuple[str, ...]]:
    """The rule's finding condition as alternatives: it holds when all findings of any one hold.

    ``all = [A]``, ``any = [B, C]`` and ``at_least = {n = 2, of = [D, E, F]}`` give the six
    alternatives (A, B, D, E), (A, B, D, F), ... (A, C, E, F).
    """
    choices: list[list[tuple[str, ...]]] = [[tuple(rule.all_of)]]
    if rule.any_of:
        choices.append([(f,) for f in rule.any_of])
    if rule.at_least_of:
        choices.append(list(itertools.combinations(rule.at_least_of, rule.at_least)))
    result: list[tuple[str, ...]] = []
    for parts in itertools.product(*choices):
        conjunction = tuple(dict.fromkeys(f for part in parts for f in part))
        if conjunction not in result:
            result.append(conjunction)
    return result


def compile_rule(rule: Rule) -> list[dict[str, Any]]:
    """The durable-rules conditions (``m`` expressions) equivalent to ``rule``.

    The rule holds when any one of them holds. durable-rules refuses a condition whose disjunctive
    normal form has more than about 14 terms (error 113), so the alternatives are split into
    conditions of at most :data:`ALTERNATIVES_PER_CONDITION` each.
    """
    demographic: list[dict[str, Any]] = []
    if rule.age is not None:
        if rule.age.min is not None:
            demographic.append({"$gte": {"age": rule.age.min}})
        if rule.age.below is not None:
            demographic.append({"$lt": {"age": rule.age.below}})
    if rule.sex is not None:
        demographic.append({"sex": rule.sex})
    options = alternatives(rule)
    conditions = []
    for start in range(0, len(options), ALTERNATIVES_PER_CONDITION):
        chunk = options[start : start + ALTERNATIVES_PER_CONDITION]
        findings = _disjunction([_conjunction([_present(f) for f in c]) for c in chunk])
        conditions.append(_conjunction([findings, *demographic]))
    return conditions


class DurableEvaluator:
    """Evaluates patients against one knowledge base with durable-rules.

    Thread-safe: calls are serialised by a lock (durable-rules' C core holds the GIL anyway, so
    the lock costs no parallelism) and each call leaves nothing behind in the engine.

    The rule base is registered through durable's own ``Host.set_rulesets``, which compiles it into
    the C engine (a Rete network). Each patient is then run with the calls ``Host.assert_fact``
    makes (assert the fact, take each action the engine starts, complete it), without durable's
    per-action Python machinery, and retracted again. All patients go through one long-lived
    session (``sid``): creating a session's state costs durable about 80 us with the shipped rule
    base, ten times the matching itself, so a session per patient would dominate every call. See
    docs/engine.md for the measurements and the invariants this keeps.
    """

    def __init__(self, kb: KnowledgeBase) -> None:
        self._lock = threading.Lock()
        self._counter = 0
        self._sessions = 0
        self._ruleset = f"pns_{id(self):x}"
        self._keys = {finding_id: fact_key(finding_id) for finding_id in kb.findings}
        self._host = _SynchronousHost()
        definition = ruleset_definition(kb.rules.values())
        #: durable action name -> rule id (None for the catch-all rule)
        self._actions: dict[str, str | None] = {
            name: _rule_of(name) for name in definition if name != CATCH_ALL
        }
        self._actions[CATCH_ALL] = None
        try:
            self._host.set_rulesets({self._ruleset: definition})
            self._handle: int = self._host.get_ruleset(self._ruleset)._handle
        except Exception as exc:  # durable raises bare Exception on bad definitions
            raise EngineError(f"durable-rules rejected the compiled rule base: {exc}") from exc
        self._session = self._new_session()
        #: the session (``sid``) the last patient was evaluated in
        self.last_sid: str | None = None

    def fact(self, findings: Iterable[str], age: float | None, sex: str | None) -> dict[str, Any]:
        """The fact asserted for a patient (without its ``sid`` and ``id``)."""
        keys = self._keys
        fact: dict[str, Any] = {"pns": 1}
        for finding_id in findings:
            fact[keys[finding_id]] = 1
        if age is not None:
            fact["age"] = age
        if sex is not None:
            fact["sex"] = sex
        return fact

    def fired(self, findings: Iterable[str], age: float | None, sex: str | None) -> list[str]:
        """The ids of the rules that fire for a patient, in firing order."""
        names = self.run_fact(self.fact(findings, age, sex))
        actions = self._actions
        fired: list[str] = []
        for name in names:
            rule_id = actions[name]
            if rule_id is not None and rule_id not in fired:
                fired.append(rule_id)
        return fired

    def run_fact(self, fact: dict[str, Any]) -> list[str]:
        """Assert ``fact`` (given the session's ``sid`` and a fresh ``id``), run every action it
        starts, then retract it.

        Returns the durable action names in the order the engine started them. This is the whole
        engine call, and the floor the benchmarks measure ``suggest`` against. On any failure the
        session is deleted and a new one is used for the next call, so a failed call cannot leave
        a fact behind that later patients would meet.
        """
        with self._lock:
            self._counter += 1
            sid = self._session
            fact["sid"] = sid
            fact["id"] = str(self._counter)
            self.last_sid = sid
            handle = self._handle
            text = json.dumps(fact)
            try:
                code, state = _engine.assert_fact(handle, text)
                if code != 0:
                    raise EngineError(f"durable-rules did not take the fact (code {code})")
                names = _drain(handle, state)
                code, state = _engine.retract_fact(handle, text)
                if code != 0:
                    raise EngineError(f"durable-rules did not retract the fact (code {code})")
                if _drain(handle, state):
                    raise EngineError("durable-rules started actions on retracting a fact")
            except Exception as exc:
                self._discard(sid)
                self._session = self._new_session()
                if isinstance(exc, EngineError):
                    raise
                raise EngineError(f"durable-rules failed on a patient: {exc!r}") from exc
            return names

    def _new_session(self) -> str:
        self._sessions += 1
        return f"session-{self._sessions}"

    def _discard(self, sid: str) -> None:
        """Delete the state of ``sid`` if there is any (checked first: deleting state that does
        not exist is an error, and after some failures a crash)."""
        if not self._has_state(sid):
            return
        try:
            self._host.delete_state(self._ruleset, sid)
        except Exception:
            return

    def has_state(self, sid: str) -> bool:
        """Whether the engine holds state for ``sid`` (the session, once it has been used)."""
        with self._lock:
            return self._has_state(sid)

    def facts_held(self) -> list[dict[str, Any]]:
        """The facts the engine holds in the current session: none between calls."""
        with self._lock:
            if not self._has_state(self._session):
                return []
            facts: list[dict[str, Any]] = self._host.get_facts(self._ruleset, self._session)
            return facts

    def _has_state(self, sid: str) -> bool:
        try:
            self._host.get_state(self._ruleset, sid)
        except Exception:
            return False
        return True


def _drain(handle: int, state: int) -> list[str]:
    """Run every action the engine has started for ``state``; their names, in order."""
    names: list[str] = []
    started = _engine.start_action_for_state(handle, state)
    if started is not None:
        message: str | None = started[1]
        while message is not None:
            names.append(_action_name(message))
            message = _engine.complete_and_start_action(handle, state)
    return names


def ruleset_definition(rules: Iterable[Rule]) -> dict[str, Any]:
    """A fresh durable-rules ruleset definition for ``rules``, as data.

    One durable rule per compiled condition (named after the rule, ``id#1``, ``id#2``... for the
    further conditions of a split rule) plus a catch-all rule that every patient matches. The
    actions do nothing: :class:`DurableEvaluator` reads which rules fired from the names of the
    actions the engine starts.
    """
    definition: dict[str, Any] = {CATCH_ALL: {"all": [{"m": {"pns": 1}}], "run": _noop}}
    for rule in rules:
        for index, condition in enumerate(compile_rule(rule)):
            name = rule.id if index == 0 else f"{rule.id}#{index}"
            definition[name] = {"all": [{"m": condition}], "run": _noop}
    return definition


def _rule_of(action: str) -> str:
    return action.partition("#")[0]


def _action_name(message: str) -> str:
    """The action name of a message the engine starts: ``{"name":{...}}``.

    Action names are rule ids (slugs, ``#`` and digits) and the catch-all's name, which JSON writes
    without escapes; anything else is parsed as JSON.
    """
    if message.startswith('{"'):
        end = message.find('"', 2)
        if end > 2 and "\\" not in message[2:end]:
            return message[2:end]
    parsed = json.loads(message)
    return str(next(iter(parsed)))


def _noop(c: Any) -> None:
    return None
