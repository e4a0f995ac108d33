"""pipecore's lineage wrapper (request type 10000): which clusters the wrapped request's data
already passed through, so that rings and meshes of pipes with forwarding on never loop.

Sent only to a receiver that declared itself pipecore in the handshake (an IoTDB receiver
would answer 1801 to an unknown type), and only when the data came through other clusters
(local writes have an empty lineage: the receiver knows the sender from its handshake).
Body::

    i32     number of cluster ids, then each as a String (i32 length + UTF-8), oldest first
    byte    version of the wrapped request (1)
    i16     type of the wrapped request
    bytes   the wrapped request's body (to the end)

The receiver writes the data with the lineage plus the sender's cluster id, and acknowledges
without writing a request whose lineage holds its own cluster id (it has the data already).
"""

from __future__ import annotations

import attrs

from .errors import PipeProtocolError
from .io import BodyReader, BodyWriter

__all__ = ["LINEAGE_REQUEST_TYPE", "LineageRequest", "decode_lineage", "encode_lineage"]

#: pipecore's own request type (IoTDB's types stay below 1000)
LINEAGE_REQUEST_TYPE = 10000
_MAX_CLUSTERS = 4096


@attrs.frozen
class LineageRequest:
    lineage: tuple[str, ...]
    version: int
    type: int
    body: bytes


def encode_lineage(lineage: tuple[str, ...], type_: int, body: bytes, version: int = 1) -> bytes:
    w = BodyWriter()
    w.i32(len(lineage))
    for cluster in lineage:
        w.string(cluster)
    w.byte(version)
    w.i16(type_)
    w.raw(body)
    return w.getvalue()


def decode_lineage(body: bytes) -> LineageRequest:
    r = BodyReader(body)
    count = r.count("lineage.count", 4)
    if count > _MAX_CLUSTERS:
        raise PipeProtocolError(f"{count} cluster ids", "lineage.count")
    lineage = tuple(r.required_string("lineage.cluster") for _ in range(count))
    version = r.byte("lineage.version")
    type_ = r.i16("lineage.type")
    return LineageRequest(lineage, version, type_, bytes(r.take(r.remaining, "lineage.body")))
