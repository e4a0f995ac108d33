"""Progress bars of ``pipecore sql`` for long statements: ``LOAD`` of a directory or a large
TsFile (rich's progress bar, on standard error, only when that is a terminal).

* A directory: ``pipecore sql`` lists its ``.tsfile``s (sorted, as the node does) and runs one
  ``LOAD`` per file with the statement's options — the same files in the same order, each
  loaded whole, as the node's own loop — advancing a bar by files and bytes. It does this only
  where it sees the node's files: an embedded node (``--data-dir``) or a server on this
  machine (``-h 127.0.0.1`` / ``localhost``); otherwise the statement runs unchanged.
* One file of at least `LARGE_FILE_BYTES`: the store does not report progress inside a file,
  so the bar shows the file's size and the time elapsed until the LOAD returns.

The result printed is the one of a single LOAD.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from ..sql import LoadTsFile, Statement, parse_statement
from ..sql.outcome import Outcome

__all__ = ["LARGE_FILE_BYTES", "load_with_progress", "wants_progress"]

#: a single file at least this large gets a bar
LARGE_FILE_BYTES = 32 << 20
_LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def _console() -> Console:
    return Console(file=sys.stderr)


def _sees_files(target: Any) -> bool:
    session = getattr(target, "session", None)
    if session is None:
        return True  # embedded
    client = getattr(session, "client", None)
    return str(getattr(client, "host", "")) in _LOCAL_HOSTS


def wants_progress(target: Any, statement: Statement) -> bool:
    """A LOAD of a directory or a large file, on a terminal, whose files we can see."""
    if not isinstance(statement, LoadTsFile) or not _console().is_terminal:
        return False
    if not _sees_files(target):
        return False
    path = Path(statement.path).expanduser()
    try:
        return path.is_dir() or (path.is_file() and path.stat().st_size >= LARGE_FILE_BYTES)
    except OSError:
        return False


def _tsfiles(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*.tsfile") if p.is_file() and not p.is_symlink())


def _options(statement: LoadTsFile) -> str:
    return " ".join(f"{k}={v}" for k, v in statement.options.items())


def load_with_progress(target: Any, statement: LoadTsFile, zone: Any = None) -> Outcome:
    """Run the LOAD with a bar; its outcome (or its error, raised)."""
    path = Path(statement.path).expanduser()
    console = _console()
    if path.is_file():
        return _one_large_file(target, statement, path, console)
    files = _tsfiles(path)
    if not files:  # the node's refusal, with its message
        outcome: Outcome = target.run(statement)
        return outcome
    sizes = [os.path.getsize(f) for f in files]
    columns = (
        TextColumn("LOAD {task.fields[done]}/{task.fields[count]} files"), BarColumn(),
        DownloadColumn(), TimeElapsedColumn(),
    )  # fmt: skip
    result: Outcome | None = None
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("load", total=sum(sizes), done=0, count=len(files))
        for i, (file, size) in enumerate(zip(files, sizes, strict=True)):
            quoted = str(file).replace("'", "\\'")
            text = f"LOAD '{quoted}' {_options(statement)}".strip()
            result = target.run(parse_statement(text, zone=zone))
            progress.update(task, advance=size, done=i + 1)
    assert result is not None
    return result


def _one_large_file(target: Any, statement: LoadTsFile, path: Path, console: Console) -> Outcome:
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(target.run(statement))
        except BaseException as exc:
            outcome.append(exc)

    size = path.stat().st_size
    columns = (
        SpinnerColumn(), TextColumn(f"LOAD {path.name} ({size / (1 << 20):,.1f} MiB)"),
        BarColumn(), TimeElapsedColumn(),
    )  # fmt: skip
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("load", total=None)
        worker = threading.Thread(target=run, name="pipecore-load", daemon=True)
        worker.start()
        while worker.is_alive():
            worker.join(0.1)
            progress.refresh()
        progress.update(task, total=1, completed=1)
    result = outcome[0]
    if isinstance(result, BaseException):
        raise result
    assert isinstance(result, Outcome)
    return result
