"""Consistency checks: files that must agree with each other on ports and names."""

from __future__ import annotations

from bitriver_lint.checks.base import Check, CheckContext, NoParams
from bitriver_lint.graph import Connect, Publish, Route
from bitriver_lint.model import Location, Related

_WHAT = {"publishes": "publishes", "connects_to": "connects to", "routes": "routes to", "health_checks": "probes"}


def _ports(ctx: CheckContext, params: NoParams) -> None:
    graph = ctx.graph
    for listener in graph.listeners():
        component = graph.component_of(listener)
        if listener.declared or not component.ports_known:
            continue
        real = sorted(li.port for li in graph.listeners(component) if li.declared)
        listens = ", ".join(map(str, real)) or "no known port"
        reported: set[Location] = set()
        for _, _, edge in graph.in_edges(listener.id):
            if edge.kind not in _WHAT:
                continue
            # A route is written once per server line, however many frontends use the pool.
            where = (edge.server_location or edge.location) if isinstance(edge, Route) else edge.location
            if where in reported:
                continue
            reported.add(where)
            if isinstance(edge, Publish):
                text = f"host port {edge.host_port} is published to container port {listener.port}"
            elif isinstance(edge, Connect):
                text = f"{edge.env_key} points at port {listener.port}"
            elif isinstance(edge, Route):
                text = f"a route sends traffic to port {listener.port}"
            else:
                text = f"a health check probes port {listener.port}"
            ctx.report(
                f"{text} of {component.name}, but {component.name} listens on {listens}",
                where,
                [Related(li.location, f"{component.name} listens on {li.port} ({li.reason})")
                 for li in graph.listeners(component) if li.declared][:3],
            )
    for component in graph.components():
        check = component.healthcheck
        if check is None or check.port is None or not component.ports_known:
            continue
        ports = {li.port for li in graph.listeners(component) if li.declared}
        if ports and check.port not in ports:
            ctx.report(
                f"{component.name}'s health check probes port {check.port}, but it listens on "
                f"{', '.join(map(str, sorted(ports)))}",
                check.location,
            )


PORTS = Check("consistency.ports", _ports, NoParams, "Files agree on ports")


_REFERENCE = {
    "depends_on": "depends_on names service",
    "connects_to": "the connection URL points at host",
    "link": "links names service",
    "requires": "Requires= names unit",
    "backend": "a frontend routes to backend",
    "terraform": "a Terraform reference names",
    "backend_server": "a backend server points at",
    "route": "a route sends traffic to backend",
    "health_check": "a health check targets",
}


def _references(ctx: CheckContext, params: NoParams) -> None:
    for ref in ctx.graph.dangling:
        what = _REFERENCE.get(ref.kind, f"{ref.kind.replace('_', ' ')} names")
        hint = ""
        if ref.kind == "backend_server":
            # An address of a machine described elsewhere is joined by config, not guessed.
            host = ref.name.rsplit(":", 1)[0].strip("[]")
            hint = f"; if {host} runs part of this tree, bind it under `hosts:` in the config"
        ctx.report(f"{what} {ref.name!r}, which no file in the deployment defines{hint}", ref.location)


REFERENCES = Check("consistency.references", _references, NoParams, "References resolve")

# What this module offers the registry in bitriver_lint/checks/__init__.py.
CHECKS = (PORTS, REFERENCES)
