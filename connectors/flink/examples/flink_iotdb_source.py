"""Seed 004's FlinkIoTDBSource in Python: write 100 rows with a Session, read them back with
IoTDBSource at parallelism 2 and print them.

    python flink_iotdb_source.py --port 6667
"""

from __future__ import annotations

import argparse
import sys

from iotdb.Session import Session
from iotdb.utils.IoTDBConstants import Compressor, TSDataType, TSEncoding
from pipecore_flink import IoTDBSource, IoTDBSourceOptions
from pyflink.common import Types
from pyflink.datastream import StreamExecutionEnvironment

ROOT_SG1_D1_S1 = "root.sg1.d1.s1"
ROOT_SG1_D1 = "root.sg1.d1"


def prepare_data(host: str, port: int) -> None:
    """Write some data to IoTDB."""
    session = Session(host, port, "root", "root")
    session.open(False)
    try:
        if not session.check_time_series_exists(ROOT_SG1_D1_S1):
            try:
                session.set_storage_group("root.sg1")
            except Exception as exc:  # the database may be there already
                if "already" not in str(exc).lower():
                    raise
            session.create_time_series(
                ROOT_SG1_D1_S1, TSDataType.INT64, TSEncoding.RLE, Compressor.SNAPPY
            )
            measurements = ["s1", "s2", "s3"]
            types = [TSDataType.INT64] * 3
            for time in range(100):
                session.insert_record(ROOT_SG1_D1, time, measurements, types, [1, 2, 3])
    finally:
        session.close()


def convert(row_record):  # the seed's convert(RowRecord): here the row as text
    return str(row_record)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=6667)
    ap.add_argument("--parallelism", type=int, default=2)
    args = ap.parse_args(argv)
    prepare_data(args.host, args.port)

    # run the flink job on a local mini cluster
    env = StreamExecutionEnvironment.get_execution_environment()
    # the Python workers run in this interpreter (the one with pyflink and pipecore_flink)
    env.set_python_executable(sys.executable)
    options = IoTDBSourceOptions(
        args.host, args.port, "root", "root", f"select s1 from {ROOT_SG1_D1} align by device"
    )
    source = IoTDBSource(options, convert)
    source.attach(
        env, parallelism=args.parallelism, output_type=Types.STRING(), name="sensor-source"
    ).print()
    env.execute()


if __name__ == "__main__":
    main()
