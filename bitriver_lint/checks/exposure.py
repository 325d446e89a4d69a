"""Exposure checks: who can reach which port, across every layer the files describe.

``exposure.reachable`` is generic on purpose: a custom rule can name any roles, ports and
allowed source sets (``encoders``, ``operators``, ``cdn``, ``private``, ``loopback``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from bitriver_lint.checks.base import Check, CheckContext, Params
from bitriver_lint.exposure import Entry, entries, is_configured, named_set
from bitriver_lint.graph import EPHEMERAL, Component, Listener, Role
from bitriver_lint.model import Location, Related
from bitriver_lint.netsets import LOOPBACK, CidrSet
from bitriver_lint.vocabulary import ListenerPurpose

SourceSet = str

_PORT_NAMES: dict[tuple[Role, int], str] = {
    (Role.SRS, 1935): "RTMP ingest",
    (Role.SRS, 1985): "the SRS HTTP API",
    (Role.POSTGRES, 5432): "PostgreSQL",
    (Role.REDIS, 6379): "Redis",
    (Role.API, 8080): "the Go API",
    (Role.TRANSCODER, 9000): "the transcoder control plane",
    (Role.OME, 8081): "the OvenMediaEngine API/WebRTC port",
    (Role.OME, 9000): "the OvenMediaEngine ICE/transfer port",
    (Role.VIEWER, 3000): "the viewer runtime",
}


class Target(Params):
    role: Role
    ports: list[int]
    tls: bool | None = None  # only listeners with this TLS state, when set
    # What the ports serve (the SRS API): a component whose config says which of its ports
    # serve what (``Listener.purpose``) is judged on the ports that serve this, wherever they
    # are; the others by ``ports``.
    purpose: ListenerPurpose | None = None


def _targeted(target: Target, listener: Listener, purposes_known: bool) -> bool:
    if target.purpose is not None and purposes_known:
        return listener.purpose == target.purpose
    return listener.port in target.ports


class ReachableParams(Params):
    targets: list[Target]
    allowed: list[SourceSet] = Field(min_length=1)
    # In these topologies the rule reports only once every allowed set is configured.
    optional_in: list[str] = Field(default_factory=list)
    # Which load-balancer hops expose the port: "all", or "tcp" when an HTTP proxy in front is
    # the intended way in (the API and viewer behind the edge).
    through_proxy: Literal["all", "tcp"] = "all"


_PURPOSE_NAMES: dict[str, str] = {"rtmp": "RTMP ingest", "srs-api": "the SRS HTTP API",
                                   "srs-http": "the SRS HTTP server", "webrtc": "SRS WebRTC", "srt": "SRS SRT"}


def _what(component: Component, listener: Listener) -> str:
    if listener.purpose is not None:
        name = _PURPOSE_NAMES[listener.purpose]
    else:
        name = _PORT_NAMES.get((component.role, listener.port), f"port {listener.port}")
    return f"{name} ({listener.port}/{listener.protocol}) of {component.name}"


def _reachable(ctx: CheckContext, params: ReachableParams) -> None:
    if ctx.topology in params.optional_in and not all(is_configured(ctx.config, s) for s in params.allowed):
        return
    allowed = LOOPBACK
    for name in params.allowed:
        allowed = allowed.union(named_set(ctx.config, name))
    label = " or ".join(params.allowed)
    graph = ctx.graph
    seen: set[tuple[Location, int]] = set()
    for target in params.targets:
        for component in graph.components(target.role):
            for mapping in component.unknown_ports:
                # "1985:${SRS_API_PORT}": any of the ports may be the one published.
                ports = ", ".join(f"{p}/tcp" for p in target.ports)
                ctx.note_unknown(mapping.value, mapping.location, f"whether {ports} of {component.name} is published")
            listeners = graph.listeners(component)
            purposes_known = any(li.purpose is not None for li in listeners)
            for listener in listeners:
                if not _targeted(target, listener, purposes_known):
                    continue
                if target.tls is not None and listener.tls is not None and listener.tls != target.tls:
                    continue
                for entry in entries(graph, listener):
                    if entry.via == "http" and params.through_proxy == "tcp":
                        continue
                    _judge(ctx, component, entry, allowed, label, seen, target.purpose is not None)


def _judge(
    ctx: CheckContext, component: Component, entry: Entry, allowed: CidrSet, label: str,
    seen: set[tuple[Location, int]], by_purpose: bool = False,
) -> None:
    if entry.unknown is not None:
        port = f"{entry.listener.port}/{entry.listener.protocol}"
        ctx.note_unknown(entry.unknown, entry.location, f"who can reach {port}")
        return
    outside = entry.reach.difference(allowed)
    if not outside:
        return
    who = entry.reach.describe()
    # The fix belongs where a firewall rule lets outsiders in (a security group rule, an ACL),
    # when one does; otherwise at the bind or publish that opened the port.
    culprit = next((a for a in entry.admitted_by if CidrSet(a.cidrs).intersection(outside)
                    and a.layer != "public address"), None)
    where = culprit.location if culprit else entry.location
    if (where, entry.port) in seen:
        return  # copies of one instance behind one rule: one finding at the rule
    seen.add((where, entry.port))
    tunnel = _tunnel_to(ctx, component)
    through = (f"; {component.name} is reached through {tunnel.name}, whose connector dials out, so it needs no "
               "inbound port at all") if tunnel is not None else ""
    evidence = list(entry.evidence)
    listener = entry.listener
    if (by_purpose and listener.purpose is not None and listener.location.path != entry.location.path
            and listener.location != component.location):
        # The port is the config's (srs.conf, an env file): the chain shows where it was set. A
        # guide default sits on the component's own line, which says nothing more.
        evidence.append(Related(listener.location, f"{_what(component, listener)} is set here: {listener.reason}"))
    ctx.report(
        f"{_what(component, listener)} is reachable from {who}, outside {label}"
        f"{entry.describe_assumptions()}{through}",
        where,
        evidence, entity=f"{component.name}:{listener.port}/{listener.protocol}",
    )


def _tunnel_to(ctx: CheckContext, component: Component) -> Component | None:
    """The tunnel that routes to the component, if one does."""
    return ctx.graph.derived(("exposure.tunnel_to", component.id), lambda: _find_tunnel(ctx, component))


def _find_tunnel(ctx: CheckContext, component: Component) -> Component | None:
    graph = ctx.graph
    for listener in graph.listeners(component):
        for source, _, _ in graph.in_edges(listener.id, "routes"):
            front = graph.node(source)
            if isinstance(front, Listener) and graph.component_of(front).tunnel:
                return graph.component_of(front)
    return None


REACHABLE = Check("exposure.reachable", _reachable, ReachableParams, "Listeners reachable from outside a source set")


class AllowlistParams(Params):
    ports: list[int]


def _port_allowlist(ctx: CheckContext, params: AllowlistParams) -> None:
    graph = ctx.graph
    private = named_set(ctx.config, "private")
    # One finding per written entry and component that listens behind it: a range like
    # "6379-6380:6379-6380" is one mistake, and each port is named once.
    by_location: dict[tuple[Location, str], tuple[Component, list[Entry]]] = {}
    for component in graph.components():
        for listener in graph.listeners(component):
            for entry in entries(graph, listener):
                if entry.unknown is not None:
                    ctx.note_unknown(entry.unknown, entry.location, f"whether port {entry.port} is published publicly")
                    continue
                if entry.port in params.ports or not entry.reach.difference(private):
                    continue
                by_location.setdefault((entry.location, component.id), (component, []))[1].append(entry)
    for (location, _), (component, found) in sorted(by_location.items(), key=lambda item: item[0]):
        ports = ", ".join(dict.fromkeys(_opened(e) for e in sorted(found, key=lambda e: e.port)))
        ctx.report(
            f"{component.name} opens {ports} on all interfaces; a single-node appliance should only "
            f"expose {', '.join(map(str, params.ports))}",
            location,
            [r for e in found for r in e.evidence][:4], entity=component.name,
        )


def _opened(entry: Entry) -> str:
    protocol = entry.listener.protocol
    if entry.port == EPHEMERAL:
        return f"an ephemeral port (to {entry.listener.port}/{protocol})"
    return f"{entry.port}/{protocol}"


PORT_ALLOWLIST = Check(
    "exposure.port_allowlist", _port_allowlist, AllowlistParams, "Ports published to all interfaces beyond a list"
)

# What this module offers the registry in bitriver_lint/checks/__init__.py.
CHECKS = (REACHABLE, PORT_ALLOWLIST)
