"""Reopening a TsFile for writing (the seed's ForceAppend, and recovery of unclosed files).

A complete file keeps its chunk groups; its index area (from the separator on) is truncated
and rebuilt on the next `close()`. A file that was never closed (a crash) keeps every chunk
group that can be parsed completely and is truncated after the last of them.
"""

from __future__ import annotations

import mmap
import os

from ..errors import CorruptFileError
from ..tablet import MeasurementSchema
from .constants import HEAD_SIZE, MAGIC, VERSION_V3, VERSION_V4
from .metadata import ChunkMetadata
from .reader import TsFileReader
from .schema import TsFileConfig
from .sequence import scan_chunk_groups

__all__ = ["open_for_append"]


def open_for_append(cls, path, config: TsFileConfig | None):
    path = os.fspath(path)
    with open(path, "rb") as f:
        head = f.read(HEAD_SIZE)
        f.seek(0, os.SEEK_END)
        size = f.tell()
        f.seek(max(0, size - len(MAGIC)))
        tail = f.read()
    if len(head) < HEAD_SIZE or head[:6] != MAGIC or head[6] not in (VERSION_V3, VERSION_V4):
        raise CorruptFileError(path, 0, "not a TsFile: cannot append to it")
    writer = cls.__new__(cls)
    writer._init_state(path, None, config, head[6])
    if tail == MAGIC and size > HEAD_SIZE + len(MAGIC):
        keep = _restore_complete(writer, path)
    else:
        keep = _restore_incomplete(writer, path)
    writer._file = open(path, "r+b")  # noqa: SIM115 - closed by the writer
    writer._file.truncate(keep)
    writer._file.seek(keep)
    writer._pos = keep
    return writer


def _restore_complete(writer, path: str) -> int:
    with TsFileReader(path) as reader:
        for device in reader.devices():
            aligned = reader.is_aligned(device)
            schemas = reader.schemas(device)
            dev = writer._device(device, aligned)
            entry = reader._entry(device)
            if aligned and entry.time is not None:
                dev.time_chunks = list(entry.time.chunks)
                dev.last_time = entry.time.statistics.end_time
            for name, tsm in reader.timeseries_metadata(device).items():
                series = _adopt(writer, dev, schemas[name])
                series.chunks = list(tsm.chunks)
                if tsm.statistics.count:
                    series.last_time = tsm.statistics.end_time
        return reader.metadata.meta_offset


def _restore_incomplete(writer, path: str) -> int:
    keep = HEAD_SIZE
    with open(path, "rb") as f:
        data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        try:
            groups = scan_chunk_groups(data, path, writer.version)
            while True:
                try:
                    group = next(groups)
                    _check_group(group)
                except (StopIteration, CorruptFileError):
                    break
                _adopt_group(writer, group)
                keep = group.end_offset
        finally:
            del groups
            data.close()
    return keep


def _check_group(group) -> None:
    """Decode what the recovery needs, so a damaged group is dropped as a whole."""
    for chunk in group.chunks:
        _ = chunk.statistics


def _adopt_group(writer, group) -> None:
    dev = writer._device(group.device, group.aligned)
    for chunk in group.chunks:
        meta = ChunkMetadata(chunk.offset, chunk.statistics)
        if chunk.is_time_chunk:
            dev.time_chunks.append(meta)
            if meta.statistics.count:
                dev.last_time = max(dev.last_time, meta.statistics.end_time)
            continue
        schema = MeasurementSchema(
            chunk.measurement, chunk.data_type, chunk.encoding, chunk.compression
        )
        series = _adopt(writer, dev, schema)
        series.chunks.append(meta)
        if meta.statistics.count:
            series.last_time = max(series.last_time, meta.statistics.end_time)


def _adopt(writer, dev, schema: MeasurementSchema):
    series = dev.series.get(schema.name)
    if series is None:
        from .writer import _Series

        series = dev.series[schema.name] = _Series(schema, from_file=True)
    elif series.schema.data_type != schema.data_type:
        raise CorruptFileError(
            writer.path, 0, f"{dev.name}.{schema.name} has chunks of two data types"
        )
    return series
