"""pipecore_storage: the embedded TsFile store of pipecore (and its TsFile format library).

It depends on nothing else of pipecore; `pipecore` (the core) and the plugins build on it.
"""

from .errors import (
    CorruptFileError,
    PipecoreError,
    SchemaError,
    StoreClosedError,
    UnsupportedFormatError,
)
from .origin import CLIENT, Origin
from .tablet import MeasurementSchema, Tablet
from .types import CompressionType, Compressor, TSDataType, TSEncoding

__all__ = [
    "CLIENT",
    "CompressionType",
    "Compressor",
    "CorruptFileError",
    "MeasurementSchema",
    "Origin",
    "PipecoreError",
    "SchemaError",
    "StoreClosedError",
    "TSDataType",
    "TSEncoding",
    "Tablet",
    "UnsupportedFormatError",
]
