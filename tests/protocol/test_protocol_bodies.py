"""Handshakes, batches, file pieces and seals, compression, slices, request types, statuses."""

from __future__ import annotations

import gzip
import lzma
import struct

import lz4.block
import pytest
import snappy
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st
from iotdb_wire import (
    i8,
    i16,
    i32,
    i64,
    insert_row_node,
    insert_tablet_node,
    string,
    string_map,
    tablet_raw,
)
from strategies import tablets

from pipecore.rpc import Status, TSStatusCode
from pipecore_thrift_sink.protocol import (
    HandshakeParams,
    InsertRowNode,
    InsertTabletNode,
    PipeCompressor,
    PipeProtocolError,
    PipeRequestType,
    PipeTransferRequest,
    PipeTransferSlice,
    SliceAssembler,
    SliceOutOfOrderError,
    TabletBatchBuilder,
    UnknownCompressorError,
    compress_request,
    decode_file_piece,
    decode_file_seal_v1,
    decode_file_seal_v2,
    decode_handshake_v1,
    decode_handshake_v2,
    decode_piece_reply_body,
    decode_slice,
    decode_tablet_batch,
    decompress_request,
    encode_file_piece,
    encode_file_seal_v1,
    encode_file_seal_v2,
    encode_handshake_v1,
    encode_piece_reply_body,
    encode_slice,
    encode_tablet_batch,
    parse_compressors,
    prior_status,
    split_into_slices,
)

# ---------------------------------------------------------------- types and statuses


def test_request_type_values_are_iotdb_13s_and_20s():
    expected = {
        0: "HANDSHAKE_CONFIGNODE_V1", 1: "HANDSHAKE_DATANODE_V1", 2: "TRANSFER_TABLET_INSERT_NODE",
        3: "TRANSFER_TABLET_RAW", 4: "TRANSFER_TS_FILE_PIECE", 5: "TRANSFER_TS_FILE_SEAL",
        6: "TRANSFER_TABLET_BATCH", 7: "TRANSFER_TABLET_BINARY",
        8: "TRANSFER_TS_FILE_PIECE_WITH_MOD", 9: "TRANSFER_TS_FILE_SEAL_WITH_MOD",
        10: "TRANSFER_TABLET_INSERT_NODE_V2", 11: "TRANSFER_TABLET_RAW_V2",
        12: "TRANSFER_TABLET_BINARY_V2", 13: "TRANSFER_TABLET_BATCH_V2",  # IoTDB 2.0.1's
        50: "HANDSHAKE_CONFIGNODE_V2", 51: "HANDSHAKE_DATANODE_V2", 100: "TRANSFER_SCHEMA_PLAN",
        101: "TRANSFER_SCHEMA_SNAPSHOT_PIECE", 102: "TRANSFER_SCHEMA_SNAPSHOT_SEAL",
        200: "TRANSFER_CONFIG_PLAN", 201: "TRANSFER_CONFIG_SNAPSHOT_PIECE",
        202: "TRANSFER_CONFIG_SNAPSHOT_SEAL", 300: "TRANSFER_COMPRESSED", 400: "TRANSFER_SLICE",
    }  # fmt: skip
    assert {t.value: t.name for t in PipeRequestType} == expected
    assert PipeRequestType.name_of(14) == "UNKNOWN(14)"


def test_status_codes_of_the_pipe_protocol():
    codes = {
        200: "SUCCESS_STATUS", 400: "REDIRECTION_RECOMMEND", 611: "DISK_SPACE_INSUFFICIENT",
        801: "WRONG_LOGIN_PASSWORD", 802: "NOT_LOGIN", 803: "NO_PERMISSION",
        804: "USER_NOT_EXIST", 1100: "LOAD_FILE_ERROR", 1107: "PIPE_ERROR",
        1800: "PIPE_VERSION_ERROR", 1801: "PIPE_TYPE_ERROR", 1802: "PIPE_HANDSHAKE_ERROR",
        1803: "PIPE_TRANSFER_FILE_OFFSET_RESET", 1804: "PIPE_TRANSFER_FILE_ERROR",
        1805: "PIPE_TRANSFER_EXECUTE_STATEMENT_ERROR", 1806: "PIPE_NOT_EXIST_ERROR",
        1807: "PIPE_PUSH_META_ERROR", 1808: "PIPE_RECEIVER_TEMPORARY_UNAVAILABLE_EXCEPTION",
        1809: "PIPE_RECEIVER_IDEMPOTENT_CONFLICT_EXCEPTION",
        1810: "PIPE_RECEIVER_USER_CONFLICT_EXCEPTION",
        1811: "PIPE_CONFIG_RECEIVER_HANDSHAKE_NEEDED", 1812: "PIPE_TRANSFER_SLICE_OUT_OF_ORDER",
        1815: "PIPE_RECEIVER_PARALLEL_OR_USER_CONFLICT_EXCEPTION",
    }  # fmt: skip
    for code, name in codes.items():
        assert TSStatusCode(code).name == name


