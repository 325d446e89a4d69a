"""Trees we did not write: an LB config alone in its repository is still judged, through
targets outside the tree whose roles the guide's conventions give, and BRL604 keeps to names
the tree should define."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import FIXTURES, brief, scan_tree

from bitriver_lint.graph import Role
from bitriver_lint.join import classify, infer_role
from bitriver_lint.model import Severity


@pytest.mark.parametrize(("host", "kind"), [
    ("127.0.0.1", "local"), ("127.3.4.5", "local"), ("::1", "local"), ("[::1]", "local"), ("localhost", "local"),
    ("10.0.0.1", "address"), ("2001:db8::1", "address"), ("api.internal.example.com", "address"),
    ("api", "name"), ("api-canary", "name"), ("bitriver_api", "name"),
    ("$backend", "unjudged"), ("${API_HOST}", "unjudged"), ("host.docker.internal", "unjudged"),
    ("0.0.0.0", "unjudged"), ("*", "unjudged"), ("", "unjudged"), ("mptcp@[::", "unjudged"),
])
def test_what_a_backend_host_is(host: str, kind: str) -> None:
    assert classify(host) == kind


def test_roles_come_from_ports_then_paths() -> None:
    assert infer_role(8080, ()) == (Role.API, "inferred: port 8080 is the guide's API port")
    assert infer_role(3000, ("/api",)) == (Role.VIEWER, "inferred: port 3000 is the guide's viewer port")
    assert infer_role(1985, ()) == (Role.SRS, "inferred: port 1985 is the guide's SRS API port")
    assert infer_role(443, ("/api/",)) == (Role.API, "inferred: the config routes /api/ to it")
    assert infer_role(9000, ("/viewer",)) == (Role.VIEWER, "inferred: the config routes /viewer to it")
    assert infer_role(9000, ("/", None)) is None


def test_external_targets_are_reached_only_through_edges() -> None:
    result = scan_tree(FIXTURES / "partial-nginx-edge")
    graph = result.graph
    assert [c.name for c in graph.components()] == ["nginx.conf"]
    externals = [c for c in graph.components(external=True) if c.external]
    assert sorted(c.name for c in externals) == ["10.20.0.11", "10.20.0.12", "10.20.1.11", "10.20.1.12"]
    assert {c.role for c in externals} == {Role.API, Role.VIEWER}
    assert graph.find_component("10.20.0.11") is None
    # Nothing of theirs is exposed: the only rules that speak are about the edge's own config.
    assert not [f for f in result.active if f.rule_id.startswith("BRL1")]


def test_undescribed_addresses_are_one_note_per_config(tmp_path: Path) -> None:
    servers = "".join(f"  server s{i} 192.0.2.{i}:80 check\n" for i in range(1, 40))
    (tmp_path / "haproxy.cfg").write_text(f"frontend fe\n  bind :80\n  default_backend b\nbackend b\n{servers}")
    result = scan_tree(tmp_path)
    (note,) = [f for f in result.active if f.rule_id == "BRL604"]
    assert note.severity is Severity.NOTE
    assert str(note.location) == "haproxy.cfg:5:3"
    assert note.message.startswith("39 backend addresses are not described in this tree (192.0.2.1:80, ")


def test_a_tree_with_compose_still_judges_single_label_names(tmp_path: Path) -> None:
    (tmp_path / "haproxy.cfg").write_text(
        "frontend fe\n  bind :80\n  default_backend b\nbackend b\n  server s1 api-canary:8080 check\n")
    (tmp_path / "docker-compose.yml").write_text("services:\n  api:\n    image: ghcr.io/bitriver/bitriver-live:1.4.2\n")
    assert "BRL604 haproxy.cfg:5:3" in brief(scan_tree(tmp_path))
    (finding,) = [f for f in scan_tree(tmp_path).active if f.rule_id == "BRL604"]
    assert finding.severity is Severity.WARNING


def test_a_resource_address_in_the_hint_keeps_its_index() -> None:
    from bitriver_lint.checks.consistency import _host_of

    assert _host_of("aws_instance.blue[0]:8080") == "aws_instance.blue[0]"
    assert _host_of("[2001:db8::1]:80") == "2001:db8::1"
    assert _host_of("api:8080") == "api"


def test_extra_hosts_in_every_form() -> None:
    from bitriver_lint.loaders.compose import _extra_hosts

    assert _extra_hosts(["api-host:10.40.1.10", "v6=[2001:db8::2]", "v6b:::1", "gw:host-gateway", 3, "bare"]) == {
        "api-host": "10.40.1.10", "v6": "2001:db8::2", "v6b": "::1", "gw": "host-gateway"}


def test_backends_join_by_fixed_address_and_extra_hosts() -> None:
    result = scan_tree(FIXTURES / "compose-address-joins")
    graph = result.graph
    pools = {p.name: [c.name for c in graph.components_behind(graph.members(p))]
             for lb in graph.components(Role.PROXY, Role.LB) for p in graph.pools(lb)}
    assert pools == {"api_pool": ["api"], "viewer_pool": ["viewer"]}
    assert not [f for f in result.active if f.rule_id == "BRL604"]


def test_an_extra_hosts_name_the_tree_does_not_describe_is_an_address(tmp_path: Path) -> None:
    (tmp_path / "haproxy.cfg").write_text(
        "frontend fe\n  bind :80\n  default_backend b\nbackend b\n  server s1 db-host:5432 check\n")
    (tmp_path / "docker-compose.yml").write_text(
        "services:\n  lb:\n    image: haproxy:2.9\n    volumes:\n"
        "      - ./haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro\n"
        "    extra_hosts:\n      - \"db-host:10.9.9.9\"\n")
    (finding,) = [f for f in scan_tree(tmp_path).active if f.rule_id == "BRL604"]
    assert finding.severity is Severity.NOTE
    assert "db-host:5432" in finding.message


def test_the_corpus_gives_few_brl604(shared: Path) -> None:
    """Trees we did not write: 5,069 BRL604 before, almost all false; at most 25 now, notes
    included, and every warning is a single-label name."""
    result = scan_tree(shared / "corpus")
    found = [f for f in result.active if f.rule_id == "BRL604"]
    assert len(found) <= 25, "\n".join(f"{f.location} {f.message}" for f in found)
    assert all(f.severity is Severity.NOTE or "'" in f.message for f in found)
