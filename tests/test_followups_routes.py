"""Routes BRL301 cannot read as prefixes: an exact path is that path alone, a pattern is unknown.

An Envoy ``path: /api``, nginx ``location = /api``, HAProxy ``acl ... path /api`` or Caddy
``handle /api`` matches /api itself, not /api/streams: read as a prefix it stood for the whole
API, hiding a catch-all that sends the API's paths to the viewer. A regex (Envoy ``safe_regex``,
nginx ``location ~``, HAProxy ``path_reg``, Caddy ``path_regexp``) covers paths no rule can list:
when it is what sends traffic to the API pool, whether /api is forwarded is a BRL002 note naming
the pattern where it is written, never a BRL301 "not forwarded" or "routed elsewhere".
"""

from __future__ import annotations

from pathlib import Path

from bitriver_lint.engine import ScanResult
from tests.conftest import SPLIT_CONFIG, SPLIT_ORIGIN, SPLIT_VIEWERS, scan_tree

_CONFIG, _ORIGIN, _VIEWERS = SPLIT_CONFIG, SPLIT_ORIGIN, SPLIT_VIEWERS

_ENVOY = """static_resources:
  listeners:
  - name: www
    address:
      socket_address: {address: 0.0.0.0, port_value: 80}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: www
          route_config:
            virtual_hosts:
            - name: live
              domains: ["*"]
              routes:
              - match: MATCH
                route: {cluster: api_pool}
              - match: {prefix: "/viewer"}
                route: {cluster: viewer_pool}
CATCHALL          http_filters:
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  clusters:
  - name: api_pool
    type: STATIC
    load_assignment:
      cluster_name: api_pool
      endpoints:
      - lb_endpoints:
        - endpoint: {address: {socket_address: {address: 10.0.1.10, port_value: 8080}}}
  - name: viewer_pool
    type: STATIC
    load_assignment:
      cluster_name: viewer_pool
      endpoints:
      - lb_endpoints:
        - endpoint: {address: {socket_address: {address: 10.0.2.10, port_value: 3000}}}
"""

_ENVOY_CATCHALL = """              - match: {prefix: "/"}
                route: {cluster: viewer_pool}
"""

_NGINX = """events {}
http {
    upstream api_pool { server 10.0.1.10:8080; }
    upstream viewer_pool { server 10.0.2.10:3000; }
    server {
        listen 80;
        location LOCATION {
            proxy_pass http://api_pool;
        }
        location / {
            proxy_pass http://viewer_pool;
        }
    }
}
"""

_HAPROXY = """defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s

frontend www
    bind :80
    acl is_api ACL
    use_backend api_pool if is_api
    default_backend viewer_pool

backend api_pool
    server api1 10.0.1.10:8080

backend viewer_pool
    server viewer1 10.0.2.10:3000
"""

_CADDY = """:80 {
MATCHER	handle HANDLE {
		reverse_proxy 10.0.1.10:8080
	}
	handle {
		reverse_proxy 10.0.2.10:3000
	}
}
"""


def _scan(root: Path, name: str, text: str) -> ScanResult:
    files = {".bitriver-lint.yaml": _CONFIG, "origin/docker-compose.yml": _ORIGIN,
             "viewers/docker-compose.yml": _VIEWERS, f"edge/{name}": text}
    for rel, body in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(body, encoding="utf-8")
    return scan_tree(root, topology="origin-edge")


def _routing(result: ScanResult) -> list[tuple[str, str, str]]:
    """BRL301 findings and BRL002 notes: (rule, where, message)."""
    return [(f.rule_id, str(f.location), f.message) for f in result.active if f.rule_id in ("BRL301", "BRL002")]


def _envoy(tmp_path: Path, match: str, *, catchall: bool = True) -> ScanResult:
    text = _ENVOY.replace("MATCH", match).replace("CATCHALL", _ENVOY_CATCHALL if catchall else "")
    return _scan(tmp_path, "envoy.yaml", text)


_TO_VIEWER = "edge/envoy.yaml routes /api to viewer (viewer), not to the api pool"


