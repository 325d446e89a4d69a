"""The join stage: placeholders filled from memory, references resolved through indexes."""

from __future__ import annotations

import ast
import posixpath
import random
import sys
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
from conftest import scan_tree

from bitriver_lint.builders import proxy as proxy_builder
from bitriver_lint.config import Config
from bitriver_lint.graph import Component, Role, ServiceGraph
from bitriver_lint.loaders import caddy, haproxy, nginx
from bitriver_lint.model import Location
from bitriver_lint.workspace import Workspace

REPO = Path(__file__).resolve().parent.parent


def _servers(doc: Any) -> list[tuple[str, int | None]]:
    return [(s.host, s.port) for b in doc.backends.values() for s in b.servers]


def test_configs_render_with_more_environment_without_reading_the_file_again(tmp_path: Path) -> None:
    files = {
        "haproxy.cfg": 'frontend fe\n  bind "${BIND-:80}"\n  default_backend api\n'
                       'backend api\n  server a "${API_HOST}:8080"\n',
        "Caddyfile": "{$SITE} {\n  reverse_proxy {$UPSTREAM:api:8080}\n}\n",
        "templates/default.conf.template": "server {\n  listen ${PORT} ssl;\n  location / {\n"
                                           "    proxy_pass http://${API};\n  }\n}\n",
    }
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    config = Config(variables={"BIND": ":81"})
    (ha,) = haproxy.load(["haproxy.cfg"], Workspace(tmp_path), config)
    (cd,) = caddy.load(["Caddyfile"], Workspace(tmp_path), config)
    (ng,) = nginx.load(["templates/default.conf.template"], Workspace(tmp_path), config)
    assert (ha.placeholders, cd.placeholders, ng.placeholders) == ({"API_HOST"}, {"SITE"}, {"PORT", "API"})
    for rel in files:
        (tmp_path / rel).unlink()  # whatever renders now renders from memory

    assert ha.render is not None and cd.render is not None and ng.render is not None
    again = ha.render({"API_HOST": "api"})
    assert _servers(again) == [("api", 8080)]
    assert [b.port for f in again.frontends for b in f.binds] == [81]  # the config's variables stay
    assert again.placeholders == set() and _servers(ha) == [("${API_HOST}", 8080)]  # the original is untouched

    again = cd.render({"SITE": ":8443"})
    assert [(b.port, b.tls) for f in again.frontends for b in f.binds] == [(8443, False)]
    assert _servers(again) == [("api", 8080)]

    again = ng.render({"PORT": "443", "API": "api:8080"})
    assert [(b.port, b.tls) for f in again.frontends for b in f.binds] == [(443, True)]
    assert _servers(again) == [("api", 8080)]
    assert again.diagnostics == []


