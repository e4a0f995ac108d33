"""Time values of IoTDB's SQL: datetimes, durations, ``now()`` and their display.

Time is epoch milliseconds (pipecore's store precision) throughout.

The time-zone rule: a datetime written with an offset (``+08:00``, ``-05:00``, ``Z``) means
that instant; a datetime written without one is read in the *session zone* — by default the
zone of the process (IoTDB uses its JVM's default zone the same way). A date alone means
midnight. The accepted shapes are IoTDB's (``DateTimeUtils``): date separators ``-``, ``/``
or ``.``; ``T`` or a space before the time; ``HH:mm:ss`` with an optional fraction of 1–9
digits (truncated to the millisecond, rounding towards the past); an optional offset.
"""

from __future__ import annotations

import datetime as _dt
import re
import threading
import time
import zoneinfo

__all__ = [
    "MonotonicClock",
    "ZoneLike",
    "format_creation_time",
    "format_datetime",
    "local_zone",
    "now_ms",
    "parse_datetime",
    "parse_duration",
    "parse_time_value",
    "resolve_zone",
    "zone_id",
]

ZoneLike = str | _dt.tzinfo | None

_DATETIME = re.compile(
    r"""\s*(?P<year>\d{4,})(?P<sep>[-/.])(?P<month>\d{1,2})(?P=sep)(?P<day>\d{1,2})
        (?:(?:[Tt]|[ \t]+)(?P<hour>\d{1,2}):(?P<minute>\d{2}):(?P<second>\d{2})
           (?:\.(?P<fraction>\d{1,9}))?
           [ \t]*(?P<offset>[Zz]|[+-]\d{1,2}:\d{2}(?::\d{2})?)?
        )?\s*""",
    re.VERBOSE,
)
_OFFSET = re.compile(r"(?P<sign>[+-])(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2}))?")
# Java's ZoneId.of also takes +h, +hh, +hhmm, +hhmmss (IoTDB's Python client < 1.3 sends
# time.strftime("%z"), e.g. "+0800") and the same after a UTC/GMT/UT prefix
_COMPACT_OFFSET = re.compile(r"(?P<sign>[+-])(?P<h>\d{2}|\d(?!\d))(?:(?P<m>\d{2})(?P<s>\d{2})?)?")
_ZONE_PREFIX = re.compile(r"(?:UTC|GMT|UT)(?=[+-])", re.IGNORECASE)
_DURATION_PART = re.compile(r"(\d+)(mo|ms|us|ns|y|w|d|h|m|s)", re.IGNORECASE)
_DAY_MS = 86_400_000
_DURATION_MS = {
    "y": 365 * _DAY_MS,
    "mo": 30 * _DAY_MS,  # IoTDB's MS_TO_MONTH
    "w": 7 * _DAY_MS,
    "d": _DAY_MS,
    "h": 3_600_000,
    "m": 60_000,
    "s": 1_000,
    "ms": 1,
}
_SUB_MS_PER_MS = {"us": 1_000, "ns": 1_000_000}
_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def local_zone() -> _dt.tzinfo:
    """The zone of this process right now (a fixed offset, as IoTDB reads its default zone)."""
    zone = _dt.datetime.now().astimezone().tzinfo
    assert zone is not None
    return zone


def resolve_zone(zone: ZoneLike) -> _dt.tzinfo:
    """A tzinfo from None (the local zone), a tzinfo, ``'+08:00'``, ``'Z'``/``'UTC'`` or an
    IANA name such as ``'Asia/Shanghai'``. A bad name raises ValueError naming it."""
    if zone is None:
        return local_zone()
    if isinstance(zone, _dt.tzinfo):
        return zone
    text = str(zone).strip()
    if text.upper() in ("Z", "UTC", "GMT"):
        return _dt.timezone.utc
    offset = _ZONE_PREFIX.sub("", text, count=1) if _ZONE_PREFIX.match(text) else text
    match = _OFFSET.fullmatch(offset) or _COMPACT_OFFSET.fullmatch(offset)
    if match:
        return _dt.timezone(_offset_delta(match))
    try:
        return zoneinfo.ZoneInfo(text)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {text!r}; use an offset like '+08:00' or a name like "
            "'Asia/Shanghai'"
        ) from None


def _offset_delta(match: re.Match[str]) -> _dt.timedelta:
    hours, minutes = int(match["h"]), int(match["m"] or 0)
    seconds = int(match["s"] or 0)
    if hours > 18 or minutes > 59 or seconds > 59:
        raise ValueError(f"zone offset {match.group(0)!r} is out of range")
    delta = _dt.timedelta(hours=hours, minutes=minutes, seconds=seconds)
    return -delta if match["sign"] == "-" else delta


def parse_datetime(text: str, zone: ZoneLike = None) -> int:
    """Epoch milliseconds of an IoTDB datetime such as ``2022-03-30 00:00:00``,
    ``2011-12-03T10:15:30.123+01:00`` or ``2023.08.23T08:00:00+00:00``.

    Raises ValueError saying what is wrong (shape or range) and showing an accepted form.
    """
    match = _DATETIME.fullmatch(text)
    if match is None:
        raise ValueError(
            f"{text!r} is not a datetime; write it like 2011-12-03T10:15:30 or "
            "2011-12-03 10:15:30.123+08:00"
        )
    try:
        local = _dt.datetime(
            int(match["year"]),
            int(match["month"]),
            int(match["day"]),
            int(match["hour"] or 0),
            int(match["minute"] or 0),
            int(match["second"] or 0),
        )
    except (ValueError, OverflowError) as exc:
        raise ValueError(f"{text.strip()!r} is not a valid datetime: {exc}") from None
    nanos = int((match["fraction"] or "").ljust(9, "0"))
    offset = match["offset"]
    if offset is None:
        tz = resolve_zone(zone)
    elif offset in ("Z", "z"):
        tz = _dt.timezone.utc
    else:
        tz = _dt.timezone(_offset_delta(_OFFSET.fullmatch(offset)))  # type: ignore[arg-type]
    return _epoch_ms(local.replace(tzinfo=tz), nanos)


