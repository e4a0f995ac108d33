"""pipecore_storage: the embedded TsFile store of pipecore (and its TsFile format library).

It depends on nothing else of pipecore; `pipecore` (the core) and the plugins build on it.
"""

from .config import StoreConfig
from .errors import (
    CorruptFileError,
    PinError,
    PipecoreError,
    SchemaError,
    StoreClosedError,
    StoreConfigError,
    UnsupportedFormatError,
)
from .listeners import (
    Event,
    GapEvent,
    InsertEvent,
    StoreDeletion,
    StoreSchemaChange,
    Subscription,
    TsFileSealedEvent,
)
from .origin import CLIENT, Origin
from .query import AggregateSpec, And, Compare, Not, Or, QueryResult, StoreRows, ValueFilter
from .resource import SealedFile
from .schema import SeriesInfo
from .store import Store
from .tablet import MeasurementSchema, Tablet
from .types import CompressionType, Compressor, TSDataType, TSEncoding

__all__ = [
    "CLIENT",
    "AggregateSpec",
    "And",
    "Compare",
    "CompressionType",
    "Compressor",
    "CorruptFileError",
    "Event",
    "GapEvent",
    "InsertEvent",
    "MeasurementSchema",
    "Not",
    "Or",
    "Origin",
    "PinError",
    "PipecoreError",
    "QueryResult",
    "SchemaError",
    "SealedFile",
    "SeriesInfo",
    "Store",
    "StoreClosedError",
    "StoreConfig",
    "StoreConfigError",
    "StoreDeletion",
    "StoreRows",
    "StoreSchemaChange",
    "Subscription",
    "TSDataType",
    "TSEncoding",
    "Tablet",
    "TsFileSealedEvent",
    "UnsupportedFormatError",
    "ValueFilter",
]
