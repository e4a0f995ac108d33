"""IoTDB's ConfigNode plans and config snapshot files (protocol/config_plan.py): the layouts
written out byte by byte from IoTDB 2.0.1's classes, round trips, and the snapshot's plans as
IoTDB's receiver picks them (order, ``Type``, ``PathPattern``)."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipecore_thrift_sink.protocol import PipeProtocolError
from pipecore_thrift_sink.protocol import config_plan as cp


def istr(text: str) -> bytes:
    raw = text.encode()
    return struct.pack(">i", len(raw)) + raw


def thrift_db(name: str, ttl: int | None = None) -> bytes:
    """TDatabaseSchema in Thrift's binary protocol (field type, i16 id, value; 0 stops), with
    fields pipecore skips (3 schemaReplicationFactor i32, 7 maxSchemaRegionGroupNum i32)."""
    out = b"\x0b" + struct.pack(">h", 1) + istr(name)
    if ttl is not None:
        out += b"\x0a" + struct.pack(">hq", 2, ttl)
    out += b"\x08" + struct.pack(">hi", 3, 1) + b"\x08" + struct.pack(">hi", 7, 2)
    return out + b"\x02" + struct.pack(">h", 11) + b"\x00" + b"\x00"


def template_bytes(tid: int, name: str, aligned: bool, ms: list[tuple[str, int, int, int]]):
    out = struct.pack(">i", tid) + istr(name) + bytes([aligned]) + struct.pack(">i", len(ms))
    for m, dt, enc, comp in ms:
        out += istr(m) + b"\x00" + istr(m) + bytes([dt, enc, comp])
    return out


def test_create_database_as_iotdb_writes_it():
    body = struct.pack(">h", 200) + thrift_db("root.sg", ttl=3600)
    plan = cp.decode_config_plan(body)
    assert plan == cp.DatabasePlan(cp.DatabaseSchema("root.sg", ttl=3600))
    wrapped = struct.pack(">h", 1700) + body  # PipeEnriched: the inner plan
    assert cp.decode_config_plan(wrapped) == plan


def test_plan_layouts():
    assert cp.decode_config_plan(struct.pack(">h", 206) + istr("root.sg")) == cp.DeleteDatabase(
        "root.sg"
    )
    ttl = struct.pack(">hi", 201, 3) + istr("root") + istr("sg") + istr("**")
    ttl += struct.pack(">q", 86400000) + b"\x01"
    assert cp.decode_config_plan(ttl) == cp.SetTTL(("root", "sg", "**"), 86400000, True)
    # s1 INT32(1) RLE(2) SNAPPY(1), s2 FLOAT(3) GORILLA(8) LZ4(7)
    t = template_bytes(3, "t1", False, [("s1", 1, 2, 1), ("s2", 3, 8, 7)])
    create = struct.pack(">hi", 800, len(t)) + t
    assert cp.decode_config_plan(create) == cp.CreateTemplate(
        cp.TemplateDef(
            "t1", False, (("s1", "INT32", "RLE", "SNAPPY"), ("s2", "FLOAT", "GORILLA", "LZ4")), 3
        )
    )
    commit = struct.pack(">h", 813) + istr("t1") + istr("root.sg.d") + b"\x00"
    assert cp.decode_config_plan(commit) == cp.CommitSetTemplate("t1", "root.sg.d")
    unset = struct.pack(">h", 1701) + istr("t1") + istr("root.sg.d")
    assert cp.decode_config_plan(unset) == cp.UnsetTemplate("t1", "root.sg.d")
    assert cp.decode_config_plan(struct.pack(">h", 811) + istr("t1")) == cp.DropTemplate("t1")
    # ALTER SCHEMA TEMPLATE t1 ADD (s3 TEXT(5)): encodings given (PLAIN 0), compressors not
    extend = struct.pack(">h", 814) + istr("t1") + struct.pack(">i", 1) + istr("s3")
    extend += b"\x05" + b"\x01\x00" + b"\x00"
    assert cp.decode_config_plan(extend) == cp.ExtendTemplate(
        "t1", (("s3", "TEXT", "PLAIN", None),)
    )


def test_delete_timeseries_pattern_tree():
    def node(name: str, end: bool, *children: bytes) -> bytes:
        return (
            istr(name) + struct.pack(">ii", -1 if end else -2, len(children)) + b"".join(children)
        )

    tree = node(
        "root", False, node("sg", False, node("d", False, node("s", True)), node("*", True))
    )
    body = struct.pack(">hi", 1702, len(tree)) + tree
    plan = cp.decode_config_plan(body)
    assert isinstance(plan, cp.DeleteTimeSeries)
    assert sorted(plan.patterns) == ["root.sg.*", "root.sg.d.s"]


def test_unknown_and_malformed_plans():
    plan = cp.decode_config_plan(struct.pack(">h", 621) + b"user")  # CreateUser: not applied
    assert isinstance(plan, cp.UnknownPlan) and plan.type == 621
    with pytest.raises(PipeProtocolError):
        cp.decode_config_plan(struct.pack(">h", 200) + b"\x0b\x00")  # truncated struct
    with pytest.raises(PipeProtocolError):
        cp.decode_config_plan(struct.pack(">h", 200) + b"\x00")  # a schema without a name


NAMES = st.text("abcxyz_", min_size=1, max_size=8)
MEASUREMENTS = st.lists(
    st.tuples(
        NAMES,
        st.sampled_from(["INT32", "INT64", "FLOAT", "DOUBLE", "BOOLEAN", "TEXT"]),
        st.sampled_from(["PLAIN", "RLE", "GORILLA"]),
        st.sampled_from(["UNCOMPRESSED", "SNAPPY", "LZ4", "ZSTD"]),
    ),
    max_size=5,
    unique_by=lambda m: m[0],
)


@given(
    st.one_of(
        st.builds(
            lambda n, t: cp.DatabasePlan(cp.DatabaseSchema(f"root.{n}", t)),
            NAMES,
            st.none() | st.integers(0, 2**63 - 1),
        ),
        st.builds(lambda n: cp.DeleteDatabase(f"root.{n}"), NAMES),
        st.builds(
            lambda n, ttl: cp.SetTTL(("root", n, "**"), ttl, True),
            NAMES,
            st.integers(-1, 2**63 - 1),
        ),
        st.builds(
            lambda n, a, ms: cp.CreateTemplate(cp.TemplateDef(n, a, tuple(ms))),
            NAMES,
            st.booleans(),
            MEASUREMENTS,
        ),
        st.builds(lambda n, p: cp.CommitSetTemplate(n, f"root.{p}"), NAMES, NAMES),
        st.builds(lambda n, p: cp.UnsetTemplate(n, f"root.{p}"), NAMES, NAMES),
        st.builds(cp.DropTemplate, NAMES),
        st.builds(
            lambda n, ms, full: cp.ExtendTemplate(
                n, tuple((m, t, e if full else None, c if full else None) for m, t, e, c in ms)
            ),
            NAMES,
            MEASUREMENTS,
            st.booleans(),
        ),
    )
)
def test_encode_decode_round_trip(plan):
    assert cp.decode_config_plan(cp.encode_config_plan(plan)) == plan


def cluster_schema() -> bytes:
    """root ─ sg ─ a (database, a template set on a.d) ; root ─ b (database, template on b);
    root ─ x (no database, a template on x): children before parents, as ConfigMTree writes."""
    out = b"\x00" + istr("d") + struct.pack(">ii", 0, 0)  # internal d below database a
    out += b"\x01" + istr("a") + struct.pack(">i", -1) + thrift_db("root.sg.a")
    out += b"\x00" + istr("sg") + struct.pack(">ii", -1, 1)
    out += b"\x01" + istr("b") + struct.pack(">i", 1) + thrift_db("root.b")
    out += b"\x00" + istr("root") + struct.pack(">ii", -1, 2)
    return out


def template_info() -> bytes:
    t0 = template_bytes(0, "t0", False, [("s", 1, 0, 7), ("v", 5, 0, 7)])
    t1 = template_bytes(1, "t1", True, [("s", 2, 0, 7)])
    return struct.pack(">ii", 2, 2) + t0 + t1


ALL_SCHEMA = [cp.CREATE_DATABASE, cp.CREATE_SCHEMA_TEMPLATE, cp.COMMIT_SET_SCHEMA_TEMPLATE]


def test_schema_snapshot_plans_in_iotdb_order():
    plans = cp.snapshot_plans(cp.SNAPSHOT_SCHEMA, [cluster_schema(), template_info()], ALL_SCHEMA)
    assert [type(p).__name__ for p in plans] == [
        "CreateTemplate", "CreateTemplate", "DatabasePlan", "DatabasePlan",
        "CommitSetTemplate", "CommitSetTemplate",
    ]  # fmt: skip
    assert [p.name for p in plans[2:4]] == ["root.sg.a", "root.b"]
    assert [(p.name, p.path) for p in plans[4:]] == [("t0", "root.sg.a.d"), ("t1", "root.b")]
    assert all(p.template.id == 0 for p in plans[:2])  # ids are the receiver's to give


def test_snapshot_filtered_by_type_and_pattern():
    files = [cluster_schema(), template_info()]
    only_db = cp.snapshot_plans(cp.SNAPSHOT_SCHEMA, files, [cp.CREATE_DATABASE], "root.sg.**")
    assert only_db == [cp.DatabasePlan(cp.DatabaseSchema("root.sg.a"))]
    tail = cp.snapshot_plans(cp.SNAPSHOT_SCHEMA, files, ALL_SCHEMA, "root.b.*.v")
    # templates keep the measurements the pattern's tail matches; t1 has none left
    assert [(p.template.name, p.template.measurements) for p in tail if hasattr(p, "template")] == [
        ("t0", (("v", "TEXT", "PLAIN", "LZ4"),))
    ]
    assert [p.path for p in tail if isinstance(p, cp.CommitSetTemplate)] == ["root.b"]


def test_ttl_snapshot():
    data = struct.pack(">i", 2) + istr("root.**") + struct.pack(">q", cp.TTL_INFINITE)
    data += istr("root.sg.**") + struct.pack(">q", 1000)
    plans = cp.snapshot_plans(cp.SNAPSHOT_TTL, [data], [cp.SET_TTL], "root.sg.**")
    assert plans == [
        cp.SetTTL(("root", "**"), cp.TTL_INFINITE),
        cp.SetTTL(("root", "sg", "**"), 1000),
    ]
    assert cp.snapshot_plans(cp.SNAPSHOT_TTL, [data], [cp.CREATE_DATABASE]) == []
    with pytest.raises(PipeProtocolError, match="users and roles"):
        cp.snapshot_plans(1, [b""], [])
