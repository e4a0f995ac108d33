"""`StoreConfig`: the store's settings, under IoTDB's configuration key names.

Every key has IoTDB 1.3's default unless said otherwise (see docs/store.md). Build it with
keywords, or from a mapping (a TOML table, say) with `StoreConfig.from_mapping`, which rejects
an unknown key or a bad value with a `ConfigError` naming the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from .errors import StoreConfigError
from .types import (
    IOTDB_DEFAULT_COMPRESSION,
    IOTDB_DEFAULT_ENCODINGS,
    CompressionType,
    TSDataType,
    TSEncoding,
    parse_enum,
)

__all__ = ["WAL_MODES", "StoreConfig", "StoreConfigError"]

WAL_MODES = ("SYNC", "ASYNC", "DISABLE")
PRECISIONS = ("ms", "us", "ns")


def _wal_mode(value: object) -> str:
    text = str(value).strip().upper()
    if text not in WAL_MODES:
        raise ValueError(f"{value!r} is not one of {', '.join(WAL_MODES)}")
    return text


def _precision(value: object) -> str:
    text = str(value).strip().lower()
    if text not in PRECISIONS:
        raise ValueError(f"{value!r} is not one of {', '.join(PRECISIONS)}")
    return text


def _bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ValueError(f"{value!r} is not a boolean (true or false)")


def _int(value: object) -> int:
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not an integer")
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            raise ValueError(f"{value!r} is not an integer") from None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise ValueError(f"{value!r} is not an integer")


def _positive_int(value: object) -> int:
    number = _int(value)
    if number <= 0:
        raise ValueError(f"{value!r} is not a positive integer")
    return number


def _non_negative_int(value: object) -> int:
    number = _int(value)
    if number < 0:
        raise ValueError(f"{value!r} is negative")
    return number


def _data_type(value: object) -> TSDataType:
    return TSDataType(parse_enum(TSDataType, value, "data type"))


def _encoding(value: object) -> TSEncoding:
    return TSEncoding(parse_enum(TSEncoding, value, "encoding"))


def _compressor(value: object) -> CompressionType:
    return CompressionType(parse_enum(CompressionType, value, "compressor"))


def _format_version(value: object) -> int:
    number = _int(value)
    if number not in (3, 4):
        raise ValueError(f"{value!r}: TsFile format version is 3 or 4")
    return number


_ENC = IOTDB_DEFAULT_ENCODINGS


@attrs.frozen(kw_only=True)
class StoreConfig:
    """Settings of one store. Attribute names are IoTDB's configuration keys."""

    # write-ahead log
    wal_mode: str = attrs.field(default="ASYNC", converter=_wal_mode)
    wal_async_mode_fsync_delay_in_ms: int = attrs.field(default=1000, converter=_positive_int)
    wal_file_size_threshold_in_byte: int = attrs.field(default=31457280, converter=_positive_int)
    # memtable flush
    memtable_size_threshold: int = attrs.field(default=1073741824, converter=_positive_int)
    avg_series_point_number_threshold: int = attrs.field(default=100000, converter=_positive_int)
    # pipecore: memtables of at least this size are sealed by a worker process (flush_worker)
    enable_flush_worker: bool = attrs.field(default=True, converter=_bool)
    flush_worker_min_memtable_bytes: int = attrs.field(default=4194304, converter=_positive_int)
    # schema
    enable_auto_create_schema: bool = attrs.field(default=True, converter=_bool)
    default_storage_group_level: int = attrs.field(default=1, converter=_positive_int)
    timestamp_precision: str = attrs.field(default="ms", converter=_precision)
    # how auto-creation types a value given as a Python bool/int/float (IoTDB's SQL literals)
    boolean_string_infer_type: TSDataType = attrs.field(
        default=TSDataType.BOOLEAN, converter=_data_type
    )
    integer_string_infer_type: TSDataType = attrs.field(
        default=TSDataType.DOUBLE, converter=_data_type
    )
    floating_string_infer_type: TSDataType = attrs.field(
        default=TSDataType.DOUBLE, converter=_data_type
    )
    nan_string_infer_type: TSDataType = attrs.field(default=TSDataType.DOUBLE, converter=_data_type)
    # defaults of series created without ENCODING / COMPRESSOR
    default_boolean_encoding: TSEncoding = attrs.field(
        default=_ENC[TSDataType.BOOLEAN], converter=_encoding
    )
    default_int32_encoding: TSEncoding = attrs.field(
        default=_ENC[TSDataType.INT32], converter=_encoding
    )
    default_int64_encoding: TSEncoding = attrs.field(
        default=_ENC[TSDataType.INT64], converter=_encoding
    )
    default_float_encoding: TSEncoding = attrs.field(
        default=_ENC[TSDataType.FLOAT], converter=_encoding
    )
    default_double_encoding: TSEncoding = attrs.field(
        default=_ENC[TSDataType.DOUBLE], converter=_encoding
    )
    default_text_encoding: TSEncoding = attrs.field(
        default=_ENC[TSDataType.TEXT], converter=_encoding
    )
    compressor: CompressionType = attrs.field(
        default=IOTDB_DEFAULT_COMPRESSION, converter=_compressor
    )
    # files
    tsfile_format_version: int = attrs.field(default=4, converter=_format_version)
    time_partition_interval: int = attrs.field(default=604800000, converter=_positive_int)
    # listeners: default capacity of a subscription's queue
    pipe_subscription_capacity_events: int = attrs.field(default=10000, converter=_positive_int)
    pipe_subscription_capacity_bytes: int = attrs.field(
        default=256 * 1024 * 1024, converter=_positive_int
    )
    # timed flush: a memtable older than the interval is sealed (checked every check interval)
    enable_timed_flush_seq_memtable: bool = attrs.field(default=True, converter=_bool)
    seq_memtable_flush_interval_in_ms: int = attrs.field(default=600000, converter=_positive_int)
    seq_memtable_flush_check_interval_in_ms: int = attrs.field(
        default=30000, converter=_positive_int
    )

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any] | None) -> StoreConfig:
        """Build from a mapping of key -> value; unknown keys and bad values are errors."""
        values = dict(values or {})
        known = {a.name for a in attrs.fields(cls)}
        for key in values:
            if key not in known:
                raise StoreConfigError(key, "unknown key")
        try:
            return cls(**values)
        except (TypeError, ValueError) as exc:
            key = _key_of(exc, values)
            raise StoreConfigError(key, str(exc)) from exc

    def with_changes(self, **changes: Any) -> StoreConfig:
        return StoreConfig.from_mapping({**attrs.asdict(self), **changes})

    def default_encoding(self, data_type: TSDataType) -> TSEncoding:
        """The encoding a series of `data_type` gets when created without one."""
        by_type = {
            TSDataType.BOOLEAN: self.default_boolean_encoding,
            TSDataType.INT32: self.default_int32_encoding,
            TSDataType.DATE: self.default_int32_encoding,
            TSDataType.INT64: self.default_int64_encoding,
            TSDataType.TIMESTAMP: self.default_int64_encoding,
            TSDataType.FLOAT: self.default_float_encoding,
            TSDataType.DOUBLE: self.default_double_encoding,
            TSDataType.TEXT: self.default_text_encoding,
            TSDataType.STRING: self.default_text_encoding,
        }
        return by_type.get(data_type, TSEncoding.PLAIN)


def _key_of(exc: Exception, values: Mapping[str, Any]) -> str:
    for key, value in values.items():
        try:
            StoreConfig(**{key: value})
        except (TypeError, ValueError):
            return key
    return next(iter(values), "?")
