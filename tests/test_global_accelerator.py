"""AWS Global Accelerator as a layer-4 load balancer: listeners, endpoint groups, their health
checks and the endpoints the tree defines."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import brief, scan_tree

from bitriver_lint.engine import ScanResult
from bitriver_lint.graph import Listener, Role

HEAD = """provider "aws" {
  region = "eu-west-1"
}

resource "aws_instance" "api" {
  count         = 2
  ami           = "ami-0abcdef1234567890"
  instance_type = "m6i.xlarge"
  user_data     = "BITRIVER_LIVE_ADDR=:8080"
  tags          = { Role = "api" }
}

resource "aws_globalaccelerator_accelerator" "live" {
  name    = "live"
  enabled = %(enabled)s
}

resource "aws_globalaccelerator_listener" "https" {
  accelerator_arn = aws_globalaccelerator_accelerator.live.id
  protocol        = "%(protocol)s"
  client_affinity = "%(affinity)s"
  port_range {
    from_port = 443
    to_port   = 443
  }
}
"""


def _group(health: str, endpoints: str = "aws_instance.api[0].id") -> str:
    return f"""
resource "aws_globalaccelerator_endpoint_group" "eu" {{
  listener_arn          = aws_globalaccelerator_listener.https.id
  endpoint_group_region = "eu-west-1"
{health}
  port_override {{
    listener_port = 443
    endpoint_port = 8080
  }}
  endpoint_configuration {{
    endpoint_id = {endpoints}
  }}
}}
"""


def _scan(tmp_path: Path, group: str, *, enabled: str = "true", protocol: str = "TCP",
          affinity: str = "NONE") -> tuple[ScanResult, str]:
    text = HEAD % {"enabled": enabled, "protocol": protocol, "affinity": affinity} + group
    (tmp_path / "main.tf").write_text(text)
    return scan_tree(tmp_path, topology="origin-edge"), text


def at(text: str, needle: str) -> str:
    index = text.index(needle)
    line = text.count("\n", 0, index) + 1
    return f"main.tf:{line}:{index - text.rfind(chr(10), 0, index)}"


def _brl302(result: ScanResult) -> list[str]:
    return [f for f in brief(result) if f.startswith("BRL302")]


def test_an_http_health_check_on_the_wrong_path(tmp_path: Path) -> None:
    result, text = _scan(tmp_path, _group('  health_check_protocol = "HTTP"\n  health_check_path     = "/health"'))
    assert _brl302(result) == ["BRL302 " + at(text, '"/health"')]
    result, _ = _scan(tmp_path, _group('  health_check_protocol = "HTTP"\n  health_check_path     = "/healthz"'))
    assert _brl302(result) == []


def test_the_default_tcp_check_only_sees_the_port_open(tmp_path: Path) -> None:
    result, text = _scan(tmp_path, _group(""))
    (finding,) = [f for f in result.active if f.rule_id == "BRL302"]
    assert str(finding.location) == at(text, 'resource "aws_globalaccelerator_endpoint_group"')
    assert "only checks that the port accepts connections" in finding.message


def test_endpoints_are_joined_to_the_instances_on_the_overridden_port(tmp_path: Path) -> None:
    result, text = _scan(tmp_path, _group('  health_check_protocol = "HTTP"\n  health_check_path     = "/healthz"'))
    graph = result.graph
    (accelerator,) = [c for c in graph.components(Role.LB) if c.name == "aws_globalaccelerator_accelerator.live"]
    routes = [(edge.scheme, graph.node(target)) for li in graph.listeners(accelerator)
              for _, target, edge in graph.out_edges(li.id, "routes")]
    assert [(scheme, graph.component_of(li).name, li.port) for scheme, li in routes
            if isinstance(li, Listener)] == [("tcp", "aws_instance.api[0]", 8080)]
    assert [li.port for li in graph.listeners(accelerator)] == [443]
    # Through the TCP hop the API's plain port is on the internet.
    assert "BRL104 " + at(text, 'resource "aws_globalaccelerator_accelerator"') in brief(result)


def test_a_whole_resource_as_endpoint_means_each_of_its_instances(tmp_path: Path) -> None:
    result, _ = _scan(tmp_path, _group('  health_check_protocol = "HTTP"\n  health_check_path     = "/healthz"',
                                       "aws_instance.api.id"))
    (accelerator,) = [c for c in result.graph.components(Role.LB)]
    (pool,) = result.graph.pools(accelerator)
    assert [c.name for c in result.graph.components_behind(result.graph.members(pool))] == [
        "aws_instance.api[0]", "aws_instance.api[1]"]


def test_source_ip_affinity_is_a_sticky_pool(tmp_path: Path) -> None:
    result, text = _scan(tmp_path, _group(""), affinity="SOURCE_IP")
    (accelerator,) = result.graph.components(Role.LB)
    (pool,) = result.graph.pools(accelerator)
    assert str(pool.sticky) == at(text, '"SOURCE_IP"')


@pytest.mark.parametrize(("enabled", "protocol"), [("false", "TCP"), ("true", "UDP")])
def test_disabled_accelerators_and_udp_listeners_carry_no_http(tmp_path: Path, enabled: str, protocol: str) -> None:
    result, _ = _scan(tmp_path, _group(""), enabled=enabled, protocol=protocol)
    assert _brl302(result) == []
    lbs = result.graph.components(Role.LB)
    # A disabled accelerator is no load balancer; a UDP-only one has no listener or pool.
    assert [(lb.name, result.graph.listeners(lb), result.graph.pools(lb)) for lb in lbs] == (
        [] if enabled == "false" else [("aws_globalaccelerator_accelerator.live", [], [])])


ALB = """
resource "aws_lb" "origin" {
  name = "origin"
}

