"""The receiver's TRANSFER_SCHEMA_PLAN (type 100) handler: IoTDB's realtime deletions.

IoTDB sends each captured ``DELETE FROM`` as a `DeleteDataNode` plan node
(protocol/delete_node.py); it is applied to the store as the sender's DELETE, with the pipe's
origin (so a pipe with ``forwarding-pipe-requests=false`` does not send it back). Any other
plan node is a schema change, which pipecore does not synchronise: refused with
PIPE_TYPE_ERROR, as before.

An IoTDB 2.0.1 sender whose deletion is refused fails its pipe (it logs a NullPointerException
from IoTDBDataRegionSyncConnector while reporting the status) — accepting deletions is what
keeps an IoTDB → pipecore pipe with ``data.delete`` running.
"""

from __future__ import annotations

import logging
from typing import Any

from pipecore.rpc import PipeTransferResponse, Status, TSStatusCode
from pipecore_storage.errors import PipecoreError

from .protocol.delete_node import DELETE_DATA, decode_delete_node, plan_type

__all__ = ["plan_node"]

log = logging.getLogger("pipecore.thrift_receiver")


def plan_node(receiver: Any, body: bytes) -> PipeTransferResponse:
    kind = plan_type(body)
    if kind != DELETE_DATA:
        return PipeTransferResponse(
            Status(
                TSStatusCode.PIPE_TYPE_ERROR,
                f"Unknown PipeRequestType 100 with plan node type {kind}: schema synchronisation "
                "is not supported by this pipecore receiver.",
            )
        )
    node = decode_delete_node(body)
    store = receiver.settings.store
    try:
        for pattern in node.patterns:
            store.delete(pattern, node.start, node.end, receiver.origin)
    except (PipecoreError, ValueError) as exc:
        return PipeTransferResponse(
            Status(TSStatusCode.PIPE_TRANSFER_EXECUTE_STATEMENT_ERROR, f"{exc}")
        )
    log.debug(
        "receiver %s: deleted %s in [%d, %d]", receiver.remote, node.patterns, node.start, node.end
    )
    return PipeTransferResponse(Status.ok())
