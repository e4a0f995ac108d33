"""TTL (time to live) of a node: path patterns and how long their data stays visible.

IoTDB 1.3.3's model (kept in 2.0): a TTL is set on a path pattern — ``SET TTL TO root.db
3600000`` on a database sets it on ``root.db`` and ``root.db.**`` (both listed by SHOW ALL
TTL, as IoTDB 2.0.1 does), ``SET TTL TO root.db.d1.** …`` on that
pattern, ``SET TTL TO root.db.d1 …`` on that device alone —; the TTL of a device is the
one of the most specific pattern that matches it (the one with the most non-wildcard nodes,
then the longest), else none (``INF``). Data older than ``now − TTL`` is hidden from every
query (the store's `retention` hook, `Store.set_retention`); sealed files keep it until they
go (pipecore drops no data for a TTL).

The table is persisted in ``<data_dir>/system/ttl.json`` and its changes are published to
the store's schema subscribers (`Store.publish_schema`) as records ``{"op": "set_ttl",
"path": "root.db", "ttl": ms, "database": bool}`` (``ttl`` −1: unset; ``database``:
set on a database, IoTDB's SetTTL ``isDataBase``), so a pipe with ``schema.ttl``
carries them; `snapshot_records` is a pipe's history of them.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from pipecore_storage.origin import CLIENT, Origin
from pipecore_storage.paths import join_pattern, split_path

from .errors import PipecoreError

__all__ = ["TTL_INFINITE", "TTLError", "TTLTable", "ttl_table"]

TTL_INFINITE = (1 << 63) - 1  # Long.MAX_VALUE: no TTL ("INF")
TTL_UNSET = -1
ILLEGAL_PARAMETER = 701  # SEMANTIC_ERROR: IoTDB's answer to a TTL <= 0
ILLEGAL_PATH = 411


def ttl_table(store: Any) -> TTLTable | None:
    """The TTL table attached to `store` (its retention hook's owner; None when none)."""
    owner = getattr(getattr(store, "retention", None), "__self__", None)
    return owner if isinstance(owner, TTLTable) else None


class TTLError(PipecoreError, ValueError):
    """A TTL statement IoTDB refuses; `code` is its status code."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def _nodes(path: str) -> tuple[str, ...]:
    try:
        return tuple(split_path(path, allow_wildcards=True))
    except (ValueError, PipecoreError) as exc:
        raise TTLError(ILLEGAL_PATH, f"{path} is not a legal path: {exc}") from None


def normalize(path: str, database: bool = False) -> tuple[str, ...]:
    """The patterns a TTL is kept on: a database ``root.db`` (or ``root.db.**`` with
    `database`) -> ``root.db`` and ``root.db.**`` (IoTDB 2.0's SHOW ALL TTL lists both); a
    device or a pattern as it is."""
    nodes = _nodes(path)
    if not nodes or nodes[0] != "root":
        raise TTLError(ILLEGAL_PATH, f"{path} is not a legal path: it must start with root")
    if not database:
        return (join_pattern(nodes),)
    base = nodes[:-1] if nodes[-1] == "**" else nodes
    return (join_pattern(base), join_pattern((*base, "**")))


def _match(pattern: tuple[str, ...], device: tuple[str, ...]) -> bool:
    """Whether a device path matches a pattern (``*`` one node, ``**`` one or more)."""
    if not pattern:
        return not device
    head, rest = pattern[0], pattern[1:]
    if head == "**":
        return any(_match(rest, device[i:]) for i in range(1, len(device) + 1))
    if not device:
        return False
    if head != "*" and head != device[0]:
        return False
    return _match(rest, device[1:])


def _specificity(pattern: tuple[str, ...]) -> tuple[int, int]:
    return (sum("*" not in n for n in pattern), len(pattern))


class TTLTable:
    """The TTLs of one node; thread-safe."""

    def __init__(self, path: Path, store: Any = None) -> None:
        self.path = path
        self.store = store
        self._lock = threading.RLock()
        self.ttls: dict[str, int] = {}
        self._cache: dict[str, int | None] = {}
        self.clock = lambda: int(time.time() * 1000)
        if path.exists():
            data = json.loads(path.read_text("utf-8"))
            self.ttls = {str(k): int(v) for k, v in data.get("ttl", {}).items()}
        if store is not None:
            store.set_retention(self.visible_from)

    @classmethod
    def for_data_dir(cls, data_dir: str | os.PathLike[str], store: Any = None) -> TTLTable:
        return cls(Path(data_dir) / "system" / "ttl.json", store)

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"ttl": self.ttls}, indent=1), "utf-8")
        os.replace(tmp, self.path)

    def _publish(self, record: dict, origin: Origin | None) -> None:
        publish = getattr(self.store, "publish_schema", None)
        if publish is not None:
            publish([record], origin=origin or CLIENT)

    # ------------------------------------------------------------ changes
    def set(
        self, path: str, ttl: int, *, database: bool = False, origin: Origin | None = None
    ) -> str:
        """Set `ttl` ms on `path` (`database`: on it and ``path.**``); the first pattern is
        returned. ``TTL_INFINITE`` keeps it as INF."""
        if ttl <= 0:
            raise TTLError(ILLEGAL_PARAMETER, "TTL should be positive.")
        patterns = normalize(path, database)
        with self._lock:
            for pattern in patterns:
                self.ttls[pattern] = int(ttl)
            self._cache.clear()
            self._save()
        # published outside the table's lock: publish_schema takes the store's lock, and the
        # table's lock is never held while waiting for the store's
        record = {"op": "set_ttl", "path": patterns[0], "ttl": int(ttl), "database": database}
        self._publish(record, origin)
        return patterns[0]

    def unset(self, path: str, *, database: bool = False, origin: Origin | None = None) -> bool:
        """Remove the TTL of `path`; False when it had none (not an error, as in IoTDB)."""
        patterns = normalize(path, database)
        with self._lock:
            had = [p for p in patterns if self.ttls.pop(p, None) is not None]
            if had:
                self._cache.clear()
                self._save()
        record = {"op": "set_ttl", "path": patterns[0], "ttl": TTL_UNSET, "database": database}
        self._publish(record, origin)
        return bool(had)

    def forget_under(self, database: str) -> None:
        """A database was deleted: the TTLs at or below it go with it."""
        prefix = _nodes(database)
        with self._lock:
            gone = [p for p in self.ttls if _nodes(p)[: len(prefix)] == prefix]
            for p in gone:
                del self.ttls[p]
            if gone:
                self._cache.clear()
                self._save()

    # ------------------------------------------------------------ reading
    def ttl_of(self, device: str) -> int | None:
        """The TTL (ms) of a device, None when it has none."""
        with self._lock:
            if device in self._cache:
                return self._cache[device]
            nodes = _nodes(device)
            best: tuple[tuple[int, int], int] | None = None
            for pattern, ttl in self.ttls.items():
                try:
                    p = _nodes(pattern)
                except TTLError:  # never stored by `set` (its text is canonical): skipped
                    continue
                if _match(p, nodes) and (best is None or _specificity(p) > best[0]):
                    best = (_specificity(p), ttl)
            found = None if best is None or best[1] == TTL_INFINITE else best[1]
            self._cache[device] = found
            return found

    def visible_from(self, device: str) -> int | None:
        """The earliest time of `device` a query returns now (None: all of it)."""
        if not self.ttls:
            return None
        ttl = self.ttl_of(device)
        return None if ttl is None else self.clock() - ttl

    def rows(self, path: str | None = None) -> list[tuple[str, str]]:
        """SHOW ALL TTL (`path` None) / SHOW TTL ON path: (pattern, "INF" | ms) rows, the
        default ``root.**`` first when it is shown."""
        with self._lock:
            table = dict(self.ttls)
        table.setdefault("root.**", TTL_INFINITE)
        if path is not None:
            wanted = _nodes(path)
            table = {p: t for p, t in table.items() if _nodes(p)[: len(wanted)] == wanted}
        ordered = sorted(table, key=lambda p: (p != "root.**", p))
        return [(p, "INF" if table[p] == TTL_INFINITE else str(table[p])) for p in ordered]

    def snapshot_records(self) -> list[dict]:
        """The TTLs as ``set_ttl`` records (a pipe's history)."""
        with self._lock:
            return [{"op": "set_ttl", "path": p, "ttl": t} for p, t in sorted(self.ttls.items())]
