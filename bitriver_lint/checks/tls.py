"""TLS checks: where TLS ends on the viewer/API path, and whether the pieces agree."""

from __future__ import annotations

from typing import Any

from bitriver_lint.checks.base import Check, CheckContext, NoParams, Params
from bitriver_lint.exposure import entries
from bitriver_lint.graph import Component, Listener, Role, ServiceGraph
from bitriver_lint.model import Location, Related
from bitriver_lint.netsets import PRIVATE
from bitriver_lint.vocabulary import BITRIVER_LIVE_TLS_CERT as TLS_CERT
from bitriver_lint.vocabulary import BITRIVER_LIVE_TLS_KEY as TLS_KEY
from bitriver_lint.vocabulary import Runtime

_FRONT_ROLES = (Role.PROXY, Role.LB, Role.CDN)


def _terminates_tls(listener: Listener, component: Component) -> bool | None:
    if listener.tls is not None:
        return listener.tls
    # A reverse proxy publishing 443 is terminating TLS unless its config says otherwise. A
    # config the tree holds always says (nginx's "ssl", Caddy's addresses): this guess is for a
    # proxy image whose config is not in the tree.
    if component.role in _FRONT_ROLES and listener.port == 443:
        return True
    return None


def _public_entry(ctx: CheckContext, listener: Listener) -> Location | None:
    """Where the listener is opened beyond the private networks, if it is."""
    for entry in entries(ctx.graph, listener):
        if entry.unknown is None and entry.reach.difference(PRIVATE):
            return entry.location
    return None


def _termination(ctx: CheckContext, params: NoParams) -> None:
    """Judged per environment: staging's missing TLS is not covered by production's ALB."""
    by_environment: dict[str, list[Component]] = {}
    for component in ctx.graph.components(Role.API, *_FRONT_ROLES):
        by_environment.setdefault(ctx.graph.environment_of(component.id), []).append(component)
    for members in by_environment.values():
        _termination_in(ctx, members)


def _termination_in(ctx: CheckContext, members: list[Component]) -> None:
    graph = ctx.graph
    apis = [c for c in members if c.role is Role.API]
    if not apis:
        return
    points: list[tuple[Component, Listener, Location]] = []
    terminators: list[Component] = []
    undecided: list[Component] = []
    # An origin a CDN pulls from over HTTPS terminates TLS again by design (BRL205 asks for it):
    # that is the CDN-to-origin hop, not a second termination on the viewer's path.
    behind_cdn = {graph.component_of(graph.node(target)).id  # type: ignore[arg-type]
                  for cdn in members if cdn.role is Role.CDN
                  for li in graph.listeners(cdn) for _, target, _ in graph.out_edges(li.id, "routes")}
    for component in members:
        listeners = graph.listeners(component)
        tcp_ports = {li.port for li in listeners if li.protocol == "tcp"}
        for listener in listeners:
            if listener.protocol == "udp" and listener.port in tcp_ports:
                continue  # HTTP/3 (QUIC) beside HTTPS on one port: the same termination point
            tls = _terminates_tls(listener, component)
            if tls is None and component.role is Role.API:
                undecided.append(component)
                continue
            if not tls:
                continue
            # The API's own TLS counts as a termination point even on loopback (the spec's
            # "TLS flags on the API"); only public ones count towards "terminated twice".
            terminators.append(component)
            where = listener.location if component.role is Role.CDN else _public_entry(ctx, listener)
            if where is not None and component.id not in behind_cdn:
                points.append((component, listener, where))
    if not terminators and undecided:
        for component in undecided:  # it may be the API itself: say so instead of guessing
            for key in (TLS_CERT, TLS_KEY):
                ctx.need(component.env.get(key), "whether the API terminates TLS")
        return
    if not terminators:
        api = apis[0]
        # A front door on 443 whose config serves it in the clear ("listen 443;" without ssl) is
        # the likely intended termination point: name the line that makes it plain.
        plain = [r for c in members if c.role in _FRONT_ROLES for li in graph.listeners(c)
                 if li.port == 443 and li.tls is False for r in _tls_evidence(c, li)]
        ctx.report(
            f"nothing terminates TLS in front of {api.name}: no public HTTPS listener on a proxy, "
            f"load balancer or CDN, and no {TLS_CERT}/{TLS_KEY} on the API",
            api.location, plain, entity=api.name,
        )
        return
    if points:
        first_component, first, first_where = points[0]
        for component, listener, where in points[1:]:
            evidence = [Related(first_where, f"first termination point: {first_component.name}:{first.port}")]
            evidence += _tls_evidence(first_component, first) + _tls_evidence(component, listener)
            ctx.report(
                f"TLS is terminated twice on the public path: {component.name} ({listener.port}) as well as "
                f"{first_component.name} ({first.port}); the guide expects one termination point",
                where, evidence,
                entity=f"{component.name}:{listener.port}/{listener.protocol}",
            )


