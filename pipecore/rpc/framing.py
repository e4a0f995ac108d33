"""Thrift's framed transport on a socket: a 4-byte big-endian length, then the message.

Frames are read with every length checked before anything is allocated for it: a negative
or zero length, a length over the maximum (``dn_thrift_max_frame_size``) and an HTTP request
sent to the port are refused with a `FrameError`. A frame is read into a buffer that grows
only as bytes actually arrive, so a peer that announces a huge frame and stalls costs little.
"""

from __future__ import annotations

import socket
import struct

from .errors import FrameError, RpcConnectionError

__all__ = [
    "DEFAULT_MAX_FRAME_SIZE",
    "FrameReader",
    "check_frame_size",
    "frame_header",
    "write_frame",
]

DEFAULT_MAX_FRAME_SIZE = 536_870_912  # dn_thrift_max_frame_size, 512 MiB
_HTTP_SIZES = {
    int.from_bytes(b"GET ", "big"): "GET",  # 1195725856
    int.from_bytes(b"POST", "big"): "POST",  # 1347375956
    int.from_bytes(b"PUT ", "big"): "PUT",
    int.from_bytes(b"HEAD", "big"): "HEAD",
}
_FIRST_CHUNK = 64 << 10  # the buffer grows (doubling) only as bytes arrive
_HEADER = struct.Struct(">i")


def frame_header(size: int) -> bytes:
    return _HEADER.pack(size)


def check_frame_size(size: int, limit: int, peer: str | None = None) -> None:
    """Raise `FrameError` unless ``0 < size <= limit``, recognising HTTP requests."""
    if 0 < size <= limit:
        return
    if size in _HTTP_SIZES:
        raise FrameError(
            f"received an HTTP {_HTTP_SIZES[size]} request (frame size {size}): this port "
            "speaks Thrift RPC (framed, binary), not HTTP",
            size,
            limit,
            peer,
        )
    if size > limit:
        raise FrameError(
            f"Frame size ({size}) larger than protect max size ({limit})", size, limit, peer
        )
    raise FrameError(f"invalid frame size {size}", size, limit, peer)


class FrameReader:
    """Reads whole frames from a connected (blocking) socket, plain or TLS."""

    def __init__(self, sock: socket.socket, max_frame_size: int, peer: str | None = None):
        self._sock = sock
        self._max = max_frame_size
        self._peer = peer
        self._header = bytearray(4)

    def read_frame(self) -> bytearray | None:
        """The next frame's message bytes; None when the peer closed between frames.

        Raises `FrameError` for an unacceptable length, `RpcConnectionError` when the
        connection ends inside a frame, and lets `TimeoutError`/`OSError` of the socket through.
        """
        if not self._fill(self._header, allow_eof=True):
            return None
        size = _HEADER.unpack(self._header)[0]
        check_frame_size(size, self._max, self._peer)
        return self._read_exact(size)

    def _fill(self, buf: bytearray, allow_eof: bool = False) -> bool:
        got = 0
        with memoryview(buf) as view:
            while got < len(buf):
                n = self._sock.recv_into(view[got:])
                if n == 0:
                    if got == 0 and allow_eof:
                        return False
                    raise RpcConnectionError(
                        f"connection closed inside a frame ({got} of {len(buf)} header bytes)",
                        self._peer,
                    )
                got += n
        return True

    def _read_exact(self, size: int) -> bytearray:
        buf = bytearray(min(size, _FIRST_CHUNK))
        got = 0
        while got < size:
            if got == len(buf):
                buf.extend(bytes(min(size, 2 * len(buf)) - len(buf)))
            with memoryview(buf) as view:
                n = self._sock.recv_into(view[got:])
            if n == 0:
                raise RpcConnectionError(
                    f"connection closed inside a frame ({got} of {size} bytes received)",
                    self._peer,
                )
            got += n
        return buf


def write_frame(sock: socket.socket, message: bytes | bytearray | memoryview | list[bytes]) -> None:
    """Send one frame: the header, then the message (bytes, or buffers sent in order).

    On a plain socket the buffers go out with ``sendmsg`` (scatter/gather, no copy of a large
    body); a TLS socket gets them one `sendall` each.
    """
    parts = message if isinstance(message, list) else [message]
    size = sum(len(p) for p in parts)
    buffers: list[bytes | bytearray | memoryview] = [_HEADER.pack(size), *parts]
    if type(sock) is not socket.socket:
        if size <= 65536:
            sock.sendall(b"".join(buffers))
            return
        for buf in buffers:
            sock.sendall(buf)
        return
    if size <= 65536:
        sock.sendall(b"".join(buffers))
        return
    _sendmsg_all(sock, [memoryview(b).cast("B") for b in buffers])


def _sendmsg_all(sock: socket.socket, views: list[memoryview]) -> None:
    while views:
        sent = sock.sendmsg(views)
        while views and sent >= len(views[0]):
            sent -= len(views[0])
            views.pop(0)
        if views and sent:
            views[0] = views[0][sent:]
