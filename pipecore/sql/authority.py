"""Users, roles and privileges in SQL (IoTDB 1.3): the statements, their transformer
callbacks, their handlers, and the privilege check every statement passes first.

``CREATE USER u 'pwd'``, ``DROP USER u``, ``ALTER USER u SET PASSWORD 'pwd'``, ``CREATE ROLE
r``, ``DROP ROLE r``, ``GRANT privs ON paths TO USER|ROLE n [WITH GRANT OPTION]``, ``REVOKE privs
ON paths FROM USER|ROLE n``, ``GRANT ROLE r TO u``, ``REVOKE ROLE r FROM u``, ``LIST USER [OF
ROLE r]``, ``LIST ROLE [OF USER u]``, ``LIST PRIVILEGES OF USER u | OF ROLE r``.

`check_statement` refuses (803 NO_PERMISSION, IoTDB's message) a statement its user may not
run; `user` None means the in-process API (`Node.run` without a user), which is trusted.
The model itself is `pipecore.privileges`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path as FsPath
from typing import Any

import attrs
from lark import Token, v_args

from pipecore_storage.status import Status, TSStatusCode

from ..auth_records import PublishingAuthority
from ..privileges import (
    GLOBAL_PRIVILEGES,
    NO_PERMISSION_PROMPT,
    NOT_HAS_PRIVILEGE_GRANTOPT,
    ROOT,
    Authority,
    AuthorityError,
    expand,
    tsfile_series,
)
from . import statements as st
from .dataset import DataSet
from .outcome import DONE, Context, Outcome, StatementError
from .transform_terms import Located, Name, TermsMixin, unquote

__all__ = [
    "HANDLERS",
    "AlterUser",
    "AuthorityMixin",
    "CreateRole",
    "CreateUser",
    "DropRole",
    "DropUser",
    "GrantPrivileges",
    "GrantRole",
    "ListPrivileges",
    "ListRoles",
    "ListUsers",
    "RevokePrivileges",
    "RevokeRole",
    "authorize_files",
    "check_statement",
]

NO_PERMISSION = int(TSStatusCode.NO_PERMISSION)


# ---------------------------------------------------------------- statements
@attrs.frozen(kw_only=True)
class CreateUser(st.Statement):
    name: str
    password: str


@attrs.frozen(kw_only=True)
class DropUser(st.Statement):
    name: str


@attrs.frozen(kw_only=True)
class AlterUser(st.Statement):
    name: str
    password: str


@attrs.frozen(kw_only=True)
class CreateRole(st.Statement):
    name: str


@attrs.frozen(kw_only=True)
class DropRole(st.Statement):
    name: str


@attrs.frozen(kw_only=True)
class GrantPrivileges(st.Statement):
    privileges: tuple[str, ...]
    paths: tuple[str, ...]
    kind: str  # USER | ROLE
    name: str
    grant_option: bool = False


@attrs.frozen(kw_only=True)
class RevokePrivileges(st.Statement):
    privileges: tuple[str, ...]
    paths: tuple[str, ...]
    kind: str
    name: str


@attrs.frozen(kw_only=True)
class GrantRole(st.Statement):
    role: str
    user: str


@attrs.frozen(kw_only=True)
class RevokeRole(st.Statement):
    role: str
    user: str


@attrs.frozen(kw_only=True)
class ListUsers(st.Statement):
    role: str | None = None


@attrs.frozen(kw_only=True)
class ListRoles(st.Statement):
    user: str | None = None


@attrs.frozen(kw_only=True)
class ListPrivileges(st.Statement):
    kind: str
    name: str


# ---------------------------------------------------------------- parse tree -> statements
def _names(children: Iterable[Any]) -> list[str]:
    return [c.text for c in children if isinstance(c, Name)]


def _string(children: Iterable[Any]) -> str:
    return next(unquote(c) for c in children if isinstance(c, Token) and c.type == "STRING")


def _paths(children: Iterable[Any]) -> tuple[str, ...]:
    return tuple(str(c.value) for c in children if isinstance(c, Located))


def _kind(children: Iterable[Any]) -> str:
    return next(c for c in children if type(c) is str and c in ("USER", "ROLE"))


@v_args(meta=True)
class AuthorityMixin(TermsMixin):
    """Transformer callbacks of the grammar's users/roles block."""

    def _span(self, meta: Any) -> st.SourceSpan:  # provided by StatementBuilder
        raise NotImplementedError

    def create_user(self, meta: Any, children: list[Any]) -> CreateUser:
        (name,) = _names(children)
        return CreateUser(name=name, password=_string(children), span=self._span(meta))

    def drop_user(self, meta: Any, children: list[Any]) -> DropUser:
        (name,) = _names(children)
        return DropUser(name=name, span=self._span(meta))

    def alter_user(self, meta: Any, children: list[Any]) -> AlterUser:
        (name,) = _names(children)
        return AlterUser(name=name, password=_string(children), span=self._span(meta))

    def create_role(self, meta: Any, children: list[Any]) -> CreateRole:
        (name,) = _names(children)
        return CreateRole(name=name, span=self._span(meta))

    def drop_role(self, meta: Any, children: list[Any]) -> DropRole:
        (name,) = _names(children)
        return DropRole(name=name, span=self._span(meta))

    def privilege_list(self, meta: Any, children: list[Any]) -> list[str]:
        return [n.upper() for n in _names(children)]

    def grantee_kind(self, meta: Any, children: list[Token]) -> str:
        return str(children[0].type)

    def grant_option(self, meta: Any, children: list[Token]) -> bool:
        return True

    def grant_privileges(self, meta: Any, children: list[Any]) -> GrantPrivileges:
        privileges = tuple(next(c for c in children if isinstance(c, list)))
        (name,) = _names(children)
        return GrantPrivileges(
            privileges=privileges,
            paths=_paths(children),
            kind=_kind(children),
            name=name,
            grant_option=True in children,
            span=self._span(meta),
        )

    def revoke_privileges(self, meta: Any, children: list[Any]) -> RevokePrivileges:
        privileges = tuple(next(c for c in children if isinstance(c, list)))
        (name,) = _names(children)
        return RevokePrivileges(
            privileges=privileges,
            paths=_paths(children),
            kind=_kind(children),
            name=name,
            span=self._span(meta),
        )

    def grant_role(self, meta: Any, children: list[Any]) -> GrantRole:
        role, user = _names(children)
        return GrantRole(role=role, user=user, span=self._span(meta))

    def revoke_role(self, meta: Any, children: list[Any]) -> RevokeRole:
        role, user = _names(children)
        return RevokeRole(role=role, user=user, span=self._span(meta))

    def list_user(self, meta: Any, children: list[Any]) -> ListUsers:
        names = _names(children)
        return ListUsers(role=names[0] if names else None, span=self._span(meta))

    def list_role(self, meta: Any, children: list[Any]) -> ListRoles:
        names = _names(children)
        return ListRoles(user=names[0] if names else None, span=self._span(meta))

    def list_privileges(self, meta: Any, children: list[Any]) -> ListPrivileges:
        (name,) = _names(children)
        return ListPrivileges(kind=_kind(children), name=name, span=self._span(meta))


