"""The directed multigraph under ``graph.ServiceGraph``: the part of networkx's ``MultiDiGraph``
the graph uses, with the same iteration orders.

networkx costs a quarter of a one-file scan's CPU to import (it loads every algorithm it has),
and a pre-commit hook pays that on every commit; the service graph needs adjacency dicts and
weakly connected components only. Orders match networkx's exactly (nodes as first added, edges
by source node, then by target as first linked, then by key; components in the order of their
first node), because deployment numbers and every sorted tie in the report follow from them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

_Attrs = dict[str, Any]


class NodeView:
    """``g.nodes``: a mapping of node to its attributes, and callable as ``g.nodes(data=...)``."""

    def __init__(self, nodes: dict[str, _Attrs]) -> None:
        self._nodes = nodes

    def __getitem__(self, node: str) -> _Attrs:
        return self._nodes[node]

    def __iter__(self) -> Iterator[str]:
        return iter(self._nodes)

    def __len__(self) -> int:
        return len(self._nodes)

    def __contains__(self, node: object) -> bool:
        return node in self._nodes

    def get(self, node: str, default: Any = None) -> Any:
        return self._nodes.get(node, default)

    def __call__(self, data: bool | str = False) -> list[Any]:
        if data is True:
            return list(self._nodes.items())
        if data is False:
            return list(self._nodes)
        return [(node, attrs.get(data)) for node, attrs in self._nodes.items()]


class MultiDiGraph:
    def __init__(self) -> None:
        self._node: dict[str, _Attrs] = {}
        self._succ: dict[str, dict[str, dict[int, _Attrs]]] = {}
        self._pred: dict[str, dict[str, dict[int, _Attrs]]] = {}
        self.nodes = NodeView(self._node)

    def add_node(self, node: str, **attrs: Any) -> None:
        if node not in self._node:
            self._succ[node] = {}
            self._pred[node] = {}
            self._node[node] = attrs
        else:
            self._node[node].update(attrs)

    def add_edge(self, source: str, target: str, key: int | None = None, **attrs: Any) -> int:
        for node in (source, target):
            if node not in self._node:
                self.add_node(node)
        keys = self._succ[source].setdefault(target, {})
        if key is None:
            key = len(keys)
            while key in keys:
                key += 1
        data = keys.setdefault(key, {})
        data.update(attrs)
        self._pred[target].setdefault(source, keys)
        return key

    def has_node(self, node: str) -> bool:
        return node in self._node

    def __contains__(self, node: object) -> bool:
        return node in self._node

    def __len__(self) -> int:
        return len(self._node)

    def __iter__(self) -> Iterator[str]:
        return iter(self._node)

    def number_of_nodes(self) -> int:
        return len(self._node)

    def number_of_edges(self) -> int:
        return sum(len(keys) for targets in self._succ.values() for keys in targets.values())

    def edges(self, data: str) -> list[tuple[str, str, Any]]:
        return [(s, t, attrs.get(data)) for s, targets in self._succ.items()
                for t, keys in targets.items() for attrs in keys.values()]

    # A node not in the graph has no edges (networkx's answer for a string id too).
    def out_edges(self, node: str, data: str) -> list[tuple[str, str, Any]]:
        return [(node, t, attrs.get(data)) for t, keys in self._succ.get(node, {}).items() for attrs in keys.values()]

    def in_edges(self, node: str, data: str) -> list[tuple[str, str, Any]]:
        return [(s, node, attrs.get(data)) for s, keys in self._pred.get(node, {}).items() for attrs in keys.values()]


def weakly_connected_components(graph: MultiDiGraph) -> Iterator[set[str]]:
    """The node sets joined by edges in either direction, in the order of their first node."""
    seen: set[str] = set()
    for start in graph:
        if start in seen:
            continue
        part = {start}
        frontier = [start]
        while frontier:
            node = frontier.pop()
            for neighbour in (*graph._succ[node], *graph._pred[node]):
                if neighbour not in part:
                    part.add(neighbour)
                    frontier.append(neighbour)
        seen |= part
        yield part


def compose_all(graphs: Iterable[MultiDiGraph]) -> MultiDiGraph:
    """The graphs side by side, as networkx's ``compose_all``: each one's nodes then its edges,
    in turn; a node or an edge (same ends, same key) in a later graph updates the earlier."""
    merged = MultiDiGraph()
    for graph in graphs:
        for node, attrs in graph._node.items():
            merged.add_node(node, **attrs)
        for source, targets in graph._succ.items():
            for target, keys in targets.items():
                for key, attrs in keys.items():
                    merged.add_edge(source, target, key=key, **attrs)
    return merged
