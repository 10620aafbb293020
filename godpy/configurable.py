"""Declared attributes for everything a config sets: watches, conditions, behaviors, contacts.

A subclass declares its settable attributes as plain class attributes with their defaults
(``path = None``, ``above = None``, ``times = 1``). Setting anything else raises at once with
a close-match suggestion, so a typo is reported at the line that made it.
"""

from __future__ import annotations

import difflib
import functools
import os
import re
import sys
from contextvars import ContextVar
from types import FrameType
from typing import Any, ClassVar

from godpy.errors import AttributeProblem
from godpy.units import CONVERTERS

#: The config file being loaded on this thread, if any; used to locate problems.
LOADING_FILE: ContextVar[str | None] = ContextVar("godpy_loading_file", default=None)
#: While a config loads, the list its problems go to: a bad assignment is recorded at its
#: line and the file goes on, so one run finds every mistake (None: problems are raised).
PROBLEMS: ContextVar[list[str] | None] = ContextVar("godpy_problems", default=None)

_GODPY_DIR = os.path.dirname(os.path.abspath(__file__))
_META = frozenset({"kind", "units", "required", "plugin_name", "windowed"})


def config_location() -> str:
    """Return ``file:line`` of the config line currently executing, best effort."""
    wanted = LOADING_FILE.get()
    caller: FrameType | None = sys._getframe(1)
    frame = caller if wanted else None
    while frame is not None:  # the config file's own line (compiled under that name)
        if frame.f_code.co_filename == wanted:
            return f"{wanted}:{frame.f_lineno}"
        frame = frame.f_back
    frame = caller if wanted else None
    while frame is not None:  # the same, under another spelling of its name
        if _absolute(frame.f_code.co_filename) == wanted:
            return f"{frame.f_code.co_filename}:{frame.f_lineno}"
        frame = frame.f_back
    frame = caller
    while frame is not None:  # else the first line outside godpy
        if not _absolute(frame.f_code.co_filename).startswith(_GODPY_DIR):
            return f"{frame.f_code.co_filename}:{frame.f_lineno}"
        frame = frame.f_back
    return "<unknown>"


@functools.lru_cache(maxsize=256)
def _absolute(filename: str) -> str:
    """``os.path.abspath`` of a code object's file name; config loading asks for the same
    few names thousands of times (every attribute set records its line)."""
    return os.path.abspath(filename)


class Problem(str):
    """A problem's text that remembers the ``file:line`` it belongs to (``where``)."""

    where: str | None = None


def problem(text: str, where: str | None) -> Problem:
    """``text`` located at ``where`` (None: the loader puts it at its block's line)."""
    located = Problem(text)
    located.where = where
    return located


def prefixed(prefix: str, text: str, where: str | None = None) -> Problem:
    """``prefix: text``, keeping the location of ``text`` (else taking ``where``)."""
    return problem(f"{prefix}: {text}", getattr(text, "where", None) or where)


def collecting() -> bool:
    """True while a config loads: set-time problems are recorded, not raised."""
    return PROBLEMS.get() is not None


def record(exc: Exception) -> None:
    """Record ``exc`` at the config line running now (call it only when collecting)."""
    PROBLEMS.get().append(f"{config_location()}: {exc}")


def _collected(setter):
    """Wrap a subclass's ``__setattr__``: while a config loads, the problem it raises is
    recorded at the assignment's line, and the config goes on."""

    @functools.wraps(setter)
    def __setattr__(self, name, value):
        if name[:1] == "_":  # runtime state, never a declared attribute: no checks at all
            object.__setattr__(self, name, value)
            return
        try:
            setter(self, name, value)
        except AttributeProblem as exc:
            if not collecting():
                raise
            record(exc)

    return __setattr__


