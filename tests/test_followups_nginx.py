"""nginx configs read as nginx runs them: listens of one port merged across server blocks, and a
rendered template in place of the file it overwrites. Each case is a small tree of our own,
checked against what ``nginx -t`` accepts and what a running nginx binds."""

from __future__ import annotations

from pathlib import Path

from conftest import scan_tree

from bitriver_lint.config import Config
from bitriver_lint.engine import ScanResult
from bitriver_lint.graph import Listener
from bitriver_lint.loaders import nginx
from bitriver_lint.workspace import Workspace


def _where(result: ScanResult) -> list[tuple[str, str]]:
    return [(f.rule_id, f"{f.location.path}:{f.location.line}:{f.location.column}") for f in result.active]


def _listener(result: ScanResult, port: int) -> Listener:
    (found,) = [li for c in result.graph.components() for li in result.graph.listeners(c) if li.port == port]
    return found


# Two server blocks on one port, the second on loopback only. nginx opens one socket on
# 0.0.0.0:8405 for both (it binds the widest address and tells the servers apart by the
# connection's local address), so the port is open on every interface. The last block used to
# decide: the loopback listen hid the public one, and BRL107 was silent.
_WIDE_THEN_LOOPBACK = """events {}
http {
  server {
    listen 8405;
    server_name a.example;
    location / { return 204; }
  }
  server {
    listen 127.0.0.1:8405;
    server_name b.example;
    location / { return 204; }
  }
}
"""


def test_a_port_in_two_server_blocks_is_as_open_as_its_widest_listen(tmp_path: Path) -> None:
    (tmp_path / "nginx.conf").write_text(_WIDE_THEN_LOOPBACK, encoding="utf-8")
    result = scan_tree(tmp_path, topology="single-node")
    assert _where(result) == [("BRL107", "nginx.conf:4:5")]
    listener = _listener(result, 8405)
    assert listener.bind is None
    assert listener.location.line == 4


def test_a_default_server_listen_and_a_plain_one_are_one_listener_at_the_first(tmp_path: Path) -> None:
    # nginx -t accepts "default_server" on one of them (on both: "a duplicate default server").
    body = _WIDE_THEN_LOOPBACK.replace("listen 8405;", "listen 8405 default_server;").replace(
        "127.0.0.1:8405", "8405")
    (tmp_path / "nginx.conf").write_text(body, encoding="utf-8")
    result = scan_tree(tmp_path, topology="single-node")
    assert _where(result) == [("BRL107", "nginx.conf:4:5")]


# "ssl" on one server's listen of 443 makes the socket TLS for every server block listening on
# that address and port: a running nginx answers a plain request for the second server with
# "400 The plain HTTP request was sent to HTTPS port". The second, plain-looking listen used to
# make the listener plain: BRL203 said the edge faces the internet without TLS, at 12:5.
_SSL_THEN_PLAIN = """events {}
http {
  upstream api { server 10.0.0.5:8080; }
  server {
    listen 443 ssl;
    server_name live.example.com;
    ssl_certificate /etc/nginx/cert.pem;
    ssl_certificate_key /etc/nginx/key.pem;
    location / { proxy_pass http://api; }
  }
  server {
    listen 443;
    server_name other.example.com;
    location / { proxy_pass http://api; }
  }
}
"""


def test_ssl_on_one_server_blocks_listen_makes_the_shared_socket_tls(tmp_path: Path) -> None:
    (tmp_path / "nginx.conf").write_text(_SSL_THEN_PLAIN, encoding="utf-8")
    result = scan_tree(tmp_path)
    assert "BRL203" not in [f.rule_id for f in result.active]
    listener = _listener(result, 443)
    assert listener.tls is True
    assert listener.location.line == 5


def test_ssl_on_a_loopback_listen_leaves_the_wildcard_one_plain(tmp_path: Path) -> None:
    # The flag belongs to the address:port it is written on: 127.0.0.1:443 speaks TLS, every
    # other address of the one 0.0.0.0:443 socket plain HTTP (checked on a running nginx).
    body = _SSL_THEN_PLAIN.replace("listen 443 ssl;", "listen 127.0.0.1:443 ssl;")
    (tmp_path / "nginx.conf").write_text(body, encoding="utf-8")
    result = scan_tree(tmp_path)
    assert ("BRL203", "nginx.conf:12:5") in _where(result)
    listener = _listener(result, 443)
    assert (listener.tls, listener.bind, listener.location.line) == (False, None, 12)


def test_a_certificate_alone_makes_no_other_blocks_listen_tls(tmp_path: Path) -> None:
    # Without "ssl" nginx serves port 443 in the clear whatever certificate a block names
    # (checked on a running nginx): both blocks are plain, so the port is, at its first listen.
    body = _SSL_THEN_PLAIN.replace("listen 443 ssl;", "listen 443;")
    (tmp_path / "nginx.conf").write_text(body, encoding="utf-8")
    result = scan_tree(tmp_path)
    assert ("BRL203", "nginx.conf:5:5") in _where(result)
    assert _listener(result, 443).tls is False


