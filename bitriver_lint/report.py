"""What one scan found, as the engine hands it over: the end of the one-way flow.

The engine builds a ``Report`` after suppressions, ``--select``/``--ignore``, the ``--changed``
focus and the baseline have been applied; reporters only format it and never re-derive facts
from files or the graph. The report is frozen (its collections are tuples and read-only
mappings; the ``Finding`` records inside come from ``model``).

This module imports only the standard library and ``bitriver_lint.model``, so a reporter that
reads it pulls in neither the engine nor networkx nor pydantic (``.importlinter`` checks it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bitriver_lint.model import Finding, Location, Severity


@dataclass(frozen=True, slots=True)
class RuleInfo:
    """What a report shows of a catalog rule (the rule files stay with ``rules``)."""

    id: str
    name: str
    severity: str  # the rule's default severity: error, warning or note
    summary: str
    description: str
    help_uri: str
    help_markdown: str  # the rule's documentation page, as ``explain`` prints it
    tags: tuple[str, ...] = ()
    topologies: tuple[str, ...] = ()
    security_severity: float | None = None


@dataclass(frozen=True, slots=True)
class Environment:
    """One environment (see ``ServiceGraph.environment_of``) and the topology it follows."""

    directory: str
    topology: str
    reason: str


@dataclass(frozen=True, slots=True)
class GraphNode:
    """A node of the service graph as a picture shows it: ``id`` is only for joining edges."""

    id: str
    label: str
    location: Location | None = None


@dataclass(frozen=True, slots=True)
class GraphEdge:
    source: str
    target: str
    label: str
    location: Location | None = None  # the line that declares the edge (a port mapping, a rule)
    kind: str = ""  # graph.py's edge kind: runs_on, publishes, allows, routes...


@dataclass(frozen=True, slots=True)
class GraphSummary:
    """The service graph reduced to what a picture needs, so that a reporter (the Markdown one)
    can draw it without importing the graph (``graphviews.graph_summary`` makes one)."""

    nodes: tuple[GraphNode, ...] = ()
    edges: tuple[GraphEdge, ...] = ()


@dataclass(frozen=True, slots=True, order=True)
class BaselineEntry:
    """One accepted finding of a baseline file: which rule, in which file (repository-relative),
    about which entity (``Finding.entity``; "" when the check names none, then the message
    identifies it). ``message`` is kept for the reader of the file."""

    rule_id: str
    path: str
    entity: str
    message: str = ""


@dataclass(frozen=True, slots=True)
class BaselineSummary:
    """What the baseline did to one scan: how many findings it hid, and its stale entries
    (nothing matches them any more: the problem was fixed, so ``--update-baseline`` drops them)."""

    path: str
    hidden: int
    stale: tuple[BaselineEntry, ...] = ()
    # Entries about files or rules this scan did not look at (a scan of one directory, --select,
    # --changed): neither matched nor stale; ``--update-baseline`` keeps them.
    outside: tuple[BaselineEntry, ...] = ()
    version: int = 2  # of the file read; version 1 matched by the text of the line


@dataclass(frozen=True)
class Report:
    """One scan's results.

    ``topology`` is the layout the files were checked against (``mixed`` when environments side
    by side follow different ones; then ``environments`` says which). ``files`` lists the files
    read per format, ``skipped`` the ``(path, reason)`` of files seen but not read. ``errors``
    are internal errors (our bugs: the CLI exits 3), one traceback each in ``tracebacks``.

    ``graph`` is the service graph the findings came from, for ``bitriver-lint graph`` and for
    tests. It is typed ``Any`` so that this module need not import networkx; reporters never
    read it.
    """

    root: Path
    findings: tuple[Finding, ...]
    rules: Mapping[str, RuleInfo]
    topology: str
    topology_reason: str
    files: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    environments: tuple[Environment, ...] = ()
    skipped: tuple[tuple[str, str], ...] = ()
    errors: tuple[str, ...] = ()
    tracebacks: tuple[str, ...] = ()
    # What was scanned, as code scanning tells analyses apart: the scan paths relative to the
    # root ("deploy", "."). Never the detected topology, which a change to the tree can move.
    category: str = "."
    # Which files each rule was run against (rule id -> paths): the rules selected and applying to
    # the topology of each file's environment; the engine's own rules (BRL001-BRL003) cover every
    # file read. JUnit makes one test case of each pair.
    checked: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # --severity-threshold: the scan fails at this severity (exit 1), and so does a JUnit test case.
    threshold: Severity = Severity.WARNING
    # Filled in only when a report needs the picture (the CLI adds it for Markdown).
    graph_summary: GraphSummary | None = None
    baseline: BaselineSummary | None = None  # None when the scan ran without a baseline
    graph: Any = field(default=None, repr=False, compare=False)

    @property
    def active(self) -> list[Finding]:
        """The findings no inline suppression covers."""
        return [f for f in self.findings if f.suppression is None]

    def exit_code(self, threshold: Severity) -> int:
        """1 when an active finding is at least ``threshold`` severe, else 0."""
        return 1 if any(f.severity >= threshold for f in self.active) else 0
