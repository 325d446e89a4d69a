"""Core value types shared by every layer: locations, unknowns, severities and findings.

These are plain frozen dataclasses rather than pydantic models because loaders create one per
parsed value; they must stay cheap.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, fields
from typing import Any, Generic, TypeVar

T = TypeVar("T")
C = TypeVar("C", bound=type)


def _pickled_by_fields(cls: C) -> C:
    """Pickle as (class, field values): the state a slotted dataclass pickles by default is
    gathered through ``dataclasses.fields()`` for every object, which made keeping a report of
    17,000 findings (the scan memo) and a cached parse (millions of positions) slow."""
    names = tuple(f.name for f in fields(cls))

    def __reduce__(self: Any) -> tuple[Any, tuple[Any, ...]]:
        return cls, tuple(getattr(self, name) for name in names)

    cls.__reduce__ = __reduce__  # type: ignore[method-assign,assignment]
    return cls


@_pickled_by_fields
@dataclass(frozen=True, slots=True, order=True)
class Location:
    """A 1-based position in a file; ``path`` is relative to the scan root, POSIX style."""

    path: str
    line: int = 1
    column: int = 1

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"


@_pickled_by_fields
@dataclass(frozen=True, slots=True)
class Unknown:
    """A value the scanner could not resolve; rules that need it stay silent (BRL002)."""

    names: tuple[str, ...]
    raw: str = ""
    location: Location | None = None
    why: str = "is not set"  # what is wrong with the names, for the BRL002 note

    def describe(self) -> str:
        return ", ".join(self.names) if self.names else self.raw


class Interpolated(str):
    """A string that came from ``${VAR}`` substitution (``loaders.interpolate``): the literal
    lives elsewhere (e.g. in ``.env``), so a secret check must not blame the line that only
    references it. Defined here, not beside the interpolation, because checks read it and checks
    do not import loaders."""

    raw: str


@_pickled_by_fields
@dataclass(frozen=True, slots=True)
class Located(Generic[T]):
    """A value together with where it was written."""

    value: T | Unknown
    location: Location

    @property
    def known(self) -> bool:
        return not isinstance(self.value, Unknown)


class Severity(enum.IntEnum):
    NOTE = 1
    WARNING = 2
    ERROR = 3

    @classmethod
    def parse(cls, text: str) -> Severity:
        return cls[text.strip().upper()]

    @property
    def label(self) -> str:
        return self.name.lower()


@_pickled_by_fields
@dataclass(frozen=True, slots=True)
class Related:
    """One link of the chain of evidence behind a finding."""

    location: Location
    message: str


@_pickled_by_fields
@dataclass(frozen=True, slots=True)
class Suppression:
    location: Location
    reason: str
    # SARIF's words: "inSource" for a comment in the scanned file, "external" for a config entry.
    kind: str = "inSource"


@_pickled_by_fields
@dataclass(slots=True)
class Finding:
    rule_id: str
    severity: Severity
    message: str
    location: Location
    related: tuple[Related, ...] = ()
    suppression: Suppression | None = None
    # The stripped text of the primary line: lets fingerprints survive line shifts.
    snippet: str = field(default="", compare=False)
    # Stable across line shifts: rule, file, the offending line's text and its occurrence.
    fingerprint: str = field(default="", compare=False)
    # What the finding is about, by name: a component ("api"), one of its listeners
    # ("api:1985/tcp"), a pool ("edge/api_pool"); "" when the check names none. Baselines and
    # config suppressions match on it, so that editing the line's text does not change it.
    entity: str = field(default="", compare=False)

    def sort_key(self) -> tuple[str, int, int, str, str]:
        loc = self.location
        return (loc.path, loc.line, loc.column, self.rule_id, self.message)


@_pickled_by_fields
@dataclass(frozen=True, slots=True)
class Diagnostic:
    """A problem a loader met in a file; becomes a BRL001 (or BRL002) finding."""

    rule_id: str
    message: str
    location: Location


class LocatedError(Exception):
    """A file that cannot be read, or parsed, at a line and column: a BRL001 there."""

    def __init__(self, message: str, line: int = 1, column: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column

    def diagnostic(self, path: str) -> Diagnostic:
        return Diagnostic("BRL001", self.message, Location(path, self.line, self.column))


def port_number(text: str) -> int | None:
    """``text`` as a port number (ASCII digits, at most 65535), or None. ``str.isdigit()`` is
    not the test: "²" is a digit to it and not to ``int()``, and ``int()`` refuses a string of
    more than 4300 digits."""
    if text.isascii() and text.isdigit() and len(text.lstrip("0")) <= 5 and int(text) <= 65535:
        return int(text)
    return None
