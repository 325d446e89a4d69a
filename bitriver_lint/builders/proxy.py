"""Load-balancer and proxy configs (any of the four formats, and Terraform's ALBs) into the graph.

``nodes`` places a config on the component that runs it: the compose service that mounts the
file, else the one systemd/compose proxy of the same software; otherwise it is an edge load
balancer of its own, on a host of its own unless it sits on a machine the tree lays out
(``_machine``: etc/haproxy/haproxy.cfg beside etc/systemd/system/, whose unit for it, if the
tree has none, is the distro package's). Its binds become listeners (with TLS known), its ACLs an ``lb acl``
firewall layer. ``edges`` hands the config to the join stage (``bitriver_lint/join.py``), which
writes its pools and the ``routes`` and ``health_checks`` edges to the backend listeners once
it has resolved the servers (``route`` below). A config with placeholders that its runner's
environment sets waits for the join entirely: the join renders it with that environment first
(``ProxyConfig.render``; no builder parses anything).
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable

from bitriver_lint.builders.common import BuildContext, ProxyPlacement, ServedBind, container_path
from bitriver_lint.builders.hostfw import machines_for
from bitriver_lint.graph import (
    Allow,
    Component,
    Dangling,
    HealthProbe,
    Host,
    Listener,
    Pool,
    PoolHealth,
    Role,
    Route,
    ServiceGraph,
    UnknownRule,
)
from bitriver_lint.loaders.proxy import Backend, ProxyConfig, Server
from bitriver_lint.model import Diagnostic, Located, Unknown
from bitriver_lint.netsets import CidrSet, bind_reach
from bitriver_lint.roles import image_repository
from bitriver_lint.vocabulary import HostKind, Layer, Runtime

# The listener a backend server reaches (None: not known, or dangling), for ``route``, given the
# paths the config routes to the server's pool.
Resolver = Callable[[Component, Server, tuple[str | None, ...]], str | None]


def environment(component: Component) -> dict[str, str]:
    """The component's environment values that are known."""
    return {key: value.value for key, value in component.env.items() if isinstance(value.value, str)}


class _Runners:
    """Where to look for the component that runs a config: compose bind mounts by the path they
    mount, and proxies/LBs by directory. Built once per ``nodes`` call."""

    def __init__(self, graph: ServiceGraph, copied: dict[str, list[Component]] | None = None) -> None:
        self.mounts: dict[str, list[Component]] = {}  # a bind mount's source, root-relative
        self.copied = copied or {}  # a file a service's Dockerfile copies into its image
        self.proxies: dict[str, list[Component]] = {}  # directory -> proxies/LBs defined there
        self.below: dict[tuple[str, ...], list[Component]] = {}  # directory prefix -> those under it
        for component in graph.components():
            if component.origin == "compose":
                base = posixpath.dirname(component.location.path)
                for mount in component.mounts:
                    if mount.kind == "bind" and mount.source:
                        source = posixpath.normpath(posixpath.join(base, mount.source)).rstrip("/")
                        self.mounts.setdefault(source, []).append(component)
            if component.role in (Role.PROXY, Role.LB):
                self.add(component)

    def add(self, proxy: Component) -> None:
        directory = posixpath.dirname(proxy.location.path)
        self.proxies.setdefault(directory, []).append(proxy)
        parts = _parts(directory)
        for depth in range(len(parts) + 1):
            self.below.setdefault(parts[:depth], []).append(proxy)

    def mounting(self, doc: ProxyConfig) -> Component | None:
        """The compose service that bind-mounts one of the config's files (or a directory
        holding one), or copies one into its image; the first in graph order when several do."""
        found: dict[str, Component] = {}
        for path in doc.files:
            for component in self.copied.get(path, []):
                found.setdefault(component.id, component)
            parts = path.split("/")
            for depth in range(len(parts), 0, -1):
                for component in self.mounts.get("/".join(parts[:depth]), []):
                    found.setdefault(component.id, component)
        return min(found.values(), key=lambda c: (c.location, c.id)) if found else None

    def same_software(self, doc: ProxyConfig) -> Component | None:
        """The one proxy of the config's software defined in the config's directory tree, or in
        a directory above it: an nginx config under envs/prod/ is not the one envs/staging's
        nginx container runs."""
        here = posixpath.dirname(doc.path)
        nearby: dict[str, Component] = {}
        ancestors = _parts(here)
        for depth in range(len(ancestors) + 1):
            for component in self.proxies.get("/".join(ancestors[:depth]), []):
                nearby.setdefault(component.id, component)
        for component in self.below.get(ancestors, []):
            nearby.setdefault(component.id, component)
        candidates = [c for c in nearby.values() if _runs_software(c, doc.kind)]
        return candidates[0] if len(candidates) == 1 else None

    def on_machine(self, graph: ServiceGraph, machine: Host, doc: ProxyConfig) -> Component | None:
        """The one proxy unit of the config's software that runs on ``machine``."""
        candidates = [c for proxies in self.proxies.values() for c in proxies
                      if _runs_software(c, doc.kind) and any(h.id == machine.id for h in graph.hosts_of(c.id)[:1])]
        return candidates[0] if len(candidates) == 1 else None