def _tls_evidence(component: Component, listener: Listener) -> list[Related]:
    """Where a proxy's config decides that the listener speaks TLS or not, when it says."""
    if listener.tls_location is None or not listener.tls_reason:
        return []
    how = "TLS" if listener.tls else "plain HTTP"
    return [Related(listener.tls_location, f"{component.name}:{listener.port} speaks {how}: {listener.tls_reason}")]


TERMINATION = Check("tls.termination", _termination, NoParams, "One clear TLS termination point")


class CertKeyParams(Params):
    cert_env: str = TLS_CERT
    key_env: str = TLS_KEY


def _cert_key_pair(ctx: CheckContext, params: CertKeyParams) -> None:
    for api in ctx.graph.components(Role.API):
        cert, key = api.env.get(params.cert_env), api.env.get(params.key_env)
        if cert is None and key is None:
            continue
        if cert is None or key is None:
            present, missing = (cert, params.key_env) if key is None else (key, params.cert_env)
            assert present is not None
            ctx.report(f"{api.name} sets only one half of its TLS pair: {missing} is missing", present.location,
                       entity=api.name)
            continue
        if api.runtime is not Runtime.CONTAINER:
            continue
        for name, value in ((params.cert_env, cert), (params.key_env, key)):
            path = ctx.need(value, f"whether {name} is mounted")
            if path is None or not path.startswith("/"):
                continue
            if not any(path == m.target or path.startswith(m.target.rstrip("/") + "/") for m in api.mounts):
                ctx.report(
                    f"{name}={path} is not mounted into {api.name}: no volume, bind mount or secret covers it",
                    value.location, entity=api.name,
                )


CERT_KEY_PAIR = Check("tls.cert_key_pair", _cert_key_pair, CertKeyParams, "TLS certificate and key set together")


