"""``pns-rules check [DIR]``: validate a rule directory and report every problem.

Each problem is printed as ``file:line: CODE: [entry] message``; codes starting with ``E`` are
errors, ``W`` warnings (docs/curating.md lists them). The exit code is 1 when there are errors (or,
with ``--strict``, warnings), else 0.
"""

from __future__ import annotations

import argparse
import json
from typing import Any, TextIO

from .consistency import CheckReport, check_rule_directory
from .errors import InputError, _one_line
from .loader import shipped_rules_directory
from .patient import is_instance

__all__ = ["add_parser", "format_report"]


def add_parser(commands: argparse._SubParsersAction[Any]) -> None:
    """Register the ``check`` subcommand on ``pns-rules``' subparsers."""
    parser = commands.add_parser(
        "check",
        help="check a rule directory for errors, contradictions, redundancy and orphans",
        description="Validate a rule directory (the shipped rules by default) and report every "
        "problem as file:line: CODE: message. Exit 1 on errors (and on warnings with --strict), "
        "0 otherwise.",
    )
    parser.add_argument(
        "directory", nargs="?", metavar="DIR", help="rule directory (default: the shipped rules)"
    )
    parser.add_argument(
        "--format",
        type=str.lower,
        choices=["text", "json"],
        default="text",
        help="text (one line per problem, the default) or json for tools, any case",
    )
    parser.add_argument("--strict", action="store_true", help="treat warnings as errors")
    parser.set_defaults(handler=_check)


def _check(args: argparse.Namespace, out: TextIO) -> int:
    directory = args.directory if args.directory is not None else shipped_rules_directory()
    report = check_rule_directory(directory)
    if args.format == "json":
        json.dump(report.to_dict(strict=args.strict), out, indent=2, ensure_ascii=False)
        out.write("\n")
    else:
        out.write(format_report(report, strict=args.strict))
    return 0 if report.ok(strict=args.strict) else 1


def format_report(report: CheckReport, *, strict: bool = False) -> str:
    """One line per problem, then a summary line.

    Raises :class:`~pns_rules.errors.InputError` when ``report`` is not a :class:`CheckReport`
    or ``strict`` is not ``True`` or ``False``.
    """
    if not is_instance(report, CheckReport):
        raise InputError("report", report, "a CheckReport, as check_rule_directory returns")
    lines = [_one_line(str(problem)) for problem in report.problems]
    errors, warnings = len(report.errors), len(report.warnings)
    name = "" if report.rule_base is None else f" ({report.rule_base[0]} {report.rule_base[1]})"
    verdict = "ok" if report.ok(strict=strict) else "failed"
    mode = ", warnings count as errors" if strict else ""
    lines.append(
        f"pns-rules check: {verdict}: {_count(errors, 'error')}, {_count(warnings, 'warning')}"
        f"{mode} in {_one_line(str(report.directory))}{name}"
    )
    return "\n".join(lines) + "\n"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