# ---------------------------------------------------------------- refusals
def _refusal(statement: st.Statement, status: Status) -> StatementError:
    return StatementError(
        status.message or "",
        statement.span.line,
        statement.span.column,
        status_code=int(status.code),
        sql=statement.sql,
    )


def _authority(ctx: Context) -> Authority:
    # changes go to the pipes too (inclusion auth): `pipecore.auth_records`
    return PublishingAuthority(ctx.node.users, getattr(ctx.node, "store", None))


def _need(ctx: Context, s: st.Statement, privilege: str, paths: Iterable[str] = ()) -> None:
    refused = _authority(ctx).check(getattr(ctx, "user", None), privilege, paths)
    if refused is not None:
        raise _refusal(s, refused)


def _run(s: st.Statement, action: Any, *args: Any, **kwargs: Any) -> Outcome:
    try:
        action(*args, **kwargs)
    except AuthorityError as exc:
        raise _refusal(s, exc.status()) from None
    return DONE


# ---------------------------------------------------------------- handlers
def _create_user(ctx: Context, s: CreateUser) -> Outcome:
    _need(ctx, s, "MANAGE_USER")
    return _run(s, _authority(ctx).create_user, s.name, s.password)


def _drop_user(ctx: Context, s: DropUser) -> Outcome:
    _need(ctx, s, "MANAGE_USER")
    return _run(s, _authority(ctx).drop_user, s.name)


def _alter_user(ctx: Context, s: AlterUser) -> Outcome:
    user = getattr(ctx, "user", None)
    if s.name == ROOT and user not in (None, ROOT):
        raise _refusal(s, Status(NO_PERMISSION, "Only root may change root's password"))
    if user != s.name:  # anyone may change their own password
        _need(ctx, s, "MANAGE_USER")
    return _run(s, _authority(ctx).alter_password, s.name, s.password)


