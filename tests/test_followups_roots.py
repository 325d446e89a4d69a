"""Joins that must stay in one Terraform root: envs/prod and envs/staging call one module, so
both roots have the same resource addresses (``module.site.aws_lb.edge``), and a name alone
finds the other root's resource as readily as its own."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import scan_tree

from bitriver_lint.graph import Component, Role, ServiceGraph

_ALB = """
resource "aws_lb" "edge" {
  name     = "edge"
  internal = true
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.edge.arn
  port              = 443
  protocol          = "HTTPS"
}
"""

_ZONE = """
resource "cloudflare_zone_settings_override" "z" {
  zone_id = "z1"
  settings {
    ssl = "strict"
  }
}
"""

_RECORD = """
resource "cloudflare_record" "live" {
  zone_id = "z1"
  name    = "live"
  content = %s
  type    = "CNAME"
  proxied = true
}
"""

_POOL = """
resource "cloudflare_load_balancer_pool" "edge" {
  account_id = "0123"
  name       = "edge"
  origins {
    name    = "edge"
    address = aws_lb.edge.dns_name
  }
}

resource "cloudflare_load_balancer" "live" {
  zone_id          = "z1"
  name             = "live.example.com"
  default_pool_ids = [cloudflare_load_balancer_pool.edge.id]
  fallback_pool_id = cloudflare_load_balancer_pool.edge.id
}
"""

_TUNNEL = """
resource "cloudflare_tunnel" "origin" {
  account_id = "0123"
  name       = "origin"
}

resource "cloudflare_tunnel_config" "origin" {
  account_id = "0123"
  tunnel_id  = cloudflare_tunnel.origin.id
  config {
    ingress_rule {
      hostname = "live.example.com"
      service  = "https://${aws_lb.edge.dns_name}"
    }
    ingress_rule {
      service = "http_status:404"
    }
  }
}
"""

_FASTLY = """
resource "fastly_service_vcl" "live" {
  name = "live"
  backend {
    name    = "origin"
    address = aws_lb.edge.dns_name
    port    = 443
    use_ssl = true
  }
}
"""

_GOOGLE_LB = """
resource "google_compute_global_address" "edge" {
  name = "edge"
}

resource "google_compute_backend_service" "api" {
  protocol = "HTTP"
}

resource "google_compute_url_map" "live" {
  default_service = google_compute_backend_service.api.id
}

resource "google_compute_target_https_proxy" "live" {
  url_map          = google_compute_url_map.live.id
  ssl_certificates = ["projects/p/global/sslCertificates/live"]
}

resource "google_compute_global_forwarding_rule" "https" {
  port_range = "443"
  target     = google_compute_target_https_proxy.live.id
%s}
"""


def _two_roots(root: Path, module: str) -> None:
    """envs/prod and envs/staging, each calling modules/site."""
    (root / "modules" / "site").mkdir(parents=True)
    (root / "modules" / "site" / "main.tf").write_text(module)
    for env in ("prod", "staging"):
        (root / "envs" / env).mkdir(parents=True)
        (root / "envs" / env / "main.tf").write_text('module "site" {\n  source = "../../modules/site"\n}\n')


def _routed(graph: ServiceGraph) -> dict[str, list[str]]:
    """Each CDN's id and the components its routes reach."""
    out: dict[str, list[str]] = {}
    for cdn in graph.components(Role.CDN):
        reached = set()
        for listener in graph.listeners(cdn):
            for _, target, _ in graph.out_edges(listener.id, "routes"):
                component = graph.component_of(graph.node(target))  # type: ignore[arg-type]
                assert isinstance(component, Component)
                reached.add(component.id)
        out[cdn.id] = sorted(reached)
    return out


def _alb(env: str) -> str:
    return f"terraform:modules/site/main.tf#module.site.aws_lb.edge@envs/{env}"


@pytest.mark.parametrize(("edge", "cdn"), [
    (_RECORD % "aws_lb.edge.dns_name" + _ZONE, "tf:envs/{env}:cloudflare:z1"),
    (_POOL + _ZONE, "tf:envs/{env}:cloudflare:z1"),
    (_TUNNEL, "tf:envs/{env}:module.site.cloudflare_tunnel.origin"),
    (_FASTLY, "tf:envs/{env}:module.site.fastly_service_vcl.live"),
], ids=["record", "pool-origin", "tunnel-ingress", "fastly-backend"])
def test_a_cdn_in_a_shared_module_routes_to_the_alb_of_its_own_root(tmp_path: Path, edge: str, cdn: str) -> None:
    # Joined by the ALB's name, module.site.aws_lb.edge, staging's edge reached prod's ALB.
    _two_roots(tmp_path, _ALB + edge)
    assert _routed(scan_tree(tmp_path).graph) == {cdn.format(env=env): [_alb(env)] for env in ("prod", "staging")}