def st_(code, message=None):
    return Status(code, message)


def test_prior_status_rule():
    assert prior_status([]).code == 200
    # outside the table: returned at once, as is
    first_bad = st_(1804, "file")
    assert prior_status([st_(200), first_bad, st_(1808)]) is first_bad
    # otherwise the worst of 200 < 1809 < 400 < 1810 < 1808, all given as sub-statuses
    order = [200, 1809, 400, 1810, 1808]
    for i, worst in enumerate(order):
        statuses = [st_(c, f"m{c}") for c in order[: i + 1]][::-1]
        result = prior_status(statuses)
        assert result.code == worst and result.message == f"m{worst}"
        assert result.sub_status == tuple(statuses)


# ---------------------------------------------------------------- handshakes


def test_handshake_v1_is_one_string():
    assert encode_handshake_v1("ms") == b"\x00\x00\x00\x02ms"
    assert decode_handshake_v1(string("ns")) == "ns"
    with pytest.raises(PipeProtocolError):
        decode_handshake_v1(string(None))


def test_handshake_v2_map_from_a_java_sender():
    body = string_map(
        {
            "clusterID": "c5b6-uuid",
            "timestampPrecision": "us",
            "convertOnTypeMismatch": "false",
            "loadTsFileStrategy": "async",
            "username": "root",
            "password": "secret",
            "futureKey": "x",
        }
    )
    params = HandshakeParams.decode(body)
    assert params.cluster_id == "c5b6-uuid" and params.timestamp_precision == "us"
    assert params.convert_on_type_mismatch is False and params.load_tsfile_strategy == "async"
    assert params.validate_tsfile is True and params.mark_as_pipe_request is True
    assert params.username == "root" and params.password == "secret"
    assert "secret" not in repr(params)
    assert params.extra == (("futureKey", "x"),)
    assert HandshakeParams.decode(params.encode()) == params
    assert decode_handshake_v2(body)["futureKey"] == "x"


def test_handshake_v2_missing_keys_stay_none_for_the_receiver_to_refuse():
    params = HandshakeParams.decode(string_map({"username": "u"}))
    assert params.cluster_id is None and params.timestamp_precision is None


# ---------------------------------------------------------------- batches


def test_batch_from_a_java_sender_with_nodes_and_tablets():
    node1 = insert_tablet_node("root.b.d1", ["s"], [2], [1, 2], [i64(10) + i64(20)])
    node2 = insert_row_node(3, "root.b.d2", ["t"], [i8(5) + string("v")])
    tablet = tablet_raw("root.b.d3", ["u"], [4], [9], [struct.pack(">d", 0.5)])
    body = i32(0) + i32(2) + node1 + node2 + i32(1) + tablet + b"\x01"
    batch = decode_tablet_batch(body)
    assert batch.binary_items == ()
    assert isinstance(batch.insert_nodes[0], InsertTabletNode)
    assert isinstance(batch.insert_nodes[1], InsertRowNode)
    [t] = batch.tablets
    assert t.device == "root.b.d3" and t.aligned and list(t.iter_rows()) == [(9, [0.5])]


def test_batch_keeps_binary_items_for_the_receiver_to_refuse():
    body = i32(1) + i32(3) + b"wal" + i32(0) + i32(0)
    assert decode_tablet_batch(body).binary_items == (b"wal",)


@settings(max_examples=40, deadline=None)
@given(st.lists(tablets(max_rows=8, max_columns=3), max_size=4))
def test_batch_round_trip_and_size_accounting(items):
    builder = TabletBatchBuilder()
    for t in items:
        builder.add_tablet(t)
    body = builder.body()
    assert len(body) == builder.size_bytes
    assert body == encode_tablet_batch(items)
    batch = decode_tablet_batch(body)
    assert len(batch.tablets) == len(items)
    for got, want in zip(batch.tablets, items, strict=True):
        assert got.equals(want) and got.aligned == want.aligned


