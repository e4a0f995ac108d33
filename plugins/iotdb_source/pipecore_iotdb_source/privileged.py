"""The source running as a user (``user`` / ``username`` with ``password``, see
`pipecore.source_user`): its pattern narrowed to what the user may read.

`PrivilegedPattern` wraps the source's pattern: a series is taken when the pattern takes it
*and* the user holds the privilege on it — READ_DATA for data (tablets, files, deletions),
READ_SCHEMA for schema records. What the user may not read is skipped (IoTDB's
``skipif=no-privileges``, its default). A file whose devices the user does not wholly cover is
split and filtered like one the pattern does not wholly cover; ``loose-range`` never loosens
the path then. With ``skipif`` empty, data the user may not read fails the pipe instead
(schema is skipped all the same); START PIPE after a GRANT resumes from the last commit.
Privileges are read live (`pipecore.SourceReader`): a GRANT or REVOKE reaches a
running pipe within half a second.
"""

from __future__ import annotations

from typing import Any

import attrs

from pipecore import (
    SKIPIF_KEYS,
    PipeError,
    PipeParameterNotValidError,
    PipeParameters,
    SourceReader,
    source_credentials,
)

from .options import SourceOptions
from .patterns import SeriesPattern
from .schema import _reaches

__all__ = ["PrivilegedPattern", "check_skipif", "narrow_to_user"]

READ_DATA = "READ_DATA"
READ_SCHEMA = "READ_SCHEMA"
MANAGE_DATABASE = "MANAGE_DATABASE"
_SKIPIF_VALUES = frozenset({"", "no-privileges"})


class PrivilegedPattern(SeriesPattern):
    """`base` ∩ the paths on which the reader's user holds `privilege`. `strict`
    (``skipif`` empty, data only): a series the base takes but the user may not read fails
    the pipe (`PipeError`) instead of being skipped — START PIPE after a GRANT sends it."""

    def __init__(
        self, base: SeriesPattern, reader: SourceReader, privilege: str, *, strict: bool = False
    ) -> None:
        self.base, self.reader, self.privilege, self.strict = base, reader, privilege, strict
        self.text, self.key = base.text, base.key
        self.is_root = False
        self.allows_deletions = base.allows_deletions

    def _refuse(self, path: str) -> bool:
        if not self.strict:
            return False
        raise PipeError(
            f"iotdb-source: user {self.reader.user} has no privilege {self.privilege} on "
            f"{path} (skipif is empty: grant it, then START PIPE)"
        )

    def covers_device(self, device: str) -> bool:
        return self.base.covers_device(device) and self.reader.may(self.privilege, f"{device}.**")

    def may_match_device(self, device: str) -> bool:
        if not self.base.may_match_device(device):
            return False
        return self.strict or self.reader.may_reach(self.privilege, device)

    def matches(self, device: str, measurement: str) -> bool:
        if not self.base.matches(device, measurement):
            return False
        path = f"{device}.{measurement}"
        return self.reader.may(self.privilege, path) or self._refuse(path)

    def contains_pattern(self, pattern: str) -> bool:
        return self.base.contains_pattern(pattern) and self.reader.may(self.privilege, pattern)

    def reaches(self, database: str) -> bool:
        """Whether some series of `database` may be taken (for database, TTL and template
        records): the user may reach into it — or, for schema, holds MANAGE_DATABASE (IoTDB
        2.0's SYSTEM)."""
        if not _reaches(self.base, database):
            return False
        if self.privilege == READ_SCHEMA and self.reader.has_global(MANAGE_DATABASE):
            return True
        return self.reader.may_reach(self.privilege, database)


def check_skipif(parameters: PipeParameters) -> None:
    """``skipif``: ``no-privileges`` (the default: what the user may not read is skipped) or
    empty (data the user may not read fails the pipe, as in IoTDB)."""
    skipif = parameters.get_string_by_keys(*SKIPIF_KEYS)
    if skipif is not None and skipif.strip().lower() not in _SKIPIF_VALUES:
        raise PipeParameterNotValidError(
            f"iotdb-source: skipif={skipif!r} is not supported (no-privileges, or empty)"
        )


def narrow_to_user(
    parameters: PipeParameters, options: SourceOptions, users: Any, pipe: str
) -> tuple[SourceOptions, SourceOptions]:
    """(data options, schema options): `options` narrowed to what the source's user may
    read; `options` twice when the source names no user (or root)."""
    user, password = source_credentials(parameters.attributes)
    if not user:
        return options, options
    if users is None:
        raise PipeError(
            f"iotdb-source: cannot run as user {user}: this node has no users file", pipe
        )
    # checked again at each start (a node restart, START PIPE): a password changed since
    # stops the pipe until ALTER PIPE gives the new one, as in IoTDB
    if password is not None and not users.check(user, password).is_success:
        raise PipeError(f"Failed to check password for pipe {pipe}.", pipe)
    if user == "root":
        return options, options
    reader = SourceReader(user, users)
    skipif = parameters.get_string_by_keys(*SKIPIF_KEYS)
    strict = skipif is not None and not skipif.strip()
    history_loose = options.history_loose - {"path"}
    realtime_loose = options.realtime_loose - {"path"}
    data = attrs.evolve(
        options,
        pattern=PrivilegedPattern(options.pattern, reader, READ_DATA, strict=strict),
        history_loose=history_loose,
        realtime_loose=realtime_loose,
    )
    schema = attrs.evolve(
        options,
        pattern=PrivilegedPattern(options.pattern, reader, READ_SCHEMA),
        history_loose=history_loose,
        realtime_loose=realtime_loose,
    )
    return data, schema
