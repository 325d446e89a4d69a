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
