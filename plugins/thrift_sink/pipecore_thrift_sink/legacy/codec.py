"""The sync tool's ``PipeData`` (IoTDB 1.0/1.1; kept by 1.3/2.0 for the legacy pipe), the body
of ``sendPipeData(buff)``.

Layouts (read from IoTDB 1.0.1's and 1.1.2's ``org.apache.iotdb.db.sync.pipedata`` classes in
the Maven Central jars, the same in 1.3's ``pipe.connector.payload.legacy``; big-endian,
strings as tsfile's ``ReadWriteIOUtils``: i32 UTF-8 byte length, -1 for null)::

    PipeData          i8 type (0 TSFILE, 1 DELETION) | i64 serialNumber | the type's part
    TsFilePipeData    string parentDirPath | string tsFileName
    DeletionPipeData  string database | Deletion.serializeWithoutFileOffset:
                      i64 startTime | i64 endTime | string path

There is no schema PipeData in 1.0/1.1 (0.13's SCHEMA type is gone): the receiver creates the
database the handshake names and the series from the TsFiles it loads.
"""

from __future__ import annotations

import attrs

from ..protocol.errors import PipeProtocolError
from ..protocol.io import BodyReader, BodyWriter

__all__ = [
    "DELETION",
    "TSFILE",
    "DeletionPipeData",
    "TsFilePipeData",
    "decode_pipe_data",
    "encode_pipe_data",
]

TSFILE = 0
DELETION = 1


@attrs.frozen
class TsFilePipeData:
    """A TsFile the sender sent with ``sendFile`` before: load ``tsFileName`` (and the
    ``.mods`` / ``.resource`` sent with it). `parent_dir` is the sender's folder (the receiver
    ignores it: the file is in its own folder of the connection)."""

    serial_number: int
    tsfile_name: str
    parent_dir: str = ""

    type = TSFILE


@attrs.frozen
class DeletionPipeData:
    """``DELETE FROM path WHERE start_time <= time <= end_time`` of `database` (the
    sync tool's SyncDelOp)."""

    serial_number: int
    database: str | None
    path: str
    start_time: int
    end_time: int

    type = DELETION


PipeData = TsFilePipeData | DeletionPipeData


def encode_pipe_data(data: PipeData) -> bytes:
    """The bytes ``PipeData.serialize()`` makes for `data`."""
    w = BodyWriter()
    w.byte(data.type)
    w.i64(data.serial_number)
    if isinstance(data, TsFilePipeData):
        w.string(data.parent_dir)
        w.string(data.tsfile_name)
    else:
        w.string(data.database)
        w.i64(data.start_time)
        w.i64(data.end_time)
        w.string(data.path)
    return w.getvalue()


def decode_pipe_data(body: bytes) -> PipeData:
    """A `TsFilePipeData` or `DeletionPipeData`; PipeProtocolError for anything else (an
    unknown type, a short body, bytes left over)."""
    r = BodyReader(body)
    kind = r.byte("PipeData.type")
    serial = r.i64("PipeData.serialNumber")
    out: PipeData
    if kind == TSFILE:
        parent = r.string("TsFilePipeData.parentDirPath") or ""
        name = r.string("TsFilePipeData.tsFileName")
        if not name:
            raise PipeProtocolError("a TsFilePipeData without a file name", "tsFileName")
        out = TsFilePipeData(serial, name, parent)
    elif kind == DELETION:
        database = r.string("DeletionPipeData.database")
        start = r.i64("Deletion.startTime")
        end = r.i64("Deletion.endTime")
        path = r.string("Deletion.path")
        if not path:
            raise PipeProtocolError("a DeletionPipeData without a path", "Deletion.path")
        out = DeletionPipeData(serial, database, path, start, end)
    else:
        raise PipeProtocolError(
            f"Invalid input: {kind} (PipeData types: 0 TSFILE, 1 DELETION)", "PipeData.type"
        )
    if r.remaining:
        raise PipeProtocolError(f"{r.remaining} bytes after the PipeData", "PipeData")
    return out