def _epoch_ms(moment: _dt.datetime, nanos: int) -> int:
    delta = moment - _EPOCH
    seconds = delta.days * 86_400 + delta.seconds
    return (seconds * 1_000_000_000 + nanos) // 1_000_000


def parse_duration(text: str) -> int:
    """Milliseconds of an IoTDB duration such as ``1d``, ``1h30m`` or ``500ms``.

    Units: y (365 d), mo (30 d), w, d, h, m, s, ms, us, ns; sub-millisecond parts are
    truncated. Raises ValueError for anything else.
    """
    cleaned = text.strip()
    pos, total_ms, sub = 0, 0, 0
    for match in _DURATION_PART.finditer(cleaned):
        if match.start() != pos:
            break
        amount, unit = int(match[1]), match[2].lower()
        if unit in _SUB_MS_PER_MS:
            sub += amount * (1_000_000 // _SUB_MS_PER_MS[unit])  # in nanoseconds
        else:
            total_ms += amount * _DURATION_MS[unit]
        pos = match.end()
    if pos != len(cleaned) or not cleaned:
        raise ValueError(f"{text!r} is not a duration; write it like 1d, 1h30m or 500ms")
    return total_ms + sub // 1_000_000


def parse_time_value(value: object, zone: ZoneLike = None, now: int | None = None) -> int:
    """Epoch ms of a time given as a long, a datetime string, or ``now`` — the forms IoTDB
    accepts for time parameters such as a source's ``start-time``."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a time")
    if isinstance(value, int):
        return _check_int64(value, value)
    text = str(value).strip()
    if re.fullmatch(r"[+-]?\d+", text):
        return _check_int64(int(text), value)
    if text.lower() in ("now", "now()"):
        return now_ms() if now is None else now
    return parse_datetime(text, zone)


def _check_int64(number: int, shown: object) -> int:
    if not _INT64_MIN <= number <= _INT64_MAX:
        raise ValueError(f"time {shown!r} does not fit in a signed 64-bit long")
    return number


def now_ms() -> int:
    """The wall clock in epoch milliseconds."""
    return time.time_ns() // 1_000_000


class MonotonicClock:
    """``now()`` for an executor: wall-clock milliseconds, but strictly increasing per
    clock, so two statements run within one millisecond still get distinct times (as
    IoTDB's seed examples, which insert one row per ``now()``, expect)."""

    def __init__(self) -> None:
        self._last = _INT64_MIN
        self._lock = threading.Lock()

    def now_ms(self) -> int:
        with self._lock:
            self._last = max(now_ms(), self._last + 1)
            return self._last


def _zoned(ms: int, zone: ZoneLike) -> _dt.datetime | None:
    try:
        return (_EPOCH + _dt.timedelta(milliseconds=ms)).astimezone(resolve_zone(zone))
    except (OverflowError, ValueError):
        return None


def _offset_text(moment: _dt.datetime) -> str:
    offset = moment.utcoffset() or _dt.timedelta(0)
    if not offset:
        return "Z"  # Java's ZoneOffset.UTC prints as Z
    sign = "-" if offset < _dt.timedelta(0) else "+"
    seconds = abs(int(offset.total_seconds()))
    hh, rest = divmod(seconds, 3600)
    mm, ss = divmod(rest, 60)
    return f"{sign}{hh:02d}:{mm:02d}" + (f":{ss:02d}" if ss else "")


def format_datetime(ms: int, zone: ZoneLike = None) -> str:
    """A timestamp as IoTDB's CLI shows it: ``2022-04-03T20:08:17.127+08:00``.

    Times beyond Python's datetime range are shown as the plain number."""
    moment = _zoned(ms, zone)
    if moment is None:
        return str(ms)
    return f"{_date_time_text(moment)}.{ms % 1000:03d}{_offset_text(moment)}"


def _date_time_text(moment: _dt.datetime) -> str:
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
        f"T{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}"
    )


def format_creation_time(ms: int, zone: ZoneLike = None) -> str:
    """A local date-time as Java's ``LocalDateTime.toString`` prints it (SHOW PIPES'
    CreationTime): ``2024-06-17T14:03:44.189``; seconds and milliseconds are left out when
    they are zero, exactly as Java does."""
    moment = _zoned(ms, zone)
    if moment is None:
        return str(ms)
    text = _date_time_text(moment)
    millis = ms % 1000
    if millis:
        return f"{text}.{millis:03d}"
    return text if moment.second else text[:-3]


def zone_id(zone: ZoneLike) -> str:
    """What a session sends as its zone: a name as given, else the zone's current offset."""
    if isinstance(zone, str):
        return zone
    offset = _dt.datetime.now(resolve_zone(zone)).utcoffset() or _dt.timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
