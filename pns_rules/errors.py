"""Every exception pns-rules raises on purpose.

Each one subclasses the builtin a caller would expect, so ``except ValueError`` keeps working, and
each carries the offending value and what would have been valid.
"""

from __future__ import annotations

import pickle
import re
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
    """Base class of every error pns-rules raises on purpose.

    Every subclass pickles with its attributes (the default would call ``cls(message)``, which
    fails for errors built from fields), so it crosses process boundaries intact.
    """

    def __reduce__(self) -> tuple[Any, ...]:
        state = {k: _picklable(v) if k == "value" else v for k, v in self.__dict__.items()}
        return (_rebuild, (self.__class__, self.args), state)


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

    def __init__(
        self,
        unknown: Mapping[str, tuple[str, ...]],
        parameter: str = "findings",
        positions: Mapping[str, str] | None = None,
        reasons: Mapping[str, str] | None = None,
    ) -> None:
        self.unknown = dict(unknown)
        #: where each unknown term was first given, such as ``"findings[2]"``
        self.positions = dict(positions or {})
        #: why a term was not read, where that is more than its being unknown ("a minus sign...
        #: marks it as a negative or equivocal result", "not an antibody; pass it in findings")
        self.reasons = dict(reasons or {})
        PnsRulesError.__init__(self)
        self.parameter = parameter
        self.value = list(self.unknown)
        self.valid = self._valid("strict=False")
        self.args = (f"{parameter}: {self.valid}",)

    def message_for(self, lenient: str) -> str:
        """The message, naming ``lenient`` (such as ``"--lenient"`` on the command line) instead
        of ``strict=False`` as the way to report unknown terms in the result."""
        return f"{self.parameter}: {self._valid(lenient)}"

    def _valid(self, lenient: str) -> str:
        parts = []
        for term, matches in list(self.unknown.items())[:MAX_LISTED]:
            hint = f" (did you mean {', '.join(repr(m) for m in matches)}?)" if matches else ""
            reason = self.reasons.get(term)
            why = f" ({reason})" if reason else ""
            parts.append(f"{_short_repr(term)}{why}{hint}")
        more = len(self.unknown) - len(parts)
        listed = "; ".join(parts) + (f"; and {more:,} more" if more > 0 else "")
        return (
            f"unknown {'term' if len(self.unknown) == 1 else 'terms'}: {listed}. "
            f"Use a label, synonym or HPO id from the vocabulary, or {lenient} to report "
            "unknown terms in the result instead"
        )


class RuleFileError(PnsRulesError, ValueError):
    """A rule directory or file is missing, unreadable or invalid.

    ``path`` is the file (or directory), ``entry`` the id of the offending entry when known,
    ``line`` its 1-based line number when the format allows, and ``code`` the problem code (such as
    ``"E021"``, see docs/errors.md) when there is one; ``message`` then starts with that code, and
    ``detail`` is the message without it.
    Loading never returns a half-built rule base: either every file is valid or this is raised.
    """

    def __init__(
        self,
        path: str,
        message: str,
        *,
        entry: str | None = None,
        line: int | None = None,
        code: str | None = None,
    ) -> None:
        self.path = path
        self.entry = entry
        self.line = line
        self.code = code
        self.detail = message
        self.message = message if code is None else f"{code}: {message}"
        location = path if line is None else f"{path}:{line}"
        where = f" [{entry}]" if entry else ""
        super().__init__(f"{location}{where}: {self.message}")


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
            if "\n" in text:  # a table's repr (a DataFrame): its type says more in one line
                text = _type_name(value)
    except Exception:
        text = _type_name(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# Characters that would break a message over several lines (or hide part of it).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _one_line(message: str) -> str:
    """``message`` with control characters and line separators escaped, for one-line output."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], message)


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


def _rebuild(cls: type[BaseException], args: tuple[Any, ...]) -> BaseException:
    """An error of ``cls`` with ``args``, without calling its ``__init__``; pickle then restores
    its attributes."""
    error = cls.__new__(cls)
    error.args = args
    return error


def _join_choices(choices: Sequence[str]) -> str:
    return ", ".join(repr(c) for c in choices)
