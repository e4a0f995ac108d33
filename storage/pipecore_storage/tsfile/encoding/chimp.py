"""CHIMP (read only): Gorilla-like XOR coding against a ring of the last 64 (int32/float) or
128 (int64/double) values, as the C++ 2.5 ``ChimpEncoder`` writes it.

Records after the raw first value: ``00`` + ring index (exact repeat of a ring value); ``01``
+ ring index + leading-zeros code (3 bits) + significant bits (5/6; 0 = all) + the bits
(XOR with a ring value having many trailing zeros); ``10`` + the bits under the stored
leading zeros; ``11`` + leading-zeros code + the bits. Decoding is record by record.
"""

from __future__ import annotations

import numpy as np

from .bitreader import BitReader
from .errors import corrupt

__all__ = ["decode_chimp"]

_LEADING = (0, 8, 12, 16, 18, 20, 22, 24)


def decode_chimp(buf: bytes, bits: int, count: int) -> np.ndarray:
    """`count` values as uint32/uint64 bit patterns."""
    udt = np.uint32 if bits == 32 else np.uint64
    if count == 0:
        return np.zeros(0, dtype=udt)
    if count > len(buf) * 8:
        raise corrupt(len(buf), f"CHIMP stream of {len(buf)} bytes cannot hold {count} values")
    log2 = 6 if bits == 32 else 7
    ring_size = 1 << log2
    sig_bits = 5 if bits == 32 else 6
    reader = BitReader(buf, "CHIMP")
    read = reader.read
    value = read(bits)
    ring = [0] * ring_size
    current = 0
    ring[0] = value
    out = [value]
    stored_lead = None
    for _ in range(count - 1):
        control = read(2)
        if control == 3:
            stored_lead = _LEADING[read(3)]
            value ^= read(bits - stored_lead)
        elif control == 2:
            if stored_lead is None:
                raise corrupt(reader.pos // 8, "CHIMP '10' record before any leading zeros")
            value ^= read(bits - stored_lead)
        elif control == 1:
            meta = read(log2 + 3 + sig_bits)
            index = meta >> (3 + sig_bits)
            stored_lead = _LEADING[(meta >> sig_bits) & 7]
            sig = (meta & ((1 << sig_bits) - 1)) or bits
            trail = bits - sig - stored_lead
            if trail < 0:
                raise corrupt(reader.pos // 8, f"CHIMP window of {stored_lead}+{sig} bits")
            value = ring[index] ^ (read(sig) << trail)
        else:
            value = ring[read(log2)]
        current = (current + 1) % ring_size
        ring[current] = value
        out.append(value)
    return np.array(out, dtype=np.uint64).astype(udt)
