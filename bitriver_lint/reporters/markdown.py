"""A Markdown summary, e.g. for a pull-request comment or a job summary."""

from __future__ import annotations

from typing import TextIO

from bitriver_lint.engine import ScanResult


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(result: ScanResult, stream: TextIO, *, color: bool = False, show_suppressed: bool = False) -> None:
    del color, show_suppressed
    active = result.active
    stream.write(f"## bitriver-lint: {len(active)} finding(s)\n\n")
    if result.topology == "mixed":
        stream.write("Topology: **mixed**, one per environment:\n\n")
        for env in result.environments:
            stream.write(f"- `{env.directory}`: **{env.topology}** ({_cell(env.reason)})\n")
        stream.write("\n")
    else:
        stream.write(f"Topology: **{result.topology}** ({_cell(result.topology_reason)})\n\n")
    if not active:
        stream.write("No findings.\n")
        return
    stream.write("| severity | rule | location | message |\n| --- | --- | --- | --- |\n")
    for f in active:
        name = result.rules[f.rule_id].name if f.rule_id in result.rules else ""
        stream.write(
            f"| {f.severity.label} | {f.rule_id} {name} | `{f.location}` | {_cell(f.message)} |\n"
        )
