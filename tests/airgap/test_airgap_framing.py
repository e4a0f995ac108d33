"""Laws of the sender's framing (`air_gap_frame_parts`, used without copying a piece's bytes):
the same bytes as `encode_air_gap_frame` of the joined payload, decoded back to the payload by
the receiver's reader, and any single flipped bit refused."""

from __future__ import annotations

import io

from hypothesis import given, settings
from hypothesis import strategies as st

from pipecore_thrift_sink.protocol import (
    AirGapFrameError,
    air_gap_frame_parts,
    encode_air_gap_frame,
    read_air_gap_frame,
)

parts_strategy = st.lists(st.binary(max_size=300), min_size=1, max_size=5)


def reader(data: bytes):
    stream = io.BytesIO(data)

    def read_exact(n: int) -> bytes:
        chunk = stream.read(n)
        if len(chunk) != n:
            raise EOFError
        return chunk

    return read_exact


@settings(max_examples=150, deadline=None)
@given(parts=parts_strategy, e_language=st.booleans())
def test_parts_frame_equals_the_joined_frame_and_decodes_back(parts, e_language):
    views = [memoryview(p) if i % 2 else p for i, p in enumerate(parts)]
    frame = b"".join(bytes(b) for b in air_gap_frame_parts(views, e_language))
    payload = b"".join(parts)
    assert frame == encode_air_gap_frame(payload, e_language)
    assert read_air_gap_frame(reader(frame)) == (payload, e_language)


@settings(max_examples=150, deadline=None)
@given(parts=parts_strategy, data=st.data())
def test_every_single_bit_flip_is_refused(parts, data):
    frame = bytearray(b"".join(bytes(b) for b in air_gap_frame_parts(parts)))
    at = data.draw(st.integers(0, len(frame) - 1))
    frame[at] ^= 1 << data.draw(st.integers(0, 7))
    try:
        payload, _ = read_air_gap_frame(reader(bytes(frame)))
    except AirGapFrameError:
        return  # refused: the lengths disagree, or the CRC32 does not match
    raise AssertionError(f"a flipped frame was accepted: {payload!r}")
