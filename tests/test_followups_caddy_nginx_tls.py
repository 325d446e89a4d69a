"""TLS as nginx and Caddy decide it, and Caddy's named matchers as route conditions.

nginx speaks TLS on a listen only with its ``ssl`` parameter, or where ``ssl on;`` (nginx before
1.25) is in force for the socket's default server; port 443 and a certificate alone make nothing
TLS (checked on a running nginx 1.22). Caddy refuses a site address whose scheme and port
disagree (``http://host:443``: "scheme and port violate convention", ``caddy adapt``), and its
JSON servers get TLS from their policies or automatic HTTPS, never from the port alone
(checked on a running Caddy 2.6). A named matcher (``@api path /api/*``, a block of matchers,
``@ws header ...``) is what its route takes: its paths, and a condition when it needs more.
"""

from __future__ import annotations

from pathlib import Path

from bitriver_lint.engine import ScanResult
from bitriver_lint.graph import Listener
from tests.conftest import SPLIT_CONFIG, SPLIT_ORIGIN, SPLIT_VIEWERS, scan_tree

_CONFIG, _ORIGIN, _VIEWERS = SPLIT_CONFIG, SPLIT_ORIGIN, SPLIT_VIEWERS


def _scan(root: Path, name: str, text: str, *, backends: bool = True) -> ScanResult:
    files = {f"edge/{name}": text}
    if backends:
        files |= {".bitriver-lint.yaml": _CONFIG, "origin/docker-compose.yml": _ORIGIN,
                  "viewers/docker-compose.yml": _VIEWERS}
    for rel, body in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(body, encoding="utf-8")
    return scan_tree(root, topology="origin-edge")


def _found(result: ScanResult, *rules: str) -> list[tuple[str, str, str]]:
    return [(f.rule_id, str(f.location), f.message) for f in result.active if f.rule_id in rules]


def _related(result: ScanResult, rule: str) -> list[tuple[str, str]]:
    (finding,) = [f for f in result.active if f.rule_id == rule]
    return [(str(r.location), r.message) for r in finding.related]


def _listener(result: ScanResult, port: int) -> Listener:
    (found,) = [li for c in result.graph.components() for li in result.graph.listeners(c) if li.port == port]
    return found


# -- nginx ------------------------------------------------------------------------------------

_NGINX = """events {}
http {
  upstream api_pool { server 10.0.1.10:8080; }
  upstream viewer_pool { server 10.0.2.10:3000; }
  HTTP
  server {
    LISTEN
    server_name live.example.com;
    SSL
    ssl_certificate /etc/nginx/cert.pem;
    ssl_certificate_key /etc/nginx/key.pem;
    location /api/ { proxy_pass http://api_pool; }
    location / { proxy_pass http://viewer_pool; }
  }
}
"""


def _nginx(root: Path, listen: str, ssl: str = "", http: str = "") -> ScanResult:
    text = _NGINX.replace("LISTEN", listen).replace("SSL", ssl).replace("HTTP", http)
    return _scan(root, "nginx.conf", text)


_PLAIN_EDGE = "edge/nginx.conf faces the internet without TLS: none of its public listeners ({}) terminates TLS"


def test_nginx_listen_443_without_ssl_is_plain_http_whatever_certificate(tmp_path: Path) -> None:
    # The block names a certificate and listens on 443, but without "ssl" a running nginx answers
    # plain HTTP there. It used to be read as TLS, and BRL203 was silent.
    result = _nginx(tmp_path, "listen 443;")
    assert _found(result, "BRL203") == [("BRL203", "edge/nginx.conf:7:5", _PLAIN_EDGE.format(443))]
    assert _related(result, "BRL203") == [
        ("edge/nginx.conf:7:5", "edge/nginx.conf:443 speaks plain HTTP: its listen has no ssl parameter")]
    listener = _listener(result, 443)
    assert (listener.tls, str(listener.tls_location)) == (False, "edge/nginx.conf:7:5")


def test_nginx_listen_ssl_says_where_tls_is_decided(tmp_path: Path) -> None:
    """A guard against over-reporting: "listen 443 ssl" stays TLS, now with its evidence."""
    result = _nginx(tmp_path, "listen 443 ssl;")
    assert _found(result, "BRL203") == []
    listener = _listener(result, 443)
    assert (listener.tls, str(listener.tls_location), listener.tls_reason) == (
        True, "edge/nginx.conf:7:5", "its listen has ssl")


