"""Sending a TsFile: pieces (type 4, or 8 with its ``.mods``) from offset 0, resuming where
the receiver says (1803), then the seal (type 5, or 9 with mods) — reference §3.8–§3.10, §4.3.

`prepare_tsfile` decides what goes on the wire: the file as it is, or rewritten as TsFile
format version 3 for a receiver that loads only version 3 (a real IoTDB 1.x), with its
deletions carried in a ``.mods`` whose offsets cover the whole rewritten file.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import attrs

from pipecore.rpc import PipeTransferResponse, TSStatusCode
from pipecore_storage.mods import MAX_TIME, Deletion, read_mods
from pipecore_storage.tsfile import TsFileReader, TsFileWriter

from .client import SinkClient
from .encodings import ENCODINGS_PARAM
from .errors import ReceiverStatusError
from .protocol import (
    PipeProtocolError,
    PipeRequestType,
    decode_piece_reply_body,
    encode_file_seal_v1,
    encode_file_seal_v2,
)
from .protocol.io import BodyWriter
from .status import StatusPolicy

__all__ = ["PreparedFile", "prepare_tsfile", "send_tsfile", "tsfile_version"]

log = logging.getLogger("pipecore.thrift_sink")

_MAGIC = b"TsFile"
_MAX_RESETS = 64  # offset resets within one file before the transfer is treated as failed


def tsfile_version(path: Path) -> int:
    """The format version byte of a TsFile (3 or 4; 0 when unreadable)."""
    with open(path, "rb") as f:
        head = f.read(len(_MAGIC) + 1)
    if len(head) < len(_MAGIC) + 1 or not head.startswith(_MAGIC):
        return 0
    return head[len(_MAGIC)]


@attrs.frozen
class PreparedFile:
    """What to send for one TsFile event: `tsfile` (and its `mods`, or None); `temporary` files
    are deleted after the transfer."""

    tsfile: Path
    mods: Path | None
    temporary: Path | None = None  # a folder of rewritten files

    def cleanup(self) -> None:
        if self.temporary is not None:
            shutil.rmtree(self.temporary, ignore_errors=True)


def prepare_tsfile(
    path: Path,
    wanted_version: int | None,
    scratch_dir: Path,
    *,
    mods: Path | None = None,
    deletions: Sequence[Deletion] | None = None,
) -> PreparedFile:
    """The files to send for the TsFile at `path`: as it is, or rewritten as `wanted_version`
    into `scratch_dir`; with its deletions — `mods` (a ``.mods`` file), else `deletions` (an
    event's list, written out), else a ``<path>.mods`` next to it."""
    if mods is None and not deletions:
        beside = path.with_name(path.name + ".mods")
        mods = beside if beside.exists() and beside.stat().st_size > 0 else None
    version = tsfile_version(path)
    rewrite = wanted_version is not None and version not in (wanted_version, 0)
    if not rewrite and (mods is not None or not deletions):
        return PreparedFile(path, mods)
    scratch_dir.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="send-", dir=scratch_dir))
    target = folder / path.name  # the receiver sees the original file name
    try:
        if rewrite:
            assert wanted_version is not None
            rewrite_tsfile(path, target, wanted_version)
            log.debug("rewrote %s as TsFile version %d (%s)", path, wanted_version, target)
        else:
            try:
                os.link(path, target)
            except OSError:
                shutil.copyfile(path, target)
        entries = list(deletions or ()) if mods is None else read_mods(mods)
        written = None
        if entries:
            written = target.with_name(target.name + ".mods")
            lines = [Deletion(d.pattern, d.start, d.end, MAX_TIME).line() for d in entries]
            written.write_text("".join(lines), "utf-8")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return PreparedFile(target, written, folder)


def rewrite_tsfile(src: Path, dst: Path, version: int) -> None:
    """Copy every series of `src` into a new TsFile `dst` of format `version`."""
    reader = TsFileReader(src)
    writer = TsFileWriter(dst, format_version=version)
    try:
        for device in reader.devices():
            name = str(device)
            schemas = list(reader.schemas(device).values())
            if reader.is_aligned(device):
                writer.register_aligned_timeseries(name, schemas)
            else:
                for schema in schemas:
                    writer.register_timeseries(name, schema)
            for tablet in reader.read_tablets(device):
                tablet.device = name
                writer.write_tablet(tablet)
    finally:
        writer.close()
        reader.close()


