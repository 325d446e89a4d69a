"""Markdown for a pull-request comment or a job summary: the counts, the findings grouped by
severity (each with a link to its rule's documentation and its proof chain), and a Mermaid
picture of the deployment graph with the offending edges marked.

GitHub refuses a comment over 65,536 characters: the whole document stays under
``COMMENT_BUDGET``, the most severe findings first, then "and N more". Rule links are absolute
(the rule's ``help_uri``): a relative link in a comment resolves against the pull request's
page, not the repository, and would break.

Every piece of text from the scanned files is escaped (see ``_safe``): a comment must not gain
HTML, links, images or mentions from a service name."""

from __future__ import annotations

import re
from typing import TextIO

from bitriver_lint.model import Finding, Location, Severity
from bitriver_lint.report import GraphEdge, GraphSummary, Report
from bitriver_lint.reporters._baseline import describe, effect
from bitriver_lint.reporters._mermaid import flowchart
from bitriver_lint.reporters._safe import markdown, markdown_code
from bitriver_lint.vocabulary import MIXED

COMMENT_BUDGET = 60_000  # under GitHub's 65,536, with room for what a bot wraps around it
GRAPH_BUDGET = 20_000  # the picture's share; past it only the part around the findings is drawn
GRAPH_MAX_EDGES = 400  # Mermaid on GitHub refuses charts with more than 500 edges
STALE_SHOWN = 10  # stale baseline entries listed by name; a longer list is the text report's job
_TITLE = {Severity.ERROR: "Errors", Severity.WARNING: "Warnings", Severity.NOTE: "Notes"}
# A custom rule's help_uri comes from a rule file in the scanned repository: linked only when it
# is a plain web address that cannot end the link early.
_SAFE_URL = re.compile(r"https?://[A-Za-z0-9._~:/?#@!$&'*+,;=%-]+")


def _where(location: Location) -> str:
    return markdown_code(str(location))


def _rule_link(result: Report, rule_id: str) -> str:
    rule = result.rules.get(rule_id)
    if rule is None:
        return f"**{markdown(rule_id)}**"
    name = f" {markdown(rule.name)}"
    if _SAFE_URL.fullmatch(rule.help_uri):
        return f"**[{markdown(rule_id)}]({rule.help_uri})**{name}"
    return f"**{markdown(rule_id)}**{name}"


def _finding(result: Report, finding: Finding) -> str:
    lines = [f"- {_rule_link(result, finding.rule_id)} at {_where(finding.location)}: {markdown(finding.message)}\n"]
    lines.extend(f"  - {_where(r.location)} {markdown(r.message)}\n" for r in finding.related)
    return "".join(lines)


# Edges that place a thing somewhere: declared on the same line as a service (its name), they
# share a finding's location without being what the finding is about.
_STRUCTURAL = frozenset({"runs_on", "located_in", "has_pool", "member_of"})


def _offending(summary: GraphSummary, findings: list[Finding]) -> set[int]:
    """The edges a finding stands on: declared on a line its location or proof chain names."""
    lines = {(loc.path, loc.line) for f in findings for loc in (f.location, *(r.location for r in f.related))}
    return {i for i, edge in enumerate(summary.edges)
            if edge.location is not None and edge.kind not in _STRUCTURAL
            and (edge.location.path, edge.location.line) in lines}


def _around(summary: GraphSummary, marked: set[int]) -> tuple[GraphSummary, set[int]]:
    """Only the offending edges, the nodes they join, and the edges among those nodes."""
    keep = {end for i in marked for end in (summary.edges[i].source, summary.edges[i].target)}
    nodes = tuple(n for n in summary.nodes if n.id in keep)
    edges: list[GraphEdge] = []
    new_marked: set[int] = set()
    for i, edge in enumerate(summary.edges):
        if edge.source in keep and edge.target in keep:
            if i in marked:
                new_marked.add(len(edges))
            edges.append(edge)
    return GraphSummary(nodes, tuple(edges)), new_marked


def _chart(summary: GraphSummary, marked: set[int]) -> str:
    lines = flowchart(summary, marked)
    return "```mermaid\n" + "\n".join(lines) + "\n```\n"