def test_nginx_ssl_on_in_the_server_makes_its_listen_tls(tmp_path: Path) -> None:
    # nginx 1.22 still reads "ssl on;" (deprecated, removed in 1.25): the port is TLS. It used to
    # be read as plain HTTP on 8443 (BRL203 at the listen).
    result = _nginx(tmp_path, "listen 8443;", "ssl on;")
    assert _found(result, "BRL203") == []
    listener = _listener(result, 8443)
    assert (listener.tls, str(listener.tls_location), listener.tls_reason) == (
        True, "edge/nginx.conf:9:5", "ssl on in the default server of its address and port")


def test_nginx_ssl_on_in_the_http_block_holds_unless_the_server_turns_it_off(tmp_path: Path) -> None:
    result = _nginx(tmp_path, "listen 8443;", http="ssl on;")
    assert _found(result, "BRL203") == []
    listener = _listener(result, 8443)
    assert (listener.tls, str(listener.tls_location), listener.tls_reason) == (
        True, "edge/nginx.conf:5:3", "ssl on in the http block")
    result = _nginx(tmp_path, "listen 8443;", "ssl off;", http="ssl on;")
    assert _found(result, "BRL203") == [("BRL203", "edge/nginx.conf:7:5", _PLAIN_EDGE.format(8443))]


def test_nginx_quic_listen_is_tls_on_a_socket_of_its_own(tmp_path: Path) -> None:
    # nginx 1.25+'s "listen ... quic" is HTTP/3 over UDP, always TLS 1.3 (read as plain on 8443
    # before). It is not the TCP socket: a plain "listen 8443;" beside it stays plain.
    result = _nginx(tmp_path, "listen 8443 quic;")
    assert _found(result, "BRL203") == []
    assert (_listener(result, 8443).tls, _listener(result, 8443).tls_reason) == (True, "its listen is quic")
    result = _nginx(tmp_path, "listen 8443 quic;\n    listen 8443;")
    assert _found(result, "BRL203") == [("BRL203", "edge/nginx.conf:8:5", _PLAIN_EDGE.format(8443))]


_TWO_BLOCKS = """events {}
http {
  upstream api_pool { server 10.0.1.10:8080; }
  server {
    listen 8443FIRST;
    server_name a.example.com;
    location / { proxy_pass http://api_pool; }
  }
  server {
    listen 8443SECOND;
    server_name live.example.com;
    ssl on;
    ssl_certificate /etc/nginx/cert.pem;
    ssl_certificate_key /etc/nginx/key.pem;
    location / { proxy_pass http://api_pool; }
  }
}
"""


def test_nginx_ssl_on_counts_in_the_sockets_default_server_only(tmp_path: Path) -> None:
    # On a running nginx, "ssl on" in the second block of a shared socket left it plain; made
    # that block the default server, every connection there spoke TLS. Both were plain before.
    result = _scan(tmp_path, "nginx.conf", _TWO_BLOCKS.replace("FIRST", "").replace("SECOND", " default_server"))
    assert _found(result, "BRL203") == []
    assert str(_listener(result, 8443).tls_location) == "edge/nginx.conf:12:5"
    result = _scan(tmp_path, "nginx.conf", _TWO_BLOCKS.replace("FIRST", "").replace("SECOND", ""))
    assert _found(result, "BRL203") == [("BRL203", "edge/nginx.conf:5:5", _PLAIN_EDGE.format(8443))]


_COMPOSE_NGINX = """services:
  nginx:
    image: nginx:1.27
    ports: ["443:443"]
    volumes: ["./nginx.conf:/etc/nginx/nginx.conf:ro"]
  api:
    image: ghcr.io/bitriver/bitriver-live:1.4.2
    restart: unless-stopped
"""


def test_nothing_terminates_tls_names_the_plain_listen_on_443(tmp_path: Path) -> None:
    # BRL201 on one machine: nginx publishes 443, but its listen there has no "ssl". It counted
    # as the termination point before; now the finding names the listen line as evidence.
    (tmp_path / "docker-compose.yml").write_text(_COMPOSE_NGINX, encoding="utf-8")
    (tmp_path / "nginx.conf").write_text(
        "events {}\nhttp {\n  server {\n    listen 443;\n    ssl_certificate /c.pem;\n"
        "    location / { proxy_pass http://api:8080; }\n  }\n}\n", encoding="utf-8")
    result = scan_tree(tmp_path, topology="single-node")
    assert _found(result, "BRL201") == [(
        "BRL201", "docker-compose.yml:6:3",
        "nothing terminates TLS in front of api: no public HTTPS listener on a proxy, load balancer or CDN, "
        "and no BITRIVER_LIVE_TLS_CERT/BITRIVER_LIVE_TLS_KEY on the API")]
    assert _related(result, "BRL201") == [
        ("nginx.conf:4:5", "nginx:443 speaks plain HTTP: its listen has no ssl parameter")]


