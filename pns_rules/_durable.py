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
- Fixed-size buffers: a fact is matched with a stack of 64 alpha nodes and holds at most 255
  properties. A patient with many findings overflowed the stack (error 303) or the property table
  (error 302), and reading or deleting that state then crashed the interpreter (segfault, or
  ``munmap_chunk()`` abort). Before each call a sound bound on the stack is computed from the
  fact; a patient that might not fit is evaluated in parts, each on a ruleset small enough that
  no fact can overflow it (see :func:`stack_bound`).
- After any failed call the engine's state is never touched again (it may be corrupt, see above):
  the evaluator drops its host and compiles a fresh one before the next call.
- ``fork()`` while another thread is inside a call would copy a held lock (and a half-updated
  engine) into the child: the child replaces the lock and, if it was held, starts a fresh host.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import threading
import weakref
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

import attrs
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
    "stack_bound",
]

CATCH_ALL = "__every_patient__"
#: At most this many alternative finding sets go into one durable-rules condition.
ALTERNATIVES_PER_CONDITION = 10
#: durable-rules matches a fact with a stack of 64 alpha nodes (``MAX_STACK_SIZE`` in its
#: ``events.c``); a fact whose :func:`stack_bound` is above this is evaluated in parts.
STACK_BUDGET = 56
#: durable-rules holds at most 255 properties per fact (``MAX_OBJECT_PROPERTIES``); a fact with
#: more than this many (before ``sid`` and ``id``) is evaluated in parts.
FACT_PROPERTY_BUDGET = 200
#: Alternatives per ruleset when a patient is evaluated in parts: with the catch-all, no fact can
#: need a deeper stack than this plus one.
PART_ALTERNATIVES = 48
_PART_SEPARATOR = "#alt"
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

    def __init__(self, kb: KnowledgeBase, *, split: bool = True) -> None:
        self._kb = kb
        self._split = split
        self._lock = threading.Lock()
        self._counter = 0
        self._sessions = 0
        self._ruleset = f"pns_{id(self):x}"
        mentioned = {f for rule in kb.rules.values() for f in rule.findings}
        self._keys = {finding_id: fact_key(finding_id) for finding_id in sorted(mentioned)}
        conditions = [{"pns": 1}] + [c for rule in kb.rules.values() for c in compile_rule(rule)]
        self._leaves, self._roots = _first_tests(conditions)
        self._parts: list[tuple[frozenset[str], DurableEvaluator]] | None = None
        self._parts_lock = threading.Lock()
        definition = ruleset_definition(kb.rules.values())
        #: durable action name -> rule id (None for the catch-all rule)
        self._actions: dict[str, str | None] = {
            name: _rule_of(name) for name in definition if name != CATCH_ALL
        }
        self._actions[CATCH_ALL] = None
        self._host: Any = None
        self._handle = 0
        self._start()
        self._session = self._new_session()
        #: the session (``sid``) the last patient was evaluated in
        self.last_sid: str | None = None
        _EVALUATORS.add(self)

    def _start(self) -> None:
        """Compile the rule base into a new private host (after a failure: a fresh one)."""
        host = _SynchronousHost()
        try:
            host.set_rulesets({self._ruleset: ruleset_definition(self._kb.rules.values())})
            self._handle = host.get_ruleset(self._ruleset)._handle
        except Exception as exc:  # durable raises bare Exception on bad definitions
            raise EngineError(f"durable-rules rejected the compiled rule base: {exc}") from exc
        self._host = host

    def fact(self, findings: Iterable[str], age: float | None, sex: str | None) -> dict[str, Any]:
        """The fact asserted for a patient (without its ``sid`` and ``id``).

        Only findings that some rule mentions are asserted: the others cannot change what fires.
        """
        keys = self._keys
        fact: dict[str, Any] = {"pns": 1}
        for finding_id in findings:
            key = keys.get(finding_id)
            if key is not None:
                fact[key] = 1
        if age is not None:
            fact["age"] = age
        if sex is not None:
            fact["sex"] = sex
        return fact

    def fired(self, findings: Iterable[str], age: float | None, sex: str | None) -> list[str]:
        """The ids of the rules that fire for a patient, in firing order."""
        findings = list(findings)
        fact = self.fact(findings, age, sex)
        if not self.fits(fact):
            return self._fired_in_parts(findings, age, sex)
        names = self.run_fact(fact)
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
            if self._host is None:  # a previous call failed, or a fork interrupted one
                self._start()
                self._session = self._new_session()
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
                # Reading or deleting the state of a failed call can crash the interpreter:
                # leave it, and the whole host with it, behind; the next call compiles a new one.
                self._host = None
                if isinstance(exc, EngineError):
                    raise
                raise EngineError(f"durable-rules failed on a patient: {exc!r}") from exc
            return names

    def fits(self, fact: Mapping[str, Any]) -> bool:
        """Whether durable-rules can evaluate ``fact`` in one call without overflowing a buffer."""
        return (
            len(fact) <= FACT_PROPERTY_BUDGET
            and stack_bound(fact, self._leaves, self._roots) <= STACK_BUDGET
        )

    def _fired_in_parts(self, findings: list[str], age: float | None, sex: str | None) -> list[str]:
        """Evaluate a patient too large for one call on rulesets of at most
        :data:`PART_ALTERNATIVES` alternatives each, skipping those none of its findings touch."""
        if not self._split:
            raise EngineError(
                "a patient does not fit durable-rules' buffers even on a partial rule base"
            )
        present = frozenset(findings)
        fired: list[str] = []
        for part_findings, part in self._partition():
            relevant = present & part_findings
            if relevant:
                fired.extend(
                    r.partition(_PART_SEPARATOR)[0] for r in part.fired(relevant, age, sex)
                )
        return list(dict.fromkeys(fired))

    def _partition(self) -> list[tuple[frozenset[str], DurableEvaluator]]:
        parts = self._parts
        if parts is None:
            with self._parts_lock:
                parts = self._parts
                if parts is None:
                    parts = self._parts = [
                        (frozenset(f for r in rules for f in r.findings), _part(self._kb, rules))
                        for rules in _split_rules(self._kb.rules.values())
                    ]
        return parts

    def _new_session(self) -> str:
        self._sessions += 1
        return f"session-{self._sessions}"

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

    def held_states(self) -> list[str]:
        """Patient data the engine, or any part of it, still holds: always empty between calls."""
        held = [json.dumps(fact, sort_keys=True) for fact in self.facts_held()]
        for _, part in self._parts or ():
            held.extend(f"part:{state}" for state in part.held_states())
        return held

    def _has_state(self, sid: str) -> bool:
        if self._host is None:
            return False
        try:
            self._host.get_state(self._ruleset, sid)
        except Exception:
            return False
        return True

    def _after_fork_in_child(self) -> None:
        if self._lock.locked():  # a thread of the parent was inside a call
            self._host = None
        self._lock = threading.Lock()
        self._parts_lock = threading.Lock()


