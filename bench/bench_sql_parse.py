"""How fast pipecore parses SQL: microseconds per statement, and the share the statement
building takes over lark's bare LALR parse of the same text (the reference, measured in
the same run).

    python bench/bench_sql_parse.py [--rounds 2000]
"""

from __future__ import annotations

import argparse
import time

from pipecore.sql import parse_script
from pipecore.sql.parser import _parser

STATEMENTS = [
    "CREATE PIPE a2b WITH SOURCE ('source'='iotdb-source', 'source.realtime.mode'='hybrid') "
    "WITH SINK ('sink'='iotdb-thrift-sink', 'sink.ip'='127.0.0.1', 'sink.port'='6668')",
    "insert into root.vehicle.d0(timestamp,s0,s1) values(now(),12,'12')",
    "CREATE TIMESERIES root.vehicle.d0.s0 WITH DATATYPE=INT32, ENCODING=RLE",
    "select ** from root.vehicle where time >= 2022-03-30 00:00:00 and s0 > 3 limit 10",
    "SHOW PIPES",
    "CREATE PIPE p TO my_iotdb FROM (select ** from root where time>= 1648569600000)",
    "select count(s0), max_value(s1) from root.vehicle.d0 where time > now() - 1d",
    "DELETE FROM root.vehicle.d0.s0 WHERE time <= 2022-03-30T00:00:00+08:00",
]


def _best(fn, rounds: int) -> float:
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(rounds):
            fn()
        best = min(best, (time.perf_counter() - started) / rounds)
    return best


def main() -> None:
    args = argparse.ArgumentParser()
    args.add_argument("--rounds", type=int, default=300)
    rounds = args.parse_args().rounds
    parse_script("")
    lark = _parser()
    total_ours = total_ref = 0.0
    print(f"{'statement':<60} {'us/stmt':>9} {'lark only':>10}", flush=True)
    for sql in STATEMENTS:
        ours = _best(lambda sql=sql: parse_script(sql, zone="UTC"), rounds)
        ref = _best(lambda sql=sql: lark.parse(sql, start="start"), rounds)
        total_ours, total_ref = total_ours + ours, total_ref + ref
        print(f"{sql[:58]:<60} {ours * 1e6:9.1f} {ref * 1e6:10.1f}")
    n = len(STATEMENTS)
    print(
        f"mean: {total_ours / n * 1e6:.1f} us/statement; lark's bare parse "
        f"{total_ref / n * 1e6:.1f} us; ratio ours/lark = {total_ours / total_ref:.2f}"
    )


if __name__ == "__main__":
    main()