# -- Caddy site addresses -----------------------------------------------------------------------

def test_caddy_http_scheme_on_443_is_refused(tmp_path: Path) -> None:
    # caddy adapt: "[http://live.example.com:443] scheme and port violate convention". It used to
    # be read as plain HTTP on 443; the site opens no port, as Caddy starts with none of it.
    text = "https://live.example.com, http://live.example.com:443 {\n\treverse_proxy 10.0.1.10:8080\n}\n"
    result = _scan(tmp_path, "Caddyfile", text)
    assert _found(result, "BRL001") == [(
        "BRL001", "edge/Caddyfile:1:27",
        "site address http://live.example.com:443: scheme and port violate convention, and Caddy refuses the "
        "config (plain HTTP on 443)")]
    listener = _listener(result, 443)
    assert (listener.tls, str(listener.tls_location)) == (True, "edge/Caddyfile:1:1")


def test_caddy_https_scheme_on_80_is_refused(tmp_path: Path) -> None:
    result = _scan(tmp_path, "Caddyfile", "https://live.example.com:80 {\n\treverse_proxy 10.0.1.10:8080\n}\n")
    assert [(rule, where) for rule, where, _ in _found(result, "BRL001")] == [("BRL001", "edge/Caddyfile:1:1")]


def test_caddy_localhost_and_ip_sites_get_automatic_https(tmp_path: Path) -> None:
    # A running Caddy serves localhost:18450 and 127.0.0.1:18451 over TLS (its local CA), and a
    # bare 127.0.0.1 on 443 with port 80 redirecting; all three were read as plain HTTP.
    result = _scan(tmp_path, "Caddyfile", "localhost:8443, 10.0.0.9:9443 {\n\treverse_proxy 10.0.1.10:8080\n}\n")
    assert _found(result, "BRL203") == []
    listeners = (_listener(result, 8443), _listener(result, 9443))
    assert [(li.tls, str(li.tls_location), li.tls_reason) for li in listeners] == [
        (True, "edge/Caddyfile:1:1", "Caddy's automatic HTTPS for a host name"),
        (True, "edge/Caddyfile:1:17", "Caddy's automatic HTTPS for a host name")]
    result = _scan(tmp_path, "Caddyfile", "127.0.0.1 {\n\treverse_proxy 10.0.1.10:8080\n}\n")
    assert (_listener(result, 443).tls, str(_listener(result, 80).redirect_https)) == (True, "edge/Caddyfile:1:1")


def _ports(result: ScanResult) -> list[tuple[int, bool | None]]:
    return sorted((li.port, li.tls) for c in result.graph.components() for li in result.graph.listeners(c)
                  if c.origin == "caddy")


def test_caddy_global_options_move_the_ports_and_drop_the_redirect(tmp_path: Path) -> None:
    # caddy adapt: with "auto_https off" the site keeps its TLS policy on 443 but nothing listens
    # on 80 to redirect; "https_port 8443" moves the site's HTTPS there, "http_port 8080" the
    # redirect. Ports 443 and 80 were assumed whatever the options said.
    site = "live.example.com {\n\treverse_proxy 10.0.1.10:8080\n}\n"
    assert _ports(_scan(tmp_path, "Caddyfile", "{\n\tauto_https off\n}\n" + site)) == [(443, True)]
    assert _ports(_scan(tmp_path, "Caddyfile", "{\n\thttps_port 8443\n\thttp_port 8080\n}\n" + site)) == [
        (8080, False), (8443, True)]
    result = _scan(tmp_path, "Caddyfile", "{\n\thttps_port 8443\n}\nhttp://live.example.com:8443 {\n}\n")
    assert [(rule, where) for rule, where, _ in _found(result, "BRL001")] == [("BRL001", "edge/Caddyfile:4:1")]


# -- Caddy JSON: TLS from policies and automatic HTTPS --------------------------------------------

def _caddy_json(server: str) -> str:
    route = '{"handle":[{"handler":"reverse_proxy","upstreams":[{"dial":"10.0.1.10:8080"}]}]}'
    return '{"apps":{"http":{"servers":{"srv0":{' + server.replace("ROUTE", route) + '}}}}}\n'