@pytest.mark.parametrize(("address", "content"), [
    ("", "google_compute_global_forwarding_rule.https.ip_address"),
    ("  ip_address = google_compute_global_address.edge.address\n", "google_compute_global_address.edge.address"),
], ids=["forwarding-rule", "its-address"])
def test_a_record_to_a_google_load_balancer_routes_to_the_one_of_its_own_root(
        tmp_path: Path, address: str, content: str) -> None:
    # Named by the rule's or the address's full address, the record found no load balancer at
    # all: an address outside the tree (a BRL604 note), the zone's origin not judged.
    _two_roots(tmp_path, _GOOGLE_LB % address + _RECORD % content + _ZONE)
    result = scan_tree(tmp_path)
    url_map = "terraform:modules/site/main.tf#module.site.google_compute_url_map.live@envs/{}"
    assert _routed(result.graph) == {f"tf:envs/{env}:cloudflare:z1": [url_map.format(env)]
                                     for env in ("prod", "staging")}
    assert [d for d in result.graph.dangling if d.kind == "undescribed_address"] == []


# -- config hosts: a binding by resource address that several roots create ----------------------

_INSTANCE = """resource "aws_instance" "app" {
  ami           = "ami-1"
  instance_type = "m6i.large"
  tags          = { Role = "api" }
}
"""

_COMPOSE = """services:
  api:
    image: ghcr.io/bitriver/api:1.0
    ports:
      - "8080:8080"
"""


def _bound_tree(root: Path, compose: str, binding: str) -> None:
    """Two roots calling a module with an instance, a compose tree at ``compose``, and the config
    binding ``binding`` (a hosts: entry named app)."""
    _two_roots(root, _INSTANCE)
    (root / compose).mkdir(parents=True, exist_ok=True)
    (root / compose / "docker-compose.yml").write_text(_COMPOSE)
    (root / ".bitriver-lint.yaml").write_text(f"hosts:\n  app: {binding}\n")


def _instance(env: str) -> str:
    return f"tf:envs/{env}:module.site.aws_instance.app"


def _machines(graph: ServiceGraph) -> dict[str, list[str]]:
    """Each component's id and the Terraform machines it runs on."""
    return {c.id: [h.id for h in graph.hosts_of(c.id) if h.id.startswith("tf:")] for c in graph.components()}


_COMPOSE_API = "compose:{0}:{0}/docker-compose.yml:api"


def test_a_binding_by_resource_puts_its_paths_on_the_machine_of_the_nearest_root(tmp_path: Path) -> None:
    # Both roots create module.site.aws_instance.app: the compose tree under envs/prod ran on
    # staging's instance too, and staging's instance lost the API its tags give it.
    _bound_tree(tmp_path, "envs/prod/compose",
                "{resource: module.site.aws_instance.app, paths: [envs/prod/compose]}")
    result = scan_tree(tmp_path)
    assert _machines(result.graph) == {
        _COMPOSE_API.format("envs/prod/compose"): [_instance("prod")],
        _instance("staging") + "#component": [_instance("staging")],
    }
    assert not [f for f in result.active if "hosts: binding" in f.message]


def test_one_binding_puts_each_path_on_the_machine_of_its_own_root(tmp_path: Path) -> None:
    _bound_tree(tmp_path, "envs/prod/compose",
                "{resource: module.site.aws_instance.app, paths: [envs/prod/compose, envs/staging/compose]}")
    (tmp_path / "envs/staging/compose").mkdir()
    (tmp_path / "envs/staging/compose/docker-compose.yml").write_text(_COMPOSE)
    assert _machines(scan_tree(tmp_path).graph) == {
        _COMPOSE_API.format("envs/prod/compose"): [_instance("prod")],
        _COMPOSE_API.format("envs/staging/compose"): [_instance("staging")],
    }