def snake_case(name: str) -> str:
    """``ProcessRunning`` -> ``process_running`` (how plugin classes are named in configs)."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def suggest(word: str, choices) -> str:
    """Return ``"; did you mean 'x'?"`` for the closest choice, or ``""``."""
    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def _is_declared(name: str, value: Any) -> bool:
    if name.startswith("_") or name in _META:
        return False
    return not (callable(value) or isinstance(value, (property, classmethod, staticmethod)))


class Configurable:
    """Base for objects configured from a config file.

    Class attributes:
        kind: what the object is called in messages ("watch", "condition", ...).
        units: attribute name -> ``"seconds"``, ``"kilobytes"`` or ``"percent"``; values set
            on those attributes are converted (``"150MB"`` -> 153600.0).
        required: attributes that must not be None when the config block closes.
    """

    kind: ClassVar[str] = "object"
    units: ClassVar[dict[str, str]] = {}
    required: ClassVar[tuple[str, ...]] = ()
    _declared: ClassVar[frozenset[str]] = frozenset()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        names = set()
        for klass in reversed(cls.__mro__):
            names.update(n for n, v in vars(klass).items() if _is_declared(n, v))
        cls._declared = frozenset(names)
        # A subclass's ``units`` adds to its bases' (``interval`` stays in seconds).
        merged: dict[str, str] = {}
        for klass in reversed(cls.__mro__):
            merged.update(vars(klass).get("units", {}))
        cls.units = merged
        if "__setattr__" in vars(cls):
            cls.__setattr__ = _collected(vars(cls)["__setattr__"])

    def __init__(self, **attrs):
        self._where = config_location()
        self.configure(**attrs)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        return None

    @classmethod
    def attributes(cls) -> dict[str, Any]:
        """Return the declared attributes and their defaults, for help texts."""
        return {name: getattr(cls, name) for name in sorted(cls._declared)}

    def configure(self, **attrs) -> None:
        """Set several attributes at once, with the same checks as assignment."""
        for name, value in attrs.items():
            setattr(self, name, value)

    def describe(self) -> str:
        """Return how messages name this object, e.g. ``condition memory_usage``."""
        name = getattr(self, "plugin_name", None) or snake_case(type(self).__name__)
        return f"{self.kind} {name}"

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_"):
            object.__setattr__(self, name, value)
            return
        try:
            self._assign(name, value)
        except AttributeProblem as exc:
            if not collecting():
                raise
            record(exc)
            return
        self.remember_line(name)

    def _assign(self, name: str, value: Any) -> None:
        cls = type(self)
        if name in cls._declared:
            object.__setattr__(self, name, self._convert(name, value))
            return
        prop = getattr(cls, name, None)
        if isinstance(prop, property) and prop.fset is not None:
            prop.fset(self, value)
            return
        raise AttributeProblem(
            f"unknown attribute '{name}' for {self.describe()}{suggest(name, cls._declared)}"
        )

    def remember_line(self, name: str) -> None:
        """Remember the config line that set attribute ``name`` (while a config loads),
        so a problem found when the block closes points at it."""
        if LOADING_FILE.get() is not None:
            self.__dict__.setdefault("_lines", {})[name] = config_location()

    def line_of(self, *names: str) -> str:
        """``file:line`` that set the first of ``names`` that was set, else the line that
        made this object."""
        lines = self.__dict__.get("_lines", {})
        return next((lines[n] for n in names if n in lines), self._where)

    def _convert(self, name: str, value: Any) -> Any:
        unit = type(self).units.get(name)
        if unit is None or value is None:
            return value
        try:
            return CONVERTERS[unit](value)
        except ValueError as exc:
            raise AttributeProblem(f"{self.describe()}: {name}: {exc}") from None

    def prepare(self) -> None:
        """Normalize attributes once the config block is complete (optional hook)."""

    def valid(self) -> list[str]:
        """Return a list of problems (empty when valid); the base checks ``required``."""
        return [
            f"{self.describe()}: '{name}' is required"
            for name in type(self).required
            if getattr(self, name, None) is None
        ]

    def reset(self) -> None:
        """Forget runtime history (called when the owning state is left)."""


class StandIn(Configurable):
    """Takes the place of a plugin that could not be found while a config loads (its
    problem is recorded), so the config goes on and its later lines are checked too."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_"):
            object.__setattr__(self, name, value)
