"""IoTDB's receiver-side value conversion (``ValueConverter`` of the pipe receiver), column by
column with numpy: the rule table of docs/interop.md "Type conversion on the receiver",
checked cell by cell against a real IoTDB 2.0.1 (tests/interop/test_iotdb_type_conversion.py).

Every cell converts; nothing becomes null and nothing is refused (a null stays null):

* BOOLEAN → numbers and TIMESTAMP 1/0, → text ``true``/``false``, → DATE 1970-01-02/01.
* Numbers → BOOLEAN: non-zero (NaN too) is true. Integer narrowing wraps as Java's ``(int)``
  cast does; FLOAT/DOUBLE → integers truncate and saturate, NaN → 0 (Java's casts).
* Numbers → text: Java's ``toString`` (``1.0``, ``1.0E10``). DATE → text: the ``yyyymmdd`` int.
* Numbers → DATE: the (int-cast) value when it is a valid ``yyyymmdd``, else 1970-01-01.
* TIMESTAMP → DATE: the UTC day of the epoch milliseconds; DATE → TIMESTAMP: its UTC midnight.
* Text (TEXT, STRING, BLOB as UTF-8) → BOOLEAN: ``true`` in any case, anything else false;
  → INT32/INT64: Java's ``(int)``/``(long)`` of ``Double.parseDouble`` (``'123.9'`` → 123);
  → FLOAT/DOUBLE: ``parseFloat``/``parseDouble``; a text that does not parse gives 0.
  → TIMESTAMP: a plain long, else a datetime read at UTC, else 0;
  → DATE: a valid ``yyyymmdd`` number, else a ``yyyy-MM-dd`` date (years 1000–9999), else
  1970-01-01 (no ``/`` or ``.`` dates, no datetimes). Text ↔ text keeps the bytes.
"""

from __future__ import annotations

import re

import numpy as np

from pipecore import parse_time_value
from pipecore_storage.java_text import java_float_text
from pipecore_storage.types import TSDataType

__all__ = ["DEFAULT_DATE", "convert_values"]

T = TSDataType
DEFAULT_DATE = 19700101
_TRUE_DATE = 19700102
_DAY_MS = 86_400_000
_TEXTS = (T.TEXT, T.STRING, T.BLOB)
_INTEGERS = (T.INT32, T.INT64, T.TIMESTAMP)
_FLOATS = (T.FLOAT, T.DOUBLE)
# Java's Double.parseDouble grammar (after trimming chars <= ' '): decimal forms with an
# optional f/d suffix, NaN, Infinity, and hex floats
_JAVA_DOUBLE = re.compile(
    r"[+-]?(?:NaN|Infinity|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?[fFdD]?"
    r"|0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)[pP][+-]?\d+[fFdD]?)"
)
_JAVA_LONG = re.compile(r"[+-]?\d+")
_ISO_DATE = re.compile(r"([0-9]{4,})-([0-9]{2})-([0-9]{2})")  # LocalDate.parse "yyyy-MM-dd"
_DATETIME_HEAD = re.compile(r"([0-9]{4})([-/.])([0-9]{2})\2([0-9]{2})(?![0-9])")
_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)


def convert_values(column: np.ndarray, source: TSDataType, target: TSDataType) -> np.ndarray:
    """`column` (values of `source`, pipecore's numpy form) as values of `target`.

    Null cells are whatever their slot holds; their converted slot is as meaningless."""
    if source == target:
        return column
    if source is T.BOOLEAN:
        return _from_boolean(column.astype(np.bool_), target)
    if source is T.DATE:
        return _from_date(column.astype(np.int32), target)
    if source in _INTEGERS:
        return _from_integer(column.astype(np.int64), source, target)
    if source in _FLOATS:
        return _from_float(column, source, target)
    if source in _TEXTS:
        return _from_text(column, source, target)
    raise ValueError(f"no conversion from {source.name} to {target.name}")


