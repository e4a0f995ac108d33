"""DICTIONARY (TEXT/STRING) and ZIGZAG (INT32/INT64) layouts."""

from __future__ import annotations

import numpy as np
import pytest

from pipecore_storage.errors import CorruptFileError
from pipecore_storage.tsfile.encoding import decode, encode
from pipecore_storage.types import TSDataType as T
from pipecore_storage.types import TSEncoding as E


def _objects(items: list) -> np.ndarray:
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out


def test_dictionary_layout_first_seen_order() -> None:
    values = _objects(["b", "a", "b", "", "温"])
    raw = encode(values, T.TEXT, E.DICTIONARY)
    table = b"\x08" + b"\x02b" + b"\x02a" + b"\x00" + b"\x06" + "温".encode()
    assert raw.startswith(table)
    # RLE of indices 0,1,0,2,3: block of 5 bytes, width 2, one group of 5 values 00 01 00 10 11
    assert raw[len(table) :] == bytes.fromhex("05 02 03 05") + bytes([0b00010010, 0b11000000])
    assert decode(raw, T.STRING, E.DICTIONARY, 5).tolist() == ["b", "a", "b", "", "温"]


def test_dictionary_bad_index_is_corrupt() -> None:
    raw = encode(_objects(["x", "y"]), T.TEXT, E.DICTIONARY)
    bad = b"\x02" + raw[1:3] + raw[5:]  # keep one entry, indices still 0 and 1
    with pytest.raises(CorruptFileError, match="index 1"):
        decode(bad, T.TEXT, E.DICTIONARY, 2)


def test_zigzag_layout() -> None:
    raw = encode(np.array([0, -1, 1, 300], np.int32), T.INT32, E.ZIGZAG)
    assert raw == bytes.fromhex("05 04 00 01 02 d804")
    assert decode(raw, T.INT32, E.ZIGZAG, 4).tolist() == [0, -1, 1, 300]
    big = np.array([-(2**63), 2**63 - 1], np.int64)
    raw64 = encode(big, T.INT64, E.ZIGZAG)
    assert raw64[:2] == bytes([20, 2])  # two 10-byte varints
    assert decode(raw64, T.INT64, E.ZIGZAG, 2).tolist() == big.tolist()
    assert encode(np.zeros(0, np.int64), T.INT64, E.ZIGZAG) == b""
    with pytest.raises(CorruptFileError):
        decode(raw[:-1], T.INT32, E.ZIGZAG, 4)
