"""VERIFY PIPE over IoTDB's pipe protocol: request type 29001, a pipecore extension.

IoTDB uses request types 0–12, 50–51, 100–103, 200–202, 300 and 400; 29001 is far from all of
them, and an IoTDB receiver answers it with 1801 (unknown type), which the sink reports as
"this receiver cannot answer digests". The request travels after the connection's handshake
(type 51 or 1), so it is authenticated exactly like data: the same user, password, cluster id
and ``ip_white_list`` checks (docs/protocol.md, "Digest request").

Request body (big-endian)::

    i64 start, i64 end (exclusive), i64 granularity, i32 n, n × string pattern

Answer body (in a SUCCESS status)::

    i32 series count, then per series: string path, i32 n windows,
    n × i64 window start, n × i64 count, n × u64 hash

A window is 24 bytes on the wire whatever its number of points.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from pipecore import DigestRequest, PipeError, WindowDigests, series_in_scope, store_digests
from pipecore.rpc import PipeTransferResponse, Status, TSStatusCode

from .protocol import BodyReader, BodyWriter, PipeProtocolError

__all__ = [
    "DIGEST_REQUEST_TYPE",
    "answer_digests",
    "decode_digest_request",
    "decode_digests",
    "encode_digest_request",
    "encode_digests",
    "request_digests",
]

log = logging.getLogger("pipecore.thrift_sink")

DIGEST_REQUEST_TYPE = 29001
_MAX_PATTERNS = 4096


def encode_digest_request(request: DigestRequest) -> bytes:
    w = BodyWriter()
    w.i64(request.start)
    w.i64(request.end)
    w.i64(request.granularity)
    w.i32(len(request.patterns))
    for pattern in request.patterns:
        w.string(pattern)
    return w.getvalue()


def decode_digest_request(body: bytes) -> DigestRequest:
    r = BodyReader(body)
    start, end, granularity = r.i64("start"), r.i64("end"), r.i64("granularity")
    if granularity <= 0:
        raise PipeProtocolError(f"granularity must be positive, got {granularity}", "granularity")
    n = r.count("patterns", 4)
    if n > _MAX_PATTERNS:
        raise PipeProtocolError(f"{n} patterns (at most {_MAX_PATTERNS})", "patterns")
    patterns = tuple(r.required_string(f"patterns[{i}]") for i in range(n))
    r.expect_end("digest request")
    return DigestRequest(patterns, start, end, granularity)


def encode_digests(digests: dict[str, WindowDigests]) -> bytes:
    w = BodyWriter()
    w.i32(len(digests))
    for path, d in digests.items():
        w.string(path)
        w.i32(len(d))
        w.raw(d.starts.astype(">i8").tobytes())
        w.raw(d.counts.astype(">i8").tobytes())
        w.raw(d.hashes.astype(">u8").tobytes())
    return w.getvalue()


def decode_digests(body: bytes) -> dict[str, WindowDigests]:
    r = BodyReader(body)
    out: dict[str, WindowDigests] = {}
    for i in range(r.count("series", 8)):
        path = r.required_string(f"series[{i}].path")
        n = r.count(f"series[{i}].windows", 24)
        starts = r.array(">i8", n, f"{path}.starts").astype(np.int64)
        counts = r.array(">i8", n, f"{path}.counts").astype(np.int64)
        hashes = r.array(">u8", n, f"{path}.hashes").astype(np.uint64)
        out[path] = WindowDigests(starts, counts, hashes)
    r.expect_end("digest answer")
    return out


# ---------------------------------------------------------------------- receiver side
def answer_digests(receiver: Any, body: bytes) -> PipeTransferResponse:
    """The receiver's handler of type 29001 (after the handshake): digests of its store."""
    request = decode_digest_request(body)
    store = receiver.settings.store
    try:
        series = series_in_scope(store, request.patterns)
        digests = store_digests(store, series, request.start, request.end, request.granularity)
    except ValueError as exc:  # a malformed pattern
        return PipeTransferResponse(Status(TSStatusCode.PIPE_ERROR, f"digest request: {exc}"))
    return PipeTransferResponse(Status.ok(), encode_digests(digests))


# ---------------------------------------------------------------------- sink side
def request_digests(sink: Any, request: DigestRequest) -> dict[str, WindowDigests] | None:
    """Ask a live receiver of `sink` (a `ThriftSinkBase`); None when it cannot answer (an
    IoTDB, which does not know type 29001)."""
    client = sink.pick()
    resp = client.send(DIGEST_REQUEST_TYPE, encode_digest_request(request))
    if resp.status.code == TSStatusCode.PIPE_TYPE_ERROR:
        log.info("receiver %s does not answer digests: %s", client.endpoint, resp.status)
        return None
    if not resp.status.is_success:
        raise PipeError(f"receiver {client.endpoint} refused the digest request: {resp.status}")
    try:
        return decode_digests(resp.body or b"")
    except PipeProtocolError as exc:
        raise PipeError(f"receiver {client.endpoint}: malformed digest answer: {exc}") from exc
