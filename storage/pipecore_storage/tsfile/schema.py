"""Writer configuration and the seed's schema/record types: TsFileConfig, TsFileSchema, TSRecord."""

from __future__ import annotations

from typing import Any

import attrs

from ..errors import SchemaError
from ..tablet import MeasurementSchema
from ..types import CompressionType, TSDataType, parse_enum

__all__ = [
    "BooleanDataPoint",
    "DataPoint",
    "DoubleDataPoint",
    "FloatDataPoint",
    "IntDataPoint",
    "LongDataPoint",
    "StringDataPoint",
    "TSRecord",
    "TsFileConfig",
    "TsFileSchema",
]


def _positive(instance, attribute, value) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"TsFileConfig.{attribute.name} must be a positive integer, got {value!r}")


def _compression(value: object) -> CompressionType:
    return CompressionType(parse_enum(CompressionType, value, "compression"))


@attrs.frozen
class TsFileConfig:
    """Writer settings; the defaults are those of the official Java writer (TSFileConfig).

    * `page_size_bytes` (64 KiB) and `max_points_per_page` (10,000): a page is sealed when it
      holds `max_points_per_page` points or when its plain-size estimate reaches
      `page_size_bytes`.
    * `chunk_group_size_bytes` (128 MiB): buffered data above this is flushed as chunk
      groups automatically (``groupSizeInByte``).
    * `max_degree_of_index_node` (256), `float_precision` (2: decimals kept by FLOAT/DOUBLE
      with TS_2DIFF/RLE unless a series sets ``max_point_number``),
      `bloom_filter_error_rate` (0.05).
    * `time_compression` (LZ4): compression of the time chunk of aligned devices.
    * `fsync` (True): `close()` syncs the file to disk.
    * `encode_threads` (2): threads encoding chunks at a flush (1 = in the caller's thread).
    """

    page_size_bytes: int = attrs.field(default=64 * 1024, validator=_positive)
    max_points_per_page: int = attrs.field(default=10_000, validator=_positive)
    chunk_group_size_bytes: int = attrs.field(default=128 * 1024 * 1024, validator=_positive)
    max_degree_of_index_node: int = attrs.field(default=256, validator=_positive)
    float_precision: int = attrs.field(default=2, validator=attrs.validators.ge(0))
    bloom_filter_error_rate: float = 0.05
    time_compression: CompressionType = attrs.field(
        default=CompressionType.LZ4, converter=_compression
    )
    fsync: bool = True
    encode_threads: int = attrs.field(default=2, validator=_positive)

    def __attrs_post_init__(self) -> None:
        if self.max_degree_of_index_node < 2:
            raise ValueError("TsFileConfig.max_degree_of_index_node must be at least 2")


@attrs.define
class DataPoint:
    """One value of a record: measurement name, value (None = absent), optional data type."""

    measurement: str
    value: Any
    data_type: TSDataType | None = attrs.field(
        default=None,
        converter=attrs.converters.optional(
            lambda v: TSDataType(parse_enum(TSDataType, v, "data type"))
        ),
    )


def _typed_point(name: str, data_type: TSDataType) -> type[DataPoint]:
    def __init__(self, measurement: str, value: Any) -> None:
        DataPoint.__init__(self, measurement, value, data_type)

    return type(name, (DataPoint,), {"__init__": __init__, "__doc__": f"A {data_type.name} point."})


# the seed's typed data points: IntDataPoint("sensor_1", 5) == DataPoint("sensor_1", 5, INT32)
BooleanDataPoint = _typed_point("BooleanDataPoint", TSDataType.BOOLEAN)
IntDataPoint = _typed_point("IntDataPoint", TSDataType.INT32)
LongDataPoint = _typed_point("LongDataPoint", TSDataType.INT64)
FloatDataPoint = _typed_point("FloatDataPoint", TSDataType.FLOAT)
DoubleDataPoint = _typed_point("DoubleDataPoint", TSDataType.DOUBLE)
StringDataPoint = _typed_point("StringDataPoint", TSDataType.TEXT)


