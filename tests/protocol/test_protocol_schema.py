"""Schema requests (issue 16): IoTDB's CreateTimeSeriesNode (plan node 19 in request 100) and
pipecore's schema request (29002), and how a record list is cut into them."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipecore_thrift_sink.protocol.errors import PipeProtocolError
from pipecore_thrift_sink.protocol.schema_node import (
    decode_create_timeseries,
    encode_create_timeseries,
)
from pipecore_thrift_sink.protocol.schema_plan import (
    SCHEMA_REQUEST_TYPE,
    SchemaPlan,
    decode_schema_plan,
    encode_schema_plan,
    schema_requests,
)

CREATE = {
    "op": "create_series",
    "device": "root.sg.d1",
    "measurement": "s1",
    "type": "FLOAT",
    "encoding": "GORILLA",
    "compression": "ZSTD",
    "aligned": False,
    "props": [],
}
META = {
    "op": "series_meta",
    "device": "root.sg.d1",
    "measurement": "s1",
    "alias": "temperature",
    "tags": [["unit", "c"]],
    "attributes": [["owner", "x"]],
}


def test_create_timeseries_node_layout():
    """The bytes IoTDB's CreateTimeSeriesNode.serialize writes for the same series."""
    body = encode_create_timeseries(CREATE)
    path = b"root.sg.d1.s1"
    assert body == (
        b"\x00\x13"  # CREATE_TIME_SERIES = 19
        + len(path).to_bytes(4, "big") + path
        + bytes([3, 8, 8])  # FLOAT, GORILLA, ZSTD
        + b"\x00"  # no alias
        + b"\x00\x00\x00"  # props, tags, attributes: empty
        + b"\x00\x00\x00\x00"  # planNodeId ""
        + b"\x00\x00\x00\x00"  # no children
    )  # fmt: skip
    assert decode_create_timeseries(body) == [CREATE]


names = st.text("abcdefghxyz_0123456789", min_size=1, max_size=8).filter(str.isidentifier)


@given(
    alias=st.none() | names,
    tags=st.dictionaries(names, names, max_size=3),
    attributes=st.dictionaries(names, names, max_size=3),
    kind=st.sampled_from([("INT64", "TS_2DIFF", "LZ4"), ("TEXT", "DICTIONARY", "SNAPPY")]),
)
def test_create_timeseries_node_round_trip(alias, tags, attributes, kind):
    create = dict(CREATE, type=kind[0], encoding=kind[1], compression=kind[2])
    meta = dict(
        META,
        alias=alias,
        tags=[list(p) for p in tags.items()],
        attributes=[list(p) for p in attributes.items()],
    )
    decoded = decode_create_timeseries(encode_create_timeseries(create, meta))
    assert decoded[0] == create
    if alias is None and not tags and not attributes:
        assert decoded == [create]
    else:
        assert decoded[1] == meta


def test_truncated_or_foreign_nodes_are_protocol_errors():
    body = encode_create_timeseries(CREATE, META)
    with pytest.raises(PipeProtocolError):
        decode_create_timeseries(body[:20])
    with pytest.raises(PipeProtocolError):
        decode_create_timeseries(b"\x00\x2c" + body[2:])  # DELETE_DATA


def test_schema_plan_round_trip_and_refusals():
    plan = SchemaPlan(({"op": "create_database", "name": "root.sg"}, CREATE), snapshot=True)
    assert decode_schema_plan(encode_schema_plan(plan)) == plan
    for bad in (b"\xff", b"[]", b'{"records": [{"op": "drop_everything"}]}',
                b'{"records": [{"op": "create_series", "device": "root.a.d"}]}'):  # fmt: skip
        with pytest.raises(PipeProtocolError):
            decode_schema_plan(bad)


def test_records_are_cut_into_requests_in_order():
    aligned = dict(CREATE, device="root.sg.d2", aligned=True)
    records = [{"op": "create_database", "name": "root.sg"}, CREATE, META, aligned, CREATE]
    requests = list(schema_requests(records))
    assert [(t, n) for t, _, n in requests] == [
        (SCHEMA_REQUEST_TYPE, 1),
        (100, 2),  # the series with its alias, tags and attributes
        (SCHEMA_REQUEST_TYPE, 1),  # aligned: pipecore's request
        (100, 1),
    ]
    assert decode_create_timeseries(requests[1][1]) == [CREATE, META]
    assert decode_schema_plan(requests[2][1]).records == (aligned,)


def test_a_snapshot_s_metadata_travels_with_its_series():
    """A snapshot lists every series, then the metadata: each series' creation still carries
    its alias, tags and attributes (what IoTDB's node holds); a change in between does not."""
    other = dict(CREATE, measurement="s2")
    other_meta = dict(META, measurement="s2", alias="t2")
    records = [CREATE, other, META, {"op": "delete_series", "device": "root.sg.d1",
               "measurement": "s2"}, other_meta]  # fmt: skip
    requests = list(schema_requests(records))
    assert decode_create_timeseries(requests[0][1]) == [CREATE, META]
    assert decode_create_timeseries(requests[1][1]) == [other]
    assert [r["op"] for r in decode_schema_plan(requests[2][1]).records] == [
        "delete_series",
        "series_meta",
    ]


@settings(max_examples=300, deadline=None)
@given(
    data=st.binary(max_size=120),
    decode=st.sampled_from([decode_create_timeseries, decode_schema_plan]),
)
def test_random_bytes_are_protocol_errors_or_records(data, decode):
    with contextlib.suppress(PipeProtocolError):
        decode(data)


@given(st.data())
def test_mutated_nodes_fail_cleanly_or_decode_to_records(data):
    body = bytearray(encode_create_timeseries(CREATE, META))
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(body) - 1))
        body[i] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(body)))
    try:
        records = decode_create_timeseries(bytes(body[:cut]))
    except PipeProtocolError:
        return
    assert records[0]["op"] == "create_series"
    assert decode_create_timeseries(encode_create_timeseries(*records)) == records