def _runs_software(component: Component, kind: str) -> bool:
    """Whether a compose service or unit runs this software, by its image, name or unit file.
    Another standalone config's component runs nothing the tree shows: its name is a path
    ("edge-nginx-caddy/Caddyfile" is no nginx), and two configs side by side are two proxies."""
    if component.origin not in ("compose", "systemd"):
        return False
    return kind in (component.image or "") or kind in component.name or kind in (component.unit or "")


def _parts(directory: str) -> tuple[str, ...]:
    return tuple(part for part in directory.split("/") if part and part != ".")


def _machine(ctx: BuildContext, path: str) -> Host | None:
    """The machine whose files hold a config that nothing mounts: the one systemd directory that
    a host firewall beside the config would guard (``hostfw.machines_for``), when it sits in the
    config's own directory or in the ``etc/`` mirror the config lies in (etc/nginx/nginx.conf
    and etc/systemd/system/ are one machine's /etc). A unit directory found only further up
    (edge/haproxy.cfg beside origin/systemd/) is another machine's, and a compose project's
    proxy runs what it mounts."""
    machines = machines_for(ctx, path)
    if len(machines) != 1 or machines[0].host_kind is not HostKind.SYSTEMD:
        return None
    machine, here = machines[0], _parts(posixpath.dirname(path))
    unit_dir = _parts(machine.directory or "")
    if unit_dir == here:
        return machine
    etc = max((depth for depth in range(1, len(here) + 1) if here[depth - 1] == "etc"), default=0)
    return machine if etc and unit_dir[:etc] == here[:etc] and len(unit_dir) > etc else None


# The official nginx image's entrypoint (20-envsubst-on-templates.sh) renders each
# <templates>/X<suffix> to <output>/X before nginx starts, unless <output> is not writable;
# the variables move the three places (name, default).
_TEMPLATE_DIR = ("NGINX_ENVSUBST_TEMPLATE_DIR", "/etc/nginx/templates")
_TEMPLATE_SUFFIX = ("NGINX_ENVSUBST_TEMPLATE_SUFFIX", ".template")
_OUTPUT_DIR = ("NGINX_ENVSUBST_OUTPUT_DIR", "/etc/nginx/conf.d")
_NGINX_IMAGES = ("nginx", "nginxinc/nginx-unprivileged")


def _unrun(docs: list[ProxyConfig], runners: _Runners) -> set[str]:
    """The nginx configs that the official image mounting them never reads as written: a file
    the entrypoint overwrites with a rendered template of the same name (a writable conf.d
    mount), or, where the output directory is read-only, the templates it then leaves alone."""
    mounted: dict[str, tuple[Component, list[ProxyConfig]]] = {}
    for doc in docs:
        if doc.kind == "nginx" and not doc.name and (runner := runners.mounting(doc)) is not None:
            mounted.setdefault(runner.id, (runner, []))[1].append(doc)
    out: set[str] = set()
    for runner, placed in mounted.values():
        known = environment(runner)
        settings = (_TEMPLATE_DIR, _TEMPLATE_SUFFIX, _OUTPUT_DIR)
        if image_repository(runner.image or "") not in _NGINX_IMAGES or any(
                name in runner.env and name not in known for name, _ in settings):
            continue  # another image, or the entrypoint's places are not known: read all
        template_dir = posixpath.normpath(known.get(*_TEMPLATE_DIR))
        suffix = known.get(*_TEMPLATE_SUFFIX)
        output_dir = posixpath.normpath(known.get(*_OUTPUT_DIR))
        inside = {doc.key: container_path(runner, doc.path) for doc in placed}
        rendered: dict[str, str] = {}  # the output file -> the template's document
        for doc in placed:
            path = inside[doc.key]
            if path is not None and path.startswith(template_dir + "/") and path.endswith(suffix) and suffix:
                rendered[posixpath.join(output_dir, path[len(template_dir) + 1:-len(suffix)])] = doc.key
        if not rendered:
            continue
        if not _writable(runner, output_dir):
            out.update(rendered.values())
        else:
            out.update(doc.key for doc in placed if inside[doc.key] in rendered)
    return out