def test_the_proxy_builder_calls_no_parser() -> None:
    tree = ast.parse((REPO / "bitriver_lint" / "builders" / "proxy.py").read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    loaders = {name for name in imported if name and name.startswith("bitriver_lint.loaders")}
    assert loaders == {"bitriver_lint.loaders.proxy"}  # the document shape, never a format's parser


def _closest_by_scan(components: list[Component], name: str, near: str) -> Component | None:
    """find_component's definition, the slow way."""
    here = posixpath.dirname(near)

    def closeness(component: Component) -> int:
        shared = posixpath.commonpath([here, posixpath.dirname(component.location.path)])
        return len(PurePosixPath(shared).parts)

    matches = [c for c in components if name in (c.name, *c.aliases)]
    return min(matches, key=lambda c: (-closeness(c), c.id)) if matches else None


def test_find_component_index_agrees_with_the_definition() -> None:
    rng = random.Random(7)
    directories = ["", "envs", "envs/prod", "envs/prod/eu", "envs/staging", "envs/prodx", "origin", "origin/a/b"]
    graph = ServiceGraph()
    components = []
    for i in range(60):
        name = rng.choice(["api", "viewer", "srs"])
        where = posixpath.join(rng.choice(directories), "docker-compose.yml")
        component = Component(id=f"c{rng.randrange(1000):03d}-{i}", name=name, role=Role.OTHER, role_reason="test",
                              origin="compose", location=Location(where, 1, 1),
                              aliases=["db"] if rng.random() < 0.2 else [])
        graph.add(component)
        components.append(component)
    for name in ("api", "viewer", "srs", "db", "ghost"):
        for directory in [*directories, "elsewhere", "envs/prod/eu/deeper"]:
            near = posixpath.join(directory, "haproxy.cfg")
            assert graph.find_component(name, near=near) == _closest_by_scan(components, name, near), (name, near)


SITE_COMPOSE = """services:
  api:
    image: ghcr.io/bitriver/bitriver-live:1.5.0
    environment: {BITRIVER_LIVE_ADDR: ":8080"}
  viewer:
    image: ghcr.io/bitriver/bitriver-viewer:1.5.0
"""
SITE_HAPROXY = """defaults
  mode http
frontend www
  bind :80
  use_backend viewer if { path_beg /viewer }
  default_backend api
backend api
  server a api:8080 check
  server b ghost:8080 check
backend viewer
  server v viewer:3000 check
"""


def _sites(root: Path, count: int) -> None:
    for n in range(count):
        site = root / f"site{n}"
        site.mkdir(parents=True)
        (site / "docker-compose.yml").write_text(SITE_COMPOSE)
        (site / "haproxy.cfg").write_text(SITE_HAPROXY)


@pytest.mark.parametrize("count", [2, 12])
def test_join_looks_up_servers_through_indexes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, count: int) -> None:
    """However many servers, the proxy builder and the join list the graph's components a
    fixed number of times, and each site's servers resolve to that site's services."""
    _sites(tmp_path, count)
    calls: list[str] = []
    real = ServiceGraph.components

    def counted(self: ServiceGraph, *roles: Role, environment: str | None = None) -> list[Component]:
        caller = sys._getframe(1).f_code.co_filename
        if caller.endswith(("join.py", "builders/proxy.py")):
            calls.append(caller)
        return real(self, *roles, environment=environment)

    monkeypatch.setattr(ServiceGraph, "components", counted)
    result = scan_tree(tmp_path)
    assert len(calls) <= 2
    graph = result.graph
    routes = sorted((graph.node(s).component, t) for s, t, _ in graph.edges("routes"))
    assert routes == sorted(
        (f"haproxy:site{n}/haproxy.cfg", f"compose:site{n}:site{n}/docker-compose.yml:{service}#{port}/tcp")
        for n in range(count) for service, port in (("api", 8080), ("viewer", 3000)))
    # What cannot be joined stays dangling, once per server line.
    dangling = sorted(f"{d.name} {d.location}" for d in graph.dangling if d.kind == "backend_server")
    assert dangling == sorted(f"ghost:8080 site{n}/haproxy.cfg:9:3" for n in range(count))
    assert sorted(f.location.path for f in result.active if f.rule_id == "BRL604") == sorted(
        f"site{n}/haproxy.cfg" for n in range(count))


def test_localhost_reaches_a_unit_on_the_proxys_own_host(tmp_path: Path) -> None:
    (tmp_path / "host").mkdir()
    (tmp_path / "host" / "nginx.service").write_text("[Service]\nExecStart=/usr/sbin/nginx\n")
    (tmp_path / "host" / "api.service").write_text("[Service]\nExecStart=/usr/local/bin/bitriver-live\n")
    (tmp_path / "host" / "nginx.conf").write_text(
        "events {}\nhttp {\n  server {\n    listen 80;\n    location / { proxy_pass http://127.0.0.1:8080; }\n"
        "    location /gone { proxy_pass http://127.0.0.1:9999; }\n  }\n}\n")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "api.service").write_text("[Service]\nExecStart=/usr/local/bin/bitriver-live\n")
    graph = scan_tree(tmp_path).graph
    routes = [(s, t) for s, t, _ in graph.edges("routes")]
    assert routes == [("systemd:host:nginx.service#80/tcp", "systemd:host:api.service#8080/tcp")]
    assert graph.dangling == []  # an unattributed loopback port is unknown, not undefined


def test_placeholders_wait_for_the_join_and_take_the_runners_environment(tmp_path: Path) -> None:
    (tmp_path / "haproxy.cfg").write_text(
        'frontend fe\n  bind "${LISTEN}"\n  default_backend api\nbackend api\n  server a "${API}"\n')
    (tmp_path / "docker-compose.yml").write_text(
        "services:\n  lb:\n    image: haproxy:2.9\n    environment: {LISTEN: ':8443', API: 'api:8080'}\n"
        "    volumes: ['./haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro']\n"
        "  api:\n    image: ghcr.io/bitriver/bitriver-live:1.5.0\n")
    result = scan_tree(tmp_path)
    graph = result.graph
    (lb,) = [c for c in graph.components() if c.name == "lb"]
    assert [li.port for li in graph.listeners(lb)] == [8443]
    assert [(graph.node(s).port, t) for s, t, _ in graph.edges("routes")] == [
        (8443, "compose:.:docker-compose.yml:api#8080/tcp")]
    assert result.errors == ()


def test_proxy_builder_keeps_its_signatures_for_terraform() -> None:
    # builders/terraform.py places ALBs with nodes(docs, ctx), then queues them with edges(docs, ctx).
    import inspect

    assert list(inspect.signature(proxy_builder.nodes).parameters) == ["docs", "ctx"]
    assert list(inspect.signature(proxy_builder.edges).parameters) == ["docs", "ctx"]
