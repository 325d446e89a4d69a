"""The join stage: what one file says about another, resolved once every builder has run.

Builders add what each document says on its own; references across files wait for this stage,
which answers them through indexes of the finished graph, each built once:

- placeholders in proxy configs: a config whose runner's environment sets some of its
  placeholders is rendered with that environment (``ProxyConfig.render``, from the text the
  loader already read), then its listeners are written;
- backend servers of proxies and load balancers: an address (or a name the proxy container's
  ``extra_hosts`` maps to one) to the compose service with that fixed ``ipv4_address`` (an index
  by address), a name to the component of that name defined closest to the config
  (``ServiceGraph.find_component``), loopback to a component on the proxy's own host (an index
  by host), else a ``hosts:`` binding of the config (indexes by name or address, by directory
  and by resource address).

What cannot be joined is told apart (``classify``): a single-label name that the tree's compose
files or units should define is a ``Dangling`` reference (BRL604); loopback, variables and
wildcards are never dangling; an address the tree does not describe (an IP, a fully qualified
name, or any name where no compose file or unit could define it) is summarised once per config
(a BRL604 note) and, where the guide's ports or paths say what it runs, becomes an external
target component (``Component.external``) so that the routes and pools to it are still judged.
The engine runs each step on its own, so that an internal error costs only what that step
touched.
"""

from __future__ import annotations

import ipaddress
import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Literal

from bitriver_lint.builders import proxy
from bitriver_lint.builders.common import BuildContext, ProxyPlacement, resolves_by_name
from bitriver_lint.builders.terraform_common import root_prefix
from bitriver_lint.config import HostBinding
from bitriver_lint.graph import Component, Dangling, Host, Role
from bitriver_lint.loaders.compose import BASE_NAMES
from bitriver_lint.loaders.proxy import Server
from bitriver_lint.model import Location
from bitriver_lint.vocabulary import HostKind, Runtime

_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*")
_DOTTED = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
# Names every container or host answers without the tree saying so.
_PLATFORM = ("host.docker.internal", "gateway.docker.internal", "host-gateway")

# What the guide's ports say a server runs, and whether it speaks TLS there.
_ROLE_BY_PORT = {8080: (Role.API, "API"), 3000: (Role.VIEWER, "viewer"), 1985: (Role.SRS, "SRS API")}
_ROLE_BY_PATH = (("/api", Role.API), ("/viewer", Role.VIEWER))
_TLS_BY_PORT = {8080: False, 3000: False, 1985: False, 443: True}


def infer_role(port: int, paths: tuple[str | None, ...]) -> tuple[Role, str] | None:
    """The role of a backend the tree does not describe, and the reason: its port, else the
    paths routed to it (the guide's conventions)."""
    if port in _ROLE_BY_PORT:
        role, what = _ROLE_BY_PORT[port]
        return role, f"inferred: port {port} is the guide's {what} port"
    for prefix, role in _ROLE_BY_PATH:
        for path in paths:
            if path is not None and (path == prefix or path.startswith(prefix + "/")):
                return role, f"inferred: the config routes {path} to it"
    return None


Kind = Literal["local", "name", "address", "unjudged", "resource"]


def classify(host: str) -> Kind:
    """What a backend server's host is, for the join:

    - ``local``: loopback (all of 127.0.0.0/8, ``::1``, ``localhost``), the proxy's own machine;
    - ``name``: a single-label name, which a compose service or unit may define;
    - ``address``: an IP literal or a fully qualified name, a machine the tree may not describe;
    - ``unjudged``: a variable, a wildcard or the platform's own names, never dangling.
    """
    bare = host.strip()
    if bare.startswith("[") and bare.endswith("]"):
        bare = bare[1:-1]
    if not bare or "$" in bare or "{" in bare or "@" in bare or bare == "*":
        return "unjudged"
    if bare.lower() == "localhost":
        return "local"
    if bare.lower() in _PLATFORM:
        return "unjudged"
    try:
        ip = ipaddress.ip_address(bare)
    except ValueError:
        pass
    else:
        if ip.is_loopback:
            return "local"
        return "unjudged" if ip.is_unspecified else "address"
    if _NAME.fullmatch(bare):
        return "name"
    if _DOTTED.fullmatch(bare) and not bare.endswith("."):
        return "address"
    return "unjudged"


@dataclass(frozen=True)
class Step:
    what: str  # what it joins, for an internal error: "haproxy files"
    where: Location | None
    run: Callable[[], None]


def steps(ctx: BuildContext) -> list[Step]:
    """The join's work, in order: rendered configs' listeners first, then every route."""
    references = References(ctx)
    out: list[Step] = []
    for placement in ctx.placements.values():
        if placement.awaiting_environment:
            out.append(Step(f"{placement.doc.kind} files", placement.doc.location, partial(_render, ctx, placement)))
    for key in ctx.routing:
        placement = ctx.placements[key]
        out.append(Step(f"{placement.doc.kind} files", placement.doc.location,
                        partial(proxy.route, ctx.graph, placement, references.resolve)))
    return out


