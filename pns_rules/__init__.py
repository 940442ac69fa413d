"""pns-rules: a ranked, explained differential of paraneoplastic syndromes from clinical findings.

Decision support, not a diagnosis. The knowledge lives in cited, declarative rule files evaluated by
the durable-rules engine::

    from pns_rules import suggest
    result = suggest(["ataxia", "nystagmus", "dysarthria"], age=62)
"""

from __future__ import annotations

from .engine import Engine, default_engine, suggest
from .errors import EngineError, InputError, PnsRulesError, RuleFileError, UnknownFindingError
from .knowledge import KnowledgeBase
from .results import (
    NOTICE,
    CancerCandidate,
    CancerReason,
    CategoryCandidate,
    Differential,
    FindingSuggestion,
    MatchedFinding,
    RankedCancer,
    RankedCategory,
    RankedSyndrome,
    Ranking,
    RecognizedFinding,
    RuleBaseInfo,
    RuleEvidence,
    SyndromeCandidate,
    UnrecognizedFinding,
)

__version__ = "0.1.0"

__all__ = [
    "NOTICE",
    "CancerCandidate",
    "CancerReason",
    "CategoryCandidate",
    "Differential",
    "Engine",
    "EngineError",
    "FindingSuggestion",
    "InputError",
    "KnowledgeBase",
    "MatchedFinding",
    "PnsRulesError",
    "RankedCancer",
    "RankedCategory",
    "RankedSyndrome",
    "Ranking",
    "RecognizedFinding",
    "RuleBaseInfo",
    "RuleEvidence",
    "RuleFileError",
    "SyndromeCandidate",
    "UnknownFindingError",
    "UnrecognizedFinding",
    "__version__",
    "default_engine",
    "suggest",
]
