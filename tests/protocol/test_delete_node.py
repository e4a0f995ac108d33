"""IoTDB's realtime deletion on the pipe (DeleteDataNode in TRANSFER_SCHEMA_PLAN)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipecore_thrift_sink.protocol import PipeProtocolError
from pipecore_thrift_sink.protocol.delete_node import (
    DeleteDataNode,
    decode_delete_node,
    encode_delete_node,
    plan_type,
)

# A PartialPath with its device and full path set, as IoTDB may send it: type 2, measurement
# "s" (flag 1), device root.sg.d (flag 1, uvar 3 segments of zigzag-varint strings), full path
# (flag 1), then the nodes.
_NODES = [b"root", b"sg", b"d", b"s"]
SENT = (
    b"\x00\x2c" + b"\x00\x00\x00\x01"
    + b"\x02" + b"\x01\x00\x00\x00\x01s"
    + b"\x01\x03" + b"\x0eroot.sg" + b"\x02d" + b"\x02s"
    + b"\x01\x00\x00\x00\x0broot.sg.d.s"
    + b"\x00\x00\x00\x04" + b"".join(len(n).to_bytes(4, "big") + n for n in _NODES)
    + (-5).to_bytes(8, "big", signed=True) + (99).to_bytes(8, "big")
    + b"\x00\x00\x00\x02id" + b"\x00\x00\x00\x00"
)  # fmt: skip


def test_decodes_a_path_with_every_optional_field() -> None:
    assert plan_type(SENT) == 44
    assert decode_delete_node(SENT) == DeleteDataNode(("root.sg.d.s",), -5, 99, "id")


def _istr(b: bytes) -> bytes:
    return len(b).to_bytes(4, "big") + b


def test_decodes_a_measurement_path() -> None:
    # type 0 (what IoTDB 2.0.1 sends for DELETE FROM root.sg.d.s): the PartialPath fields
    # (all three optional fields null here), then schema (flag 1: type 0, name, type /
    # encoding / compression bytes, 0 props), tags (flag 1: one pair), isUnderAlignedEntity,
    # alias (null)
    path = (
        b"\x00" + b"\x00\x00\x00" + (4).to_bytes(4, "big") + b"".join(map(_istr, _NODES))
        + b"\x01\x00" + _istr(b"s") + b"\x02\x04\x07" + (0).to_bytes(4, "big")
        + b"\x01" + (1).to_bytes(4, "big") + _istr(b"k") + _istr(b"v")
        + b"\x00" + b"\xff\xff\xff\xff"
    )  # fmt: skip
    body = (
        b"\x00\x2c" + (2).to_bytes(4, "big") + path + path
        + (1).to_bytes(8, "big") + (2).to_bytes(8, "big") + _istr(b"x") + bytes(4)
    )  # fmt: skip
    assert decode_delete_node(body) == DeleteDataNode(("root.sg.d.s", "root.sg.d.s"), 1, 2, "x")


def test_other_plan_nodes_and_path_kinds_are_refused() -> None:
    with pytest.raises(PipeProtocolError):
        decode_delete_node(b"\x00\x05" + SENT[2:])
    with pytest.raises(PipeProtocolError):  # an unknown path type
        decode_delete_node(SENT[:6] + b"\x03" + SENT[7:])
    with pytest.raises(PipeProtocolError):
        decode_delete_node(SENT[:20])


@given(
    st.lists(
        st.from_regex(r"root(\.[a-z0-9_]{1,6}){1,4}(\.\*\*)?", fullmatch=True),
        min_size=1,
        max_size=4,
    ),
    st.integers(-(2**63), 2**63 - 1),
    st.integers(-(2**63), 2**63 - 1),
)
def test_round_trip(patterns: list[str], start: int, end: int) -> None:
    node = DeleteDataNode(tuple(patterns), start, end, "n1")
    assert decode_delete_node(encode_delete_node(node)) == node


def test_every_path_goes_as_a_measurement_path() -> None:
    """IoTDB 2.0.1's DeleteDataNode.deserialize casts every path to MeasurementPath (type 0),
    patterns included (a PartialPath, type 2, fails with a ClassCastException: 1107)."""
    body = encode_delete_node(DeleteDataNode(("root.sg.d.s", "root.sg.**"), 0, 9))
    assert body[6] == 0  # the first path's type
    # the second path: after the first's 3 null markers, 4 nodes and its 4 MeasurementPath tails
    first_end = 7 + 3 + 4 + sum(4 + len(n) for n in ("root", "sg", "d", "s")) + 3 + 4
    assert body[first_end] == 0
    assert decode_delete_node(body).patterns == ("root.sg.d.s", "root.sg.**")