def _at_edge(ctx: CheckContext, params: NoParams) -> None:
    from bitriver_lint.checks.route import bitriver_lbs, lb_routes

    graph = ctx.graph
    for lb in bitriver_lbs(ctx):
        if lb.role is Role.CDN:
            continue
        public = [li for li in graph.listeners(lb) if _public_entry(ctx, li) is not None]
        # A listener that only passes TCP through (Global Accelerator, HAProxy mode tcp) leaves
        # TLS to what it forwards to, which BRL201 judges.
        passing = [li for li in public if (out := graph.out_edges(li.id, "routes"))
                   and all(edge.scheme == "tcp" for _, _, edge in out)]
        public = [li for li in public if li not in passing]
        if public and not any(li.tls for li in public):
            ctx.report(f"{lb.name} faces the internet without TLS: none of its public listeners "
                       f"({', '.join(str(li.port) for li in public)}) terminates TLS", public[0].location,
                       [r for li in public for r in _tls_evidence(lb, li)], entity=lb.name)
        reported: set[tuple[Location, str]] = set()
        for edge, _, backend in lb_routes(ctx, lb):
            if backend.tls is None or edge.scheme == "tcp":
                continue
            peer = graph.component_of(backend)
            where = edge.server_location or edge.location
            # Servers outside the tree are told apart by nothing but their address: one finding
            # per route and port for them, as for one component.
            key = f"external:{backend.port}" if peer.external else backend.id
            if (where, key) in reported:
                continue
            evidence = [Related(backend.location, f"{peer.name} listens on {backend.port} ({backend.reason})"),
                        Related(edge.location, f"route for {edge.path or 'all paths'}")]
            if edge.scheme == "https" and not backend.tls:
                reported.add((where, key))
                ctx.report(f"{lb.name} speaks TLS to {peer.name}:{backend.port}, which serves plain HTTP"
                           + _inferred(peer),
                           where, evidence, entity=lb.name)
            elif edge.scheme == "http" and backend.tls:
                reported.add((where, key))
                ctx.report(f"{lb.name} sends plain HTTP to {peer.name}:{backend.port}, which expects TLS"
                           + _inferred(peer),
                           where, evidence, entity=lb.name)


def _inferred(peer: Component) -> str:
    return f" ({peer.name} is outside this tree; {peer.role_reason})" if peer.external else ""


AT_EDGE = Check("tls.at_edge", _at_edge, NoParams, "TLS terminated at the edge")


def _http_redirect(ctx: CheckContext, params: NoParams) -> None:
    graph = ctx.graph
    for component in graph.components(*_FRONT_ROLES):
        if not component.proxy_configs:
            continue  # without its config we cannot tell a redirect from the app
        for listener in graph.listeners(component):
            if listener.port != 80 or listener.tls or listener.redirect_https is not None:
                continue
            if _public_entry(ctx, listener) is None:
                continue
            forwards = graph.out_edges(listener.id, "routes")
            # A TCP pass-through (Global Accelerator, an NLB) answers nothing itself: when every
            # port 80 it carries lands on a listener that redirects, clients are redirected.
            if forwards and all(edge.scheme == "tcp" and _redirects(graph, target) for _, target, edge in forwards):
                continue
            # What it serves is none of BitRiver's (a unit or service of no role the guide
            # names): the rule is about the app, and another site on the machine is not it.
            forwards = [f for f in forwards if _component_role(graph, f[1]) is not Role.OTHER]
            if forwards:
                ctx.report(f"{component.name} serves the app on plain HTTP port 80 instead of redirecting to HTTPS",
                           listener.location, [Related(forwards[0][2].location, "forwarded here")],
                           entity=component.name)


def _component_role(graph: ServiceGraph, node_id: str) -> Role | None:
    target = graph.node(node_id)
    return graph.component_of(target).role if isinstance(target, Listener) else None


def _redirects(graph: ServiceGraph, node_id: str) -> bool:
    target = graph.node(node_id)
    return isinstance(target, Listener) and target.redirect_https is not None


