"""IoTDB's schema-region layout (issue 16): the plan nodes and the schema snapshot a real IoTDB
2.0.1 sent to pipecore (captured once from its schema pipe, in iotdb201_schema/), decoded and
applied; pipecore's encoders read back; the sink's choice of nodes for an IoTDB receiver."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from test_thrift_receiver import client, handshake  # noqa: F401

from pipecore_storage.series_meta import SeriesMeta
from pipecore_thrift_sink.protocol import (
    PipeRequestType,
    decode_file_seal_v2,
    encode_file_piece,
)
from pipecore_thrift_sink.protocol.config_plan import (
    DeleteTimeSeries,
    decode_config_plan,
    encode_config_plan,
)
from pipecore_thrift_sink.protocol.schema_iotdb import iotdb_schema_requests
from pipecore_thrift_sink.protocol.schema_region import (
    decode_region_node,
    encode_alter_timeseries,
    encode_create_aligned,
)
from pipecore_thrift_sink.receiver_region import _altered, snapshot_records

DATA = Path(__file__).parent / "iotdb201_schema"
T = PipeRequestType


def _create(device, name, type_, encoding, compression, aligned):
    return {
        "op": "create_series", "device": device, "measurement": name, "type": type_,
        "encoding": encoding, "compression": compression, "aligned": aligned, "props": [],
    }  # fmt: skip


def _meta(device, name, alias=None, tags=(), attributes=()):
    return {
        "op": "series_meta", "device": device, "measurement": name, "alias": alias,
        "tags": [list(p) for p in tags], "attributes": [list(p) for p in attributes],
    }  # fmt: skip


def test_real_nodes_decode():
    create = decode_region_node((DATA / "node19_create.bin").read_bytes())
    assert create == [
        {**_create("root.ex1.d1", "s1", "FLOAT", "GORILLA", "ZSTD", False)},
        _meta("root.ex1.d1", "s1", "temperature", [("unit", "c")], [("owner", "x")]),
    ]
    assert decode_region_node((DATA / "node22_aligned.bin").read_bytes()) == [
        _create("root.ex1.d2", "a", "INT32", "RLE", "LZ4", True),
        _create("root.ex1.d2", "b", "TEXT", "PLAIN", "LZ4", True),
    ]  # IoTDB sends labelled lists of nulls: no metadata
    assert decode_region_node((DATA / "node21_add_tags.bin").read_bytes()) == [
        {"op": "alter_series", "device": "root.ex1.d1", "measurement": "s1",
         "alter_type": "ADD_TAGS", "alias": None, "alter_map": [["t2", "v2"]], "tags": [],
         "attributes": []}
    ]  # fmt: skip


def test_real_snapshot_decodes():
    seal = decode_file_seal_v2((DATA / "seal102.bin").read_bytes())
    assert seal.file_names == ("mtree.snapshot", "tlog.txt.snapshot")
    params = seal.params_dict
    assert (params["Database"], params["PathPattern"]) == ("root.ex2", "root.ex2.**")
    records, templates = snapshot_records(
        (DATA / "mtree.snapshot").read_bytes(),
        (DATA / "tlog.txt.snapshot").read_bytes(),
        params["Database"],
        params["PathPattern"],
        params["Type"],
    )
    assert templates == []
    creates = {(r["device"], r["measurement"]): r for r in records if r["op"] == "create_series"}
    assert set(creates) == {
        ("root.ex2.d-3", "a"), ("root.ex2.d-3", "b.c"),
        ("root.ex2.d1", "s1"), ("root.ex2.d1", "s2"), ("root.ex2.d1", "s3"),
    }  # fmt: skip
    assert creates[("root.ex2.d-3", "a")] == _create(
        "root.ex2.d-3", "a", "INT32", "RLE", "LZ4", True
    )
    assert creates[("root.ex2.d1", "s2")]["encoding"] == "TS_2DIFF"
    metas = {(r["device"], r["measurement"]): r for r in records if r["op"] == "series_meta"}
    assert metas[("root.ex2.d1", "s1")] == _meta(
        "root.ex2.d1", "s1", "temperature", [("unit", "c"), ("place", "hall")], [("owner", "x")]
    )
    assert metas[("root.ex2.d1", "s2")]["attributes"] == [["a", "y" * 800]]  # 2 tag blocks
    assert metas[("root.ex2.d1", "s3")]["alias"] == "al3"
    assert [r["op"] for r in records].index("series_meta") == len(creates)  # series first
    # the seal's pattern and types filter
    narrow, _ = snapshot_records(
        (DATA / "mtree.snapshot").read_bytes(), (DATA / "tlog.txt.snapshot").read_bytes(),
        "root.ex2", "root.ex2.d1.s1", "19",
    )  # fmt: skip
    assert {r["measurement"] for r in narrow} == {"s1"}
    none, _ = snapshot_records(
        (DATA / "mtree.snapshot").read_bytes(), None, "root.ex2", None, "53,72"
    )
    assert none == []


def test_real_bytes_through_the_receiver(receiver, client):  # noqa: F811
    assert handshake(client).code == 200
    for name in ("mtree.snapshot", "tlog.txt.snapshot"):
        body = encode_file_piece(name, 0, (DATA / name).read_bytes())
        assert client.transfer(1, T.TRANSFER_SCHEMA_SNAPSHOT_PIECE, body).code == 200
    seal = (DATA / "seal102.bin").read_bytes()
    assert client.transfer(1, T.TRANSFER_SCHEMA_SNAPSHOT_SEAL, seal).code == 200
    store = receiver.store
    assert store.series("root.ex2.d1.s1").meta == SeriesMeta(
        "temperature", (("unit", "c"), ("place", "hall")), (("owner", "x"),)
    )
    assert store.device_aligned("root.ex2.d-3") is True
    assert store.series("root.ex2.d-3.`b.c`").data_type.name == "TEXT"
    for name in ("node19_create.bin", "node22_aligned.bin", "node21_add_tags.bin"):
        body = (DATA / name).read_bytes()
        assert client.transfer(1, T.TRANSFER_SCHEMA_PLAN, body).code == 200, name
    assert store.series("root.ex1.d1.s1").meta.tags == (("unit", "c"), ("t2", "v2"))
    assert store.device_aligned("root.ex1.d2") is True
    again = client.transfer(1, T.TRANSFER_SCHEMA_PLAN, (DATA / "node21_add_tags.bin").read_bytes())
    assert again.code == 1702 or "already has the tag [t2]" in again.message


def test_alter_rules():
    meta = SeriesMeta("al", (("k", "v"),), (("a", "b"),))

    def alter(kind, alter_map=(), tags=(), attributes=(), alias=None):
        record = {"alter_type": kind, "alter_map": [list(p) for p in alter_map],
                  "tags": [list(p) for p in tags], "attributes": [list(p) for p in attributes],
                  "alias": alias}  # fmt: skip
        return _altered("root.x.d.s", meta, record)

    assert alter("RENAME", [("k", "k2")]) == SeriesMeta("al", (("k2", "v"),), (("a", "b"),))
    assert "does not have tag/attribute [zz]" in alter("RENAME", [("zz", "y")])
    assert alter("SET", [("a", "c")]).attribute_dict == {"a": "c"}
    assert alter("DROP", [("k", ""), ("missing", "")]) == SeriesMeta("al", (), (("a", "b"),))
    assert "already has the tag [k]" in alter("ADD_TAGS", [("k", "x")])
    assert alter("ADD_ATTRIBUTES", [("c", "d")]).attribute_dict == {"a": "b", "c": "d"}
    upsert = alter("UPSERT", tags=[("k", "w"), ("n", "m")], alias="al2")
    assert upsert == SeriesMeta("al2", (("k", "w"), ("n", "m")), (("a", "b"),))


names = st.text(alphabet="abcxyz_09.-", min_size=1, max_size=6).map(lambda s: "m" + s)
pairs = st.lists(st.tuples(names, st.text(max_size=5)), max_size=3, unique_by=lambda p: p[0])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(names, st.sampled_from(["INT32", "DOUBLE", "TEXT"]), st.booleans(), pairs, pairs),
        min_size=1,
        max_size=5,
        unique_by=lambda m: m[0],
    )
)
def test_aligned_node_round_trip(measurements):
    """What `encode_create_aligned` writes decodes to the same records (law: decode∘encode)."""
    device = "root.rt.d"
    creates = [_create(device, n, t, "PLAIN", "LZ4", True) for n, t, _, _, _ in measurements]
    metas = [
        _meta(device, n, f"al_{n}" if has_alias else None, tags, attrs)
        if has_alias or tags or attrs
        else None
        for n, _, has_alias, tags, attrs in measurements
    ]
    got = decode_region_node(encode_create_aligned(device, creates, metas))
    want = []
    for c, m in zip(creates, metas, strict=True):
        want.append(c)
        if m is not None:
            want.append(m)
    assert got == want


def test_alter_node_round_trip():
    body = encode_alter_timeseries("root.x.d.s", "UPSERT", alias="t", tags=[["a", "1"]])
    assert decode_region_node(body) == [
        {"op": "alter_series", "device": "root.x.d", "measurement": "s", "alter_type": "UPSERT",
         "alias": "t", "alter_map": [], "tags": [["a", "1"]], "attributes": []}
    ]  # fmt: skip


def test_delete_plan_round_trip():
    paths = ["root.db.d1.s1", "root.db.d1.s2", "root.db.`d-2`.s", "root.other.x.y"]
    plan = decode_config_plan(encode_config_plan(DeleteTimeSeries(tuple(paths))))
    assert sorted(plan.patterns) == sorted(paths)


def test_requests_for_an_iotdb_receiver():
    sent: dict = {}
    d = "root.q.d"
    records = [
        {"op": "create_database", "name": "root.q"},
        _create(d, "s", "INT64", "RLE", "LZ4", False),
        _meta(d, "s", "al", [("k", "v"), ("k2", "v")]),
        _create("root.q.a", "x", "INT32", "PLAIN", "LZ4", True),
        _create("root.q.a", "y", "TEXT", "PLAIN", "LZ4", True),
        _meta("root.q.a", "y", None, [("t", "1")]),
        _meta(d, "s", "al", [("k", "w")]),  # an ALTER that dropped k2
        {"op": "delete_series", "device": d, "measurement": "s"},
    ]
    out = list(iotdb_schema_requests(records, False, sent))
    types = [t for t, _, _ in out]
    assert types == [29002, 100, 100, 100, 100, 200]
    assert sum(c for _, _, c in out) == len(records)
    assert decode_region_node(out[2][1])[-1]["tags"] == [["t", "1"]]  # aligned + its meta
    assert decode_region_node(out[3][1])[0]["alter_type"] == "DROP"
    assert decode_region_node(out[3][1])[0]["alter_map"] == [["k2", ""]]
    assert decode_region_node(out[4][1])[0]["tags"] == [["k", "w"]]
    assert decode_config_plan(out[5][1]) == DeleteTimeSeries(("root.q.d.s",))
    assert (d, "s") not in sent
