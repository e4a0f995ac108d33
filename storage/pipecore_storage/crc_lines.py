"""One JSON value a line, guarded by its CRC-32: the line format of the store's small logs
(the schema log, the schema history).

A line is ``<crc32 of the body, 8 hex digits> <JSON body>\\n``. `read_crc_line` gives the
value back, or None for a line that is torn (no newline: a crash mid-append), damaged or not
JSON — a reader stops or skips there, never fails the open.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

__all__ = ["crc_line", "read_crc_line"]


def crc_line(value: Any) -> bytes:
    """`value` as one CRC-guarded line."""
    body = json.dumps(value, separators=(",", ":")).encode()
    return b"%08x " % zlib.crc32(body) + body + b"\n"


def read_crc_line(line: bytes) -> Any | None:
    """The value of a line `crc_line` wrote; None when the line is torn or damaged."""
    if not line.endswith(b"\n") or len(line) < 10 or line[8:9] != b" ":
        return None
    body = line[9:-1]
    try:
        if int(line[:8], 16) != zlib.crc32(body):
            return None
        return json.loads(body)
    except ValueError:
        return None
