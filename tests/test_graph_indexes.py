"""The graph's indexes answer as a filter over networkx would, in the same order, and forget
what they worked out when the graph changes."""

from __future__ import annotations

from typing import Any

import networkx
from graphs import allow, component, host, listener, publish

from bitriver_lint.exposure import entries
from bitriver_lint.graph import Component, Edge, Listener, Role, Route, ServiceGraph
from bitriver_lint.model import Location


def _filtered(graph: ServiceGraph, node: str, kind: str, outgoing: bool) -> list[tuple[str, str, int]]:
    """What the indexes stand for: networkx's own edge view of the node, filtered by kind."""
    view = graph.g.out_edges(node, data="payload") if outgoing else graph.g.in_edges(node, data="payload")
    return [(s, t, id(p)) for s, t, p in view if p.kind == kind]


def _indexed(graph: ServiceGraph, node: str, kind: str, outgoing: bool) -> list[tuple[str, str, int]]:
    found = graph.out_edges(node, kind) if outgoing else graph.in_edges(node, kind)
    return [(s, t, id(p)) for s, t, p in found]


def _same_as_networkx(graph: ServiceGraph) -> None:
    kinds = {p.kind for _, _, p in graph.g.edges(data="payload")}
    for node in graph.g.nodes:
        for kind in kinds:
            for outgoing in (True, False):
                assert _indexed(graph, node, kind, outgoing) == _filtered(graph, node, kind, outgoing), (node, kind)


def _edge(kind: Any, line: int) -> Edge:
    return Edge(kind=kind, location=Location("graph.yaml", line, 1))


def test_edges_of_a_kind_keep_networkx_order_when_links_interleave() -> None:
    graph = ServiceGraph()
    for name in ("a", "b", "x", "y", "z"):
        graph.g.add_node(name)
    # networkx lists a node's edges by neighbour, in the order each neighbour was first linked
    # (by any kind), then as added: here "y" comes before "x" although x's routes_on came first.
    graph.link("a", "y", _edge("located_in", 1))
    graph.link("a", "x", _edge("runs_on", 2))
    graph.link("a", "y", _edge("runs_on", 3))
    graph.link("a", "z", _edge("runs_on", 4))
    graph.link("a", "x", _edge("runs_on", 5))
    graph.link("b", "x", _edge("runs_on", 6))
    graph.link("b", "y", _edge("runs_on", 7))
    assert [(t, e.location.line) for _, t, e in graph.out_edges("a", "runs_on")] == [("y", 3), ("x", 2), ("x", 5),
                                                                                      ("z", 4)]
    _same_as_networkx(graph)


def test_the_caller_gets_its_own_list() -> None:
    graph = ServiceGraph()
    graph.link("a", "b", _edge("runs_on", 1))
    graph.out_edges("a", "runs_on").clear()
    graph.in_edges("b", "runs_on").clear()
    assert len(graph.out_edges("a", "runs_on")) == len(graph.in_edges("b", "runs_on")) == 1


def test_a_graph_put_in_place_whole_is_indexed_in_its_own_order() -> None:
    first, second = ServiceGraph(), ServiceGraph()
    first.link("b", "t", _edge("runs_on", 1))
    second.link("a", "t", _edge("runs_on", 2))
    second.link("t", "a", _edge("runs_on", 3))
    merged = ServiceGraph()
    merged.g = networkx.compose_all([second.g, first.g])
    _same_as_networkx(merged)
    assert [s for s, _, _ in merged.in_edges("t", "runs_on")] == [s for s, _ in merged.g.in_edges("t")]


def test_listeners_and_hosts_follow_changes_to_the_graph() -> None:
    graph = ServiceGraph()
    box = host(graph, "box")
    api = component(graph, "api", Role.API, on=box)
    listener(graph, api, 9000)
    assert [li.port for li in graph.listeners(api)] == [9000]
    assert [h.name for h in graph.hosts_of(api.id)] == ["box"]
    listener(graph, api, 8080)
    outer = host(graph, "vm")
    graph.runs_on(box.id, outer.id, box.location)
    assert [li.port for li in graph.listeners(api)] == [8080, 9000]
    assert [h.name for h in graph.hosts_of(api.id)] == ["box", "vm"]
    graph.listeners(api).clear()
    graph.hosts_of(api.id).clear()
    assert len(graph.listeners(api)) == 2 and len(graph.hosts_of(api.id)) == 2


def test_a_replaced_node_is_read_anew() -> None:
    graph = ServiceGraph()
    api = component(graph, "api", Role.API)
    old = listener(graph, api, 8080)
    assert graph.listeners(api) == [old]
    new = Listener(**{**old.model_dump(), "tls": True})
    graph.add(new)
    assert graph.listeners(api)[0] is new
    edge = Route(location=old.location)
    graph.link(new.id, new.id, edge)
    assert graph.in_edges(new.id, "routes") == [(new.id, new.id, edge)]


def test_derived_facts_are_forgotten_when_the_graph_changes() -> None:
    graph = ServiceGraph()
    asked: list[int] = []

    def count() -> int:
        asked.append(len(graph.g))
        return len(graph.g)

    assert graph.derived("count", count) == graph.derived("count", count) == 0
    assert asked == [0]
    host(graph, "box")
    assert graph.derived("count", count) == 1
    assert asked == [0, 1]


def test_the_ways_into_a_listener_follow_a_rule_added_after_they_were_asked() -> None:
    graph = ServiceGraph()
    box = host(graph, "box")
    srs = component(graph, "srs", Role.SRS, on=box)
    api = listener(graph, srs, 1985)
    publish(graph, api)
    (before,) = entries(graph, api)
    assert before.reach.describe() == "anywhere (0.0.0.0/0, ::/0)"
    allow(graph, box, ["10.0.0.0/8"], 1985)
    (after,) = entries(graph, api)
    assert after.reach.describe() == "10.0.0.0/8"


def test_target_group_members_under_a_prefix_are_found_before_and_after_the_index_is_built() -> None:
    # ids as Terraform builders make them: one prefix per root; "envs/a" must not take "envs/ab"'s.
    graph = ServiceGraph()
    group = "module.edge.aws_lb_target_group.api"

    def member(root: str, name: str, line: int) -> Component:
        node = Component(id=f"tf:{root}:{name}", name=name, role=Role.API, role_reason="built by hand",
                         origin="terraform", location=Location(f"{root}/main.tf", line, 1), target_groups=[group])
        graph.add(node)
        return node

    b = member("envs/ab", "module.edge.aws_autoscaling_group.api", 3)
    a2 = member("envs/a", "module.edge.aws_autoscaling_group.web", 9)
    assert graph.in_target_groups({group}, within="tf:envs/a:") == [a2]
    a1 = member("envs/a", "module.edge.aws_autoscaling_group.api", 2)  # into the index already built
    assert graph.in_target_groups({group}, within="tf:envs/a:") == [a1, a2]  # in components() order
    assert graph.in_target_groups({group}, within="tf:envs/ab:") == [b]
    assert graph.in_target_groups({group}) == [a1, a2, b]
    assert graph.in_target_groups({"other"}, within="tf:envs/a:") == []
