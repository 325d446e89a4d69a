"""LB/proxy loaders: positions, garbage lines, and what they extract."""

from __future__ import annotations

from pathlib import Path

from bitriver_lint.config import Config
from bitriver_lint.loaders import haproxy
from bitriver_lint.model import Severity
from bitriver_lint.workspace import Workspace


def _load_haproxy(tmp_path: Path, text: str) -> haproxy.ProxyConfig:
    (tmp_path / "haproxy.cfg").write_text(text)
    (doc,) = haproxy.load(["haproxy.cfg"], Workspace(tmp_path), Config())
    return doc


def test_haproxy_garbage_line_is_brl001_and_the_rest_loads(tmp_path: Path) -> None:
    doc = _load_haproxy(tmp_path, "frontend www\n    bind :80\n    }}} garbage\n    default_backend app\n"
                                  "backend app\n    server a 10.0.0.1:8080 check\n")
    assert [(d.rule_id, str(d.location)) for d in doc.diagnostics] == [("BRL001", "haproxy.cfg:3:5")]
    assert [r.backend for r in doc.frontends[0].routes] == ["app"]
    assert [(s.host, s.port) for s in doc.backends["app"].servers] == [("10.0.0.1", 8080)]


def test_haproxy_binds_routes_checks_and_acls(tmp_path: Path) -> None:
    doc = _load_haproxy(tmp_path, """defaults
    mode http
    option httpchk GET /healthz
    timeout tunnel 1h
frontend fe
    bind 0.0.0.0:443,[::]:443 ssl crt /x.pem
    bind :80
    acl api path_beg /api
    acl office src 198.51.100.0/24
    http-request deny unless office
    http-request redirect scheme https unless { ssl_fc }
    use_backend be if api
    use_backend other if { path_beg /viewer }
backend be
    cookie SRV insert
    server a app:8080 check
backend other
    http-check send meth HEAD uri /ping
    server b web:3000 check ssl
""")
    fe = doc.frontends[0]
    assert [(b.address, b.port, b.tls, b.location.line) for b in fe.binds] == [
        ("0.0.0.0", 443, True, 6), ("::", 443, True, 6), ("", 80, False, 7)
    ]
    assert [(r.path, r.backend) for r in fe.routes] == [("/api", "be"), ("/viewer", "other")]
    assert fe.allow == ["198.51.100.0/24"] and fe.acl_location is not None and fe.acl_location.line == 10
    assert fe.redirect_https is not None and fe.redirect_https.line == 11
    be, other = doc.backends["be"], doc.backends["other"]
    assert be.health is not None and (be.health.path, be.health.method) == ("/healthz", "GET")
    assert be.sticky is not None and be.websocket is not None
    assert other.health is not None and (other.health.path, other.health.method) == ("/ping", "HEAD")
    assert other.servers[0].scheme == "https"


def test_nginx_syntax_error_is_brl001_at_the_line_and_other_files_load(tmp_path: Path) -> None:
    from bitriver_lint.loaders import nginx

    (tmp_path / "conf.d").mkdir()
    (tmp_path / "nginx.conf").write_text("events {}\nhttp {\n    include conf.d/*.conf;\n}\n")
    (tmp_path / "conf.d" / "site.conf").write_text(
        "upstream app { server 10.0.0.1:8080; }\nserver {\n    listen 443 ssl;\n    location /api/ {\n"
        "        proxy_pass http://app;\n    }\n}\n")
    (tmp_path / "broken.conf").write_text("server {\n    listen 80;\n}\n}\nserver { listen 81; }\n")
    ws = Workspace(tmp_path)
    docs = nginx.load(["broken.conf", "conf.d/site.conf", "nginx.conf"], ws, Config())
    by_path = {d.path: d for d in docs}
    assert sorted(by_path) == ["broken.conf", "nginx.conf"]  # site.conf is part of nginx.conf
    broken = by_path["broken.conf"]
    assert [(d.rule_id, d.location.line, d.message) for d in broken.diagnostics] == [("BRL001", 4, 'unexpected "}"')]
    main = by_path["nginx.conf"]
    assert main.files == ["conf.d/site.conf", "nginx.conf"]
    (frontend,) = main.frontends
    assert [(b.port, b.tls, str(b.location)) for b in frontend.binds] == [(443, True, "conf.d/site.conf:3:5")]
    assert [(r.path, r.backend, r.scheme, str(r.location)) for r in frontend.routes] == [
        ("/api/", "app", "http", "conf.d/site.conf:5:9")
    ]
    assert [(s.host, s.port) for s in main.backends["app"].servers] == [("10.0.0.1", 8080)]