def _create_role(ctx: Context, s: CreateRole) -> Outcome:
    _need(ctx, s, "MANAGE_ROLE")
    return _run(s, _authority(ctx).create_role, s.name)


def _drop_role(ctx: Context, s: DropRole) -> Outcome:
    _need(ctx, s, "MANAGE_ROLE")
    return _run(s, _authority(ctx).drop_role, s.name)


def _grant_role(ctx: Context, s: GrantRole) -> Outcome:
    _need(ctx, s, "MANAGE_ROLE")
    return _run(s, _authority(ctx).grant_role, s.role, s.user)


def _revoke_role(ctx: Context, s: RevokeRole) -> Outcome:
    _need(ctx, s, "MANAGE_ROLE")
    return _run(s, _authority(ctx).revoke_role, s.role, s.user)


def _check_grant_option(ctx: Context, s: GrantPrivileges | RevokePrivileges) -> None:
    """IoTDB 1.3: only who holds a privilege WITH GRANT OPTION may grant or revoke it."""
    user = getattr(ctx, "user", None)
    if user is None or user == ROOT:
        return
    authority = _authority(ctx)
    try:
        names = expand(s.privileges)
    except AuthorityError as exc:
        raise _refusal(s, exc.status()) from None
    for privilege in names:
        if privilege in GLOBAL_PRIVILEGES:
            allowed = authority.has_global(user, privilege, grant_option=True)
        else:
            allowed = not authority.uncovered(user, privilege, s.paths, grant_option=True)
        if not allowed:
            raise _refusal(
                s,
                Status(
                    NOT_HAS_PRIVILEGE_GRANTOPT,
                    f"{NO_PERMISSION_PROMPT}{privilege} with grant option",
                ),
            )


def _grant(ctx: Context, s: GrantPrivileges) -> Outcome:
    _check_grant_option(ctx, s)
    return _run(
        s,
        _authority(ctx).grant,
        s.kind,
        s.name,
        s.privileges,
        s.paths,
        grant_option=s.grant_option,
    )


def _revoke(ctx: Context, s: RevokePrivileges) -> Outcome:
    _check_grant_option(ctx, s)
    return _run(s, _authority(ctx).revoke, s.kind, s.name, s.privileges, s.paths)


def _names_table(header: str, names: list[str]) -> Outcome:
    return Outcome(data=DataSet.text((header,), [(n,) for n in names]))


def _list_users(ctx: Context, s: ListUsers) -> Outcome:
    authority, user = _authority(ctx), getattr(ctx, "user", None)
    try:
        if s.role is not None:
            _need(ctx, s, "MANAGE_ROLE")
            return _names_table("User", authority.list_users(s.role))
        if user is None or authority.has_global(user, "MANAGE_USER"):
            return _names_table("User", authority.list_users())
        return _names_table("User", [user])  # without MANAGE_USER: oneself
    except AuthorityError as exc:
        raise _refusal(s, exc.status()) from None


def _list_roles(ctx: Context, s: ListRoles) -> Outcome:
    authority, user = _authority(ctx), getattr(ctx, "user", None)
    try:
        if s.user is not None:
            if s.user != user:
                _need(ctx, s, "MANAGE_ROLE")
            return _names_table("Role", authority.list_roles(s.user))
        if user is None or authority.has_global(user, "MANAGE_ROLE"):
            return _names_table("Role", authority.list_roles())
        return _names_table("Role", authority.list_roles(user))
    except AuthorityError as exc:
        raise _refusal(s, exc.status()) from None


LIST_PRIVILEGES_COLUMNS = ("Role", "Path", "Privileges", "GrantOption")


def _list_privileges(ctx: Context, s: ListPrivileges) -> Outcome:
    authority, user = _authority(ctx), getattr(ctx, "user", None)
    try:
        if s.kind == "USER":
            if s.name != user:
                _need(ctx, s, "MANAGE_USER")
            rows = authority.privilege_rows(user=s.name)
        else:
            if user is not None and s.name not in authority.list_roles(user):
                _need(ctx, s, "MANAGE_ROLE")
            rows = authority.privilege_rows(role=s.name)
    except AuthorityError as exc:
        raise _refusal(s, exc.status()) from None
    return Outcome(
        data=DataSet.text(
            LIST_PRIVILEGES_COLUMNS, [(r, p, v, str(g).lower()) for r, p, v, g in rows]
        )
    )


