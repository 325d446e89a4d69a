"""The service graph as Mermaid, Graphviz dot or JSON (``bitriver-lint graph``), so users can
check the joins.

Not a reporter: reporters format a ``report.Report`` and never see the graph, while this view
exists to draw the graph itself, so it reads ``graph`` (and networkx through it). It lives
outside ``bitriver_lint.reporters`` so that the reporters' import contract (``.importlinter``)
has no exception; it shares only the escaping helpers of ``reporters._safe``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from bitriver_lint.graph import Component, Host, Listener, Network, Pool, ServiceGraph
from bitriver_lint.reporters._safe import printable


def _label(payload: Any) -> str:
    if isinstance(payload, Component):
        return f"{payload.name} ({payload.role.value})"
    if isinstance(payload, Listener):
        tls = " tls" if payload.tls else ""
        return f"{payload.port}/{payload.protocol}{tls}"
    if isinstance(payload, Host):
        return f"{payload.name} [{payload.host_kind}]"
    if isinstance(payload, Network):
        return f"{payload.name} [{payload.net_kind}]"
    if isinstance(payload, Pool):
        probe = payload.health.path or payload.health.method if payload.health else "no health check"
        return f"pool {payload.name} [{probe}]"
    return str(payload)


def _edge_label(edge: Any) -> str:
    extra = getattr(edge, "path", None) or getattr(edge, "host_port", None) or getattr(edge, "condition", None)
    return f"{edge.kind} {extra}" if extra not in (None, "") else edge.kind


def _dot(text: str) -> str:
    """Inside a double-quoted dot string: one line, no quote, and backslashes doubled so that
    none can escape the closing quote."""
    return printable(text).replace("\\", "\\\\").replace('"', "'")


def _mermaid(text: str) -> str:
    """A Mermaid label: one line, without the characters that end a label or open HTML."""
    return re.sub(r"[\"\[\]{}()|<>]", " ", printable(text)).strip()


def render_graph(graph: ServiceGraph, topology: str, fmt: str) -> str:
    """``graph`` as ``fmt`` (mermaid, dot or json; json also names the ``topology``).

    Mermaid and dot labels come from the scanned files: they are kept on one line, and the
    characters that would end a label are replaced, so a name cannot add nodes or edges."""
    g = graph.g
    ids = {node: f"n{i}" for i, node in enumerate(sorted(g.nodes))}
    if fmt == "json":
        nodes = [
            {"id": node, **data["payload"].model_dump(mode="json", exclude={"env"})}
            for node, data in sorted(g.nodes(data=True))
        ]
        edges = [
            {"source": s, "target": t, **p.model_dump(mode="json")} for s, t, p in g.edges(data="payload")
        ]
        return json.dumps({"topology": topology, "nodes": nodes, "edges": edges}, indent=2, default=str)
    if fmt == "dot":
        lines = ["digraph bitriver {", "  rankdir=LR;"]
        for node, mid in ids.items():
            lines.append(f'  {mid} [label="{_dot(_label(g.nodes[node]["payload"]))}"];')
        for s, t, p in sorted(g.edges(data="payload"), key=lambda e: (e[0], e[1], e[2].kind)):
            lines.append(f'  {ids[s]} -> {ids[t]} [label="{_dot(_edge_label(p))}"];')
        lines.append("}")
        return "\n".join(lines)
    lines = ["flowchart LR"]
    for node, mid in ids.items():
        lines.append(f'  {mid}["{_mermaid(_label(g.nodes[node]["payload"]))}"]')
    for s, t, p in sorted(g.edges(data="payload"), key=lambda e: (e[0], e[1], e[2].kind)):
        lines.append(f"  {ids[s]} -->|{_mermaid(_edge_label(p))}| {ids[t]}")
    return "\n".join(lines)