def _render(ctx: BuildContext, placement: ProxyPlacement) -> None:
    """Fill the config's placeholders from the environment of the service that runs it."""
    doc = placement.doc
    assert doc.render is not None
    again = doc.render(proxy.environment(placement.runner))
    doc.frontends, doc.backends, doc.placeholders = again.frontends, again.backends, again.placeholders
    proxy.add_listeners(ctx, doc, placement.runner)


class References:
    """Answers for the references builders left, from indexes built on first use. The join adds
    listeners and edges but no components or hosts, so the indexes stay true throughout."""

    def __init__(self, ctx: BuildContext) -> None:
        self.ctx = ctx
        self.graph = ctx.graph
        self._by_host: dict[str | None, list[Component]] | None = None
        self._bindings: dict[str, tuple[str, HostBinding]] | None = None
        self._bound: dict[str, list[Component]] = {}
        self._on_resource: dict[str, list[Component]] | None = None
        self._order: dict[str, int] | None = None
        # Directories at or above a compose file or unit, and those holding one.
        self._naming: tuple[set[tuple[str, ...]], set[tuple[str, ...]]] | None = None

    def resolve(self, lb: Component, server: Server, paths: tuple[str | None, ...] = ()) -> str | None:
        """The listener a backend server reaches, or None (recorded as dangling when it names
        something no file defines). ``paths``: the paths the config routes to the server's pool,
        which name the role of a server the tree does not describe."""
        graph = self.graph
        if server.port is None or "${" in server.host or "{$" in server.host:
            return None  # not known (an unfilled template placeholder), which is not the same as undefined
        peer: Component | None
        kind: Kind = "resource" if lb.origin == "terraform" else classify(server.host)
        if kind == "local":
            if lb.runtime is Runtime.CONTAINER:
                return None  # the proxy's own container
            peer = self._local_peer(lb, server.port)
            if peer is None:
                return None  # a port on the proxy's own machine we cannot attribute: not a name
        elif server.component is not None and server.component in graph and isinstance(
                known := graph.node(server.component), Component):
            peer = known
        else:
            peer = self._by_address(lb, server) or self._compose_peer(lb, server.host)
            if peer is None:
                peer = graph.find_component(server.host, near=server.location.path)
                if peer is not None and lb.runtime is Runtime.CONTAINER and not resolves_by_name(graph, lb, peer):
                    peer = None  # another compose project's service: not reachable by that name
            peer = peer or self._bound_host(server)
        if peer is None:
            mapped = graph.extra_hosts.get(lb.id, {}).get(server.host)
            if mapped is not None:  # defined by the container's extra_hosts: an address, or the host itself
                kind = "address" if classify(mapped) == "address" else "unjudged"
            if kind == "unjudged":
                return None  # a variable, a wildcard, the platform's own name: never dangling
            if kind == "resource" or (kind == "name" and self._could_define(lb, server.location.path)):
                graph.dangling.append(Dangling(kind="backend_server", name=f"{server.host}:{server.port}",
                                               location=server.location, source=lb.id))
            else:
                # A machine this tree does not describe: summarised once per config (a note).
                host = f"[{server.host}]" if ":" in server.host and not server.host.startswith("[") else server.host
                graph.dangling.append(Dangling(kind="undescribed_address", name=f"{host}:{server.port}",
                                               location=server.location, source=lb.id))
                return self._external(server, host, paths)
            return None
        return graph.listener_for(peer, server.port, server.location).id

    # -- addresses: fixed compose addresses, the proxy's extra_hosts ------------------------

    def _by_address(self, lb: Component, server: Server) -> Component | None:
        """The component at the server's address: the proxy container's ``extra_hosts`` entry
        for its name first, then a service with that fixed address (``ipv4_address``) or a
        ``hosts:`` binding of that address. An address is reached over the network, whichever
        compose project holds it."""
        address = self.graph.extra_hosts.get(lb.id, {}).get(server.host)
        if address is None and classify(server.host) == "address":
            address = server.host
        if address is None:
            return None
        # Addresses are aliases of what holds them; the definition nearest the config wins, as
        # for names: prod and staging side by side often reuse the same private addresses.
        found = self.graph.find_component(address, near=server.location.path)
        if found is None and address != server.host:
            found = self._bound_host(Server(address, server.port, server.location, server.scheme))
        return found

    # -- what the tree does not describe: an external target of the inferred role -----------

    def _external(self, server: Server, host: str, paths: tuple[str | None, ...]) -> str | None:
        """The listener of an external component standing for ``host``, when the guide's
        conventions say what it runs; None (no route) when they do not."""
        assert server.port is not None
        inferred = infer_role(server.port, paths)
        if inferred is None:
            return None
        role, reason = inferred
        where = server.location.path
        key = f"{where}:{host}"
        component_id = f"external:{key}"
        graph = self.graph
        if component_id in graph:
            component = graph.node(component_id)
            assert isinstance(component, Component)
        else:
            host_id = graph.add(Host(id=f"external-host:{key}", name=f"{host} (outside this tree)",
                                     host_kind=HostKind.INSTANCE, location=server.location))
            component = Component(id=component_id, name=host, role=role, role_reason=reason, origin="external",
                                  location=server.location, external=True)
            graph.add(component)
            graph.runs_on(component.id, host_id, server.location)
        listener = graph.listener_for(component, server.port, server.location, reason=reason)
        if listener.tls is None:
            listener.tls = _TLS_BY_PORT.get(server.port)
        return listener.id

    # -- names: only a tree with compose files or units near the config could define one ------

    def _could_define(self, lb: Component, config_path: str) -> bool:
        """Whether a single-label name in this config is the tree's to define: compose services
        or systemd units run the proxy, or are defined in the config's directory, above it or
        below it. An LB config alone in its repository names machines kept elsewhere."""
        if lb.origin in ("compose", "systemd"):
            return True
        if self._naming is None:
            below: set[tuple[str, ...]] = set()  # every directory holding one at or below it
            exact: set[tuple[str, ...]] = set()
            for component in self.graph.components():
                if component.origin in ("compose", "systemd"):
                    parts = _dir_parts(component.location.path)
                    exact.add(parts)
                    below.update(parts[:depth] for depth in range(len(parts) + 1))
            self._naming = (below, exact)
        below, exact = self._naming
        here = _dir_parts(config_path)
        return here in below or any(here[:depth] in exact for depth in range(len(here)))

    # -- localhost: another component on the proxy's own host --------------------------------

    def _at_home(self, component: Component) -> list[Component]:
        """Every component on the component's first host (its compose project), itself too."""
        if self._by_host is None:
            self._by_host = {}
            for each in self.graph.components():
                self._by_host.setdefault(self._home(each), []).append(each)
        return self._by_host.get(self._home(component), [])

    def _compose_peer(self, lb: Component, name: str) -> Component | None:
        """The service a proxy container reaches by ``name``, as compose resolves it: one of its
        own project, else of the base file of its directory that its add-on file runs merged onto
        (``-f docker-compose.yml -f docker-compose.ha.yml``). A service of that name in another
        project beside it (basic.yml next to caddy.yml) is never the one, whichever is nearer."""
        if lb.origin != "compose":
            return None

        own = next((c for c in self._at_home(lb) if c.id != lb.id and name in (c.name, *c.aliases)), None)
        if own is not None:
            return own
        if posixpath.basename(lb.location.path) in BASE_NAMES:
            return None  # a base file's service: its own project is all it reaches
        return self.ctx.compose_bases.get(posixpath.dirname(lb.location.path), {}).get(name)

    def _local_peer(self, lb: Component, port: int) -> Component | None:
        for candidate in self._at_home(lb):
            if candidate.id != lb.id and any(li.port == port and li.declared for li in self.graph.listeners(candidate)):
                return candidate
        return None

    def _home(self, component: Component) -> str | None:
        hosts = self.graph.hosts_of(component.id)
        return hosts[0].id if hosts else None

    # -- hosts: bindings of the config ------------------------------------------------------

    def _bound_host(self, server: Server) -> Component | None:
        """Config ``hosts``: a name or address bound to directories of the tree and/or a
        resource; the member listening on the server's port, else the first member."""
        if self._bindings is None:
            self._bindings = {}
            for name, binding in self.ctx.config.hosts.items():
                for key in (name, binding.address):
                    if key is not None:
                        self._bindings.setdefault(key, (name, binding))
        bound = self._bindings.get(server.host)
        if bound is None:
            return None
        members = self._members(*bound)
        listening = [c for c in members if any(li.port == server.port for li in self.graph.listeners(c))]
        chosen = listening or members
        return chosen[0] if chosen else None

    def _members(self, name: str, binding: HostBinding) -> list[Component]:
        if name not in self._bound:
            prefixes = [self.ctx.config_path(p) for p in binding.paths]
            members = [c for c in self.graph.components()
                       if any(not p or c.location.path.startswith(p.rstrip("/") + "/") for p in prefixes)]
            if binding.resource:
                # A Terraform instance (or one copy of it: aws_instance.api[1]), of the roots the
                # binding binds in where several create it.
                running = self._running_on(binding.resource, binding.resource.split("[")[0])
                placed = self.ctx.bound_roots.get(name)
                if placed is not None:
                    roots = tuple(root_prefix(root) for root in placed)
                    running = [c for c in running if any(h.id.startswith(roots) for h in self.graph.hosts_of(c.id))]
                members += running
            self._bound[name] = members
        return self._bound[name]

    def _running_on(self, *resources: str) -> list[Component]:
        """Components with a host that is one of these resource addresses, in graph order."""
        if self._on_resource is None or self._order is None:
            self._on_resource = {}
            self._order = {}
            for position, component in enumerate(self.graph.components()):
                self._order[component.id] = position
                for host in self.graph.hosts_of(component.id):
                    if host.resource is not None:
                        self._on_resource.setdefault(host.resource, []).append(component)
        found = {c.id: c for resource in resources for c in self._on_resource.get(resource, [])}
        order = self._order
        return sorted(found.values(), key=lambda c: order[c.id])


def _dir_parts(path: str) -> tuple[str, ...]:
    return tuple(part for part in posixpath.dirname(path).split("/") if part and part != ".")
