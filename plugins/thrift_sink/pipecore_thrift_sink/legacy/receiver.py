"""The receiver of IoTDB 1.0/1.1's sync tool on the node's RPC port (IoTDB's ``ReceiverManager``,
kept by 1.3/2.0 as ``IoTDBLegacyPipeReceiverAgent``): one `LegacySyncReceiver` per connection.

The calls and their answers (IoTDB 1.1.2, read from its jar; seeds 000/001):

* ``handshake(TSyncIdentityInfo)`` — the sender's address must be in ``ip_white_list``, its
  major version must be one whose layouts this receiver speaks (``1.0``, ``1.1``), else
  PIPESERVER_ERROR (1108) with IoTDB's message; a pipe name that cannot be a folder name is
  ILLEGAL_PARAMETER (700, IoTDB 2.0's check). Success starts a new sync connection (new offset
  records) and creates the database the sender names, when it is not there.
* ``sendFile(TSyncTransportMetaInfo(fileName, startIndex), buff)`` — appended to
  ``<fileName>.patch`` in the sender's folder. The offset rules: the next index is what this
  connection wrote last, else the length of a finished ``<fileName>`` there, else the file is
  new and must start at 0. Any other startIndex is answered SYNC_FILE_REDIRECTION_ERROR (1104)
  with the index to continue from as the message; the sender seeks there. A failed write is
  SYNC_FILE_ERROR (1105). A new connection (a reconnect after a cut) has no records, so a
  half-sent file starts again at 0 (pipecore truncates the ``.patch`` then).
* ``sendPipeData(buff)`` — a `TsFilePipeData`: the file's ``.patch`` pieces (the TsFile and the
  ``.mods`` / ``.resource`` sent with it) are renamed and the TsFile is LOADed with its
  deletions; a `DeletionPipeData`: ``DELETE FROM path WHERE start <= time <= end``.
  Undecodable data or a failed load is PIPESERVER_ERROR (1108).
* ``sendFile`` / ``sendPipeData`` before a handshake: IoTDB throws "Thrift connection is not
  alive."; the reply is a Thrift exception (INTERNAL_ERROR) with that message.

Written data is marked as received by a pipe (``Origin.pipe(None)``: the sync tool has no
cluster id), so a pipe of this node does not send it back unless it forwards pipe requests.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from pipecore import LEGACY_SYNC_TRANSPORT
from pipecore.rpc import ConnectionContext, Status, TSStatusCode
from pipecore.rpc.thrift import TApplicationException, TSStatus, status_to_thrift
from pipecore_storage.errors import (
    CorruptFileError,
    SchemaError,
    StoreClosedError,
    UnsupportedFormatError,
)
from pipecore_storage.origin import Origin

from ..protocol.errors import PipeProtocolError
from ..receiver import ReceiverSettings
from .codec import DeletionPipeData, TsFilePipeData, decode_pipe_data

__all__ = ["ACCEPTED_MAJOR_VERSIONS", "LegacySyncReceiver", "accepts_version", "major_version"]

log = logging.getLogger("pipecore.legacy_receiver")

#: the sync tool versions whose layouts this receiver reads (1.0.1 and 1.1.2 are the same)
ACCEPTED_MAJOR_VERSIONS = ("1.0", "1.1")
PATCH_SUFFIX = ".patch"
NOT_ALIVE = "Thrift connection is not alive."
_ORIGIN = Origin.pipe(None)


def major_version(version: str) -> str:
    """IoTDB's ``getIoTDBMajorVersion``: ``1.1.2`` -> ``1.1``; UNKNOWN stays; a version
    without a dot is returned as it is (it matches nothing)."""
    parts = version.split(".")
    return version if version == "UNKNOWN" or len(parts) < 2 else f"{parts[0]}.{parts[1]}"


def accepts_version(version: str) -> bool:
    """Whether a sender of `version` may sync: 1.0 and later. IoTDB 1.3 and 2.x's legacy
    receiver checks no version at all (their iotdb-legacy-pipe-sink sends its own, e.g. 1.3,
    and IoTDB's IoTDBPipeDataSinkIT.testLegacyConnector relies on it); the layouts are those
    of 1.0/1.1 whatever it says. Versions before 1.0 (0.13's sync) and junk are refused."""
    head = major_version(version).split(".")[0]
    return head.isdigit() and int(head) >= 1 and "." in version


def _status(code: int, message: str = "") -> TSStatus:
    return status_to_thrift(Status(code, message))


def _bad_name(name: str | None) -> str | None:
    """Why `name` cannot be a file or folder name here (None: it can)."""
    if not name:
        return "it is empty"
    if name in (".", "..") or any(c in name for c in "/\\\0"):
        return "it is not a plain file name"
    if len(name.encode("utf-8")) > 255:
        return "it is longer than 255 bytes"
    return None


class LegacySyncReceiver:
    """The sync-tool calls of one connection (the RPC server calls them from the connection's
    thread only)."""

    def __init__(self, settings: ReceiverSettings, context: ConnectionContext) -> None:
        self.settings = settings
        self.address = context.remote_address[0]
        self.remote = context.remote
        self.identity: Any = None  # the TSyncIdentityInfo of the last successful handshake
        self.folder: Path | None = None
        self.offsets: dict[str, int] = {}  # file name -> next index, this sync connection
        self.connection: Any = None

    # ------------------------------------------------------------------ handshake
    def handshake(self, info: Any) -> TSStatus:
        self.identity, self.folder, self.offsets = None, None, {}
        registry = self.settings.registry
        if registry is not None and self.connection is None:
            self.connection = registry.open(LEGACY_SYNC_TRANSPORT, self.remote)
        log.info("sync-tool handshake from %s: %s", self.remote, info)
        white_list = self.settings.white_list
        if not white_list.allows(self.address):
            return self._refuse(
                TSStatusCode.PIPESERVER_ERROR,
                f"permission is not allowed: the sender IP <{self.address}>, the white list "
                f"of receiver <{white_list}> (ip_white_list)",
                "white_list",
            )
        version = str(info.version or "")
        if not accepts_version(version):
            return self._refuse(
                TSStatusCode.PIPESERVER_ERROR,
                f"version mismatch: the sender <{version}>, the receiver "
                f"<{', '.join(ACCEPTED_MAJOR_VERSIONS)} or later>",
                "version",
            )
        bad = _bad_name(info.pipeName)
        if bad is not None:
            return self._refuse(
                TSStatusCode.ILLEGAL_PARAMETER,
                f"Invalid pipe name {info.pipeName!r}: {bad}",
                "other",
            )
        folder = (
            self.settings.base_dir / "legacy" / f"{self.address}_{info.pipeName}_{info.createTime}"
        )
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            return self._refuse(TSStatusCode.PIPESERVER_ERROR, f"{exc.strerror}", "other")
        database = info.database or ""
        if database and not self._register_database(database):
            return self._refuse(
                TSStatusCode.PIPESERVER_ERROR, f"Auto register database {database} error.", "other"
            )
        self.identity, self.folder = info, folder
        if self.connection is not None:
            self.connection.pipe_name = info.pipeName
            self.connection.last_error = None
            if database:
                registry.update(self.connection, databases={database})  # type: ignore[union-attr]
        return _status(TSStatusCode.SUCCESS_STATUS)

    def _refuse(self, code: int, message: str, reason: str) -> TSStatus:
        log.warning("sync-tool handshake from %s refused: %s", self.remote, message)
        registry = self.settings.registry
        if registry is not None:
            registry.totals.refuse(reason)
            if self.connection is not None:
                registry.update(self.connection, error=f"HANDSHAKE {code}: {message}")
        return _status(code, message)

    def _register_database(self, database: str) -> bool:
        store = self.settings.store
        try:
            existing = {row.database for row in store.show_databases().rows}
            if database not in existing:
                with self.settings.apply_lock:
                    store.create_database(database, origin=_ORIGIN)
        except (SchemaError, ValueError, StoreClosedError) as exc:
            log.warning("sync-tool receiver %s: database %s: %s", self.remote, database, exc)
            return False
        return True

    def _alive(self) -> Path:
        if self.identity is None or self.folder is None:
            raise TApplicationException(TApplicationException.INTERNAL_ERROR, NOT_ALIVE)
        return self.folder

    # ------------------------------------------------------------------ files
    def sendFile(self, meta: Any, buff: bytes) -> TSStatus:
        folder = self._alive()
        name, start = meta.fileName, int(meta.startIndex if meta.startIndex is not None else -1)
        bad = _bad_name(name)
        if bad is not None:
            return _status(TSStatusCode.SYNC_FILE_ERROR, f"Illegal file name {name!r}: {bad}")
        final = folder / name
        local = self.offsets.get(name, -1)
        if local < 0 and final.exists():
            local = final.stat().st_size
            self.offsets[name] = local
        if local < 0 and start != 0:
            log.info("sync-tool %s: %s starts at %d, must start at 0", self.remote, name, start)
            return _status(TSStatusCode.SYNC_FILE_REDIRECTION_ERROR, "0")
        if local >= 0 and local != start:
            log.info("sync-tool %s: %s at %d, expected %d", self.remote, name, start, local)
            return _status(TSStatusCode.SYNC_FILE_REDIRECTION_ERROR, str(local))
        patch = folder / (name + PATCH_SUFFIX)
        try:
            fd = os.open(patch, os.O_WRONLY | os.O_CREAT, 0o644)
            try:
                if local < 0:  # a new file: whatever an earlier connection left goes
                    os.ftruncate(fd, 0)
                os.lseek(fd, start, os.SEEK_SET)
                view = memoryview(buff)
                while view:
                    view = view[os.write(fd, view) :]
                if self.settings.fsync:
                    os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            log.warning("sync-tool %s: writing %s failed: %s", self.remote, name, exc)
            return _status(TSStatusCode.SYNC_FILE_ERROR, f"{exc.strerror or exc}")
        self.offsets[name] = start + len(buff)
        return _status(TSStatusCode.SUCCESS_STATUS)

    # ------------------------------------------------------------------ pipe data
    def sendPipeData(self, buff: bytes) -> TSStatus:
        folder = self._alive()
        try:
            data = decode_pipe_data(buff)
        except PipeProtocolError as exc:
            log.warning("sync-tool %s: %s", self.remote, exc)
            return _status(TSStatusCode.PIPESERVER_ERROR, f"Pipe data transport error, {exc}")
        log.info("sync-tool %s: load %s", self.remote, data)
        try:
            if isinstance(data, TsFilePipeData):
                self._load(folder, data)
            else:
                self._delete(data)
        except _LoadError as exc:
            log.warning("sync-tool %s: %s", self.remote, exc)
            self._record(error=f"PIPESERVER_ERROR: {exc}")
            return _status(TSStatusCode.PIPESERVER_ERROR, f"Fail to load pipeData because {exc}")
        return _status(TSStatusCode.SUCCESS_STATUS)

    def _load(self, folder: Path, data: TsFilePipeData) -> None:
        name = data.tsfile_name
        bad = _bad_name(name)
        if bad is not None:
            raise _LoadError(f"illegal TsFile name {name!r}: {bad}")
        for patch in folder.glob("*" + PATCH_SUFFIX):
            if patch.name.startswith(name):
                patch.replace(patch.with_name(patch.name[: -len(PATCH_SUFFIX)]))
                self.offsets.pop(patch.name[: -len(PATCH_SUFFIX)], None)
        tsfile = folder / name
        if not tsfile.exists():
            raise _LoadError(f"TsFile {name} was not sent")
        store = self.settings.store
        try:
            with self.settings.apply_lock:
                loaded = store.load_tsfile(tsfile, _ORIGIN)
        except (SchemaError, CorruptFileError, UnsupportedFormatError, ValueError) as exc:
            raise _LoadError(f"{name} cannot be loaded: {exc}") from exc
        except StoreClosedError as exc:
            raise _LoadError(f"the store is closed ({exc})") from exc
        except OSError as exc:
            raise _LoadError(f"{name} cannot be loaded: {exc.strerror or exc}") from exc
        for path in folder.iterdir():  # the file and what came with it (.mods, .resource)
            if path.name.startswith(name) and not path.name.endswith(PATCH_SUFFIX):
                path.unlink(missing_ok=True)
        databases = {self.identity.database} if self.identity.database else set()
        self._record(databases=databases, points=int(getattr(loaded, "points", 0) or 0), files=1)

    def _delete(self, data: DeletionPipeData) -> None:
        store = self.settings.store
        try:
            with self.settings.apply_lock:
                store.delete(data.path, data.start_time, data.end_time, origin=_ORIGIN)
        except (SchemaError, ValueError) as exc:
            raise _LoadError(f"DELETE FROM {data.path}: {exc}") from exc
        except StoreClosedError as exc:
            raise _LoadError(f"the store is closed ({exc})") from exc
        self._record(databases={data.database} if data.database else set())

    # ------------------------------------------------------------------ bookkeeping
    def _record(self, **changes: Any) -> None:
        registry, conn = self.settings.registry, self.connection
        if registry is not None and conn is not None:
            registry.update(conn, **changes)

    def close(self) -> None:
        """The connection ended: forget its offsets (IoTDB's ``handleClientExit``); the
        sender's folder stays for its next connection (finished files count there)."""
        self.identity, self.offsets = None, {}
        if self.settings.registry is not None and self.connection is not None:
            self.settings.registry.close(self.connection)
            self.connection = None


class _LoadError(Exception):
    pass
