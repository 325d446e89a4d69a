"""Consistency checks: files that must agree with each other on ports and names."""

from __future__ import annotations

from bitriver_lint.checks.base import Check, CheckContext, NoParams
from bitriver_lint.graph import EPHEMERAL, Connect, Dangling, Host, Publish, Route
from bitriver_lint.model import Finding, Location, Related, Severity

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
                published = "an ephemeral host port" if edge.host_port == EPHEMERAL else f"host port {edge.host_port}"
                text = f"{published} is published to container port {listener.port}"
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
                 for li in graph.listeners(component) if li.declared][:3], entity=component.name,
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
                check.location, entity=component.name,
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
    undescribed: dict[str, list[Dangling]] = {}
    graph = ctx.graph
    # Roots side by side (envs/prod, envs/staging) write the same addresses: a reference means
    # the machine of its own environment.
    machines: dict[str, list[Host]] = {}
    for host in graph.hosts():
        if host.resource:
            machines.setdefault(host.resource, []).append(host)
    for ref in ctx.graph.dangling:
        if ref.kind == "undescribed_address":
            undescribed.setdefault(ref.location.path, []).append(ref)
            continue
        what = _REFERENCE.get(ref.kind, f"{ref.kind.replace('_', ' ')} names")
        hint = ""
        if ref.kind == "backend_server":
            # An address of a machine described elsewhere is joined by config, not guessed.
            hint = f"; if {_host_of(ref.name)} runs part of this tree, bind it under `hosts:` in the config"
            here = graph.environment_of(ref.source) if ref.source in graph else None
            machine = next((h for h in machines.get(_host_of(ref.name), []) if graph.environment_of(h.id) == here),
                           None)
            if machine is not None:
                # The machine is written (an aws_instance with no role in its tags): what runs
                # on it is what is missing, not the machine.
                ctx.report(f"{what} {ref.name!r}: {machine.name} is defined, but no file says what runs on "
                           f"it{hint}", ref.location, [Related(machine.location, f"{machine.name} is defined here")],
                           entity=ref.name)
                continue
        ctx.report(f"{what} {ref.name!r}, which no file in the deployment defines{hint}", ref.location,
                   entity=ref.name)
    for refs in undescribed.values():
        _summarise(ctx, refs)


def _host_of(name: str) -> str:
    """The host of ``host:port``: ``[::1]:80`` is ``::1``; a resource address keeps its index."""
    host = name.rsplit(":", 1)[0] if ":" in name else name
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host


def _summarise(ctx: CheckContext, refs: list[Dangling]) -> None:
    """One note per config file for the backend addresses (IPs, fully qualified names, names
    of a tree without compose files or units) that no file describes: they are not dangling,
    but nothing checks them until a ``hosts:`` binding says what runs there."""
    names = list(dict.fromkeys(ref.name for ref in refs))
    first = min(refs, key=lambda ref: (ref.location.line, ref.location.column)).location
    shown = ", ".join(names[:_SHOWN]) + (", …" if len(names) > _SHOWN else "")
    many = len(names) > 1
    count = f"{len(names)} backend address{'es are' if many else ' is'}"
    them = "them" if many else "it"
    ctx.findings.append(Finding(
        ctx.rule.id, Severity.NOTE,
        f"{count} not described in this tree ({shown}); bind {them} under `hosts:` in the config to check {them}",
        first))


_SHOWN = 3


REFERENCES = Check("consistency.references", _references, NoParams, "References resolve")

# What this module offers the registry in bitriver_lint/checks/__init__.py.
CHECKS = (PORTS, REFERENCES)
