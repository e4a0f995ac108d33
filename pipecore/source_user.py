"""A pipe source's own user (``source.user`` / ``source.username`` with ``source.password``).

IoTDB (after 2.0.1) lets an ``iotdb-source`` run as a user of the sending node: the source
then hands on only what that user may read — data of the series it holds READ_DATA on, schema
of the paths it holds READ_SCHEMA on; the rest is skipped (``skipif=no-privileges``, the
default). CREATE / ALTER PIPE check the credentials first:

* a user without a password: 701 (CREATE) / 1107 (ALTER) ``Failed to create|alter pipe p, in
  iotdb-source, password must be set when the username is specified.``;
* a wrong password or an unknown user: 801 ``Failed to check password for pipe p.`` (also
  for a ``write-back-sink`` given ``user`` and ``password``, as IoTDB; the sink itself does
  not write as that user).

Without a user the source runs as root (everything). The user running the statement names
itself without a password (it is logged in already; IoTDB's own ITs create such pipes through
the ConfigNode, which does not ask). The password is a secret parameter
(`pipecore.parameters.is_secret_key`): masked in SHOW PIPES and logs, sealed in the pipe's
meta. This module is the kernel's part: the parameter keys, the check (given the node's users
file, which the SQL layer passes in), and `SourceReader`, the privilege test the source plugin
uses (built from the users file it finds in ``RuntimeConfiguration.shared[USERS_KEY]``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from pipecore_storage.status import Status

from .parameters import PipeParameters
from .privileges import ROOT, Authority, pattern_covers, split

__all__ = [
    "PASSWORD_KEYS",
    "SKIPIF_KEYS",
    "USER_KEYS",
    "SourceReader",
    "SourceUserError",
    "check_sink_user",
    "check_source_user",
    "source_credentials",
    "takes_source_user",
]

USER_KEYS = (
    "source.username",
    "extractor.username",
    "username",
    "source.user",
    "extractor.user",
    "user",
)
PASSWORD_KEYS = ("source.password", "extractor.password", "password")
SKIPIF_KEYS = ("source.skipif", "extractor.skipif", "skipif")
_SOURCE_KEYS = ("source", "extractor")
_IOTDB_SOURCES = frozenset({"iotdb-source", "iotdb-extractor"})
_SINK_KEYS = ("sink", "connector")
_WRITE_BACK_SINKS = frozenset({"write-back-sink", "write-back-connector"})
_SINK_USER_KEYS = (
    "sink.username",
    "connector.username",
    "username",
    "sink.user",
    "connector.user",
    "user",
)
_SINK_PASSWORD_KEYS = ("sink.password", "connector.password", "password")

ILLEGAL_PARAMETER = 701
PIPE_ERROR = 1107
WRONG_LOGIN_PASSWORD = 801


class PasswordCheck(Protocol):
    """What the check needs of a node's users file (`pipecore.server.users.UserStore`)."""

    def check(self, username: str, password: str) -> Status: ...


class SourceUserError(Exception):
    """A refused source user: IoTDB's status `code` and message."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def takes_source_user(attributes: Mapping[str, str]) -> bool:
    """Whether the source section names IoTDB's own source (the one that knows ``user``)."""
    kind = PipeParameters(dict(attributes)).get_string_by_keys(*_SOURCE_KEYS)
    return kind is None or kind.strip().lower() in _IOTDB_SOURCES


def source_credentials(attributes: Mapping[str, str]) -> tuple[str | None, str | None]:
    """(user, password) the source section gives (None for what it does not). ``username``
    spellings come before ``user`` ones."""
    parameters = PipeParameters(dict(attributes))
    user = parameters.get_string_by_keys(*USER_KEYS)
    password = parameters.get_string_by_keys(*PASSWORD_KEYS)
    return (user.strip() if user is not None else None), password


def takes_sink_user(attributes: Mapping[str, str]) -> bool:
    """Whether the sink section names the write-back sink (which writes as its ``user``)."""
    kind = PipeParameters(dict(attributes)).get_string_by_keys(*_SINK_KEYS)
    return kind is not None and kind.strip().lower() in _WRITE_BACK_SINKS


def sink_credentials(attributes: Mapping[str, str]) -> tuple[str | None, str | None]:
    """(user, password) of a write-back sink section."""
    parameters = PipeParameters(dict(attributes))
    user = parameters.get_string_by_keys(*_SINK_USER_KEYS)
    password = parameters.get_string_by_keys(*_SINK_PASSWORD_KEYS)
    return (user.strip() if user is not None else None), password


