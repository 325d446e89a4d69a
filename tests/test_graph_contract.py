"""The graph is a typed contract: every payload is a closed model, pools are nodes of their own,
and a value the files leave unknown is a BRL002, never silence."""

from __future__ import annotations

import typing
from pathlib import Path

from conftest import FIXTURES, scan_tree

from bitriver_lint import graph as graph_module
from bitriver_lint.graph import Component, Payload, Pool, Role


def _payload_classes() -> list[type[Payload]]:
    found = [v for v in vars(graph_module).values()
             if isinstance(v, type) and issubclass(v, Payload) and v is not Payload]
    assert len(found) > 15
    return found


def test_no_payload_has_a_free_form_bag() -> None:
    for cls in _payload_classes():
        assert cls.model_config.get("extra") == "forbid", cls
        for name, field in cls.model_fields.items():
            assert name != "attrs", cls
            assert field.annotation not in (dict, dict[str, typing.Any], typing.Any) or name == "origin", (cls, name)


def test_load_balancer_pools_are_nodes_with_members() -> None:
    result = scan_tree(FIXTURES / "origin-edge-haproxy")
    g = result.graph
    (lb,) = [c for c in g.components(Role.LB)]
    pools = {p.name: p for p in g.pools(lb)}
    assert set(pools) == {"api_pool", "viewer_pool", "srs_ingest"}
    api = pools["api_pool"]
    assert isinstance(api, Pool) and api.health is not None and api.health.path == "/healthz"
    members = g.components_behind(g.members(api))
    assert [c.role for c in members] == [Role.API]


def test_an_unknown_container_port_is_a_brl002(tmp_path: Path) -> None:
    (tmp_path / "docker-compose.yml").write_text(
        'services:\n  srs:\n    image: ossrs/srs:5\n    ports:\n      - "1985:${SRS_API_PORT}"\n')
    result = scan_tree(tmp_path, select=["BRL002"])
    notes = [f for f in result.active if f.rule_id == "BRL002"]
    assert [str(f.location) for f in notes] == ["docker-compose.yml:5:9"]
    # BRL101 waits for `encoders` in a single-node tree, so only BRL102 needed the port here.
    assert notes[0].message == ("SRS_API_PORT is not set, so BRL102 (srs-api-operator-only) cannot check "
                                "whether 1985/tcp of srs is published")
    srs = next(c for c in result.graph.components() if isinstance(c, Component) and c.role is Role.SRS)
    assert len(srs.unknown_ports) == 1
