"""A TsFile the same sender sends again: record its newer deletions, do not load it twice.

IoTDB 2.0.1 can send one sealed TsFile twice — its historical and its realtime source both
capture a file when the pipe starts while the file is being sealed — and the two copies can
differ in their ``.mods2``: one taken before a ``DELETE`` reached the file, one after. The
``DeleteDataNode`` itself goes at once, ahead of both. A receiver that loads every copy (IoTDB's
does) keeps the deleted points whenever a copy without the deletion is loaded: the stale copy's
points outlive the deletion recorded against the other copy (each file's mods apply to that
file only). See docs/interop.md ("the DELETE race").

A sealed TsFile never changes, only its mods grow, so the receiver keys what it loaded by
(sender's cluster id, file name, file length) and, when the same file — byte for byte — comes
again while the copy it loaded is untouched (same mods, no newer data over it, still in the
store), records the new copy's deletions against the loaded copy instead of loading a second
one (`Store.record_file_deletions`). Anything else — other bytes under the same name, a copy
that was changed, dropped or split over several databases, an asynchronous load — loads the
file again, as IoTDB does. Loading an untouched identical file again would change no query
result, so skipping it is safe whatever the sender meant by sending it twice.

The index is in memory (the newest `capacity` files): a duplicate that spans a restart of this
node is loaded again.
"""

from __future__ import annotations

import contextlib
import filecmp
import threading
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs

from pipecore_storage.mods import Deletion, read_mods

__all__ = ["LoadedCopy", "ResentFiles", "file_key"]

Key = tuple[str, str, int]


def file_key(sender: str | None, tsfile: Path) -> Key | None:
    """(sender, name, length) of a received TsFile; None without a sender's cluster id."""
    if not sender:
        return None
    try:
        return (sender, tsfile.name, tsfile.stat().st_size)
    except OSError:
        return None


@attrs.frozen
class LoadedCopy:
    """Where a received TsFile went: the store's file (a byte copy) and its mods then."""

    path: Path
    mods: tuple[Deletion, ...]


class ResentFiles:
    """The TsFiles this node's receivers loaded, by `file_key` (thread-safe, bounded)."""

    def __init__(self, capacity: int = 4096) -> None:
        self.capacity = capacity
        self._copies: OrderedDict[Key, LoadedCopy] = OrderedDict()
        self._lock = threading.Lock()
        self._busy: dict[Key, list[Any]] = {}  # key -> [lock, users]
        #: duplicates whose deletions went to the loaded copy (for tests and SHOW-style stats)
        self.merged = 0

    @contextlib.contextmanager
    def exclusive(self, key: Key) -> Iterator[None]:
        """Held around look-up, load and `remember` of one key: two copies of a file sent on
        two connections at once are handled one after the other."""
        with self._lock:
            entry = self._busy.setdefault(key, [threading.Lock(), 0])
            entry[1] += 1
        try:
            with entry[0]:
                yield
        finally:
            with self._lock:
                entry[1] -= 1
                if entry[1] == 0:
                    self._busy.pop(key, None)

    def remember(self, key: Key, loaded: Any) -> None:
        copy = LoadedCopy(Path(loaded.path), tuple(loaded.mods))
        with self._lock:
            self._copies[key] = copy
            self._copies.move_to_end(key)
            while len(self._copies) > self.capacity:
                self._copies.popitem(last=False)

    def forget(self, key: Key) -> None:
        with self._lock:
            self._copies.pop(key, None)

    def merge(self, key: Key, store: Any, tsfile: Path, mods: Path | None) -> bool:
        """True when `tsfile` was loaded before from the same sender and its deletions (from
        `mods`) are now recorded against that copy; False: load it (nothing was changed)."""
        with self._lock:
            copy = self._copies.get(key)
        if copy is None:
            return False
        if not _same_bytes(copy.path, tsfile):  # another file of that name, or a split copy
            return False
        deletions = read_mods(mods) if mods is not None else []
        after = store.record_file_deletions(copy.path, deletions, copy.mods)
        if after is None:
            self.forget(key)
            return False
        with self._lock:
            self._copies[key] = attrs.evolve(copy, mods=tuple(after))
            self.merged += 1
        return True


def _same_bytes(a: Path, b: Path) -> bool:
    try:
        return filecmp.cmp(a, b, shallow=False)
    except OSError:
        return False