# ---------------------------------------------------------------- files


def test_file_piece_layout_and_reply_body():
    body = encode_file_piece("1712345678901-1-0-0.tsfile", 5, b"abc")
    assert body == string("1712345678901-1-0-0.tsfile") + i64(5) + string(b"abc")
    piece = decode_file_piece(body)
    assert (piece.file_name, piece.start_writing_offset, piece.piece) == (
        "1712345678901-1-0-0.tsfile",
        5,
        b"abc",
    )
    assert encode_piece_reply_body(2**40) == i64(2**40)
    assert decode_piece_reply_body(i64(7)) == 7
    with pytest.raises(PipeProtocolError):
        decode_piece_reply_body(None)


@pytest.mark.parametrize("name", ["../x.tsfile", "a/b.tsfile", "..", "", "c:\\x", "a\x00b"])
def test_file_names_that_could_escape_the_receiver_directory(name):
    with pytest.raises(PipeProtocolError, match="plain file name"):
        decode_file_piece(string(name) + i64(0) + string(b""))
    with pytest.raises(PipeProtocolError, match="plain file name"):
        decode_file_seal_v1(string(name) + i64(0))


def test_seals():
    assert encode_file_seal_v1("f.tsfile", 99) == string("f.tsfile") + i64(99)
    assert decode_file_seal_v1(string("f.tsfile") + i64(99)).file_length == 99
    body = encode_file_seal_v2(["f.tsfile.mods", "f.tsfile"], [10, 20], {})
    assert body == i32(2) + string("f.tsfile.mods") + string("f.tsfile") + i32(2) + i64(10) + i64(
        20
    ) + i32(0)
    seal = decode_file_seal_v2(body)
    assert seal.file_names == ("f.tsfile.mods", "f.tsfile") and seal.file_lengths == (10, 20)
    with pytest.raises(PipeProtocolError, match="lengths"):
        decode_file_seal_v2(i32(1) + string("a") + i32(0) + i32(0))


# ---------------------------------------------------------------- compression


def inner():
    return PipeTransferRequest(1, 3, b"tablet-body" * 50)


def test_compressed_wrapper_layout_with_java_compatible_formats():
    req = inner()
    payload = req.to_payload()
    assert payload[:3] == b"\x01\x00\x03"
    wrapped = compress_request(req, parse_compressors("snappy,gzip,lz4,zstd,lzma2"))
    assert wrapped.type == 300 and wrapped.version == 1
    body = wrapped.body
    assert body[0] == 5
    # stage 1 (snappy) declares the payload length; each stage the length before it
    assert body[1:6] == i8(0) + i32(len(payload))
    assert decompress_request(body) == req


@pytest.mark.parametrize(
    ("index", "make"),
    [
        (0, snappy.compress),
        (1, gzip.compress),
        (2, lambda d: lz4.block.compress(d, store_size=False)),
        (3, lambda d: zstandard.ZstdCompressor().compress(d)),
        (4, lambda d: lzma.compress(d, format=lzma.FORMAT_XZ)),
    ],
)
def test_each_compressor_decodes_data_made_by_the_reference_library(index, make):
    payload = inner().to_payload()
    body = bytes([1, index]) + i32(len(payload)) + make(payload)
    assert decompress_request(body) == inner()
    # a wrong declared length is refused, never over-produced
    lie = bytes([1, index]) + i32(len(payload) - 1) + make(payload)
    with pytest.raises(PipeProtocolError):
        decompress_request(lie)


def test_decompression_is_bounded():
    bomb = bytes([1, 3]) + i32(2**31 - 1) + zstandard.ZstdCompressor().compress(b"\0" * 10**6)
    with pytest.raises(PipeProtocolError, match="outside"):
        decompress_request(bomb)
    ok_len = bytes([1, 1]) + i32(100) + gzip.compress(b"\0" * 10**7)
    with pytest.raises(PipeProtocolError):
        decompress_request(ok_len, max_length=1000)


