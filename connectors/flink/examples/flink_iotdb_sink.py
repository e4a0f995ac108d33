"""Seed 004's FlinkIoTDBSink in Python: a simulated sensor source feeds IoTDBSink.

Unlike the seed's endless SensorSource (one point a second) this one is bounded: ``--records``
points, one millisecond apart, so the job ends. Run against ``pipecore serve`` (or IoTDB):

    python flink_iotdb_sink.py --port 6667 --records 1000
"""

from __future__ import annotations

import argparse
import random
import sys

from pipecore_flink import (
    DefaultIoTSerializationSchema,
    IoTDBSink,
    IoTDBSinkOptions,
    TimeseriesOption,
)
from pyflink.common import Types
from pyflink.datastream import StreamExecutionEnvironment


def sensor_records(n: int, start: int = 1_700_000_000_000) -> list[dict[str, str]]:
    rnd = random.Random(4)
    return [
        {
            "device": "root.sg.d1",
            "timestamp": str(start + i),
            "measurements": "s1",
            "types": "DOUBLE",
            "values": str(rnd.random()),
        }
        for i in range(n)
    ]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=6667)
    ap.add_argument("--records", type=int, default=1000)
    ap.add_argument("--batch-size", type=int, default=10)
    ap.add_argument("--parallelism", type=int, default=1)
    args = ap.parse_args(argv)

    # run the flink job on a local mini cluster
    env = StreamExecutionEnvironment.get_execution_environment()
    # the Python workers run in this interpreter (the one with pyflink and pipecore_flink)
    env.set_python_executable(sys.executable)
    env.set_parallelism(args.parallelism)

    options = IoTDBSinkOptions(
        host=args.host,
        port=args.port,
        user="root",
        password="root",
        storage_group="root.sg",
        # If the server creates schema on write, the time series need not be listed here.
        timeseries_option_list=[TimeseriesOption("root.sg.d1.s1", "DOUBLE", "GORILLA", "SNAPPY")],
    )
    sink = (
        IoTDBSink(options, DefaultIoTSerializationSchema())
        # enable batching
        .with_batch_size(args.batch_size)
        # how many connections to the server each parallel instance opens
        .with_session_pool_size(3)
    )
    source = env.from_collection(
        sensor_records(args.records),
        type_info=Types.MAP(Types.STRING(), Types.STRING()),
    ).name("sensor-source")
    sink.attach(source, name="iotdb-sink")
    env.execute("iotdb-flink-example")


if __name__ == "__main__":
    main()
