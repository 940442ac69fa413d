"""Small helpers shared by the tests."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pns_rules.testing import ranking

__all__ = ["SYNTHETIC_MANIFEST", "ranking", "write_rule_directory"]


#: The manifest of synthetic rule directories (no clinical content).
SYNTHETIC_MANIFEST = """name = "synthetic rule base"
version = "0"

[scoring]
high = 6
intermediate = 4

[scoring.strength]
strong = 1.0
weak = 0.5
"""
_CANCER_AND_SYNDROME = """[[cancer]]
id = "cancer-x"
name = "Cancer X"
sex = "any"
screening.first_line = "test one"
screening.second_line = "test two"
screening.repeat = "once"
screening.citation = "PMID:1"

[[syndrome]]
id = "syndrome-x"
name = "Syndrome X"
category = "other"
citations = ["PMID:1"]
cancers = [{ id = "cancer-x", strength = "strong", citation = "PMID:1" }]
"""


def write_rule_directory(
    directory: Path, findings: int, rules: Sequence[Mapping[str, Any]]
) -> Path:
    """A synthetic rule directory: findings ``pns:f0``... labelled ``finding 0``..., one syndrome,
    one cancer, and ``rules`` (each a mapping of rule keys such as ``all``, ``any``, ``at_least``,
    ``age``, ``sex``; ``weight`` and ``citation`` are filled in). No clinical content: for tests
    of the machinery only."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "manifest.toml").write_text(SYNTHETIC_MANIFEST)
    parts = [
        f'[[finding]]\nid = "pns:f{i}"\nlabel = "finding {i}"\nkind = "sign"\n'
        for i in range(findings)
    ]
    parts.append(_CANCER_AND_SYNDROME)
    for index, rule in enumerate(rules):
        body = {"weight": 1, "citation": "PMID:1", **rule}
        lines = [f'id = "rule-{index}"', 'syndrome = "syndrome-x"']
        lines += [f"{key} = {_toml(value)}" for key, value in body.items()]
        parts.append("[[rule]]\n" + "\n".join(lines) + "\n")
    (directory / "rules.toml").write_text("\n".join(parts))
    return directory


def _toml(value: Any) -> str:
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    return json.dumps(value)