def test_a_path_no_nearer_one_root_is_put_on_neither_with_a_note(tmp_path: Path) -> None:
    # compose/ beside envs/: whose machine it is cannot be told, so it is no one's, and said so.
    _bound_tree(tmp_path, "compose", "{resource: module.site.aws_instance.app, paths: [compose]}")
    result = scan_tree(tmp_path)
    assert _machines(result.graph) == {
        _COMPOSE_API.format("compose"): [],
        _instance("prod") + "#component": [_instance("prod")],
        _instance("staging") + "#component": [_instance("staging")],
    }
    notes = [(f.rule_id, str(f.location), f.message) for f in result.active if "hosts: binding" in f.message]
    assert notes == [("BRL002", "modules/site/main.tf:1:1",
                      "the hosts: binding 'app' puts compose on module.site.aws_instance.app, which the Terraform "
                      "roots envs/prod and envs/staging all create, and compose lies no nearer one of them: it is "
                      "put on none (add root: to the binding to say whose machine it is)")]


def test_root_names_whose_machine_a_binding_means(tmp_path: Path) -> None:
    _bound_tree(tmp_path, "compose",
                "{resource: module.site.aws_instance.app, root: envs/staging, paths: [compose]}")
    result = scan_tree(tmp_path)
    assert _machines(result.graph) == {
        _COMPOSE_API.format("compose"): [_instance("staging")],
        _instance("prod") + "#component": [_instance("prod")],
    }
    assert not [f for f in result.active if "hosts: binding" in f.message]


_HAPROXY = """global
    daemon

defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s

frontend web
    bind :80
    default_backend api

backend api
    server app app:8080 check
"""


@pytest.mark.parametrize("root", ["prod", "staging"])
def test_a_proxy_that_names_a_binding_reaches_the_machine_of_the_root_it_names(tmp_path: Path, root: str) -> None:
    # Named by the binding's name, the backend joined whichever root's instance came first.
    _two_roots(tmp_path, _INSTANCE)
    (tmp_path / "lb").mkdir()
    (tmp_path / "lb" / "haproxy.cfg").write_text(_HAPROXY)
    (tmp_path / ".bitriver-lint.yaml").write_text(
        f"hosts:\n  app: {{resource: module.site.aws_instance.app, root: envs/{root}}}\n")
    graph = scan_tree(tmp_path).graph
    (lb,) = [c for c in graph.components() if c.origin == "haproxy"]
    reached = {graph.component_of(graph.node(t)).id  # type: ignore[union-attr, arg-type]
               for li in graph.listeners(lb) for _, t, _ in graph.out_edges(li.id, "routes")}
    assert reached == {_instance(root) + "#component"}


def test_a_binding_that_names_a_resource_of_several_roots_without_a_path_is_a_note(tmp_path: Path) -> None:
    _two_roots(tmp_path, _INSTANCE)
    (tmp_path / ".bitriver-lint.yaml").write_text("hosts:\n  app: {resource: module.site.aws_instance.app}\n")
    notes = [(f.rule_id, str(f.location), f.message) for f in scan_tree(tmp_path).active
             if "hosts: binding" in f.message]
    assert notes == [("BRL002", "modules/site/main.tf:1:1",
                      "the hosts: binding 'app' names module.site.aws_instance.app, which the Terraform roots "
                      "envs/prod and envs/staging all create: it stands for none of them (add root: to the binding "
                      "to say which)")]


def test_a_binding_root_that_is_no_directory_is_a_config_error(tmp_path: Path) -> None:
    from bitriver_lint.config import ConfigError, load_config

    (tmp_path / ".bitriver-lint.yaml").write_text(
        "hosts:\n  app: {resource: module.site.aws_instance.app, root: envs/prd}\n")
    with pytest.raises(ConfigError, match=r"\.bitriver-lint\.yaml:2: hosts\.app\.root: 'envs/prd' is not a directory"):
        load_config(tmp_path / ".bitriver-lint.yaml")


def test_a_binding_root_that_does_not_create_the_resource_is_a_note(tmp_path: Path) -> None:
    # envs/ is a directory, so the config is valid, but no root there: the binding bound nothing
    # and said nothing, and the compose tree ran on no machine.
    _bound_tree(tmp_path, "compose", "{resource: module.site.aws_instance.app, root: envs, paths: [compose]}")
    result = scan_tree(tmp_path)
    assert _machines(result.graph)[_COMPOSE_API.format("compose")] == []
    notes = [(f.rule_id, str(f.location), f.message) for f in result.active if "hosts: binding" in f.message]
    assert notes == [("BRL002", "modules/site/main.tf:1:1",
                      "the hosts: binding 'app' names the root envs, which does not create "
                      "module.site.aws_instance.app (envs/prod and envs/staging do): it binds nothing")]
