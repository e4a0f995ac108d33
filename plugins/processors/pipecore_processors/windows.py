"""Tumbling windows and the standard statistics of IoTDB's ``aggregate-processor``, vectorised.

IoTDB's rule (``TumblingWindowingProcessor`` + ``TimeSeriesRuntimeState``), per series, per
point in arrival order:

* a point at or before the series' *watermark* (the end of the last window it emitted) is
  dropped;
* windows are ``[boundary + k·I, boundary + (k+1)·I)`` (I = ``processor.sliding.seconds``,
  boundary = ``processor.sliding.boundary-time``); a point before the boundary opens nothing;
* a point past the open window closes it — the window is emitted at its start time and the
  watermark moves to its end — and opens the window it falls in; a point in the open window is
  added to it; a point before the open window is ignored.

So the open window is the running maximum of the points' window indices: a point is used iff
its index is at least the running maximum before it (and it is after the watermark). That makes
the whole rule a few array passes: `assign_windows` finds the kept points and their windows,
`Accumulator.from_points` reduces each window with ``reduceat``.

The statistics (``standard-statistics-processor``) are computed from count, the power sums
x¹…x⁴, the sum of x^0.5, max, min and max |x|, as IoTDB's operators are — in float64 (IoTDB sums
in the input's type; see docs/processors.md).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import numpy as np

from pipecore_storage.types import TSDataType

__all__ = [
    "NUMERIC_TYPES",
    "OPERATORS",
    "Accumulator",
    "WindowRun",
    "assign_windows",
]

NUMERIC_TYPES = frozenset({TSDataType.INT32, TSDataType.INT64, TSDataType.FLOAT, TSDataType.DOUBLE})


@attrs.define(slots=True)
class Accumulator:
    """The intermediate results of one window: IoTDB's ``count``, ``sum_x1``…``sum_x4``,
    ``sum_x0.5``, ``max``, ``min`` and ``abs_max`` (the last three in the input's type)."""

    count: int
    s1: float
    s2: float
    s3: float
    s4: float
    sh: float
    mx: Any
    mn: Any
    amx: Any

    @classmethod
    def from_points(cls, x: np.ndarray, starts: np.ndarray) -> list[Accumulator]:
        """One accumulator per run of `x` beginning at each of `starts`."""
        f = x.astype(np.float64)
        counts = np.diff(np.append(starts, len(x)))
        sums = [np.add.reduceat(f**p, starts) for p in (1, 2, 3, 4)]
        with np.errstate(invalid="ignore"):
            sh = np.add.reduceat(np.power(f, 0.5), starts)
        mx = np.maximum.reduceat(x, starts)
        mn = np.minimum.reduceat(x, starts)
        amx = np.maximum.reduceat(np.abs(x), starts)
        return [
            cls(int(c), float(a), float(b), float(d), float(e), float(h), m, n, am)
            for c, a, b, d, e, h, m, n, am in zip(
                counts.tolist(),
                *(s.tolist() for s in sums),
                sh.tolist(),
                mx.tolist(),
                mn.tolist(),
                amx.tolist(),
                strict=True,
            )
        ]

    def merge(self, other: Accumulator) -> Accumulator:
        return Accumulator(
            self.count + other.count,
            self.s1 + other.s1,
            self.s2 + other.s2,
            self.s3 + other.s3,
            self.s4 + other.s4,
            self.sh + other.sh,
            _nan_max(self.mx, other.mx),
            _nan_min(self.mn, other.mn),
            _nan_max(self.amx, other.amx),
        )

    def to_json(self) -> list[Any]:
        return list(attrs.astuple(self))

    @classmethod
    def from_json(cls, data: list[Any]) -> Accumulator:
        return cls(*data)


def _nan_max(a: Any, b: Any) -> Any:
    return a if (isinstance(a, float) and math.isnan(a)) or a >= b else b


def _nan_min(a: Any, b: Any) -> Any:
    return a if (isinstance(a, float) and math.isnan(a)) or a <= b else b


def _mean(a: Accumulator, s: float) -> float:
    return s / a.count


def _var(a: Accumulator) -> float:
    return a.s2 / a.count - (a.s1 / a.count) ** 2


def _skew(a: Accumulator) -> float:
    m1, m2, m3 = a.s1 / a.count, a.s2 / a.count, a.s3 / a.count
    return _div(m3 - 3 * m1 * m2 + 2 * m1**3, _pow(m2 - m1**2, 1.5))


def _kurt(a: Accumulator) -> float:
    m1, m2, m3, m4 = (s / a.count for s in (a.s1, a.s2, a.s3, a.s4))
    return _div(m4 - 4 * m3 * m1 + 6 * m2 * m1**2 - 3 * m1**4, (m2 - m1**2) ** 2)


def _div(a: float, b: float) -> float:
    """Java's double division: x/0 is ±Infinity or NaN, never an error."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.float64(a) / np.float64(b))


def _pow(a: float, b: float) -> float:
    with np.errstate(invalid="ignore"):
        return float(np.power(np.float64(a), b))


#: IoTDB's standard-statistics operators: output name → (same type as input?, result).
OPERATORS: Mapping[str, tuple[bool, Callable[[Accumulator], Any]]] = {
    "avg": (False, lambda a: _div(a.s1, a.count)),
    "var": (False, _var),
    "skew": (False, _skew),
    "kurt": (False, _kurt),
    "rms": (False, lambda a: _pow(_div(a.s2, a.count), 0.5)),
    "cf": (False, lambda a: _div(float(a.amx), _pow(_div(a.s2, a.count), 0.5))),
    "ff": (False, lambda a: _div(_pow(_div(a.s2, a.count), 0.5), _div(a.s1, a.count))),
    "pf": (False, lambda a: _div(float(a.amx), _div(a.s1, a.count))),
    "ce": (False, lambda a: _div(float(a.amx), _pow(_div(a.sh, a.count), 2))),
    "peak": (True, lambda a: a.amx),
    "max": (True, lambda a: a.mx),
    "min": (True, lambda a: a.mn),
}


@attrs.define(slots=True)
class WindowRun:
    """What `assign_windows` found in one batch of a series' points.

    * `kept` — indices of the points that were used, in order;
    * `windows` — the window index of each kept point (non-decreasing);
    * `watermark` — the series' watermark after the batch.
    """

    kept: np.ndarray
    windows: np.ndarray
    watermark: int | None


def assign_windows(
    times: np.ndarray,
    boundary: int,
    interval: int,
    open_window: int | None,
    watermark: int | None,
) -> WindowRun:
    """Apply the tumbling rule (module docstring) to a batch of points, given the series' open
    window index (None if none) and watermark (None if it never emitted)."""
    k = np.floor_divide(times - boundary, interval)
    valid = times >= boundary
    ks = np.where(valid, k, -1)
    start = -1 if open_window is None else open_window
    running = np.maximum.accumulate(np.concatenate([[start], ks]))
    before = running[:-1]  # the open window when each point arrives
    candidate = valid & (ks >= before)
    opens = candidate & (ks > before) & (before >= 0)
    closed_end = np.where(opens, boundary + (before + 1) * interval, np.iinfo(np.int64).min)
    wm0 = np.iinfo(np.int64).min if watermark is None else watermark
    marks = np.maximum.accumulate(np.concatenate([[wm0], closed_end]))
    kept = np.flatnonzero(candidate & (times > marks[:-1]))
    final = int(marks[-1])
    return WindowRun(kept, ks[kept], None if final == np.iinfo(np.int64).min else final)