resource "aws_lb_target_group" "api" {
  port     = 8080
  protocol = "HTTP"
  health_check {
    path = "/healthz"
  }
}

resource "aws_lb_target_group_attachment" "api" {
  count            = 2
  target_group_arn = aws_lb_target_group.api.arn
  target_id        = aws_instance.api[count.index].id
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.origin.arn
  port              = 443
  protocol          = "HTTPS"
  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.api.arn
  }
}
"""


def test_an_alb_endpoint_is_health_checked_by_its_own_target_groups(tmp_path: Path) -> None:
    group = _group('  health_check_protocol = "HTTP"\n  health_check_path     = "/health"', "aws_lb.origin.arn")
    result, _ = _scan(tmp_path, ALB + group.replace("endpoint_port = 8080", "endpoint_port = 443"))
    graph = result.graph
    (accelerator,) = [c for c in graph.components(Role.LB) if c.name.startswith("aws_globalaccelerator")]
    (pool,) = graph.pools(accelerator)
    assert pool.health is None  # Global Accelerator uses the ALB's checks, not the group's /health
    assert [c.name for c in graph.components_behind(graph.members(pool))] == ["aws_lb.origin"]
    assert _brl302(result) == []


def test_tcp_passed_through_to_an_api_that_terminates_tls_is_not_plain_at_the_edge(tmp_path: Path) -> None:
    tls = ('"BITRIVER_LIVE_ADDR=:8443\\nBITRIVER_LIVE_TLS_CERT=/etc/tls/live.crt\\n'
           'BITRIVER_LIVE_TLS_KEY=/etc/tls/live.key"')
    group = _group('  health_check_protocol = "HTTPS"\n  health_check_path     = "/healthz"').replace(
        "endpoint_port = 8080", "endpoint_port = 8443")
    (tmp_path / "main.tf").write_text(
        HEAD.replace('"BITRIVER_LIVE_ADDR=:8080"', tls) % {"enabled": "true", "protocol": "TCP", "affinity": "NONE"}
        + group)
    result = scan_tree(tmp_path, topology="origin-edge")
    (api,) = [c for c in result.graph.components(Role.API) if c.name == "aws_instance.api[0]"]
    assert [(li.port, li.tls) for li in result.graph.listeners(api)] == [(8443, True)]
    assert [f for f in brief(result) if f.split()[0] in ("BRL201", "BRL203", "BRL302")] == []
