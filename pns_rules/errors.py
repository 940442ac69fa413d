"""Every exception pns-rules raises on purpose.

Each one subclasses the builtin a caller would expect, so ``except ValueError`` keeps working, and
each carries the offending value and what would have been valid.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "EngineError",
    "InputError",
    "PnsRulesError",
    "RuleFileError",
    "UnknownFindingError",
]


class PnsRulesError(Exception):
    """Base class of every error pns-rules raises on purpose."""


class InputError(PnsRulesError, ValueError):
    """A value given to :func:`pns_rules.suggest` (or an engine) is not valid.

    ``parameter`` names the argument, ``value`` is what was given (shortened in the message when it
    is long) and ``valid`` says what would have been accepted.
    """

    def __init__(self, parameter: str, value: object, valid: str) -> None:
        self.parameter = parameter
        self.value = value
        self.valid = valid
        super().__init__(f"{parameter}={_short_repr(value)} is not valid: {valid}")


class UnknownFindingError(InputError):
    """One or more findings are not in the vocabulary.

    ``unknown`` maps every unknown term, in the order given, to its closest known terms (possibly
    none). Pass ``strict=False`` to get them in ``Differential.unrecognized`` instead.
    """

    def __init__(self, unknown: dict[str, tuple[str, ...]], parameter: str = "findings") -> None:
        self.unknown = dict(unknown)
        parts = []
        for term, matches in self.unknown.items():
            hint = f" (did you mean {', '.join(repr(m) for m in matches)}?)" if matches else ""
            parts.append(f"{_short_repr(term)}{hint}")
        valid = (
            f"unknown {'term' if len(parts) == 1 else 'terms'}: {'; '.join(parts)}. "
            "Use a label, synonym or HPO id from the vocabulary, or strict=False to report "
            "unknown terms in the result instead"
        )
        PnsRulesError.__init__(self)
        self.parameter = parameter
        self.value = list(self.unknown)
        self.valid = valid
        self.args = (f"{parameter}: {valid}",)


class RuleFileError(PnsRulesError, ValueError):
    """A rule directory or file is missing, unreadable or invalid.

    ``path`` is the file (or directory), ``entry`` the id of the offending entry when known, and
    ``line`` its 1-based line number when the format allows. Loading never returns a half-built
    rule base: either every file is valid or this is raised.
    """

    def __init__(
        self,
        path: str,
        message: str,
        *,
        entry: str | None = None,
        line: int | None = None,
    ) -> None:
        self.path = path
        self.entry = entry
        self.line = line
        self.message = message
        location = path if line is None else f"{path}:{line}"
        where = f" [{entry}]" if entry else ""
        super().__init__(f"{location}{where}: {message}")


class EngineError(PnsRulesError, RuntimeError):
    """The rules engine failed while evaluating a patient.

    This signals a bug in pns-rules or durable-rules, never bad input; the engine's own exception is
    chained as ``__cause__``. The engine is left clean and later calls are unaffected.
    """


def _short_repr(value: object, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _join_choices(choices: Sequence[str]) -> str:
    return ", ".join(repr(c) for c in choices)