HANDLERS: dict[type, Any] = {
    CreateUser: _create_user,
    DropUser: _drop_user,
    AlterUser: _alter_user,
    CreateRole: _create_role,
    DropRole: _drop_role,
    GrantPrivileges: _grant,
    RevokePrivileges: _revoke,
    GrantRole: _grant_role,
    RevokeRole: _revoke_role,
    ListUsers: _list_users,
    ListRoles: _list_roles,
    ListPrivileges: _list_privileges,
}


# ---------------------------------------------------------------- every statement's check
_PIPE_STATEMENTS = (
    st.CreatePipe,
    st.AlterPipe,
    st.DropPipe,
    st.StartPipe,
    st.StopPipe,
    st.ShowPipes,
    st.CreatePipePlugin,
    st.DropPipePlugin,
    st.ShowPipePlugins,
    st.CreatePipeSink,
    st.DropPipeSink,
    st.ShowPipeSinks,
    st.ShowPipeSinkTypes,
    st.CreateLegacyPipe,
)


def _selected(s: st.Select | st.SelectLast) -> list[str]:
    out = []
    for column in s.columns:
        selector = column.selector
        path = selector.path if isinstance(selector, st.AggregateCall) else selector
        if path.is_full:
            out.append(str(path))
        else:
            out.extend(str(prefix.concat(path)) for prefix in s.from_paths)
    return out


def _series_exists(ctx: Context, path: str) -> bool:
    try:
        return ctx.store.series(path) is not None
    except Exception:
        return False


def _write_checks(ctx: Context, s: st.Statement, series: list[str]) -> None:
    """WRITE_DATA on `series`, and WRITE_SCHEMA on those a write would create."""
    _need(ctx, s, "WRITE_DATA", series)
    new = [p for p in series if not _series_exists(ctx, p)]
    if new:
        _need(ctx, s, "WRITE_SCHEMA", new)


def required(s: st.Statement) -> tuple[str, list[str]] | None:
    """The privilege (and its paths) a statement needs before it runs; None for the
    statements that check themselves (authority statements, INSERT, LOAD)."""
    if isinstance(s, _PIPE_STATEMENTS):
        return "USE_PIPE", []
    if isinstance(s, st.CreateDatabase | st.DeleteDatabase):
        return "MANAGE_DATABASE", []
    if isinstance(s, st.Flush | st.LoadConfiguration):
        return "MAINTAIN", []
    if isinstance(s, st.Select | st.SelectLast):
        return "READ_DATA", _selected(s)
    if isinstance(
        s,
        st.ShowDatabases | st.CountDatabases | st.ShowTimeseries | st.CountTimeseries,
    ):
        return "READ_SCHEMA", [str(s.pattern)]
    if isinstance(s, st.ShowDevices | st.CountDevices):
        return "READ_SCHEMA", [str(s.pattern)]
    if isinstance(s, st.CreateTimeseries):
        return "WRITE_SCHEMA", [str(s.path)]
    if isinstance(s, st.CreateAlignedTimeseries):
        return "WRITE_SCHEMA", [str(s.device.child(m.name)) for m in s.measurements]
    if isinstance(s, st.DeleteTimeseries):
        return "WRITE_SCHEMA", [str(p) for p in s.paths]
    if isinstance(s, st.DeleteData):
        return "WRITE_DATA", [str(p) for p in s.paths]
    return None


def check_statement(ctx: Context, s: st.Statement) -> None:
    """Refuse (803) `s` when ``ctx.user`` may not run it."""
    user = getattr(ctx, "user", None)
    if user is None or user == ROOT or type(s) in HANDLERS:
        return
    need = required(s)
    if need is not None:
        _need(ctx, s, need[0], need[1])
    elif isinstance(s, st.Insert):
        _write_checks(ctx, s, [str(s.device.child(m)) for m in s.measurements])
    elif not isinstance(s, st.LoadTsFile):  # LOAD checks the files' series when it has them
        raise _refusal(s, Status(NO_PERMISSION, f"{NO_PERMISSION_PROMPT}ALL"))


def authorize_files(ctx: Context, s: st.Statement, files: Iterable[FsPath]) -> None:
    """LOAD (IoTDB: checked when the files are analysed): WRITE_DATA on every series of
    the files, WRITE_SCHEMA on those the load would create."""
    user = getattr(ctx, "user", None)
    if user is None or user == ROOT:
        return
    series: list[str] = []
    for file in files:
        try:
            series.extend(tsfile_series(file))
        except Exception:
            continue  # an unreadable file is refused by the load itself
    _write_checks(ctx, s, series)
