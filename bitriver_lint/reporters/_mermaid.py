"""A Mermaid flowchart of a ``report.GraphSummary``: drawn for ``bitriver-lint graph`` (through
``graphviews``) and for the Markdown report, from plain data so that reporters need no graph.

Labels come from the scanned files: each is kept on one line with the characters that end a
label or open HTML replaced, so a name cannot add nodes, edges, links or styles."""

from __future__ import annotations

import re
from collections.abc import Collection

from bitriver_lint.report import GraphSummary
from bitriver_lint.reporters._safe import printable

# Offending edges and the nodes they join, as the Markdown report marks them.
_MARK_EDGE = "stroke:#d73a49,stroke-width:3px"
_MARK_NODE = "fill:#ffeef0,stroke:#d73a49,stroke-width:2px"


def label(text: str) -> str:
    """A Mermaid label: one line, without the characters that end a label or open HTML."""
    return " ".join(re.sub(r"[\"\[\]{}()|<>#;&`]", " ", printable(text)).split())


def flowchart(summary: GraphSummary, marked: Collection[int] = ()) -> list[str]:
    """The lines of the chart; ``marked`` are indexes into ``summary.edges`` drawn in red, with
    the nodes they join."""
    ids = {node.id: f"n{i}" for i, node in enumerate(summary.nodes)}
    lines = ["flowchart LR"]
    for node in summary.nodes:
        lines.append(f'  {ids[node.id]}["{label(node.label)}"]')
    drawn: list[int] = []
    for number, edge in enumerate(summary.edges):
        if edge.source in ids and edge.target in ids:
            lines.append(f"  {ids[edge.source]} -->|{label(edge.label)}| {ids[edge.target]}")
            drawn.append(number)
    position = {number: i for i, number in enumerate(drawn)}  # linkStyle counts the links drawn
    marked_links = sorted(position[n] for n in marked if n in position)
    if marked_links:
        lines.append(f"  linkStyle {','.join(map(str, marked_links))} {_MARK_EDGE}")
        ends = sorted({ids[end] for n in marked if n in position
                       for end in (summary.edges[n].source, summary.edges[n].target)},
                      key=lambda mid: int(mid[1:]))
        lines.append(f"  classDef offending {_MARK_NODE}")
        lines.append(f"  class {','.join(ends)} offending")
    return lines
