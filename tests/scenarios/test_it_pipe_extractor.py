"""IoTDB's IoTDBPipeExtractorIT (pipe/it/autocreate): the older copy of IoTDBPipeSourceIT,
with `inclusion`=data; the shared steps live in test_it_pipe_source.py."""

from __future__ import annotations

import pytest
from it_pipe_admin import failure, pipe_count, sink_sql
from test_it_pipe_source import (
    history_and_realtime,
    history_loose_range,
    invalid_parameters,
    matching_multiple_databases,
    pattern_match,
    realtime_loose_range,
    start_and_end_time,
    time_range_match,
    valid_parameters,
)

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]


def test_extractor_valid_parameter(auto_env) -> None:
    """testExtractorValidParameter."""
    valid_parameters(*auto_env)


def test_extractor_invalid_parameter(auto_env) -> None:
    """testExtractorInvalidParameter."""
    invalid_parameters(*auto_env)


# IoTDBPipeExtractorIT's pattern cases with inclusion `data` (deletions included):
# IoTDB 2.0.1 refuses a prefix `pattern` that is no whole node path then (1107 "The path
# pattern ... is not valid for the source. Only prefix or full path is allowed."), and so does
# pipecore; IoTDBPipeSourceIT has the same cases with `data.insert`, which run.
@pytest.mark.parametrize(
    "pattern",
    [
        pytest.param("root.db1", id="testMatchingMultipleDatabases"),
        pytest.param("root.db.d1", id="testHistoryStartTimeAndEndTimeWorkingWithOrWithoutPattern"),
        pytest.param("root.db.d1", id="testSourceStartTimeAndEndTimeWorkingWithOrWithoutPattern"),
    ],
)
def test_prefix_pattern_with_deletions_refused(auto_env, pattern: str) -> None:
    sender, receiver = auto_env
    message = failure(
        sender,
        f"create pipe p1 with source ('extractor.pattern'='{pattern}', "
        f"'extractor.inclusion'='data') with connector ({sink_sql(receiver)})",
    )
    assert message.startswith("1107:"), message
    assert "Only prefix or full path is allowed." in message
    assert pipe_count(sender) == 0


def test_extractor_time_range_match(auto_env) -> None:
    """testExtractorTimeRangeMatch."""
    time_range_match(*auto_env)


def test_extractor_pattern_match(auto_env) -> None:
    """testExtractorPatternMatch (`extractor.*` keys, inclusion data.insert)."""
    pattern_match(*auto_env, "extractor")


def test_history_and_realtime(auto_env) -> None:
    """testHistoryAndRealtime."""
    history_and_realtime(*auto_env, "extractor")


def test_history_loose_range(auto_env) -> None:
    """testHistoryLooseRange."""
    history_loose_range(*auto_env)


def test_realtime_loose_range(auto_env) -> None:
    """testRealtimeLooseRange."""
    realtime_loose_range(*auto_env)


# the dual/treemodel (2.x) IoTDBPipeExtractorIT runs these with inclusion `data.insert`
def test_matching_multiple_databases(auto_env) -> None:
    """testMatchingMultipleDatabases."""
    matching_multiple_databases(*auto_env, "data.insert")


def test_history_start_time_and_end_time_working_with_or_without_pattern(auto_env) -> None:
    """testHistoryStartTimeAndEndTimeWorkingWithOrWithoutPattern."""
    start_and_end_time(*auto_env, "data.insert", history=True)


def test_source_start_time_and_end_time_working_with_or_without_pattern(auto_env) -> None:
    """testSourceStartTimeAndEndTimeWorkingWithOrWithoutPattern."""
    start_and_end_time(*auto_env, "data.insert", history=False)
