"""Routing checks: what the load balancer forwards where, and how the API finds the viewer."""

from __future__ import annotations

from urllib.parse import urlsplit

from bitriver_lint.checks.base import Check, CheckContext, Params, pending
from bitriver_lint.graph import Component, Role
from bitriver_lint.model import Related


class ViewerOriginParams(Params):
    env: str = "BITRIVER_VIEWER_ORIGIN"


def _viewer_origin(ctx: CheckContext, params: ViewerOriginParams) -> None:
    graph = ctx.graph
    viewers = graph.components(Role.VIEWER)
    if not viewers:
        return
    for api in graph.components(Role.API):
        setting = api.env.get(params.env)
        if setting is None:
            ctx.report(
                f"a viewer runtime ({viewers[0].name}) is deployed but {api.name} has no {params.env}, "
                "so the API cannot proxy /viewer",
                api.location,
                [Related(viewers[0].location, f"viewer {viewers[0].name}")],
            )
            continue
        origin = ctx.need(setting, f"where {params.env} points")
        if origin is None:
            continue
        problem = _origin_problem(ctx, api, origin, viewers)
        if problem:
            ctx.report(f"{params.env}={origin} {problem}", setting.location,
                       [Related(v.location, f"viewer {v.name}") for v in viewers[:1]])


def _origin_problem(ctx: CheckContext, api: Component, origin: str, viewers: list[Component]) -> str | None:
    try:
        url = urlsplit(origin)
        host, port = url.hostname, url.port
    except ValueError:
        return "is not a URL"
    if not host or url.scheme not in ("http", "https"):
        return "is not an http(s) URL"
    graph = ctx.graph
    target = graph.find_component(host)
    if ctx.topology == "single-node":
        if target is None:
            if host in ("localhost", "127.0.0.1", "::1"):
                ports = {li.port for v in viewers for li in graph.listeners(v)}
                effective = port or (443 if url.scheme == "https" else 80)
                if effective not in ports:
                    listening = ", ".join(map(str, sorted(ports)))
                    return f"points at local port {effective}, but the viewer listens on {listening}"
            return None  # a public name: cannot prove where it resolves
        if target.role is not Role.VIEWER:
            return f"points at {target.name} ({target.role.value}), not at the viewer runtime"
        ports = {li.port for li in graph.listeners(target) if li.declared}
        effective = port or (443 if url.scheme == "https" else 80)
        if ports and effective not in ports:
            return f"uses port {effective}, but {target.name} listens on {', '.join(map(str, sorted(ports)))}"
        return None
    if target is not None and target.role is Role.VIEWER:
        return "points at one viewer node directly; in origin/edge it must be the load-balanced viewer URL"
    return None


VIEWER_ORIGIN = Check("route.viewer_origin", _viewer_origin, ViewerOriginParams, "The API knows the viewer's origin")
LB_ROUTES = pending("route.lb_routes", "LB forwards /api and /viewer")
WEBSOCKET_STICKY = pending("route.websocket_sticky", "WebSocket chat has sticky sessions")
STATIC_CACHE = pending("route.static_cache", "/_next/static is cached")