def test_caddy_json_443_with_automatic_https_disabled_is_plain(tmp_path: Path) -> None:
    # Read as TLS for its port before; Caddy serves plain HTTP there once automatic HTTPS is off.
    result = _scan(tmp_path, "caddy.json", _caddy_json(
        '"listen":[":443"],"automatic_https":{"disable":true},"routes":[ROUTE]'))
    assert _found(result, "BRL203") == [(
        "BRL203", "edge/caddy.json:1:47",
        "edge/caddy.json faces the internet without TLS: none of its public listeners (443) terminates TLS")]
    assert _related(result, "BRL203") == [(
        "edge/caddy.json:1:55",
        "edge/caddy.json:443 speaks plain HTTP: automatic_https.disable, and no TLS connection policies")]


def test_caddy_json_host_route_on_another_port_gets_automatic_https(tmp_path: Path) -> None:
    # A top-level route matching a host on 8443: Caddy adds a TLS policy (plain before).
    route = '{"match":[{"host":["live.example.com"]}],"handle":[{"handler":"reverse_proxy",' \
            '"upstreams":[{"dial":"10.0.1.10:8080"}]}]}'
    result = _scan(tmp_path, "caddy.json", _caddy_json('"listen":[":8443"],"routes":[' + route + "]"))
    assert _found(result, "BRL203") == []
    listener = _listener(result, 8443)
    assert (listener.tls, str(listener.tls_location), listener.tls_reason) == (
        True, "edge/caddy.json:1:85", "Caddy's automatic HTTPS for the host live.example.com")


def test_caddy_json_empty_tls_policies_enable_nothing(tmp_path: Path) -> None:
    # "tls_connection_policies": [] used to count as TLS by its key alone; a running Caddy
    # serves plain HTTP there.
    result = _scan(tmp_path, "caddy.json", _caddy_json(
        '"listen":[":8443"],"tls_connection_policies":[],"routes":[ROUTE]'))
    assert [(rule, where) for rule, where, _ in _found(result, "BRL203")] == [("BRL203", "edge/caddy.json:1:47")]
    assert _listener(result, 8443).tls is False


# -- Caddy named matchers ---------------------------------------------------------------------------

_CADDY = """:80 {
MATCHERS	reverse_proxy HANDLE 10.0.1.10:8080
	reverse_proxy /viewer/* 10.0.2.10:3000
OTHER}
"""


def _caddy(root: Path, matchers: str, handle: str = "@api", other: str = "") -> ScanResult:
    text = _CADDY.replace("MATCHERS", matchers).replace("HANDLE", handle).replace("OTHER", other)
    return _scan(root, "Caddyfile", text)


_NOT_FORWARDED = ("BRL301", "edge/Caddyfile:1:1", "edge/Caddyfile does not forward /api anywhere; it should go to "
                                                 "the api pool on 8080 or 443")


def test_caddy_named_matcher_block_takes_its_paths(tmp_path: Path) -> None:
    # "@api { path /api/* }" was read as a route on the path "@api": /api went nowhere (BRL301).
    result = _caddy(tmp_path, "\t@api {\n\t\tpath /api/*\n\t}\n")
    assert _found(result, "BRL301", "BRL001") == []
    edges = [e for _, _, e in result.graph.edges("routes") if e.path == "/api/*"]
    assert [(e.condition, str(e.condition_location), e.conditional) for e in edges] == [
        ("@api path /api/*", "edge/Caddyfile:2:2", False)]


def test_caddy_named_matcher_with_several_paths_takes_each(tmp_path: Path) -> None:
    # Only the first path was read: /api/* after /v1/* was lost (BRL301).
    result = _caddy(tmp_path, "\t@api path /v1/* /api/*\n")
    assert _found(result, "BRL301", "BRL001") == []
    assert sorted(e.path for _, _, e in result.graph.edges("routes") if e.condition) == ["/api/*", "/v1/*"]


def test_caddy_named_matcher_defined_after_its_use_counts(tmp_path: Path) -> None:
    # Caddy reads a block's matcher definitions before its directives.
    result = _caddy(tmp_path, "", other="\t@api path /api/*\n")
    assert _found(result, "BRL301", "BRL001") == []


def test_caddy_header_matcher_is_a_condition_on_every_path(tmp_path: Path) -> None:
    # "@ws header Connection *Upgrade*" takes any path whose request asks for an upgrade: /api's
    # only route goes to the viewer when it does. It was read as the path "@ws", so /api went
    # "nowhere"; now the finding names the route and the matcher it needs.
    text = _CADDY.replace("MATCHERS", "\t@ws header Connection *Upgrade*\n").replace("HANDLE", "@ws").replace(
        "OTHER", "").replace("10.0.1.10:8080", "10.0.2.10:3000", 1)
    result = _scan(tmp_path, "Caddyfile", text)
    assert _found(result, "BRL301") == [
        ("BRL301", "edge/Caddyfile:3:2", "edge/Caddyfile routes /api to viewer (viewer), not to the api pool")]
    assert _related(result, "BRL301")[-1] == (
        "edge/Caddyfile:2:2", "the route applies when @ws header Connection *Upgrade*")


