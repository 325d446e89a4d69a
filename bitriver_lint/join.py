"""The join stage: what one file says about another, resolved once every builder has run.

Builders add what each document says on its own; references across files wait for this stage,
which answers them through indexes of the finished graph, each built once:

- placeholders in proxy configs: a config whose runner's environment sets some of its
  placeholders is rendered with that environment (``ProxyConfig.render``, from the text the
  loader already read), then its listeners are written;
- backend servers of proxies and load balancers: a name to the component of that name defined
  closest to the config (``ServiceGraph.find_component``), ``localhost`` to a component on the
  proxy's own host (an index by host), else a ``hosts:`` binding of the config (indexes by name
  or address, by directory and by resource address).

What cannot be joined stays an explicit ``Dangling`` reference (BRL604). The engine runs each
step on its own, so that an internal error costs only what that step touched.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from bitriver_lint.builders import proxy
from bitriver_lint.builders.common import BuildContext, ProxyPlacement, resolves_by_name
from bitriver_lint.config import HostBinding
from bitriver_lint.graph import Component, Dangling
from bitriver_lint.loaders.proxy import Server
from bitriver_lint.model import Location
from bitriver_lint.vocabulary import Runtime

_LOCAL = ("localhost", "127.0.0.1", "::1")


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
    proxy.add_listeners(ctx.graph, doc, placement.runner)


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

    def resolve(self, lb: Component, server: Server) -> str | None:
        """The listener a backend server reaches, or None (recorded as dangling when it names
        something no file defines)."""
        graph = self.graph
        if server.port is None or "${" in server.host or "{$" in server.host:
            return None  # not known (an unfilled template placeholder), which is not the same as undefined
        peer: Component | None
        if server.host in _LOCAL:
            if lb.runtime is Runtime.CONTAINER:
                return None  # the proxy's own container
            peer = self._local_peer(lb, server.port)
            if peer is None:
                return None
        else:
            peer = graph.find_component(server.host, near=server.location.path)
            if peer is not None and lb.runtime is Runtime.CONTAINER and not resolves_by_name(graph, lb, peer):
                peer = None  # another compose project's service: not reachable by that name
            peer = peer or self._bound_host(server)
        if peer is None:
            graph.dangling.append(Dangling(kind="backend_server", name=f"{server.host}:{server.port}",
                                           location=server.location, source=lb.id))
            return None
        return graph.listener_for(peer, server.port, server.location).id

    # -- localhost: another component on the proxy's own host --------------------------------

    def _local_peer(self, lb: Component, port: int) -> Component | None:
        if self._by_host is None:
            self._by_host = {}
            for component in self.graph.components():
                self._by_host.setdefault(self._home(component), []).append(component)
        for candidate in self._by_host.get(self._home(lb), []):
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
                # A Terraform instance (or one copy of it: aws_instance.api[1]).
                members += self._running_on(binding.resource, binding.resource.split("[")[0])
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
