"""Which route serves /api is the proxy's own choice, not always the most specific prefix.

Envoy tries a virtual host's routes as written and HAProxy its ``use_backend`` lines (the
``default_backend`` last): the first that matches wins, so a catch-all written first takes
/api. nginx takes an exact location, else the longest prefix if it is ``^~``, else the first
regular expression that matches, else the longest prefix. BRL301 now asks that question, and
names the route that wins and the one it keeps from being reached.
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
              - match: {prefix: "FIRST"}
                route: {cluster: FIRST_POOL}
              - match: {prefix: "SECOND"}
                route: {cluster: SECOND_POOL}
          http_filters:
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

_HAPROXY = """defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s

frontend www
    bind :80
    acl is_api path_beg /api
    acl is_site path_beg /
    RULES
    default_backend viewer_pool

backend api_pool
    server api1 10.0.1.10:8080

backend viewer_pool
    server viewer1 10.0.2.10:3000
"""

_NGINX = """events {}
http {
    upstream api_pool { server 10.0.1.10:8080; }
    upstream viewer_pool { server 10.0.2.10:3000; }
    server {
        listen 80;
        location FIRST {
            proxy_pass http://FIRST_POOL;
        }
        location SECOND {
            proxy_pass http://SECOND_POOL;
        }
        location /viewer {
            proxy_pass http://viewer_pool;
        }
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


def _routing(result: ScanResult) -> list[tuple[str, str, str, list[tuple[str, str]]]]:
    """BRL301 findings and BRL002 notes: (rule, where, message, related)."""
    return [(f.rule_id, str(f.location), f.message, [(str(r.location), r.message) for r in f.related])
            for f in result.active if f.rule_id in ("BRL301", "BRL002")]


def _two(template: str, first: tuple[str, str], second: tuple[str, str]) -> str:
    return (template.replace("FIRST_POOL", first[1]).replace("SECOND_POOL", second[1])
            .replace("FIRST", first[0]).replace("SECOND", second[0]))


_VIEWER_DEFINED = ("viewers/docker-compose.yml:2:3", "viewer is defined here")


# -- Envoy: the first route that matches -------------------------------------------------------

def test_envoy_catch_all_written_first_takes_the_api(tmp_path: Path) -> None:
    # Envoy never reaches the /api route: "/" matches every path and is tried first.
    text = _two(_ENVOY, ("/", "viewer_pool"), ("/api", "api_pool"))
    assert _routing(_scan(tmp_path, "envoy.yaml", text)) == [(
        "BRL301", "edge/envoy.yaml:17:17",
        "edge/envoy.yaml routes /api to viewer (viewer), not to the api pool: the route at "
        "edge/envoy.yaml:17:17 comes first and is tried before the one at edge/envoy.yaml:19:17",
        [_VIEWER_DEFINED, ("edge/envoy.yaml:19:17", "this route to the api pool is not reached for /api")])]


def test_envoy_catch_all_written_last_is_the_control(tmp_path: Path) -> None:
    text = _two(_ENVOY, ("/api", "api_pool"), ("/", "viewer_pool"))
    assert _routing(_scan(tmp_path, "envoy.yaml", text)) == []


def test_envoy_catch_all_with_a_header_condition_does_not_shadow(tmp_path: Path) -> None:
    # A route that also needs a header may let /api pass to the next one: no proof, no finding.
    text = _two(_ENVOY, ("/", "viewer_pool"), ("/api", "api_pool")).replace(
        '{prefix: "/"}', '{prefix: "/", headers: [{name: x-canary, present_match: true}]}')
    assert _routing(_scan(tmp_path, "envoy.yaml", text)) == []


def test_envoy_routes_of_another_virtual_host_are_another_table(tmp_path: Path) -> None:
    # www's catch-all is www's: api.example.com's own routes send /api to the API.
    other = """            - name: api
              domains: ["api.example.com"]
              routes:
              - match: {prefix: "/api"}
                route: {cluster: api_pool}
              - match: {prefix: "/viewer"}
                route: {cluster: viewer_pool}
            - name: live
              domains: ["*"]
              routes:
              - match: {prefix: "/"}
                route: {cluster: viewer_pool}
"""
    text = _two(_ENVOY, ("/", "viewer_pool"), ("/api", "api_pool"))
    start = text.index("            - name: live")
    text = text[:start] + other + text[text.index("          http_filters:"):]
    assert _routing(_scan(tmp_path, "envoy.yaml", text)) == []


# -- HAProxy: use_backend lines in order, default_backend last ---------------------------------

def test_haproxy_earlier_use_backend_matching_the_api_wins(tmp_path: Path) -> None:
    rules = "use_backend viewer_pool if is_site\n    use_backend api_pool if is_api"
    assert _routing(_scan(tmp_path, "haproxy.cfg", _HAPROXY.replace("RULES", rules))) == [(
        "BRL301", "edge/haproxy.cfg:11:5",
        "edge/haproxy.cfg routes /api to viewer (viewer), not to the api pool: the route at "
        "edge/haproxy.cfg:11:5 comes first and is tried before the one at edge/haproxy.cfg:12:5",
        [_VIEWER_DEFINED, ("edge/haproxy.cfg:12:5", "this route to the api pool is not reached for /api")])]


def test_haproxy_api_rule_first_and_default_written_before_are_the_control(tmp_path: Path) -> None:
    rules = "use_backend api_pool if is_api\n    use_backend viewer_pool if is_site"
    assert _routing(_scan(tmp_path, "haproxy.cfg", _HAPROXY.replace("RULES", rules))) == []
    # default_backend is used only when no use_backend applies, wherever it is written.
    early = _HAPROXY.replace("    default_backend viewer_pool\n", "").replace(
        "RULES", "default_backend viewer_pool\n    use_backend api_pool if is_api")
    assert _routing(_scan(tmp_path, "haproxy.cfg", early)) == []


def test_haproxy_earlier_rule_with_a_host_condition_does_not_shadow(tmp_path: Path) -> None:
    rules = "use_backend viewer_pool if is_site { hdr(host) -i www.example.com }\n    use_backend api_pool if is_api"
    assert _routing(_scan(tmp_path, "haproxy.cfg", _HAPROXY.replace("RULES", rules))) == []


# -- nginx: exact, "^~" prefix, regular expressions in order, longest prefix -------------------

def test_nginx_regex_before_a_longer_prefix_takes_the_api(tmp_path: Path) -> None:
    text = _two(_NGINX, ("/api/", "api_pool"), ("~* ^/(api|_next)", "viewer_pool"))
    assert _routing(_scan(tmp_path, "nginx.conf", text)) == [(
        "BRL301", "edge/nginx.conf:11:13",
        "edge/nginx.conf routes /api to viewer (viewer), not to the api pool: the route at "
        "edge/nginx.conf:11:13 is a regular expression that matches it, which nginx tries before the prefix "
        "of the one at edge/nginx.conf:8:13",
        [_VIEWER_DEFINED, ("edge/nginx.conf:8:13", "this route to the api pool is not reached for /api")])]


def test_nginx_caret_tilde_prefix_is_the_control(tmp_path: Path) -> None:
    # "^~" keeps nginx from trying the regular expression: /api stays with the API.
    text = _two(_NGINX, ("^~ /api/", "api_pool"), ("~* ^/(api|_next)", "viewer_pool"))
    assert _routing(_scan(tmp_path, "nginx.conf", text)) == []


def test_nginx_caret_tilde_prefix_wins_over_a_regex_to_the_api(tmp_path: Path) -> None:
    # The regex that would send /api/... to the API is never tried: a finding, not a BRL002
    # note about a pattern whose paths are not known.
    text = _two(_NGINX, ("^~ /api", "viewer_pool"), ("~ ^/api/", "api_pool"))
    assert _routing(_scan(tmp_path, "nginx.conf", text)) == [(
        "BRL301", "edge/nginx.conf:8:13",
        "edge/nginx.conf routes /api to viewer (viewer), not to the api pool: the route at "
        "edge/nginx.conf:8:13 is the longest prefix and ^~, so nginx tries no regular expression such as "
        "the one at edge/nginx.conf:11:13",
        [_VIEWER_DEFINED, ("edge/nginx.conf:11:13", "this route to the api pool is not reached for /api")])]


def test_nginx_regex_that_cannot_be_tried_stays_a_note(tmp_path: Path) -> None:
    # A POSIX class is read otherwise by Python's re: whether it takes /api is unknown.
    text = _two(_NGINX, ("/", "viewer_pool"), ("~ ^/[[:alpha:]]+/", "api_pool"))
    assert [(rule, where, message) for rule, where, message, _ in _routing(_scan(tmp_path, "nginx.conf", text))] == [
        ("BRL002", "edge/nginx.conf:11:13", "the route pattern ^/[[:alpha:]]+/ matches paths the scanner cannot list, "
                                            "so BRL301 (lb-routes) cannot check whether edge/nginx.conf forwards /api "
                                            "to the api pool")]
