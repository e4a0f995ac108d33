"""Node configuration keys of the thrift sink and receiver (IoTDB's names), registered through
the ``register_config_sections`` hook: ``config.pipe_sink_max_client_number`` etc.

The core's `PipeSection` already holds ``pipe_sink_timeout_ms`` (the read timeout of a sink's
connection) and ``pipe_sink_retry_interval_ms`` (the back-off unit); the node section holds
``timestamp_precision``; the sync section ``ip_white_list``.
"""

from __future__ import annotations

from typing import Any

import attrs

from pipecore import config_section

__all__ = ["ThriftSinkSection", "thrift_settings"]

MiB = 1 << 20


def _positive(inst: object, attribute: attrs.Attribute, value: int) -> None:
    if value <= 0:
        raise ValueError(f"{attribute.name} must be positive, got {value}")


def _doc(text: str, *, restart: bool = False) -> dict[str, Any]:
    """Field metadata: the key's help text; `restart`: ``LOAD CONFIGURATION`` reports a change
    as waiting for the next start (the key is read once, when the node serves)."""
    return {"doc": text, "aliases": (), "restart": restart}


@config_section("thrift_sink")
@attrs.frozen
class ThriftSinkSection:
    pipe_sink_max_client_number: int = attrs.field(
        default=4,
        validator=_positive,
        metadata=_doc("connections an iotdb-thrift-(async-)sink keeps busy at once"),
    )
    pipe_sink_handshake_timeout_ms: int = attrs.field(
        default=10_000, validator=_positive, metadata=_doc("connect and handshake timeout")
    )
    pipe_sink_read_file_buffer_size: int = attrs.field(
        default=8 * MiB, validator=_positive, metadata=_doc("TsFile piece size (bytes)")
    )
    pipe_connector_request_slice_threshold_bytes: int = attrs.field(
        default=int(0.8 * 512 * MiB),
        validator=_positive,
        metadata=_doc("requests at least this large are sent as slices (type 400)"),
    )
    pipe_all_sinks_rate_limit_bytes_per_second: float = attrs.field(
        default=-1.0, metadata=_doc("bytes/s over all thrift sinks of the node; <= 0: no limit")
    )
    dn_pipe_receiver_file_dirs: str = attrs.field(
        default="system/pipe/receiver",
        metadata=_doc(
            "where receivers keep file pieces (relative to the data directory; read at serve)",
            restart=True,
        ),
    )
    pipe_file_receiver_fsync_enabled: bool = attrs.field(
        default=True, metadata=_doc("fsync a received TsFile before loading it")
    )
    pipe_receiver_req_decompressed_max_length_in_bytes: int = attrs.field(
        default=1 << 30,
        validator=_positive,
        metadata=_doc("largest decompressed request (type 300) a receiver accepts"),
    )
    pipe_receiver_memory_budget_in_bytes: int = attrs.field(
        default=1 << 30,
        validator=_positive,
        metadata=_doc(
            "bytes all receiver connections of the node together may hold decompressed or as "
            "slices being assembled; beyond it requests are answered 1808 (retry later)"
        ),
    )


def thrift_settings(node_config: Any) -> ThriftSinkSection:
    """The section of `node_config` (a `pipecore.Config`), or the defaults when there is none
    (a sink used outside a node, or a node configured without this plugin)."""
    if node_config is not None:
        section = getattr(node_config, "sections", {}).get("thrift_sink")
        if isinstance(section, ThriftSinkSection):
            return section
    return ThriftSinkSection()
