"""The consistency analysis: implication between rules is exact, checked against brute force."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pns_rules import Engine, InputError
from pns_rules.consistency import _age_grid, check_knowledge_base, implies
from pns_rules.knowledge import AgeRange, Rule
from pns_rules.reference import rule_holds

UNIVERSE = ("a", "b", "c", "d", "e")
BOUNDS = (0.0, 10.0, 10.00005, 18.0, 18.0001, 50.0, 119.99995, 120.0, 121.0)


def _grid_neighbours(bound: float) -> set[float]:
    step = round(bound * 10_000)
    return {round(k / 10_000, 4) for k in range(step - 2, step + 3) if 0 <= k <= 1_200_000}


AGES: list[float | None] = [None, *sorted({a for b in BOUNDS for a in _grid_neighbours(b)})]
SEXES = (None, "female", "male")


@st.composite
def rules(draw: st.DrawFn) -> Rule:
    findings = st.lists(st.sampled_from(UNIVERSE), unique=True)
    all_of = draw(findings.map(lambda f: f[:2]))
    any_of = draw(findings.map(lambda f: f[:3]))
    of = draw(findings.map(lambda f: f[:4]))
    n = draw(st.integers(1, len(of))) if of else 0
    if not (all_of or any_of or of):
        all_of = [draw(st.sampled_from(UNIVERSE))]
    low = draw(st.sampled_from([None, *BOUNDS[:-2]]))
    high = draw(st.sampled_from([None, *BOUNDS[1:]]))
    age = None
    if draw(st.booleans()) and (low is None or high is None or low < high):
        age = AgeRange(min=low, below=high)
    return Rule(
        id="r",
        syndrome="s",
        item="i",
        weight=1,
        citation="PMID:1",
        all_of=tuple(all_of),
        any_of=tuple(any_of),
        at_least=n,
        at_least_of=tuple(of),
        age=age,
        sex=draw(st.sampled_from(SEXES)),
    )


def brute_force_implies(a: Rule, b: Rule) -> bool:
    for size in range(len(UNIVERSE) + 1):
        for present in map(frozenset, itertools.combinations(UNIVERSE, size)):
            for age, sex in itertools.product(AGES, SEXES):
                if rule_holds(a, present, age, sex) and not rule_holds(b, present, age, sex):
                    return False
    return True


@settings(max_examples=400, deadline=None)
@given(rules(), rules())
def test_implication_is_exact(a: Rule, b: Rule) -> None:
    assert implies(a, b) == brute_force_implies(a, b)


@settings(max_examples=100, deadline=None)
@given(rules())
def test_a_rule_implies_itself(a: Rule) -> None:
    assert implies(a, a)


def test_implication_examples() -> None:
    def rule(**fields: object) -> Rule:
        return Rule(id="r", syndrome="s", item="i", weight=1, citation="PMID:1", **fields)  # type: ignore[arg-type]

    both = rule(all_of=("a", "b"))
    either = rule(any_of=("a", "c"))
    two_of = rule(at_least=2, at_least_of=("a", "b", "c"))
    assert implies(both, either) and not implies(either, both)
    assert implies(both, two_of) and not implies(two_of, both)
    # any two of {a, b, c} include a or c; they need not include c
    assert implies(two_of, rule(any_of=("a", "c")))
    assert not implies(two_of, rule(any_of=("c",)))
    adult = rule(all_of=("a", "b"), age=AgeRange(min=18))
    assert implies(adult, both) and not implies(both, adult)
    assert implies(rule(all_of=("a",), sex="female"), rule(any_of=("a",)))
    assert not implies(rule(any_of=("a",)), rule(all_of=("a",), sex="female"))


def test_age_grid_counts_the_ages_a_patient_can_have() -> None:
    assert _age_grid(AgeRange(min=18, below=45)) == (180_000, 449_999)
    assert _age_grid(AgeRange()) == (0, 1_200_000)
    assert _age_grid(AgeRange(below=121)) == (0, 1_200_000)
    first, last = _age_grid(AgeRange(min=10.00001, below=10.00009))
    assert first > last  # no age rounded to 4 decimals lies in it
    first, last = _age_grid(AgeRange(min=10.00001, below=10.0002))
    assert (first, last) == (100_001, 100_001)
    assert math.isclose(first / 10_000, 10.0001)


RULE = Rule(id="r", syndrome="s", item="i", weight=1, citation="PMID:1", all_of=("a",), any_of=())


@pytest.mark.parametrize(
    ("a", "b", "parameter"),
    [(None, None, "a"), ("a", RULE, "a"), (RULE, {"all": ["a"]}, "b")],
    ids=["none", "text", "mapping"],
)
def test_implies_refuses_what_is_not_a_rule(a: object, b: object, parameter: str) -> None:
    with pytest.raises(InputError, match="is not valid: a Rule of a loaded rule base") as caught:
        implies(a, b)  # type: ignore[arg-type]
    assert caught.value.parameter == parameter
    assert caught.value.value == (a if parameter == "a" else b)


@pytest.mark.parametrize(
    ("arguments", "parameter"),
    [
        ({"kb": None}, "kb"),
        ({"kb": "rules"}, "kb"),
        ({"locations": 5}, "locations"),
        ({"orphans": "no"}, "orphans"),
    ],
    ids=["kb-none", "kb-path", "locations", "orphans"],
)
def test_check_knowledge_base_refuses_bad_arguments(
    engine: Engine, arguments: dict[str, object], parameter: str
) -> None:
    call = {"kb": engine.knowledge_base, "locations": None, "orphans": True, **arguments}
    with pytest.raises(InputError) as caught:
        check_knowledge_base(call.pop("kb"), **call)  # type: ignore[arg-type]
    assert caught.value.parameter == parameter
    assert caught.value.value == arguments[parameter]
