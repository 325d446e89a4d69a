"""``multigraph.MultiDiGraph`` answers as networkx's did, in the same orders: deployment numbers
and every sorted tie in a report follow from them, so a different order is a different report."""

from __future__ import annotations

from typing import Any

import networkx as nx
from hypothesis import given, settings
from hypothesis import strategies as st

from bitriver_lint.graph import Component, Role, ServiceGraph
from bitriver_lint.model import Location
from bitriver_lint.multigraph import MultiDiGraph, compose_all, weakly_connected_components

NODES = st.sampled_from([f"n{i}" for i in range(8)])
# ("node", id, payload) or ("edge", source, target, payload): nodes re-added, parallel edges,
# self-loops and edges to nodes never added all occur.
OPS = st.lists(st.one_of(st.tuples(st.just("node"), NODES, st.integers(0, 99)),
                         st.tuples(st.just("edge"), NODES, NODES, st.integers(0, 99))), max_size=40)


def _both(ops: list[tuple[object, ...]]) -> tuple[MultiDiGraph, object]:
    ours, theirs = MultiDiGraph(), nx.MultiDiGraph()
    for op in ops:
        if op[0] == "node":
            _, node, payload = op
            ours.add_node(str(node), payload=payload)
            theirs.add_node(node, payload=payload)
        else:
            _, source, target, payload = op
            assert ours.add_edge(str(source), str(target), key=None, payload=payload) == \
                theirs.add_edge(source, target, key=None, payload=payload)
    return ours, theirs


@settings(max_examples=300, deadline=None)
@given(OPS)
def test_same_answers_in_the_same_order_as_networkx(ops: list[tuple[object, ...]]) -> None:
    ours, theirs = _both(ops)
    t: nx.MultiDiGraph = theirs  # type: ignore[assignment]
    assert list(ours.nodes) == list(t.nodes)
    assert list(ours.nodes(data=True)) == list(t.nodes(data=True))
    assert list(ours.nodes(data="payload")) == list(t.nodes(data="payload"))
    assert ours.edges(data="payload") == list(t.edges(data="payload"))
    for node in [*t.nodes, "m9"]:  # "m9" was never added: no edges either way
        assert ours.out_edges(node, data="payload") == list(t.out_edges(node, data="payload"))
        assert ours.in_edges(node, data="payload") == list(t.in_edges(node, data="payload"))
        assert (node in ours, ours.has_node(node)) == (node in t, t.has_node(node))
        assert ours.nodes.get(node, {}) == t.nodes.get(node, {})
    assert (len(ours), ours.number_of_nodes(), ours.number_of_edges()) == \
        (len(t), t.number_of_nodes(), t.number_of_edges())
    assert list(weakly_connected_components(ours)) == list(nx.weakly_connected_components(t))


@settings(max_examples=100, deadline=None)
@given(OPS, OPS)
def test_composed_as_networkx_composes(first: list[tuple[object, ...]], second: list[tuple[object, ...]]) -> None:
    ours_a, theirs_a = _both(first)
    ours_b, theirs_b = _both(second)
    ours = compose_all([ours_a, ours_b])
    theirs = nx.compose_all([theirs_a, theirs_b])
    assert list(ours.nodes(data=True)) == list(theirs.nodes(data=True))
    assert ours.edges(data="payload") == list(theirs.edges(data="payload"))
    for node in theirs.nodes:
        assert ours.in_edges(node, data="payload") == list(theirs.in_edges(node, data="payload"))


def test_an_edge_adds_its_missing_ends_without_payload() -> None:
    graph = MultiDiGraph()
    graph.add_node("b", payload="B")
    assert graph.add_edge("a", "b", payload="e1") == 0
    assert graph.add_edge("a", "b", payload="e2") == 1
    assert list(graph.nodes(data="payload")) == [("b", "B"), ("a", None)]
    assert graph.in_edges("b", data="payload") == [("a", "b", "e1"), ("a", "b", "e2")]
    assert [sorted(part) for part in weakly_connected_components(graph)] == [["a", "b"]]


# ``ServiceGraph`` keeps its component indexes up to date as components are added or replaced
# (a Terraform build asks after every module); they must answer as if built from scratch.
ADDS = st.lists(st.tuples(st.integers(0, 9), st.sampled_from(list(Role)[:4]), st.integers(1, 5),
                          st.sampled_from(["a", "a/b", "c"]), st.sampled_from([[], ["tg1"], ["tg1", "tg2"]]),
                          st.booleans(), st.sampled_from(["components", "roles", "find", "groups", "relabel", None])),
                min_size=1, max_size=30)


@settings(max_examples=200, deadline=None)
@given(ADDS)
def test_component_indexes_kept_as_components_come_and_are_replaced(adds: list[tuple[Any, ...]]) -> None:
    kept = ServiceGraph()
    roles = tuple(list(Role)[:2])
    for n, role, line, directory, groups, external, ask in adds:
        kept.add(Component(id=f"c{n}", name=f"svc{n % 3}", role=role, role_reason="test", origin="test",
                           location=Location(f"{directory}/f.yml", line, 1), target_groups=groups,
                           external=external))
        if ask == "components":
            kept.components()
        elif ask == "roles":
            kept.components(*roles, external=True)
        elif ask == "find":
            kept.find_component("svc1", near="a/b/x.yml")
        elif ask == "groups":
            kept.in_target_groups({"tg1"})
        elif ask == "relabel":  # changed in place, then added again (as a provider does for a CDN)
            changed = kept.node(f"c{n}")
            assert isinstance(changed, Component)
            changed.role = list(Role)[(list(Role).index(role) + 1) % 4]
            kept.add(changed)
    fresh = ServiceGraph()
    for node in kept.components(external=True):
        fresh.add(node)
    assert kept.components() == fresh.components()
    assert kept.components(*roles, external=True) == fresh.components(*roles, external=True)
    for name in ("svc0", "svc1", "svc2"):
        for near in ("a/b/x.yml", "c/y.yml", None):
            assert kept.find_component(name, near=near) is fresh.find_component(name, near=near)
    assert kept.in_target_groups({"tg1", "tg2"}) == fresh.in_target_groups({"tg1", "tg2"})
    assert kept.in_target_groups({"tg2"}) == [c for c in fresh.components() if "tg2" in c.target_groups]
