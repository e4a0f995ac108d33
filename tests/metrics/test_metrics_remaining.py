"""SHOW PIPES' RemainingEventCount and EstimatedRemainingSeconds, and the metrics they share
(`pipecore.observability.remaining_figures`): a known backlog drains through a sink of known
speed, and the figures fall monotonically to 0, the estimate within a tolerance of the truth."""

from __future__ import annotations

import itertools
import time

from metrics_helpers import Scrape, serving_node

from pipecore.testing import plugins, wait_until

EVENTS = 60
DELAY_MS = 40  # the sink takes 40 ms per event: the backlog drains in 2.4 s


def _show(node) -> dict[str, str]:
    table = node.execute("SHOW PIPES")
    [row] = [dict(zip(table.columns, r, strict=True)) for r in table.rows]
    return row


def test_a_known_backlog_drains_monotonically_to_zero(tmp_path):
    plugins.reset("drain")
    config = {"pipe_heartbeat_interval_seconds_for_collecting_pipe_meta": 0.2}
    with serving_node(tmp_path, config, plugins=(plugins,)) as (node, endpoint):
        node.create_pipe(
            "drain",
            source={
                "source": "generated-source",
                "source.points": str(EVENTS * 10),
                "source.rows-per-tablet": "10",
            },
            sink={"sink": "counting-sink", "sink.counter": "drain", "sink.delay-ms": str(DELAY_MS)},
        )
        counts = plugins.counts("drain")
        started = time.monotonic()
        seen: list[tuple[float, int, float | None, float, float | None]] = []
        while True:
            row = _show(node)
            scrape = Scrape(endpoint)
            now = time.monotonic() - started
            remaining = int(row["RemainingEventCount"])
            eta_text = row["EstimatedRemainingSeconds"]
            eta = None if eta_text == "Unknown" else float(eta_text)
            metric_events = scrape.value("pipe_datanode_remaining_event_count", name="drain")
            metric_eta = scrape.values("pipe_datanode_remaining_time", name="drain")
            seen.append((now, remaining, eta, metric_events, metric_eta[0] if metric_eta else None))
            if remaining == 0:
                break
            assert now < 30, seen
            time.sleep(0.1)
        assert counts.tablets == EVENTS
        counts_by_show = [r for _, r, _, _, _ in seen]
        # never grows, and starts from (nearly) the whole backlog
        assert all(a >= b for a, b in itertools.pairwise(counts_by_show)), seen
        assert counts_by_show[0] >= EVENTS - 10
        # SHOW PIPES and the metric give the same count (taken a moment apart: within 2 events)
        assert all(abs(r - m) <= 2 for _, r, _, m, _ in seen), seen
        # the estimate: once a rate is known, within 35 % (+0.3 s) of the real time left
        end = seen[-1][0]
        judged = [(t, eta) for t, r, eta, _, _ in seen if eta is not None and end - t > 0.5]
        assert len(judged) >= 5, seen
        for t, eta in judged[2:]:
            assert abs(eta - (end - t)) <= 0.35 * (end - t) + 0.3, (t, eta, end, seen)
        # ... and it falls (allowing the noise of one sample: 15 % or 0.2 s)
        etas = [eta for _, eta in judged]
        assert all(b <= a * 1.15 + 0.2 for a, b in itertools.pairwise(etas)), seen
        assert seen[-1][2] == 0.0
        wait_until(
            lambda: Scrape(endpoint).value("pipe_datanode_remaining_time", name="drain") == 0
        )
