"""iotdb-source parameters: spellings, defaults, values, errors naming the key."""

from __future__ import annotations

import logging

import pytest

from pipecore import AUTH_PARTS, PipeParameterNotValidError, PipeParameters
from pipecore.timeparse import parse_datetime
from pipecore_iotdb_source import IoTDBPattern, PrefixPattern, parse_options
from pipecore_iotdb_source.options import MAX_TIME, MIN_TIME


def opts(**kv):
    return parse_options(PipeParameters(kv))


def bad(key_fragment: str, **kv) -> PipeParameterNotValidError:
    with pytest.raises(PipeParameterNotValidError) as info:
        parse_options(PipeParameters(kv))
    assert info.value.key is not None and key_fragment in info.value.key
    assert key_fragment in str(info.value)
    return info.value


def test_defaults():
    o = opts()
    assert isinstance(o.pattern, IoTDBPattern) and o.pattern.is_root
    assert (o.history_enabled, o.realtime_enabled, o.realtime_mode) == (True, True, "hybrid")
    assert (o.history_start, o.history_end) == (MIN_TIME, MAX_TIME)
    assert (o.realtime_start, o.realtime_end) == (MIN_TIME, MAX_TIME)
    assert o.forwarding and o.include_insert and not o.include_delete and not o.mods_enabled
    assert o.history_loose == o.realtime_loose == frozenset()


@pytest.mark.parametrize("prefix", ["source.", "extractor.", ""])
def test_every_key_in_every_spelling(prefix):
    o = parse_options(
        PipeParameters(
            {
                f"{prefix}history.enable": "false",
                f"{prefix}realtime.mode": "batch",
                f"{prefix}forwarding-pipe-requests": "false",
                f"{prefix}realtime.loose-range": "time",
                f"{prefix}history.loose-range": "all",
                f"{prefix}inclusion": "data",
                f"{prefix}path": "root.sg.**",
            }
        )
    )
    assert not o.history_enabled and o.realtime_mode == "batch" and not o.forwarding
    assert o.realtime_loose == {"time"} and o.history_loose == {"time", "path"}
    assert o.include_insert and o.include_delete and o.mods_enabled
    assert o.pattern.text == "root.sg.**"


@pytest.mark.parametrize(
    ("given", "mode"),
    [
        ("stream", "stream"),
        ("forced-log", "stream"),
        ("hybrid", "hybrid"),
        ("log", "hybrid"),
        ("batch", "batch"),
        ("file", "batch"),
        ("STREAM", "stream"),
    ],
)
def test_realtime_modes_as_iotdb_maps_them(given, mode):
    assert opts(**{"source.realtime.mode": given}).realtime_mode == mode


def test_bad_values_name_their_key():
    bad("source.realtime.mode", **{"source.realtime.mode": "fast"})
    bad("extractor.history.enable", **{"extractor.history.enable": "yes"})
    bad("forwarding-pipe-requests", **{"forwarding-pipe-requests": "1"})
    bad("source.start-time", **{"source.start-time": "yesterday"})
    bad("history.end-time", **{"history.end-time": "2023-13-40"})
    bad("realtime.loose-range", **{"realtime.loose-range": "time,space"})
    bad("source.inclusion", **{"source.inclusion": "data.update"})
    bad("source.path", **{"source.path": "sg.d1"})
    bad("pattern", pattern="root..d1")
    bad("pattern", pattern="sg")
    bad("pattern.format", pattern="root.sg", **{"pattern.format": "regex"})
    bad("mods.enable", **{"mods.enable": "on"})


def test_history_and_realtime_both_off_is_an_error():
    error = bad(
        "history.enable",
        **{"source.history.enable": "false", "source.realtime.enable": "false"},
    )
    assert "Should not set both history.enable and realtime.enable to false." in str(error)


def test_start_after_end_is_an_error():
    error = bad("start-time", **{"start-time": "100", "end-time": "99"})
    assert "end-time" in str(error)
    bad("history.start-time", **{"history.start-time": "5", "history.end-time": "4"})


def test_times_as_long_datetime_or_now():
    o = opts(
        **{
            "source.history.start-time": "2023.08.23T08:00:00+00:00",
            "source.history.end-time": "2023.10.23T08:00:00+00:00",
        }
    )
    assert o.history_start == parse_datetime("2023-08-23T08:00:00+00:00") == 1692777600000
    assert o.history_end == 1698048000000
    assert (o.realtime_start, o.realtime_end) == (MIN_TIME, MAX_TIME)  # history.* only
    o = opts(**{"start-time": "-5", "end-time": "now"})
    assert o.realtime_start == o.history_start == -5
    assert 1.6e12 < o.realtime_end == o.history_end < 1e14


def test_start_end_time_override_history_keys_and_turn_history_on(caplog):
    with caplog.at_level(logging.WARNING):
        o = opts(
            **{
                "history.enable": "false",
                "history.start-time": "1",
                "history.end-time": "2",
                "start-time": "10",
                "end-time": "20",
            }
        )
    assert o.history_enabled and (o.history_start, o.history_end) == (10, 20)
    assert (o.realtime_start, o.realtime_end) == (10, 20)
    assert "ignored" in caplog.text


def test_inclusion_and_exclusion():
    assert opts(inclusion="all").include_delete
    o = opts(inclusion="all", **{"inclusion.exclusion": "data.delete"})
    assert o.include_insert and not o.include_delete and not o.mods_enabled
    o = opts(inclusion="data.delete")
    assert not o.include_insert and o.include_delete
    error = bad("inclusion", inclusion="data", **{"inclusion.exclusion": "data"})
    assert "selects nothing" in str(error)
    bad("inclusion", inclusion="schema", **{"inclusion.exclusion": "schema"})


