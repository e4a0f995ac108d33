"""VERIFY PIPE and RESYNC PIPE: prove a pipe's receiver has what the sender has, and repair
only what it lacks.

Both work on stages of their own, built from the pipe's stored parameters — a source stage
that is customized but never started (its ``extractor_scope`` says what the pipe takes) and a
sink stage that is customized and handshaken (its ``connector_digests`` asks the receiver;
its transfer hooks resend). The running pipe, its queue and its progress are not touched: a
resend is extra, idempotent writes at the receiver (same series and time overwrite).

* `verify_pipe` — digests per series and window on both sides (`pipecore.digest`), lined up.
* `resync_pipe` — resends the windows `verify_pipe` found ``missing`` or ``differs`` (or every
  window of a given range), as tablets through the pipe's sink. ``extra`` windows (points the
  receiver has and the sender does not) cannot be repaired by sending: they are reported.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from pipecore_storage.tablet import Tablet

from .digest import (
    MAX_TIME,
    MIN_TIME,
    DigestRequest,
    PipeScope,
    VerifyRow,
    compare,
    series_in_scope,
    store_digests,
)
from .errors import PipeError
from .events import HeartbeatEvent, TabletInsertionEvent
from .plugin import RuntimeConfiguration
from .runtime import build_stage, plugin_names, validate_stage
from .stage import Stage

__all__ = [
    "DEFAULT_GRANULARITY_MS",
    "ResyncReport",
    "pipe_scope",
    "pipe_stage",
    "resync_pipe",
    "verify_pipe",
]

log = logging.getLogger(__name__)

DEFAULT_GRANULARITY_MS = 3_600_000  # one hour
_MAX_WINDOWS = 10_000_000  # per series: a range / granularity above this is refused
_RESYNC_ROWS = 65536  # rows per resent tablet


@attrs.frozen
class ResyncReport:
    """What RESYNC did: windows resent, points and tablets sent, ``extra`` windows left."""

    windows: int
    points: int
    tablets: int
    extra_windows: int


# ---------------------------------------------------------------------- stages of their own
@contextlib.contextmanager
def pipe_stage(
    manager: Any, name: str, kind: str, sections: dict[str, Any] | None = None
) -> Iterator[Stage]:
    """A stage of pipe `name` built from its stored parameters (or from `sections`, for a
    pipe not created yet), validated and customized (a sink also handshaken), closed on exit.
    It never starts and has its own data directory (``<pipe data dir>/tools``), so the
    running pipe is not disturbed."""
    creation_time = 0
    if sections is None:
        info = manager.get(name)
        creation_time = info.creation_time
        sections = {"source": info.source, "processor": info.processor, "sink": info.sink}
    names = plugin_names(sections["source"], sections["processor"], sections["sink"])
    scratch = None if creation_time else tempfile.mkdtemp(prefix="pipecore-explain-")
    data_dir = Path(scratch or manager.catalog.pipe_data_dir(name)) / "tools"
    data_dir.mkdir(parents=True, exist_ok=True)
    config = RuntimeConfiguration(
        pipe_name=name,
        creation_time=creation_time,
        data_dir=data_dir,
        cluster_id=manager.cluster_id,
        node_config=manager.config,
        store=manager.store,
    )
    stage = build_stage(manager.registry, kind, names[kind], name, creation_time)
    try:
        validate_stage(stage, sections[kind])
        stage.call[stage.prefix + "customize"](sections[kind], config)
        if kind == "sink":
            stage.call["connector_handshake"]()
        yield stage
    finally:
        stage.close()
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


def pipe_scope(manager: Any, name: str, sections: dict[str, Any] | None = None) -> PipeScope:
    """What pipe `name`'s source takes; PipeError when the source cannot say."""
    with pipe_stage(manager, name, "source", sections) as source:
        scope = source.call["extractor_scope"]()
    if scope is None:
        raise PipeError(
            f"pipe {name}: its source ({source.plugin_name}) does not say which data it takes "
            "(extractor_scope), so it cannot be verified, resent, explained or exported",
            name,
        )
    return scope


