"""Envoy static bootstrap (YAML or JSON): listeners, filter chains, routes and clusters.

A listener binds its ``address`` and each of its ``additional_addresses``. A filter chain
with a ``DownstreamTlsContext`` transport socket terminates TLS; an HTTP connection manager's
virtual hosts map paths (prefixes, exact paths, patterns) to clusters, or to the ``weighted_clusters`` a route splits
its traffic over (``require_tls`` or an ``https_redirect`` route redirects; ``upgrade_configs``
of the manager or a route pass WebSocket upgrades to the clusters it routes to); a
``tcp_proxy`` passes a port through. Clusters give endpoints, HTTP health checks and
``UpstreamTlsContext`` (TLS to the backend).
"""

from __future__ import annotations

from typing import Any

from bitriver_lint.config import Config
from bitriver_lint.loaders.proxy import (
    Backend,
    Bind,
    Frontend,
    HealthSpec,
    ProxyConfig,
    RouteRule,
    Server,
    dig,
    load_all,
)
from bitriver_lint.loaders.yamlpos import LDict, LList, YamlError, load_document
from bitriver_lint.model import Location, port_number
from bitriver_lint.vocabulary import RouteMatch
from bitriver_lint.workspace import Workspace


def _items(data: Any) -> list[tuple[Any, Location]]:
    if not isinstance(data, LList):
        return []
    return [(item, data.item_loc(i)) for i, item in enumerate(data)]


