"""TsFile transfer bodies: pieces (types 4/8), the piece reply body, seals v1 (5) and v2 (9)."""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence

import attrs

from .errors import PipeProtocolError
from .io import BodyReader, BodyWriter

__all__ = [
    "TsFilePiece",
    "TsFileSealV1",
    "TsFileSealV2",
    "check_file_name",
    "decode_file_piece",
    "decode_file_seal_v1",
    "decode_file_seal_v2",
    "decode_piece_reply_body",
    "encode_file_piece",
    "encode_file_seal_v1",
    "encode_file_seal_v2",
    "encode_piece_reply_body",
]

_I64 = struct.Struct(">q")


def check_file_name(name: str, field: str = "fileName") -> str:
    """`name` if it is a plain base name (no directory part, no ``..``), else an error.

    A receiver writes pieces under its own directory by this name; anything that could
    leave the directory is refused (IoTDB added the same check in 2026).
    """
    if (
        not name
        or name in (".", "..")
        or "/" in name
        or "\\" in name
        or "\x00" in name
        or (len(name) > 1 and name[1] == ":")
    ):
        raise PipeProtocolError(f"{name!r} is not a plain file name", field)
    return name


@attrs.frozen
class TsFilePiece:
    file_name: str
    start_writing_offset: int
    piece: bytes


@attrs.frozen
class TsFileSealV1:
    file_name: str
    file_length: int


@attrs.frozen
class TsFileSealV2:
    """Several files sealed together (``[mods, tsfile]`` for a TsFile with mods) + params."""

    file_names: tuple[str, ...]
    file_lengths: tuple[int, ...]
    params: tuple[tuple[str, str | None], ...] = ()

    @property
    def params_dict(self) -> dict[str, str | None]:
        return dict(self.params)


def encode_file_piece(file_name: str, start_writing_offset: int, piece: bytes) -> bytes:
    """Body of a type-4 (or 8) request: fileName, i64 startWritingOffset, Binary piece."""
    w = BodyWriter()
    w.string(file_name)
    w.i64(start_writing_offset)
    w.binary(piece)
    return w.getvalue()


def decode_file_piece(body: bytes) -> TsFilePiece:
    r = BodyReader(body)
    name = check_file_name(r.required_string("piece.fileName"), "piece.fileName")
    at = r.pos
    offset = r.i64("piece.startWritingOffset")
    if offset < 0:
        raise r.error("piece.startWritingOffset", f"negative offset {offset}", at)
    piece = r.binary("piece.body")
    r.expect_end("file piece body")
    return TsFilePiece(name, offset, piece)


def encode_piece_reply_body(offset: int) -> bytes:
    """The body of a piece reply: i64 endWritingOffset (200) / offset to resume at (1803)."""
    return _I64.pack(offset)


def decode_piece_reply_body(body: bytes | None) -> int:
    if body is None or len(body) != 8:
        size = "no body" if body is None else f"{len(body)} bytes"
        raise PipeProtocolError(f"a file piece reply needs an 8-byte offset, got {size}", "reply")
    return int(_I64.unpack(body)[0])


def encode_file_seal_v1(file_name: str, file_length: int) -> bytes:
    w = BodyWriter()
    w.string(file_name)
    w.i64(file_length)
    return w.getvalue()


def decode_file_seal_v1(body: bytes) -> TsFileSealV1:
    r = BodyReader(body)
    name = check_file_name(r.required_string("seal.fileName"), "seal.fileName")
    length = _length(r, "seal.fileLength")
    r.expect_end("file seal body")
    return TsFileSealV1(name, length)


def _length(r: BodyReader, field: str) -> int:
    at = r.pos
    value = r.i64(field)
    if value < 0:
        raise r.error(field, f"negative file length {value}", at)
    return value


def encode_file_seal_v2(
    file_names: Sequence[str],
    file_lengths: Sequence[int],
    params: Mapping[str, str | None] | None = None,
) -> bytes:
    """Body of a type-9 request: i32 n, names, i32 m, i64 lengths, params map."""
    if len(file_names) != len(file_lengths):
        raise ValueError("a seal needs one length per file name")
    w = BodyWriter()
    w.i32(len(file_names))
    for name in file_names:
        w.string(name)
    w.i32(len(file_lengths))
    for length in file_lengths:
        w.i64(length)
    w.string_map(params or {})
    return w.getvalue()


def decode_file_seal_v2(body: bytes) -> TsFileSealV2:
    r = BodyReader(body)
    n = r.count("seal.fileNameCount", 4)
    names = tuple(
        check_file_name(r.required_string(f"seal.fileNames[{i}]"), f"seal.fileNames[{i}]")
        for i in range(n)
    )
    at = r.pos
    m = r.count("seal.fileLengthCount", 8)
    if m != n:
        raise r.error("seal.fileLengthCount", f"{n} file names but {m} lengths", at)
    lengths = tuple(_length(r, f"seal.fileLengths[{i}]") for i in range(m))
    params = r.string_map("seal.params")
    r.expect_end("file seal v2 body")
    return TsFileSealV2(names, lengths, tuple(params.items()))
