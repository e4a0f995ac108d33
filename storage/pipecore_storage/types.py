"""Data types, encodings and compressions of TsFile/IoTDB, with their wire values.

The numeric values are the one-byte enum values of the TsFile format and of IoTDB's wire
protocol (reference: tsfile-format.md §0, iotdb-pipe-protocol.md §8.1).

How values are held in memory (numpy), per data type:

=========  ==================  ==================================================
type       numpy dtype         value
=========  ==================  ==================================================
BOOLEAN    bool                True / False
INT32      int32
INT64      int64
FLOAT      float32
DOUBLE     float64
TEXT       object              str (UTF-8 on disk; undecodable bytes kept with
                               the ``surrogateescape`` handler)
STRING     object              str
BLOB       object              bytes
DATE       int32               ``yyyymmdd``, e.g. 20240101
TIMESTAMP  int64               epoch time in the store's precision
=========  ==================  ==================================================
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import TypeVar

import numpy as np

__all__ = [
    "IOTDB_DEFAULT_COMPRESSION",
    "IOTDB_DEFAULT_ENCODINGS",
    "TSFILE_DEFAULT_COMPRESSION",
    "TSFILE_DEFAULT_ENCODINGS",
    "CompressionType",
    "Compressor",
    "TSDataType",
    "TSEncoding",
    "decode_text",
    "encode_text",
    "parse_enum",
]


class TSDataType(enum.IntEnum):
    BOOLEAN = 0
    INT32 = 1
    INT64 = 2
    FLOAT = 3
    DOUBLE = 4
    TEXT = 5
    VECTOR = 6  # the time column of an aligned device; never a user series
    UNKNOWN = 7
    TIMESTAMP = 8
    DATE = 9
    BLOB = 10
    STRING = 11

    @property
    def numpy_dtype(self) -> np.dtype:
        try:
            return _NUMPY_DTYPES[self]
        except KeyError:
            raise ValueError(f"data type {self.name} holds no values") from None

    @property
    def is_binary(self) -> bool:
        """TEXT, STRING and BLOB: variable-length values held in object arrays."""
        return self in (TSDataType.TEXT, TSDataType.STRING, TSDataType.BLOB)

    @property
    def is_numeric(self) -> bool:
        return self in (
            TSDataType.INT32,
            TSDataType.INT64,
            TSDataType.FLOAT,
            TSDataType.DOUBLE,
            TSDataType.DATE,
            TSDataType.TIMESTAMP,
        )

    @property
    def in_format_v3(self) -> bool:
        """Whether version-3 TsFiles (IoTDB 1.x) can hold this type."""
        return self <= TSDataType.VECTOR


class TSEncoding(enum.IntEnum):
    PLAIN = 0
    DICTIONARY = 1
    RLE = 2
    DIFF = 3
    TS_2DIFF = 4
    BITMAP = 5
    GORILLA_V1 = 6
    REGULAR = 7
    GORILLA = 8
    ZIGZAG = 9
    FREQ = 10
    CHIMP = 11
    SPRINTZ = 12
    RLBE = 13
    CAMEL = 14


class CompressionType(enum.IntEnum):
    UNCOMPRESSED = 0
    SNAPPY = 1
    GZIP = 2
    LZO = 3
    SDT = 4
    PAA = 5
    PLA = 6
    LZ4 = 7
    ZSTD = 8
    LZMA2 = 9


Compressor = CompressionType  # the official Python package's name for it

_NUMPY_DTYPES: dict[TSDataType, np.dtype] = {
    TSDataType.BOOLEAN: np.dtype(np.bool_),
    TSDataType.INT32: np.dtype(np.int32),
    TSDataType.INT64: np.dtype(np.int64),
    TSDataType.FLOAT: np.dtype(np.float32),
    TSDataType.DOUBLE: np.dtype(np.float64),
    TSDataType.TEXT: np.dtype(object),
    TSDataType.STRING: np.dtype(object),
    TSDataType.BLOB: np.dtype(object),
    TSDataType.DATE: np.dtype(np.int32),
    TSDataType.TIMESTAMP: np.dtype(np.int64),
}

# Defaults of the official TsFile writer (C++/Python 2.5.0; tsfile-format.md §3.10).
TSFILE_DEFAULT_ENCODINGS: Mapping[TSDataType, TSEncoding] = {
    TSDataType.BOOLEAN: TSEncoding.PLAIN,
    TSDataType.INT32: TSEncoding.TS_2DIFF,
    TSDataType.INT64: TSEncoding.TS_2DIFF,
    TSDataType.FLOAT: TSEncoding.GORILLA,
    TSDataType.DOUBLE: TSEncoding.GORILLA,
    TSDataType.TEXT: TSEncoding.PLAIN,
    TSDataType.STRING: TSEncoding.PLAIN,
    TSDataType.BLOB: TSEncoding.PLAIN,
    TSDataType.DATE: TSEncoding.TS_2DIFF,
    TSDataType.TIMESTAMP: TSEncoding.TS_2DIFF,
}
TSFILE_DEFAULT_COMPRESSION = CompressionType.LZ4

# Defaults of an IoTDB 1.3 data node for series created without ENCODING/COMPRESSOR
# (iotdb-common.properties: default_*_encoding, compressor).
IOTDB_DEFAULT_ENCODINGS: Mapping[TSDataType, TSEncoding] = {
    TSDataType.BOOLEAN: TSEncoding.RLE,
    TSDataType.INT32: TSEncoding.TS_2DIFF,
    TSDataType.INT64: TSEncoding.TS_2DIFF,
    TSDataType.FLOAT: TSEncoding.GORILLA,
    TSDataType.DOUBLE: TSEncoding.GORILLA,
    TSDataType.TEXT: TSEncoding.PLAIN,
    TSDataType.STRING: TSEncoding.PLAIN,
    TSDataType.BLOB: TSEncoding.PLAIN,
    TSDataType.DATE: TSEncoding.TS_2DIFF,
    TSDataType.TIMESTAMP: TSEncoding.TS_2DIFF,
}
IOTDB_DEFAULT_COMPRESSION = CompressionType.LZ4


_E = TypeVar("_E", bound=enum.IntEnum)


def parse_enum(enum_cls: type[_E], value: object, what: str) -> _E:
    """Turn a name ("int32", case-insensitive), a number or a member into `enum_cls`.

    A bad value raises ValueError naming `what` and the accepted names.
    """
    if isinstance(value, enum_cls):
        return value
    try:
        if isinstance(value, str):
            name = value.strip().upper()
            if name.lstrip("-").isdigit():
                return enum_cls(int(name))
            return enum_cls[name]
        if isinstance(value, int) and not isinstance(value, bool):
            return enum_cls(value)
    except (KeyError, ValueError):
        pass
    names = ", ".join(m.name for m in enum_cls)
    raise ValueError(f"unknown {what} {value!r}; expected one of {names}")


def encode_text(value: str) -> bytes:
    """UTF-8 bytes of a TEXT/STRING value (lossless for strings made by `decode_text`)."""
    return value.encode("utf-8", "surrogateescape")


def decode_text(raw: bytes | bytearray | memoryview) -> str:
    """A TEXT/STRING value from its UTF-8 bytes; bytes that are not UTF-8 survive a round trip."""
    return bytes(raw).decode("utf-8", "surrogateescape")
