"""A sequential MSB-first bit reader for the record-by-record decoders (Gorilla's general
path, CHIMP, RLBE)."""

from __future__ import annotations

from .errors import corrupt

__all__ = ["BitReader"]


class BitReader:
    """Reads fields of up to 64 bits; raises EncodingError past the end of the data."""

    __slots__ = ("data", "nbits", "pos", "what")

    def __init__(self, buf: bytes, what: str, start_bit: int = 0) -> None:
        self.data = bytes(buf) + bytes(9)
        self.nbits = len(buf) * 8
        self.pos = start_bit
        self.what = what

    def read(self, width: int) -> int:
        p = self.pos
        end = p + width
        if end > self.nbits:
            raise corrupt(self.nbits // 8, f"{self.what} stream ends inside a value")
        self.pos = end
        if width == 0:
            return 0
        start = p >> 3
        chunk = int.from_bytes(self.data[start : start + 9], "big")
        return (chunk >> (72 - (p & 7) - width)) & ((1 << width) - 1)

    def align(self) -> None:
        """Skip to the next byte boundary."""
        self.pos = (self.pos + 7) & ~7