def _window_range(scope: PipeScope, start: int, end: int, granularity: int) -> tuple[int, int]:
    """[start, end) within the scope, rounded out to whole windows, checked for size."""
    lo = max(start, scope.start)
    hi = min(end, scope.end + 1 if scope.end < MAX_TIME else MAX_TIME)
    if granularity <= 0:
        raise PipeError(f"GRANULARITY must be positive, got {granularity}")
    if lo >= hi:
        return lo, lo
    lo = (lo // granularity) * granularity if lo > MIN_TIME else lo
    return lo, hi


# ---------------------------------------------------------------------- VERIFY
def verify_pipe(
    manager: Any,
    name: str,
    start: int = MIN_TIME,
    end: int = MAX_TIME,
    granularity: int = DEFAULT_GRANULARITY_MS,
    *,
    include_equal: bool = False,
) -> list[VerifyRow]:
    """Compare the sender's data in the pipe's scope within [start, end) with the
    receiver's; one row per window that is not equal (every window with `include_equal`)."""
    scope = pipe_scope(manager, name)
    lo, hi = _window_range(scope, start, end, granularity)
    store = manager.store
    series = series_in_scope(store, scope.patterns, scope)
    mine = store_digests(store, series, lo, hi, granularity)
    _check_windows(mine, granularity)
    request = DigestRequest(scope.patterns, lo, hi, granularity)
    with pipe_stage(manager, name, "sink") as sink:
        theirs = sink.call["connector_digests"](request)
    if theirs is None:
        raise PipeError(
            f"pipe {name}: its sink ({sink.plugin_name}) cannot ask the receiver for digests "
            "(an IoTDB receiver does not answer pipecore's digest request)",
            name,
        )
    theirs = {p: d for p, d in theirs.items() if scope.takes(p)}
    return compare(mine, theirs, granularity, include_equal=include_equal)


def _check_windows(digests: dict[str, Any], granularity: int) -> None:
    for path, d in digests.items():
        if len(d) > _MAX_WINDOWS:
            raise PipeError(f"{path}: {len(d)} windows of {granularity} ms; use a coarser one")


# ---------------------------------------------------------------------- RESYNC
def resync_pipe(
    manager: Any,
    name: str,
    start: int = MIN_TIME,
    end: int = MAX_TIME,
    granularity: int = DEFAULT_GRANULARITY_MS,
    *,
    verify_first: bool = True,
) -> ResyncReport:
    """Resend through the pipe's sink the windows that differ (`verify_first`) or every
    series of the scope in [start, end) (a RANGE given by the operator)."""
    scope = pipe_scope(manager, name)
    store = manager.store
    if verify_first:
        rows = verify_pipe(manager, name, start, end, granularity)
        wanted = [r for r in rows if r.status in ("missing", "differs")]
        extra = sum(1 for r in rows if r.status == "extra")
        ranges = [(r.series, r.window_start, r.window_end) for r in wanted]
    else:
        lo, hi = _window_range(scope, start, end, granularity)
        series = series_in_scope(store, scope.patterns, scope)
        ranges = [(s.path, lo, hi) for s in series] if lo < hi else []
        extra = 0
    if not ranges:
        return ResyncReport(0, 0, 0, extra)
    points = tablets = 0
    with pipe_stage(manager, name, "sink") as sink:
        pending: list[Future[Any]] = []
        for tablet in _tablets(store, ranges):
            outcome = sink.call["connector_transfer_tablet"](TabletInsertionEvent(tablet))
            if outcome is not None:
                pending.append(outcome)
            points += tablet.point_count()
            tablets += 1
        _flush(sink)
        for future in pending:
            future.result(timeout=manager.config.pipe.pipe_sink_timeout_ms / 1000.0)
    log.info("pipe %s: RESYNC sent %d points in %d windows", name, points, len(ranges))
    return ResyncReport(len(ranges), points, tablets, extra)


def _flush(sink: Stage) -> None:
    """Have a batching sink send a batch that is due (its own timer sends it otherwise)."""
    sink.call["connector_transfer_event"](HeartbeatEvent())


def _tablets(store: Any, ranges: Sequence[tuple[str, int, int]]) -> Iterator[Tablet]:
    """One device's series per tablet, a window at a time, at most `_RESYNC_ROWS` rows."""
    infos = {s.path: s for s in store.list_series("root.**")}
    for path, lo, hi in ranges:
        info = infos.get(path)
        if info is None:
            continue
        times, values = store.query(path, lo, hi - 1).series(path)
        schema = info.schema
        for at in range(0, len(times), _RESYNC_ROWS):
            part = slice(at, at + _RESYNC_ROWS)
            yield Tablet(
                info.device,
                [schema],
                np.asarray(times[part]),
                [values[part]],
                [None],
                aligned=info.aligned,
            )
