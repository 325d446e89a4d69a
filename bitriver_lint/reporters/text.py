"""The human report: findings grouped by file, each with its line and its chain of proof.

Text from the scanned files is never read as Rich markup or emoji codes (it goes in as plain
``Text``), and is shown with control characters escaped, each on a line that starts with our
own text, so a hostile file cannot drive the terminal or a CI runner (see ``_safe``)."""

from __future__ import annotations

from itertools import groupby
from typing import TYPE_CHECKING, TextIO

from bitriver_lint.model import Severity
from bitriver_lint.report import Report
from bitriver_lint.reporters._safe import line_start, printable
from bitriver_lint.vocabulary import MIXED

if TYPE_CHECKING:
    from rich.console import Console

_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.NOTE: "cyan"}


# A line is a sequence of parts, each plain text or (text, Rich style).
Part = str | tuple[str, str]


class _Printer:
    """Prints lines of parts: through Rich when colouring, as plain text otherwise, so a plain
    report (pre-commit, CI logs, pipes) never imports Rich."""

    def __init__(self, stream: TextIO, color: bool) -> None:
        self.stream = stream
        self.console: Console | None = None
        if color:
            from rich.console import Console
            from rich.text import Text

            self.console = Console(file=stream, force_terminal=True, highlight=False, soft_wrap=True,
                                   markup=False, emoji=False)
            self.assemble = Text.assemble

    def print(self, *parts: Part) -> None:
        if self.console is None:
            self.stream.write("".join(p if isinstance(p, str) else p[0] for p in parts) + "\n")
            return
        self.console.print(self.assemble(*parts))


def render(result: Report, stream: TextIO, *, color: bool = False, show_suppressed: bool = False) -> None:
    console = _Printer(stream, color)
    shown = [f for f in result.findings if show_suppressed or f.suppression is None]
    for path, group in groupby(shown, key=lambda f: f.location.path):
        console.print((line_start(path), "bold underline"))
        for finding in group:
            loc = finding.location
            rule = result.rules.get(finding.rule_id)
            sev = finding.severity
            line: list[Part] = [
                f"  {loc.line}:{loc.column}  ",
                (f"{sev.label:<7}", _STYLE[sev]),
                " ",
                (printable(finding.rule_id), "bold"),
                " ",
                printable(finding.message),
            ]
            if rule:
                line += [" ", (f"[{printable(rule.name)}]", "dim")]
            if finding.suppression:
                line += [" ", ("(suppressed)", "dim")]
            console.print(*line)
            if finding.snippet:
                console.print("      ", (f"{loc.line:>4} │", "dim"), " ", printable(finding.snippet))
            for related in finding.related:
                console.print("      ", (f"↳ {printable(str(related.location))}", "dim"), " ",
                              printable(related.message))
        console.print()
    counts = {s: sum(1 for f in result.active if f.severity is s) for s in Severity}
    n_suppressed = sum(1 for f in result.findings if f.suppression)
    files = sum(len(v) for v in result.files.values())
    if not files and not result.findings and not result.skipped:
        # Not a green "no findings" with a topology: nothing was checked at all.
        console.print("Nothing checked: no deployment file found")
        return
    summary = (
        f"{counts[Severity.ERROR]} error(s), {counts[Severity.WARNING]} warning(s), {counts[Severity.NOTE]} note(s)"
        f" in {files} file(s)"
    )
    if n_suppressed:
        summary += f"; {n_suppressed} suppressed"
    if result.topology == MIXED:
        console.print(("topology:", "dim"), " mixed, one per environment:")
        for env in result.environments:
            console.print(f"  {line_start(env.directory)}: {printable(env.topology)} ",
                          (f"({printable(env.reason)})", "dim"))
    else:
        console.print(("topology:", "dim"), f" {printable(result.topology)} ",
                      (f"({printable(result.topology_reason)})", "dim"))
    if result.skipped:
        first = printable(result.skipped[0][0])
        more = f" and {len(result.skipped) - 1} more" if len(result.skipped) > 1 else ""
        console.print(("skipped:", "dim"), f" {len(result.skipped)} file(s) not read ({first}{more});"
                      " --format json lists each with its reason")
    if result.baseline is not None:
        _baseline_summary(console, result)
    if result.active:
        console.print(summary)
    else:
        console.print(("No findings", "green"), f" in {files} file(s)")


def _baseline_summary(console: _Printer, result: Report) -> None:
    baseline = result.baseline
    assert baseline is not None
    stale = len(baseline.stale)
    line: list[Part] = [("baseline:", "dim"), f" {printable(baseline.path)} hid {baseline.hidden} finding(s)"]
    if stale:
        line.append(f"; {stale} stale entr{'y' if stale == 1 else 'ies'} (fixed: --update-baseline drops them)")
    if baseline.version == 1:
        line.append("; version 1 matches by line text: --update-baseline rewrites it by entity")
    console.print(*line)
    for entry in baseline.stale:
        about = f" {printable(entry.entity)}:" if entry.entity else ""
        console.print("  ", ("stale", "dim"), f" {line_start(entry.path)} {printable(entry.rule_id)}"
                      f"{about} {printable(entry.message)}")
