"""The value encodings of Apache TsFile (PLAIN, TS_2DIFF, RLE, GORILLA, DICTIONARY, ZIGZAG,
float scaling; CHIMP, SPRINTZ and RLBE read only), vectorised with numpy.

`encode`/`decode` work on one page's value stream; `encode_times`/`decode_times` on the
TS_2DIFF time column. The helpers (varints, MSB-first bit packing) are exported for the file
layer.
"""

from .bitpack import bit_length, gather_bits, pack_fixed, padded, scatter_bits, unpack_fixed
from .codec import decode, decode_times, encodable, encode, encode_times, readable, writable
from .errors import EncodingError, UnencodableValuesError
from .varint import (
    decode_varints,
    encode_varints,
    read_svar,
    read_uvar,
    svar,
    uvar,
    zigzag_decode,
    zigzag_encode,
)

__all__ = [
    "EncodingError",
    "UnencodableValuesError",
    "bit_length",
    "decode",
    "decode_times",
    "decode_varints",
    "encodable",
    "encode",
    "encode_times",
    "encode_varints",
    "gather_bits",
    "pack_fixed",
    "padded",
    "read_svar",
    "read_uvar",
    "readable",
    "scatter_bits",
    "svar",
    "unpack_fixed",
    "uvar",
    "writable",
    "zigzag_decode",
    "zigzag_encode",
]
