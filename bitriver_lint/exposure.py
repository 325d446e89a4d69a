"""Who can reach a listener: the CIDRs every layer on the way lets through.

An entry point is one way in: a compose publish (host port → container port) or a process
bound to the host's interfaces. Its reach starts from the bind address and is narrowed by
each firewall layer (host firewall, security group, LB ACL) the files describe for the hosts
it runs on. A layer the files do not describe is assumed open and named, so a finding can say
what it assumed.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

from bitriver_lint.config import Config, shipped_range_names
from bitriver_lint.graph import EPHEMERAL, Allow, Host, Listener, Pool, Publish, Route, ServiceGraph, UnknownRule
from bitriver_lint.model import Location, Related, Unknown
from bitriver_lint.netsets import EMPTY, LOOPBACK, PRIVATE, CidrSet, bind_reach
from bitriver_lint.rules import builtin_rules_dir, load_data_file
from bitriver_lint.vocabulary import HostKind, Layer, layer_name

# Layers every host sits behind, described or not.
STANDARD_LAYERS = (Layer.HOST_FIREWALL, Layer.SECURITY_GROUP)
# Layers that judge each request by who sends it, so they narrow what a load balancer forwards
# too, not only the host's own ports.
REQUEST_LAYERS = frozenset({Layer.INVOKER})

# A compose "3000" (or ``docker run -p 3000``) publishes on a host port the engine picks from
# the kernel's local port range: 32768-60999 on Linux by default, 49153-65535 where Docker
# cannot read it. A firewall rule on host ports may admit it when its range meets these.
_EPHEMERAL_RANGE = (32768, 65535)


def in_range(port: int, low: int, high: int) -> bool:
    """Whether a rule on ports ``low``-``high`` sees ``port`` (the ephemeral port: may see it)."""
    if port == EPHEMERAL:
        return low <= _EPHEMERAL_RANGE[1] and high >= _EPHEMERAL_RANGE[0]
    return low <= port <= high


def port_words(port: int) -> str:
    return "an ephemeral port" if port == EPHEMERAL else f"port {port}"


@dataclass
class Entry:
    """One way into a listener and who can use it."""

    listener: Listener
    port: int  # the port a client connects to (host port for compose publishes; EPHEMERAL)
    location: Location  # where this way in is written
    reach: CidrSet
    evidence: list[Related] = field(default_factory=list)
    assumed_open: list[str] = field(default_factory=list)
    unknown: Unknown | None = None
    via: str | None = None  # the scheme of the LB route this entry comes through, if any
    admitted_by: list[Allow] = field(default_factory=list)  # the firewall rules that let it through
    bypassed: bool = False  # a host firewall exists, but Docker publishes around it

    def describe_assumptions(self) -> str:
        if not self.assumed_open:
            return ""
        layers = " or ".join(self.assumed_open)
        return f"; no {layers} is described, so {'it was' if len(self.assumed_open) == 1 else 'they were'} assumed open"


def entries(graph: ServiceGraph, listener: Listener) -> list[Entry]:
    """Every way into ``listener`` with its reach. An empty list means only peers on the same
    private container network can reach it. Traffic a load balancer routes here counts too:
    whoever reaches the LB's listener reaches this one through it."""
    # A dozen exposure and TLS rules ask for the ways into the same listeners, and on the
    # finished graph the answer is the same each time: it is worked out once per listener.
    # Callers get their own list; they only read the entries.
    return list(graph.derived(("exposure.entries", listener.id), lambda: _entries(graph, listener, frozenset())))