@pytest.mark.parametrize(
    ("inclusion", "parts"),
    [
        ("all", (True, True, True, True)),
        ("data", (True, True, False, False)),
        ("schema", (False, False, True, True)),
        ("schema.database", (False, False, True, False)),
        ("schema.timeseries", (False, False, False, True)),
        ("schema.timeseries.ordinary, data.insert", (True, False, False, True)),
    ],
)
def test_schema_inclusions(inclusion, parts):
    o = opts(inclusion=inclusion)
    assert (o.include_insert, o.include_delete, o.include_database, o.include_timeseries) == parts
    assert o.include_schema == (parts[2] or parts[3])


def test_template_inclusion():
    """schema.timeseries.template (and its IoTDB sub-parts) selects the schema templates."""
    for inclusion in ("schema.timeseries.template", "schema.timeseries.template.activate"):
        o = opts(inclusion=inclusion)
        assert o.include_template and not o.include_timeseries and o.include_schema
    assert opts(inclusion="schema").include_template
    assert not opts(inclusion="schema.timeseries.ordinary").include_template
    o = opts(inclusion="all", **{"inclusion.exclusion": "schema.timeseries.template"})
    assert not o.include_template and o.include_timeseries


def test_schema_exclusion():
    o = opts(inclusion="all", **{"inclusion.exclusion": "schema.database, data.delete"})
    assert (o.include_insert, o.include_delete, o.include_database, o.include_timeseries) == (
        True, False, False, True,
    )  # fmt: skip
    o = opts(inclusion="all", **{"inclusion.exclusion": "auth"})
    assert o.include_schema and not o.include_auth


@pytest.mark.parametrize(
    "inclusion",
    ["auth.user.grant.table", "auth.role.revoke.table", "schema.timeseries.view"],
)
def test_parts_without_a_counterpart_are_refused_by_name(inclusion):
    error = bad("inclusion", inclusion=f"data.insert, {inclusion}")
    assert f"inclusion {inclusion!r} is not supported by pipecore" in str(error)


def test_all_skips_what_has_no_counterpart_with_a_warning(caplog):
    with caplog.at_level(logging.WARNING):
        o = opts(inclusion="all")
    assert o.include_insert and o.include_schema and o.include_ttl
    assert "schema.ttl" not in caplog.text
    assert o.include_auth == frozenset(AUTH_PARTS)  # users, roles and privileges travel
    assert opts(inclusion="schema.ttl").include_ttl
    assert not opts(inclusion="schema", **{"inclusion.exclusion": "schema.ttl"}).include_ttl


def test_deletions_need_a_prefix_or_full_path():
    assert opts(inclusion="data", path="root.sg.d1.s1").include_delete
    assert opts(inclusion="data", path="root.sg.**").include_delete
    error = bad("path", inclusion="data", path="root.*.d1")
    assert "Only prefix or full path is allowed." in str(error)
    bad("pattern", inclusion="data", pattern="root.sg")


def test_path_wins_over_pattern_and_pattern_format(caplog):
    with caplog.at_level(logging.WARNING):
        o = opts(path="root.a.*", pattern="root.b")
    assert isinstance(o.pattern, IoTDBPattern) and o.pattern.text == "root.a.*"
    assert "is used" in caplog.text
    assert isinstance(opts(pattern="root.b").pattern, PrefixPattern)
    o = opts(pattern="root.b.**", **{"pattern.format": "iotdb"})
    assert isinstance(o.pattern, IoTDBPattern)


def test_snapshot_mode_turns_realtime_off():
    assert not opts(mode="snapshot").realtime_enabled
    assert not opts(**{"source.mode": "query"}).realtime_enabled
    assert opts(mode="live").realtime_enabled


def test_create_pipe_with_a_bad_parameter_fails_naming_it(tmp_path):
    from source_helpers import open_node

    node = open_node(tmp_path / "n")
    try:
        with pytest.raises(PipeParameterNotValidError) as info:
            node.create_pipe(
                "bad", {"source": "iotdb-extractor", "source.realtime.mode": "x"}, {}, {}
            )
        assert info.value.key == "source.realtime.mode"
        assert info.value.plugin_name == "IOTDB-SOURCE"
        assert [p.name for p in node.list_pipes()] == []
    finally:
        node.close()


@pytest.mark.parametrize(
    ("inclusion", "exclusion", "parts"),
    [
        ("auth", "", set(AUTH_PARTS)),
        ("auth.user", "", {p for p in AUTH_PARTS if p.startswith("auth.user.")}),
        ("auth", "auth.role", {p for p in AUTH_PARTS if p.startswith("auth.user.")}),
        ("auth.role.create, auth.user.drop", "", {"auth.role.create", "auth.user.drop"}),
        ("all", "auth.user.alter", set(AUTH_PARTS) - {"auth.user.alter"}),
        ("data", "", set()),
    ],
)
def test_auth_inclusion_leaves(inclusion, exclusion, parts):
    """IoTDB's auth tree (ConfigRegionListeningFilter): auth.<user|role>.<action>."""
    o = opts(inclusion=inclusion, **{"inclusion.exclusion": exclusion})
    assert o.include_auth == frozenset(parts)
    assert o.include_schema == bool(parts) or o.include_database


def test_auth_alone_is_enough():
    o = opts(inclusion="auth")
    assert not (o.include_insert or o.include_delete or o.include_database)
    bad("inclusion", inclusion="auth", **{"inclusion.exclusion": "auth"})
    bad("inclusion", inclusion="auth.user.nothing")
