"""The order IoTDB 2.0.1 lists the series a wildcard path expands to.

IoTDB expands ``select * from root.**`` by walking a schema tree fetched for the query: each
node keeps its children in a `java.util.HashMap`, so a node's children come out by hash bucket
(``(h ^ h >>> 16) & (capacity - 1)`` of Java's ``String.hashCode``, capacity 16 doubled while
the node has more than 3/4 of it), depth first. The tree holds only the series the query's
paths match, so a node's capacity counts its matched children. Within a bucket the order is
the reverse of the schema region's: there the node's children live in a
`ConcurrentHashMap` (capacity doubled when it reaches 3/4 full; a resize splits each bucket,
reversing the part before its last run), and the fetched tree is serialised children first and
read back through a stack. A node is keyed by its text as IoTDB writes it (back-quoted
where a SELECT header quotes it). The region's map is filled in creation order: pipecore takes the
devices' creation order and each device's measurements' (what the store keeps and restores).
Checked against a real IoTDB 2.0.1 on random schemas (tests/interop/test_iotdb_select_order.py).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from pipecore_storage.paths import iotdb_node, split_path

__all__ = ["iotdb_series_order", "java_hashmap_order", "java_string_hash"]


@functools.lru_cache(maxsize=1 << 16)
def java_string_hash(name: str) -> int:
    """Java's ``String.hashCode`` (over UTF-16 code units) as an unsigned 32-bit int."""
    data = name.encode("utf-16-be")
    h = 0
    for i in range(0, len(data), 2):
        h = (31 * h + ((data[i] << 8) | data[i + 1])) & 0xFFFFFFFF
    return h


@functools.lru_cache(maxsize=1 << 16)
def _spread(name: str) -> int:
    h = java_string_hash(iotdb_node(name))  # IoTDB keys a node by its back-quoted text
    return (h ^ (h >> 16)) & 0x7FFFFFFF


@functools.lru_cache(maxsize=1 << 16)
def _nodes(device: str) -> tuple[str, ...]:
    return tuple(split_path(device))


def _hashmap_capacity(size: int) -> int:
    capacity = 16
    while size > capacity * 3 // 4:
        capacity *= 2
    return capacity


@functools.lru_cache(maxsize=4096)
def _concurrent_order(names: tuple[str, ...]) -> tuple[str, ...]:
    """Iteration order of a ConcurrentHashMap filled with `names` in order (no removals);
    cached: a node's children change only when the schema does."""
    size = 0
    bins: list[list[str]] = [[] for _ in range(16)]
    for name in names:
        bins[_spread(name) & (len(bins) - 1)].append(name)
        size += 1
        n = len(bins)
        if size >= n - (n >> 2):  # resize: each bin splits into i and i + n
            grown: list[list[str]] = [[] for _ in range(2 * n)]
            for i, nodes in enumerate(bins):
                if not nodes:
                    continue
                bits = [_spread(k) & n for k in nodes]
                last = max((j for j in range(1, len(nodes)) if bits[j] != bits[j - 1]), default=0)
                # the last run keeps its order; the nodes before it are prepended one by one
                run = nodes[last:]
                low = [k for j, k in enumerate(nodes[:last]) if not bits[j]][::-1]
                high = [k for j, k in enumerate(nodes[:last]) if bits[j]][::-1]
                (high if bits[last] else low).extend(run)
                grown[i], grown[i + n] = low, high
            bins = grown
    return tuple(k for b in bins for k in b)


def java_hashmap_order(children: Sequence[str], region_order: Sequence[str]) -> list[str]:
    """The fetched tree's order of one node's `children`: by bucket of a HashMap holding just
    them, within a bucket the reverse of `region_order` (the region's iteration order)."""
    capacity = _hashmap_capacity(len(children))
    rank = {name: i for i, name in enumerate(region_order)}
    return sorted(children, key=lambda k: (_spread(k) & (capacity - 1), -rank.get(k, -1)))


def iotdb_series_order(store: Any, found: Sequence[Any]) -> dict[str, int]:
    """{series path: rank} of the series `found` (SeriesInfo) in IoTDB's expansion order."""
    kids: dict[tuple[str, ...], dict[str, None]] = {}
    leaf: dict[tuple[str, ...], str] = {}
    device_nodes: dict[str, tuple[str, ...]] = {}
    for info in found:
        device = device_nodes.get(info.device)
        if device is None:
            device = device_nodes[info.device] = _nodes(info.device)
            for depth in range(1, len(device)):
                kids.setdefault(device[:depth], {})[device[depth]] = None
        nodes = (*device, info.measurement)
        if nodes not in leaf:
            leaf[nodes] = info.path
            kids.setdefault(device, {})[info.measurement] = None
    created = _creation_order(store, kids)
    out: dict[str, int] = {}

    def walk(node: tuple[str, ...]) -> None:
        if node in leaf:
            out[leaf[node]] = len(out)
        children = kids.get(node)
        if not children:
            return
        region = _concurrent_order(tuple(created.get(node, children)))
        order = java_hashmap_order(list(children), region)
        for child in order:
            walk((*node, child))

    for top in [k for k in kids if len(k) == 1]:
        walk(top)
    return out


def _creation_order(store: Any, wanted: dict[tuple[str, ...], Any]) -> dict:
    """{node: its children in the store's creation order} for the nodes of `wanted`: children
    below a node in the order of the first device under each, a device's own measurements in
    their creation order (placed where the device was created)."""
    devices = store.devices_in_creation_order()
    out: dict[tuple[str, ...], list[str]] = {}
    seen: dict[tuple[str, ...], set[str]] = {}
    for device in devices:
        nodes = _nodes(device)
        for depth in range(1, len(nodes)):
            parent = nodes[:depth]
            if parent in wanted and nodes[depth] not in seen.setdefault(parent, set()):
                seen[parent].add(nodes[depth])
                out.setdefault(parent, []).append(nodes[depth])
        if nodes in wanted:
            names = store.device_types(device) or {}
            mine = seen.setdefault(nodes, set())
            for name in names:
                if name not in mine:
                    mine.add(name)
                    out.setdefault(nodes, []).append(name)
    return out
