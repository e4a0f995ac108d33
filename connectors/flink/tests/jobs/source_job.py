"""IoTDBSource at parallelism 1 and 2, split by device and by time, in one process.

    python source_job.py <port> <out file>

Each run's rows (``str(row_record)``, as IoTDB's Python client prints a row) go to the out
file as lines ``<run>\t<row>``.
"""

from __future__ import annotations

import sys

from pipecore_flink import IoTDBSource, IoTDBSourceOptions
from pyflink.common import Types
from pyflink.datastream import StreamExecutionEnvironment

RUNS = [
    # (name, sql, split_by, splits, parallelism)
    ("device-p1", "select * from root.src.** align by device", "device", 0, 1),
    ("device-p2", "select * from root.src.** align by device", "device", 0, 2),
    ("time-p1", "select * from root.src.**", "time", 3, 1),
    ("time-p2", "select * from root.src.**", "time", 5, 2),
]


def main() -> None:
    port, out = int(sys.argv[1]), sys.argv[2]
    env = StreamExecutionEnvironment.get_execution_environment()
    env.set_python_executable(sys.executable)
    with open(out, "w") as f:
        for name, sql, split_by, splits, parallelism in RUNS:
            options = IoTDBSourceOptions(port=port, sql=sql)
            source = IoTDBSource(
                options, lambda row: str(row), split_by=split_by, splits=splits or 4
            )
            stream = source.attach(env, parallelism=parallelism, output_type=Types.STRING())
            with stream.execute_and_collect(f"source-{name}") as rows:
                for row in rows:
                    f.write(f"{name}\t{row}\n")
            print("RUN", name, "SPLITS", len(source.plan()), flush=True)


if __name__ == "__main__":
    main()
