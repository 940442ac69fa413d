"""The ``pns-rules`` command line."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tomllib
from collections.abc import Sequence
from typing import Any, TextIO

from . import __version__, batch, check, cli_serve
from .engine import Engine, default_engine
from .errors import (
    EngineError,
    InputError,
    PnsRulesError,
    RuleFileError,
    UnknownFindingError,
    _one_line,
    _short_repr,
)
from .loader import MANIFEST_FILE, shipped_rules_directory
from .patient import check_sex
from .results import Differential

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_INTERNAL",
    "EXIT_RULES",
    "format_differential",
    "main",
    "version_text",
]

LOOK_FOR_SHOWN = 5
#: Exit codes: a rule-file (or other file) problem, bad input, and a bug in pns-rules.
EXIT_RULES = 1
EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_BAD_INPUT, f"pns-rules: error: {_one_line(message)} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``pns-rules``."""
    parser = _Parser(
        prog="pns-rules",
        description="Ranked paraneoplastic differentials from clinical findings "
        "(decision support, not a diagnosis).",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    parser.add_argument(
        "--version",
        action=_Version,
        help="print the version of pns-rules and of its shipped rule base, and exit",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    suggest = commands.add_parser(
        "suggest",
        help="rank syndromes, categories and cancers for one patient",
        description="Rank paraneoplastic syndromes, categories and cancers to screen for.",
    )
    suggest.add_argument(
        "findings", nargs="*", metavar="FINDING", help="symptoms, signs, lab findings or HPO ids"
    )
    suggest.add_argument("--age", type=_age, help="age in years (0-120)")
    suggest.add_argument("--sex", type=_sex, help="patient sex: female or male (any case)")
    suggest.add_argument(
        "--antibody",
        "-a",
        action="append",
        default=[],
        dest="antibodies",
        metavar="NAME",
        help="a positive antibody such as anti-Yo (repeatable)",
    )
    suggest.add_argument(
        "--lenient",
        action="store_true",
        help="report unknown terms in the output instead of failing",
    )
    suggest.add_argument(
        "--no-read-text",
        action="store_true",
        help="do not read free-text findings for the known terms they name (see docs/api.md)",
    )
    suggest.add_argument("--json", action="store_true", help="print JSON for machines")
    suggest.add_argument(
        "--rules", metavar="DIR", help="a rule directory instead of the shipped rules"
    )
    suggest.set_defaults(handler=_suggest)
    check.add_parser(commands)
    cli_serve.add_parser(commands)
    batch.add_parser(commands)
    return parser


def version_text() -> str:
    """``pns-rules VERSION (rule base VERSION: NAME)`` of the shipped rules, read from their manifest
    alone (the rules are not loaded); a manifest that cannot be read is named as such."""
    path = shipped_rules_directory() / MANIFEST_FILE
    try:
        with open(path, "rb") as manifest:
            data = tomllib.load(manifest)
        rules = f"{data['version']}: {data['name']}"
    except Exception as exc:  # the version must print even when the rules are broken
        rules = f"unreadable: {path}: {type(exc).__name__}: {exc}"
    return f"pns-rules {__version__} (rule base {_one_line(rules)})"


class _Version(argparse.Action):
    """``--version``: print :func:`version_text` on stdout and exit 0, as argparse's own."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        kwargs.update(nargs=0, default=argparse.SUPPRESS)
        super().__init__(option_strings, argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *args: Any) -> None:
        sys.stdout.write(version_text() + "\n")
        sys.stdout.flush()
        parser.exit(0)


def _age(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"age must be a number of years, got {_short_repr(text)}"
        ) from None


def _sex(text: str) -> str | None:
    """``text`` as ``"female"`` or ``"male"`` (any case, as ``suggest`` takes it)."""
    try:
        return check_sex(text)
    except InputError:
        raise argparse.ArgumentTypeError(
            f"sex must be female or male (any case), got {_short_repr(text)}"
        ) from None


def _suggest(args: argparse.Namespace, out: TextIO) -> int:
    engine = Engine.from_directory(args.rules) if args.rules is not None else default_engine()
    result = engine.suggest(
        args.findings,
        age=args.age,
        sex=args.sex,
        antibodies=args.antibodies,
        strict=not args.lenient,
        read_text=not args.no_read_text,
    )
    if args.json:
        _write(out, json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n")
    else:
        _write(out, format_differential(result))
    return 0


def _write(out: TextIO, text: str) -> None:
    """Write ``text``, escaping what the output's encoding cannot hold (a term given as bytes
    that are not UTF-8 arrives as lone surrogates) instead of failing."""
    try:
        out.write(text)
    except UnicodeEncodeError:
        encoding = getattr(out, "encoding", None) or "utf-8"
        out.write(text.encode(encoding, "backslashreplace").decode(encoding))


def format_differential(result: Differential) -> str:
    """A readable, ranked text report of ``result`` with the reasons behind each candidate."""
    lines = [f"pns-rules {result.rule_base.version}: {result.notice}", ""]
    patient = []
    if result.age is not None:
        patient.append(f"age {result.age:g}")
    if result.sex is not None:
        patient.append(result.sex)
    found = ", ".join(
        (f.label if f.label.casefold() == f.given.casefold() else f"{f.given} -> {f.label}")
        + ("" if f.counts_as else " (no rule uses it)")
        for f in result.findings
    )
    lines.append(f"Patient: {'; '.join(patient) or 'age and sex not given'}")
    lines.append(f"Findings: {found or 'none'}")
    for unknown in result.unrecognized:
        hint = f" (did you mean {', '.join(unknown.suggestions)}?)" if unknown.suggestions else ""
        lines.append(f"Not recognised: {unknown.given!r}{hint}")
    for note in result.notes:
        lines.append(f"Note: {note}")
    lines.append("")
    if not result.syndromes:
        lines.append("No paraneoplastic syndrome is suggested by these findings.")
        return "\n".join(lines) + "\n"
    lines.append("Categories")
    for rank, category in enumerate(result.categories, 1):
        lines.append(f"  {rank}. {category.name:<15} {category.score:>5g}  {category.level}")
    lines.append("")
    lines.append("Syndromes")
    for rank, syndrome in enumerate(result.syndromes, 1):
        lines.append(
            f"  {rank}. {syndrome.name} [{syndrome.category}]  {syndrome.score:g} ({syndrome.level})"
        )
        for evidence in syndrome.evidence:
            matched = ", ".join(m.label for m in evidence.matched)
            extra = f"; {', '.join(evidence.conditions)}" if evidence.conditions else ""
            counted = "" if evidence.counted else ", not counted: same item"
            lines.append(
                f"       why: {evidence.description or evidence.rule} "
                f"(+{evidence.weight}{counted}) [{matched}{extra}] {evidence.citation}"
            )
        if syndrome.pns_care is not None:
            care = syndrome.pns_care
            lines.append(
                f"       PNS-Care ({care.citation}): phenotype {care.phenotype_points} + antibody "
                f"{care.antibody_points} = {care.points_before_screening} before screening; "
                f"{care.if_consistent_cancer_found} ({care.level_if_consistent_cancer_found}) if a "
                f"consistent cancer is found, {care.if_no_cancer_found_yet} "
                f"({care.level_if_no_cancer_found_yet}) if none is found within 2 years"
            )
        if syndrome.look_for:
            shown = ", ".join(s.label for s in syndrome.look_for[:LOOK_FOR_SHOWN])
            more = len(syndrome.look_for) - LOOK_FOR_SHOWN
            lines.append(f"       look for: {shown}{f' (+{more} more)' if more > 0 else ''}")
    lines.append("")
    lines.append("Cancers to screen for")
    for rank, cancer in enumerate(result.cancers, 1):
        lines.append(f"  {rank}. {cancer.name}  {cancer.score:g} ({cancer.level})")
        lines.append(f"       why: {'; '.join(r.describe() for r in cancer.reasons)}")
        if cancer.note is not None:
            lines.append(f"       note: {cancer.note}")
        screening = cancer.screening
        lines.append(
            f"       screen: {screening.first_line}; then {screening.second_line}. "
            f"{screening.repeat} [{screening.citation}]"
        )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run ``pns-rules``; returns the exit code.

    0 success, 1 a rule-file or other file problem, 2 bad input, 3 a bug in pns-rules, 130
    interrupted. Errors are one line on stderr; ``--debug`` shows the traceback instead.
    """
    out = out if out is not None else sys.stdout
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.handler(args, out)
        out.flush()
        return code
    except BrokenPipeError:
        # The reader went away (``pns-rules ... | head``): not an error worth a message, and
        # Python must not complain again when it flushes stdout at exit.
        if args.debug:
            raise
        if out is sys.stdout:
            _silence_stdout()
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        if args.debug:
            raise
        _error("interrupted")
        return EXIT_INTERRUPTED
    except EngineError as exc:
        if args.debug:
            raise
        _error(f"internal error in the rules engine: {exc} (please report it; --debug shows more)")
        return EXIT_INTERNAL
    except PnsRulesError as exc:
        if args.debug:
            raise
        _error(exc.message_for("--lenient") if isinstance(exc, UnknownFindingError) else str(exc))
        return EXIT_RULES if isinstance(exc, RuleFileError) else EXIT_BAD_INPUT
    except OSError as exc:
        if args.debug:
            raise
        _error(str(exc))
        return EXIT_RULES
    except Exception as exc:
        if args.debug:
            raise
        _error(
            f"internal error: {type(exc).__name__}: {exc} "
            "(please report it; --debug shows the traceback)"
        )
        return EXIT_INTERNAL


def _error(message: str) -> None:
    """One line on stderr, whatever the message holds (a path with a newline, say)."""
    sys.stderr.write(f"pns-rules: error: {_one_line(message)}\n")
    sys.stderr.flush()


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    raise SystemExit(main())
