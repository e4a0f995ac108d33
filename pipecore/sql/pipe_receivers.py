"""``SHOW PIPE RECEIVERS`` — pipecore's own view of the senders connected to this node's
receivers (every transport: ``pipeTransfer`` over thrift or SSL, the air gap, the sync tool).

IoTDB has no such statement: its SHOW PIPES lists a node's own pipes only (IoTDB 1.3/2.0 never
lists the senders of its pipe protocol), so pipecore lists receiver rows in SHOW PIPES only for
the sync tool's senders (IoTDB 1.0/1.1, seed 001) and shows all connected senders here.
The statement is ``SHOW PIPE RECEIVERS`` (unquoted; a pipe named ``receivers`` is shown with
``SHOW PIPE `receivers```).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..timeparse import ZoneLike, format_creation_time
from .dataset import DataSet

if TYPE_CHECKING:
    from .nodeview import ReceiverView

__all__ = ["SHOW_PIPE_RECEIVERS_COLUMNS", "is_receivers_keyword", "receivers_dataset"]

SHOW_PIPE_RECEIVERS_COLUMNS = (
    "ID",
    "ConnectedTime",
    "Transport",
    "Remote",
    "ClusterId",
    "PipeName",
    "Databases",
    "Points",
    "Files",
    "LastError",
)


def is_receivers_keyword(text: str, quoted: bool) -> bool:
    """Whether ``SHOW PIPE <name>`` is ``SHOW PIPE RECEIVERS`` (the word unquoted)."""
    return not quoted and text.upper() == "RECEIVERS"


def receivers_dataset(connections: Iterable[ReceiverView], zone: ZoneLike) -> DataSet:
    """One row per connected sender, oldest first (all TEXT, empty cells as ``null``)."""
    rows = [
        (
            str(c.id),
            format_creation_time(c.connected_at, zone),
            c.transport,
            c.remote,
            c.cluster_id or "null",
            getattr(c, "pipe_name", None) or "null",
            ",".join(sorted(c.databases)) or "null",
            str(c.points),
            str(c.files),
            c.last_error or "null",
        )
        for c in connections
    ]
    return DataSet.text(SHOW_PIPE_RECEIVERS_COLUMNS, rows)
