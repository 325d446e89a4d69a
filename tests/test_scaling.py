"""Work grows with the tree, not with its square: counted, not timed (timings live in
``benchmarks/``). A scan of the synthetic sites of ``benchmarks/trees.py`` at two sizes must visit
graph nodes in proportion to the sites. Sorting every host for each proxy config once made a
1,000-site scan spend half its time in ``graph.hosts()``; that shows here as a ratio near the
square of the sizes' ratio."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bitriver_lint.builders.common import BuildContext
from bitriver_lint.builders.hostfw import machines_for
from bitriver_lint.config import Config
from bitriver_lint.engine import scan
from bitriver_lint.graph import Host, ServiceGraph
from bitriver_lint.model import Location
from bitriver_lint.vocabulary import HostKind
from bitriver_lint.workspace import Workspace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import trees  # benchmarks/ is not a package: found through sys.path


def _visits(root: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    """How many graph nodes the scan's whole-graph walks (``ServiceGraph._of``) looked at."""
    seen = [0]
    walk = ServiceGraph._of

    def counted(self: ServiceGraph, cls: type[Any]) -> Iterator[Any]:
        seen[0] += self.g.number_of_nodes()
        return walk(self, cls)

    with monkeypatch.context() as patch:
        patch.setattr(ServiceGraph, "_of", counted)
        report = scan([root], Config(), root=root)
    assert not report.errors
    return seen[0]


def test_graph_walks_grow_linearly_with_the_sites(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    small, large = tmp_path / "small", tmp_path / "large"
    trees.generate(small, 10)
    trees.generate(large, 40)
    ratio = _visits(large, monkeypatch) / _visits(small, monkeypatch)
    # Four times the sites: about four times the nodes walked (plus a constant), far from 16.
    assert ratio < 6, ratio


def _machine(graph: ServiceGraph, directory: str) -> Host:
    host = Host(id=f"compose:{directory}", name=directory, host_kind=HostKind.COMPOSE_PROJECT,
                directory=directory, location=Location(f"{directory}/compose.yaml", 1, 1))
    graph.add(host)
    return host


def test_machines_for_sees_a_machine_added_after_it_was_asked(tmp_path: Path) -> None:
    graph = ServiceGraph()
    ctx = BuildContext(graph, Config(), Workspace(tmp_path))
    site = _machine(graph, "sites/a")
    assert machines_for(ctx, "sites/a/rules.v4") == [site]
    assert graph.hosts() == [site]
    # A firewall above both sites guards both once the second is there; the nearer one only its own.
    other = _machine(graph, "sites/b")
    assert machines_for(ctx, "sites/rules.v4") == [site, other]
    assert machines_for(ctx, "sites/b/etc/rules.v4") == [other]
    assert graph.hosts() == [site, other]
    # A load balancer is a host, not a machine a firewall file guards.
    graph.add(Host(id="lb:x", name="x", host_kind=HostKind.LB_HOST, location=Location("lb.cfg", 1, 1)))
    assert machines_for(ctx, "rules.v4") == [site, other]
    assert [h.id for h in graph.hosts()] == ["lb:x", "compose:sites/a", "compose:sites/b"]
