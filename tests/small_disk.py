"""A small disk for tests: a tmpfs the test mounts (root only), and filling it up."""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


@contextlib.contextmanager
def mounted_tmpfs(mnt: Path, size: str = "8m") -> Iterator[Path]:
    """Mount a tmpfs of `size` on `mnt` (skips the test, with the reason, where it cannot)."""
    mnt.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    r = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mnt)], capture_output=True
    )
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.decode().strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def free_bytes(path: Path) -> int:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def fill(path: Path, leave: int = 0) -> None:
    """Append to `path` until its disk has only `leave` bytes free (0: until ENOSPC)."""
    chunk = b"\xa5" * (64 << 10)
    with open(path, "ab", buffering=0) as f:
        while True:
            free = free_bytes(path.parent)
            if free <= leave:
                return
            try:
                f.write(chunk[: max(1, min(len(chunk), free - leave))])
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
                return