def _entries(graph: ServiceGraph, listener: Listener, _seen: frozenset[str]) -> list[Entry]:
    component = graph.component_of(listener)
    hosts = graph.hosts_of(component.id)
    found: list[Entry] = []
    for _, _, edge in graph.in_edges(listener.id, "publishes"):
        assert isinstance(edge, Publish)
        if isinstance(edge.host_ip, Unknown) or isinstance(edge.host_port, Unknown):
            unknown = edge.host_ip if isinstance(edge.host_ip, Unknown) else edge.host_port
            assert isinstance(unknown, Unknown)
            found.append(Entry(listener, listener.port, edge.location, EMPTY, unknown=unknown))
            continue
        address = edge.host_ip or ""
        port = edge.host_port
        bind = bind_reach(address) if address else bind_reach("*")
        if not address:
            shown = f"{port_words(port)} of all interfaces"
        elif port == EPHEMERAL:
            shown = f"an ephemeral port of {address}"
        else:
            shown = f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
        evidence = [Related(edge.location, f"published on {shown} → container port {listener.port}")]
        found.append(_narrow(graph, listener, hosts, port, edge.location, bind, evidence, published=shown))
    if listener.host_bound:
        address = listener.bind or "*"
        bind = bind_reach(address)
        if not listener.bind:
            shown = f"port {listener.port} of all interfaces"
        else:  # an IPv6 address in brackets, as the config writes it: [::]:8404, not :::8404
            shown = f"[{address}]:{listener.port}" if ":" in address else f"{address}:{listener.port}"
        evidence = [Related(listener.location, f"binds {shown} ({listener.reason})")]
        found.append(_narrow(graph, listener, hosts, listener.port, listener.location, bind, evidence))
    seen = _seen | {listener.id}
    for source_id, _, route in graph.in_edges(listener.id, "routes"):
        front = graph.node(source_id)
        if not isinstance(front, Listener) or front.id in seen:
            continue
        lb = graph.component_of(front)
        hop = Related(route.location, f"{lb.name} forwards {route.path or 'all traffic'} to "
                                      f"{component.name}:{listener.port}")
        assert isinstance(route, Route)
        pool = graph.node(route.pool) if route.pool is not None and route.pool in graph else None
        for outer in _entries(graph, front, seen):
            # Through an L7 hop the backend is reached only as the LB lets requests through; an
            # L4 (tcp) hop exposes the port itself, and keeps that through further hops.
            via = "tcp" if route.scheme == "tcp" and outer.via in (None, "tcp") else "http"
            entry = Entry(listener, outer.port, outer.location, outer.reach, [*outer.evidence, hop],
                          list(outer.assumed_open), outer.unknown, via, list(outer.admitted_by))
            for host in hosts:
                if host.described_layers & REQUEST_LAYERS:
                    _guard(graph, entry, [host.id], host.described_layers & REQUEST_LAYERS, host.unknown_rules,
                           [cloud_of(host)])
            if isinstance(pool, Pool) and pool.described_layers:
                _guard(graph, entry, [pool.id], pool.described_layers, pool.unknown_rules, [pool.name])
            found.append(entry)
    return found


def _narrow(
    graph: ServiceGraph,
    listener: Listener,
    hosts: list[Host],
    port: int,
    location: Location,
    reach: CidrSet,
    evidence: list[Related],
    published: str | None = None,
) -> Entry:
    """``published``: for a port Docker publishes, the address it is published on. Docker
    DNATs it before the routing decision, so the host firewall's ``input`` rules never see it;
    only ``forward`` rules (DOCKER-USER, an nft forward chain), which see the container port,
    and rules of every path do."""
    entry = Entry(listener, port, location, reach, list(evidence))
    if not reach or reach.issubset(LOOPBACK):
        return entry
    path = "forward" if published is not None else "input"

    def seen_port(rule_path: str) -> int | None:
        """The port a rule of ``rule_path`` compares, or None when it does not see this way in."""
        if rule_path == "any":
            return port
        if rule_path != path:
            return None
        return listener.port if path == "forward" else port

    described = set().union(*(h.described_layers for h in hosts)) if hosts else set()
    for host in hosts:
        for rule in host.unknown_rules:
            at = seen_port(rule.path)
            if (at is not None and in_range(at, rule.port_from, rule.port_to)
                    and rule.protocol in ("all", listener.protocol)):
                entry.unknown = rule.sources.value
                entry.location = rule.sources.location
                return entry
    # Listeners behind one shared host admit the same rules: gathered, and said, once (per
    # listener only where the listener has rules of its own).
    own = listener.id if _admitting(graph, listener.id, path, port, listener) else ""
    key = ("exposure.layers", own, *(h.id for h in hosts), path, port, listener.port, listener.protocol)
    allows = graph.derived(key, lambda: _by_layer(graph, [listener.id, *(h.id for h in hosts)], path, port, listener))
    if Layer.HOST_FIREWALL in described and not any(path in h.firewall_paths for h in hosts):
        # The host has a firewall, but not for this way in: Docker publishes around INPUT.
        described = described - {Layer.HOST_FIREWALL}
        _bypassed(entry, hosts, published or "", listener)
    standard = [layer for layer in STANDARD_LAYERS
                if not (layer == Layer.HOST_FIREWALL and hosts and all(h.managed for h in hosts))
                and not (layer == Layer.HOST_FIREWALL and entry.bypassed)]
    extra = (described | set(allows)) - set(STANDARD_LAYERS)
    for layer in [*standard, *sorted(extra)]:
        words = _words(Layer(layer), [cloud_of(h) for h in hosts])
        if layer not in described and layer not in allows:
            entry.assumed_open.append(words)
            continue
        let_through, said = graph.derived((*key, layer, words), functools.partial(
            _let_through, allows.get(layer, []), layer, words, port, listener.protocol))
        entry.reach = entry.reach.intersection(let_through)
        entry.admitted_by.extend(allows.get(layer, []))
        entry.evidence.extend(said)
        if not allows.get(layer):
            entry.evidence.append(Related(location, f"no {words} rule admits {_shown_port(port)}/{listener.protocol}"))
    return entry