_EVALUATORS: weakref.WeakSet[DurableEvaluator] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for evaluator in list(_EVALUATORS):
        evaluator._after_fork_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _split_rules(rules: Iterable[Rule]) -> list[list[Rule]]:
    """The rules as single-alternative rules, grouped :data:`PART_ALTERNATIVES` to a group (and
    fewer when their findings would not fit in one fact)."""
    groups: list[list[Rule]] = [[]]
    findings: set[str] = set()
    for rule in rules:
        for index, option in enumerate(alternatives(rule)):
            single = attrs.evolve(
                rule,
                id=f"{rule.id}{_PART_SEPARATOR}{index}",
                all_of=option,
                any_of=(),
                at_least=0,
                at_least_of=(),
            )
            group = groups[-1]
            if group and (
                len(group) >= PART_ALTERNATIVES
                or len(findings | set(option)) > FACT_PROPERTY_BUDGET - 8
            ):
                group = []
                groups.append(group)
                findings = set()
            group.append(single)
            findings.update(option)
    return [g for g in groups if g]


def _part(kb: KnowledgeBase, rules: list[Rule]) -> DurableEvaluator:
    return DurableEvaluator(attrs.evolve(kb, rules={r.id: r for r in rules}), split=False)


def stack_bound(
    fact: Mapping[str, Any], leaves: Mapping[str, int], roots: Mapping[str, int]
) -> int:
    """An upper bound on the alpha-node stack durable-rules needs to match ``fact``.

    durable-rules matches a fact by a depth-first walk of the alpha network, pushing every child
    that matches. A node on the stack heads its own part of the network, and each such part ends in
    at least one path (a disjunct of a condition) whose first test matched, so the stack never
    holds more nodes than there are paths whose first test is on a property of the fact
    (``leaves``). Nor more than the root's matching children (``roots``: distinct first tests per
    property) plus the paths under the one child being walked. The bound is the smaller of the two.
    """
    total = tests = widest = 0
    for key in fact:
        paths = leaves.get(key)
        if paths:
            total += paths
            tests += roots[key]
            widest = max(widest, paths)
    return min(total, tests + widest)


def _first_tests(conditions: Iterable[Any]) -> tuple[dict[str, int], dict[str, int]]:
    """Per fact property: how many paths of ``conditions`` begin with a test on it, and how many
    distinct first tests there are on it (the root's children)."""
    leaves: Counter[str] = Counter()
    firsts: dict[str, set[str]] = {}
    for condition in conditions:
        for prop, test in _path_heads(condition):
            leaves[prop] += 1
            firsts.setdefault(prop, set()).add(test)
    return dict(leaves), {prop: len(tests) for prop, tests in firsts.items()}


def _path_heads(condition: Any) -> list[tuple[str, str]]:
    """The first test of every path (disjunct) through a compiled condition, with multiplicity."""
    (operator, operand), *_ = condition.items()
    if operator == "$and":
        heads = _path_heads(operand[0])
        rest = 1
        for part in operand[1:]:
            rest *= _path_count(part)
        return heads * rest
    if operator == "$or":
        return [head for part in operand for head in _path_heads(part)]
    prop = next(iter(operand)) if operator.startswith("$") else operator
    return [(prop, json.dumps(condition, sort_keys=True))]


def _path_count(condition: Any) -> int:
    (operator, operand), *_ = condition.items()
    if operator == "$and":
        count = 1
        for part in operand:
            count *= _path_count(part)
        return count
    if operator == "$or":
        return sum(_path_count(part) for part in operand)
    return 1


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