# The official nginx image renders /etc/nginx/templates/X.template into /etc/nginx/conf.d/X at
# start (its entrypoint's 20-envsubst-on-templates.sh), over a file of that name in a writable
# conf.d mount. Both files used to be read as configs of the one nginx: here the stale
# default.conf's redirect hid that the rendered template serves the API on plain port 80.
_COMPOSE = """services:
  api:
    image: ghcr.io/bitriver/bitriver-live:1.0
    expose: ["8080"]
  nginx:
    image: nginx:1.27
    ports: ["80:80"]
    environment:
      API_PORT: "8080"
    volumes:
      - ./nginx/templates:/etc/nginx/templates
      - ./nginx/conf.d:/etc/nginx/conf.d
"""

_TEMPLATE = """server {
  listen 80;
  location / { proxy_pass http://api:${API_PORT}; }
}
"""

_STALE = """upstream stale { server api:9999; }
server {
  listen 80;
  return 301 https://$host$request_uri;
}
"""


def _template_tree(root: Path, compose: str = _COMPOSE) -> ScanResult:
    (root / "nginx" / "templates").mkdir(parents=True)
    (root / "nginx" / "conf.d").mkdir()
    (root / "docker-compose.yml").write_text(compose, encoding="utf-8")
    (root / "nginx" / "templates" / "default.conf.template").write_text(_TEMPLATE, encoding="utf-8")
    (root / "nginx" / "conf.d" / "default.conf").write_text(_STALE, encoding="utf-8")
    return scan_tree(root)


def _pools(result: ScanResult) -> list[str]:
    return sorted(p.id for c in result.graph.components() for p in result.graph.pools(c))


def test_a_rendered_template_replaces_the_conf_d_file_it_overwrites(tmp_path: Path) -> None:
    result = _template_tree(tmp_path)
    (redirect,) = [f for f in result.active if f.rule_id == "BRL204"]
    assert str(redirect.location) == "docker-compose.yml:7:13"
    assert [str(r.location) for r in redirect.related] == ["nginx/templates/default.conf.template:3:16"]
    assert _pools(result) == ["pool:nginx/templates/default.conf.template:api:8080"]


def test_templates_are_not_rendered_into_a_read_only_conf_d(tmp_path: Path) -> None:
    # The entrypoint checks that conf.d is writable and otherwise renders nothing: the
    # conf.d file runs as written, and the template is no config of this nginx.
    result = _template_tree(tmp_path, _COMPOSE.replace(":/etc/nginx/conf.d", ":/etc/nginx/conf.d:ro"))
    assert "BRL204" not in [f.rule_id for f in result.active]
    assert _pools(result) == ["pool:nginx/conf.d/default.conf:stale"]


def test_an_image_without_the_template_entrypoint_reads_both_files(tmp_path: Path) -> None:
    result = _template_tree(tmp_path, _COMPOSE.replace("image: nginx:1.27", "image: bitnami/nginx:1.27"))
    assert _pools(result) == ["pool:nginx/conf.d/default.conf:stale",
                              "pool:nginx/templates/default.conf.template:api:8080"]


# "proxy_pass http://127.0.0.1:8080$request_uri" passes the request's path on: the address is
# 127.0.0.1:8080. It was read as a host named "127.0.0.1:8080$request_uri" on port 80, which
# joins nothing. A variable that is not a path may be part of the host name and stays there.
_PATH_VARIABLES = """events {}
http {
  server {
    listen 80;
    location /a { proxy_pass http://127.0.0.1:8080$request_uri; }
    location /b { proxy_pass http://api:9000${uri}; }
    location /c { proxy_pass https://$upstream_host$request_uri; }
    location /d { proxy_pass http://127.0.0.1:7000$uri_suffix; }
  }
}
"""


def test_a_path_variable_after_host_and_port_is_the_path(tmp_path: Path) -> None:
    (tmp_path / "nginx.conf").write_text(_PATH_VARIABLES)
    (doc,) = nginx.load(["nginx.conf"], Workspace(tmp_path), Config())
    servers = {name: [(s.host, s.port, str(s.location)) for s in b.servers] for name, b in doc.backends.items()}
    assert servers == {
        "127.0.0.1:8080": [("127.0.0.1", 8080, "nginx.conf:5:19")],
        "api:9000": [("api", 9000, "nginx.conf:6:19")],
        "$upstream_host": [("$upstream_host", 443, "nginx.conf:7:19")],
        "127.0.0.1:7000$uri_suffix": [("127.0.0.1:7000$uri_suffix", 80, "nginx.conf:8:19")],
    }
