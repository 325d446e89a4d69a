"""The reporter registry: every ``--format`` of ``bitriver-lint scan``, and only here.

A reporter formats a ``report.Report``; it never re-derives facts from files or the graph, and
imports nothing of the engine, the graph, loaders, builders, checks or networkx (an
import-linter contract in ``.importlinter`` checks this). Each is a module with
``render(report, stream, *, color, show_suppressed) -> None``, imported lazily by name, so the
CLI can list the formats without importing any of them (or rich).

The picture of the graph (``bitriver-lint graph``) is not a reporter: see ``graphviews``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Protocol, TextIO, cast

if TYPE_CHECKING:
    from bitriver_lint.report import Report

REPORTERS: dict[str, str] = {
    "text": "bitriver_lint.reporters.text",
    "json": "bitriver_lint.reporters.json",
    "sarif": "bitriver_lint.reporters.sarif",
    "junit": "bitriver_lint.reporters.junit",
    "github": "bitriver_lint.reporters.github",
    "markdown": "bitriver_lint.reporters.markdown",
}
FORMATS: tuple[str, ...] = tuple(REPORTERS)  # the CLI's --format choices, in this order


class Reporter(Protocol):
    """What a reporter module provides."""

    def render(self, result: Report, stream: TextIO, *, color: bool = ..., show_suppressed: bool = ...) -> None: ...


def get_reporter(name: str) -> Reporter:
    """The reporter for ``name`` (one of ``FORMATS``); ``KeyError`` for another name."""
    return cast(Reporter, importlib.import_module(REPORTERS[name]))
