"""Datetimes, durations, zones and time display as IoTDB has them."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipecore.timeparse import (
    MonotonicClock,
    format_creation_time,
    format_datetime,
    parse_datetime,
    parse_duration,
    parse_time_value,
    resolve_zone,
)

T0 = 1648569600000  # 2022-03-30T00:00:00+08:00


@pytest.mark.parametrize(
    "text",
    [
        "2022-03-30 00:00:00",
        "2022-03-30T00:00:00",
        "2022/03/30 00:00:00",
        "2022.03.30T00:00:00",
        "2022-3-30 0:00:00",
        "2022-03-30",
        "2022-03-30T00:00:00.000",
        "2022-03-30 00:00:00+08:00",
        "2022-03-29T16:00:00Z",
        "2022-03-29T16:00:00+00:00",
        "2022-03-29T11:00:00-05:00",
        "2022.03.29T16:00:00.000000000+00:00",
        "  2022-03-30t00:00:00  ",
    ],
)
def test_datetime_shapes(text: str) -> None:
    assert parse_datetime(text, "+08:00") == T0


def test_fractions_truncate_to_the_millisecond_towards_the_past() -> None:
    assert parse_datetime("1970-01-01T00:00:00.1239Z") == 123
    assert parse_datetime("1970-01-01T00:00:00.5Z") == 500
    assert parse_datetime("1969-12-31T23:59:59.9999Z") == -1
    assert parse_datetime("2023.08.23T08:00:00+00:00") == 1692777600000


@pytest.mark.parametrize(
    "text",
    [
        "2022-13-01",
        "2022-02-30",
        "2022-03-30 25:00:00",
        "yyyy-mm-dd",
        "2022-03-30T00:00",
        "2022-03-30T00:00:00+19:00",
        "12-03-30",
        "2022-03/30",
        "",
    ],
)
def test_bad_datetimes_say_what_is_wrong(text: str) -> None:
    with pytest.raises(ValueError, match=r"datetime|offset"):
        parse_datetime(text, "UTC")


def test_zone_rule_default_is_the_process_zone() -> None:
    local = dt.datetime(2022, 3, 30).astimezone()
    expected = int(local.timestamp() * 1000)
    offset = dt.datetime.now().astimezone().utcoffset()
    # the process zone now; equal to the zone at that date except across a DST change
    now_rule = int((dt.datetime(2022, 3, 30, tzinfo=dt.timezone(offset)).timestamp()) * 1000)
    assert parse_datetime("2022-03-30") in (expected, now_rule)
    assert parse_datetime("2022-03-30", "Asia/Shanghai") == T0


def test_resolve_zone() -> None:
    assert resolve_zone("+08:00").utcoffset(None) == dt.timedelta(hours=8)
    assert resolve_zone("-05:30").utcoffset(None) == -dt.timedelta(hours=5, minutes=30)
    assert resolve_zone("Z") is dt.timezone.utc and resolve_zone("utc") is dt.timezone.utc
    assert str(resolve_zone("Europe/Berlin")) == "Europe/Berlin"
    # what Java's ZoneId.of takes too: IoTDB's Python client < 1.3 sends time.strftime("%z")
    hours = dt.timedelta(hours=1)
    for text, offset in [
        ("+0800", 8 * hours),
        ("-0530", -5.5 * hours),
        ("+0000", 0 * hours),
        ("+8", 8 * hours),
        ("-08", -8 * hours),
        ("UTC+08:00", 8 * hours),
        ("GMT-3", -3 * hours),
        ("+083015", dt.timedelta(hours=8, seconds=1815)),
    ]:
        assert resolve_zone(text).utcoffset(None) == offset, text
    for bad in ("+123", "+800", "0800", "UTC+", "+2500"):
        with pytest.raises(ValueError):
            resolve_zone(bad)
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Base'"):
        resolve_zone("Mars/Base")


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("1d", 86_400_000),
        ("1h30m", 5_400_000),
        ("500ms", 500),
        ("1mo", 30 * 86_400_000),
        ("1y", 365 * 86_400_000),
        ("2w", 14 * 86_400_000),
        ("1500us", 1),
        ("999999ns", 0),
        ("1M", 60_000),
        ("1S1MS", 1001),
    ],
)
def test_durations(text: str, ms: int) -> None:
    assert parse_duration(text) == ms


@pytest.mark.parametrize("text", ["", "d", "1", "1x", "1d 2h", "-1d"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


def test_time_values_for_source_parameters() -> None:
    assert parse_time_value(1648569600000) == T0
    assert parse_time_value("-5") == -5
    assert parse_time_value("2022-03-30T00:00:00+08:00") == T0
    assert parse_time_value("now", now=42) == 42 and parse_time_value("NOW()", now=1) == 1
    with pytest.raises(ValueError, match="64-bit"):
        parse_time_value(str(2**63))
    with pytest.raises(ValueError):
        parse_time_value(True)


def test_display_like_the_cli() -> None:
    assert format_datetime(1648987697127, "+08:00") == "2022-04-03T20:08:17.127+08:00"
    assert format_datetime(0, "UTC") == "1970-01-01T00:00:00.000Z"
    assert format_datetime(-1, "UTC") == "1969-12-31T23:59:59.999Z"
    assert format_datetime(2**63 - 1, "UTC") == str(2**63 - 1)
    assert format_datetime(T0, "Asia/Kolkata") == "2022-03-29T21:30:00.000+05:30"


def test_creation_time_like_javas_local_date_time() -> None:
    assert format_creation_time(1718604224189, "+08:00") == "2024-06-17T14:03:44.189"
    assert format_creation_time(1718604224000, "+08:00") == "2024-06-17T14:03:44"
    assert format_creation_time(1718604180000, "+08:00") == "2024-06-17T14:03"


@settings(max_examples=300, deadline=None)
@given(
    st.integers(-(2**40), 2**45),
    st.sampled_from(["UTC", "+08:00", "-03:30", "Europe/Berlin", "America/New_York"]),
)
def test_display_round_trips(ms: int, zone: str) -> None:
    assert parse_datetime(format_datetime(ms, zone)) == ms


def test_monotonic_clock_never_repeats() -> None:
    clock = MonotonicClock()
    seen: list[int] = []
    lock = threading.Lock()

    def take() -> None:
        values = [clock.now_ms() for _ in range(2000)]
        with lock:
            seen.extend(values)

    threads = [threading.Thread(target=take) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(seen)) == len(seen) == 8000
