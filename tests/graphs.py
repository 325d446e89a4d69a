"""Service graphs built by hand, and one rule's check run on them: no files, loaders or builders.

    graph = ServiceGraph()
    box = host(graph, "appliance")
    srs = component(graph, "srs", Role.SRS, on=box)
    publish(graph, listener(graph, srs, 1985), host_ip="0.0.0.0", at="compose.yaml:9:9")
    assert [str(f.location) for f in run_check("BRL102", graph)] == ["compose.yaml:9:9"]

Every helper takes ``at`` ("path:line:column" or a Location) for where the fact is written;
without it each gets a line of its own in ``graph.yaml``. Only the payloads' basic fields are
set here; a test that needs another typed field passes it through ``**fields``.
"""

from __future__ import annotations

from typing import Any, Literal

from bitriver_lint.checks import META_CHECK, get_check
from bitriver_lint.checks.base import CheckContext, unresolved_findings
from bitriver_lint.config import Config
from bitriver_lint.graph import Allow, Component, Host, Listener, Publish, Role, Route, ServiceGraph
from bitriver_lint.model import Finding, Location
from bitriver_lint.rules import catalog

Where = Location | str | None


def location(graph: ServiceGraph, at: Where) -> Location:
    if isinstance(at, Location):
        return at
    if at is None:  # one line per fact, so findings can still be told apart
        return Location("graph.yaml", graph.g.number_of_nodes() + graph.g.number_of_edges() + 1, 1)
    path, line, column = at.rsplit(":", 2)
    return Location(path, int(line), int(column))


def host(graph: ServiceGraph, name: str, kind: str = "compose-project", *, at: Where = None,
         **fields: Any) -> Host:
    node = Host(id=f"host:{name}", name=name, host_kind=kind, location=location(graph, at), **fields)
    graph.add(node)
    return node


def component(graph: ServiceGraph, name: str, role: Role, *, on: Host | None = None, origin: str = "compose",
              at: Where = None, **fields: Any) -> Component:
    node = Component(id=f"{origin}:{name}", name=name, role=role, role_reason="built by hand", origin=origin,
                     location=location(graph, at), **fields)
    graph.add(node)
    if on is not None:
        graph.runs_on(node.id, on.id, node.location)
    return node


def listener(graph: ServiceGraph, owner: Component, port: int, protocol: Literal["tcp", "udp"] = "tcp", *,
             at: Where = None, **fields: Any) -> Listener:
    node = Listener(id=f"{owner.id}#{port}/{protocol}", component=owner.id, port=port, protocol=protocol,
                    location=location(graph, at), reason="built by hand", **fields)
    graph.add_listener(node)
    return node


def publish(graph: ServiceGraph, target: Listener, host_port: int | None = None, *, host_ip: str = "",
            at: Where = None) -> Publish:
    """The target's host forwards ``host_port`` (default: the same port) on ``host_ip`` ("" for
    every interface) to it, as a compose ``ports:`` entry does."""
    owner = graph.component_of(target)
    hosts = graph.hosts_of(owner.id)
    if not hosts:
        raise ValueError(f"{owner.name} runs on no host: pass on=host(...) to component()")
    edge = Publish(location=location(graph, at), host_ip=host_ip, host_port=host_port or target.port,
                   protocol=target.protocol)
    graph.link(hosts[0].id, target.id, edge)
    return edge


def allow(graph: ServiceGraph, target: Host | Listener, cidrs: list[str], port_from: int, port_to: int | None = None,
          *, layer: str = "security group", at: Where = None) -> Allow:
    """A firewall rule of ``layer`` letting ``cidrs`` reach the ports on a host or listener."""
    edge = Allow(location=location(graph, at), layer=layer, cidrs=cidrs, port_from=port_from,
                 port_to=port_to or port_from)
    graph.link(target.id, target.id, edge)
    return edge


def route(graph: ServiceGraph, front: Listener, backend: Listener, path: str | None = None, *,
          scheme: Literal["http", "https", "tcp"] = "http", at: Where = None) -> Route:
    """A load balancer's listener forwarding ``path`` (None: everything) to a backend."""
    edge = Route(location=location(graph, at), path=path, scheme=scheme)
    graph.link(front.id, backend.id, edge)
    return edge


def run_check(rule_id: str, graph: ServiceGraph, topology: str = "single-node",
              config: Config | None = None) -> list[Finding]:
    """Run one built-in rule's check on ``graph`` as the engine would in ``topology``: its
    findings, then the BRL002 notes for the values it needed and could not resolve."""
    rule = catalog(plugins=False)[rule_id]
    if rule.check == META_CHECK:
        raise ValueError(f"{rule_id} is reported by the engine itself, not by a check: test it with a case file")
    if not rule.applies_to(topology):
        raise ValueError(f"{rule_id} does not apply to {topology} (only {rule.topology_label})")
    ctx = CheckContext(graph, config or Config(), topology, rule)
    get_check(rule.check).run(ctx, rule.parameters)
    return [*ctx.findings, *unresolved_findings(ctx.unresolved)]