def _graph_section(result: Report, findings: list[Finding]) -> str:
    summary = result.graph_summary
    if summary is None or not summary.nodes:
        return ""
    marked = _offending(summary, findings)
    title = "Deployment graph" + (" (offending edges in red)" if marked else "")
    note = ""
    # Past the edge limit the whole chart would be thrown away: it is not drawn at all.
    chart = _chart(summary, marked) if len(summary.edges) <= GRAPH_MAX_EDGES else ""
    if len(summary.edges) > GRAPH_MAX_EDGES or len(chart) > GRAPH_BUDGET:
        part, part_marked = _around(summary, marked)
        chart = _chart(part, part_marked) if part.nodes else ""
        note = (f"The whole graph ({len(summary.nodes)} nodes, {len(summary.edges)} edges) is too large for a "
                f"comment; `bitriver-lint graph` draws it. ")
        if chart and len(chart) <= GRAPH_BUDGET and len(part.edges) <= GRAPH_MAX_EDGES:
            note += f"Shown: the {len(part.nodes)} nodes the offending edges join.\n\n"
        else:
            chart = ""
            note = note.rstrip() + "\n"
    # A heading, not a <details> block: the comment carries no HTML at all, ours included.
    return f"### {title}\n\n{note}{chart}"


def _baseline_lines(result: Report) -> list[str]:
    """One line under the counts: a reviewer should know that findings are hidden, and which
    entries are stale (fixed, so ``--update-baseline`` should drop them before they hide a
    regression)."""
    baseline = result.baseline
    if baseline is None:
        return []
    line = f"Baseline {markdown_code(baseline.path)} {markdown(effect(baseline))}"
    if baseline.stale:
        line += f" (fixed: `--update-baseline` drops {'it' if len(baseline.stale) == 1 else 'them'})"
    lines = [line + "\n\n"]
    if baseline.stale:
        lines.extend(f"- stale: {markdown(describe(entry))}\n" for entry in baseline.stale[:STALE_SHOWN])
        if len(baseline.stale) > STALE_SHOWN:
            lines.append(f"- … and {len(baseline.stale) - STALE_SHOWN} more\n")
        lines.append("\n")
    return lines


def render(result: Report, stream: TextIO, *, color: bool = False, show_suppressed: bool = False) -> None:
    del color, show_suppressed
    active = sorted(result.active, key=lambda f: -f.severity)  # stable: file order within a severity
    counts = {sev: sum(1 for f in active if f.severity is sev) for sev in Severity}
    files = sum(len(paths) for paths in result.files.values())
    suppressed = len(result.findings) - len(result.active)
    head = [f"## bitriver-lint: {len(active)} finding(s)\n\n",
            f"**{counts[Severity.ERROR]}** error(s), **{counts[Severity.WARNING]}** warning(s), "
            f"**{counts[Severity.NOTE]}** note(s) in {files} file(s)"
            + (f"; {suppressed} suppressed" if suppressed else "") + "\n\n"]
    head.extend(_baseline_lines(result))
    if result.topology == MIXED:
        head.append("Topology: **mixed**, one per environment:\n\n")
        head.extend(f"- {markdown_code(env.directory)}: **{markdown(env.topology)}** ({markdown(env.reason)})\n"
                    for env in result.environments)
        head.append("\n")
    else:
        head.append(f"Topology: **{markdown(result.topology)}** ({markdown(result.topology_reason)})\n\n")
    graph = _graph_section(result, active)
    text = "".join(head)
    stream.write(text)
    if not active:
        stream.write("No findings.\n")
    budget = COMMENT_BUDGET - len(text) - len(graph) - 200  # 200: the "and N more" line
    written = 0
    current: Severity | None = None
    for index, f in enumerate(active):
        block = _finding(result, f)
        if f.severity is not current:
            # The head ends with a blank line already: only later sections need one before them.
            block = ("\n" if written else "") + f"### {_TITLE[f.severity]} ({counts[f.severity]})\n\n" + block
        if written + len(block) > budget:
            left = active[index:]
            by = ", ".join(f"{sum(1 for x in left if x.severity is s)} {s.label}(s)"
                           for s in sorted(Severity, reverse=True) if any(x.severity is s for x in left))
            stream.write(f"\n… and {len(left)} more finding(s): see the full report ({by} not shown).\n")
            break
        stream.write(block)
        written += len(block)
        current = f.severity
    if graph:
        stream.write("\n" + graph)
