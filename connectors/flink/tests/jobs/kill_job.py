"""A slow bounded job for the kill test: N integers, throttled, into IoTDBSink with a custom
serialization schema, checkpointing every 500 ms and a fixed-delay restart strategy.

    python kill_job.py <port> <records> <batch size> <checkpoint directory>

Record i becomes root.kill.d{i % 2}.v = i at time i (INT64), so the rows at the server tell
exactly which records arrived.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from pipecore_flink import Event, IoTDBSink, IoTDBSinkOptions, TimeseriesOption
from pyflink.common import Configuration, Types, WatermarkStrategy
from pyflink.datastream import StreamExecutionEnvironment
from pyflink.datastream.connectors.number_seq import NumberSequenceSource


class IntSchema:
    """A user's own serialization schema: an int becomes one INT64 point."""

    def serialize(self, i: int) -> Event:
        return Event(f"root.kill.d{i % 2}", i, ("v",), ("INT64",), (i,))


def throttle(i: int) -> int:
    time.sleep(0.008)
    return i


def main() -> None:
    port, records, batch = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    config = Configuration()
    # completed checkpoints appear as <dir>/<job id>/chk-<n>/_metadata: the test waits for one
    config.set_string("execution.checkpointing.dir", Path(sys.argv[4]).resolve().as_uri())
    config.set_string("restart-strategy.type", "fixed-delay")
    config.set_string("restart-strategy.fixed-delay.attempts", "20")
    config.set_string("restart-strategy.fixed-delay.delay", "500 ms")
    # small bundles: the Python operators hand on their output often, so writes are spread out
    config.set_string("python.fn-execution.bundle.size", "50")
    config.set_string("python.fn-execution.bundle.time", "100")
    env = StreamExecutionEnvironment.get_execution_environment(config)
    env.set_python_executable(sys.executable)
    env.set_parallelism(1)
    env.enable_checkpointing(500)
    options = IoTDBSinkOptions(
        port=port,
        storage_group="root.kill",
        timeseries_option_list=[
            TimeseriesOption(f"root.kill.d{k}.v", "INT64", "RLE", "SNAPPY") for k in range(2)
        ],
    )
    # a checkpointed source: after a restart it resumes where the checkpoint left it (a
    # from_collection source would replay everything from the start, hiding any loss)
    numbers = env.from_source(
        NumberSequenceSource(0, records - 1), WatermarkStrategy.no_watermarks(), "numbers"
    )
    slow = numbers.map(throttle, output_type=Types.LONG()).name("throttle")
    IoTDBSink(options, IntSchema()).with_batch_size(batch).attach(slow)
    env.execute("kill-test")
    print("JOB DONE", flush=True)


if __name__ == "__main__":
    main()
