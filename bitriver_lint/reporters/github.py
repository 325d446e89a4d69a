"""GitHub Actions workflow commands: annotations on the pull request's diff."""

from __future__ import annotations

from typing import TextIO

from bitriver_lint.model import Severity
from bitriver_lint.report import BaselineSummary, Report
from bitriver_lint.reporters._baseline import describe, effect, stale_count
from bitriver_lint.reporters._safe import printable, workflow_data, workflow_property

_COMMAND = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTE: "notice"}


def render(result: Report, stream: TextIO, *, color: bool = False, show_suppressed: bool = False) -> None:
    """Most severe first (GitHub shows only the first annotations of a step), then a notice for
    stale baseline entries, then one summary line with the counts and what the baseline hid."""
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
    baseline = result.baseline
    if baseline is not None and baseline.stale:
        # A notice, not just a log line: stale entries are work for the reviewer (a fixed
        # problem's entry would hide its return), and the log is rarely read.
        title = workflow_property(f"bitriver-lint baseline: {stale_count(baseline)}")
        # Each piece from a file on one line of its own (printable): only our joins are newlines.
        text = "\n".join([f"fixed, so --update-baseline drops {_them(baseline)} from {printable(baseline.path)}:",
                          *(printable(describe(entry)) for entry in baseline.stale)])
        stream.write(f"::notice title={title}::{workflow_data(text)}\n")
    counts = {sev: sum(1 for f in active if f.severity is sev) for sev in Severity}
    summary = (f"bitriver-lint: {counts[Severity.ERROR]} error(s), {counts[Severity.WARNING]} warning(s), "
               f"{counts[Severity.NOTE]} note(s)")
    if baseline is not None:
        summary += f"; baseline {printable(baseline.path)} {effect(baseline)}"
    stream.write(summary + "\n")


def _them(baseline: BaselineSummary) -> str:
    return "it" if len(baseline.stale) == 1 else "them"