def test_caddyfile_sites_matchers_and_unclosed_blocks(tmp_path: Path) -> None:
    from bitriver_lint.loaders import caddy

    (tmp_path / "Caddyfile").write_text(
        "{\n\temail a@b.c\n}\n(common) {\n\tencode gzip\n}\n"
        "live.example.com {\n\timport common\n\t@api path /api/*\n\treverse_proxy @api app:8080 {\n"
        "\t\thealth_uri /healthz\n\t}\n\tredir /old https://live.example.com/new\n}\n"
        ":8080 {\n\treverse_proxy /x/* web:3000\n"
    )
    (doc,) = caddy.load(["Caddyfile"], Workspace(tmp_path), Config())
    assert [(d.rule_id, str(d.location)) for d in doc.diagnostics] == [("BRL001", "Caddyfile:15:7")]
    http, site, plain = doc.frontends
    assert [(b.port, b.tls) for b in site.binds] == [(443, True)]
    assert [(b.port, b.tls) for b in http.binds] == [(80, False)] and http.redirect_https is not None
    assert [(b.port, b.tls) for b in plain.binds] == [(8080, False)]
    routes = [(r.path, r.backend is not None, r.location.line) for r in site.routes]
    assert routes == [("/api/*", True, 10), (None, False, 13)]
    backend = doc.backends[site.routes[0].backend or ""]
    assert [(s.host, s.port) for s in backend.servers] == [("app", 8080)]
    assert backend.health is not None and backend.health.path == "/healthz"


def test_envoy_listeners_routes_clusters_and_bad_yaml(tmp_path: Path) -> None:
    from bitriver_lint.loaders import envoy

    (tmp_path / "envoy.yaml").write_text("""static_resources:
  listeners:
    - name: tls
      address: {socket_address: {address: 0.0.0.0, port_value: 443}}
      filter_chains:
        - transport_socket: {name: envoy.transport_sockets.tls}
          filters:
            - name: envoy.filters.network.http_connection_manager
              typed_config:
                route_config:
                  virtual_hosts:
                    - name: v
                      routes:
                        - match: {prefix: /api}
                          route: {cluster: api}
  clusters:
    - name: api
      load_assignment:
        endpoints:
          - lb_endpoints:
              - endpoint: {address: {socket_address: {address: 10.0.0.5, port_value: 8080}}}
      health_checks:
        - http_health_check: {path: /healthz}
""")
    (tmp_path / "broken.yaml").write_text("static_resources:\n  listeners: [\n")
    docs = envoy.load(["broken.yaml", "envoy.yaml"], Workspace(tmp_path), Config())
    assert [(d.rule_id, d.location.line) for d in docs[0].diagnostics] == [("BRL001", 3)]
    doc = docs[1]
    (frontend,) = doc.frontends
    assert [(b.port, b.tls, str(b.location)) for b in frontend.binds] == [(443, True, "envoy.yaml:4:64")]
    assert [(r.path, r.backend, r.location.line) for r in frontend.routes] == [("/api", "api", 14)]
    api = doc.backends["api"]
    assert [(s.host, s.port, s.scheme) for s in api.servers] == [("10.0.0.5", 8080, "http")]
    assert api.health is not None and api.health.path == "/healthz"


def test_nginx_rtmp_block_publish_acl_and_push(tmp_path: Path) -> None:
    from bitriver_lint.loaders import nginx

    (tmp_path / "nginx.conf").write_text(
        "rtmp {\n    server {\n        listen 1935;\n        application live {\n            live on;\n"
        "            allow publish 203.0.113.0/28;\n            deny publish all;\n"
        "            push rtmp://10.0.1.20/live;\n        }\n    }\n}\n")
    (doc,) = nginx.load(["nginx.conf"], Workspace(tmp_path), Config())
    (frontend,) = doc.frontends
    assert [(b.port, str(b.location)) for b in frontend.binds] == [(1935, "nginx.conf:3:9")]
    assert frontend.allow == ["203.0.113.0/28"]
    assert frontend.acl_location is not None and frontend.acl_location.line == 7
    (route,) = frontend.routes
    assert route.scheme == "tcp" and route.location.line == 8
    assert [(s.host, s.port) for s in doc.backends[route.backend or ""].servers] == [("10.0.1.20", 1935)]


