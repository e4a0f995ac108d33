"""pipecore-flink: seed 004's Flink connector for PyFlink jobs.

``IoTDBSink`` writes a job's records and ``IoTDBSource`` reads a query's rows through IoTDB's
client protocol, so the same job runs against ``pipecore serve`` or a real IoTDB.
"""

from .options import IoTDBSinkOptions, IoTDBSourceOptions, TimeseriesOption
from .serialization import DefaultIoTSerializationSchema, Event, IoTSerializationSchema
from .sink import IoTDBSink
from .source import IoTDBSource

__all__ = [
    "DefaultIoTSerializationSchema",
    "Event",
    "IoTDBSink",
    "IoTDBSinkOptions",
    "IoTDBSource",
    "IoTDBSourceOptions",
    "IoTSerializationSchema",
    "TimeseriesOption",
]
