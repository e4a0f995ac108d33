"""Request types, versions, the request value, status codes and the "prior status" rule."""

from __future__ import annotations

import enum
import struct
from collections.abc import Sequence

import attrs

from pipecore.rpc import Status, TSStatusCode

from .errors import PipeProtocolError

__all__ = [
    "AIR_GAP_OK_CODES",
    "PipeRequestType",
    "PipeRequestVersion",
    "PipeTransferRequest",
    "TSStatusCode",
    "prior_status",
]


class PipeRequestVersion(enum.IntEnum):
    """The version byte (`IoTDBSinkRequestVersion`). Every pipe sync request carries 1."""

    VERSION_1 = 1
    VERSION_2 = 2  # only the two-stage aggregation processor


class PipeRequestType(enum.IntEnum):
    """`PipeRequestType` of IoTDB 1.3 and 2.x (the i16 `type` of a `TPipeTransferReq`).

    Types 10–13 are IoTDB 2.x's: the 1.3 bodies with tsfile 2.x tablets and a database name
    (null for the tree model) after each item; a 2.x sender sends only those for data.
    """

    HANDSHAKE_CONFIGNODE_V1 = 0
    HANDSHAKE_DATANODE_V1 = 1
    TRANSFER_TABLET_INSERT_NODE = 2
    TRANSFER_TABLET_RAW = 3
    TRANSFER_TS_FILE_PIECE = 4
    TRANSFER_TS_FILE_SEAL = 5
    TRANSFER_TABLET_BATCH = 6
    TRANSFER_TABLET_BINARY = 7
    TRANSFER_TS_FILE_PIECE_WITH_MOD = 8
    TRANSFER_TS_FILE_SEAL_WITH_MOD = 9
    TRANSFER_TABLET_INSERT_NODE_V2 = 10
    TRANSFER_TABLET_RAW_V2 = 11
    TRANSFER_TABLET_BINARY_V2 = 12
    TRANSFER_TABLET_BATCH_V2 = 13
    HANDSHAKE_CONFIGNODE_V2 = 50
    HANDSHAKE_DATANODE_V2 = 51
    TRANSFER_SCHEMA_PLAN = 100
    TRANSFER_SCHEMA_SNAPSHOT_PIECE = 101
    TRANSFER_SCHEMA_SNAPSHOT_SEAL = 102
    TRANSFER_CONFIG_PLAN = 200
    TRANSFER_CONFIG_SNAPSHOT_PIECE = 201
    TRANSFER_CONFIG_SNAPSHOT_SEAL = 202
    TRANSFER_COMPRESSED = 300
    TRANSFER_SLICE = 400

    @classmethod
    def name_of(cls, value: int) -> str:
        try:
            return cls(value).name
        except ValueError:
            return f"UNKNOWN({value})"


_PAYLOAD_HEAD = struct.Struct(">bh")


@attrs.frozen
class PipeTransferRequest:
    """A `TPipeTransferReq` without Thrift: version byte, i16 type, body bytes.

    Its *payload* form (version byte + i16 type + body) is what the compressed wrapper
    (type 300) compresses and what an air-gap frame carries.
    """

    version: int
    type: int
    body: bytes

    def to_payload(self) -> bytes:
        return _PAYLOAD_HEAD.pack(self.version, self.type) + self.body

    @classmethod
    def from_payload(cls, payload: bytes | bytearray | memoryview) -> PipeTransferRequest:
        if len(payload) < _PAYLOAD_HEAD.size:
            raise PipeProtocolError(
                f"{len(payload)} bytes cannot hold a version byte and an i16 type", "payload", 0
            )
        version, type_ = _PAYLOAD_HEAD.unpack_from(payload, 0)
        return cls(version, type_, bytes(payload[_PAYLOAD_HEAD.size :]))

    @property
    def type_name(self) -> str:
        return PipeRequestType.name_of(self.type)


# Best to worst; any code outside this table is returned at once (PipeReceiverStatusHandler).
_PRIORITY = {
    TSStatusCode.SUCCESS_STATUS: 0,
    TSStatusCode.PIPE_RECEIVER_IDEMPOTENT_CONFLICT_EXCEPTION: 1,
    TSStatusCode.REDIRECTION_RECOMMEND: 2,
    TSStatusCode.PIPE_RECEIVER_USER_CONFLICT_EXCEPTION: 3,
    TSStatusCode.PIPE_RECEIVER_TEMPORARY_UNAVAILABLE_EXCEPTION: 4,
}

# Statuses an air-gap receiver answers with OK (0x00); everything else is FAIL (0xFF).
AIR_GAP_OK_CODES = frozenset(
    {
        TSStatusCode.SUCCESS_STATUS,
        TSStatusCode.REDIRECTION_RECOMMEND,
        TSStatusCode.PIPE_RECEIVER_IDEMPOTENT_CONFLICT_EXCEPTION,
    }
)


def prior_status(statuses: Sequence[Status]) -> Status:
    """IoTDB's "prior status" of several results (batches, multi-statement writes).

    The first status whose code is outside {200, 1809, 400, 1810, 1808} is returned as it
    is. Otherwise the worst code (200 < 1809 < 400 < 1810 < 1808) wins, with the message of
    its first occurrence and every given status as `sub_status`. No statuses: 200.
    """
    worst: Status | None = None
    for status in statuses:
        rank = _PRIORITY.get(status.code)  # type: ignore[call-overload]
        if rank is None:
            return status
        if worst is None or rank > _PRIORITY[worst.code]:  # type: ignore[index]
            worst = status
    if worst is None:
        return Status.ok()
    return Status(worst.code, worst.message, tuple(statuses))