HTTP_REDIRECT = Check("tls.http_redirect", _http_redirect, NoParams, "Port 80 redirects to HTTPS")
def _cdn_origin_https(ctx: CheckContext, params: NoParams) -> None:
    for cdn in ctx.graph.components(Role.CDN):
        # Origins that share one written policy (a Cloudflare zone's SSL mode) are one mistake:
        # one finding at the policy, naming them all.
        plain: dict[Location, tuple[str, Any, list[str]]] = {}
        unverified: dict[Location, tuple[str, Any, list[str]]] = {}
        for origin in cdn.origins:
            if not origin.custom:
                continue
            policy = origin.protocol_policy
            value = ctx.need(policy, "how the CDN reaches its origin") if policy else "http-only"
            if policy is not None and value is None:
                continue
            # Values that mean HTTPS where the provider does not say itself: CloudFront's
            # origin_protocol_policy, a Google backend service's protocol (HTTP2 is TLS).
            https = value in ("https-only", "HTTPS", "HTTP2") if origin.https is None else origin.https
            setting = ("protocol" if cdn.resource_type == "google_compute_url_map"
                       and origin.setting == "origin_protocol_policy" else origin.setting)
            if not https:
                where = policy.location if policy else origin.location
                plain.setdefault(where, (setting, value, []))[2].append(origin.id)
            elif origin.unverified is not None:
                unverified.setdefault(origin.unverified.location,
                                      (setting, origin.unverified.value, []))[2].append(origin.id)
        for where, (setting, value, ids) in plain.items():
            ctx.report(f"{cdn.name} pulls {_origins(ids)} with {setting} = {value}; "
                       "the CDN must fetch from origin over HTTPS only", where, entity=cdn.name)
        for where, (setting, value, ids) in unverified.items():
            ctx.report(f"{cdn.name} pulls {_origins(ids)} over HTTPS without verifying its certificate "
                       f"({setting} = {value}), so anyone on the path can stand in for the origin", where,
                       entity=cdn.name)


def _origins(ids: list[str]) -> str:
    return f"origin {ids[0]}" if len(ids) == 1 else f"origins {', '.join(ids)}"


CDN_ORIGIN_HTTPS = Check("tls.cdn_origin_https", _cdn_origin_https, NoParams, "CDN pulls from origin over HTTPS")

_SEGMENT_HINTS = ("m3u8", ".ts", ".m4s", ".mpd", "segment", "hls", "dash")


def _segment_access(ctx: CheckContext, params: NoParams) -> None:
    graph = ctx.graph
    for cdn in graph.components(Role.CDN):
        origins = {o.id: o for o in cdn.origins}
        # Paths written in one place (a URL map path_rule's paths = ["/*", "/"]) are one
        # finding there, naming each path, as BRL205 names every origin of one setting.
        unsigned: dict[tuple[Location, str], list[str]] = {}
        for behaviour in cdn.behaviours:
            origin = origins.get(behaviour.origin) if isinstance(behaviour.origin, str) else None
            path = str(behaviour.path or "")
            serves_segments = (origin is not None and origin.s3) or any(h in path for h in _SEGMENT_HINTS)
            if serves_segments and not behaviour.signed:
                missing = ("no signed URL key on its backend" if cdn.resource_type == "google_compute_url_map"
                           else behaviour.missing)
                paths = unsigned.setdefault((behaviour.location, missing), [])
                if (path or "default behaviour") not in paths:
                    paths.append(path or "default behaviour")
        for (where, missing), paths in unsigned.items():
            ctx.report(f"{cdn.name} serves segments ({', '.join(paths)}) without signed URLs: {missing}", where,
                       entity=cdn.name)
        for route in cdn.unknown_routes:
            ctx.need(route, "whether segments reach an origin there without signed URLs")
        for origin in origins.values():
            if origin.s3 and not origin.access_control:
                control = ("a signed URL key (Cloud CDN reads a private bucket only with one)"
                           if cdn.resource_type == "google_compute_url_map" else "origin access control")
                ctx.report(f"{cdn.name} reads bucket origin {origin.id} without {control}, so "
                           "the bucket must be readable by anyone", origin.location, entity=cdn.name)
            bucket = graph.node(origin.bucket_id) if origin.bucket_id and origin.bucket_id in graph else None
            if isinstance(bucket, Component):
                for flag in bucket.public_flags:
                    ctx.report(f"{bucket.name} does not block public access, so segments can be fetched around "
                               "the CDN", flag.location, entity=bucket.name)


SEGMENT_ACCESS = Check("tls.segment_access", _segment_access, NoParams, "Segments need signed access")


# What this module offers the registry in bitriver_lint/checks/__init__.py.
CHECKS = (TERMINATION, CERT_KEY_PAIR, AT_EDGE, HTTP_REDIRECT, CDN_ORIGIN_HTTPS, SEGMENT_ACCESS)
