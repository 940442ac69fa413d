"""Every exception pns-rules raises on purpose.

Each one subclasses the builtin a caller would expect, so ``except ValueError`` keeps working, and
each carries the offending value and what would have been valid.
"""

from __future__ import annotations

import pickle
import reprlib
from collections.abc import Mapping, Sequence
from typing import Any

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

    def __reduce__(self) -> tuple[Any, ...]:
        # The default would call ``InputError(message)``; rebuild from the fields instead, so the
        # error crosses process boundaries (a process pool) intact.
        return _reduce(self, (self.parameter, _picklable(self.value), self.valid))


class UnknownFindingError(InputError):
    """One or more findings are not in the vocabulary.

    ``unknown`` maps every unknown term, in the order given, to its closest known terms (possibly
    none). Pass ``strict=False`` to get them in ``Differential.unrecognized`` instead.
    """

    def __init__(
        self,
        unknown: Mapping[str, tuple[str, ...]],
        parameter: str = "findings",
        positions: Mapping[str, str] | None = None,
    ) -> None:
        self.unknown = dict(unknown)
        #: where each unknown term was first given, such as ``"findings[2]"``
        self.positions = dict(positions or {})
        parts = []
        for term, matches in list(self.unknown.items())[:MAX_LISTED]:
            hint = f" (did you mean {', '.join(repr(m) for m in matches)}?)" if matches else ""
            parts.append(f"{_short_repr(term)}{hint}")
        more = len(self.unknown) - len(parts)
        listed = "; ".join(parts) + (f"; and {more:,} more" if more > 0 else "")
        valid = (
            f"unknown {'term' if len(self.unknown) == 1 else 'terms'}: {listed}. "
            "Use a label, synonym or HPO id from the vocabulary, or strict=False to report "
            "unknown terms in the result instead"
        )
        PnsRulesError.__init__(self)
        self.parameter = parameter
        self.value = list(self.unknown)
        self.valid = valid
        self.args = (f"{parameter}: {valid}",)

    def __reduce__(self) -> tuple[Any, ...]:
        return _reduce(self, (self.unknown, self.parameter, self.positions))


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

    def __reduce__(self) -> tuple[Any, ...]:
        # ``problems`` (set by the loader) travels in the instance dict.
        return _reduce(self, (self.path, self.message), {"entry": self.entry, "line": self.line})


class EngineError(PnsRulesError, RuntimeError):
    """The rules engine failed while evaluating a patient.

    This signals a bug in pns-rules or durable-rules, never bad input; the engine's own exception is
    chained as ``__cause__``. The engine is left clean and later calls are unaffected.
    """


#: Unknown terms named in an error message; all of them are on ``UnknownFindingError.unknown``.
MAX_LISTED = 20


class _Repr(reprlib.Repr):
    def repr_instance(self, x: object, level: int) -> str:
        try:
            text = repr(x)
        except Exception:
            return _type_name(x)
        return text if len(text) <= self.maxother else text[: self.maxother - 3] + "..."


_REPR = _Repr()
_REPR.maxlevel = 3
_REPR.maxstring = _REPR.maxother = _REPR.maxlong = 100


def _short_repr(value: object, limit: int = 80) -> str:
    """A bounded ``repr`` of any value a caller may pass, which never raises.

    Huge strings, huge integers (whose ``repr`` raises past 4,300 digits), deep nesting and objects
    whose ``__repr__`` fails all give a short, readable text.
    """
    try:
        if isinstance(value, str | bytes | bytearray) and len(value) > limit:
            text = repr(value[:limit])
        elif isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 256:
            text = f"<int of {value.bit_length():,} bits>"
        else:
            text = _REPR.repr(value)
    except Exception:
        text = _type_name(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _type_name(value: object) -> str:
    try:
        return f"<{type(value).__qualname__} object>"
    except Exception:
        return "<object>"


def _picklable(value: object) -> object:
    """``value`` itself when it pickles, else its short ``repr`` (generators, locks...)."""
    try:
        pickle.dumps(value)
    except Exception:
        return _short_repr(value)
    return value


def _reduce(
    error: BaseException, init: tuple[Any, ...], keywords: dict[str, Any] | None = None
) -> tuple[Any, ...]:
    """``__reduce__`` for an error whose ``__init__`` does not take its message."""
    state = {k: _picklable(v) if k == "value" else v for k, v in error.__dict__.items()}
    return (_rebuild, (error.__class__, init, keywords or {}, error.args), state)


def _rebuild(
    cls: type[BaseException], init: tuple[Any, ...], keywords: dict[str, Any], args: tuple[Any, ...]
) -> BaseException:
    error = cls(*init, **keywords)
    error.args = args
    return error


def _join_choices(choices: Sequence[str]) -> str:
    return ", ".join(repr(c) for c in choices)
