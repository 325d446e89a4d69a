"""What every check function receives, and the helpers they share.

A check is ``fn(ctx: CheckContext, params: P) -> None`` where ``P`` is the pydantic model of
its parameters; it calls ``ctx.report`` for each violation it can prove and ``ctx.need`` for
values it needs, which records a BRL002 note when a value is unknown.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from bitriver_lint.config import Config
from bitriver_lint.graph import ServiceGraph
from bitriver_lint.model import Finding, Located, Location, Related, Severity, Unknown
from bitriver_lint.rules import Rule

T = TypeVar("T")
P = TypeVar("P", bound=BaseModel)


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NoParams(Params):
    pass


@dataclass(frozen=True)
class Check(Generic[P]):
    """A check function together with the model that validates a rule's ``parameters``."""

    name: str
    fn: Callable[[CheckContext, P], None]
    params: type[P]
    description: str = ""

    def run(self, ctx: CheckContext, parameters: dict[str, Any]) -> None:
        self.fn(ctx, self.params.model_validate(parameters))


@dataclass(frozen=True)
class Unresolved:
    """A rule that stayed silent because it needed a value nobody set."""

    unknown: Unknown
    location: Location
    rule: Rule
    purpose: str


@dataclass
class CheckContext:
    graph: ServiceGraph
    config: Config
    topology: str
    rule: Rule
    findings: list[Finding] = field(default_factory=list)
    unresolved: list[Unresolved] = field(default_factory=list)

    @property
    def severity(self) -> Severity:
        return self.rule.severity_for(self.topology)

    def report(self, message: str, location: Location, related: list[Related] | tuple[Related, ...] = (),
               *, entity: str = "") -> None:
        """``entity`` names what the finding is about (see ``Finding.entity``)."""
        self.findings.append(Finding(self.rule.id, self.severity, message, location, tuple(related), entity=entity))

    def need(self, value: Located[T] | None, purpose: str) -> T | None:
        """The value, or None after recording a BRL002 note if it is unknown."""
        if value is None:
            return None
        if isinstance(value.value, Unknown):
            self.note_unknown(value.value, value.location, purpose)
            return None
        return value.value

    def note_unknown(self, unknown: Unknown, location: Location, purpose: str) -> None:
        self.unresolved.append(Unresolved(unknown, location, self.rule, purpose))


def unresolved_findings(items: list[Unresolved]) -> list[Finding]:
    """One BRL002 note per unresolved value and place, naming every rule it silenced."""
    grouped: dict[tuple[Location, str], list[Unresolved]] = {}
    for item in items:
        grouped.setdefault((item.location, item.unknown.describe() or "a value"), []).append(item)
    notes = []
    for (location, names), group in grouped.items():
        silenced = "; ".join(dict.fromkeys(f"{u.rule.id} ({u.rule.name}) cannot check {u.purpose}" for u in group))
        why = group[0].unknown.why
        if len(group[0].unknown.names) > 1:
            why = why.replace("is ", "are ", 1)
        notes.append(Finding("BRL002", Severity.NOTE, f"{names} {why}, so {silenced}", location))
    return notes
