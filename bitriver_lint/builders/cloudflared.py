"""``cloudflared`` tunnel configs into the graph: the tunnel as a CDN whose routes are its
ingress rules.

The tunnel runs where its connector runs: the compose service that mounts the config (or the
one compose service or systemd unit running cloudflared nearest the config) becomes the tunnel
(a ``cdn`` component, ``tunnel``), so ``localhost`` in a rule is that container or host and
service names are its compose project's. A config nothing runs in the tree is a tunnel of its
own, off any host. Its listener is the Cloudflare edge's HTTPS, not a port on the machine: the
connector dials out, so the tunnel exposes nothing. The rules' origins are routed by the join
stage, as a proxy's servers are.
"""

from __future__ import annotations

import posixpath

from bitriver_lint.builders.common import BuildContext, ProxyPlacement
from bitriver_lint.graph import CdnOrigin, Component, Role, ServiceGraph
from bitriver_lint.loaders.cloudflared import TunnelConfig
from bitriver_lint.vocabulary import Runtime

# Cloudflare caches the viewer's hashed bundle (js, css, fonts) by extension without a rule.
_DEFAULT_CACHED = "/_next/static/"


def _mounts(component: Component, path: str) -> bool:
    """Whether a compose service bind-mounts the file or a directory holding it."""
    base = posixpath.dirname(component.location.path)
    for mount in component.mounts:
        if mount.kind == "bind" and mount.source:
            source = posixpath.normpath(posixpath.join(base, mount.source)).rstrip("/")
            if path == source or path.startswith(source + "/"):
                return True
    return False


def _runs_cloudflared(component: Component) -> bool:
    words = (component.image or "", component.name, component.unit or "", " ".join(component.command[:1]))
    return any("cloudflared" in w for w in words)


def _shared_depth(a: str, b: str) -> int:
    left, right = posixpath.dirname(a).split("/"), posixpath.dirname(b).split("/")
    depth = 0
    for x, y in zip(left, right, strict=False):
        if x != y:
            break
        depth += 1
    return depth


def runner(graph: ServiceGraph, doc: TunnelConfig) -> Component | None:
    """The compose service or unit that runs this config's connector, if the tree says."""
    candidates = [c for c in graph.components() if c.origin in ("compose", "systemd") and not c.tunnel]
    # A service that mounts the file runs it only if it could be the connector: the API
    # mounting the whole checkout (./:/app) does not become a tunnel.
    mounting = [c for c in candidates if c.origin == "compose" and _mounts(c, doc.path)
                and (_runs_cloudflared(c) or c.role is Role.OTHER)]
    if mounting:
        return mounting[0]
    running = [c for c in candidates if _runs_cloudflared(c)]
    if not running:
        return None
    best = max(_shared_depth(c.location.path, doc.path) for c in running)
    nearest = [c for c in running if _shared_depth(c.location.path, doc.path) == best]
    return nearest[0] if len(nearest) == 1 else None


def nodes(docs: list[TunnelConfig], ctx: BuildContext) -> None:
    graph = ctx.graph
    for doc in docs:
        proxy = doc.proxy
        if proxy is None:
            continue
        name = f"cloudflared tunnel {doc.tunnel.value}" if doc.tunnel is not None else f"cloudflared {doc.path}"
        component = runner(graph, doc)
        if component is None:
            component = Component(id=f"cloudflared:{doc.path}", name=name, role=Role.CDN,
                                  role_reason=f"cloudflared config {doc.path}", origin="cloudflared",
                                  location=doc.location, runtime=Runtime.MANAGED, ports_known=True)
            graph.add(component)
        else:
            component.role = Role.CDN
            component.role_reason = f"runs the Cloudflare Tunnel of {doc.path}"
            component.aliases.append(name)
        component.tunnel = True
        graph.add(component)  # its role and names changed: the graph's indexes of them too
        component.cached_paths.append(_DEFAULT_CACHED)
        for rule in doc.rules:
            service = rule.service
            url = service.value if service is not None else None
            if service is None or not isinstance(url, str) or "://" not in url:
                continue
            component.origins.append(CdnOrigin(
                id=f"{rule.hostname or '*'}{rule.path or ''}", location=rule.location, custom=True,
                protocol_policy=service, setting="noTLSVerify", https=True,
                unverified=rule.no_verify if url.startswith("https") else None))
        # The edge's HTTPS: where the tunnel's routes start. Not host-bound and never
        # published: the connector dials out and opens no port.
        listener = graph.listener_for(component, 443, doc.location, declared=True,
                                      reason="Cloudflare serves the tunnel's host names over HTTPS")
        listener.tls = True
        component.proxy_configs.append(proxy.key)
        ctx.placements[proxy.key] = ProxyPlacement(proxy, component)


def edges(docs: list[TunnelConfig], ctx: BuildContext) -> None:
    for doc in docs:
        if doc.proxy is not None and doc.proxy.key in ctx.placements and doc.proxy.key not in ctx.routing:
            ctx.routing.append(doc.proxy.key)