def test_caddy_conditional_route_gives_way_to_a_sure_one(tmp_path: Path) -> None:
    """A guard against over-reporting: /api goes to the API by the catch-all route, which needs
    nothing more; the header route to the viewer applies to upgrades only, and is no wrong route
    for /api although it takes every path too."""
    result = _caddy(tmp_path, "\t@ws header Connection *Upgrade*\n", handle="",
                    other="\treverse_proxy @ws 10.0.2.10:3000\n")
    assert _found(result, "BRL301", "BRL001") == []
    assert sorted((e.path or "", e.conditional) for _, _, e in result.graph.edges("routes")) == [
        ("", False), ("", True), ("/viewer/*", False)]


def test_caddy_matcher_defined_twice_is_refused(tmp_path: Path) -> None:
    # caddy adapt: "matcher is defined more than once: @api", in one block or in a handle
    # block inside it (sibling handle blocks may each define their own).
    result = _caddy(tmp_path, "\t@api path /api/*\n\t@api path /v1/*\n")
    assert _found(result, "BRL001") == [(
        "BRL001", "edge/Caddyfile:3:2",
        "matcher is defined more than once: @api (first at edge/Caddyfile:2:2); Caddy refuses the config")]
    nested = "\t@api path /api/*\n\thandle {\n\t\t@api path /v1/*\n\t}\n"
    assert [where for _, where, _ in _found(_caddy(tmp_path, nested), "BRL001")] == ["edge/Caddyfile:4:3"]
    siblings = "\t@api path /api/*\n\thandle /a {\n\t\t@x path /v1/*\n\t}\n\thandle /b {\n\t\t@x path /v2/*\n\t}\n"
    assert _found(_caddy(tmp_path, siblings), "BRL001") == []


def test_caddy_unknown_matcher_name_is_refused(tmp_path: Path) -> None:
    # caddy adapt: "unrecognized matcher name: @nope".
    result = _caddy(tmp_path, "\t@api path /api/*\n", other="\treverse_proxy @nope 10.0.2.10:3000\n")
    assert _found(result, "BRL001") == [
        ("BRL001", "edge/Caddyfile:5:2", "unrecognized matcher name: @nope; Caddy refuses the config")]


def test_caddy_named_matcher_paths_infer_an_outside_backends_role(tmp_path: Path) -> None:
    # A Caddyfile alone: the backend on 9000 is outside the tree and known only by the paths
    # routed to it. "@api { path /api/* }" now says /api/*, so it is the API and its pool
    # needs the API's health check; it was the path "@api" before, and nothing was inferred.
    text = ":443 {\n\t@api {\n\t\tpath /api/*\n\t}\n\treverse_proxy @api 10.9.9.9:9000\n}\n"
    result = _scan(tmp_path, "Caddyfile", text, backends=False)
    assert [(rule, where) for rule, where, _ in _found(result, "BRL302")] == [("BRL302", "edge/Caddyfile:5:2")]


# -- what else decides TLS: an ALB listener's protocol ---------------------------------------------

_ALB = """resource "aws_lb" "edge" {
  name = "edge"
}
resource "aws_lb_listener" "www" {
  load_balancer_arn = aws_lb.edge.arn
  port              = 443
PROTOCOL  default_action {
    type = "fixed-response"
  }
}
"""


def test_an_alb_listener_on_443_speaks_what_its_protocol_says(tmp_path: Path) -> None:
    # "protocol = HTTP" on 443 serves plain HTTP (so does no protocol at all): the listener
    # cites that line, or says HTTP is the default, for BRL201/BRL203's evidence.
    (tmp_path / "main.tf").write_text(_ALB.replace("PROTOCOL", '  protocol          = "HTTP"\n'), encoding="utf-8")
    listener = _listener(scan_tree(tmp_path), 443)
    assert (listener.tls, str(listener.tls_location), listener.tls_reason) == (False, "main.tf:7:23", "protocol = HTTP")
    (tmp_path / "main.tf").write_text(_ALB.replace("PROTOCOL", ""), encoding="utf-8")
    listener = _listener(scan_tree(tmp_path), 443)
    assert (listener.tls, str(listener.tls_location), listener.tls_reason) == (
        False, "main.tf:6:23", "no protocol is set, so HTTP")
