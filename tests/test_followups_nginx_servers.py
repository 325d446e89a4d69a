"""nginx facts per server block, not per port. Several server blocks listen on one address:port
and nginx picks one by the request's Host header (the default or first block for any other), so
a client chooses which block answers. A fact that makes the port safer (every request redirected
to HTTPS, an allow/deny ACL) holds only when every block on the port has it; one block's used to
be taken as the whole port's. Each config here passes ``nginx -t`` (with the upstream names
resolvable and the certificate files present)."""

from __future__ import annotations

from pathlib import Path

from conftest import scan_tree

from bitriver_lint.engine import ScanResult
from bitriver_lint.graph import Listener


def _write(root: Path, files: dict[str, str]) -> ScanResult:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    return scan_tree(root)


def _where(result: ScanResult, *rules: str) -> list[tuple[str, str]]:
    return [(f.rule_id, str(f.location)) for f in result.active if not rules or f.rule_id in rules]


def _listener(result: ScanResult, name: str, port: int) -> Listener:
    (component,) = [c for c in result.graph.components() if c.name == name]
    (found,) = [li for li in result.graph.listeners(component) if li.port == port]
    return found


# -- BRL204: one block's redirect is not the port's ---------------------------------------------

_COMPOSE_80 = """services:
  nginx:
    image: nginx:1.27
    ports:
      - "80:80"
      - "443:443"
    volumes:
      - ./nginx.conf:/etc/nginx/nginx.conf:ro
  api:
    image: ghcr.io/bitriver/bitriver-live:1.4.2
"""

# live.example.com on port 80 redirects; api.example.com on the same port serves the API in
# the clear. Port 80 used to count as "redirects to HTTPS" for both, and BRL204 was silent.
_REDIRECT_AND_PLAIN = """events {}
http {
  server {
    listen 80;
    server_name live.example.com;
    return 301 https://$host$request_uri;
  }
  server {
    listen 80;
    server_name api.example.com;
    location / {
      proxy_pass http://api:8080;
    }
  }
  server {
    listen 443 ssl;
    server_name live.example.com api.example.com;
    ssl_certificate /etc/nginx/live.crt;
    ssl_certificate_key /etc/nginx/live.key;
    location / {
      proxy_pass http://api:8080;
    }
  }
}
"""

_BOTH_REDIRECT = _REDIRECT_AND_PLAIN.replace(
    "    location / {\n      proxy_pass http://api:8080;\n    }\n  }\n  server {\n    listen 443",
    "    return 301 https://$host$request_uri;\n  }\n  server {\n    listen 443")


def test_a_port_80_block_serving_plain_http_beside_a_redirecting_one_is_reported(tmp_path: Path) -> None:
    result = _write(tmp_path, {"docker-compose.yml": _COMPOSE_80, "nginx.conf": _REDIRECT_AND_PLAIN})
    (finding,) = [f for f in result.active if f.rule_id == "BRL204"]
    assert str(finding.location) == "docker-compose.yml:5:9"
    assert "serves the app on plain HTTP port 80" in finding.message
    # The block that serves it is the evidence: its proxy_pass, not the redirect's block.
    assert [(str(r.location), r.message) for r in finding.related] == [("nginx.conf:12:7", "forwarded here")]
    assert _listener(result, "nginx", 80).redirect_https is None


def test_every_port_80_block_redirecting_is_a_redirect(tmp_path: Path) -> None:
    result = _write(tmp_path, {"docker-compose.yml": _COMPOSE_80, "nginx.conf": _BOTH_REDIRECT})
    assert _where(result, "BRL204") == []
    redirect = _listener(result, "nginx", 80).redirect_https
    assert redirect is not None and str(redirect) == "nginx.conf:6:5"


# The official image reads every conf.d/*.conf into one nginx: two files, one port, two blocks.
def test_a_redirect_in_one_conf_d_file_is_not_another_files_port(tmp_path: Path) -> None:
    compose = _COMPOSE_80.replace("./nginx.conf:/etc/nginx/nginx.conf:ro", "./conf.d:/etc/nginx/conf.d:ro")
    redirect = "server {\n  listen 80;\n  server_name live.example.com;\n  return 301 https://$host$request_uri;\n}\n"
    plain = ("server {\n  listen 80;\n  server_name api.example.com;\n"
             "  location / {\n    proxy_pass http://api:8080;\n  }\n}\n")
    result = _write(tmp_path, {"docker-compose.yml": compose, "conf.d/a-live.conf": redirect,
                               "conf.d/b-api.conf": plain})
    (finding,) = [f for f in result.active if f.rule_id == "BRL204"]
    assert str(finding.location) == "docker-compose.yml:5:9"
    assert [str(r.location) for r in finding.related] == ["conf.d/b-api.conf:5:5"]
    both = _write(tmp_path / "both", {"docker-compose.yml": compose, "conf.d/a-live.conf": redirect,
                                      "conf.d/b-api.conf": redirect.replace("live.", "api.")})
    assert _where(both, "BRL204") == []


