"""Routing checks: what the load balancer forwards where, and how the API finds the viewer."""

from __future__ import annotations

import re
import warnings
from urllib.parse import urlsplit

from pydantic import Field

from bitriver_lint.checks.base import Check, CheckContext, Params
from bitriver_lint.graph import Component, Listener, Role, Route, ServiceGraph
from bitriver_lint.model import Location, Related, Unknown
from bitriver_lint.vocabulary import Runtime


class ViewerOriginParams(Params):
    env: str = "BITRIVER_VIEWER_ORIGIN"


def _viewer_origin(ctx: CheckContext, params: ViewerOriginParams) -> None:
    graph = ctx.graph
    for api in graph.components(Role.API):
        home = graph.environment_of(api.id)
        viewers = graph.components(Role.VIEWER, environment=home)
        if not viewers:
            continue  # no viewer runtime in this API's environment
        setting = api.env.get(params.env)
        if setting is None:
            ctx.report(
                f"a viewer runtime ({viewers[0].name}) is deployed but {api.name} has no {params.env}, "
                "so the API cannot proxy /viewer",
                api.location,
                [Related(viewers[0].location, f"viewer {viewers[0].name}")], entity=api.name,
            )
            continue
        origin = ctx.need(setting, f"where {params.env} points")
        if origin is None:
            continue
        problem = _origin_problem(ctx, api, origin, viewers)
        if problem:
            ctx.report(f"{params.env}={origin} {problem}", setting.location,
                       [Related(v.location, f"viewer {v.name}") for v in viewers[:1]],
                       entity=f"{api.name}:{params.env}")


def _origin_problem(ctx: CheckContext, api: Component, origin: str, viewers: list[Component]) -> str | None:
    try:
        url = urlsplit(origin)
        host, port = url.hostname, url.port
    except ValueError:
        return "is not a URL"
    if not host or url.scheme not in ("http", "https"):
        return "is not an http(s) URL"
    graph = ctx.graph
    target = graph.find_component(host, near=api.location.path)
    if ctx.topology == "single-node":
        if target is None:
            local = host in ("localhost", "::1") or host.startswith("127.")
            host_network = any(li.host_bound for li in graph.listeners(api))  # network_mode: host
            if local and api.runtime is Runtime.CONTAINER and not host_network:
                # Inside the API's container, localhost is the container itself: the viewer
                # service is reached by its compose name.
                return (f"points at the API container itself ({host} inside {api.name}), not at the viewer; "
                        f"use the viewer service's name (http://{viewers[0].name}:3000)")
            if local:
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


class RouteSpec(Params):
    path: str
    role: Role
    ports: list[int]


class LbRoutesParams(Params):
    routes: list[RouteSpec]


def named(component: Component) -> str:
    """A component's name in a message; a target outside the tree says how its role was inferred."""
    if component.external:
        return f"{component.name} (outside this tree; {component.role_reason})"
    return component.name


def _covers(prefix: str | None, path: str) -> bool:
    if prefix is None:
        return True
    stem = prefix.rstrip("/*") or "/"
    return path == stem or path.startswith(stem.rstrip("/") + "/") or stem == "/"


RouteTo = tuple[Route, Listener, Listener]  # a route, its listener, the backend listener


def _stem_length(edge: Route) -> int:
    return len((edge.path or "").rstrip("/*"))


def _most_specific(routes: list[RouteTo], path: str) -> list[RouteTo]:
    """The prefix routes covering ``path`` with the longest prefix (the catch-all has none)."""
    matching = [r for r in routes if r[0].match == "prefix" and _covers(r[0].path, path)]
    best = max((_stem_length(r[0]) for r in matching), default=0)
    return [r for r in matching if _stem_length(r[0]) == best]


def _matches(edge: Route, path: str) -> bool | None:
    """Whether a route takes ``path`` (and so the paths under it): None when that is not known
    (a pattern the check cannot try, or a regex that does not take the path itself but may take
    some under it). An exact route takes that one path, not the ones under it."""
    if edge.path is None:
        return True
    if edge.match == "prefix":
        return _covers(edge.path, path)
    if edge.match == "exact":
        return False
    return True if edge.regex and _search(edge.path, path, edge.ignore_case) else None


# A regex is tried on a path only when Python reads it as PCRE does: no backreference,
# escape or group syntax of one engine alone, no POSIX class, and no quantified group with a
# quantifier inside (the shape of catastrophic backtracking). Anything else stays unknown.
_UNPORTABLE = re.compile(r"\\[1-9gkpPQEhHvVRXKNCzGLlUu]|\[:|\(\?(?!:)|\([^()]*[*+}][^()]*\)[*+{]")
_MAX_REGEX = 256


