"""Turning a Flink record into an IoTDB write: ``Event`` and serialization schemas.

``DefaultIoTSerializationSchema`` takes seed 004's map: ``device``, ``timestamp``,
``measurements``, ``types``, ``values``, where the last three are comma-separated strings (as
the Java connector's default schema reads them) or lists. Values given as text are parsed by
their type. Any callable ``record -> Event | None`` is a schema too (``None`` drops the record).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, Union

from .options import enum_name

_PARSE: dict[str, Callable[[str], Any]] = {
    "BOOLEAN": lambda s: s.strip().lower() == "true",
    "INT32": int,
    "INT64": int,
    "TIMESTAMP": int,
    "FLOAT": float,
    "DOUBLE": float,
    "TEXT": str,
    "STRING": str,
    "BLOB": lambda s: s.encode(),
    "DATE": str,
}


@dataclass(frozen=True)
class Event:
    """One row of one device: what a serialization schema makes of a record."""

    device: str
    timestamp: int
    measurements: tuple[str, ...]
    types: tuple[str, ...]
    values: tuple[Any, ...]

    def __post_init__(self) -> None:
        n = len(self.measurements)
        if len(self.types) != n or len(self.values) != n:
            raise ValueError(
                f"event of {self.device} at {self.timestamp}: {n} measurements, "
                f"{len(self.types)} types and {len(self.values)} values"
            )


class IoTSerializationSchema(Protocol):
    def serialize(self, record: Any) -> Event | None: ...


SerializationSchema = Union[IoTSerializationSchema, Callable[[Any], Union[Event, None]]]  # noqa: UP007


def _items(value: Any) -> list:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",")]
    if isinstance(value, Sequence):
        return list(value)
    return [value]


class DefaultIoTSerializationSchema:
    """Seed 004's default: a map of device, timestamp, measurements, types and values."""

    def serialize(self, record: Mapping[str, Any]) -> Event | None:
        if record is None:
            return None
        device = record.get("device")
        if not device:
            raise ValueError(f"record without a device: {record!r}")
        measurements = _items(record["measurements"])
        types = [enum_name(t) for t in _items(record["types"])]
        raw = _items(record["values"])
        if not len(measurements) == len(types) == len(raw):
            raise ValueError(
                f"record of {device}: {len(measurements)} measurements, {len(types)} types "
                f"and {len(raw)} values"
            )
        values = []
        for kind, value in zip(types, raw, strict=True):
            if isinstance(value, str) and kind not in ("TEXT", "STRING", "DATE"):
                parse = _PARSE.get(kind)
                if parse is None:
                    raise ValueError(f"unknown IoTDB data type {kind!r} in {record!r}")
                value = parse(value)
            values.append(value)
        return Event(
            str(device), int(record["timestamp"]), tuple(measurements), tuple(types), tuple(values)
        )

    __call__ = serialize


def as_serializer(schema: SerializationSchema | None) -> Callable[[Any], Event | None]:
    if schema is None:
        return DefaultIoTSerializationSchema().serialize
    serialize = getattr(schema, "serialize", None)
    if callable(serialize):
        return serialize
    if callable(schema):
        return schema
    raise TypeError(f"a serialization schema has serialize(record) or is callable: {schema!r}")