# nginx on a machine (systemd): the listener is the listen line, and the finding belongs at the
# block that serves plain HTTP, not at the redirect's listen written first.
_MACHINE = {
    "etc/systemd/system/live-api.service": "[Unit]\nDescription=live api\n\n[Service]\n"
    "ExecStart=/usr/local/bin/bitriver-live\nEnvironmentFile=/etc/bitriver/api.env\nRestart=always\n",
    "etc/bitriver/api.env": "BITRIVER_LIVE_ADDR=127.0.0.1:8080\n",
    "etc/systemd/system/nginx.service": "[Unit]\nDescription=nginx\n\n[Service]\n"
    "ExecStart=/usr/sbin/nginx -g 'daemon off;'\nRestart=on-failure\n",
    "etc/nftables.conf": "table inet filter {\n  chain input {\n    type filter hook input priority 0; policy drop;\n"
    "    ct state established,related accept\n    iif lo accept\n    tcp dport { 22, 80, 443 } accept\n  }\n}\n",
}

_MACHINE_NGINX = """events {}
http {
  server {
    listen 80;
    server_name live.example.com;
    return 301 https://$host$request_uri;
  }
  server {
    listen 80;
    server_name api.example.com;
    location / {
      proxy_pass http://127.0.0.1:8080;
    }
  }
}
"""


def test_the_finding_on_a_machines_port_80_is_at_the_listen_of_the_plain_block(tmp_path: Path) -> None:
    result = _write(tmp_path, {**_MACHINE, "etc/nginx/nginx.conf": _MACHINE_NGINX})
    assert _where(result) == [("BRL204", "etc/nginx/nginx.conf:9:5")]
    (finding,) = result.active
    assert [str(r.location) for r in finding.related] == ["etc/nginx/nginx.conf:12:7"]


def test_a_machines_port_80_where_every_block_redirects_is_quiet(tmp_path: Path) -> None:
    body = _MACHINE_NGINX.replace("    location / {\n      proxy_pass http://127.0.0.1:8080;\n    }\n",
                                  "    return 301 https://$host$request_uri;\n")
    assert _where(_write(tmp_path, {**_MACHINE, "etc/nginx/nginx.conf": body})) == []


def test_a_loopback_block_does_not_undo_the_public_ports_redirect(tmp_path: Path) -> None:
    # nginx answers a connection to a public address only with the blocks listening on it (or
    # on the wildcard); the 127.0.0.1:80 block serves local clients alone.
    body = _MACHINE_NGINX.replace("    listen 80;\n    server_name api",
                                  "    listen 127.0.0.1:80;\n    server_name api")
    result = _write(tmp_path, {**_MACHINE, "etc/nginx/nginx.conf": body})
    assert _where(result) == []
    assert str(_listener(result, "nginx", 80).location) == "etc/nginx/nginx.conf:4:5"


# -- BRL102/BRL107: one block's ACL is not the port's --------------------------------------------

_COMPOSE_1985 = """services:
  nginx:
    image: nginx:1.27
    ports:
      - "1985:1985"
    volumes:
      - ./nginx.conf:/etc/nginx/nginx.conf:ro
  srs:
    image: ossrs/srs:5
    ports:
      - "1935:1935"
"""

# The SRS API behind nginx: ops.example.com admits the operators' VPN only, srs.example.com on
# the same port admits everyone. The first block's ACL used to be the port's: BRL102 and BRL107
# were silent.
_RESTRICTED_AND_OPEN = """events {}
http {
  server {
    listen 1985;
    server_name ops.example.com;
    allow 10.8.0.0/24;
    deny all;
    location / {
      proxy_pass http://srs:1985;
    }
  }
  server {
    listen 1985;
    server_name srs.example.com;
    location / {
      proxy_pass http://srs:1985;
    }
  }
}
"""

_BOTH_RESTRICTED = _RESTRICTED_AND_OPEN.replace(
    "    server_name srs.example.com;\n", "    server_name srs.example.com;\n    allow 10.8.0.0/24;\n    deny all;\n")


def test_an_open_block_beside_a_restricted_one_exposes_the_srs_api(tmp_path: Path) -> None:
    result = _write(tmp_path, {"docker-compose.yml": _COMPOSE_1985, "nginx.conf": _RESTRICTED_AND_OPEN})
    assert _where(result, "BRL102", "BRL107") == [
        ("BRL107", "docker-compose.yml:5:9"), ("BRL107", "docker-compose.yml:5:9"), ("BRL102", "nginx.conf:13:5")]
    (finding,) = [f for f in result.active if f.rule_id == "BRL102"]
    assert "reachable from anywhere (0.0.0.0/0, ::/0)" in finding.message
    acl = [(str(r.location), r.message) for r in finding.related if "lb acl" in r.message]
    assert acl == [("nginx.conf:7:5", "lb acl allows 10.8.0.0/24 on 1985/tcp"),
                   ("nginx.conf:13:5", "lb acl allows 0.0.0.0/0, ::/0 on 1985/tcp")]


def test_every_block_restricted_keeps_the_srs_api_to_the_operators(tmp_path: Path) -> None:
    result = _write(tmp_path, {"docker-compose.yml": _COMPOSE_1985, "nginx.conf": _BOTH_RESTRICTED})
    assert _where(result, "BRL102", "BRL107") == []


def test_the_open_block_first_is_as_open(tmp_path: Path) -> None:
    # The same two blocks the other way round: the order of the blocks decides nothing.
    first, second = _RESTRICTED_AND_OPEN.split("  server {\n")[1:]
    body = "events {}\nhttp {\n  server {\n" + second.removesuffix("}\n") + "  server {\n" + first + "}\n"
    result = _write(tmp_path, {"docker-compose.yml": _COMPOSE_1985, "nginx.conf": body})
    assert _where(result, "BRL102") == [("BRL102", "nginx.conf:4:5")]
