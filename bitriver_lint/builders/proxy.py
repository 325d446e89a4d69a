"""Load-balancer and proxy configs (any of the four formats) into the graph.

A config is joined to the component that runs it: the compose service that mounts the file,
else the one systemd/compose proxy of the same software; otherwise it is an edge load balancer
of its own. Its binds become listeners (with TLS known), its ACLs an ``lb acl`` firewall layer,
its pools ``routes`` and ``health_checks`` edges to the backend listeners they reach.
"""

from __future__ import annotations

import posixpath

from bitriver_lint.builders.common import BuildContext, resolves_by_name
from bitriver_lint.graph import Allow, Component, Dangling, HealthProbe, Host, Pool, PoolHealth, Role, Route
from bitriver_lint.loaders.proxy import ProxyConfig, Server
from bitriver_lint.vocabulary import HostKind, Layer, Runtime

_LOCAL = ("localhost", "127.0.0.1", "::1")


def _mounting_component(ctx: BuildContext, doc: ProxyConfig) -> Component | None:
    if doc.name:
        return None  # a cloud load balancer: nothing mounts it
    for component in ctx.graph.components():
        if component.origin != "compose":
            continue
        base = posixpath.dirname(component.location.path)
        for mount in component.mounts:
            if mount.kind != "bind" or not mount.source:
                continue
            source = posixpath.normpath(posixpath.join(base, mount.source))
            if any(f == source or f.startswith(source.rstrip("/") + "/") for f in doc.files):
                return component
    return None


def _same_software(ctx: BuildContext, doc: ProxyConfig) -> Component | None:
    if doc.name:
        return None
    here = posixpath.dirname(doc.path)

    def nearby(component: Component) -> bool:
        # The config sits in that component's directory tree, or it in the config's: an nginx
        # config under envs/prod/ is not the one envs/staging's nginx container runs.
        there = posixpath.dirname(component.location.path)
        return posixpath.commonpath([here, there]) in (here, there)

    candidates = [
        c for c in ctx.graph.components(Role.PROXY, Role.LB)
        if (doc.kind in (c.image or "") or doc.kind in c.name or doc.kind in (c.unit or ""))
        and nearby(c)
    ]
    return candidates[0] if len(candidates) == 1 else None


def _with_environment(ctx: BuildContext, doc: ProxyConfig, component: Component) -> None:
    """Caddy ({$VAR}), HAProxy ("${VAR}") and the nginx image's templates (${VAR}) take values
    from the proxy's own environment: re-read the config with the environment of the service
    that runs it, where that sets any of them."""
    env = {key: value.value for key, value in component.env.items() if isinstance(value.value, str)}
    if not doc.placeholders & set(env):
        return
    env = {**ctx.config.variables, **env}
    if doc.kind == "caddy":
        from bitriver_lint.loaders import caddy

        caddy.fill(doc, ctx.workspace.read_text(doc.path), env)
    elif doc.kind == "nginx":
        from bitriver_lint.loaders import nginx

        nginx.reload(doc, ctx.workspace, env)
    elif doc.kind == "haproxy":
        from bitriver_lint.loaders import haproxy

        haproxy.fill(doc, ctx.workspace.read_text(doc.path), env)


def nodes(docs: list[ProxyConfig], ctx: BuildContext) -> None:
    graph = ctx.graph
    for doc in docs:
        component = _mounting_component(ctx, doc) or _same_software(ctx, doc)
        if component is not None and doc.placeholders:
            _with_environment(ctx, doc, component)
        if component is None:
            name = doc.name or doc.path
            host_id = graph.add(Host(id=f"lb:{doc.key}", name=name, host_kind=HostKind.LB_HOST,
                                     location=doc.location))
            component = Component(id=f"{doc.kind}:{doc.key}", name=name, role=Role.LB,
                                  role_reason=f"standalone {doc.kind} configuration", origin=doc.kind,
                                  location=doc.location, ports_known=True)
            graph.add(component)
            graph.runs_on(component.id, host_id, doc.location)
        containerized = component.runtime is Runtime.CONTAINER
        component.proxy_configs.append(doc.key)
        for frontend in doc.frontends:
            for bind in frontend.binds:
                listener = graph.listener_for(component, bind.port, bind.location, declared=True,
                                              host_bound=not containerized, reason=f"{doc.kind} bind")
                listener.tls = bind.tls
                if not containerized:
                    listener.bind = bind.address if bind.address not in ("", "*") else None
                    listener.location = bind.location
                if frontend.redirect_https is not None and not bind.tls:
                    # A redirect to HTTPS concerns plain HTTP: a frontend with both kinds of
                    # bind (HAProxy "unless { ssl_fc }", nginx "if ($scheme)") still serves TLS.
                    listener.redirect_https = frontend.redirect_https
                if frontend.allow is not None:
                    graph.link(listener.id, listener.id, Allow(
                        location=frontend.acl_location or frontend.location, layer=Layer.LB_ACL, cidrs=frontend.allow,
                        port_from=bind.port, port_to=bind.port, protocol="tcp",
                        description=f"{doc.kind} {frontend.name} ACL"))


