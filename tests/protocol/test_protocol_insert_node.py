"""InsertNode plan nodes (types 13/14/15) built by hand from §3.5, decoded into tablets."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from iotdb_wire import (
    f32,
    f64,
    i8,
    i32,
    i64,
    insert_row_node,
    insert_rows_node,
    insert_tablet_node,
    plan_node_tail,
    row_fields,
    schema,
    string,
)
from strategies import tablets

from pipecore_storage import MeasurementSchema, Tablet
from pipecore_storage.types import TSDataType
from pipecore_thrift_sink.protocol import (
    InsertRowNode,
    InsertRowsNode,
    InsertTabletNode,
    PipeProtocolError,
    decode_insert_node,
    encode_insert_node,
    insert_node_to_tablets,
)


def test_insert_tablet_node_from_the_reference_layout():
    body = insert_tablet_node(
        "root.sg.d1",
        ["s1", "s2", "s3"],
        [1, 5, 3],  # INT32, TEXT, FLOAT
        [100, 200, 300],
        [
            i32(1) + i32(2) + i32(3),
            string("a") + i32(0) + string("ccc"),
            f32(0.5) + f32(0) + f32(-1.5),
        ],
        bitmaps=[None, bytes([0b010]), bytes([0b010])],  # rowCount/8+1 = 1 byte each
        aligned=True,
    )
    node = decode_insert_node(body)
    assert isinstance(node, InsertTabletNode) and not node.has_schema
    assert node.plan_node_id == "pid"
    [tablet] = insert_node_to_tablets(node)
    assert tablet.device == "root.sg.d1" and tablet.aligned
    assert [s.data_type for s in tablet.schemas] == [
        TSDataType.INT32,
        TSDataType.TEXT,
        TSDataType.FLOAT,
    ]
    assert list(tablet.iter_rows()) == [
        (100, [1, "a", 0.5]),
        (200, [2, None, None]),
        (300, [3, "ccc", -1.5]),
    ]


def test_insert_tablet_node_with_schemas_and_without_children_count():
    body = insert_tablet_node(
        "root.x",
        ["b"],
        [0],
        [1, 2],
        [b"\x01\x00"],
        schemas=[schema("b", 0, 2, 1)],  # BOOLEAN RLE SNAPPY
    )
    node = decode_insert_node(body[:-4])  # PlanNodeType.deserialize leaves the count unread
    assert node.has_schema and node.tablet.schemas[0].encoding.name == "RLE"
    assert list(node.tablet.iter_rows()) == [(1, [True]), (2, [False])]


def test_insert_row_node_with_null_raw_string_and_every_type():
    typed = [
        i8(0) + b"\x01",
        i8(1) + i32(-7),
        i8(2) + i64(2**62),
        i8(3) + f32(1.25),
        i8(4) + f64(2.5),
        i8(5) + string("t\u00e4xt"),
        i8(-2),  # TYPE_NULL
        i8(-1) + string("3.5"),  # TYPE_RAW_STRING
        i8(8) + i64(-1),
        i8(9) + i32(20240229),
        i8(10) + string(b"\x00\x01"),
        i8(11) + string("str"),
    ]
    names = [f"m{i}" for i in range(len(typed))]
    node = decode_insert_node(insert_row_node(42, "root.r.d", names, typed, infer=True))
    assert isinstance(node, InsertRowNode)
    assert node.time == 42 and node.need_infer_type and not node.aligned
    assert node.data_types[6] is None and node.values[6] is None
    assert node.data_types[7] is None and node.values[7] == "3.5"
    [tablet] = insert_node_to_tablets(node)
    # the null without a known type carries no column; the raw string is inferred as DOUBLE
    assert tablet.measurements == [n for n in names if n != "m6"]
    got = dict(zip(tablet.measurements, next(tablet.iter_rows())[1], strict=True))
    assert got == {
        "m0": True,
        "m1": -7,
        "m2": 2**62,
        "m3": 1.25,
        "m4": 2.5,
        "m5": "t\u00e4xt",
        "m7": 3.5,
        "m8": -1,
        "m9": 20240229,
        "m10": b"\x00\x01",
        "m11": "str",
    }
    assert tablet.schemas[tablet.index_of("m7")].data_type is TSDataType.DOUBLE


@pytest.mark.parametrize(
    ("raw", "data_type", "value"),
    [
        ("true", TSDataType.BOOLEAN, True),
        ("FALSE", TSDataType.BOOLEAN, False),
        ("12", TSDataType.DOUBLE, 12.0),
        ("-1.5e3", TSDataType.DOUBLE, -1500.0),
        ("hello", TSDataType.TEXT, "hello"),
    ],
)
def test_raw_strings_are_inferred_as_iotdb_does(raw, data_type, value):
    body = insert_row_node(1, "root.i", ["v"], [i8(-1) + string(raw)], infer=True)
    [tablet] = insert_node_to_tablets(decode_insert_node(body))
    assert tablet.schemas[0].data_type is data_type
    assert next(tablet.iter_rows())[1] == [value]


def test_raw_nan_is_a_double():
    body = insert_row_node(1, "root.i", ["v"], [i8(-1) + string("NaN")], infer=True)
    [tablet] = insert_node_to_tablets(decode_insert_node(body))
    assert tablet.schemas[0].data_type is TSDataType.DOUBLE
    assert math.isnan(tablet.columns[0][0])


def test_insert_rows_node_groups_rows_per_device_in_order():
    rows = [
        row_fields(1, "root.a", ["x"], [i8(2) + i64(10)]),
        row_fields(2, "root.b", ["y"], [i8(5) + string("q")], aligned=True),
        row_fields(1, "root.a", ["x", "z"], [i8(2) + i64(11), i8(0) + b"\x00"]),
        row_fields(3, "root.a", ["x"], [i8(4) + f64(0.5)]),  # x changes type: new tablet
    ]
    node = decode_insert_node(insert_rows_node(rows))
    assert isinstance(node, InsertRowsNode) and node.indexes == (0, 1, 2, 3)
    a1, b, a2 = insert_node_to_tablets(node)
    assert (a1.device, b.device, a2.device) == ("root.a", "root.b", "root.a")
    assert list(a1.iter_rows()) == [(1, [10, None]), (1, [11, False])]
    assert a1.sorted().row_count == 1 and list(a1.sorted().iter_rows()) == [(1, [11, False])]
    assert b.aligned and list(b.iter_rows()) == [(2, ["q"])]
    assert list(a2.iter_rows()) == [(3, [0.5])]


def test_row_and_rows_encoders_match_the_hand_built_bytes():
    typed = [i8(1) + i32(5), i8(-2), i8(-1) + string("abc")]
    expected = insert_row_node(7, "root.e", ["a", "b", "c"], typed, infer=True)
    node = decode_insert_node(expected)
    assert encode_insert_node(node) == expected
    rows_body = insert_rows_node([row_fields(7, "root.e", ["a"], [i8(1) + i32(5)])])
    assert encode_insert_node(decode_insert_node(rows_body)) == rows_body


def test_tablet_encoder_matches_the_hand_built_bytes():
    body = insert_tablet_node(
        "root.t",
        ["p", "q"],
        [2, 11],
        [5, 6],
        [i64(1) + i64(2), string("u") + i32(0)],
        bitmaps=[None, bytes([0b10])],
    )
    assert encode_insert_node(decode_insert_node(body)) == body


@settings(max_examples=60, deadline=None)
@given(tablets(max_rows=12, max_columns=4), st.booleans())
def test_insert_tablet_node_round_trip(tablet, with_schema):
    node = InsertTabletNode(tablet, with_schema, "node-1")
    back = decode_insert_node(encode_insert_node(node))
    assert back.tablet.equals(tablet) and back.tablet.aligned == tablet.aligned
    assert back.plan_node_id == "node-1" and back.has_schema == with_schema
    if with_schema:
        assert back.tablet.schemas == tablet.schemas


@settings(max_examples=60, deadline=None)
@given(tablets(max_rows=6, max_columns=4, devices=st.sampled_from(["root.a", "root.b"])))
def test_rows_of_a_tablet_come_back_as_the_same_tablet(tablet):
    rows = tuple(
        InsertRowNode(
            t,
            tablet.device,
            tuple(tablet.measurements),
            tuple(s.data_type for s in tablet.schemas),
            tuple(values),
            tuple(tablet.schemas),
            aligned=tablet.aligned,
        )
        for t, values in tablet.iter_rows()
    )
    back = decode_insert_node(encode_insert_node(InsertRowsNode(rows)))
    got = insert_node_to_tablets(back)
    if tablet.row_count == 0:
        assert got == []
        return
    [one] = got
    assert one.equals(tablet)


def test_rejected_node_types_and_children():
    with pytest.raises(PipeProtocolError, match="not accepted"):
        decode_insert_node(b"\x00\x10" + b"\x00" * 20)
    with pytest.raises(PipeProtocolError, match="not an insert plan node"):
        decode_insert_node(b"\x00\x2c" + b"\x00" * 20)
    body = insert_row_node(1, "root.c", ["v"], [i8(1) + i32(1)])
    with pytest.raises(PipeProtocolError, match="children"):
        decode_insert_node(body[:-4] + i32(2))


def test_rows_with_schemas_convert_raw_strings_to_the_schema_type():
    row = InsertRowNode(
        5,
        "root.s",
        ("v",),
        (None,),
        ("17",),
        (MeasurementSchema("v", "INT32"),),
        need_infer_type=True,
    )
    [tablet] = insert_node_to_tablets(decode_insert_node(encode_insert_node(row)))
    assert tablet.schemas[0].data_type is TSDataType.INT32
    assert tablet.columns[0].dtype == np.int32 and tablet.columns[0][0] == 17
    bad = InsertRowNode(5, "root.s", ("v",), (None,), ("x",), (MeasurementSchema("v", "INT32"),))
    with pytest.raises(PipeProtocolError, match="INT32"):
        insert_node_to_tablets(bad)


def test_empty_tablet_node():
    tablet = Tablet.empty("root.e", [MeasurementSchema("a", "TEXT")])
    back = decode_insert_node(encode_insert_node(InsertTabletNode(tablet)))
    assert back.tablet.row_count == 0
    assert plan_node_tail("") == encode_insert_node(InsertTabletNode(tablet))[-8:]
