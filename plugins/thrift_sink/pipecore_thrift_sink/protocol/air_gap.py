"""Air-gap framing (reference §5.2–5.6): ``L1 | L2 | CRC32 as i64 | payload``, 1-byte replies.

L1 = L2 = payload length + 8 (big-endian i32), the CRC is ``java.util.zip.CRC32`` of the
payload in the low 32 bits of a big-endian i64, and the payload is a request's version byte +
i16 type + body. In e-language mode (a Syskeeper gateway) each frame is wrapped in a fixed
UTF-8 prefix and suffix, which the decoder detects and strips per frame.

Nothing here does I/O: `AirGapFrameDecoder` is fed bytes and returns payloads;
`read_air_gap_frame` reads one frame through a ``read_exact(n)`` callable.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable, Sequence

from .errors import AirGapFrameError
from .request import AIR_GAP_OK_CODES

__all__ = [
    "AIR_GAP_FAIL",
    "AIR_GAP_OK",
    "DEFAULT_AIR_GAP_MAX_PAYLOAD",
    "E_LANGUAGE_PREFIX",
    "E_LANGUAGE_SUFFIX",
    "AirGapFrameDecoder",
    "air_gap_frame_parts",
    "air_gap_reply",
    "encode_air_gap_frame",
    "read_air_gap_frame",
]

AIR_GAP_OK = b"\x00"
AIR_GAP_FAIL = b"\xff"
# pipe_air_gap_receiver_max_payload_size_in_bytes: min(64 MiB, heap / 64)
DEFAULT_AIR_GAP_MAX_PAYLOAD = 64 << 20
E_LANGUAGE_PREFIX = b"<!System=IoTDB Version=1.0 Code=UTF-8 Data=1.0!>\n<block:=Free>\n"
E_LANGUAGE_SUFFIX = b"\n</block:=Free>"
_LENGTHS = struct.Struct(">ii")
_CRC = struct.Struct(">q")


def encode_air_gap_frame(payload: bytes, e_language: bool = False) -> bytes:
    """One frame for `payload` (a request's version + type + body)."""
    size = len(payload) + 8
    frame = _LENGTHS.pack(size, size) + _CRC.pack(zlib.crc32(payload)) + payload
    return E_LANGUAGE_PREFIX + frame + E_LANGUAGE_SUFFIX if e_language else frame


def air_gap_frame_parts(
    parts: Sequence[bytes | bytearray | memoryview], e_language: bool = False
) -> list[bytes | bytearray | memoryview]:
    """The frame of the payload ``b"".join(parts)``, as buffers to send one after another
    (the payload's parts are not copied): the same bytes as `encode_air_gap_frame`."""
    crc = 0
    size = 8
    for part in parts:
        crc = zlib.crc32(part, crc)
        size += len(part)
    head = _LENGTHS.pack(size, size) + _CRC.pack(crc)
    if e_language:
        return [E_LANGUAGE_PREFIX + head, *parts, E_LANGUAGE_SUFFIX]
    return [head, *parts]


def air_gap_reply(code: int) -> bytes:
    """0x00 for 200, 400 and 1809; 0xFF for every other status."""
    return AIR_GAP_OK if code in AIR_GAP_OK_CODES else AIR_GAP_FAIL


def _check_lengths(head: bytes, max_payload: int, offset: int) -> int:
    l1, l2 = _LENGTHS.unpack(head)
    if l1 != l2:
        raise AirGapFrameError("length", f"the two lengths differ ({l1} != {l2})", offset)
    if l1 < 8 or l1 - 8 > max_payload:
        raise AirGapFrameError(
            "size", f"frame length {l1} outside 8..{max_payload + 8} (payload limit)", offset
        )
    return l1


def _check_crc(body: bytes, offset: int) -> bytes:
    expected = _CRC.unpack_from(body, 0)[0]
    payload = body[8:]
    actual = zlib.crc32(payload)
    if expected != actual:
        raise AirGapFrameError(
            "crc", f"CRC32 mismatch: frame says {expected:#x}, payload has {actual:#x}", offset
        )
    return payload


def read_air_gap_frame(
    read_exact: Callable[[int], bytes], max_payload: int = DEFAULT_AIR_GAP_MAX_PAYLOAD
) -> tuple[bytes, bool]:
    """Read one frame through `read_exact(n)` (which returns exactly n bytes or raises).

    Returns ``(payload, e_language)``. Raises `AirGapFrameError` on a length or CRC
    mismatch (the receiver answers 0xFF and closes the connection).
    """
    head = read_exact(8)
    e_language = head == E_LANGUAGE_PREFIX[:8]
    if e_language:
        read_exact(len(E_LANGUAGE_PREFIX) - 8)
        head = read_exact(8)
        if head == E_LANGUAGE_PREFIX[:8]:
            raise AirGapFrameError("prefix", "a second e-language prefix inside a frame")
    size = _check_lengths(head, max_payload, 0)
    payload = _check_crc(read_exact(size), 8)
    if e_language:
        read_exact(len(E_LANGUAGE_SUFFIX))
    return payload, e_language


class AirGapFrameDecoder:
    """Incremental decoder: `feed` bytes as they arrive, get back the complete payloads.

    After an `AirGapFrameError` the stream is out of step; the decoder refuses more input.
    `offset` counts the bytes consumed so far (errors report absolute offsets).
    """

    def __init__(self, max_payload: int = DEFAULT_AIR_GAP_MAX_PAYLOAD) -> None:
        self.max_payload = max_payload
        self.offset = 0
        self._buf = bytearray()
        self._failed = False

    @property
    def buffered(self) -> int:
        return len(self._buf)

    def feed(self, data: bytes) -> list[bytes]:
        if self._failed:
            raise AirGapFrameError("length", "the stream failed earlier", self.offset)
        self._buf += data
        out: list[bytes] = []
        try:
            while True:
                payload = self._next()
                if payload is None:
                    return out
                out.append(payload)
        except AirGapFrameError:
            self._failed = True
            raise

    def _next(self) -> bytes | None:
        buf, pos = self._buf, 0
        if len(buf) < 8:
            return None
        prefix = bytes(buf[:8]) == E_LANGUAGE_PREFIX[:8]
        if prefix:
            pos = len(E_LANGUAGE_PREFIX)
            if len(buf) < pos + 8:
                return None
            if bytes(buf[pos : pos + 8]) == E_LANGUAGE_PREFIX[:8]:
                raise AirGapFrameError("prefix", "a second e-language prefix", self.offset + pos)
        size = _check_lengths(bytes(buf[pos : pos + 8]), self.max_payload, self.offset + pos)
        end = pos + 8 + size + (len(E_LANGUAGE_SUFFIX) if prefix else 0)
        if len(buf) < end:
            return None
        payload = _check_crc(bytes(buf[pos + 8 : pos + 8 + size]), self.offset + pos + 8)
        del buf[:end]
        self.offset += end
        return payload
