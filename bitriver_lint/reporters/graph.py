"""The service graph as Mermaid, Graphviz dot or JSON, so users can check the joins."""

from __future__ import annotations

import json
import re
from typing import Any

from bitriver_lint.engine import ScanResult
from bitriver_lint.graph import Component, Host, Listener, Network


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
    return str(payload)


def _edge_label(edge: Any) -> str:
    extra = getattr(edge, "path", None) or getattr(edge, "host_port", None) or getattr(edge, "condition", None)
    return f"{edge.kind} {extra}" if extra not in (None, "") else edge.kind


def render_graph(result: ScanResult, fmt: str) -> str:
    g = result.graph.g
    ids = {node: f"n{i}" for i, node in enumerate(sorted(g.nodes))}
    if fmt == "json":
        nodes = [
            {"id": node, **data["payload"].model_dump(mode="json", exclude={"env"})}
            for node, data in sorted(g.nodes(data=True))
        ]
        edges = [
            {"source": s, "target": t, **p.model_dump(mode="json")} for s, t, p in g.edges(data="payload")
        ]
        return json.dumps({"topology": result.topology, "nodes": nodes, "edges": edges}, indent=2, default=str)
    if fmt == "dot":
        lines = ["digraph bitriver {", "  rankdir=LR;"]
        for node, mid in ids.items():
            label = _label(g.nodes[node]["payload"]).replace('"', "'")
            lines.append(f'  {mid} [label="{label}"];')
        for s, t, p in sorted(g.edges(data="payload"), key=lambda e: (e[0], e[1], e[2].kind)):
            lines.append(f'  {ids[s]} -> {ids[t]} [label="{_edge_label(p)}"];')
        lines.append("}")
        return "\n".join(lines)
    lines = ["flowchart LR"]
    for node, mid in ids.items():
        label = re.sub(r"[\"\[\]{}()]", " ", _label(g.nodes[node]["payload"])).strip()
        lines.append(f'  {mid}["{label}"]')
    for s, t, p in sorted(g.edges(data="payload"), key=lambda e: (e[0], e[1], e[2].kind)):
        lines.append(f"  {ids[s]} -->|{_edge_label(p)}| {ids[t]}")
    return "\n".join(lines)