def _writable(component: Component, directory: str) -> bool:
    """Whether the container may write ``directory``: the innermost mount over it is not
    read-only (no mount: the image's own directory)."""
    over = [m for m in component.mounts if m.target.startswith("/")
            and (directory == posixpath.normpath(m.target)
                 or directory.startswith(posixpath.normpath(m.target).rstrip("/") + "/"))]
    return not over or not max(over, key=lambda m: len(posixpath.normpath(m.target))).read_only


def nodes(docs: list[ProxyConfig], ctx: BuildContext) -> None:
    graph = ctx.graph
    runners: _Runners | None = None
    if any(doc.kind == "nginx" and not doc.name for doc in docs):
        runners = _Runners(graph, ctx.image_files)
        ctx.unrun |= _unrun(docs, runners)
    for doc in docs:
        if doc.key in ctx.unrun:
            continue
        component: Component | None = None
        machine: Host | None = None
        if not doc.name:  # a cloud load balancer (doc.name) is nothing's config file
            runners = runners or _Runners(graph, ctx.image_files)
            component = runners.mounting(doc) or runners.same_software(doc)
            if component is None and (machine := _machine(ctx, doc.path)) is not None:
                component = runners.on_machine(graph, machine, doc)
            if component is not None and component.role is Role.OTHER and doc.backends:
                # A service built from the tree under a name that says nothing ("edge", "front")
                # is what its config makes it: the proxy that terminates TLS and routes. One that
                # only serves files (an nginx with a root and no upstream) is no proxy.
                component.role = Role.PROXY
                component.role_reason = f"runs the {doc.kind} config {doc.path}"
                graph.add(component)  # its role changed: the graph's indexes of it too
        if component is None:
            name = doc.name or doc.path
            reason = f"standalone {doc.kind} configuration"
            if machine is not None:
                # Its 127.0.0.1 backends are that machine's units, and its firewall guards it.
                host_id = machine.id
                reason += f" on the machine of {machine.name} (the tree has no unit for {doc.kind})"
            else:
                host_id = graph.add(Host(id=f"lb:{doc.key}", name=name, host_kind=HostKind.LB_HOST,
                                         location=doc.location))
            component = Component(id=f"{doc.kind}:{doc.key}", name=name, role=Role.LB,
                                  role_reason=reason, origin=doc.kind, location=doc.location, ports_known=True)
            graph.add(component)
            graph.runs_on(component.id, host_id, doc.location)
            if runners is not None:
                runners.add(component)
        component.proxy_configs.append(doc.key)
        awaiting = doc.render is not None and bool(doc.placeholders & set(environment(component)))
        ctx.placements[doc.key] = ProxyPlacement(doc, component, awaiting)
        if not awaiting:
            add_listeners(ctx, doc, component)


def add_listeners(ctx: BuildContext, doc: ProxyConfig, component: Component) -> None:
    """The config's binds as listeners of the component that runs it, and its ACLs."""
    graph = ctx.graph
    containerized = component.runtime is Runtime.CONTAINER
    touched: dict[str, Listener] = {}
    for frontend in doc.frontends:
        for unknown in frontend.unknown_binds:
            graph.notes.append(Diagnostic(
                "BRL002", f"{doc.kind} listens on {unknown.value}, a placeholder nothing in the tree sets, so "
                "which port it serves there is not known and rules that need it stay silent",
                unknown.location))
        for bind in frontend.binds:
            listener = graph.listener_for(component, bind.port, bind.location, declared=True,
                                          host_bound=not containerized, reason=f"{doc.kind} bind")
            ctx.served.setdefault(listener.id, []).append(ServedBind(doc.kind, frontend, bind))
            touched[listener.id] = listener
    for listener in touched.values():
        _combine(graph, listener, ctx.served[listener.id], containerized)