def _search(pattern: str, path: str, ignore_case: bool) -> bool:
    """Whether a PCRE regex (nginx's ``location ~``) finds a match in ``path``; False also when
    it cannot be tried safely."""
    if len(pattern) > _MAX_REGEX or len(path) > _MAX_REGEX or _UNPORTABLE.search(pattern):
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a FutureWarning: Python would read it otherwise one day
        try:
            compiled = re.compile(pattern, re.IGNORECASE if ignore_case else 0)
        except (re.error, Warning):
            return False
    return compiled.search(path) is not None


def _pick(table: list[RouteTo], path: str) -> tuple[list[RouteTo], list[RouteTo]]:
    """The routes of one table that serve ``path`` by its software's rule (several edges: one
    rule to several servers), and the patterns that may serve it instead, unknown."""
    selection = table[0][0].selection
    patterns = [r for r in table if r[0].match == "pattern"]
    if selection == "specific":
        # A route that needs more than its path (a Caddy named matcher on a header or a host)
        # serves the path only when no other route surely does, as with the other selections.
        sure = [r for r in table if not r[0].conditional]
        return _most_specific(sure, path) or _most_specific(table, path), patterns
    rules: dict[int, list[RouteTo]] = {}
    for route in sorted(table, key=lambda r: r[0].order):
        rules.setdefault(route[0].order, []).append(route)
    unsure: list[RouteTo] = []
    if selection == "nginx":
        longest = _most_specific(table, path)
        if longest and longest[0][0].final:
            return longest, []  # "^~": no regex is tried
        for rule in rules.values():
            if rule[0][0].match != "pattern":
                continue
            matched = _matches(rule[0][0], path)
            if matched:
                return rule, unsure
            if matched is None:
                unsure += rule
        return longest, unsure
    maybe: list[RouteTo] = []  # rules that take the path if their other conditions hold
    for rule in rules.values():
        matched = _matches(rule[0][0], path)
        if matched is None:
            unsure += rule
        elif matched and rule[0][0].conditional:
            maybe += rule
        elif matched:
            return rule, unsure
    return _most_specific(maybe, path), unsure  # none applies for sure: the most specific, as ever


def _serving(routes: list[RouteTo], path: str) -> tuple[list[RouteTo], list[RouteTo]]:
    """The routes that serve ``path`` and the patterns that may serve it instead (unknown): in
    each table (a server block, a virtual host) the one its software picks; across tables,
    which the host name chooses and the check does not know, the most specific of those."""
    tables: dict[tuple[str, str], list[RouteTo]] = {}
    for route in routes:
        tables.setdefault((route[1].id, route[0].table), []).append(route)
    picked: list[RouteTo] = []
    unsure: list[RouteTo] = []
    for table in tables.values():
        won, maybe = _pick(table, path)
        picked += won
        unsure += maybe

    def weight(edge: Route) -> int:
        return _stem_length(edge) if edge.match == "prefix" else len(path) + 1  # a regex that took the path

    best = max((weight(r[0]) for r in picked), default=0)
    return [r for r in picked if weight(r[0]) == best], unsure


def lb_routes(ctx: CheckContext, lb: Component) -> list[RouteTo]:
    """Every route of a load balancer: (edge, its listener, the backend listener)."""
    return list(ctx.graph.derived(("route.lb_routes", lb.id), lambda: _routes_of(ctx, lb)))


def _routes_of(ctx: CheckContext, lb: Component) -> list[RouteTo]:
    graph = ctx.graph
    out = []
    for listener in graph.listeners(lb):
        for _, target, edge in graph.out_edges(listener.id, "routes"):
            backend = graph.node(target)
            assert isinstance(backend, Listener)
            out.append((edge, listener, backend))
    return out


def bitriver_lbs(ctx: CheckContext) -> list[Component]:
    """Load balancers and proxies whose config routes to the API or the viewer."""
    return list(ctx.graph.derived("route.bitriver_lbs", lambda: _bitriver_lbs(ctx)))


def _bitriver_lbs(ctx: CheckContext) -> list[Component]:
    found = []
    for lb in ctx.graph.components(Role.LB, Role.PROXY, Role.CDN):
        roles = {ctx.graph.component_of(b).role for _, _, b in lb_routes(ctx, lb)}
        if roles & {Role.API, Role.VIEWER}:
            found.append(lb)
    return found


