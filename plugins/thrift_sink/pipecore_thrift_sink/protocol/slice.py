"""Slices (type 400): a request too large for one frame, sent in order-checked pieces."""

from __future__ import annotations

import attrs

from .errors import SliceOutOfOrderError
from .io import BodyReader, BodyWriter
from .request import PipeRequestType, PipeRequestVersion, PipeTransferRequest

__all__ = [
    "DEFAULT_SLICE_THRESHOLD",
    "PipeTransferSlice",
    "SliceAssembler",
    "decode_slice",
    "encode_slice",
    "split_into_slices",
]

# pipe_connector_request_slice_threshold_bytes: 0.8 × the 512 MiB frame limit
DEFAULT_SLICE_THRESHOLD = int(0.8 * 536_870_912)


@attrs.frozen
class PipeTransferSlice:
    order_id: int
    origin_type: int
    origin_body_size: int
    slice_body: bytes
    slice_index: int
    slice_count: int


def encode_slice(s: PipeTransferSlice) -> bytes:
    """i32 orderId, i16 originReqType, i32 originBodySize, Binary body, i32 index, i32 count."""
    w = BodyWriter()
    w.i32(s.order_id)
    w.i16(s.origin_type)
    w.i32(s.origin_body_size)
    w.binary(s.slice_body)
    w.i32(s.slice_index)
    w.i32(s.slice_count)
    return w.getvalue()


def decode_slice(body: bytes) -> PipeTransferSlice:
    r = BodyReader(body)
    order_id = r.i32("slice.orderId")
    origin_type = r.i16("slice.originReqType")
    at = r.pos
    size = r.i32("slice.originBodySize")
    if size < 0:
        raise r.error("slice.originBodySize", f"negative size {size}", at)
    data = r.binary("slice.sliceBody")
    at = r.pos
    index = r.i32("slice.sliceIndex")
    count = r.i32("slice.sliceCount")
    if count <= 0 or not 0 <= index < count:
        raise r.error("slice.sliceIndex", f"slice {index} of {count}", at)
    r.expect_end("slice body")
    return PipeTransferSlice(order_id, origin_type, size, data, index, count)


def split_into_slices(
    request: PipeTransferRequest, slice_size: int, order_id: int
) -> list[PipeTransferRequest]:
    """`request` as type-400 requests of at most `slice_size` body bytes each, in order."""
    if slice_size <= 0:
        raise ValueError("slice_size must be positive")
    body = request.body
    count = max(1, -(-len(body) // slice_size))
    out = []
    for i in range(count):
        part = body[i * slice_size : (i + 1) * slice_size]
        s = PipeTransferSlice(order_id, request.type, len(body), part, i, count)
        out.append(
            PipeTransferRequest(
                PipeRequestVersion.VERSION_1, PipeRequestType.TRANSFER_SLICE, encode_slice(s)
            )
        )
    return out


class SliceAssembler:
    """Receiver side: collects one slice sequence; the last slice yields the whole request.

    `accept` raises `SliceOutOfOrderError` (answer 1812) and forgets the sequence when a
    slice does not continue it: a different orderId / type / size / count, an index other
    than the next one, or slices that add up to more (or, at the end, other) than the size.
    Call `reset` when any other request arrives (IoTDB clears a partial sequence then).
    """

    def __init__(self, max_body_size: int = 1 << 30) -> None:
        self.max_body_size = max_body_size
        self._first: PipeTransferSlice | None = None
        self._parts: list[bytes] = []
        self._size = 0

    @property
    def in_progress(self) -> bool:
        return self._first is not None

    def reset(self) -> None:
        self._first = None
        self._parts = []
        self._size = 0

    def accept(self, s: PipeTransferSlice) -> PipeTransferRequest | None:
        self._check(s)
        if self._first is None:
            self._first = s
        self._parts.append(s.slice_body)
        self._size += len(s.slice_body)
        if s.slice_index + 1 < s.slice_count:
            return None
        body = b"".join(self._parts)
        self.reset()
        if len(body) != s.origin_body_size:
            raise SliceOutOfOrderError(
                f"slices add up to {len(body)} bytes, {s.origin_body_size} were announced",
                "slice",
            )
        return PipeTransferRequest(PipeRequestVersion.VERSION_1, s.origin_type, body)

    def _check(self, s: PipeTransferSlice) -> None:
        first = self._first
        problem = None
        if s.origin_body_size > self.max_body_size:
            problem = f"announced size {s.origin_body_size} exceeds {self.max_body_size}"
        elif first is None and s.slice_index != 0:
            problem = f"slice {s.slice_index} arrived before slice 0"
        elif first is not None and (
            (s.order_id, s.origin_type, s.origin_body_size, s.slice_count)
            != (first.order_id, first.origin_type, first.origin_body_size, first.slice_count)
        ):
            problem = f"slice of order {s.order_id} does not continue order {first.order_id}"
        elif first is not None and s.slice_index != len(self._parts):
            problem = f"slice {s.slice_index} arrived where {len(self._parts)} was expected"
        elif self._size + len(s.slice_body) > s.origin_body_size:
            problem = f"slices exceed the announced size {s.origin_body_size}"
        if problem is not None:
            self.reset()
            raise SliceOutOfOrderError(problem, "slice")
