"""The sampling processors between real `pipecore serve` processes: A down-samples (historical
TsFiles split into tablets, then live inserts) and sends over ``iotdb-thrift-sink`` to B; B's
SELECT holds exactly what the rule keeps of each series (plain loops of IoTDB's rules — those of
test_processors_sampling — are the reference)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "thrift"))
from test_processors_sampling import LONG_MAX, ref_changing_value, ref_sdt
from thrift_processes import Serve, start_all, wait_for

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]

INTERVAL_MS = 1000


def ref_tumbling(times: list[int], interval: int) -> list[int]:
    """IoTDB's rule, one point at a time: keep a point when it is at least `interval` from the
    last kept one (indices)."""
    kept, last = [], None
    for i, t in enumerate(times):
        if last is None or abs(t - last) >= interval:
            kept.append(i)
            last = t
    return kept


# name → the processor, its parameters, the rule (times, values → kept indices)
CASES = {
    "tumbling": (
        "tumbling-time-sampling-processor",
        {"processor.tumbling-time.interval-seconds": str(INTERVAL_MS // 1000)},
        lambda t, v: ref_tumbling(t, INTERVAL_MS),
    ),
    "sdt": (
        "sdt-sampling-processor",
        {"processor.sdt.compression-deviation": "0.05"},
        lambda t, v: ref_sdt(t, v, True, 0.05, 0, LONG_MAX),
    ),
    "changing-value": (
        "changing-value-sampling-processor",
        {"processor.changing-value.compression-deviation": "0.5"},
        lambda t, v: ref_changing_value(t, v, True, 0.5, 0, LONG_MAX),
    ),
}


def _inserts(device: str, times: np.ndarray, columns: dict[str, np.ndarray]) -> list[str]:
    """Multi-row INSERTs of 250 rows; NaN is a null."""
    names = list(columns)
    out = []
    for start in range(0, len(times), 250):
        rows = []
        for i in range(start, min(start + 250, len(times))):
            cells = [
                "null" if np.isnan(columns[n][i]) else repr(float(columns[n][i])) for n in names
            ]
            rows.append(f"({int(times[i])}, {', '.join(cells)})")
        out.append(f"insert into {device}(time, {', '.join(names)}) values {', '.join(rows)}")
    return out


@pytest.mark.parametrize("case", list(CASES))
def test_down_sampling_pipe_between_processes(tmp_path: Path, case: str) -> None:
    processor, params, rule = CASES[case]
    sender, receiver = start_all(Serve(tmp_path, "A"), Serve(tmp_path, "B"))
    try:
        rng = np.random.default_rng(17)
        series: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        statements: list[str] = []
        for device, n in (("root.ds.d1", 3000), ("root.ds.d2", 1200)):
            times = np.cumsum(rng.integers(1, 400, n)).astype(np.int64)
            a = np.sin(times / 5000.0) + rng.normal(0, 0.01, n)
            b = np.round(20 + 2 * np.sign(np.sin(times / 30_000.0)) + rng.normal(0, 0.01, n), 2)
            b[rng.random(n) < 0.3] = np.nan  # b has nulls: the rule runs on b's own points
            series[f"{device}.a"] = (times, a)
            series[f"{device}.b"] = (times[~np.isnan(b)], b[~np.isnan(b)])
            statements += _inserts(device, times, {"a": a, "b": b})
        # a third before the pipe, sealed: historical TsFiles, which the processor splits
        # into tablets (split-file); the rest arrives while the pipe runs
        for statement in statements[: len(statements) // 3]:
            sender.sql(statement)
        sender.sql("flush")
        sender.sql(
            "CREATE PIPE down WITH SOURCE ('source.path'='root.ds.**') "
            f"WITH PROCESSOR ('processor'='{processor}', "
            + "".join(f"'{k}'='{v}', " for k, v in params.items())
            + "'processor.down-sampling.split-file'='true') "
            f"WITH SINK ('sink'='iotdb-thrift-sink', 'sink.node-urls'='{receiver.url}')"
        )
        for statement in statements[len(statements) // 3 :]:
            sender.sql(statement)
        expected = {
            path: dict(zip(times.tolist(), values.tolist(), strict=True))
            for path, (times, values) in series.items()
        }
        for path, (times, values) in series.items():
            keep = set(times[rule(times.tolist(), values.tolist())].tolist())
            expected[path] = {t: v for t, v in expected[path].items() if t in keep}
        total = sum(len(v) for v in expected.values())
        original = sum(len(t) for t, _ in series.values())
        assert total < original / 3  # the rule does thin the signal out

        wait_for(
            lambda: receiver.count("root.ds.**") >= total,
            120,
            "the receiver has the down-sampled points",
            logs=(sender, receiver),
        )
        for path, want in expected.items():
            device, measurement = path.rsplit(".", 1)
            data = receiver.sql(f"select {measurement} from {device}").data
            present = ~data.null_masks[0] if data.null_masks[0] is not None else slice(None)
            got = dict(
                zip(
                    data.timestamps[present].tolist(),
                    data.values[0][present].tolist(),
                    strict=True,
                )
            )
            assert got.keys() == want.keys(), path
            assert all(abs(got[t] - want[t]) < 1e-9 for t in want), path
        assert receiver.count("root.ds.**") == total  # nothing besides
    finally:
        for node in (sender, receiver):
            node.stop()