def _lb_routes(ctx: CheckContext, params: LbRoutesParams) -> None:
    graph = ctx.graph
    for lb in bitriver_lbs(ctx):
        routes = [r for r in lb_routes(ctx, lb) if r[0].scheme != "tcp"]  # HTTP paths only
        if lb.role is Role.CDN and _by_host(graph, routes):
            continue
        home = graph.environment_of(lb.id)
        # Targets outside the tree count for the LB that routes to them only.
        outside = {graph.component_of(b).role for _, _, b in routes if graph.component_of(b).external}
        for spec in params.routes:
            if not graph.components(spec.role, environment=home) and spec.role not in outside:
                continue  # e.g. no viewer runtime: the API serves /viewer itself, as the guide allows
            # The route the software picks serves the path: the first written (Envoy, HAProxy), by
            # nginx's rule, or the most specific prefix. An exact path is that one path, not the
            # ones under it (/api, not /api/streams).
            chosen, unsure = _serving(routes, spec.path)
            if not chosen and any(edge.scheme == "tcp" and graph.component_of(b).role is spec.role
                                  for edge, _, b in lb_routes(ctx, lb)):
                continue  # a layer-4 balancer (Global Accelerator, HAProxy mode tcp) passes every path to it
            if not any(graph.component_of(b).role is spec.role for _, _, b in chosen) and _by_pattern(
                    ctx, lb, spec, unsure):
                continue  # a pattern may send the path to its pool: unknown, not "not forwarded"
            # The route the most specific prefix would have been: when it is the right one, the
            # order of the routes is what sends the path elsewhere, and the message says so.
            # With nginx's "^~", the regular expressions it keeps from trying are such routes too.
            skipped = [r for r in routes if r[0].match == "pattern"] if any(r[0].final for r in chosen) else []
            passed = next((r for r in _most_specific(routes, spec.path) + skipped
                           if graph.component_of(r[2]).role is spec.role and r not in chosen), None)
            if not chosen:
                exact = [Related(edge.location, f"this route matches {edge.path} itself only, not the paths under it")
                         for edge, _, _ in routes if edge.match == "exact" and _covers(edge.path, spec.path)]
                ctx.report(f"{lb.name} does not forward {spec.path} anywhere; it should go to the "
                           f"{spec.role.value} pool on {' or '.join(map(str, spec.ports))}", lb.location,
                           exact[:1], entity=lb.name)
                continue
            wrong_role: set[tuple[Location, str]] = set()
            for edge, _, backend in chosen:
                peer = graph.component_of(backend)
                where = f"{named(peer)} ({peer.role.value}) on {backend.port}"
                if peer.role is not spec.role:
                    if (edge.location, peer.role.value) in wrong_role:
                        continue  # one finding per route, however many members the pool has
                    wrong_role.add((edge.location, peer.role.value))
                    related = [Related(peer.location, f"{peer.name} is defined here")]
                    why = ""
                    if passed is not None:
                        why = f": the route at {edge.location} {_wins(edge)} the one at {passed[0].location}"
                        related.append(Related(passed[0].location, f"this route to the {spec.role.value} pool "
                                                                    f"is not reached for {spec.path}"))
                    if edge.condition and edge.condition_location is not None:
                        related.append(Related(edge.condition_location, f"the route applies when {edge.condition}"))
                    ctx.report(f"{lb.name} routes {spec.path} to {named(peer)} ({peer.role.value}), not to the "
                               f"{spec.role.value} pool{why}", edge.location, related, entity=lb.name)
                elif backend.port not in spec.ports and backend.declared:  # else BRL603 says it
                    ctx.report(f"{lb.name} routes {spec.path} to {where}; the guide expects port "
                               f"{' or '.join(map(str, spec.ports))}", edge.location, entity=lb.name)


def _wins(edge: Route) -> str:
    """Why a route serves a path before another one that takes it too."""
    if edge.selection == "nginx" and edge.match == "pattern":
        return "is a regular expression that matches it, which nginx tries before the prefix of"
    if edge.selection == "nginx" and edge.final:
        return "is the longest prefix and ^~, so nginx tries no regular expression such as"
    return "comes first and is tried before"


