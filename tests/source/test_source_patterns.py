"""Prefix and IoTDB path patterns, tablet filtering, and deletions applied to file rows."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from source_helpers import tablet_points
from strategies import tablets

from pipecore_iotdb_source import IoTDBPattern, PrefixPattern, apply_deletions, filter_tablet
from pipecore_storage import MeasurementSchema, Tablet
from pipecore_storage.mods import Deletion


def test_prefix_pattern_is_a_string_prefix_as_in_iotdb():
    p = PrefixPattern("root.sg.d1.s")
    assert p.matches("root.sg.d1", "s1") and p.matches("root.sg.d1", "s")
    assert not p.matches("root.sg.d1", "t1")
    assert not p.covers_device("root.sg.d1") and p.may_match_device("root.sg.d1")
    assert not p.may_match_device("root.sg.d2")
    q = PrefixPattern("root.sg.d")  # a string prefix: d1 and d10 as well as d
    assert q.covers_device("root.sg.d1") and q.covers_device("root.sg.d10")
    assert q.matches("root.sg.d", "x") and not q.matches("root.sh.d", "x")
    assert PrefixPattern("root").is_root and PrefixPattern("root.").is_root


def test_prefix_pattern_compares_paths_as_iotdb_writes_them():
    """IoTDBPipeSourceIT.testExtractorPatternMatch: the prefix is compared with the path as
    IoTDB prints it (`1(TS)` and `6` back-quoted); a back-quoted last node is a whole node."""
    devices = ["root.na.1TS", "root.na.100TS", "root.na.`1(TS)`", "root.na.6TS.`6`"]
    assert [d for d in devices if PrefixPattern("root.na.1").covers_device(d)] == devices[:2]
    assert not any(PrefixPattern("root.na.`1`").may_match_device(d) for d in devices)
    assert [d for d in devices if PrefixPattern("root.na.`1(TS)`").covers_device(d)] == [
        "root.na.`1(TS)`"
    ]
    six = PrefixPattern("root.na.6TS.`6`.`s_text(1)`")
    assert six.matches("root.na.6TS.`6`", "s_text(1)")
    assert not six.matches("root.na.6TS.`6`", "s_int(1)")
    assert PrefixPattern("root.na.6TS.`6`").covers_device("root.na.6TS.`6`")
    assert PrefixPattern("root.sg.`d1`").covers_device("root.sg.d1")  # needless quotes


def test_iotdb_pattern_nodes_and_wildcards():
    p = IoTDBPattern("root.*.d1.s*")
    assert p.matches("root.sg.d1", "s2") and not p.matches("root.sg.d1", "t")
    assert not p.matches("root.a.b.d1", "s1")  # * is one node
    assert p.may_match_device("root.x.d1") and not p.covers_device("root.x.d1")
    q = IoTDBPattern("root.sg.**")
    assert q.covers_device("root.sg.d1") and q.covers_device("root.sg.a.b")
    assert not q.may_match_device("root.sh.d1") and not q.is_root
    r = IoTDBPattern("root.**.s1")
    assert r.matches("root.a.b.c", "s1") and not r.covers_device("root.a")
    assert IoTDBPattern("root.**").is_root


def test_which_deletions_lie_inside_a_pattern():
    prefix = IoTDBPattern("root.sg.**")
    assert prefix.contains_pattern("root.sg.d1.s1") and prefix.contains_pattern("root.sg.**")
    assert prefix.contains_pattern("root.sg.*.s1")
    assert not prefix.contains_pattern("root.**") and not prefix.contains_pattern("root.*.d1")
    full = IoTDBPattern("root.sg.d1.s1")
    assert full.contains_pattern("root.sg.d1.s1") and not full.contains_pattern("root.sg.d1.*")
    assert IoTDBPattern("root.**").contains_pattern("root.*.x")


_DEVICES = st.sampled_from(["root.sg.d1", "root.sg.d10", "root.t.d1", "root.sg.x.d1", "root.a"])
_PATTERNS = st.sampled_from(
    [
        IoTDBPattern("root.**"),
        IoTDBPattern("root.sg.**"),
        IoTDBPattern("root.*.d1.*"),
        IoTDBPattern("root.**.s1"),
        PrefixPattern("root.sg.d"),
        PrefixPattern("root.sg.d1.s"),
        PrefixPattern("root.t"),
    ]
)


@settings(max_examples=80, deadline=None)
@given(
    tablet=tablets(max_rows=12, max_columns=3, devices=_DEVICES),
    pattern=_PATTERNS,
    start=st.integers(-50, 50),
    width=st.integers(0, 100),
)
def test_filter_tablet_keeps_exactly_the_matching_points(tablet, pattern, start, width):
    end = start + width
    kept = filter_tablet(tablet, pattern, start, end)
    expected = {
        k: v
        for k, v in tablet_points(tablet)
        if pattern.matches(tablet.device, k[0].rsplit(".", 1)[1]) and start <= k[1] <= end
    }
    got = dict(tablet_points(kept)) if kept is not None else {}
    assert _same(got, expected)
    if kept is not None:
        assert kept.row_count > 0


@settings(max_examples=40, deadline=None)
@given(tablet=tablets(max_rows=12, max_columns=3, devices=_DEVICES), pattern=_PATTERNS)
def test_loose_keeps_whole_tablets_that_may_match(tablet, pattern):
    kept = filter_tablet(tablet, pattern, -1, 1, frozenset({"time", "path"}))
    times = tablet.timestamps
    overlaps = tablet.row_count and times.min() <= 1 and times.max() >= -1
    if pattern.may_match_device(tablet.device) and overlaps:
        assert kept is tablet
    else:
        assert kept is None


def _same(a: dict, b: dict) -> bool:
    if a.keys() != b.keys():
        return False
    return all(x == y or (x != x and y != y) for x, y in ((a[k], b[k]) for k in a))


def test_deletions_turn_points_into_nulls_and_drop_empty_rows():
    t = np.arange(10, dtype=np.int64)
    tablet = Tablet(
        "root.sg.d1",
        [MeasurementSchema("s1", "INT64"), MeasurementSchema("s2", "INT64")],
        t,
        [t, t * 2],
    )
    out = apply_deletions(
        tablet, (Deletion("root.sg.d1.s1", 0, 4), Deletion("root.sg.*.*", 8, 100))
    )
    assert out is not None
    assert dict(tablet_points(out)) == {
        **{("root.sg.d1.s1", i): i for i in range(5, 8)},
        **{("root.sg.d1.s2", i): 2 * i for i in range(8)},
    }
    assert out.timestamps.tolist() == list(range(8))  # rows 8, 9 lost every value
    assert apply_deletions(tablet, (Deletion("root.**", 0, 9),)) is None
    assert apply_deletions(tablet, ()) is tablet
