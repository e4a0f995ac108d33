"""Writing events through IoTDB's client protocol, with IoTDB's own Python client.

One ``Writer`` per parallel sink instance holds a ``SessionPool`` of ``pool_size``
connections. A batch of one device whose events share measurements and types goes as one
tablet (``insertTablet``); a mixed batch goes as ``insertRecords``. Writes are idempotent: a
row written twice at the same timestamp is the same row.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from .options import IoTDBSinkOptions
from .serialization import Event

log = logging.getLogger(__name__)

# IoTDB status codes that mean "already there" (a database, a time series)
_ALREADY = (501, 502, 503, 507, 508, 903)

_NUMPY = {
    "BOOLEAN": np.dtype(">?"),
    "INT32": np.dtype(">i4"),
    "INT64": np.dtype(">i8"),
    "TIMESTAMP": np.dtype(">i8"),
    "FLOAT": np.dtype(">f4"),
    "DOUBLE": np.dtype(">f8"),
}


def _enum(kind: str, name: str) -> Any:
    from iotdb.utils.IoTDBConstants import Compressor, TSDataType, TSEncoding

    return {"type": TSDataType, "encoding": TSEncoding, "compressor": Compressor}[kind][name]


def _already(exc: Exception) -> bool:
    text = str(exc)
    return any(str(code) in text for code in _ALREADY) or "already" in text.lower()


class Writer:
    def __init__(self, options: IoTDBSinkOptions, pool_size: int = 1) -> None:
        from iotdb.SessionPool import PoolConfig, SessionPool

        config = PoolConfig(
            host=options.host,
            port=str(options.port),
            user_name=options.user,
            password=options.password,
            fetch_size=1024,
            max_retry=3,
        )
        self.pool = SessionPool(config, max_pool_size=max(1, pool_size), wait_timeout_in_ms=60_000)
        self.options = options

    def register(self) -> None:
        """Create the storage group and the listed time series where they are missing."""
        session = self.pool.get_session()
        try:
            if self.options.storage_group:
                try:
                    session.set_storage_group(self.options.storage_group)
                except Exception as exc:
                    if not _already(exc):
                        raise
            for ts in self.options.timeseries_option_list:
                if session.check_time_series_exists(ts.path):
                    continue
                try:
                    session.create_time_series(
                        ts.path,
                        _enum("type", ts.data_type),
                        _enum("encoding", ts.encoding),
                        _enum("compressor", ts.compressor),
                    )
                except Exception as exc:
                    if not _already(exc):
                        raise
        finally:
            self.pool.put_back(session)

    def write(self, events: Sequence[Event]) -> None:
        if not events:
            return
        first = events[0]
        uniform = all(
            e.device == first.device
            and e.measurements == first.measurements
            and e.types == first.types
            for e in events
        )
        session = self.pool.get_session()
        try:
            if uniform and all(t in _NUMPY or t in ("TEXT", "STRING") for t in first.types):
                session.insert_tablet(self._tablet(events))
            else:
                session.insert_records(
                    [e.device for e in events],
                    [e.timestamp for e in events],
                    [list(e.measurements) for e in events],
                    [[_enum("type", t) for t in e.types] for e in events],
                    [list(e.values) for e in events],
                )
        finally:
            self.pool.put_back(session)

    @staticmethod
    def _tablet(events: Sequence[Event]) -> Any:
        from iotdb.utils.BitMap import BitMap
        from iotdb.utils.NumpyTablet import NumpyTablet

        first = events[0]
        # one row per timestamp: a later event at the same time wins, as a rewrite would
        by_time = {e.timestamp: e for e in events}
        times = np.fromiter(sorted(by_time), dtype=">i8", count=len(by_time))
        rows = [by_time[int(t)] for t in times]
        columns, bitmaps, any_null = [], [], False
        for j, kind in enumerate(first.types):
            raw = [r.values[j] for r in rows]
            nulls = [v is None for v in raw]
            bitmap = BitMap(len(rows))
            for i, missing in enumerate(nulls):
                if missing:
                    bitmap.mark(i)
                    any_null = True
            if kind in _NUMPY:
                fill = False if kind == "BOOLEAN" else 0
                columns.append(
                    np.array([fill if v is None else v for v in raw], dtype=_NUMPY[kind])
                )
            else:
                columns.append(np.array(["" if v is None else str(v) for v in raw], dtype=object))
            bitmaps.append(bitmap)
        return NumpyTablet(
            first.device,
            list(first.measurements),
            [_enum("type", t) for t in first.types],
            columns,
            times,
            bitmaps if any_null else None,
        )

    def close(self) -> None:
        self.pool.close()
