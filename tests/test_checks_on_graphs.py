"""Checks run on graphs built by hand (tests/graphs.py): each rule's logic on its own, without
files, loaders or builders in the way."""

from __future__ import annotations

import pytest
from graphs import allow, component, host, listener, publish, route, run_check

from bitriver_lint.config import Config
from bitriver_lint.graph import Role, ServiceGraph
from bitriver_lint.model import Finding, Severity


def where(findings: list[Finding]) -> list[str]:
    return [f"{f.rule_id} {f.location}" for f in findings]


def networks(**sets: list[str]) -> Config:
    return Config.model_validate({"networks": sets})


def test_srs_api_published_on_every_interface_is_reported_where_it_is_published() -> None:
    graph = ServiceGraph()
    srs = component(graph, "srs", Role.SRS, on=host(graph, "appliance"))
    publish(graph, listener(graph, srs, 1935), at="compose.yaml:8:9")
    publish(graph, listener(graph, srs, 1985), at="compose.yaml:9:9")
    found = run_check("BRL102", graph)
    assert where(found) == ["BRL102 compose.yaml:9:9"]
    assert "the SRS HTTP API (1985/tcp) of srs is reachable from anywhere" in found[0].message
    assert "no host firewall or security group is described" in found[0].message


def test_srs_api_published_on_loopback_passes() -> None:
    graph = ServiceGraph()
    srs = component(graph, "srs", Role.SRS, on=host(graph, "appliance"))
    publish(graph, listener(graph, srs, 1985), host_ip="127.0.0.1")
    assert run_check("BRL102", graph) == []


@pytest.mark.parametrize(
    ("cidrs", "expected"),
    [(["198.51.100.0/24"], []), (["198.51.100.0/24", "0.0.0.0/0"], ["BRL102 main.tf:14:3"])],
    ids=["operators-only", "open-to-all"],
)
def test_a_security_group_rule_decides_and_is_blamed(cidrs: list[str], expected: list[str]) -> None:
    graph = ServiceGraph()
    box = host(graph, "aws_instance.srs", "instance")
    srs = component(graph, "srs", Role.SRS, on=box, origin="terraform")
    publish(graph, listener(graph, srs, 1985))
    allow(graph, box, cidrs, 1985, at="main.tf:14:3")
    assert where(run_check("BRL102", graph, "origin-edge", networks(operators=["198.51.100.0/24"]))) == expected


def test_rtmp_on_a_single_node_waits_for_encoders_and_is_a_warning_there() -> None:
    graph = ServiceGraph()
    srs = component(graph, "srs", Role.SRS, on=host(graph, "appliance"))
    publish(graph, listener(graph, srs, 1935), at="compose.yaml:8:9")
    assert run_check("BRL101", graph) == []  # published by design until encoders are named
    encoders = networks(encoders=["203.0.113.0/28"])
    single = run_check("BRL101", graph, "single-node", encoders)
    assert where(single) == ["BRL101 compose.yaml:8:9"]
    assert single[0].severity is Severity.WARNING
    assert [f.severity for f in run_check("BRL101", graph, "origin-edge")] == [Severity.ERROR]


@pytest.mark.parametrize(("scheme", "expected"), [("http", []), ("tcp", ["BRL104 compose.yaml:5:9"])])
def test_only_a_tcp_hop_exposes_the_api_port_itself(scheme: str, expected: list[str]) -> None:
    graph = ServiceGraph()
    box = host(graph, "edge")
    proxy = component(graph, "haproxy", Role.PROXY, on=box)
    front = listener(graph, proxy, 8080)
    publish(graph, front, at="compose.yaml:5:9")
    api = component(graph, "api", Role.API, on=box)
    route(graph, front, listener(graph, api, 8080), scheme=scheme)  # type: ignore[arg-type]
    assert where(run_check("BRL104", graph)) == expected


def test_tls_termination_needs_one_public_https_front() -> None:
    graph = ServiceGraph()
    box = host(graph, "appliance")
    api = component(graph, "api", Role.API, on=box, at="compose.yaml:2:3")
    listener(graph, api, 8080, tls=False)
    found = run_check("BRL201", graph)
    assert where(found) == ["BRL201 compose.yaml:2:3"]
    assert "nothing terminates TLS in front of api" in found[0].message

    caddy = component(graph, "caddy", Role.PROXY, on=box)
    publish(graph, listener(graph, caddy, 443, tls=True))
    assert run_check("BRL201", graph) == []


def test_lb_routes_each_path_to_its_pool() -> None:
    graph = ServiceGraph()
    lb = component(graph, "edge", Role.LB, on=host(graph, "edge", "lb-host"))
    front = listener(graph, lb, 443, tls=True)
    api = component(graph, "api", Role.API, on=host(graph, "origin"))
    viewer = component(graph, "viewer", Role.VIEWER, on=host(graph, "viewers"))
    to_api = listener(graph, api, 8080)
    route(graph, front, to_api, "/api", at="haproxy.cfg:10:5")
    route(graph, front, to_api, "/viewer", at="haproxy.cfg:11:5")
    found = run_check("BRL301", graph, "origin-edge")
    assert where(found) == ["BRL301 haproxy.cfg:11:5"]
    assert "edge routes /viewer to api (api), not to the viewer pool" in found[0].message

    fixed = ServiceGraph()
    lb = component(fixed, "edge", Role.LB, on=host(fixed, "edge", "lb-host"))
    front = listener(fixed, lb, 443, tls=True)
    api = component(fixed, "api", Role.API, on=host(fixed, "origin"))
    viewer = component(fixed, "viewer", Role.VIEWER, on=host(fixed, "viewers"))
    route(fixed, front, listener(fixed, api, 8080), "/api")
    route(fixed, front, listener(fixed, viewer, 3000), "/viewer")
    assert run_check("BRL301", fixed, "origin-edge") == []


def test_single_node_allows_only_its_three_public_ports() -> None:
    graph = ServiceGraph()
    box = host(graph, "appliance")
    caddy = component(graph, "caddy", Role.PROXY, on=box)
    publish(graph, listener(graph, caddy, 443))
    grafana = component(graph, "grafana", Role.OTHER, on=box)
    publish(graph, listener(graph, grafana, 3000), 3001, at="compose.yaml:20:9")
    found = run_check("BRL107", graph)
    assert where(found) == ["BRL107 compose.yaml:20:9"]
    assert "grafana opens 3001/tcp on all interfaces" in found[0].message


def test_run_check_refuses_what_the_engine_would_not_run() -> None:
    graph = ServiceGraph()
    with pytest.raises(ValueError, match="BRL106 does not apply to single-node"):
        run_check("BRL106", graph, "single-node")
    with pytest.raises(ValueError, match="BRL001 is reported by the engine itself"):
        run_check("BRL001", graph)
