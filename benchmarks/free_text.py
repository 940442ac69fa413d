"""Cost of reading free-text findings: the reader's index is built on the first free text read.

Usage::

    python -m benchmarks.free_text [--json]

Run it in a fresh process (``benchmarks.run`` does): the index is built once per rule base, so a
process that has already read free text would measure nothing.

Prints the time and resident memory the first free-text finding costs, and the per-call time of
``suggest`` for the same findings given as terms, as one sentence, and as a sentence that is not
read (it holds a negation, so it is unknown and suggested the terms it names).
"""

from __future__ import annotations

import gc
import time

from benchmarks.run import median_suggest_us, print_figures, rss_mb
from pns_rules import Engine

CALLS = 5_000
ARGUMENTS = {"age": 62, "strict": False}
TERMS = ["Progressive gait ataxia", "Nystagmus", "Dysarthria"]
SENTENCE = "progressive gait ataxia over 3 months, with nystagmus and dysarthria on examination"
NEGATED = "no progressive gait ataxia, nystagmus or dysarthria on examination"


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
        "terms us": median_suggest_us(engine, TERMS, CALLS, **ARGUMENTS),
        "sentence us": median_suggest_us(engine, [SENTENCE], CALLS, **ARGUMENTS),
        "negated sentence us": median_suggest_us(engine, [NEGATED], CALLS, **ARGUMENTS),
    }


def main() -> None:
    figures = measure(Engine.shipped())
    print_figures(
        figures,
        [
            f"first free text (builds the index)  {figures['first read ms']:.0f} ms, "
            f"RSS +{figures['RSS growth MB']:.1f} MB",
            *(
                f"suggest, {key[:-3]:<28} {figures[key]:.0f} us median"
                for key in ("terms us", "sentence us", "negated sentence us")
            ),
        ],
    )


if __name__ == "__main__":
    main()
