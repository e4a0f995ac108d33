"""Errors of the pipe protocol codecs."""

from __future__ import annotations

from pipecore_storage.errors import PipecoreError

__all__ = ["AirGapFrameError", "PipeProtocolError", "SliceOutOfOrderError"]


class PipeProtocolError(PipecoreError, ValueError):
    """A pipe request body (or frame) that cannot be decoded.

    `field` names what was being read (``"tablet.values[2]"``), `offset` the byte offset in the
    body where it starts (None when not tied to a position), `reason` what is wrong.
    """

    def __init__(self, reason: str, field: str | None = None, offset: int | None = None) -> None:
        self.reason = reason
        self.field = field
        self.offset = offset
        where = ""
        if field is not None:
            where += f" {field}"
        if offset is not None:
            where += f" at byte {offset}"
        super().__init__(f"malformed pipe request{':' if not where else ''}{where}: {reason}")


class AirGapFrameError(PipeProtocolError):
    """An air-gap frame that fails its checks. `kind` says which:

    ``"length"`` (L1 != L2), ``"crc"`` (CRC32 mismatch), ``"size"`` (length out of bounds),
    ``"prefix"`` (a nested or broken e-language prefix).
    """

    def __init__(self, kind: str, reason: str, offset: int | None = None) -> None:
        self.kind = kind
        super().__init__(reason, f"air-gap frame ({kind})", offset)


class SliceOutOfOrderError(PipeProtocolError):
    """A slice (type 400) that does not continue the sequence being assembled (status 1812)."""