@attrs.define(init=False)
class TSRecord:
    """A row of one device at one time: ``TSRecord(timestamp, device).add_tuple(DataPoint)``."""

    timestamp: int
    device: str
    data_points: list[DataPoint]

    def __init__(self, timestamp: int, device: str, data_points=None) -> None:
        if isinstance(timestamp, str) and not isinstance(device, str):
            timestamp, device = device, timestamp  # (device, timestamp) as the official package
        self.timestamp = int(timestamp)
        self.device = str(device)
        self.data_points = list(data_points or [])

    def add_tuple(self, point: DataPoint) -> TSRecord:
        self.data_points.append(point)
        return self

    def add_point(self, measurement: str, value: Any, data_type: object = None) -> TSRecord:
        return self.add_tuple(DataPoint(measurement, value, data_type))

    addTuple = add_tuple  # the seed's spelling


@attrs.define
class _DeviceSchema:
    aligned: bool
    measurements: dict[str, MeasurementSchema] = attrs.field(factory=dict)


class TsFileSchema:
    """Measurement schemas, per device and as templates for any device (the seed's `Schema`).

    ``register_measurement(schema)`` adds a template: any device may write that measurement.
    ``register_timeseries(device, schema)`` / ``register_aligned_timeseries(device, [...])``
    register for one device. Registering a measurement again with a different data type,
    encoding or compression is a SchemaError.
    """

    def __init__(self, measurements: dict[str, MeasurementSchema] | None = None) -> None:
        self.templates: dict[str, MeasurementSchema] = {}
        self.devices: dict[str, _DeviceSchema] = {}
        for schema in (measurements or {}).values():
            self.register_measurement(schema)

    def register_measurement(self, schema: MeasurementSchema) -> None:
        _check_same(self.templates.get(schema.name), schema, schema.name)
        self.templates[schema.name] = schema

    registerMeasurement = register_measurement

    def register_timeseries(self, device: str, schema: MeasurementSchema) -> None:
        self._register(device, [schema], aligned=False)

    def register_aligned_timeseries(self, device: str, schemas: list[MeasurementSchema]) -> None:
        self._register(device, list(schemas), aligned=True)

    def _register(self, device: str, schemas: list[MeasurementSchema], aligned: bool) -> None:
        _check_device(device)
        entry = self.devices.get(device)
        if entry is not None and entry.aligned != aligned:
            kind = "aligned" if entry.aligned else "non-aligned"
            raise SchemaError(f"device {device} is already registered as {kind}", device)
        names = [s.name for s in schemas]
        if len(set(names)) != len(names):
            raise SchemaError(f"duplicate measurement in {names} for {device}", device)
        if entry is None:
            entry = self.devices[device] = _DeviceSchema(aligned)
        for schema in schemas:
            _check_measurement(device, schema.name)
            _check_same(entry.measurements.get(schema.name), schema, f"{device}.{schema.name}")
        for schema in schemas:
            entry.measurements[schema.name] = schema

    def measurement(self, device: str, name: str) -> MeasurementSchema | None:
        entry = self.devices.get(device)
        found = entry.measurements.get(name) if entry else None
        return found if found is not None else self.templates.get(name)

    def is_aligned(self, device: str) -> bool | None:
        entry = self.devices.get(device)
        return entry.aligned if entry else None


def _check_device(device: str) -> None:
    if not isinstance(device, str) or not device or device.startswith(".") or device.endswith("."):
        raise SchemaError(f"invalid device path {device!r}", str(device))


def _check_measurement(device: str, name: str) -> None:
    if not name:
        raise SchemaError(f"empty measurement name for {device}", device)


def _check_same(old: MeasurementSchema | None, new: MeasurementSchema, path: str) -> None:
    if old is None or old == new:
        return
    for field in ("data_type", "encoding", "compression"):
        a, b = getattr(old, field), getattr(new, field)
        if a != b:
            raise SchemaError(
                f"{path} is already registered with {field} {a.name}; cannot change it to {b.name}",
                path,
            )
