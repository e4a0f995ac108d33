"""Render docs/grafana-dashboard.json's panels from a real run into docs/images/dashboard.png.

    python bench/render_dashboard.py [--seconds 80] [--out docs/images/dashboard.png]

Grafana is not packaged for Debian, so this draws the dashboard's own PromQL queries with
matplotlib instead of Grafana. Everything else is real: two pipecore nodes on loopback (A
with a pipe ``a2b`` — iotdb-source → iotdb-thrift-sink — to B), both with their metrics
endpoint on, a real Prometheus server (Debian's ``prometheus`` package) scraping both every
second, and each panel's query answered by Prometheus's ``query_range`` API.

The run: A receives inserts at a steady rate; after a quarter of the run B goes away for a
fifth of it (the sink retries, the backlog and the lag grow), then B comes back on the same
ports and the backlog drains; the rate then doubles for the rest of the run.
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

import pipecore
from pipecore import MeasurementSchema, Tablet

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "metrics"))

from prometheus_server import Prometheus  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _metrics_config(port: int) -> dict[str, object]:
    return {"metric_reporter_list": "PROMETHEUS", "metric_prometheus_reporter_port": port}


class Writer(threading.Thread):
    """Inserts tablets of `rows` rows × 4 series into the node's store, `rate` rows/s."""

    def __init__(self, node: pipecore.Node, rate: float) -> None:
        super().__init__(daemon=True)
        self.node, self.rate, self.stop = node, rate, threading.Event()
        self.rows = 0

    def run(self) -> None:
        schemas = [MeasurementSchema(f"s{j}", "DOUBLE") for j in range(4)]
        step = 0.05
        while not self.stop.wait(step):
            n = max(1, int(self.rate * step))
            times = np.arange(self.rows, self.rows + n, dtype=np.int64)
            values = [np.sin(times / 100.0 + j) for j in range(4)]
            self.node.store.insert_tablet(
                Tablet(f"root.demo.d{self.rows % 8}", schemas, times, values)
            )
            self.rows += n


def run(seconds: float, workdir: Path) -> tuple[Prometheus, float, float]:
    binary = prometheus_binary_or_exit()
    a_metrics, b_metrics, b_rpc = _free_port(), _free_port(), _free_port()
    prom = Prometheus(
        binary, workdir / "prometheus", [f"127.0.0.1:{a_metrics}", f"127.0.0.1:{b_metrics}"]
    )
    prom.wait_ready()
    receiver = pipecore.Node.open(workdir / "b", _metrics_config(b_metrics), env={})
    receiver.serve("127.0.0.1", b_rpc)
    sender = pipecore.Node.open(
        workdir / "a", {**_metrics_config(a_metrics), "pipe_sink_retry_interval_ms": 100}, env={}
    )
    sender.serve("127.0.0.1", 0)
    start = time.time()
    sender.create_pipe(
        "a2b",
        source={"source": "iotdb-source"},
        sink={"sink": "iotdb-thrift-sink", "sink.node-urls": f"127.0.0.1:{b_rpc}"},
    )
    writer = Writer(sender, rate=4000)
    writer.start()
    try:
        time.sleep(seconds * 0.25)
        receiver.close()  # the target goes away
        time.sleep(seconds * 0.2)
        receiver = pipecore.Node.open(workdir / "b", _metrics_config(b_metrics), env={})
        receiver.serve("127.0.0.1", b_rpc)
        time.sleep(seconds * 0.25)
        writer.rate = 8000
        time.sleep(seconds * 0.3)
    finally:
        writer.stop.set()
        writer.join()
        time.sleep(3)  # a last scrape
        end = time.time()
        sender.close()
        receiver.close()
    return prom, start, end


def prometheus_binary_or_exit() -> str:
    found = shutil.which("prometheus")
    if found is None:
        sys.exit("render_dashboard: needs the prometheus binary (apt-get install -y prometheus)")
    return found


def render(prom: Prometheus, start: float, end: float, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dashboard = json.loads((ROOT / "docs" / "grafana-dashboard.json").read_text())
    panels = dashboard["panels"]
    cols = 3
    rows = -(-len(panels) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(18, 3.4 * rows), squeeze=False)
    fig.patch.set_facecolor("#111217")
    for ax, panel in zip(axes.flat, panels, strict=False):
        ax.set_facecolor("#181b1f")
        ax.set_title(panel["title"], color="#d8d9da", fontsize=10, loc="left")
        ax.tick_params(colors="#8e8e8e", labelsize=8)
        for spine in ax.spines.values():
            spine.set_color("#2c3235")
        ax.grid(color="#2c3235", linewidth=0.6)
        for target in panel["targets"]:
            expr = target["expr"].replace("$__rate_interval", "5s")
            for series in prom.query_range(expr, start, end, 1.0):
                xs = [float(v[0]) - start for v in series["values"]]
                ys = [float(v[1]) for v in series["values"]]
                label = target["legendFormat"]
                for key, value in series["metric"].items():
                    label = label.replace("{{" + key + "}}", value)
                label = label.replace("{{instance}}", "").strip()
                ax.plot(xs, ys, linewidth=1.2, label=label)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, facecolor="#181b1f", labelcolor="#d8d9da", edgecolor="#2c3235")
        ax.set_xlabel("seconds into the run", color="#8e8e8e", fontsize=8)
    for ax in list(axes.flat)[len(panels) :]:
        ax.set_visible(False)
    fig.suptitle(
        f"{dashboard['title']} — docs/grafana-dashboard.json's queries, answered by a real "
        "Prometheus, drawn with matplotlib",
        color="#d8d9da",
    )
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=80, facecolor=fig.get_facecolor())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=80.0)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images" / "dashboard.png")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pipecore-dashboard-") as tmp:
        prom, start, end = run(args.seconds, Path(tmp))
        try:
            render(prom, start, end, args.out)
        finally:
            prom.stop()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
