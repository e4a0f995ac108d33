"""The sampling rules of IoTDB's down-sampling processors, on numpy arrays of one series.

Each rule is sequential by nature — whether a point is kept depends on the last *kept* point —
so none is a single array expression. What is vectorised is the search between kept points:
the condition is evaluated with numpy over a chunk of the remaining points and the first hit is
taken; the chunk grows while nothing is found, so a rule that keeps one point in a thousand
costs a handful of numpy calls per kept point, not a Python step per point. Where the times
are sorted, `tumbling_keep` precomputes every successor with one ``searchsorted`` and only
follows the chain of kept points.

Every function takes the series' times (int64), its values and the state the series ended the
previous event with (None for a series not seen yet), and returns the indices it keeps and the
new state. The state is a plain tuple, so it can be saved as JSON.

Values are compared as IoTDB compares them (reference: ``SwingingDoorTrendingFilter``,
``ChangingValueFilter``): numeric types as Java ``double`` — a FLOAT goes through its shortest
decimal text, as ``Double.parseDouble(value.toString())`` does — and BOOLEAN, TEXT, STRING,
BLOB and DATE by equality only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from pipecore_storage.types import TSDataType

__all__ = [
    "NUMERIC_TYPES",
    "as_java_doubles",
    "changing_value_keep",
    "sdt_keep",
    "time_distance",
    "tumbling_keep",
]

#: Types IoTDB's filters compare as numbers; every other type is compared by equality.
NUMERIC_TYPES = frozenset(
    {TSDataType.INT32, TSDataType.INT64, TSDataType.FLOAT, TSDataType.DOUBLE, TSDataType.TIMESTAMP}
)

#: Java's Double.MIN_VALUE / MAX_VALUE: the doors of a fresh swinging-door filter.
JAVA_DOUBLE_MIN = 5e-324
JAVA_DOUBLE_MAX = 1.7976931348623157e308

_FIRST_CHUNK = 16
_INT64_MAX = 2**63 - 1
_U64 = np.uint64


def as_java_doubles(values: np.ndarray, data_type: TSDataType) -> np.ndarray:
    """`values` as IoTDB's filters see them: ``Double.parseDouble(value.toString())``.

    A FLOAT goes through its shortest decimal text (numpy's float32 ``str`` is the shortest
    round-trip form, as Java's ``Float.toString``), so ``0.1f`` becomes ``0.1``, not
    ``0.10000000149011612``."""
    if data_type is TSDataType.FLOAT:
        return values.astype(np.float32).astype(str).astype(np.float64)
    return values.astype(np.float64)


def time_distance(times: np.ndarray, anchor: int) -> np.ndarray:
    """``|t - anchor|`` for int64 `times`, exact as uint64 (no overflow at the int64 ends)."""
    t = times.view(_U64)
    a = _U64(anchor & 0xFFFFFFFFFFFFFFFF)
    return np.where(times >= anchor, t - a, a - t)


def _scan(condition: Callable[[int, int], np.ndarray], start: int, n: int, chunk: int) -> int:
    """The first index in ``[start, n)`` where ``condition(lo, hi)`` (a bool array for the
    points ``lo:hi``) holds, or -1. Chunks grow fourfold while nothing is found."""
    lo = start
    while lo < n:
        hi = min(n, lo + chunk)
        mask = condition(lo, hi)
        k = int(mask.argmax())
        if mask[k]:
            return lo + k
        lo = hi
        chunk *= 4
    return -1


def _next_chunk(last_gap: int) -> int:
    return max(_FIRST_CHUNK, 2 * last_gap)


# ---------------------------------------------------------------- tumbling-time sampling


def tumbling_keep(
    times: np.ndarray, last: int | None, interval: int
) -> tuple[np.ndarray, int | None]:
    """``tumbling-time-sampling-processor``: keep a point when the series has no last sampled
    time or ``|t - last| >= interval``; a kept point becomes the last sampled time."""
    n = len(times)
    if n == 0:
        return np.empty(0, np.int64), last
    kept: list[int] = []
    pos = 0
    if last is None:
        kept.append(0)
        last = int(times[0])
        pos = 1
    if (
        pos < n
        and interval > 0
        and int(times[pos]) >= last
        and int(times[-1]) <= _INT64_MAX - interval
        and _sorted(times[pos:])
    ):
        return _tumbling_sorted(times, pos, last, interval, kept)
    gap = 1
    while pos < n:
        anchor = last

        def far(lo: int, hi: int, anchor: int = anchor) -> np.ndarray:
            return time_distance(times[lo:hi], anchor) >= _U64(max(interval, 0))

        j = _scan(far, pos, n, _next_chunk(gap))
        if j < 0:
            break
        kept.append(j)
        gap = j - pos + 1
        last = int(times[j])
        pos = j + 1
    return np.asarray(kept, np.int64), last


def _sorted(times: np.ndarray) -> bool:
    return bool(np.all(times[1:] >= times[:-1])) if len(times) > 1 else True


def _tumbling_sorted(
    times: np.ndarray, pos: int, last: int, interval: int, kept: list[int]
) -> tuple[np.ndarray, int]:
    """Sorted times from `pos` on, all ``>= last``: the successor of each point is the first
    point at least `interval` later (one searchsorted); follow the chain of kept points."""
    n = len(times)
    first = pos + int(np.searchsorted(times[pos:], last + interval, side="left"))
    if first >= n:
        return np.asarray(kept, np.int64), last
    successor = (np.searchsorted(times, times + interval, side="left")).tolist()
    i = first
    chain = kept
    while i < n:
        chain.append(i)
        i = successor[i]
    return np.asarray(chain, np.int64), int(times[chain[-1]])


# ---------------------------------------------------------------- changing-value sampling

#: (last stored time, last stored value) of a series.
CvState = tuple[int, Any]


def changing_value_keep(
    times: np.ndarray,
    values: np.ndarray,
    data_type: TSDataType,
    state: CvState | None,
    deviation: float,
    min_interval: int,
    max_interval: int,
) -> tuple[np.ndarray, CvState | None]:
    """``changing-value-sampling-processor`` (IoTDB's ``ChangingValueFilter``): with ``d = |t -
    last stored time|``, a point is dropped when ``d <= min``, kept when ``d >= max``, else kept
    when its value differs from the last stored one by more than `deviation` (numbers) or at all
    (other types). A kept point becomes the last stored point."""
    n = len(times)
    if n == 0:
        return np.empty(0, np.int64), state
    numeric = data_type in NUMERIC_TYPES
    compared = as_java_doubles(values, data_type) if numeric else values
    kept: list[int] = []
    pos = 0
    if state is None:
        kept.append(0)
        state = (int(times[0]), _plain(compared[0]))
        pos = 1
    lo_bound, hi_bound = _U64(min_interval), _U64(max_interval)
    gap = 1
    while pos < n:
        st, sv = state

        def changed(lo: int, hi: int, st: int = st, sv: Any = sv) -> np.ndarray:
            d = time_distance(times[lo:hi], st)
            chunk = compared[lo:hi]
            with np.errstate(invalid="ignore"):  # inf - inf: NaN, never "moved", as in Java
                differs = np.abs(sv - chunk) > deviation if numeric else chunk != sv
            return (d > lo_bound) & ((d >= hi_bound) | differs)

        j = _scan(changed, pos, n, _next_chunk(gap))
        if j < 0:
            break
        kept.append(j)
        gap = j - pos + 1
        state = (int(times[j]), _plain(compared[j]))
        pos = j + 1
    return np.asarray(kept, np.int64), state


def _plain(value: Any) -> Any:
    """A numpy scalar as a plain Python value (JSON-able state)."""
    return value.item() if isinstance(value, np.generic) else value


# ---------------------------------------------------------------- swinging door trending

#: (stored time, stored value, last read time, last read value, upper door, lower door).
SdtState = tuple[int, Any, int, Any, float, float]


def sdt_keep(
    times: np.ndarray,
    values: np.ndarray,
    data_type: TSDataType,
    state: SdtState | None,
    deviation: float,
    min_interval: int,
    max_interval: int,
) -> tuple[np.ndarray, SdtState | None]:
    """``sdt-sampling-processor`` (IoTDB's ``SwingingDoorTrendingFilter``), per point after the
    first, with ``dt = t - stored time``:

    * ``|dt| <= min``: dropped, nothing changes;
    * ``|dt| >= max``: kept; it becomes the stored point and the doors close
      (upper = Double.MIN_VALUE, lower = Double.MAX_VALUE);
    * other types: kept (and stored) when the value differs from the stored one;
    * numbers: the doors swing to ``upper = max(upper, (v - sv - E) / dt)`` and
      ``lower = min(lower, (v - sv + E) / dt)``; when ``upper > lower`` the point is kept, the
      *last read* point becomes the stored point and the doors restart from this point's two
      slopes; the point becomes the last read point either way.
    """
    n = len(times)
    if n == 0:
        return np.empty(0, np.int64), state
    numeric = data_type in NUMERIC_TYPES
    compared = as_java_doubles(values, data_type) if numeric else values
    kept: list[int] = []
    pos = 0
    if state is None:
        first = _plain(compared[0])
        state = (int(times[0]), first, int(times[0]), first, JAVA_DOUBLE_MIN, JAVA_DOUBLE_MAX)
        kept.append(0)
        pos = 1
    if not numeric:
        idx, cv_state = changing_value_keep(
            times[pos:], values[pos:], data_type, state[:2], 0.0, min_interval, max_interval
        )
        assert cv_state is not None
        st, sv = cv_state
        merged = np.concatenate([np.asarray(kept, np.int64), idx + pos])
        return merged, (st, sv, state[2], state[3], JAVA_DOUBLE_MIN, JAVA_DOUBLE_MAX)
    door = _SdtDoor(times, compared, deviation, min_interval, max_interval, state)
    door.run(pos, kept)
    return np.asarray(kept, np.int64), door.state()


class _SdtDoor:
    """The numeric swinging door over one series' arrays (see `sdt_keep`)."""

    def __init__(
        self,
        times: np.ndarray,
        values: np.ndarray,
        deviation: float,
        min_interval: int,
        max_interval: int,
        state: SdtState,
    ) -> None:
        self.t, self.v, self.e = times, values, deviation
        self.lo_bound, self.hi_bound = _U64(min_interval), _U64(max_interval)
        self.st, self.sv, self.rt, self.rv, self.up, self.low = state

    def state(self) -> SdtState:
        return (self.st, float(self.sv), self.rt, float(self.rv), self.up, self.low)

    def run(self, pos: int, kept: list[int]) -> None:
        n = len(self.t)
        chunk = _FIRST_CHUNK
        while pos < n:
            hi = min(n, pos + chunk)
            event = self._chunk(pos, hi)
            if event < 0:
                pos = hi
                chunk *= 4
                continue
            kept.append(event)
            chunk = _next_chunk(event - pos + 1)
            pos = event + 1

    def _chunk(self, lo: int, hi: int) -> int:
        """Scan ``lo:hi`` from the current state; apply the first store (returning its index)
        or, when there is none, the door and last-read updates of the whole chunk (-1)."""
        t, v = self.t[lo:hi], self.v[lo:hi]
        d = time_distance(t, self.st)
        active = d > self.lo_bound
        reset = active & (d >= self.hi_bound)
        swing = active & ~reset
        dt = (t - self.st).astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):  # inf - inf: NaN, as in Java
            vd = v - self.sv
            upper = np.where(swing, (vd - self.e) / dt, -np.inf)
            lower = np.where(swing, (vd + self.e) / dt, np.inf)
        # fmax/fmin skip NaN slopes, as Java's `if (slope > door)` never takes a NaN
        up_run = np.fmax(np.fmax.accumulate(upper), self.up)
        low_run = np.fmin(np.fmin.accumulate(lower), self.low)
        opened = swing & (up_run > low_run)
        event_mask = reset | opened
        k = int(event_mask.argmax())
        if not event_mask[k]:
            self._read_through(t, v, swing, len(t))
            self.up, self.low = float(up_run[-1]), float(low_run[-1])
            return -1
        self._read_through(t, v, swing, k)
        if reset[k]:
            self.st, self.sv = int(t[k]), float(v[k])
            self.up, self.low = JAVA_DOUBLE_MIN, JAVA_DOUBLE_MAX
        else:
            self.st, self.sv = self.rt, self.rv
            self.up, self.low = float(upper[k]), float(lower[k])
            self.rt, self.rv = int(t[k]), float(v[k])
        return lo + k

    def _read_through(self, t: np.ndarray, v: np.ndarray, swing: np.ndarray, end: int) -> None:
        """The last read point becomes the last swinging point before `end`, if any."""
        read = np.flatnonzero(swing[:end])
        if read.size:
            j = int(read[-1])
            self.rt, self.rv = int(t[j]), float(v[j])
