"""Cost of reading free-text findings: the reader's index is built on the first free text read.

Usage::

    python -m benchmarks.free_text [--json]

Run it in a fresh process (``benchmarks.run`` does): the index is built once per rule base, so a
process that has already read free text would measure nothing.

Prints the time and resident memory the first free-text finding costs, and the per-call time of
``suggest`` for the same findings given as terms, as one sentence, and as a sentence that is not
read (it holds a negation; the closest-spelling suggestions for unknown text dominate its time).
"""

from __future__ import annotations

import gc
import json
import statistics
import sys
import time

from benchmarks.run import rss_mb
from pns_rules import Engine

CALLS = 5_000  # (a 25th of it for the negated sentence, whose suggestions take milliseconds)
TERMS = ["Progressive gait ataxia", "Nystagmus", "Dysarthria"]
SENTENCE = "progressive gait ataxia over 3 months, with nystagmus and dysarthria on examination"
NEGATED = "no progressive gait ataxia, nystagmus or dysarthria on examination"


def _median_us(engine: Engine, findings: list[str], calls: int = CALLS) -> float:
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        engine.suggest(findings, age=62, strict=False)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e6


def measure(engine: Engine) -> dict[str, float]:
    """Read free text through ``engine`` (which must not have read any yet) and time suggest."""
    engine.suggest(TERMS, age=62)
    engine.suggest(["HP:0000400"], age=62)  # reads the HPO term index (benchmarks.hpo_index) first
    gc.collect()
    before = rss_mb()
    started = time.perf_counter()
    result = engine.suggest([SENTENCE], age=62)
    built = time.perf_counter() - started
    gc.collect()
    grown = rss_mb() - before
    assert {f.label for f in result.findings} == set(TERMS), "the sentence must read as the terms"
    return {
        "first read ms": built * 1e3,
        "RSS growth MB": grown,
        "terms us": _median_us(engine, TERMS),
        "sentence us": _median_us(engine, [SENTENCE]),
        "negated sentence us": _median_us(engine, [NEGATED], calls=CALLS // 25),
    }


def main() -> None:
    figures = measure(Engine.shipped())
    if "--json" in sys.argv[1:]:
        print(json.dumps(figures))
        return
    print(
        f"first free text (builds the index)  {figures['first read ms']:.0f} ms, "
        f"RSS +{figures['RSS growth MB']:.1f} MB"
    )
    for key in ("terms us", "sentence us", "negated sentence us"):
        print(f"suggest, {key[:-3]:<28} {figures[key]:.0f} us median")


if __name__ == "__main__":
    main()
