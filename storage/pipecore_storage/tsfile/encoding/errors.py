"""Errors of the TsFile value codecs."""

from __future__ import annotations

from ...errors import CorruptFileError, PipecoreError

__all__ = ["EncodingError", "UnencodableValuesError", "corrupt"]


class EncodingError(CorruptFileError):
    """An encoded value stream cannot be decoded.

    Raised as ``EncodingError(None, offset, reason)`` with `offset` relative to the start of
    the buffer handed to the decoder; the file reader re-raises it with the file path and the
    absolute offset.
    """


class UnencodableValuesError(PipecoreError, ValueError):
    """The values cannot be written with the requested encoding without loss.

    GORILLA (and CHIMP) end a page with a marker value (Integer/Long.MIN_VALUE, the canonical
    NaN); a value equal to that marker would end the page early in the official readers. The
    writer catches this error and writes the chunk with PLAIN instead.
    """

    def __init__(self, encoding: object, data_type: object, reason: str) -> None:
        self.encoding = encoding
        self.data_type = data_type
        self.reason = reason
        super().__init__(
            f"cannot encode {_name(data_type)} values with {_name(encoding)}: {reason}"
        )


def _name(member: object) -> str:
    return str(getattr(member, "name", member))


def corrupt(offset: int | None, reason: str) -> EncodingError:
    """An EncodingError for `offset` within the decoder's buffer (raise the result)."""
    return EncodingError(None, offset, reason)