def check_sink_user(attributes: Mapping[str, str], users: PasswordCheck, *, pipe: str) -> None:
    """Refuse (801) a write-back sink whose given user and password do not log in."""
    if not takes_sink_user(attributes):
        return
    user, password = sink_credentials(attributes)
    if user and password is not None and not users.check(user, password).is_success:
        raise SourceUserError(WRONG_LOGIN_PASSWORD, f"Failed to check password for pipe {pipe}.")


def check_source_user(
    attributes: Mapping[str, str],
    users: PasswordCheck,
    *,
    pipe: str,
    action: str,
    session_user: str | None = None,
) -> None:
    """Refuse (`SourceUserError`) a source section whose user lacks a password or whose
    password is wrong; `action` is ``"create"`` or ``"alter"`` (the code of a missing
    password: 701 / 1107). The statement's own `session_user` (already logged in) needs no
    password; a given one is checked all the same."""
    if not takes_source_user(attributes):
        return
    user, password = source_credentials(attributes)
    if not user:
        return
    if password is None and user == session_user:
        return
    if password is None:
        raise SourceUserError(
            ILLEGAL_PARAMETER if action == "create" else PIPE_ERROR,
            f"Failed to {action} pipe {pipe}, in iotdb-source, password must be set when the "
            "username is specified.",
        )
    if not users.check(user, password).is_success:
        raise SourceUserError(WRONG_LOGIN_PASSWORD, f"Failed to check password for pipe {pipe}.")


class SourceReader:
    """What the source's `user` may read, from the node's users file (`users`: anything with
    ``document()``). Privileges are read again at most every `refresh_s` seconds, so a GRANT or
    REVOKE reaches a running pipe within that time. Thread-safe."""

    def __init__(
        self,
        user: str,
        users: Any,
        *,
        refresh_s: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.user = user
        self._authority = Authority(users)
        self._refresh_s = refresh_s
        self._clock = clock
        self._lock = threading.Lock()
        self._read_at: float | None = None
        self._grants: dict[str, list[tuple[str, ...]]] = {}
        self._memo: dict[tuple[str, str], bool] = {}

    @property
    def is_root(self) -> bool:
        return self.user == ROOT

    def _patterns(self, privilege: str) -> list[tuple[str, ...]]:
        now = self._clock()
        with self._lock:
            if self._read_at is None or now - self._read_at >= self._refresh_s:
                grants: dict[str, list[tuple[str, ...]]] = {}
                for _, held in self._authority._holdings(self.user):
                    for path, privileges in held.items():
                        for name in privileges:  # path "": a global privilege
                            grants.setdefault(name, []).append(split(path) if path else ())
                if grants != self._grants:
                    self._memo.clear()
                self._grants = grants
                self._read_at = now
            return self._grants.get(privilege, [])

    def has_global(self, privilege: str) -> bool:
        """Whether the user holds the global privilege (MANAGE_DATABASE, …)."""
        return self.is_root or () in self._patterns(privilege)

    def may(self, privilege: str, path: str) -> bool:
        """Whether the user holds the path privilege on every path `path` (a series or a
        pattern such as ``root.sg.d.**``) names."""
        if self.is_root:
            return True
        patterns = self._patterns(privilege)
        key = (privilege, path)
        found = self._memo.get(key)
        if found is None:
            nodes = split(path)
            found = any(g and pattern_covers(g, nodes) for g in patterns)
            self._memo[key] = found
        return found

    def may_reach(self, privilege: str, prefix: str) -> bool:
        """Whether the user may hold the privilege on some path at or below `prefix` (a
        device or database path)."""
        if self.is_root:
            return True
        nodes = split(prefix)
        return any(g and _overlaps(g, nodes) for g in self._patterns(privilege))


def _overlaps(granted: tuple[str, ...], prefix: tuple[str, ...]) -> bool:
    """Whether `granted` may match some path that is `prefix` or below it."""
    for i, node in enumerate(prefix):
        if i >= len(granted):
            return False
        g = granted[i]
        if g == "**":
            return True
        if g != node and not (g == "*" or ("*" in g and pattern_covers((g,), (node,)))):
            return False
    return True
