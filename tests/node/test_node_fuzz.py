"""Nothing crashes or hangs a node: every input runs, or is refused with a position.

More than 10,000 inputs in all — sentences derived from the grammar (which parse, and then
run), garbage (which mostly does not parse) and meaningful scripts over a few databases and
series (INSERT, SELECT, DELETE, schema and pipe statements that mostly run, sometimes clash) —
go to one node through `Node.execute_script`'s
path: parse, then run statement by statement. Every input must either run, or raise an
`SqlError` whose line and column lie inside the text; a failure while running must be one
pipecore anticipated (no ``internal`` error, i.e. no unexpected exception turned into status
305), and no statement may take long. After all of it, the node still answers.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from strategies import node_scripts, sql_garbage, sql_sentences

from pipecore import Node
from pipecore.sql import SqlError, parse_script
from pipecore.sql.outcome import StatementError
from pipecore.sql.statements import CreatePipePlugin, LoadTsFile

GRAMMAR_EXAMPLES = int(os.environ.get("NODE_FUZZ_GRAMMAR", 6_000))
GARBAGE_EXAMPLES = int(os.environ.get("NODE_FUZZ_GARBAGE", 4_000))
SCRIPT_EXAMPLES = int(os.environ.get("NODE_FUZZ_SCRIPTS", 1_500))
SLOW = 5.0  # seconds for one statement (typical: well under 10 ms)
CHEAP = {
    # fsync-free: the fuzz node measures the executor, not the disk
    "wal_mode": "DISABLE",
    "pipe_auto_restart_enabled": False,
}


@pytest.fixture(scope="module")
def fuzz_node(tmp_path_factory) -> Iterator[Node]:
    # in memory where the machine has a tmpfs: thousands of schema changes, each fsynced
    memory = Path("/dev/shm")
    with contextlib.ExitStack() as stack:
        if memory.is_dir() and os.access(memory, os.W_OK):
            base = Path(stack.enter_context(tempfile.TemporaryDirectory(dir=memory)))
        else:
            base = Path(tmp_path_factory.mktemp("fuzz"))
        previous = os.getcwd()
        os.chdir(base)  # relative paths in generated statements stay inside base
        stack.callback(os.chdir, previous)
        yield stack.enter_context(Node.open(base / "node", CHEAP))


def _check_position(text: str, error: SqlError) -> None:
    lines = text.split("\n")
    assert 1 <= error.line <= len(lines), (text, str(error))
    assert 1 <= error.column <= len(lines[error.line - 1]) + 1, (text, str(error))
    assert str(error).startswith(f"line {error.line}:{error.column} ")


def _reaches_outside(node: Node, statement: object) -> bool:
    """LOAD and CREATE PIPEPLUGIN read (and with onSuccess=delete, remove) the files they
    name: a generated absolute path may name anything on this machine. Such statements are
    parsed but not run; relative paths resolve inside the fuzz node's folder (the cwd)."""
    target = getattr(statement, "path", None) if isinstance(statement, LoadTsFile) else None
    if isinstance(statement, CreatePipePlugin):
        target = statement.uri
    if not isinstance(target, str) or "\x00" in target:
        return False  # a path with a NUL byte names no file: run it (the node must refuse it)
    resolved = (Path.cwd() / target).resolve() if target else Path.cwd()
    return not resolved.is_relative_to(node.data_dir.parent)


def _run(node: Node, text: str) -> None:
    try:
        statements = parse_script(text)
    except SqlError as error:
        _check_position(text, error)
        return
    for statement in statements:
        if _reaches_outside(node, statement):
            continue
        started = time.monotonic()
        try:
            node.run(statement)
        except SqlError as error:
            assert not (isinstance(error, StatementError) and error.internal), (
                f"{statement.sql!r} crashed: {error}"
            )
            _check_position(text, error)
        elapsed = time.monotonic() - started
        assert elapsed < SLOW, f"{statement.sql!r} took {elapsed:.1f} s"


_SETTINGS = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
    "database": None,
}


@settings(max_examples=GRAMMAR_EXAMPLES, **_SETTINGS)  # type: ignore[arg-type]
@given(text=sql_sentences())
def test_grammar_sentences_run_or_are_refused(fuzz_node: Node, text: str) -> None:
    _run(fuzz_node, text)


@settings(max_examples=GARBAGE_EXAMPLES, **_SETTINGS)  # type: ignore[arg-type]
@given(text=sql_garbage())
def test_garbage_is_refused_with_a_position(fuzz_node: Node, text: str) -> None:
    _run(fuzz_node, text)


@settings(max_examples=SCRIPT_EXAMPLES, **_SETTINGS)  # type: ignore[arg-type]
@given(text=node_scripts())
def test_meaningful_scripts_run_or_are_refused(fuzz_node: Node, text: str) -> None:
    _run(fuzz_node, text)


def test_the_node_still_answers_afterwards(fuzz_node: Node) -> None:
    fuzz_node.execute("INSERT INTO root.after_fuzz.d(time, s) VALUES (1, 1)")
    assert fuzz_node.execute("SELECT s FROM root.after_fuzz.d").rows[0][1] == "1.0"