def test_an_unjoined_backend_address_says_how_to_join_it(tmp_path: Path) -> None:
    from conftest import scan_tree

    (tmp_path / "haproxy.cfg").write_text(
        "frontend fe\n  bind :80\n  default_backend api\nbackend api\n  server api1 10.0.1.10:8080 check\n")
    # An address is not dangling: the config's undescribed addresses are one note.
    (finding,) = [f for f in scan_tree(tmp_path).active if f.rule_id == "BRL604"]
    assert str(finding.location) == "haproxy.cfg:5:3"
    assert finding.severity is Severity.NOTE
    assert finding.message == ("1 backend address is not described in this tree (10.0.1.10:8080); "
                               "bind it under `hosts:` in the config to check it")


def test_a_redirect_to_https_concerns_the_plain_binds_of_a_frontend(tmp_path: Path) -> None:
    import shutil

    from conftest import FIXTURES, scan_tree

    shutil.copytree(FIXTURES / "origin-edge-haproxy", tmp_path / "tree")
    cfg = tmp_path / "tree" / "edge" / "haproxy.cfg"
    cfg.write_text(cfg.read_text().replace(
        "frontend www\n    bind :80\n    http-request redirect scheme https code 301\n\nfrontend www-tls\n",
        "frontend www\n    bind :80\n    http-request redirect scheme https code 301 unless { ssl_fc }\n"))
    result = scan_tree(tmp_path / "tree")
    (edge,) = [c for c in result.graph.components() if c.name == "edge/haproxy.cfg"]
    flags = {li.port: li.redirect_https is not None for li in result.graph.listeners(edge)}
    assert flags == {80: True, 443: False, 1935: False}
    assert [f.rule_id for f in result.active] == []


def test_caddy_environment_placeholders(tmp_path: Path) -> None:
    import shutil

    from conftest import FIXTURES, scan_tree

    from bitriver_lint.loaders import caddy

    assert caddy.substitute("{$SITE:live.example.com} {$PORT::80} {$NOPE}", {"PORT": ":8080"}) == (
        "live.example.com :8080 {$NOPE}", {"NOPE"})
    shutil.copytree(FIXTURES / "single-node", tmp_path / "tree")
    (tmp_path / "tree" / "expected.yaml").unlink()
    caddyfile = tmp_path / "tree" / "Caddyfile"
    caddyfile.write_text(caddyfile.read_text().replace("live.example.com {", "{$SITE_ADDRESS} {"))
    compose = tmp_path / "tree" / "docker-compose.yml"
    original = compose.read_text()

    def caddy_listeners(address: str) -> dict[int, bool | None]:
        compose.write_text(original.replace(
            "    image: caddy:2.8\n", f"    image: caddy:2.8\n    environment:\n      SITE_ADDRESS: {address}\n"))
        result = scan_tree(tmp_path / "tree")
        (proxy,) = [c for c in result.graph.components() if c.name == "caddy"]
        routed = {li.port for li in result.graph.listeners(proxy) if result.graph.out_edges(li.id, "routes")}
        return {li.port: li.tls for li in result.graph.listeners(proxy) if li.port in routed}

    # The service's environment says the site is a host name: automatic HTTPS, routes kept.
    assert caddy_listeners("${SITE_ADDRESS:-live.example.com}") == {443: True}
    # ...or a plain port.
    assert caddy_listeners('":8080"') == {8080: False}


NGINX_TEMPLATE = """server {
    listen ${NGINX_PORT} ssl;
    ssl_certificate /etc/nginx/tls/fullchain.pem;
    ssl_certificate_key /etc/nginx/tls/privkey.pem;
    location / {
        proxy_set_header Host $host;
        proxy_pass http://${API_UPSTREAM};
    }
}
"""

NGINX_TEMPLATE_COMPOSE = """services:
  nginx:
    image: nginx:1.27
    ports: ["443:443"]
    environment:%s
    volumes:
      - ./templates:/etc/nginx/templates:ro
  api:
    image: ghcr.io/bitriver/bitriver-live:1.5.0
    environment:
      BITRIVER_LIVE_ADDR: ":8080"
"""


