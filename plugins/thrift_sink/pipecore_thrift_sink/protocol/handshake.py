"""Handshake bodies: v1 (type 1: the timestamp precision) and v2 (type 51: a string map)."""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from .errors import PipeProtocolError
from .io import BodyReader, BodyWriter

__all__ = [
    "HANDSHAKE_KEY_CLUSTER_ID",
    "HANDSHAKE_KEY_CONVERT_ON_TYPE_MISMATCH",
    "HANDSHAKE_KEY_LOAD_TSFILE_STRATEGY",
    "HANDSHAKE_KEY_MARK_AS_PIPE_REQUEST",
    "HANDSHAKE_KEY_PASSWORD",
    "HANDSHAKE_KEY_TIME_PRECISION",
    "HANDSHAKE_KEY_USERNAME",
    "HANDSHAKE_KEY_VALIDATE_TSFILE",
    "TIMESTAMP_PRECISIONS",
    "HandshakeParams",
    "check_precision",
    "decode_handshake_v1",
    "decode_handshake_v2",
    "encode_handshake_v1",
    "encode_handshake_v2",
]

HANDSHAKE_KEY_TIME_PRECISION = "timestampPrecision"
HANDSHAKE_KEY_CLUSTER_ID = "clusterID"
HANDSHAKE_KEY_CONVERT_ON_TYPE_MISMATCH = "convertOnTypeMismatch"
HANDSHAKE_KEY_LOAD_TSFILE_STRATEGY = "loadTsFileStrategy"
HANDSHAKE_KEY_USERNAME = "username"
HANDSHAKE_KEY_PASSWORD = "password"
HANDSHAKE_KEY_VALIDATE_TSFILE = "validateTsFile"
HANDSHAKE_KEY_MARK_AS_PIPE_REQUEST = "markAsPipeRequest"
TIMESTAMP_PRECISIONS = ("ms", "us", "ns")


def encode_handshake_v1(timestamp_precision: str) -> bytes:
    w = BodyWriter()
    w.string(timestamp_precision)
    return w.getvalue()


def decode_handshake_v1(body: bytes) -> str:
    """The sender's timestamp precision (a v1 body is one String)."""
    r = BodyReader(body)
    precision = r.required_string("handshake.timestampPrecision")
    r.expect_end("handshake v1")
    return precision


def encode_handshake_v2(params: Mapping[str, str | None]) -> bytes:
    w = BodyWriter()
    w.string_map(params)
    return w.getvalue()


def decode_handshake_v2(body: bytes) -> dict[str, str | None]:
    """The v2 handshake map, as sent (keys and values are strings; unknown keys are kept)."""
    r = BodyReader(body)
    params = r.string_map("handshake.params")
    r.expect_end("handshake v2")
    return params


def _flag(params: Mapping[str, str | None], key: str, default: bool) -> bool:
    value = params.get(key)
    return default if value is None else value.strip().lower() == "true"


@attrs.frozen
class HandshakeParams:
    """The v2 handshake map with its 1.3 keys as fields (`extra` keeps any other key).

    `from_map` does not judge: missing `cluster_id` / `timestamp_precision` stay None for the
    receiver to refuse with 1802, as IoTDB does. Boolean flags default as IoTDB's receiver
    defaults them (all true).
    """

    timestamp_precision: str | None
    cluster_id: str | None
    username: str | None = None
    password: str | None = attrs.field(default=None, repr=False)
    convert_on_type_mismatch: bool = True
    load_tsfile_strategy: str = "sync"
    validate_tsfile: bool = True
    mark_as_pipe_request: bool = True
    extra: tuple[tuple[str, str | None], ...] = ()

    def to_map(self) -> dict[str, str]:
        out = {
            HANDSHAKE_KEY_TIME_PRECISION: self.timestamp_precision,
            HANDSHAKE_KEY_CLUSTER_ID: self.cluster_id,
            HANDSHAKE_KEY_CONVERT_ON_TYPE_MISMATCH: _bool(self.convert_on_type_mismatch),
            HANDSHAKE_KEY_LOAD_TSFILE_STRATEGY: self.load_tsfile_strategy,
            HANDSHAKE_KEY_USERNAME: self.username,
            HANDSHAKE_KEY_PASSWORD: self.password,
            HANDSHAKE_KEY_VALIDATE_TSFILE: _bool(self.validate_tsfile),
            HANDSHAKE_KEY_MARK_AS_PIPE_REQUEST: _bool(self.mark_as_pipe_request),
        }
        out.update(self.extra)
        return {k: v for k, v in out.items() if v is not None}

    def encode(self) -> bytes:
        return encode_handshake_v2(self.to_map())

    @classmethod
    def from_map(cls, params: Mapping[str, str | None]) -> HandshakeParams:
        known = {
            HANDSHAKE_KEY_TIME_PRECISION,
            HANDSHAKE_KEY_CLUSTER_ID,
            HANDSHAKE_KEY_CONVERT_ON_TYPE_MISMATCH,
            HANDSHAKE_KEY_LOAD_TSFILE_STRATEGY,
            HANDSHAKE_KEY_USERNAME,
            HANDSHAKE_KEY_PASSWORD,
            HANDSHAKE_KEY_VALIDATE_TSFILE,
            HANDSHAKE_KEY_MARK_AS_PIPE_REQUEST,
        }
        return cls(
            timestamp_precision=params.get(HANDSHAKE_KEY_TIME_PRECISION),
            cluster_id=params.get(HANDSHAKE_KEY_CLUSTER_ID),
            username=params.get(HANDSHAKE_KEY_USERNAME),
            password=params.get(HANDSHAKE_KEY_PASSWORD),
            convert_on_type_mismatch=_flag(params, HANDSHAKE_KEY_CONVERT_ON_TYPE_MISMATCH, True),
            load_tsfile_strategy=params.get(HANDSHAKE_KEY_LOAD_TSFILE_STRATEGY) or "sync",
            validate_tsfile=_flag(params, HANDSHAKE_KEY_VALIDATE_TSFILE, True),
            mark_as_pipe_request=_flag(params, HANDSHAKE_KEY_MARK_AS_PIPE_REQUEST, True),
            extra=tuple(sorted((k, v) for k, v in params.items() if k not in known)),
        )

    @classmethod
    def decode(cls, body: bytes) -> HandshakeParams:
        return cls.from_map(decode_handshake_v2(body))


def _bool(value: bool) -> str:
    return "true" if value else "false"


def check_precision(precision: str) -> str:
    """`precision` if it is ms/us/ns, else PipeProtocolError."""
    if precision not in TIMESTAMP_PRECISIONS:
        raise PipeProtocolError(
            f"unknown timestamp precision {precision!r}; expected ms, us or ns",
            "handshake.timestampPrecision",
        )
    return precision
