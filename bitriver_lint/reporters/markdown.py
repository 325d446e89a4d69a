"""A Markdown summary, e.g. for a pull-request comment or a job summary.

Every piece of text from the scanned files is escaped (see ``_safe``): a comment must not gain
HTML, links, images or extra table cells from a service name."""

from __future__ import annotations

from typing import TextIO

from bitriver_lint.model import Location
from bitriver_lint.report import Report
from bitriver_lint.reporters._safe import markdown, markdown_code
from bitriver_lint.vocabulary import MIXED

# Room for the findings table in one GitHub comment (65,536 characters), headers included.
COMMENT_BUDGET = 60_000


def _where(location: Location) -> str:
    return markdown_code(str(location))


def render(result: Report, stream: TextIO, *, color: bool = False, show_suppressed: bool = False) -> None:
    del color, show_suppressed
    active = result.active
    stream.write(f"## bitriver-lint: {len(active)} finding(s)\n\n")
    if result.topology == MIXED:
        stream.write("Topology: **mixed**, one per environment:\n\n")
        for env in result.environments:
            stream.write(
                f"- {markdown_code(env.directory)}: **{markdown(env.topology)}** ({markdown(env.reason)})\n"
            )
        stream.write("\n")
    else:
        stream.write(f"Topology: **{markdown(result.topology)}** ({markdown(result.topology_reason)})\n\n")
    if not active:
        stream.write("No findings.\n")
        return
    stream.write("| severity | rule | location | message |\n| --- | --- | --- | --- |\n")
    written = 0
    for index, f in enumerate(sorted(active, key=lambda f: -f.severity)):
        name = result.rules[f.rule_id].name if f.rule_id in result.rules else ""
        rule = markdown(f"{f.rule_id} {name}")
        row = f"| {f.severity.label} | {rule} | {_where(f.location)} | {markdown(f.message)} |\n"
        if written + len(row) > COMMENT_BUDGET:
            # A pull-request comment holds 65,536 characters: the most severe rows, then a count.
            stream.write(f"\n… and {len(active) - index} more finding(s): see the full report.\n")
            return
        stream.write(row)
        written += len(row)