def _piece_body(name: str, offset: int, data: memoryview) -> list[object]:
    w = BodyWriter()
    w.string(name)
    w.i64(offset)
    w.i32(len(data))
    return [w.getvalue(), data]


def send_tsfile(
    client: SinkClient,
    policy: StatusPolicy,
    prepared: PreparedFile,
    piece_size: int,
    lineage: tuple[str, ...] = (),
    on_piece: Callable[[int], None] | None = None,
    encodings: Mapping[str, str] | None = None,
) -> PipeTransferResponse:
    """Send the file's pieces and seal over `client`; the seal's answer (a success, or a
    status the rules gave up on). Raises `PipeConnectionError` when the connection breaks —
    the caller starts the file again on a new connection (the receiver's folder is per
    connection)."""
    v2 = client.info is not None and client.info.version == 2
    hint = bool(encodings) and v2 and client.info is not None and client.info.is_pipecore
    with_mods = (prepared.mods is not None and v2) or hint  # seal type 9 (with params)
    files = (
        [p for p in (prepared.mods, prepared.tsfile) if p is not None]
        if with_mods
        else [prepared.tsfile]
    )
    if prepared.mods is not None and not with_mods:
        log.warning(
            "receiver %s took only handshake v1: %s is sent without its deletions (.mods)",
            client.endpoint,
            prepared.tsfile,
        )
    piece_type = (
        PipeRequestType.TRANSFER_TS_FILE_PIECE_WITH_MOD
        if with_mods
        else PipeRequestType.TRANSFER_TS_FILE_PIECE
    )
    names, lengths = [], []
    buffer = bytearray(piece_size)
    for path in files:
        assert path is not None
        sent = _send_pieces(client, policy, path, piece_type, buffer, on_piece)
        if isinstance(sent, PipeTransferResponse):
            return sent  # the rules gave the file up
        names.append(path.name)
        lengths.append(sent)
    if with_mods:
        seal_type, body = (
            PipeRequestType.TRANSFER_TS_FILE_SEAL_WITH_MOD,
            encode_file_seal_v2(
                names, lengths, {ENCODINGS_PARAM: json.dumps(dict(encodings or {}))} if hint else {}
            ),
        )
    else:
        seal_type, body = (
            PipeRequestType.TRANSFER_TS_FILE_SEAL,
            encode_file_seal_v1(names[0], lengths[0]),
        )
    endpoint = str(client.endpoint)
    return policy.deliver(
        lambda: client.send(seal_type, body, lineage),
        lambda: f"seal of {prepared.tsfile.name}",
        endpoint,
    )


def _send_pieces(
    client: SinkClient,
    policy: StatusPolicy,
    path: Path,
    piece_type: int,
    buffer: bytearray,
    on_piece: Callable[[int], None] | None,
) -> int | PipeTransferResponse:
    """Send one file from offset 0; its length, or the answer the rules gave it up at."""
    endpoint = str(client.endpoint)
    name = path.name
    resets = 0
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as f:
        length = os.fstat(f.fileno()).st_size
        offset = 0
        while True:
            n = os.preadv(f.fileno(), [view], offset) if offset < length else 0
            if n == 0 and offset > 0:
                return length
            parts = _piece_body(name, offset, view[:n])
            resp = policy.deliver(
                lambda parts=parts: client.send(piece_type, parts),  # type: ignore[misc]
                lambda at=offset: f"piece of {name} at offset {at}",  # type: ignore[misc]
                endpoint,
                handle=(TSStatusCode.PIPE_TRANSFER_FILE_OFFSET_RESET,),
            )
            code = resp.status.code
            try:
                reported = decode_piece_reply_body(resp.body)
            except PipeProtocolError:
                reported = None
            if code == TSStatusCode.PIPE_TRANSFER_FILE_OFFSET_RESET:
                resets += 1
                if reported is None or not 0 <= reported <= length or resets > _MAX_RESETS:
                    raise ReceiverStatusError(endpoint, f"piece of {name}", resp.status)
                log.info("receiver %s: resume %s at offset %d", endpoint, name, reported)
                offset = reported
                continue
            if not resp.status.is_success:
                return resp
            offset += n
            if on_piece is not None:
                on_piece(n)
            if n == 0:
                return length  # an empty file: one empty piece made it exist there
