"""forwarding-pipe-requests: A⇄B bidirectional sync does not loop; A→B→C cascades.

The sink here is an in-process stand-in for a pipe receiver: it writes tablets into the other
node's store with ``Origin.pipe(<sender cluster id>)`` and LOADs files with that origin, as
the thrift receiver does (reference §4.7). The real-network versions belong to the thrift
sink's tests.
"""

from __future__ import annotations

import time

import pytest
from source_helpers import TARGETS, int_tablet, open_node, recording, store_points, wait_until


@pytest.fixture
def nodes(tmp_path):
    opened = {}

    def make(name: str):
        node = open_node(tmp_path / name)
        opened[name] = node
        TARGETS[f"{tmp_path}/{name}"] = node.store
        return node

    yield make
    for node in opened.values():
        node.close()


def _sink(tmp_path, target: str, name: str) -> dict[str, str]:
    return {"sink": "store-writer-sink", "target": f"{tmp_path}/{target}", "name": name}


def _quiet(*stores, seconds: float = 0.4) -> None:
    """Nothing is written any more: the sync has stopped."""
    before = [s.last_seq for s in stores]
    time.sleep(seconds)
    assert [s.last_seq for s in stores] == before


@pytest.mark.parametrize("mode", ["stream", "batch", "hybrid"])
def test_bidirectional_without_forwarding_each_point_once_and_it_stops(tmp_path, nodes, mode):
    a, b = nodes("A"), nodes("B")
    source = {
        "source.forwarding-pipe-requests": "false",
        "source.history.enable": "false",
        "source.realtime.mode": mode,
    }
    a.create_pipe("AB", source, {}, _sink(tmp_path, "B", f"AB-{mode}"))
    b.create_pipe("BA", source, {}, _sink(tmp_path, "A", f"BA-{mode}"))
    for k in range(10):
        a.store.insert_tablet(int_tablet("root.a.d1", range(k * 10, k * 10 + 10)))
        b.store.insert_tablet(int_tablet("root.b.d1", range(k * 10, k * 10 + 10)))
        if mode != "stream" and k % 4 == 3:
            a.store.flush()
            b.store.flush()
    a.store.flush()
    b.store.flush()
    wait_until(
        lambda: (
            store_points(a.store) == store_points(b.store) and len(store_points(a.store)) == 200
        ),
        what="both sides hold both sides' data",
    )
    ab, ba = recording(f"AB-{mode}"), recording(f"BA-{mode}")
    wait_until(lambda: ab.received_points == 100 and ba.received_points == 100)
    a.store.flush()
    b.store.flush()  # what B received is sealed now: a pipe-generated file, not sent back
    _quiet(a.store, b.store)
    assert ab.received_points == 100 and ba.received_points == 100  # each point once


def test_bidirectional_with_forwarding_would_echo(tmp_path, nodes):
    """The control: with forwarding on, what B received from A is sent back to A."""
    a, b = nodes("A"), nodes("B")
    source = {"source.history.enable": "false", "source.realtime.mode": "stream"}
    a.create_pipe("AB", source, {}, _sink(tmp_path, "B", "AB-echo"))
    b.create_pipe("BA", source, {}, _sink(tmp_path, "A", "BA-echo"))
    a.store.insert_tablet(int_tablet("root.a.d1", range(10)))
    ba = recording("BA-echo")
    wait_until(lambda: ba.received_points >= 10, what="the echo")
    a.stop_pipe("AB")
    b.stop_pipe("BA")


@pytest.mark.parametrize("mode", ["stream", "batch"])
def test_cascade_a_to_b_to_c(tmp_path, nodes, mode):
    a, b, c, c2 = nodes("A"), nodes("B"), nodes("C"), nodes("C2")
    rt = {"source.realtime.mode": mode}
    a.store.insert_tablet(int_tablet("root.a.d1", range(50)))
    a.create_pipe("AB", rt, {}, _sink(tmp_path, "B", f"cAB-{mode}"))
    b.create_pipe(
        "BC", {**rt, "source.forwarding-pipe-requests": "true"}, {}, _sink(tmp_path, "C", "BC")
    )
    b.create_pipe(
        "BC2", {**rt, "source.forwarding-pipe-requests": "false"}, {}, _sink(tmp_path, "C2", "B2")
    )
    a.store.insert_tablet(int_tablet("root.a.d1", range(50, 80)))
    b.store.insert_tablet(int_tablet("root.b.d1", range(20)))
    for node in (a, b):
        node.store.flush()
    wait_until(lambda: len(store_points(b.store)) == 100, what="A's data on B")
    b.store.flush()
    wait_until(lambda: store_points(c.store) == store_points(b.store), what="A→B→C")
    assert {p[0] for p in store_points(c.store)} == {"root.a.d1.s1", "root.b.d1.s1"}
    # without forwarding, C2 gets only what B's own clients wrote
    wait_until(lambda: len(store_points(c2.store)) == 20, what="B's own data on C2")
    _quiet(b.store, c2.store)
    assert {p[0] for p in store_points(c2.store)} == {"root.b.d1.s1"}