def _port(value: Any) -> int | None:
    """A ``port_value``: Envoy's proto-JSON reads a uint32 written as a string ("8080") too."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return port_number(value) if isinstance(value, str) else None


def _is_tls(transport: Any) -> bool:
    text = str(dig(transport, "typed_config", "@type") or "") + str(dig(transport, "name") or "")
    return "tls" in text.lower()


def load(files: list[str], ws: Workspace, config: Config) -> list[ProxyConfig]:
    del config

    def fill(doc: ProxyConfig, text: str) -> None:
        try:
            data = load_document(text, doc.path)
        except YamlError as exc:
            doc.diagnostics.append(exc.diagnostic(doc.path))
            return
        resources = dig(data, "static_resources")
        if not isinstance(resources, LDict):
            return
        hashing: dict[str, Location] = {}  # cluster name -> its RING_HASH/MAGLEV lb_policy
        for cluster, where in _items(resources.get("clusters")):
            if isinstance(cluster, LDict):
                _cluster(doc, cluster, where, hashing)
        for listener, where in _items(resources.get("listeners")):
            if isinstance(listener, LDict):
                _listener(doc, listener, where, hashing)

    return load_all(files, ws, "envoy", fill)


def _cluster(doc: ProxyConfig, cluster: LDict, where: Location, hashing: dict[str, Location]) -> None:
    name = str(cluster.get("name", f"cluster@{where.line}"))
    backend = Backend(name, where)
    scheme = "https" if _is_tls(cluster.get("transport_socket")) else "http"
    # TLS to the backends is configured once per cluster: findings about it belong there.
    tls_loc = cluster.key_loc("transport_socket") if scheme == "https" else None
    for endpoint_group, _ in _items(dig(cluster, "load_assignment", "endpoints")):
        for lb_endpoint, loc in _items(dig(endpoint_group, "lb_endpoints")):
            socket = dig(lb_endpoint, "endpoint", "address", "socket_address")
            if isinstance(socket, LDict) and socket.get("address") is not None:
                backend.servers.append(Server(str(socket["address"]), _port(socket.get("port_value")),
                                              tls_loc or loc, scheme))
    for check, loc in _items(cluster.get("health_checks")):
        http = dig(check, "http_health_check")
        if isinstance(http, LDict):
            path = http.get("path")
            where_path = http.value_loc("path") if "path" in http else loc
            backend.health = HealthSpec(where_path, str(path) if path else "/", str(http.get("method", "GET")))
        elif isinstance(check, LDict):
            backend.health = HealthSpec(loc, None, "TCP")
    if dig(cluster, "lb_policy") in ("RING_HASH", "MAGLEV"):
        # Sticky only where a route gives a hash_policy (_sticky): without one Envoy hashes a
        # random number, spreading requests as at random.
        hashing[name] = cluster.value_loc("lb_policy")
    doc.backends[name] = backend


def _sticky(doc: ProxyConfig, cluster: str, hash_policy: Any, hashing: dict[str, Location]) -> None:
    """A hashing cluster pins clients where the route (or tcp_proxy) to it hashes on something."""
    backend = doc.backends.get(cluster)
    if _items(hash_policy) and cluster in hashing and backend is not None:
        backend.sticky = backend.sticky or hashing[cluster]


def _listener(doc: ProxyConfig, listener: LDict, where: Location, hashing: dict[str, Location]) -> None:
    # additional_addresses: more sockets the listener accepts on, with the same filter chains.
    sockets = [dig(listener, "address", "socket_address")]
    sockets += [dig(extra, "address", "socket_address") for extra, _ in _items(listener.get("additional_addresses"))]
    frontend = Frontend(str(listener.get("name", f"listener@{where.line}")), where)
    chains = _items(listener.get("filter_chains"))
    tls = any(_is_tls(dig(chain, "transport_socket")) for chain, _ in chains)
    for socket in sockets:
        port = _port(socket.get("port_value")) if isinstance(socket, LDict) else None
        if isinstance(socket, LDict) and port is not None:
            address = str(socket.get("address", ""))
            frontend.binds.append(Bind("" if address in ("0.0.0.0", "::") else address, port, tls,
                                       socket.value_loc("port_value")))
    if not frontend.binds:
        return
    for chain, _ in chains:
        for flt, floc in _items(dig(chain, "filters")):
            typed = dig(flt, "typed_config")
            kind = str(dig(typed, "@type") or dig(flt, "name") or "")
            if "tcp_proxy" in kind and dig(typed, "cluster"):
                frontend.routes.append(RouteRule(None, str(typed["cluster"]), floc))
                _sticky(doc, str(typed["cluster"]), dig(typed, "hash_policy"), hashing)
            elif "http_connection_manager" in kind.lower():
                _http_routes(doc, frontend, typed, hashing)
    doc.frontends.append(frontend)


def _websocket(upgrade_configs: Any) -> tuple[bool, Location] | None:
    """Whether an ``upgrade_configs`` list turns WebSocket upgrades on (``enabled`` defaults to
    true) or off, and where; None when it does not name them."""
    for config, loc in _items(upgrade_configs):
        if str(dig(config, "upgrade_type") or "").lower() == "websocket":
            return dig(config, "enabled") is not False, loc
    return None


def _route_path(match: Any) -> tuple[str, RouteMatch] | None:
    """The path a route matches, as written, and how: a prefix (``prefix``,
    ``path_separated_prefix``), an exact ``path`` (that path alone, not the ones under it), or
    a ``safe_regex`` or ``path_match_policy`` URI template. A pattern stays as written, never
    read as "/" nor guessed into a prefix: which paths it covers is not known. None: a matcher
    with no path (``connect_matcher``)."""
    if not isinstance(match, LDict):
        return None
    for key in ("prefix", "path_separated_prefix"):
        if key in match:
            return str(match[key]) or "/", "prefix"
    if "path" in match:
        return str(match["path"]) or "/", "exact"
    pattern = dig(match, "safe_regex", "regex") or dig(match, "path_match_policy", "typed_config", "path_template")
    return (str(pattern), "pattern") if pattern else None


# A route's match keys that say which paths it takes; any other (headers, query_parameters,
# grpc, runtime_fraction...) is a further condition. case_sensitive only changes how the path
# compares.
_PATH_KEYS = frozenset({"prefix", "path", "safe_regex", "path_separated_prefix", "path_match_policy",
                        "case_sensitive"})


def _http_routes(doc: ProxyConfig, frontend: Frontend, manager: Any, hashing: dict[str, Location]) -> None:
    # Envoy answers "Upgrade: websocket" with 403 unless the connection manager or the route
    # lists it in upgrade_configs; a route's entry overrides the manager's either way.
    everywhere = _websocket(dig(manager, "upgrade_configs"))
    frontend.selection = "first"  # a virtual host's routes are tried in order, the first match wins
    for vhost, vloc in _items(dig(manager, "route_config", "virtual_hosts")):
        table = str(vloc)  # each virtual host is a route table of its own, chosen by domain
        if dig(vhost, "require_tls") in ("ALL", "EXTERNAL_ONLY"):
            frontend.redirect_https = vloc
        for route, rloc in _items(dig(vhost, "routes")):
            read = _route_path(dig(route, "match"))
            if read is None:
                continue
            matched, how = read
            path = None if (matched, how) == ("/", "prefix") else matched
            conditional = bool(set(dig(route, "match")) - _PATH_KEYS)  # headers, query parameters...
            if dig(route, "redirect", "https_redirect") is True:
                if path is None:
                    frontend.redirect_https = rloc
                frontend.routes.append(RouteRule(matched, None, rloc, redirect_https=True, match=how, table=table,
                                                 conditional=conditional))
                continue
            # One cluster, or a traffic split (a canary) over several: each serves the path.
            single = dig(route, "route", "cluster")
            weighted = _items(dig(route, "route", "weighted_clusters", "clusters"))
            split = [dig(entry, "name") for entry, _ in weighted]
            for cluster in [single] if single else [name for name in split if name]:
                frontend.routes.append(RouteRule(path, str(cluster), rloc, match=how, table=table,
                                                 conditional=conditional))
                _sticky(doc, str(cluster), dig(route, "route", "hash_policy"), hashing)
                upgrade = _websocket(dig(route, "route", "upgrade_configs")) or everywhere
                backend = doc.backends.get(str(cluster))
                if upgrade is not None and upgrade[0] and backend is not None:
                    backend.websocket = backend.websocket or upgrade[1]
