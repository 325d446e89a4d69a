"""The human report: findings grouped by file, each with its line and its chain of proof."""

from __future__ import annotations

from itertools import groupby
from typing import TextIO

from rich.console import Console
from rich.markup import escape

from bitriver_lint.engine import ScanResult
from bitriver_lint.model import Severity

_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.NOTE: "cyan"}


def render(result: ScanResult, stream: TextIO, *, color: bool = False, show_suppressed: bool = False) -> None:
    console = Console(file=stream, force_terminal=color, no_color=not color, width=200 if not color else None,
                      highlight=False, soft_wrap=True)
    shown = [f for f in result.findings if show_suppressed or f.suppression is None]
    for path, group in groupby(shown, key=lambda f: f.location.path):
        console.print(f"[bold underline]{escape(path)}[/]")
        for finding in group:
            loc = finding.location
            rule = result.rules.get(finding.rule_id)
            name = f" [dim]\\[{rule.name}][/]" if rule else ""
            sev = finding.severity
            suppressed = " [dim](suppressed)[/]" if finding.suppression else ""
            console.print(
                f"  {loc.line}:{loc.column}  [{_STYLE[sev]}]{sev.label:<7}[/] [bold]{finding.rule_id}[/] "
                f"{escape(finding.message)}{name}{suppressed}"
            )
            if finding.snippet:
                console.print(f"      [dim]{loc.line:>4} │[/] {escape(finding.snippet)}")
            for related in finding.related:
                console.print(f"      [dim]↳ {escape(str(related.location))}[/] {escape(related.message)}")
        console.print()
    counts = {s: sum(1 for f in result.active if f.severity is s) for s in Severity}
    n_suppressed = sum(1 for f in result.findings if f.suppression)
    files = sum(len(v) for v in result.files.values())
    summary = (
        f"{counts[Severity.ERROR]} error(s), {counts[Severity.WARNING]} warning(s), {counts[Severity.NOTE]} note(s)"
        f" in {files} file(s)"
    )
    if n_suppressed:
        summary += f"; {n_suppressed} suppressed"
    if result.topology == "mixed":
        console.print("[dim]topology:[/] mixed, one per environment:")
        for env in result.environments:
            console.print(f"  {escape(env.directory)}: {env.topology} [dim]({escape(env.reason)})[/]")
    else:
        console.print(f"[dim]topology:[/] {result.topology} [dim]({escape(result.topology_reason)})[/]")
    console.print(summary if result.active else f"[green]No findings[/] in {files} file(s)")