# ----------------------------------------------------------------------------- BOOLEAN
def _from_boolean(b: np.ndarray, target: TSDataType) -> np.ndarray:
    if target in _TEXTS:
        return _texts(np.where(b, "true", "false"), target)
    if target is T.DATE:
        return np.where(b, _TRUE_DATE, DEFAULT_DATE).astype(np.int32)
    return b.astype(target.numpy_dtype)


# ----------------------------------------------------------------------------- integers
def _from_integer(v: np.ndarray, source: TSDataType, target: TSDataType) -> np.ndarray:
    if target is T.BOOLEAN:
        return v != 0
    if target in _TEXTS:
        return _texts(v.astype(str), target)
    if target is T.DATE:
        if source is T.TIMESTAMP:
            return _day_of_ms(v)
        days = v.astype(np.int32)  # Java's (int) cast wraps
        return np.where(_valid_dates(days), days, DEFAULT_DATE).astype(np.int32)
    return v.astype(target.numpy_dtype)  # int32 wraps; floats round to nearest, as Java


# ----------------------------------------------------------------------------- DATE
def _from_date(d: np.ndarray, target: TSDataType) -> np.ndarray:
    if target is T.BOOLEAN:
        return d != DEFAULT_DATE
    if target is T.TIMESTAMP:
        valid = _valid_dates(d)
        safe = np.where(valid, d, DEFAULT_DATE)
        days = _days_since_epoch(safe // 10000, safe // 100 % 100, safe % 100)
        return np.where(valid, days * _DAY_MS, 0).astype(np.int64)
    if target in _TEXTS:  # Integer.toString of the yyyymmdd int, as IoTDB 2.0.1
        return _texts(d.astype(str), target)
    return d.astype(target.numpy_dtype)


# ----------------------------------------------------------------------------- floats
def _from_float(f: np.ndarray, source: TSDataType, target: TSDataType) -> np.ndarray:
    if target is T.BOOLEAN:
        return f != 0
    if target in _FLOATS:
        with np.errstate(over="ignore"):
            return f.astype(target.numpy_dtype)  # DOUBLE → FLOAT overflows to ±inf, as Java
    if target in _TEXTS:
        return _texts(_java_floats(f, source), target)
    wide = f.astype(np.float64)
    if target is T.INT32:
        return _java_cast(wide, _INT32, np.int32)
    if target in (T.INT64, T.TIMESTAMP):
        return _java_cast(wide, _INT64, np.int64)
    if target is T.DATE:
        days = _java_cast(wide, _INT32, np.int32)
        return np.where(_valid_dates(days), days, DEFAULT_DATE).astype(np.int32)
    raise ValueError(f"no conversion from {source.name} to {target.name}")


def _java_cast(f: np.ndarray, bounds: tuple[int, int], dtype: type) -> np.ndarray:
    """Java's ``(int)``/``(long)`` of doubles: truncation, saturation, NaN → 0."""
    lo, hi = bounds
    finite = np.nan_to_num(f, nan=0.0, posinf=0.0, neginf=0.0)
    inside = (finite > float(lo)) & (finite < float(hi))  # float(hi) rounds up for int64
    out: np.ndarray = np.where(inside, np.trunc(finite), 0).astype(dtype)
    out[(f >= float(hi)) | (f == np.inf)] = hi
    out[(f <= float(lo)) | (f == -np.inf)] = lo
    return out


def _java_floats(f: np.ndarray, source: TSDataType) -> np.ndarray:
    """Java's Float/Double.toString of each value (shortest digits). Formatted once per
    distinct value: the loop is bounded by the distinct values, not the rows."""
    single = source is T.FLOAT  # float32's shortest digits are str() of an np.float32
    dtype = np.float32 if single else np.float64
    bits = np.ascontiguousarray(f, dtype=dtype).view(np.uint32 if single else np.uint64)
    unique_bits, inverse = np.unique(bits, return_inverse=True)  # -0.0 apart from 0.0
    unique = unique_bits.view(dtype)
    texts = np.array(
        [java_float_text(float(u), str(u) if single else repr(float(u))) for u in unique],
        dtype=object,
    )
    return texts[inverse.reshape(-1)] if len(f) else np.array([], dtype=object)


# ----------------------------------------------------------------------------- text
def _from_text(column: np.ndarray, source: TSDataType, target: TSDataType) -> np.ndarray:
    if target in _TEXTS:
        return _retyped_texts(column, target)
    strings = _strings(column)
    if target is T.BOOLEAN:
        return np.char.lower(strings.astype(str)) == "true" if len(strings) else np.zeros(0, bool)
    unique, inverse = np.unique(strings.astype(str), return_inverse=True)
    parse = _PARSERS[target]
    parsed = np.array([parse(u) for u in unique.tolist()], dtype=_PARSED_DTYPES[target])
    out = parsed[inverse.reshape(-1)] if len(strings) else np.zeros(0, _PARSED_DTYPES[target])
    if target is T.INT32:
        return _java_cast(out, _INT32, np.int32)
    if target is T.INT64:
        return _java_cast(out, _INT64, np.int64)
    return out.astype(target.numpy_dtype)


def _java_double(text: str) -> float | None:
    """Java's Double.parseDouble, None where it throws."""
    stripped = _java_trim(text)
    if _JAVA_DOUBLE.fullmatch(stripped) is None:
        return None
    cleaned = stripped[:-1] if stripped[-1] in "fFdD" else stripped  # the type suffix
    if "x" in cleaned.lower():
        return float.fromhex(cleaned)
    return float(cleaned.replace("Infinity", "inf"))


def _parse_double(text: str) -> float:
    value = _java_double(text)
    return 0.0 if value is None else value


def _parse_float(text: str) -> float:
    value = _java_double(text)
    if value is None:
        return 0.0
    with np.errstate(over="ignore"):
        return float(np.float32(value))  # beyond float's range: ±Infinity, as parseFloat


def _is_number(text: str) -> bool:
    """IoTDB's TypeInferenceUtils.isNumber: parseDouble accepts it, and it is not "NaN"."""
    return text != "NaN" and _java_double(text) is not None


def _parse_timestamp(text: str) -> int:
    """IoTDB 2.0.1: a number is Long.parseLong's (else 0); any other text, trimmed, is a
    datetime read at UTC (its date with two-digit month and day, or ``now()``), else 0."""
    if not text:
        return 0
    if _is_number(text):
        if _JAVA_LONG.fullmatch(text) and _INT64[0] <= int(text) <= _INT64[1]:
            return int(text)
        return 0
    stripped = _java_trim(text)
    head = _DATETIME_HEAD.match(stripped)
    if head is None and stripped.lower() != "now()":
        return 0
    if head is not None:  # Java's SMART resolver: day 29-31 past the month's end is its last
        year, month, day = int(head[1]), int(head[3]), int(head[4])
        if 1 <= month <= 12 and 1 <= day <= 31:
            day = min(day, _month_days(year, month))
            stripped = f"{head[1]}{head[2]}{head[3]}{head[2]}{day:02d}{stripped[head.end() :]}"
    try:
        return parse_time_value(stripped, "UTC")
    except ValueError:
        return 0


def _parse_date(text: str) -> int:
    """IoTDB 2.0.1: a number is Integer.parseInt's yyyymmdd if a valid date; any other text,
    trimmed, is a ``yyyy-MM-dd`` of LocalDate.parse (a too large day of a month is clamped to its
    last day, Java's SMART resolver) with a year of 1000–9999; else 1970-01-01."""
    if not text:
        return DEFAULT_DATE
    if _is_number(text):
        if _JAVA_LONG.fullmatch(text) and _INT32[0] <= int(text) <= _INT32[1]:
            number = np.array([int(text)], np.int32)
            return int(number[0]) if _valid_dates(number)[0] else DEFAULT_DATE
        return DEFAULT_DATE
    match = _ISO_DATE.fullmatch(_java_trim(text))
    if match is None:
        return DEFAULT_DATE
    year, month, day = int(match[1]), int(match[2]), int(match[3])
    if not (1000 <= year <= 9999 and 1 <= month <= 12 and 1 <= day <= 31):
        return DEFAULT_DATE
    return year * 10000 + month * 100 + min(day, _month_days(year, month))


def _month_days(year: int, month: int) -> int:
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    return (31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)[month - 1]


def _java_trim(text: str) -> str:
    """commons-lang's StringUtils.trim / String.trim: chars <= ' ' off both ends."""
    return text.strip("".join(map(chr, range(33))))


_PARSERS = {
    T.INT32: _parse_double,
    T.INT64: _parse_double,
    T.FLOAT: _parse_float,
    T.DOUBLE: _parse_double,
    T.TIMESTAMP: _parse_timestamp,
    T.DATE: _parse_date,
}
_PARSED_DTYPES = {
    T.INT32: np.float64,
    T.INT64: np.float64,
    T.FLOAT: np.float64,
    T.DOUBLE: np.float64,
    T.TIMESTAMP: np.int64,
    T.DATE: np.int32,
}


def _strings(column: np.ndarray) -> np.ndarray:
    """Text cells as str (BLOB bytes decoded as UTF-8, undecodable bytes as U+FFFD like
    Java's ``new String(bytes, UTF_8)``)."""
    out = np.empty(len(column), dtype=object)
    out[:] = [
        "" if v is None else v.decode("utf-8", "replace") if isinstance(v, bytes) else v
        for v in column
    ]
    return out


def _retyped_texts(column: np.ndarray, target: TSDataType) -> np.ndarray:
    """TEXT/STRING/BLOB → another of them, the same bytes (pipecore holds undecodable text
    bytes with ``surrogateescape``)."""
    out = np.empty(len(column), dtype=object)
    for_blob = target is T.BLOB
    out[:] = [
        v if v is None or isinstance(v, bytes) == for_blob else _recode(v, for_blob) for v in column
    ]
    return out


def _recode(value: str | bytes, to_bytes: bool) -> str | bytes:
    if to_bytes:
        return value.encode("utf-8", "surrogateescape")  # type: ignore[union-attr]
    return value.decode("utf-8", "surrogateescape")  # type: ignore[union-attr]


def _texts(strings: np.ndarray, target: TSDataType) -> np.ndarray:
    """A numpy str array as the object array of `target` (bytes for BLOB)."""
    if target is T.BLOB:
        return np.char.encode(strings.astype(str), "utf-8").astype(object)
    return strings.astype(str).astype(object)


# ----------------------------------------------------------------------------- calendar
def _valid_dates(d: np.ndarray) -> np.ndarray:
    """Which ints are valid ``yyyymmdd`` dates (Java's LocalDate.of of year/month/day)."""
    d = d.astype(np.int64)
    y, m, day = d // 10000, d // 100 % 100, d % 100
    leap = ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)
    month_days = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
    ok_month = (m >= 1) & (m <= 12)
    last = month_days[np.where(ok_month, m, 0)] + ((m == 2) & leap)
    return (d >= 0) & ok_month & (day >= 1) & (day <= last)


def _days_since_epoch(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Days from 1970-01-01 of proleptic Gregorian dates (Howard Hinnant's algorithm)."""
    y = y.astype(np.int64) - (m <= 2)
    era = np.floor_divide(y, 400)
    yoe = y - era * 400
    mp = (m.astype(np.int64) + 9) % 12
    doy = (153 * mp + 2) // 5 + d.astype(np.int64) - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _day_of_ms(ms: np.ndarray) -> np.ndarray:
    """The UTC ``yyyymmdd`` of epoch milliseconds; 1970-01-01 where the year does not have
    four digits (IoTDB's DateUtils refuses those)."""
    z = np.floor_divide(ms.astype(np.int64), _DAY_MS) + 719468
    era = np.floor_divide(z, 146097)
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = np.where(mp < 10, mp + 3, mp - 9)
    year = yoe + era * 400 + (month <= 2)
    ok = (year >= 1000) & (year <= 9999)
    return np.where(ok, year * 10000 + month * 100 + day, DEFAULT_DATE).astype(np.int32)