def test_nginx_image_templates_are_rendered_with_the_service_environment(tmp_path: Path) -> None:
    from conftest import scan_tree

    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "default.conf.template").write_text(NGINX_TEMPLATE)

    def nginx_view(env: str) -> tuple[dict[int, bool | None], list[str], list[str]]:
        (tmp_path / "docker-compose.yml").write_text(NGINX_TEMPLATE_COMPOSE % env)
        result = scan_tree(tmp_path)
        graph = result.graph
        (proxy,) = [c for c in graph.components() if c.name == "nginx"]
        routes = [graph.component_of(graph.node(t)).name for _, t, _ in graph.edges("routes")]
        return ({li.port: li.tls for li in graph.listeners(proxy)}, routes,
                [f.rule_id for f in result.active if f.rule_id == "BRL604"])

    # envsubst fills what the environment defines; nginx's own $host stays as it is.
    assert nginx_view('\n      NGINX_PORT: "443"\n      API_UPSTREAM: api:8080') == ({443: True}, ["api"], [])
    # Unfilled placeholders are unknown: no guessed port 80, no dangling "${API_UPSTREAM}".
    assert nginx_view(" {}") == ({443: None}, [], [])


def test_haproxy_environment_variables_from_the_service_that_runs_it(tmp_path: Path) -> None:
    from conftest import scan_tree

    (tmp_path / "haproxy.cfg").write_text(
        'defaults\n  mode http\nfrontend fe\n  bind "${BIND_ADDR-:80}"\n  default_backend api\n'
        'backend api\n  option httpchk GET /healthz\n  server api1 "${API_HOST}:8080" check\n')
    (tmp_path / "docker-compose.yml").write_text(
        "services:\n  lb:\n    image: haproxy:2.9\n    ports: ['80:80']\n    environment:\n      API_HOST: api\n"
        "    volumes: ['./haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro']\n"
        "  api:\n    image: ghcr.io/bitriver/bitriver-live:1.5.0\n"
        "    environment:\n      BITRIVER_LIVE_ADDR: ':8080'\n")
    result = scan_tree(tmp_path)
    graph = result.graph
    routes = [(graph.component_of(graph.node(s)).name, graph.node(s).port, graph.component_of(graph.node(t)).name)
              for s, t, _ in graph.edges("routes")]
    assert routes == [("lb", 80, "api")]  # "${BIND_ADDR-:80}" took its default, "${API_HOST}" the service's env
    assert [f for f in result.active if f.rule_id == "BRL604"] == []


def test_a_config_awaits_only_the_placeholders_of_its_own_files(tmp_path: Path) -> None:
    # A template in one place made every nginx config of the tree wait for its runner's
    # environment, so a plain config's listeners were written at the join, after others had
    # already made them from references.
    from bitriver_lint.loaders import nginx

    (tmp_path / "a" / "templates").mkdir(parents=True)
    (tmp_path / "a" / "templates" / "default.conf.template").write_text(NGINX_TEMPLATE)
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "nginx.conf").write_text("events {}\nhttp {\n    server {\n        listen 80;\n    }\n}\n")
    docs = {doc.path: doc for doc in nginx.load(
        ["a/templates/default.conf.template", "b/nginx.conf"], Workspace(tmp_path), Config())}
    assert docs["a/templates/default.conf.template"].placeholders == {"NGINX_PORT", "API_UPSTREAM"}
    assert docs["a/templates/default.conf.template"].render is not None
    assert docs["b/nginx.conf"].placeholders == set()
    assert docs["b/nginx.conf"].render is None


def test_haproxy_address_family_prefixes_are_not_part_of_the_address(tmp_path: Path) -> None:
    doc = _load_haproxy(tmp_path, "frontend fe\n  bind mptcp@[::]:5000\n  bind quic4@10.0.0.5:443 ssl crt /x.pem\n")
    assert [(b.address, b.port) for f in doc.frontends for b in f.binds] == [("::", 5000), ("10.0.0.5", 443)]


def test_haproxy_routes_by_a_path_pattern_are_not_routes_for_every_path(tmp_path: Path) -> None:
    # "use_backend api if is_api" with "acl is_api path_reg ^/api/": a route for some paths,
    # read until now as one for all of them (as default_backend is). It is kept as a pattern.
    doc = _load_haproxy(tmp_path, "frontend fe\n  bind :80\n  acl is_api path_reg ^/api/v[0-9]+/\n"
                                  "  acl is_viewer path_beg /viewer\n  use_backend api if is_api\n"
                                  "  use_backend viewer if is_viewer\n  use_backend hls if { path_end .m3u8 }\n"
                                  "  default_backend web\n")
    assert [(r.path, r.backend, r.match) for r in doc.frontends[0].routes] == [
        ("path_reg ^/api/v[0-9]+/", "api", "pattern"), ("/viewer", "viewer", "prefix"),
        ("path_end .m3u8", "hls", "pattern"), (None, "web", "prefix")]