# -- an exact path is that path alone ----------------------------------------------------------

def test_envoy_exact_path_to_the_api_does_not_route_the_paths_under_it(tmp_path: Path) -> None:
    # /api/streams goes past the exact /api route to the catch-all, i.e. to the viewer pool;
    # read as a prefix, "/api" was the most specific route and the scan said nothing.
    result = _envoy(tmp_path, '{path: "/api"}')
    assert _routing(result) == [("BRL301", "edge/envoy.yaml:21:17", _TO_VIEWER)]


def test_envoy_prefix_to_the_api_still_routes_it(tmp_path: Path) -> None:
    assert _routing(_envoy(tmp_path, '{prefix: "/api"}')) == []


def test_envoy_exact_path_alone_does_not_forward_the_api(tmp_path: Path) -> None:
    result = _envoy(tmp_path, '{path: "/api"}', catchall=False)
    (finding,) = [f for f in result.active if f.rule_id == "BRL301"]
    assert (str(finding.location), finding.message) == (
        "edge/envoy.yaml:1:1", "edge/envoy.yaml does not forward /api anywhere; it should go to the api pool "
                               "on 8080 or 443")
    assert [(str(r.location), r.message) for r in finding.related] == [
        ("edge/envoy.yaml:17:17", "this route matches /api itself only, not the paths under it")]


def test_nginx_exact_location_does_not_route_the_paths_under_it(tmp_path: Path) -> None:
    for location in ("= /api", "=/api"):  # nginx reads the modifier joined to the path too
        result = _scan(tmp_path, "nginx.conf", _NGINX.replace("LOCATION", location))
        assert _routing(result) == [
            ("BRL301", "edge/nginx.conf:11:13", "edge/nginx.conf routes /api to viewer (viewer), not to the api pool")]


def test_haproxy_path_acl_is_an_exact_match(tmp_path: Path) -> None:
    # HAProxy's "path" fetch compares the whole path; "path_beg" (or "path -m beg") a prefix.
    result = _scan(tmp_path, "haproxy.cfg", _HAPROXY.replace("ACL", "path /api"))
    assert _routing(result) == [
        ("BRL301", "edge/haproxy.cfg:11:5", "edge/haproxy.cfg routes /api to viewer (viewer), not to the api pool")]
    for prefix in ("path_beg /api", "path -m beg /api", "path_beg -i /api"):
        assert _routing(_scan(tmp_path, "haproxy.cfg", _HAPROXY.replace("ACL", prefix))) == [], prefix


def test_caddy_path_without_a_star_is_an_exact_match(tmp_path: Path) -> None:
    result = _scan(tmp_path, "Caddyfile", _CADDY.replace("MATCHER", "").replace("HANDLE", "/api"))
    assert _routing(result) == [
        ("BRL301", "edge/Caddyfile:6:3", "edge/Caddyfile routes /api to viewer (viewer), not to the api pool")]
    assert _routing(_scan(tmp_path, "Caddyfile", _CADDY.replace("MATCHER", "").replace("HANDLE", "/api/*"))) == []


# -- a pattern is unknown, not "not forwarded" -------------------------------------------------

def _unknown(where: str, pattern: str, lb: str) -> tuple[str, str, str]:
    return ("BRL002", where, f"the route pattern {pattern} matches paths the scanner cannot list, so BRL301 "
                             f"(lb-routes) cannot check whether {lb} forwards /api to the api pool")


def test_envoy_regex_route_to_the_api_is_a_note_not_a_wrong_route(tmp_path: Path) -> None:
    result = _envoy(tmp_path, '{safe_regex: {regex: "/api/.*"}}')
    assert _routing(result) == [_unknown("edge/envoy.yaml:17:17", "/api/.*", "edge/envoy.yaml")]


def test_envoy_regex_as_the_only_route_to_the_api_is_a_note_not_not_forwarded(tmp_path: Path) -> None:
    result = _envoy(tmp_path, '{safe_regex: {regex: "/api/.*"}}', catchall=False)
    assert _routing(result) == [_unknown("edge/envoy.yaml:17:17", "/api/.*", "edge/envoy.yaml")]


