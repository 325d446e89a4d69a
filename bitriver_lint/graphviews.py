"""The service graph as Mermaid, Graphviz dot or JSON (``bitriver-lint graph``), so users can
check the joins.

Not a reporter: reporters format a ``report.Report`` and never see the graph, while this view
exists to draw the graph itself, so it reads ``graph`` (and networkx through it). It lives
outside ``bitriver_lint.reporters`` so that the reporters' import contract (``.importlinter``)
has no exception; it shares only the escaping helpers of ``reporters._safe``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from pydantic import BaseModel

from bitriver_lint.exposure import cloud_of
from bitriver_lint.graph import (
    Allow,
    Component,
    Connect,
    Dependency,
    Edge,
    HealthProbe,
    Host,
    Listener,
    Network,
    Pool,
    Publish,
    Route,
    ServiceGraph,
)
from bitriver_lint.model import Location, Unknown
from bitriver_lint.netsets import bind_reach
from bitriver_lint.report import GraphEdge, GraphNode, GraphSummary
from bitriver_lint.reporters._mermaid import flowchart
from bitriver_lint.reporters._safe import printable
from bitriver_lint.vocabulary import Layer, layer_name


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


def _edge_label(edge: Any, target: Any = None) -> str:
    """``target``: the node the edge points at, whose cloud names an ``allows`` edge's layer."""
    if isinstance(edge, Allow):  # its ``path`` is the traffic it sees, not a URL path
        ports = str(edge.port_from) if edge.port_from == edge.port_to else f"{edge.port_from}-{edge.port_to}"
        seen = f" {edge.path}" if edge.path != "any" else ""
        cloud = cloud_of(target) if isinstance(target, Host) else target.name if isinstance(target, Pool) else None
        return f"allows {layer_name(edge.layer, cloud)}{seen} {ports}/{edge.protocol}"
    extra = getattr(edge, "path", None) or getattr(edge, "host_port", None) or getattr(edge, "condition", None)
    return f"{edge.kind} {extra}" if extra not in (None, "") else edge.kind


def _dot(text: str) -> str:
    """Inside a double-quoted dot string: one line, no quote, and backslashes doubled so that
    none can escape the closing quote."""
    return printable(text).replace("\\", "\\\\").replace('"', "'")


# Bumped whenever a key changes meaning or goes away (adding keys keeps the version).
GRAPH_SCHEMA_VERSION = 1


def _where(location: Location) -> dict[str, Any]:
    return {"path": location.path, "line": location.line, "column": location.column}


def graph_document(graph: ServiceGraph, topology: str) -> dict[str, Any]:
    """The graph as data, following ``docs/graph-schema.json``: every node and edge with its
    payload (environments left out: they may hold secrets), and every firewall layer with its
    normalised allow-list, so a reviewer can audit exposure without reading HCL."""
    g = graph.g
    nodes = [{"id": node, **data["payload"].model_dump(mode="json", exclude={"env"})}
             for node, data in sorted(g.nodes(data=True))]
    edges = [{"source": s, "target": t, **p.model_dump(mode="json")}
             for s, t, p in sorted(g.edges(data="payload"), key=lambda e: (e[0], e[1], e[2].kind))]
    return {"schema_version": GRAPH_SCHEMA_VERSION, "topology": topology, "nodes": nodes, "edges": edges,
            "firewalls": _firewalls(graph)}


def graph_json_schema() -> dict[str, Any]:
    """The JSON Schema of ``graph_document``, from the payload models themselves (so it cannot
    drift from them); ``docs/graph-schema.json`` is this, written out."""
    from pydantic.json_schema import models_json_schema

    node_models: list[type[BaseModel]] = [Component, Listener, Host, Network, Pool]
    edge_models: list[type[BaseModel]] = [Edge, Publish, Allow, Route, HealthProbe, Connect, Dependency]
    wanted: list[tuple[type[BaseModel], Literal["serialization"]]] = [
        (m, "serialization") for m in (*node_models, *edge_models)]
    _, schema = models_json_schema(wanted, ref_template="#/$defs/{model}")
    defs = schema["$defs"]
    for model in edge_models:  # an edge is its payload plus the two node ids it joins
        edge = defs[model.__name__]
        edge["properties"] = {"source": {"type": "string"}, "target": {"type": "string"}, **edge["properties"]}
        edge["required"] = ["source", "target", *edge.get("required", [])]
    position = {"type": "object", "required": ["path", "line", "column"],
                "properties": {"path": {"type": "string"}, "line": {"type": "integer"},
                               "column": {"type": "integer"}}}
    ports = {"type": "array", "items": {"type": ["integer", "null"]}, "minItems": 2, "maxItems": 2}
    firewall = {
        "type": "object", "additionalProperties": False, "required": ["node", "layer", "allow", "unreadable"],
        "properties": {
            "node": {"type": "string", "description": "the host or listener the layer guards"},
            "layer": {"enum": [*(layer.value for layer in Layer), "publish"]},
            "allow": {"type": "array", "items": {
                "type": "object", "required": ["protocol", "ports", "sources", "location"],
                "properties": {"protocol": {"enum": ["tcp", "udp", "all"]}, "ports": ports,
                               "sources": {"type": "array", "items": {"type": "string"}},
                               "listener": {"type": "string"}, "description": {"type": "string"},
                               "path": {"enum": ["input", "forward"], "description": "host firewalls: the "
                                        "traffic the rule sees (input: host processes; forward: ports "
                                        "Docker publishes, by container port)"},
                               "location": position}}},
            "unreadable": {"type": "array", "items": {
                "type": "object", "required": ["why", "location"],
                "properties": {"protocol": {"type": "string"}, "ports": ports, "why": {"type": "string"},
                               "location": position}}},
        },
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "bitriver-lint service graph (bitriver-lint graph --format json)",
        "description": "Nodes and edges as in bitriver_lint/graph.py; firewalls: each layer's normalised "
                       "allow-list. Components are listed without their environment (it may hold secrets).",
        "type": "object",
        "required": ["schema_version", "topology", "nodes", "edges", "firewalls"],
        "properties": {
            "schema_version": {"const": GRAPH_SCHEMA_VERSION},
            "topology": {"type": "string"},
            "nodes": {"type": "array", "items": {"oneOf": [{"$ref": f"#/$defs/{m.__name__}"} for m in node_models]}},
            "edges": {"type": "array", "items": {"anyOf": [{"$ref": f"#/$defs/{m.__name__}"} for m in edge_models]}},
            "firewalls": {"type": "array", "items": firewall},
        },
        "$defs": defs,
    }


