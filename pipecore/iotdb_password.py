"""IoTDB's stored form of a password (IoTDB 2.0.1's ``AuthUtils.encryptPassword`` with its
default ``MessageDigestEncrypt``), so that a user pipecore sends to a real IoTDB can log in
there with its password.

IoTDB 2.0.1 keeps ``new String(MD5(password as UTF-8), "UTF-8")``: the 16 bytes of an
**unsalted MD5** read as UTF-8 text by Java, each malformed stretch replaced by U+FFFD, and
checks a login by computing the same string again. Its CreateUserWithRawPassword plan (638)
stores the password field as given, so pipecore sends exactly that string (UTF-8 encoded,
as every string of a plan). Java's replacement of malformed bytes is not Python's
``errors="replace"`` (a surrogate's lead ``ED A0..BF`` or a stretch ``ED A7`` then a
non-continuation byte is one U+FFFD in Java, two in Python; a truncated sequence at the end
is one), so `java_utf8_decode` decodes as JDK 17's ``String(byte[], UTF_8)`` does —
checked against Java itself (`tests/interop/test_iotdb_password.py`).

The digest is as weak as IoTDB's own at-rest form (fast, unsalted); a node keeps it only
while ``iotdb_password_digest`` is on (docs/security.md).
"""

from __future__ import annotations

import hashlib

__all__ = ["iotdb_password_digest", "java_utf8_decode"]

_REPL = "\ufffd"


def _cont(b: int) -> bool:
    return (b & 0xC0) == 0x80


def _malformed3_2(b1: int, b2: int) -> bool:
    return (b1 == 0xE0 and (b2 & 0xE0) == 0x80) or not _cont(b2)


def _malformed4_2(b1: int, b2: int) -> bool:
    return (
        (b1 == 0xF0 and not 0x90 <= b2 <= 0xBF)
        or (b1 == 0xF4 and (b2 & 0xF0) != 0x80)
        or not _cont(b2)
    )


def java_utf8_decode(data: bytes) -> str:
    """`data` decoded as Java's ``new String(data, UTF_8)`` does (JDK 17): valid UTF-8 as
    usual, each malformed stretch one U+FFFD, Java's stretches."""
    out: list[str] = []
    n = len(data)
    i = 0
    while i < n:
        b1 = data[i]
        i += 1
        if b1 < 0x80:
            out.append(chr(b1))
        elif 0xC2 <= b1 <= 0xDF:
            if i < n and _cont(data[i]):
                out.append(chr(((b1 & 0x1F) << 6) | (data[i] & 0x3F)))
                i += 1
            else:
                out.append(_REPL)
        elif 0xE0 <= b1 <= 0xEF:
            if i + 1 < n:
                b2, b3 = data[i], data[i + 1]
                if _malformed3_2(b1, b2) or not _cont(b3):
                    out.append(_REPL)
                    i += 0 if _malformed3_2(b1, b2) else 1
                else:
                    c = ((b1 & 0x0F) << 12) | ((b2 & 0x3F) << 6) | (b3 & 0x3F)
                    out.append(_REPL if 0xD800 <= c <= 0xDFFF else chr(c))
                    i += 2
                continue
            out.append(_REPL)
            if i < n and not _malformed3_2(b1, data[i]):
                i += 1  # a truncated sequence at the end is one stretch
        elif 0xF0 <= b1 <= 0xF7:
            if i + 2 < n:
                b2, b3, b4 = data[i], data[i + 1], data[i + 2]
                uc = ((b1 & 0x07) << 18) | ((b2 & 0x3F) << 12) | ((b3 & 0x3F) << 6) | (b4 & 0x3F)
                if not (_cont(b2) and _cont(b3) and _cont(b4)) or not 0x10000 <= uc <= 0x10FFFF:
                    out.append(_REPL)
                    if b1 > 0xF4 or _malformed4_2(b1, b2):
                        pass
                    elif not _cont(b3):
                        i += 1
                    else:
                        i += 2
                else:
                    out.append(chr(uc))
                    i += 3
                continue
            out.append(_REPL)
            if b1 > 0xF4 or (i < n and _malformed4_2(b1, data[i])):
                continue
            i += 1
            if i < n and not _cont(data[i]):
                continue
            i = n  # the rest of a truncated sequence at the end is the same stretch
        else:
            out.append(_REPL)
    return "".join(out)


def iotdb_password_digest(password: str) -> str:
    """The string IoTDB 2.0.1 stores for `password` (see the module's text)."""
    return java_utf8_decode(hashlib.md5(password.encode("utf-8")).digest())