def test_envoy_regex_route_to_another_pool_leaves_the_finding(tmp_path: Path) -> None:
    # Only a pattern that sends traffic to the API pool makes /api's route unknown.
    text = _ENVOY.replace("MATCH", '{safe_regex: {regex: ".*[.]m3u8"}}').replace("CATCHALL", _ENVOY_CATCHALL)
    text = text.replace("route: {cluster: api_pool}", "route: {cluster: viewer_pool}", 1)
    result = _scan(tmp_path, "envoy.yaml", text)
    assert _routing(result) == [("BRL301", "edge/envoy.yaml:21:17", _TO_VIEWER)]


def test_nginx_regex_location_to_the_api_is_a_note_not_a_wrong_route(tmp_path: Path) -> None:
    # nginx tries regular-expression locations before the longest prefix ("/"), so /api/x may
    # well reach the API pool; which paths ^/api/ covers is not ours to guess.
    for location in ("~ ^/api/", "~* ^/API/", "~^/api/"):
        result = _scan(tmp_path, "nginx.conf", _NGINX.replace("LOCATION", location))
        pattern = location.lstrip("~* ")
        assert _routing(result) == [_unknown("edge/nginx.conf:8:13", pattern, "edge/nginx.conf")], location


def test_haproxy_path_reg_acl_to_the_api_is_a_note_not_a_wrong_route(tmp_path: Path) -> None:
    result = _scan(tmp_path, "haproxy.cfg", _HAPROXY.replace("ACL", "path_reg ^/api/"))
    assert _routing(result) == [_unknown("edge/haproxy.cfg:10:5", "path_reg ^/api/", "edge/haproxy.cfg")]
    # An anonymous ACL too; "-m reg" makes the exact "path" fetch a regex.
    inline = _HAPROXY.replace("use_backend api_pool if is_api", "use_backend api_pool if { path -m reg ^/api/ }")
    result = _scan(tmp_path, "haproxy.cfg", inline.replace("ACL", "path_beg /nothing"))
    assert _routing(result) == [_unknown("edge/haproxy.cfg:10:5", "path -m reg ^/api/", "edge/haproxy.cfg")]


def test_caddy_path_regexp_matcher_to_the_api_is_a_note_not_a_wrong_route(tmp_path: Path) -> None:
    for matcher in ("\t@api path_regexp ^/api/\n", "\t@api path_regexp api ^/api/\n"):
        result = _scan(tmp_path, "Caddyfile", _CADDY.replace("MATCHER", matcher).replace("HANDLE", "@api"))
        assert _routing(result) == [_unknown("edge/Caddyfile:4:3", "^/api/", "edge/Caddyfile")], matcher


def _caddy_json(match: str) -> str:
    """Caddy's JSON on one line, the shape ``caddy adapt`` writes for a matcher then a catch-all."""
    api, viewer = ('{"handler":"reverse_proxy","upstreams":[{"dial":"' + dial + '"}]}'
                   for dial in ("10.0.1.10:8080", "10.0.2.10:3000"))
    routes = '{"match":[' + match + '],"handle":[' + api + ']},{"handle":[' + viewer + ']}'
    return '{"apps":{"http":{"servers":{"srv0":{"listen":[":80"],"routes":[' + routes + ']}}}}}\n'


def test_caddy_json_path_regexp_to_the_api_is_a_note_not_a_wrong_route(tmp_path: Path) -> None:
    # On one line both handlers were one backend ("reverse_proxy@1"): the API's route went to the
    # viewer's servers. Each now has its own, and the regexp is a pattern.
    result = _scan(tmp_path, "caddy.json", _caddy_json('{"path_regexp":{"pattern":"^/api/"}}'))
    assert _routing(result) == [_unknown("edge/caddy.json:1:64", "^/api/", "edge/caddy.json")]
    result = _scan(tmp_path, "caddy.json", _caddy_json('{"path":["/api/*"]}'))
    assert _routing(result) == []
