"""Tablet batches (type 6): WAL-entry buffers, InsertNodes and tablets in one request."""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from pipecore_storage.tablet import Tablet

from .insert_node import InsertNode, read_insert_node, write_insert_node
from .io import BodyReader, BodyWriter
from .tablet import read_tablet, write_tablet

__all__ = ["TabletBatch", "TabletBatchBuilder", "decode_tablet_batch", "encode_tablet_batch"]


@attrs.frozen
class TabletBatch:
    """A decoded type-6 body.

    `binary_items` are WAL-entry buffers (type-7 bodies) that senders of 1.3.0–1.3.6 put in
    front; pipecore does not decode them (reference §3.6) — a receiver must refuse a batch
    that has any, never drop them silently.
    """

    binary_items: tuple[bytes, ...] = ()
    insert_nodes: tuple[InsertNode, ...] = ()
    tablets: tuple[Tablet, ...] = ()


def encode_tablet_batch(
    tablets: Iterable[Tablet] = (),
    insert_nodes: Iterable[InsertNode] = (),
    binary_items: Iterable[bytes] = (),
) -> bytes:
    """A type-6 body (each tablet carries its own isAligned byte from `Tablet.aligned`)."""
    builder = TabletBatchBuilder()
    for item in binary_items:
        builder.add_binary(item)
    for node in insert_nodes:
        builder.add_insert_node(node)
    for tablet in tablets:
        builder.add_tablet(tablet)
    return builder.body()


class TabletBatchBuilder:
    """Builds a type-6 body item by item; `size_bytes` tracks its size (``batch.size-bytes``)."""

    def __init__(self) -> None:
        self._binary: list[bytes] = []
        self._nodes: list[bytes] = []
        self._tablets: list[bytes] = []
        self.size_bytes = 12  # the three counts
        self.tablet_count = 0
        self.point_count = 0

    def __len__(self) -> int:
        return len(self._binary) + len(self._nodes) + len(self._tablets)

    def add_binary(self, item: bytes) -> int:
        w = BodyWriter()
        w.binary(item)
        return self._add(self._binary, w.getvalue())

    def add_insert_node(self, node: InsertNode) -> int:
        w = BodyWriter()
        write_insert_node(w, node)
        return self._add(self._nodes, w.getvalue())

    def add_tablet(self, tablet: Tablet) -> int:
        """Append a tablet; returns the bytes it added."""
        w = BodyWriter()
        write_tablet(w, tablet)
        w.bool(tablet.aligned)
        self.tablet_count += 1
        self.point_count += tablet.point_count()
        return self._add(self._tablets, w.getvalue())

    def _add(self, parts: list[bytes], data: bytes) -> int:
        parts.append(data)
        self.size_bytes += len(data)
        return len(data)

    def body(self) -> bytes:
        out = BodyWriter()
        for parts in (self._binary, self._nodes, self._tablets):
            out.i32(len(parts))
            for part in parts:
                out.raw(part)
        return out.getvalue()


def decode_tablet_batch(body: bytes) -> TabletBatch:
    r = BodyReader(body)
    n = r.count("batch.binaryCount", 4)
    binary = tuple(r.binary(f"batch.binary[{i}]") for i in range(n))
    n = r.count("batch.insertNodeCount", 2)
    nodes = tuple(read_insert_node(r, f"batch.insertNodes[{i}]") for i in range(n))
    n = r.count("batch.tabletCount", 8)
    tablets = []
    for i in range(n):
        tablet = read_tablet(r, f"batch.tablets[{i}]")
        tablet.aligned = r.bool(f"batch.tablets[{i}].isAligned")
        tablets.append(tablet)
    r.expect_end("tablet batch body")
    return TabletBatch(binary, nodes, tuple(tablets))
