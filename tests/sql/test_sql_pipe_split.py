"""`pipecore.sql.pipe_split.split_full`: which CREATE PIPE sources IoTDB's auto split makes
two pipes of (IoTDBPipeAutoSplitIT), and what each half takes."""

from __future__ import annotations

import pytest

from pipecore.sql.pipe_split import split_full


def test_a_full_insert_pipe_splits_in_two() -> None:
    pipes = dict(split_full("a2b", {"source.inclusion": "all"}))
    assert pipes == {
        "a2b_history": {"source.inclusion": "all", "realtime.enable": "false"},
        "a2b_realtime": {"source.inclusion": "all", "history.enable": "false"},
    }
    assert [n for n, _ in split_full("p", {})] == ["p_history", "p_realtime"]


def test_a_given_switch_is_replaced_not_doubled() -> None:
    pipes = dict(split_full("p", {"extractor.realtime.enable": "true"}))
    assert pipes["p_history"] == {"realtime.enable": "false"}
    assert pipes["p_realtime"] == {"extractor.realtime.enable": "true", "history.enable": "false"}


@pytest.mark.parametrize(
    "source",
    [
        {"inclusion": "schema"},
        {"source.inclusion": "data.delete"},
        {"source.inclusion": "data", "source.inclusion.exclusion": "data.insert"},
        {"inclusion": "all", "inclusion.exclusion": "data"},
        {"realtime.enable": "false"},
        {"source.history.enable": "FALSE"},
    ],
)
def test_other_pipes_are_made_as_given(source: dict[str, str]) -> None:
    assert split_full("p", source) == [("p", source)]
