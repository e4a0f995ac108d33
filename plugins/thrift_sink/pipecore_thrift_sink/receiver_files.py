"""A receiver's file pieces (reference §4.2–§4.4): one folder per connection, the file being
written, offset checks and the seal checks. No store here: `seal_*` return the paths to load.

Messages are IoTDB's (``IoTDBFileReceiver``).
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
from pathlib import Path

from pipecore.rpc import PipeTransferResponse, Status, TSStatusCode

from .protocol import TsFilePiece, TsFileSealV1, TsFileSealV2, encode_piece_reply_body

__all__ = ["FileReceiver", "SealError"]

log = logging.getLogger("pipecore.thrift_receiver")

_TSFILE_SUFFIX = ".tsfile"


class SealError(Exception):
    """A seal that cannot be accepted; `status` is the answer (1804)."""

    def __init__(self, status: Status) -> None:
        self.status = status
        super().__init__(str(status))


def _file_error(message: str) -> Status:
    return Status(TSStatusCode.PIPE_TRANSFER_FILE_ERROR, message)


class FileReceiver:
    """The pieces of one connection, under ``<base>/<receiver id>/``."""

    def __init__(self, folder: Path, fsync: bool = True, air_gap: bool = False) -> None:
        self.folder = folder
        self.fsync = fsync
        self.air_gap = air_gap
        self.writing: Path | None = None
        self._fd: int | None = None
        folder.mkdir(parents=True, exist_ok=True)

    # ------------------------------------------------------------------ pieces
    def piece(self, piece: TsFilePiece, single_file: bool) -> PipeTransferResponse:
        try:
            fd = self._open(piece.file_name, single_file)
            length = os.fstat(fd).st_size
            offset = piece.start_writing_offset
            if self.air_gap and offset < length:
                os.ftruncate(fd, offset)
                length = offset
            if offset != length:
                assert self.writing is not None
                if not self.writing.name.endswith(_TSFILE_SUFFIX):
                    os.ftruncate(fd, 0)  # mods and the like change between sends: start over
                    length = 0
                status = Status(
                    TSStatusCode.PIPE_TRANSFER_FILE_OFFSET_RESET,
                    f"Request sender to reset file reader's offset from {offset} to {length}.",
                )
                log.info("receiver %s: %s", self.folder.name, status.message)
                return PipeTransferResponse(status, encode_piece_reply_body(length))
            _write_all(fd, piece.piece)
            return PipeTransferResponse(
                Status.ok(), encode_piece_reply_body(length + len(piece.piece))
            )
        except OSError as exc:
            log.warning("receiver %s: writing a piece failed: %s", self.folder.name, exc)
            if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EIO):
                # the sender retries the piece (1808); what was written of it is a correct
                # prefix, and the retry's offset check resumes after it
                status = Status(
                    TSStatusCode.PIPE_RECEIVER_TEMPORARY_UNAVAILABLE_EXCEPTION,
                    f"Failed to write file piece, because {exc.strerror}; retry later.",
                )
            else:
                status = _file_error(f"Failed to write file piece, because {exc.strerror}")
            return PipeTransferResponse(status, encode_piece_reply_body(-1))

    def _open(self, name: str, single_file: bool) -> int:
        path = (self.folder / name).resolve()
        if path.parent != self.folder.resolve():
            raise OSError(f"file name {name!r} leaves the receiver folder")
        if self.writing is not None and self.writing.name == name and self.writing.exists():
            assert self._fd is not None
            return self._fd
        self._close_writer(fsync=not single_file)
        if self.writing is not None and single_file:
            self.writing.unlink(missing_ok=True)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        self.writing = path
        return self._fd

    def _close_writer(self, fsync: bool) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            if fsync and self.fsync:
                os.fsync(fd)
        finally:
            os.close(fd)

    # ------------------------------------------------------------------ seals
    def _check_final(self, name: str, length: int) -> None:
        writing = self.writing
        if writing is None or self._fd is None or not writing.exists():
            raise SealError(
                _file_error(
                    f"Failed to seal file {name}, because writing file "
                    f"{writing.name if writing is not None else None} is not available."
                )
            )
        if writing.name != name:
            raise SealError(
                _file_error(f"Failed to seal file {name}, because writing file is {writing.name}.")
            )
        actual = os.fstat(self._fd).st_size
        if actual != length:
            raise SealError(
                _file_error(
                    f"Failed to seal file {name}, because the length of file is not correct. "
                    f"The original file has length {length}, but receiver file has length "
                    f"{actual}."
                )
            )

    def _finish_writer(self) -> Path:
        """fsync (when enabled) and close the file being written; its path."""
        path = self.writing
        assert path is not None
        self._close_writer(fsync=True)
        self.writing = None
        return path

    def seal_v1(self, seal: TsFileSealV1) -> Path:
        """Check a type-5 seal; the TsFile to load. Raises `SealError` (1804)."""
        self._check_final(seal.file_name, seal.file_length)
        return self._finish_writer()

    def seal_v2(self, seal: TsFileSealV2) -> tuple[Path, Path | None]:
        """Check a type-9 seal (``[mods, tsfile]``); the TsFile to load and its mods, the mods
        renamed ``<tsfile>.mods`` next to it (where LOAD looks)."""
        names, lengths = seal.file_names, seal.file_lengths
        if not names:
            raise SealError(_file_error("Failed to seal file [], no file names"))
        self._check_final(names[-1], lengths[-1])
        for name, length in zip(names[:-1], lengths[:-1], strict=True):
            path = self.folder / name
            if not path.exists():
                raise SealError(
                    _file_error(f"Failed to seal file {name}, the file does not exist.")
                )
            if path.stat().st_size != length:
                raise SealError(
                    _file_error(
                        f"Failed to seal file {name}, because the length of file is not "
                        f"correct. The original file has length {length}, but receiver file "
                        f"has length {path.stat().st_size}."
                    )
                )
        tsfile = self._finish_writer()
        mods = None
        if len(names) > 1:
            source = self.folder / names[0]
            mods = tsfile.with_name(tsfile.name + ".mods")
            if source != mods:
                os.replace(source, mods)
            if self.fsync:
                _fsync_path(mods)
        return tsfile, mods

    def seal_files(self, seal: TsFileSealV2) -> list[Path]:
        """Check a seal of several files (a schema snapshot: ``[mtree, tlog]``); their paths,
        in the seal's order. Raises `SealError` (1804)."""
        names, lengths = seal.file_names, seal.file_lengths
        if not names or len(names) != len(lengths):
            raise SealError(_file_error(f"Failed to seal files {list(names)}: bad file list"))
        self._check_final(names[-1], lengths[-1])
        for name, length in zip(names[:-1], lengths[:-1], strict=True):
            path = self.folder / name
            size = path.stat().st_size if path.exists() else None
            if size != length:
                raise SealError(
                    _file_error(
                        f"Failed to seal file {name}, because the length of file is not "
                        f"correct. The original file has length {length}, but receiver file "
                        f"has length {size}."
                    )
                )
        last = self._finish_writer()
        return [self.folder / n for n in names[:-1]] + [last]

    def discard_current(self) -> None:
        """After a seal (any outcome): the file being written is closed and deleted."""
        self._close_writer(fsync=False)
        if self.writing is not None:
            self.writing.unlink(missing_ok=True)
            self.writing = None

    def clear(self) -> None:
        """Delete everything in the folder (after a seal v2)."""
        self.discard_current()
        if self.folder.exists():
            for entry in self.folder.iterdir():
                if entry.is_dir():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)

    def close(self) -> None:
        """The connection ended: close and delete everything."""
        self._close_writer(fsync=False)
        self.writing = None
        shutil.rmtree(self.folder, ignore_errors=True)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
