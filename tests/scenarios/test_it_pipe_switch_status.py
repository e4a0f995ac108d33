"""IoTDB's IoTDBPipeSwitchStatusIT (pipe/it/autocreate): START / STOP / DROP moving a pipe
between RUNNING and STOPPED, again and again, and on names that are no pipe's."""

from __future__ import annotations

import pytest
from it_pipe_admin import PIPE_ERROR, PIPE_NOT_EXIST_ERROR, failure, show_pipes, sink_sql, states

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]


def _create(sender, receiver, *names: str) -> None:
    for name in names:
        sender.execute(f"create pipe {name} with connector ({sink_sql(receiver)})")


def test_pipe_switch_status(auto_env) -> None:
    """testPipeSwitchStatus."""
    sender, receiver = auto_env
    _create(sender, receiver, "p1", "p2", "p3")
    assert states(sender) == {"p1": "RUNNING", "p2": "RUNNING", "p3": "RUNNING"}
    sender.execute("start pipe p1", "start pipe p2", "drop pipe p3")
    assert states(sender) == {"p1": "RUNNING", "p2": "RUNNING"}
    sender.execute("stop pipe p1", "drop pipe p2")
    assert states(sender) == {"p1": "STOPPED"}
    sender.execute("drop pipe p1")
    assert states(sender) == {}


def test_pipe_illegally_switch_status(auto_env) -> None:
    """testPipeIllegallySwitchStatus: a second CREATE of p1 is a PIPE_ERROR; START of a running
    pipe and STOP of a stopped one change nothing."""
    sender, receiver = auto_env
    _create(sender, receiver, "p1")
    assert states(sender) == {"p1": "RUNNING"}
    message = failure(sender, f"create pipe p1 with connector ({sink_sql(receiver)})")
    assert message.startswith(f"{PIPE_ERROR}:"), message
    assert states(sender) == {"p1": "RUNNING"}
    sender.execute("start pipe p1")
    assert states(sender) == {"p1": "RUNNING"}
    sender.execute("stop pipe p1")
    assert states(sender) == {"p1": "STOPPED"}
    sender.execute("stop pipe p1")
    assert states(sender) == {"p1": "STOPPED"}


def test_drop_pipe_and_create_again(auto_env) -> None:
    """testDropPipeAndCreateAgain: after DROP DATABASE and DROP PIPE the name is free."""
    sender, receiver = auto_env
    sender.execute("insert into root.db.d1(time,s1) values (1,1)")
    _create(sender, receiver, "p1")
    sender.execute("start pipe p1")
    assert states(sender) == {"p1": "RUNNING"}
    sender.execute("drop database root.**")
    sender.execute("drop pipe p1")
    assert show_pipes(sender) == []
    _create(sender, receiver, "p1")
    assert list(states(sender)) == ["p1"]


# IoTDB's IT also sends the empty name "" through the ConfigNode client; SQL cannot name it.
WRONG_NAMES = ["p0", "p", "`*`"]


def test_wrong_pipe_name(auto_env) -> None:
    """testWrongPipeName: START / STOP of no pipe's name is a PIPE_ERROR, DROP a
    PIPE_NOT_EXIST_ERROR (IoTDB 2.0.1 answers so through SQL too); p1 is untouched."""
    sender, receiver = auto_env
    _create(sender, receiver, "p1")

    def refused(verb: str, code: int) -> None:
        for name in WRONG_NAMES:
            message = failure(sender, f"{verb} pipe {name}")
            assert message.startswith(f"{code}:"), (verb, name, message)

    refused("start", PIPE_ERROR)
    assert states(sender) == {"p1": "RUNNING"}
    sender.execute("start pipe p1")
    assert states(sender) == {"p1": "RUNNING"}
    refused("stop", PIPE_ERROR)
    assert states(sender) == {"p1": "RUNNING"}
    sender.execute("stop pipe p1")
    assert states(sender) == {"p1": "STOPPED"}
    refused("drop", PIPE_NOT_EXIST_ERROR)
    assert states(sender) == {"p1": "STOPPED"}
    sender.execute("drop pipe p1")
    assert states(sender) == {}
