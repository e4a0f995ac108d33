"""Small durable-file helpers shared by the store's modules."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from .errors import PipecoreError

__all__ = [
    "UnsafeNameError",
    "atomic_write",
    "child_path",
    "fsync_dir",
    "fsync_file",
    "write_all",
    "writev_all",
]


class UnsafeNameError(PipecoreError, ValueError):
    """A name that cannot be used as one folder or file name inside another folder."""


def child_path(parent: Path | str, name: str, what: str = "name") -> Path:
    """``parent / name`` for a name that comes from a user (a pipe, plugin, file name).

    Refuses — with UnsafeNameError naming `what` — anything that is not exactly one ordinary
    path component: empty, ``.``, ``..``, a separator, NUL, or an absolute path. This is the
    one place such names become paths, so no name can ever point outside `parent` (``lib / "/"``
    would be ``/``; a recursive delete of it must be impossible).
    """
    if (
        not isinstance(name, str)
        or name in ("", ".", "..")
        or "/" in name
        or "\\" in name
        or "\x00" in name
        or os.path.isabs(name)
    ):
        raise UnsafeNameError(f"illegal {what} {name!r}: not a single plain file name")
    parent = Path(parent)
    child = parent / name
    if child.parent != parent:  # belt and braces: never anything but a direct child
        raise UnsafeNameError(f"illegal {what} {name!r}")
    return child


def fsync_dir(path: Path | str) -> None:
    """fsync a directory so that a rename or a new file in it survives a power loss."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_file(path: Path | str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_all(fd: int, data: bytes | bytearray | memoryview) -> None:
    """os.write until every byte is handed to the operating system."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


try:
    _IOV_MAX = max(16, os.sysconf("SC_IOV_MAX"))
except (AttributeError, ValueError, OSError):  # pragma: no cover - not on Linux
    _IOV_MAX = 16


def writev_all(fd: int, buffers: Sequence[bytes | bytearray | memoryview]) -> int:
    """Write `buffers` in order without joining them (os.writev, at most IOV_MAX per call,
    continued after a partial write); returns the number of bytes written. A memoryview may
    have any item format (its bytes are written)."""
    bufs = list(buffers)
    sizes = [b.nbytes if type(b) is memoryview else len(b) for b in bufs]
    total = sum(sizes)
    if not hasattr(os, "writev"):  # pragma: no cover - not on Linux
        for b in bufs:
            write_all(fd, memoryview(b).cast("B"))
        return total
    i, n = 0, len(bufs)
    while i < n:
        written = os.writev(fd, bufs[i : i + _IOV_MAX])
        while i < n and written >= sizes[i]:
            written -= sizes[i]
            i += 1
        if written:  # a partial write: the rest of this buffer first
            bufs[i] = memoryview(bufs[i]).cast("B")[written:]
            sizes[i] -= written
    return total


def atomic_write(path: Path, data: bytes, *, sync: bool = True, sync_dir: bool = True) -> None:
    """Write `path` through a temporary file and a rename: readers see old or new, never half.

    With `sync`, the data is fsynced before the rename and (`sync_dir`) the directory after.
    """
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        write_all(fd, data)
        if sync:
            os.fsync(fd)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)  # a full disk: leave no half-written temporary behind
        raise
    os.close(fd)
    os.replace(tmp, path)
    if sync and sync_dir:
        fsync_dir(path.parent)