def _words(layer: Layer, resources: list[str | None]) -> str:
    """The layer in its system's words: all the nodes' cloud, or the shared word when they differ."""
    shown_as = {layer_name(layer, r) for r in resources} or {layer.value}
    return next(iter(shown_as)) if len(shown_as) == 1 else layer.value


def _guard(graph: ServiceGraph, entry: Entry, node_ids: list[str], layers: set[Layer],
           unknown: list[UnknownRule], resources: list[str | None]) -> None:
    """Narrow a way in that a load balancer routes by the filters that judge each request it
    forwards (a Cloud Armor policy on its pool, a Cloud Run service's invoker IAM). The nearest
    rule that lets outsiders through is where the fix belongs, so these come first as proof."""
    if entry.unknown is not None or not entry.reach:
        return
    listener, port = entry.listener, entry.port
    for rule in unknown:
        if rule.layer in layers and in_range(port, rule.port_from, rule.port_to) \
                and rule.protocol in ("all", listener.protocol):
            entry.unknown = rule.sources.value
            entry.location = rule.sources.location
            return
    admitted: list[Allow] = []
    for layer in sorted(layers):
        words = _words(layer, resources)
        allows = [a for n in node_ids for a in _admitting(graph, n, "any", port, listener) if a.layer == layer]
        entry.reach = entry.reach.intersection(CidrSet([c for a in allows for c in a.cidrs]))
        admitted.extend(allows)
        for allow in allows:
            which = f" ({allow.description})" if allow.description else ""
            entry.evidence.append(Related(allow.location, f"{words}{which} allows "
                                                          f"{allow.assumed or ', '.join(allow.cidrs)} on "
                                                          f"{_shown_port(port)}/{listener.protocol}"))
        if not allows:
            entry.evidence.append(Related(entry.location, f"no {words} rule admits "
                                                          f"{_shown_port(port)}/{listener.protocol}"))
    entry.admitted_by[:0] = admitted


def _by_layer(graph: ServiceGraph, node_ids: list[str], path: str, port: int,
              listener: Listener) -> dict[str, list[Allow]]:
    allows: dict[str, list[Allow]] = {}
    for node_id in node_ids:
        for edge in _admitting(graph, node_id, path, port, listener):
            allows.setdefault(edge.layer, []).append(edge)
    return allows


def _let_through(allows: list[Allow], layer: str, words: str, port: int,
                 protocol: str) -> tuple[CidrSet, tuple[Related, ...]]:
    """Whom one layer's rules let through, and the evidence line of each rule."""
    said = []
    for allow in allows:
        which = f" ({allow.description})" if layer == Layer.HOST_FIREWALL and allow.description else ""
        said.append(Related(allow.location, f"{words}{which} allows {allow.assumed or ', '.join(allow.cidrs)} on "
                                            f"{_shown_port(port)}/{protocol}"))
    return CidrSet([c for a in allows for c in a.cidrs]), tuple(said)