def _combine(graph: ServiceGraph, listener: Listener, served: list[ServedBind], containerized: bool) -> None:
    """One listener's facts from every bind on its port, in any block of any of the component's
    configs: nginx answers a request by its Host header (or with the default block), so a client
    picks the block. What makes the port more exposed holds if any block has it; what makes it
    safer (a redirect to HTTPS, an ACL) only if every block that answers has it."""
    # One port bound twice ("listen 80; listen [::]:80", "bind :80" and "bind [::1]:80", or
    # "listen 80" in one nginx server block and "listen 127.0.0.1:80" in the next) is one
    # listener, at its first bind unless a later one reaches more, or as many in the clear,
    # or as many in a block with fewer safeguards (where a finding about the port belongs).
    placed: tuple[ServedBind, CidrSet] | None = None
    for one in served:
        reach = bind_reach(one.bind.address)
        if placed is None or _says_more(reach, one, bind_reach(placed[0].bind.address), placed[0]):
            placed = (one, reach)
    assert placed is not None
    best, widest = placed
    listener.tls = best.bind.tls
    listener.tls_location = best.bind.tls_location or best.bind.location
    listener.tls_reason = best.bind.tls_reason
    if not containerized:
        listener.bind = best.bind.address if best.bind.address not in ("", "*") else None
        listener.location = best.bind.location
    # A redirect to HTTPS concerns plain HTTP: a frontend with both kinds of bind (HAProxy
    # "unless { ssl_fc }", nginx "if ($scheme)") still serves TLS. A block bound to an address
    # fewer clients reach (nginx tells blocks apart by the connection's local address too)
    # answers none of those the listener is judged for.
    plain = [one for one in served if not one.bind.tls
             and not _narrower(bind_reach(one.bind.address), widest)]
    redirects = [one.frontend.redirect_https for one in plain]
    listener.redirect_https = redirects[0] if redirects and all(r is not None for r in redirects) else None
    if not any(one.frontend.allow is not None for one in served):
        return
    for one in served:
        if one.acl_linked:
            continue
        one.acl_linked = True
        frontend, bind = one.frontend, one.bind
        if frontend.allow is not None:
            allow = Allow(location=frontend.acl_location or frontend.location, layer=Layer.LB_ACL,
                          cidrs=frontend.allow, port_from=bind.port, port_to=bind.port, protocol="tcp",
                          description=f"{one.kind} {frontend.name} ACL")
        else:
            # A block without an ACL admits whoever reaches its bind: the port's ACL layer is
            # the union of what each block admits, so the open block undoes the others'.
            allow = Allow(location=bind.location, layer=Layer.LB_ACL,
                          cidrs=[str(n) for n in bind_reach(bind.address).networks],
                          port_from=bind.port, port_to=bind.port, protocol="tcp",
                          description=f"{one.kind} {frontend.name} has no ACL")
        graph.link(listener.id, listener.id, allow)


def _guards(one: ServedBind) -> int:
    """How many of the safeguards a block can put on a port its bind has."""
    return (one.frontend.allow is not None) + (not one.bind.tls and one.frontend.redirect_https is not None)


def _says_more(reach: CidrSet, one: ServedBind, earlier: CidrSet, placed: ServedBind) -> bool:
    """Whether a bind says more about its port than the one that placed the listener: it is
    open to strictly more sources, or to the same ones in the clear where that one spoke TLS,
    or the same way from a block with fewer safeguards."""
    if not earlier.issubset(reach):
        return False
    if not reach.issubset(earlier):
        return True
    if placed.bind.tls != one.bind.tls:
        return placed.bind.tls
    return _guards(one) < _guards(placed)


