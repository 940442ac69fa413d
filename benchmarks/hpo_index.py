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
import time

from benchmarks.run import median_suggest_us, print_figures, rss_mb
from pns_rules import Engine
from pns_rules.vocabulary import normalize_term

CALLS = 5_000
#: Current HPO terms far from any paraneoplastic rule: Macrotia, Hypertelorism.
UNUSED = ("HP:0000400", "HP:0000316")


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
        "vocabulary only us": median_suggest_us(engine, vocabulary, CALLS, age=50),
        "with 2 unused HPO terms us": median_suggest_us(engine, mixed, CALLS, age=50),
    }


def main() -> None:
    figures = measure(Engine.shipped())
    print_figures(
        figures,
        [
            f"first lookup (reads the index)   {figures['first lookup ms']:.0f} ms, "
            f"RSS +{figures['RSS growth MB']:.1f} MB",
            f"suggest, vocabulary terms only   {figures['vocabulary only us']:.0f} us median",
            f"suggest, + 2 terms no rule uses  {figures['with 2 unused HPO terms us']:.0f} us median",
        ],
    )


if __name__ == "__main__":
    main()
