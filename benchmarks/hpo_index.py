"""Cost of the HPO term index (rules/hpo-terms.json.gz): read once per process, on first need.

Usage::

    python -m benchmarks.hpo_index

Prints the time and resident memory the first input outside the vocabulary costs, and the
per-call time of ``suggest`` with and without such terms afterwards.
"""

from __future__ import annotations

import gc
import statistics
import time

from pns_rules import Engine

CALLS = 5_000


def _rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * 4096 / 1e6


def _median_us(engine: Engine, findings: list[str]) -> float:
    times = []
    for _ in range(CALLS):
        started = time.perf_counter()
        engine.suggest(findings, age=50)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e6


def measure(engine: Engine) -> dict[str, float]:
    """Read the index through ``engine`` (which must not have read it yet) and time suggest."""
    engine.suggest(["ataxia"], age=50)
    gc.collect()
    before = _rss_mb()
    started = time.perf_counter()
    engine.suggest(["metabolic alkalosis"], age=50)  # a current HPO term no rule uses
    loaded = time.perf_counter() - started
    gc.collect()
    grown = _rss_mb() - before
    vocabulary = ["ataxia", "nystagmus", "dysarthria"]
    mixed = [*vocabulary, "HP:0000822", "macrotia"]
    return {
        "first lookup ms": loaded * 1e3,
        "RSS growth MB": grown,
        "vocabulary only us": _median_us(engine, vocabulary),
        "with 2 unused HPO terms us": _median_us(engine, mixed),
    }


def main() -> None:
    figures = measure(Engine.shipped())
    print(
        f"first lookup (reads the index)   {figures['first lookup ms']:.0f} ms, "
        f"RSS +{figures['RSS growth MB']:.1f} MB"
    )
    print(f"suggest, vocabulary terms only   {figures['vocabulary only us']:.0f} us median")
    print(f"suggest, + 2 terms no rule uses  {figures['with 2 unused HPO terms us']:.0f} us median")


if __name__ == "__main__":
    main()
