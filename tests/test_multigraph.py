"""``multigraph.MultiDiGraph`` answers as networkx's did, in the same orders: deployment numbers
and every sorted tie in a report follow from them, so a different order is a different report."""

from __future__ import annotations

import networkx as nx
from hypothesis import given, settings
from hypothesis import strategies as st

from bitriver_lint.multigraph import MultiDiGraph, weakly_connected_components

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


def test_an_edge_adds_its_missing_ends_without_payload() -> None:
    graph = MultiDiGraph()
    graph.add_node("b", payload="B")
    assert graph.add_edge("a", "b", payload="e1") == 0
    assert graph.add_edge("a", "b", payload="e2") == 1
    assert list(graph.nodes(data="payload")) == [("b", "B"), ("a", None)]
    assert graph.in_edges("b", data="payload") == [("a", "b", "e1"), ("a", "b", "e2")]
    assert [sorted(part) for part in weakly_connected_components(graph)] == [["a", "b"]]