def _admitting(graph: ServiceGraph, node_id: str, path: str, port: int, listener: Listener) -> list[Allow]:
    """The ``node_id``'s firewall rules that admit ``port`` to ``listener`` on ``path``, in order:
    a rule of another path does not see it; a ``forward`` rule sees the container port."""
    # A host shared by many sites (one security group for a whole fleet) holds hundreds of
    # rules, and every listener on it asks which of them admit the same few ports.
    key = ("exposure.admitting", node_id, path, port, listener.port, listener.protocol)
    return graph.derived(key, lambda: _admitting_now(graph, node_id, path, port, listener))


def _admitting_now(graph: ServiceGraph, node_id: str, path: str, port: int, listener: Listener) -> list[Allow]:
    found = []
    for _, _, edge in graph.in_edges(node_id, "allows"):
        assert isinstance(edge, Allow)
        if edge.path == "any":
            at = port
        elif edge.path != path:
            continue
        else:
            at = listener.port if path == "forward" else port
        if in_range(at, edge.port_from, edge.port_to) and edge.protocol in ("all", listener.protocol):
            found.append(edge)
    return found


def _shown_port(port: int) -> str:
    return "an ephemeral port" if port == EPHEMERAL else str(port)


def cloud_of(host: Host) -> str | None:
    """The cloud resource a host stands for: its address, or for a cloud load balancer's host
    (built from its document, with no address) the resource it is named after."""
    return host.resource or (host.name if host.host_kind == HostKind.LB_HOST else None)


def _bypassed(entry: Entry, hosts: list[Host], shown: str, listener: Listener) -> None:
    """Say that the host firewall does not guard a port Docker publishes, citing the rule that
    looks as if it did."""
    entry.bypassed = True
    port = entry.port
    blocks = [b for h in hosts for b in h.firewall_blocks
              if b.path == "input" and in_range(port, b.port_from, b.port_to)
              and b.protocol in ("all", listener.protocol)]
    if not shown:  # a process on the host, behind a firewall of forwarded traffic only
        where = next((loc for h in hosts for loc in h.firewall_paths.values()), entry.location)
        entry.evidence.append(Related(where, f"the host firewall at {where} filters only forwarded traffic (no "
                                             f"input chain), so it does not guard {port}/{listener.protocol}"))
        return
    why = f"Docker publishes {shown} through its own DOCKER chain (FORWARD), which INPUT rules never see"
    if blocks:
        block = blocks[0]
        entry.evidence.append(Related(block.location, f"{block.description} at {block.location} does not apply: {why}"))
        return
    where = next((h.firewall_paths["input"] for h in hosts if "input" in h.firewall_paths), entry.location)
    entry.evidence.append(Related(where, f"the host firewall at {where} does not apply: {why}"))


def named_set(config: Config, name: str) -> CidrSet:
    """A named source set from the config; an unconfigured one adds nothing to the private
    networks, which exposure rules always trust."""
    networks = config.networks
    if name == "private":
        return PRIVATE
    if name == "loopback":
        return LOOPBACK
    if name in ("encoders", "operators", "cdn"):
        entries: list[str] | None = getattr(networks, name)
        found = PRIVATE
        for entry in entries or []:
            found = found.union(shipped_ranges(entry) if entry in shipped_range_names() else CidrSet([entry]))
        return found
    raise ValueError(f"unknown source set {name!r}")


def is_configured(config: Config, name: str) -> bool:
    return getattr(config.networks, name, None) is not None


def _ranges_dir() -> Path:
    return Path(builtin_rules_dir()) / "data" / "cdn-ranges"




def shipped_ranges(name: str) -> CidrSet:
    """A CDN's edge ranges as shipped in ``rules/data/cdn-ranges/<name>.yaml`` (config
    validation has already checked the name)."""
    data = load_data_file(_ranges_dir() / f"{name}.yaml")
    return CidrSet(list(data.get("ipv4", [])) + list(data.get("ipv6", [])))
