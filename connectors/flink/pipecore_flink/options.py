"""The options of seed 004's connector, in Python spelling.

``IoTDBSinkOptions`` and ``IoTDBSourceOptions`` carry what the Java classes carry (host, port,
user, password; the sink's storage group and time series list, the source's SQL). Data types,
encodings and compressors are given as IoTDB's names (``"DOUBLE"``, ``"GORILLA"``,
``"SNAPPY"``) or as the enums of IoTDB's Python client.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def enum_name(value: Any) -> str:
    """IoTDB's name of a data type, encoding or compressor given as a string or a client enum."""
    name = getattr(value, "name", value)
    if not isinstance(name, str) or not name:
        raise ValueError(f"not an IoTDB type, encoding or compressor name: {value!r}")
    return name.upper()


@dataclass(frozen=True)
class TimeseriesOption:
    """A time series the sink registers before it writes (``IoTDBSinkOptions.TimeseriesOption``)."""

    path: str
    data_type: Any = "DOUBLE"
    encoding: Any = "GORILLA"
    compressor: Any = "SNAPPY"

    def __post_init__(self) -> None:
        if not self.path.startswith("root."):
            raise ValueError(f"a time series path starts with 'root.': {self.path!r}")
        for name in ("data_type", "encoding", "compressor"):
            object.__setattr__(self, name, enum_name(getattr(self, name)))


@dataclass
class IoTDBOptions:
    host: str = "127.0.0.1"
    port: int = 6667
    user: str = "root"
    password: str = "root"


@dataclass
class IoTDBSinkOptions(IoTDBOptions):
    """Where the sink writes and which time series it registers first.

    ``storage_group`` (a database) is created if missing; each ``TimeseriesOption`` is created if
    missing. Both may be left empty where the server creates schema on write.
    """

    storage_group: str | None = None
    timeseries_option_list: list[TimeseriesOption] = field(default_factory=list)


@dataclass
class IoTDBSourceOptions(IoTDBOptions):
    """Where the source reads and the SQL query whose rows it emits."""

    sql: str = ""