def test_unknown_compressors():
    with pytest.raises(UnknownCompressorError, match="'brotli'"):
        parse_compressors("snappy, brotli")
    assert parse_compressors(" LZ4 ,zstd") == (PipeCompressor.LZ4, PipeCompressor.ZSTD)
    assert parse_compressors("") == ()
    with pytest.raises(PipeProtocolError, match="compressor index 9"):
        decompress_request(bytes([1, 9]) + i32(3) + b"abc")


@settings(max_examples=40, deadline=None)
@given(
    st.binary(max_size=2000),
    st.integers(-128, 127),
    st.integers(-(2**15), 2**15 - 1),
    st.lists(st.sampled_from(list(PipeCompressor)), max_size=3),
)
def test_compression_round_trip(body, version, type_, kinds):
    req = PipeTransferRequest(version, type_, body)
    assert decompress_request(compress_request(req, kinds).body) == req


# ---------------------------------------------------------------- slices


def test_slice_layout():
    s = PipeTransferSlice(7, 3, 10, b"abc", 1, 4)
    body = encode_slice(s)
    assert body == i32(7) + i16(3) + i32(10) + string(b"abc") + i32(1) + i32(4)
    assert decode_slice(body) == s
    with pytest.raises(PipeProtocolError):
        decode_slice(i32(7) + i16(3) + i32(10) + string(b"abc") + i32(4) + i32(4))


@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=3000), st.integers(1, 700))
def test_slices_reassemble(body, size):
    req = PipeTransferRequest(1, 6, body)
    slices = split_into_slices(req, size, order_id=3)
    assert all(s.type == 400 for s in slices)
    asm = SliceAssembler()
    results = [asm.accept(decode_slice(s.body)) for s in slices]
    assert results[:-1] == [None] * (len(slices) - 1)
    assert results[-1] == req and not asm.in_progress


def test_slices_out_of_order_are_refused_and_reset():
    slices = [decode_slice(s.body) for s in split_into_slices(inner(), 100, order_id=1)]
    asm = SliceAssembler()
    asm.accept(slices[0])
    with pytest.raises(SliceOutOfOrderError, match="slice 2"):
        asm.accept(slices[2])
    assert not asm.in_progress
    with pytest.raises(SliceOutOfOrderError, match="before slice 0"):
        asm.accept(slices[1])
    other = [decode_slice(s.body) for s in split_into_slices(inner(), 100, order_id=2)]
    asm.accept(slices[0])
    with pytest.raises(SliceOutOfOrderError, match="order 2"):
        asm.accept(other[1])
    big = PipeTransferSlice(1, 3, 10, b"x" * 11, 0, 2)
    with pytest.raises(SliceOutOfOrderError, match="exceed"):
        SliceAssembler().accept(big)


# ---------------------------------------------------------------- round trips of small bodies

names = st.text(min_size=1, max_size=20).filter(
    lambda s: s not in (".", "..") and not set(s) & {"/", "\\", "\x00"} and s[1:2] != ":"
)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.text(max_size=10), st.text(max_size=10) | st.none(), max_size=8))
def test_handshake_v2_map_round_trip(params):
    from pipecore_thrift_sink.protocol import encode_handshake_v2

    assert decode_handshake_v2(encode_handshake_v2(params)) == params


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(["ms", "us", "ns"]), st.text(max_size=30), st.text(max_size=8))
def test_handshake_params_round_trip(precision, cluster_id, user):
    params = HandshakeParams(precision, cluster_id, user, "pw", False, "async", False, True)
    assert HandshakeParams.decode(params.encode()) == params


@settings(max_examples=60, deadline=None)
@given(names, st.integers(0, 2**63 - 1), st.binary(max_size=300))
def test_file_piece_and_seal_round_trip(name, offset, data):
    piece = decode_file_piece(encode_file_piece(name, offset, data))
    assert (piece.file_name, piece.start_writing_offset, piece.piece) == (name, offset, data)
    seal = decode_file_seal_v1(encode_file_seal_v1(name, offset))
    assert (seal.file_name, seal.file_length) == (name, offset)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(names, st.integers(0, 2**63 - 1)), max_size=4),
    st.dictionaries(st.text(max_size=6), st.text(max_size=6), max_size=3),
)
def test_seal_v2_round_trip(files, params):
    body = encode_file_seal_v2([f for f, _ in files], [n for _, n in files], params)
    seal = decode_file_seal_v2(body)
    assert list(zip(seal.file_names, seal.file_lengths, strict=True)) == files
    assert seal.params_dict == params
