"""Cost of the HPO term index (rules/hpo-terms.json.gz): read once per process, on first need.

Usage::

    python -m benchmarks.hpo_index [--json]

Run it in a fresh process (``benchmarks.run`` does): the index is read once per process, so a
process that has already read it would measure nothing.

Prints the time and resident memory the first input outside the vocabulary costs, and the
per-call time of ``suggest`` with and without such terms afterwards.
"""

from __future__ import annotations

import gc
import json
import statistics
import sys
import time

from benchmarks.run import rss_mb
from pns_rules import Engine
from pns_rules.vocabulary import normalize_term

CALLS = 5_000
#: Current HPO terms far from any paraneoplastic rule: Macrotia, Hypertelorism.
UNUSED = ("HP:0000400", "HP:0000316")


def _median_us(engine: Engine, findings: list[str]) -> float:
    times = []
    for _ in range(CALLS):
        started = time.perf_counter()
        engine.suggest(findings, age=50)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e6


def measure(engine: Engine) -> dict[str, float]:
    """Read the index through ``engine`` (which must not have read it yet) and time suggest."""
    kb = engine.knowledge_base
    assert kb.hpo_terms is not None, "the rule base has no HPO term index"
    assert not any(normalize_term(t) in kb.terms for t in UNUSED), "pick terms outside the rules"
    engine.suggest(["ataxia"], age=50)
    gc.collect()
    before = rss_mb()
    started = time.perf_counter()
    engine.suggest([UNUSED[0]], age=50)  # a current HPO term no rule uses
    loaded = time.perf_counter() - started
    gc.collect()
    grown = rss_mb() - before
    vocabulary = ["ataxia", "nystagmus", "dysarthria"]
    mixed = [*vocabulary, *UNUSED]
    return {
        "first lookup ms": loaded * 1e3,
        "RSS growth MB": grown,
        "vocabulary only us": _median_us(engine, vocabulary),
        "with 2 unused HPO terms us": _median_us(engine, mixed),
    }


def main() -> None:
    figures = measure(Engine.shipped())
    if "--json" in sys.argv[1:]:
        print(json.dumps(figures))
        return
    print(
        f"first lookup (reads the index)   {figures['first lookup ms']:.0f} ms, "
        f"RSS +{figures['RSS growth MB']:.1f} MB"
    )
    print(f"suggest, vocabulary terms only   {figures['vocabulary only us']:.0f} us median")
    print(f"suggest, + 2 terms no rule uses  {figures['with 2 unused HPO terms us']:.0f} us median")


if __name__ == "__main__":
    main()
