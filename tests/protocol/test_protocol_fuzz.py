"""Fuzzing the decoders: flipped, truncated, extended and random bodies.

Every outcome must be either a `PipeProtocolError` or a well-formed result (one that encodes
again and decodes to the same thing) — never another exception, a hang or a huge allocation.
"""

from __future__ import annotations

import contextlib
import random
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipecore_storage import MeasurementSchema, Tablet
from pipecore_thrift_sink.protocol import (
    AirGapFrameDecoder,
    AirGapFrameError,
    HandshakeParams,
    InsertRowNode,
    InsertRowsNode,
    InsertTabletNode,
    PipeCompressor,
    PipeProtocolError,
    PipeTransferRequest,
    PipeTransferSlice,
    compress_request,
    decode_file_piece,
    decode_file_seal_v1,
    decode_file_seal_v2,
    decode_handshake_v1,
    decode_handshake_v2,
    decode_insert_node,
    decode_slice,
    decode_tablet_batch,
    decode_tablet_raw,
    decompress_request,
    encode_air_gap_frame,
    encode_file_piece,
    encode_file_seal_v1,
    encode_file_seal_v2,
    encode_handshake_v1,
    encode_insert_node,
    encode_slice,
    encode_tablet_batch,
    encode_tablet_raw,
)


def sample_tablet() -> Tablet:
    schemas = [
        MeasurementSchema("i", "INT32"),
        MeasurementSchema("t", "TEXT"),
        MeasurementSchema("b", "BOOLEAN"),
        MeasurementSchema("x", "BLOB"),
        MeasurementSchema("d", "DOUBLE", props={"k": "v"}),
    ]
    rows = 12
    cols = [
        np.arange(rows, dtype=np.int32),
        np.array([f"v{i}\u00e9" for i in range(rows)], dtype=object),
        np.arange(rows) % 2 == 0,
        np.array([bytes([i]) * i for i in range(rows)], dtype=object),
        np.linspace(0, 1, rows),
    ]
    masks = [None, np.arange(rows) % 3 == 0, None, np.arange(rows) % 5 == 0, None]
    return Tablet("root.fuzz.d", schemas, np.arange(rows) * 7, cols, masks, True)


def tablet_node_roundtrip(node):
    return decode_insert_node(encode_insert_node(node))


def _same_tablet(a, b):
    assert a.equals(b) and a.aligned == b.aligned


def check_tablet(t):
    _same_tablet(decode_tablet_raw(encode_tablet_raw(t)), t)


def check_node(n):
    back = tablet_node_roundtrip(n)
    if isinstance(n, InsertTabletNode):
        _same_tablet(back.tablet, n.tablet)
    else:
        assert encode_insert_node(back) == encode_insert_node(n)


def check_batch(b):
    again = decode_tablet_batch(encode_tablet_batch(b.tablets, b.insert_nodes, b.binary_items))
    assert len(again.tablets) == len(b.tablets)


def check_inner(request):
    """Raw snappy/lz4 carry no checksum: corrupt data may decompress to a corrupt inner body,
    which must then fail cleanly itself."""
    with contextlib.suppress(PipeProtocolError):
        check_tablet(decode_tablet_raw(request.body))


def row_node():
    return InsertRowNode(
        5,
        "root.fuzz.r",
        ("a", "b", "c", "d"),
        (
            None,
            None,
            MeasurementSchema("c", "TEXT").data_type,
            MeasurementSchema("d", "FLOAT").data_type,
        ),
        (None, "raw", "text", 1.5),
        need_infer_type=True,
    )