def edges(docs: list[ProxyConfig], ctx: BuildContext) -> None:
    graph = ctx.graph
    for doc in docs:
        component = next(c for c in graph.components() if doc.key in c.proxy_configs)
        resolved: dict[str, list[tuple[str, Server]]] = {}
        for backend in doc.backends.values():
            pairs = [(t, s) for s in backend.servers if (t := _resolve(ctx, component, s))]
            resolved[backend.name] = pairs
            targets = [t for t, _ in pairs]
            health = backend.health
            pool = Pool(id=f"pool:{doc.key}:{backend.name}", name=backend.name, lb=component.id,
                        origin=doc.kind, location=backend.location, sticky=backend.sticky,
                        websocket=backend.websocket,
                        health=PoolHealth(location=health.location, path=health.path, method=health.method)
                        if health is not None else None)
            graph.add_pool(pool)
            for target, server in pairs:
                graph.add_member(pool, target, server.location)
            if backend.health is not None:
                for target in targets:
                    graph.link(component.id, target, HealthProbe(location=backend.health.location,
                                                                 path=backend.health.path,
                                                                 method=backend.health.method))
        for frontend in doc.frontends:
            for rule in frontend.routes:
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
                        graph.link(source.id, target, Route(location=rule.location, path=rule.path,
                                                            scheme=scheme,  # type: ignore[arg-type]
                                                            server_location=None if rule.scheme else server.location))
            component.cached_paths.extend(r.path for r in frontend.routes if r.cached and r.path)


def _resolve(ctx: BuildContext, lb: Component, server: Server) -> str | None:
    """The listener a backend server reaches, or None (recorded as dangling when it names
    something no file defines)."""
    graph = ctx.graph
    if server.port is None or "${" in server.host or "{$" in server.host:
        return None  # not known (an unfilled template placeholder), which is not the same as undefined
    peer: Component | None = None
    if server.host in _LOCAL:
        if lb.runtime is Runtime.CONTAINER:
            return None  # the proxy's own container
        home = graph.hosts_of(lb.id)[:1]
        for candidate in graph.components():
            if candidate.id != lb.id and graph.hosts_of(candidate.id)[:1] == home and any(
                li.port == server.port and li.declared for li in graph.listeners(candidate)
            ):
                peer = candidate
                break
        if peer is None:
            return None
    else:
        peer = graph.find_component(server.host, near=server.location.path)
        if peer is not None and lb.runtime is Runtime.CONTAINER and not resolves_by_name(graph, lb, peer):
            peer = None  # another compose project's service: not reachable by that name
        peer = peer or _bound_host(ctx, server)
    if peer is None:
        graph.dangling.append(Dangling(kind="backend_server", name=f"{server.host}:{server.port}",
                                       location=server.location, source=lb.id))
        return None
    return graph.listener_for(peer, server.port, server.location).id


def _bound_host(ctx: BuildContext, server: Server) -> Component | None:
    """Config ``hosts``: a name or address bound to directories of the tree."""
    for name, binding in ctx.config.hosts.items():
        if server.host not in (name, binding.address):
            continue
        prefixes = [ctx.config_path(p) for p in binding.paths]
        members = [c for c in ctx.graph.components()
                   if any(not p or c.location.path.startswith(p.rstrip("/") + "/") for p in prefixes)]
        if binding.resource:
            # A Terraform instance (or one copy of it: aws_instance.api[1]).
            members += [c for c in ctx.graph.components()
                        if any(h.resource in (binding.resource, binding.resource.split("[")[0])
                               for h in ctx.graph.hosts_of(c.id))]
        listening = [c for c in members if any(li.port == server.port for li in ctx.graph.listeners(c))]
        chosen = listening or members
        return chosen[0] if chosen else None
    return None
