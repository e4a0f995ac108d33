"""``pipecore pipes [--watch]``: the pipes of a serving node with their throughput and lag,
read from its metrics endpoint (``/metrics``; docs/operations.md), as a table refreshed in place.

Each refresh scrapes ``/metrics`` once and parses it with ``prometheus_client``'s parser; the
throughput is the change of ``pipecore_pipe_transferred_points_total`` and
``pipe_connector_*_transfer_total`` since the previous scrape. Without ``--watch`` one table is
printed (the rates then cover a one-second interval between two scrapes).
"""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Callable
from typing import Any

import attrs
from prometheus_client.parser import text_string_to_metric_families
from rich.console import Console
from rich.live import Live
from rich.table import Table

__all__ = ["PipeRow", "render", "scrape_pipes", "watch"]


@attrs.define
class PipeRow:
    """One pipe as the endpoint reported it at `at` (monotonic seconds)."""

    name: str
    state: str = "?"
    points: float = 0.0  # transferred, total
    events: float = 0.0  # transferred, total (tablets, files, other; not heartbeats)
    remaining_events: float | None = None
    remaining_seconds: float | None = None
    remaining_points: float | None = None
    lag: float | None = None
    errors: float = 0.0
    at: float = 0.0


def scrape_pipes(url: str, timeout: float = 10.0) -> dict[str, PipeRow]:
    """The pipes in one scrape of ``<url>/metrics``."""
    with urllib.request.urlopen(url.rstrip("/") + "/metrics", timeout=timeout) as resp:
        text = resp.read().decode()
    at = time.monotonic()
    rows: dict[str, PipeRow] = {}

    def row(labels: dict[str, str]) -> PipeRow:
        name = labels["name"]
        found = rows.get(name)
        if found is None:
            found = rows[name] = PipeRow(name, at=at)
        return found

    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if "name" not in s.labels:
                continue
            name = s.name
            if name == "pipecore_pipe_state" and s.value == 1:
                row(s.labels).state = s.labels.get("state", "?")
            elif name == "pipecore_pipe_transferred_points_total":
                row(s.labels).points = s.value
            elif name == "pipecore_pipe_transferred_events_total":
                if s.labels.get("kind") != "heartbeat":
                    row(s.labels).events += s.value
            elif name == "pipe_datanode_remaining_event_count":
                row(s.labels).remaining_events = s.value
            elif name == "pipe_datanode_remaining_time":
                row(s.labels).remaining_seconds = s.value
            elif name == "pipecore_pipe_remaining_points":
                row(s.labels).remaining_points = s.value
            elif name == "pipecore_pipe_lag_seconds":
                row(s.labels).lag = s.value
            elif name == "pipecore_pipe_errors_total":
                row(s.labels).errors += s.value
    return rows


def _number(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    if abs(value) >= 1e6:
        return f"{value / 1e6:,.2f} M{unit}"
    if value == int(value):
        return f"{int(value):,}{unit}"
    return f"{value:,.1f}{unit}"


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f} s"


def render(
    now: dict[str, PipeRow], before: dict[str, PipeRow] | None, title: str = "pipes"
) -> Table:
    """The table: per pipe its state, throughput since `before`, totals, backlog and lag."""
    table = Table(title=title, title_justify="left")
    for column in (
        "Pipe", "State", "Points/s", "Events/s", "Transferred points", "Remaining events",
        "Remaining points", "ETA", "Lag", "Errors",
    ):  # fmt: skip
        table.add_column(column, justify="left" if column in ("Pipe", "State") else "right")
    for name in sorted(now):
        row = now[name]
        old = (before or {}).get(name)
        points_rate = events_rate = None
        if old is not None and row.at > old.at:
            dt = row.at - old.at
            points_rate = max(0.0, row.points - old.points) / dt
            events_rate = max(0.0, row.events - old.events) / dt
        table.add_row(
            name,
            row.state,
            _number(points_rate),
            _number(events_rate),
            _number(row.points),
            _number(row.remaining_events),
            _number(row.remaining_points),
            _seconds(row.remaining_seconds),
            _seconds(row.lag),
            _number(row.errors),
        )
    if not now:
        table.caption = "no pipes"
    return table


def watch(
    url: str,
    *,
    interval: float = 1.0,
    count: int | None = None,
    console: Console | None = None,
    sleep: Callable[[float], Any] = time.sleep,
) -> int:
    """Refresh the table in place every `interval` seconds (`count` times, or until Ctrl-C)."""
    console = console or Console()
    before = scrape_pipes(url)
    done = 0
    with Live(render(before, None, f"pipes of {url}"), console=console, auto_refresh=False) as live:
        try:
            while count is None or done < count:
                sleep(interval)
                now = scrape_pipes(url)
                stamp = time.strftime("%H:%M:%S")
                live.update(render(now, before, f"pipes of {url} at {stamp}"), refresh=True)
                before = now
                done += 1
        except KeyboardInterrupt:
            pass
    return 0


def show_once(url: str, console: Console | None = None, interval: float = 1.0) -> int:
    """One table (two scrapes `interval` apart, for the rates); not on a terminal (a pipe, a
    file), 200 columns wide instead of folding."""
    if console is None:
        console = Console()
        if not console.is_terminal:
            console = Console(width=200)
    before = scrape_pipes(url)
    time.sleep(interval)
    console.print(render(scrape_pipes(url), before, f"pipes of {url}"))
    return 0
