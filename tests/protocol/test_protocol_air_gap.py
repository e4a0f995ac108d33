"""Air-gap framing (§5.2–5.6): exact bytes, e-language, chunked decoding, CRC catches flips."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipecore_thrift_sink.protocol import (
    AIR_GAP_FAIL,
    AIR_GAP_OK,
    E_LANGUAGE_PREFIX,
    E_LANGUAGE_SUFFIX,
    AirGapFrameDecoder,
    AirGapFrameError,
    PipeTransferRequest,
    air_gap_reply,
    encode_air_gap_frame,
    encode_handshake_v1,
    read_air_gap_frame,
)


def payload() -> bytes:
    return PipeTransferRequest(1, 1, encode_handshake_v1("ms")).to_payload()


def test_frame_layout_is_length_twice_crc_as_i64_then_payload():
    p = payload()
    frame = encode_air_gap_frame(p)
    n = len(p) + 8
    assert frame == struct.pack(">iiq", n, n, zlib.crc32(p)) + p
    assert frame[8:12] == b"\x00\x00\x00\x00"  # the CRC sits in the low 32 bits


def test_e_language_wrapping():
    assert E_LANGUAGE_PREFIX == b"<!System=IoTDB Version=1.0 Code=UTF-8 Data=1.0!>\n<block:=Free>\n"
    assert E_LANGUAGE_SUFFIX == b"\n</block:=Free>"
    frame = encode_air_gap_frame(payload(), e_language=True)
    assert frame.startswith(E_LANGUAGE_PREFIX) and frame.endswith(E_LANGUAGE_SUFFIX)
    stream = io.BytesIO(frame)
    assert read_air_gap_frame(stream.read) == (payload(), True)


def test_replies():
    assert air_gap_reply(200) == AIR_GAP_OK == b"\x00"
    assert air_gap_reply(400) == air_gap_reply(1809) == AIR_GAP_OK
    for code in (1808, 1810, 1801, 1802, 1107, 305):
        assert air_gap_reply(code) == AIR_GAP_FAIL == b"\xff"


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.binary(min_size=3, max_size=300), st.booleans()), max_size=6),
    st.integers(1, 50),
)
def test_decoder_reassembles_frames_fed_in_any_chunking(frames, chunk):
    stream = b"".join(encode_air_gap_frame(p, e) for p, e in frames)
    decoder = AirGapFrameDecoder()
    got = []
    for i in range(0, len(stream), chunk):
        got += decoder.feed(stream[i : i + chunk])
    assert got == [p for p, _ in frames]
    assert decoder.buffered == 0 and decoder.offset == len(stream)


def test_every_single_bit_flip_in_a_frame_is_caught():
    """CRC32 detects every 1-bit error; length flips are caught by L1/L2 or the size check."""
    p = PipeTransferRequest(1, 3, bytes(range(256)) * 2).to_payload()
    frame = encode_air_gap_frame(p)
    kinds = set()
    for byte in range(len(frame)):
        for bit in range(8):
            bad = bytearray(frame)
            bad[byte] ^= 1 << bit
            decoder = AirGapFrameDecoder()
            try:
                out = decoder.feed(bytes(bad))
            except AirGapFrameError as exc:
                kinds.add(exc.kind)
                continue
            # a flipped length bit that grows the frame leaves it waiting: never a payload
            assert out == [], (byte, bit)
    assert {"length", "crc"} <= kinds


def test_length_and_crc_mismatches_are_reported_distinctly():
    frame = bytearray(encode_air_gap_frame(payload()))
    l_bad = bytes(frame[:4]) + struct.pack(">i", 99) + bytes(frame[8:])
    with pytest.raises(AirGapFrameError) as info:
        AirGapFrameDecoder().feed(l_bad)
    assert info.value.kind == "length" and "differ" in str(info.value)
    frame[-1] ^= 0xFF
    with pytest.raises(AirGapFrameError) as info:
        AirGapFrameDecoder().feed(bytes(frame))
    assert info.value.kind == "crc" and "CRC32 mismatch" in str(info.value)
    huge = struct.pack(">ii", 2**30, 2**30)
    with pytest.raises(AirGapFrameError) as info:
        AirGapFrameDecoder(max_payload=1 << 20).feed(huge)
    assert info.value.kind == "size"
    nested = E_LANGUAGE_PREFIX + E_LANGUAGE_PREFIX[:8]
    with pytest.raises(AirGapFrameError) as info:
        AirGapFrameDecoder().feed(nested)
    assert info.value.kind == "prefix"


def test_decoder_refuses_input_after_a_failure():
    decoder = AirGapFrameDecoder()
    with pytest.raises(AirGapFrameError):
        decoder.feed(struct.pack(">ii", 9, 10))
    with pytest.raises(AirGapFrameError):
        decoder.feed(encode_air_gap_frame(payload()))


def test_truncated_frame_waits_and_read_helper_propagates_eof():
    frame = encode_air_gap_frame(payload())
    assert AirGapFrameDecoder().feed(frame[:-1]) == []

    stream = io.BytesIO(frame[:-1])

    def read_exact(n):
        data = stream.read(n)
        if len(data) < n:
            raise EOFError
        return data

    with pytest.raises(EOFError):
        read_air_gap_frame(read_exact)
