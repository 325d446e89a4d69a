"""GitHub Actions workflow commands: annotations on the pull request's diff."""

from __future__ import annotations

from typing import TextIO

from bitriver_lint.model import Severity
from bitriver_lint.report import Report
from bitriver_lint.reporters._safe import workflow_data, workflow_property

_COMMAND = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTE: "notice"}


def render(result: Report, stream: TextIO, *, color: bool = False, show_suppressed: bool = False) -> None:
    """Most severe first (GitHub shows only the first annotations of a step), then one summary
    line with the counts."""
    del color, show_suppressed
    active = sorted(result.active, key=lambda f: -f.severity)  # stable: file order within a severity
    for f in active:
        loc = f.location
        title = workflow_property(
            f"{f.rule_id} {result.rules[f.rule_id].name}" if f.rule_id in result.rules else f.rule_id
        )
        stream.write(
            f"::{_COMMAND[f.severity]} file={workflow_property(loc.path)},line={loc.line},col={loc.column},"
            f"title={title}::{workflow_data(f.message)}\n"
        )
    counts = {sev: sum(1 for f in active if f.severity is sev) for sev in Severity}
    stream.write(f"bitriver-lint: {counts[Severity.ERROR]} error(s), {counts[Severity.WARNING]} warning(s), "
                 f"{counts[Severity.NOTE]} note(s)\n")
