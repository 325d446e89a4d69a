"""Which of the guide's three layouts a deployment follows, and why we think so."""

from __future__ import annotations

from bitriver_lint.graph import Role, ServiceGraph


def detect(graph: ServiceGraph, choice: str) -> tuple[str, str]:
    """(topology, reason). ``choice`` is the config/CLI value; anything but ``auto`` wins."""
    if choice != "auto":
        return choice, f"set to {choice} by configuration"
    cdns = graph.components(Role.CDN)
    if cdns:
        first = cdns[0]
        return "cdn", f"a CDN is defined ({first.name} at {first.location})"
    lbs = graph.components(Role.LB)
    app = graph.components(Role.API, Role.VIEWER)
    hosts = {h.id for c in app for h in graph.hosts_of(c.id)[:1]}
    lb_hosts = {h.id for c in lbs for h in graph.hosts_of(c.id)[:1]}
    if lbs and (len(hosts) > 1 or (hosts and not hosts <= lb_hosts)):
        first = lbs[0]
        return "origin-edge", f"load balancer {first.name} ({first.location}) fronts API/viewer pools on separate hosts"
    return "single-node", "no CDN and no load balancer in front of separate API/viewer hosts"