def _guard(graph: ServiceGraph, pool: Pool, backend: Backend) -> None:
    """The filters in front of the pool (a Cloud Armor policy): the rules that admit, as its
    ``allows`` edges; one that cannot be read, as an unknown rule."""
    pool.described_layers.update(backend.guarded)
    for guard in backend.guards:
        pool.described_layers.add(guard.layer)
        if isinstance(guard.cidrs, Unknown):
            pool.unknown_rules.append(UnknownRule(port_from=0, port_to=65535, protocol="all",
                                                  sources=Located(guard.cidrs, guard.location), layer=guard.layer))
            continue
        graph.link(pool.id, pool.id, Allow(location=guard.location, layer=guard.layer, cidrs=guard.cidrs,
                                           port_from=0, port_to=65535, protocol="all",
                                           description=guard.description, assumed=guard.shown))


def _narrower(reach: CidrSet, widest: CidrSet) -> bool:
    return reach.issubset(widest) and reach != widest


def edges(docs: list[ProxyConfig], ctx: BuildContext) -> None:
    """Queue each placed config for the join stage, which routes its backends."""
    for doc in docs:
        if doc.key in ctx.unrun:
            continue
        if doc.key not in ctx.placements:
            raise KeyError(f"{doc.key} was never placed")  # its nodes() failed: already reported
        if doc.key not in ctx.routing:
            ctx.routing.append(doc.key)


def route(graph: ServiceGraph, placement: ProxyPlacement, resolve: Resolver) -> None:
    """The config's pools, their members and health checks, and its routes, with the backend
    servers resolved by ``resolve`` (the join stage's)."""
    doc, component = placement.doc, placement.runner
    resolved: dict[str, list[tuple[str, Server]]] = {}
    pools: dict[str, str] = {}
    paths: dict[str, list[str | None]] = {}
    for frontend in doc.frontends:
        for rule in frontend.routes:
            if rule.backend is not None:
                paths.setdefault(rule.backend, []).append(rule.path)
    for backend in doc.backends.values():
        routed = tuple(dict.fromkeys(paths.get(backend.name, [])))
        pairs = [(t, s) for s in backend.servers if (t := resolve(component, s, routed))]
        resolved[backend.name] = pairs
        targets = [t for t, _ in pairs]
        health = backend.health
        pool = Pool(id=f"pool:{doc.key}:{backend.name}", name=backend.name, lb=component.id,
                    origin=doc.kind, location=backend.location, sticky=backend.sticky,
                    websocket=backend.websocket,
                    health=PoolHealth(location=health.location, path=health.path, method=health.method)
                    if health is not None else None)
        _guard(graph, pool, backend)
        graph.add_pool(pool)
        pools[backend.name] = pool.id
        for target, server in pairs:
            graph.add_member(pool, target, server.location)
        if backend.health is not None:
            for target in targets:
                graph.link(component.id, target, HealthProbe(location=backend.health.location,
                                                             path=backend.health.path,
                                                             method=backend.health.method))
    for frontend in doc.frontends:
        for order, rule in enumerate(frontend.routes):
            if rule.backend is None:
                continue
            if rule.backend not in doc.backends:
                graph.dangling.append(Dangling(kind="backend", name=rule.backend, location=rule.location,
                                               source=component.id))
                continue
            for bind in frontend.binds:
                source = graph.listener_for(component, bind.port, bind.location)
                for target, server in resolved[rule.backend]:
                    # A scheme written on the route (nginx proxy_pass https://) is the
                    # mistake's place; one written on the server line (HAProxy ssl) is that line.
                    raw = rule.scheme or server.scheme
                    scheme = raw if raw in ("https", "tcp") else "http"
                    graph.link(source.id, target, Route(
                        location=rule.location, path=rule.path, match=rule.match, scheme=scheme,  # type: ignore[arg-type]
                        server_location=None if rule.scheme else server.location,
                        table=f"{frontend.location}{'#' + rule.table if rule.table else ''}", order=order,
                        selection=frontend.selection, conditional=rule.conditional, condition=rule.condition,
                        condition_location=rule.condition_location, final=rule.final,
                        regex=rule.regex, ignore_case=rule.ignore_case, pool=pools[rule.backend]))
        # Only a prefix names the paths it caches (BRL305 reads them as prefixes).
        component.cached_paths.extend(r.path for r in frontend.routes
                                      if r.cached and r.path and r.match == "prefix")