def _by_pattern(ctx: CheckContext, lb: Component, spec: RouteSpec, routes: list[RouteTo]) -> bool:
    """Whether a pattern route (a regex, a glob) that may serve the path before the route that
    does sends traffic to the pool ``spec`` wants: which paths it covers is not known, so whether
    ``spec.path`` goes there is a BRL002 note, named with the pattern and where it is written,
    never a guessed BRL301."""
    patterns = {edge.location: edge for edge, _, backend in routes  # one note per route, not per pool member
                if edge.match == "pattern" and ctx.graph.component_of(backend).role is spec.role}
    for edge in patterns.values():
        ctx.note_unknown(Unknown((), f"the route pattern {edge.path}", why="matches paths the scanner cannot list"),
                         edge.location, f"whether {lb.name} forwards {spec.path} to the {spec.role.value} pool")
    return bool(patterns)


def _by_host(graph: ServiceGraph, routes: list[tuple[Route, Listener, Listener]]) -> bool:
    """Whether a CDN sends every path on to an origin balancer, or to several places at once:
    it picks its origin by host name (www to the viewer's balancer, api to the API pool),
    which routes do not carry, and the paths are the origin balancer's to route."""
    defaults = {graph.component_of(backend).id for edge, _, backend in routes if edge.path is None}
    fronts = any(graph.component_of(backend).role in (Role.LB, Role.PROXY) for _, _, backend in routes)
    return fronts or len(defaults) > 1


LB_ROUTES = Check("route.lb_routes", _lb_routes, LbRoutesParams, "LB forwards /api and /viewer")


class WebsocketParams(Params):
    # The API setting that turns WebSocket chat on, and the values that mean "on".
    env: str = "BITRIVER_LIVE_CHAT_WEBSOCKET"
    enabled_values: list[str] = Field(default_factory=lambda: ["true", "1", "yes", "on"])


def _websocket_sticky(ctx: CheckContext, params: WebsocketParams) -> None:
    graph = ctx.graph
    for lb in bitriver_lbs(ctx):
        for pool in graph.pools(lb):
            apis = [c for c in graph.components_behind(graph.members(pool)) if c.role is Role.API]
            if not apis:
                continue
            setting = apis[0].env.get(params.env)
            chat = ctx.need(setting, f"whether WebSocket chat ({params.env}) is on")
            if setting is not None and chat is None:
                continue
            enabled = chat is not None and chat.strip().lower() in params.enabled_values
            if enabled and pool.sticky is None:
                evidence = [Related(setting.location, "chat enabled here")] if setting else []
                ctx.report(f"WebSocket chat is on ({params.env}) but {lb.name}'s pool {pool.name} has no sticky "
                           "sessions", pool.location, evidence, entity=f"{lb.name}/{pool.name}")
            elif enabled and pool.websocket is None:
                ctx.report(f"WebSocket chat is on but {lb.name}'s pool {pool.name} does not pass WebSocket "
                           "upgrades (no Upgrade headers or tunnel timeout)", pool.location,
                           entity=f"{lb.name}/{pool.name}")
            elif not enabled and pool.sticky is not None:
                ctx.report(f"{lb.name}'s pool {pool.name} pins clients with sticky sessions although WebSocket "
                           "chat is off; they only unbalance the pool", pool.sticky, entity=f"{lb.name}/{pool.name}")


WEBSOCKET_STICKY = Check("route.websocket_sticky", _websocket_sticky, WebsocketParams,
                         "WebSocket chat has sticky sessions")


class StaticCacheParams(Params):
    path: str = "/_next/static/"


def _static_cache(ctx: CheckContext, params: StaticCacheParams) -> None:
    graph = ctx.graph
    by_environment: dict[str, list[Component]] = {}
    for lb in bitriver_lbs(ctx):
        by_environment.setdefault(graph.environment_of(lb.id), []).append(lb)
    for home, lbs in by_environment.items():
        fronts = graph.components(Role.LB, Role.PROXY, Role.CDN, environment=home)
        cached = [p for c in fronts for p in c.cached_paths]
        if not any(_covers(p, params.path) or params.path.startswith(p.rstrip("*")) for p in cached):
            _report_uncached(ctx, params, lbs[0])


def _report_uncached(ctx: CheckContext, params: StaticCacheParams, lb: Component) -> None:
    to_viewer = [edge for edge, _, backend in lb_routes(ctx, lb) if ctx.graph.component_of(backend).role is Role.VIEWER]
    where = to_viewer[0].location if to_viewer else lb.location
    ctx.report(f"{params.path}* is neither served by a CDN behaviour nor cached at {lb.name}", where, entity=lb.name)


STATIC_CACHE = Check("route.static_cache", _static_cache, StaticCacheParams, "/_next/static is cached")

# What this module offers the registry in bitriver_lint/checks/__init__.py.
CHECKS = (VIEWER_ORIGIN, LB_ROUTES, WEBSOCKET_STICKY, STATIC_CACHE)
