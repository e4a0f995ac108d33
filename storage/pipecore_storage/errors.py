"""The error root of pipecore and the storage-side errors.

`PipecoreError` is the one root every pipecore error derives from; `pipecore` (the core)
re-exports it. Each subclass also derives from the builtin it behaves like, and carries what
failed (a path, a byte offset, a series) as attributes, not only in its message.
"""

from __future__ import annotations

__all__ = [
    "CorruptFileError",
    "PinError",
    "PipecoreError",
    "SchemaError",
    "StoreClosedError",
    "StoreConfigError",
    "UnsupportedFormatError",
]


class PipecoreError(Exception):
    """Root of every error pipecore raises on purpose."""


class CorruptFileError(PipecoreError, ValueError):
    """A file (TsFile, WAL segment, catalog, mods) cannot be parsed.

    `path` names the file and `offset` the byte offset where parsing failed (None when the
    failure is not tied to one position).
    """

    def __init__(self, path: object, offset: int | None, reason: str) -> None:
        self.path = str(path) if path is not None else None
        self.offset = offset
        self.reason = reason
        where = f" at byte {offset}" if offset is not None else ""
        super().__init__(f"{self.path or '<bytes>'}: corrupt{where}: {reason}")


class UnsupportedFormatError(PipecoreError, ValueError):
    """A well-formed input uses a feature pipecore does not implement (say, LZO pages)."""


class SchemaError(PipecoreError, ValueError):
    """A write or a schema change contradicts the schema (unknown series, wrong type, ...).

    `path` names the series or device concerned.
    """

    def __init__(self, message: str, path: str | None = None) -> None:
        self.path = path
        super().__init__(message)


class StoreClosedError(PipecoreError, RuntimeError):
    """An operation on a store (or writer) that has been closed."""


class StoreConfigError(PipecoreError, ValueError):
    """A store configuration key is unknown or has a bad value; `key` names it."""

    def __init__(self, key: str, message: str) -> None:
        self.key = key
        super().__init__(f"store configuration {key}: {message}")


class PinError(PipecoreError, ValueError):
    """A pin names a file that is not a sealed file of the store, or an illegal pipe name."""
