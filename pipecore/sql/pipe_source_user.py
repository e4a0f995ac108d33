"""CREATE / ALTER PIPE: the check of a source's own user and password
(`pipecore.source_user`), against the node's users file, before the pipe is made or changed.

ALTER PIPE checks the source section the pipe will have: the given one (REPLACE) or the
current one with the given keys merged in (MODIFY) — so ``MODIFY SOURCE ('password'='…')``
re-checks the user already set, and ``MODIFY SOURCE ('username'='u')`` on a pipe without a
password is refused (1107)."""

from __future__ import annotations

from collections.abc import Mapping

from ..errors import PipeDroppedError, PipeNotFoundError
from ..parameters import PipeParameters
from ..source_user import SourceUserError, check_sink_user, check_source_user
from .outcome import Context, StatementError
from .statements import AlterPipe, Statement

__all__ = ["check_alter", "check_create"]


def _check(
    ctx: Context,
    statement: Statement,
    attributes: Mapping[str, str],
    name: str,
    action: str,
    sink: Mapping[str, str] | None = None,
) -> None:
    users = getattr(ctx.node, "users", None)
    if users is None:
        return  # a node without a users file: the source refuses to run as a user
    try:
        check_source_user(
            attributes, users, pipe=name, action=action, session_user=ctx.user or "root"
        )
        if sink is not None:
            check_sink_user(sink, users, pipe=name)
    except SourceUserError as exc:
        raise StatementError(
            exc.message,
            statement.span.line,
            statement.span.column,
            status_code=exc.code,
            subject=name,
        ) from None  # the cause would carry nothing more, and never the password


def check_create(
    ctx: Context,
    statement: Statement,
    name: str,
    source: Mapping[str, str],
    sink: Mapping[str, str],
) -> None:
    """Refuse CREATE PIPE `name` whose source user has no or a wrong password (or whose
    write-back sink's has a wrong one)."""
    _check(ctx, statement, source, name, "create", sink)


def check_alter(ctx: Context, s: AlterPipe) -> None:
    """Refuse ALTER PIPE that leaves the source with a user without or with a wrong password."""
    try:
        current = ctx.node.get_pipe(s.name).source
    except (PipeNotFoundError, PipeDroppedError):
        return  # ALTER itself says the pipe does not exist (or IF EXISTS skips it)
    clause = s.source
    if clause is None:
        attributes = dict(current.attributes)
    elif clause.mode.upper() == "REPLACE":
        attributes = dict(clause.parameters)
    else:
        merged = PipeParameters(dict(current.attributes))
        attributes = dict(merged.add_or_replace_equivalent_attributes(clause.parameters).attributes)
    _check(ctx, s, attributes, s.name, "alter")
