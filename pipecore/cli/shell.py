"""``pipecore sql``: run statements from ``-e``, a file, standard input, or an interactive
prompt, against an embedded node or a running server, printing what IoTDB's CLI prints.

A script is parsed whole first (a syntax error anywhere runs nothing), then run statement by
statement; the first statement that fails stops it — the statements before it stay done —
and the exit code is 1. At the prompt, a statement runs when it is complete (``;`` or a
complete statement at the end of a line; `pipecore.sql.is_complete`), otherwise the prompt
asks for more lines; ``quit`` / ``exit`` / Ctrl-D leave, Ctrl-C drops the lines typed so far.
The prompt has a history file (``~/.pipecore_history``, or ``PIPECORE_HISTFILE``) and
completes keywords with Tab.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TextIO

from pipecore_storage.errors import PipecoreError

from ..logins import mask_passwords
from ..sql import Statement, grammar_text, is_complete, parse_script
from ..sql.errors import SqlError
from ..sql.outcome import Outcome
from ..timeparse import ZoneLike

__all__ = ["EmbeddedTarget", "RemoteTarget", "Target", "keywords", "repl", "run_script"]

PROMPT = "pipecore> "
CONTINUATION = "       -> "
HISTORY_LENGTH = 1000


class Target(Protocol):
    """Where statements run: `run` returns an `Outcome` or raises an error with
    ``iotdb_message()``."""

    def run(self, statement: Statement) -> Outcome: ...

    def close(self) -> None: ...


class EmbeddedTarget:
    """A node opened in this process (``--data-dir``)."""

    def __init__(self, node: Any, zone: ZoneLike = None) -> None:
        self.node, self.zone = node, zone

    def run(self, statement: Statement) -> Outcome:
        outcome: Outcome = self.node.run(statement, zone=self.zone)
        return outcome

    def close(self) -> None:
        self.node.close()


class RemoteTarget:
    """A running server (``-h host -p port``), through `pipecore.cli.remote.RemoteSession`."""

    def __init__(self, session: Any) -> None:
        self.session = session

    def run(self, statement: Statement) -> Outcome:
        outcome: Outcome = self.session.run(statement.sql)
        return outcome

    def close(self) -> None:
        self.session.close()


def _message(exc: BaseException) -> str:
    describe = getattr(exc, "iotdb_message", None)
    return f"Msg: {describe() if callable(describe) else exc}"


def run_script(
    target: Target,
    text: str,
    zone: ZoneLike = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> bool:
    """Run every statement of `text`, printing each result; False after the first failure."""
    out, err = out or sys.stdout, err or sys.stderr
    try:
        statements = parse_script(text, zone=zone)
    except SqlError as exc:
        print(_message(exc), file=err, flush=True)
        return False
    for statement in statements:
        started = time.perf_counter()
        try:
            outcome = _run(target, statement, zone)
        except (SqlError, PipecoreError, OSError) as exc:
            print(_message(exc), file=err, flush=True)
            return False
        elapsed = time.perf_counter() - started
        print(outcome.table(zone, elapsed).render(), file=out, flush=True)
    return True


def _run(target: Target, statement: Statement, zone: ZoneLike) -> Outcome:
    """Run a statement; a long LOAD shows a progress bar on a terminal (`pipecore.cli.progress`)."""
    if type(statement).__name__ == "LoadTsFile":
        from .progress import load_with_progress, wants_progress

        if wants_progress(target, statement):
            return load_with_progress(target, statement, zone)  # type: ignore[arg-type]
    return target.run(statement)


# ---------------------------------------------------------------- the interactive prompt
def keywords() -> list[str]:
    """The keywords of pipecore's SQL (from the grammar), upper case, sorted."""
    found = re.findall(r"^([A-Z_]+)\.\d+: /(\w+)/i", grammar_text(), flags=re.MULTILINE)
    return sorted({word.upper() for _, word in found})


def _completer(words: list[str]) -> Callable[[str, int], str | None]:
    def complete(text: str, state: int) -> str | None:
        upper = text.upper()
        matches = [w if text[:1].isupper() or not text else w.lower() for w in words]
        matches = [m + " " for m, w in zip(matches, words, strict=True) if w.startswith(upper)]
        return matches[state] if state < len(matches) else None

    return complete


def _history_file() -> Path:
    return Path(os.environ.get("PIPECORE_HISTFILE") or Path.home() / ".pipecore_history")


def _setup_readline() -> Any:
    try:
        import readline
    except ImportError:  # pragma: no cover - no readline on this platform
        return None
    readline.set_completer(_completer(keywords()))
    readline.set_completer_delims(" \t\n;(),=.'\"")
    if "libedit" in (readline.__doc__ or ""):  # pragma: no cover - macOS
        readline.parse_and_bind("bind ^I rl_complete")
    else:
        readline.parse_and_bind("tab: complete")
    readline.set_history_length(HISTORY_LENGTH)
    path = _history_file()
    if path.exists():
        with contextlib.suppress(OSError):
            readline.read_history_file(str(path))
    return readline


def _save_history(readline: Any) -> None:
    if readline is None:
        return
    with contextlib.suppress(OSError):
        path = _history_file()
        readline.write_history_file(str(path))
        os.chmod(path, 0o600)


def _forget_secrets(readline: Any, lines: list[str]) -> None:
    """Passwords never reach the history: a statement holding one (a pipe's password
    parameter, CREATE USER, ALTER USER … SET PASSWORD) is kept there masked."""
    if readline is None:
        return
    text = "\n".join(lines)
    masked = mask_passwords(text)
    if masked == text:
        return
    with contextlib.suppress(Exception):
        for line in reversed(lines):
            last = readline.get_current_history_length()
            if last > 0 and readline.get_history_item(last) == line:
                readline.remove_history_item(last - 1)
        readline.add_history(" ".join(masked.split("\n")))


def repl(target: Target, zone: ZoneLike = None, banner: str | None = None) -> int:
    """The interactive prompt; returns 1 when a statement failed during the session."""
    readline = _setup_readline()
    if banner:
        print(banner, flush=True)
    failed = False
    lines: list[str] = []
    try:
        while True:
            try:
                line = input(CONTINUATION if lines else PROMPT)
            except EOFError:
                print(flush=True)
                break
            except KeyboardInterrupt:
                print("^C", flush=True)
                lines = []
                continue
            if not lines and line.strip().rstrip(";").strip().lower() in ("quit", "exit"):
                break
            lines.append(line)
            text = "\n".join(lines)
            if text.strip() and not is_complete(text):
                continue
            _forget_secrets(readline, lines)
            lines = []
            if text.strip() and not run_script(target, text, zone):
                failed = True
    finally:
        _save_history(readline)
    return 1 if failed else 0
