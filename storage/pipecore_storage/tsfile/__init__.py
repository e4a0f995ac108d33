"""Apache TsFile (tree model, format versions 3 and 4): writer, reader and codecs.

Files we write are read by the official implementation and we read theirs (tsfile-format.md).

* `TsFileWriter` — registers series, writes `Tablet`s and `TSRecord`s, seals pages and chunk
  groups, writes the index on `close()`; `TsFileWriter.open_for_append(path)` reopens a file.
* `TsFileReader` — devices, schemas, statistics, columnar `read_series`, `read_tablets`,
  the seed's `query` with time/value filters, and `chunk_groups()` (sequential reader).
"""

from .chunk import UnsupportedChunkError
from .device_id import DeviceID
from .query import (
    BinaryExpression,
    Field,
    Filter,
    GlobalTimeExpression,
    Path,
    QueryDataSet,
    QueryExpression,
    RowRecord,
    SingleSeriesExpression,
    TimeFilter,
    ValueFilter,
)
from .reader import SeriesNotFoundError, TsFileReader
from .schema import (
    BooleanDataPoint,
    DataPoint,
    DoubleDataPoint,
    FloatDataPoint,
    IntDataPoint,
    LongDataPoint,
    StringDataPoint,
    TsFileConfig,
    TsFileSchema,
    TSRecord,
)
from .sequence import Chunk, ChunkGroup, Page, scan_chunk_groups
from .statistics import Statistics
from .writer import TsFileWriter

__all__ = [
    "BinaryExpression",
    "BooleanDataPoint",
    "Chunk",
    "ChunkGroup",
    "DataPoint",
    "DeviceID",
    "DoubleDataPoint",
    "Field",
    "Filter",
    "FloatDataPoint",
    "GlobalTimeExpression",
    "IntDataPoint",
    "LongDataPoint",
    "Page",
    "Path",
    "QueryDataSet",
    "QueryExpression",
    "RowRecord",
    "SeriesNotFoundError",
    "SingleSeriesExpression",
    "Statistics",
    "StringDataPoint",
    "TSRecord",
    "TimeFilter",
    "TsFileConfig",
    "TsFileReader",
    "TsFileSchema",
    "TsFileWriter",
    "UnsupportedChunkError",
    "ValueFilter",
    "scan_chunk_groups",
]