def _firewalls(graph: ServiceGraph) -> list[dict[str, Any]]:
    """One entry per (node, layer): what it lets through, and what could not be read."""
    layers: dict[tuple[str, str], dict[str, Any]] = {}

    def layer(node: str, name: str) -> dict[str, Any]:
        return layers.setdefault((node, name), {"node": node, "layer": name, "allow": [], "unreadable": []})

    for _, target, edge in graph.edges("allows"):
        assert isinstance(edge, Allow)
        layer(target, edge.layer.value)["allow"].append({
            "protocol": edge.protocol, "ports": [edge.port_from, edge.port_to], "sources": list(edge.cidrs),
            "description": edge.description, "location": _where(edge.location),
            **({"assumed": edge.assumed} if edge.assumed else {}),
            **({"path": edge.path} if edge.path != "any" else {})})
    for source, target, edge in graph.edges("publishes"):
        assert isinstance(edge, Publish)
        listener = graph.node(target)
        host_ip = edge.host_ip if isinstance(edge.host_ip, str) else None
        port = edge.host_port if isinstance(edge.host_port, int) else None
        entry = {"protocol": edge.protocol, "ports": [port, port], "listener": target,
                 "sources": [str(n) for n in bind_reach(host_ip).networks] if host_ip is not None else [],
                 "description": f"host port {port} to container port {getattr(listener, 'port', '?')}",
                 "location": _where(edge.location)}
        if host_ip is None or port is None:
            unknown = edge.host_ip if host_ip is None else edge.host_port
            layer(source, "publish")["unreadable"].append({
                "why": f"{getattr(unknown, 'describe', lambda: '?')()} {getattr(unknown, 'why', '')}".strip(),
                "location": _where(edge.location)})
        else:
            layer(source, "publish")["allow"].append(entry)
    guarded: list[Host | Pool] = [*graph.hosts(), *(p for c in graph.components() for p in graph.pools(c))]
    for node in guarded:
        for rule in node.unknown_rules:
            unknown = rule.sources.value
            layer(node.id, rule.layer.value)["unreadable"].append({
                "protocol": rule.protocol, "ports": [rule.port_from, rule.port_to],
                "why": f"{unknown.describe()} {unknown.why}" if isinstance(unknown, Unknown) else str(unknown),
                "location": _where(rule.sources.location)})
    return [layers[key] for key in sorted(layers)]


def graph_summary(graph: ServiceGraph) -> GraphSummary:
    """The graph as the plain data a report carries for its picture (``report.GraphSummary``)."""
    g = graph.g
    nodes = tuple(GraphNode(node, _label(g.nodes[node]["payload"]), getattr(g.nodes[node]["payload"], "location", None))
                  for node in sorted(g.nodes))
    edges = tuple(GraphEdge(s, t, _edge_label(p, g.nodes[t]["payload"]), p.location, p.kind)
                  for s, t, p in sorted(g.edges(data="payload"), key=lambda e: (e[0], e[1], e[2].kind)))
    return GraphSummary(nodes, edges)


def render_graph(graph: ServiceGraph, topology: str, fmt: str) -> str:
    """``graph`` as ``fmt`` (mermaid, dot or json; json also names the ``topology``).

    Mermaid and dot labels come from the scanned files: they are kept on one line, and the
    characters that would end a label are replaced, so a name cannot add nodes or edges."""
    g = graph.g
    ids = {node: f"n{i}" for i, node in enumerate(sorted(g.nodes))}
    if fmt == "json":
        return json.dumps(graph_document(graph, topology), indent=2, default=str)
    if fmt == "dot":
        lines = ["digraph bitriver {", "  rankdir=LR;"]
        for node, mid in ids.items():
            lines.append(f'  {mid} [label="{_dot(_label(g.nodes[node]["payload"]))}"];')
        for s, t, p in sorted(g.edges(data="payload"), key=lambda e: (e[0], e[1], e[2].kind)):
            lines.append(f'  {ids[s]} -> {ids[t]} [label="{_dot(_edge_label(p, g.nodes[t]["payload"]))}"];')
        lines.append("}")
        return "\n".join(lines)
    return "\n".join(flowchart(graph_summary(graph)))
