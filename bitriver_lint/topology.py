"""Which of the guide's three layouts a deployment follows, and why we think so."""

from __future__ import annotations

from bitriver_lint.graph import ServiceGraph
from bitriver_lint.report import Environment
from bitriver_lint.vocabulary import AUTO, Role, Topology


def detect(graph: ServiceGraph, choice: str, environment: str | None = None) -> tuple[str, str]:
    """(topology, reason) of the whole graph, or of one environment in it (see
    ``ServiceGraph.environment_of``). ``choice`` is the config/CLI value; anything but ``auto`` wins."""
    if choice != AUTO:
        return choice, f"set to {choice} by configuration"

    cdns = graph.components(Role.CDN, environment=environment)
    if cdns:
        first = cdns[0]
        return Topology.CDN, f"a CDN is defined ({first.name} at {first.location})"
    for lb in graph.components(Role.LB, environment=environment):
        lb_hosts = {h.id for h in graph.hosts_of(lb.id)[:1]}
        pools = [graph.component_of(graph.node(t)) for li in graph.listeners(lb)  # type: ignore[arg-type]
                 for _, t, _ in graph.out_edges(li.id, "routes")]
        app_hosts = {h.id for c in pools if c.role in (Role.API, Role.VIEWER) for h in graph.hosts_of(c.id)[:1]}
        if app_hosts and not app_hosts <= lb_hosts:
            return Topology.ORIGIN_EDGE, f"the load balancer at {lb.location} fronts API/viewer pools on other hosts"
    return Topology.SINGLE_NODE, "no CDN and no load balancer in front of separate API/viewer hosts"


def environments(graph: ServiceGraph, choice: str) -> list[Environment]:
    """Every environment that has components, with the topology it follows."""
    directories = sorted({graph.environment_of(c.id) for c in graph.components()})
    alone = len(directories) == 1
    return [Environment(d, *detect(graph, choice, None if alone else d)) for d in directories]
