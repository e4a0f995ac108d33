"""A Flink job writes into a pipecore edge node; a pipe forwards the data to a second node.

    pipecore serve --data-dir edge   --rpc-port 6667
    pipecore serve --data-dir center --rpc-port 6668
    python edge_pipe.py --edge-port 6667 --center-port 6668 --records 1000

The pipe (created on the edge node with SQL, through IoTDB's Python client) sends every
write of root.edge.** to the center's RPC port with iotdb-thrift-sink; the center could as
well be a real IoTDB.
"""

from __future__ import annotations

import argparse
import sys

from iotdb.Session import Session
from pipecore_flink import IoTDBSink, IoTDBSinkOptions, TimeseriesOption
from pyflink.common import Types
from pyflink.datastream import StreamExecutionEnvironment


def create_pipe(host: str, edge_port: int, center_port: int) -> None:
    session = Session(host, edge_port, "root", "root")
    session.open(False)
    try:
        session.execute_non_query_statement(
            "create pipe if not exists edge_to_center"
            " with source ('source'='iotdb-source', 'source.path'='root.edge.**')"
            " with sink ('sink'='iotdb-thrift-sink',"
            f" 'sink.node-urls'='{host}:{center_port}')"
        )
    finally:
        session.close()


def reading(i: int) -> dict:
    """The i-th reading of a temperature sensor on line 1."""
    return {
        "device": "root.edge.line1",
        "timestamp": 1_700_000_000_000 + i,
        "measurements": ["temperature"],
        "types": ["FLOAT"],
        "values": [20.0 + (i % 50) / 10],
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--edge-port", type=int, default=6667)
    ap.add_argument("--center-port", type=int, default=6668)
    ap.add_argument("--records", type=int, default=1000)
    args = ap.parse_args(argv)
    create_pipe(args.host, args.edge_port, args.center_port)

    env = StreamExecutionEnvironment.get_execution_environment()
    env.set_python_executable(sys.executable)
    env.enable_checkpointing(1000)
    options = IoTDBSinkOptions(
        host=args.host,
        port=args.edge_port,
        storage_group="root.edge",
        timeseries_option_list=[TimeseriesOption("root.edge.line1.temperature", "FLOAT")],
    )
    readings = env.from_collection(list(range(args.records)), type_info=Types.INT()).map(
        reading, output_type=Types.PICKLED_BYTE_ARRAY()
    )
    IoTDBSink(options).with_batch_size(100).attach(readings)
    env.execute("edge-writer")


if __name__ == "__main__":
    main()