CASES = [
    ("tablet raw", encode_tablet_raw(sample_tablet()), decode_tablet_raw, check_tablet),
    (
        "insert tablet",
        encode_insert_node(InsertTabletNode(sample_tablet(), True, "p")),
        decode_insert_node,
        check_node,
    ),
    ("insert row", encode_insert_node(row_node()), decode_insert_node, check_node),
    (
        "insert rows",
        encode_insert_node(InsertRowsNode((row_node(), row_node()), (0, 1))),
        decode_insert_node,
        check_node,
    ),
    (
        "batch",
        encode_tablet_batch(
            [sample_tablet()], [row_node(), InsertTabletNode(sample_tablet())], [b"wal"]
        ),
        decode_tablet_batch,
        check_batch,
    ),
    ("handshake v1", encode_handshake_v1("ms"), decode_handshake_v1, lambda r: None),
    (
        "handshake v2",
        HandshakeParams("ns", "uuid-1", "root", "root").encode(),
        decode_handshake_v2,
        lambda r: None,
    ),
    ("piece", encode_file_piece("a.tsfile", 10, b"x" * 40), decode_file_piece, lambda r: None),
    ("seal v1", encode_file_seal_v1("a.tsfile", 10), decode_file_seal_v1, lambda r: None),
    (
        "seal v2",
        encode_file_seal_v2(["a.mods", "a.tsfile"], [1, 2], {"k": "v"}),
        decode_file_seal_v2,
        lambda r: None,
    ),
    (
        "slice",
        encode_slice(PipeTransferSlice(1, 3, 100, b"abc" * 10, 0, 4)),
        decode_slice,
        lambda r: None,
    ),
] + [
    (
        f"compressed {kind.name}",
        compress_request(
            PipeTransferRequest(1, 3, encode_tablet_raw(sample_tablet())), [kind]
        ).body,
        decompress_request,
        check_inner,
    )
    for kind in PipeCompressor
]


def mutations(body: bytes, rng: random.Random, n: int):
    for _ in range(n):
        choice = rng.random()
        data = bytearray(body)
        if choice < 0.5:
            for _ in range(rng.randint(1, 3)):
                i = rng.randrange(len(data))
                data[i] ^= 1 << rng.randrange(8)
        elif choice < 0.7:
            i = rng.randrange(len(data))
            data[i] = rng.choice([0x00, 0x7F, 0x80, 0xFF])
        elif choice < 0.9:
            del data[rng.randrange(len(data)) :]
        else:
            data[rng.randrange(len(data)) : rng.randrange(len(data))] = rng.randbytes(
                rng.randint(1, 8)
            )
        yield bytes(data)


@pytest.mark.parametrize(("name", "body", "decode", "check"), CASES, ids=[c[0] for c in CASES])
def test_mutated_bodies_fail_cleanly_or_decode_to_well_formed_values(name, body, decode, check):
    rng = random.Random(name)
    start = time.perf_counter()
    outcomes = {"error": 0, "value": 0}
    for data in mutations(body, rng, 400):
        try:
            value = decode(data)
        except PipeProtocolError:
            outcomes["error"] += 1
            continue
        check(value)  # a value must be well formed: it re-encodes and decodes the same
        outcomes["value"] += 1
    assert outcomes["error"] > 0
    assert time.perf_counter() - start < 10, f"{name}: fuzzing took too long"


DECODERS = [c[2] for c in CASES[:11]] + [decompress_request]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200), st.sampled_from(DECODERS))
def test_random_bytes_never_raise_anything_but_protocol_errors(data, decode):
    with contextlib.suppress(PipeProtocolError):
        decode(data)


def test_mutated_air_gap_streams():
    rng = random.Random(7)
    frames = b"".join(
        encode_air_gap_frame(PipeTransferRequest(1, 3, rng.randbytes(50)).to_payload(), e)
        for e in (False, True, False)
    )
    payloads = AirGapFrameDecoder().feed(frames)
    for data in mutations(frames, rng, 2000):
        try:
            got = AirGapFrameDecoder().feed(data)
        except AirGapFrameError:
            continue
        # whatever decodes is an unmodified payload (CRC-checked), in order
        assert got == payloads[: len(got)] or all(p in payloads for p in got)
