"""DICTIONARY (TEXT/STRING): ``svar n, n * (svar len, bytes)`` in first-seen order, then the
per-value indices as an int32 RLE stream."""

from __future__ import annotations

import numpy as np

from ...types import decode_text
from .errors import corrupt
from .plain import decode_binaries, encode_binaries
from .rle import decode_rle, encode_rle
from .varint import read_svar, svar

__all__ = ["decode_dictionary", "encode_dictionary"]


def encode_dictionary(values: np.ndarray) -> bytes:
    entries = list(dict.fromkeys(values.tolist()))  # distinct values, first-seen order
    index = {value: i for i, value in enumerate(entries)}
    codes = np.fromiter(map(index.__getitem__, values.tolist()), dtype=np.int32, count=values.size)
    table = svar(len(entries)) + encode_binaries(entries)
    return table + encode_rle(codes, 32)


def decode_dictionary(buf: bytes, count: int, *, as_text: bool = True) -> np.ndarray:
    nentries, pos = read_svar(buf, 0)
    if nentries < 0 or nentries > len(buf):
        raise corrupt(0, f"DICTIONARY with {nentries} entries")
    entries, pos = decode_binaries(buf, nentries, pos, as_text=False)
    codes, _ = decode_rle(buf, 32, count, pos)
    if count and (codes.min() < 0 or codes.max() >= nentries):
        bad = int(codes[(codes < 0) | (codes >= nentries)][0])
        raise corrupt(pos, f"DICTIONARY index {bad} outside the {nentries} entries")
    if as_text:
        entries = _objects([decode_text(e) for e in entries])
    return entries[codes]


def _objects(items: list) -> np.ndarray:
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out
