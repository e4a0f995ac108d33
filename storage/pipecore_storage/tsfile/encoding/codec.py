"""The codec table: which (data type, encoding) pairs are written and read, and dispatch."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from ...errors import UnsupportedFormatError
from ...types import TSDataType, TSEncoding
from .chimp import decode_chimp
from .dictionary import decode_dictionary, encode_dictionary
from .errors import EncodingError
from .floatscale import decode_scaled, encode_scaled, max_point_number
from .gorilla import decode_gorilla, encode_gorilla
from .plain import decode_plain, encode_plain
from .rlbe import decode_rlbe
from .rle import decode_rle, encode_rle
from .sprintz import decode_sprintz
from .ts2diff import decode_ts2diff, encode_ts2diff
from .zigzag import decode_zigzag, encode_zigzag

__all__ = ["decode", "decode_times", "encode", "encode_times", "readable", "writable"]

T = TSDataType
E = TSEncoding
Props = Mapping[str, str] | None
Encoder = Callable[[np.ndarray, TSDataType, Props], bytes]
Decoder = Callable[[bytes, TSDataType, int, Props], np.ndarray]

_INT32 = (T.INT32, T.DATE)
_INT64 = (T.INT64, T.TIMESTAMP)
_INTS = _INT32 + _INT64
_FLOATS = (T.FLOAT, T.DOUBLE)
_ALL = (T.BOOLEAN, *_INTS, *_FLOATS, T.TEXT, T.STRING, T.BLOB)

# What we write: the encodings the official C++/Python 2.5 writer accepts that Java reads
# too (tsfile-format.md §3.9). CHIMP, SPRINTZ and RLBE are read only.
_WRITABLE: frozenset[tuple[TSDataType, TSEncoding]] = frozenset(
    [(t, E.PLAIN) for t in _ALL]
    + [(t, e) for t in _INTS for e in (E.RLE, E.TS_2DIFF, E.GORILLA)]
    + [(t, E.ZIGZAG) for t in (T.INT32, T.INT64)]
    + [(t, e) for t in _FLOATS for e in (E.TS_2DIFF, E.GORILLA)]
    + [(t, E.DICTIONARY) for t in (T.TEXT, T.STRING)]
)

_ENCODERS: dict[tuple[TSDataType, TSEncoding], Encoder] = {}
_DECODERS: dict[tuple[TSDataType, TSEncoding], Decoder] = {}


def register(
    types: tuple[TSDataType, ...], encoding: TSEncoding, encoder: Encoder | None, decoder: Decoder
) -> None:
    """Add a codec for `types` (used by the codec modules of this package)."""
    for t in types:
        if encoder is not None:
            _ENCODERS[(t, encoding)] = encoder
        _DECODERS[(t, encoding)] = decoder


def _bits(data_type: TSDataType) -> int:
    return 32 if data_type in _INT32 or data_type is T.FLOAT else 64


def _is_float(data_type: TSDataType) -> bool:
    return data_type in _FLOATS


def _rle_decoded(b: bytes, bits: int, n: int) -> np.ndarray:
    return decode_rle(b, bits, n)[0]


def _encode_scaled(encoding: TSEncoding) -> Encoder:
    ints = {E.TS_2DIFF: encode_ts2diff, E.RLE: encode_rle}[encoding]

    def encoder(v: np.ndarray, t: TSDataType, p: Props) -> bytes:
        bits = _bits(t)
        return encode_scaled(v, bits, max_point_number(p), lambda i: ints(i, bits))

    return encoder


def _decode_scaled(encoding: TSEncoding) -> Decoder:
    decoders: dict[TSEncoding, Callable[[bytes, int, int], np.ndarray]] = {
        E.TS_2DIFF: decode_ts2diff,
        E.RLE: _rle_decoded,
    }
    ints = decoders[encoding]

    def decoder(b: bytes, t: TSDataType, n: int, p: Props) -> np.ndarray:
        bits = _bits(t)
        return decode_scaled(b, bits, n, lambda raw, k: ints(raw, bits, k))

    return decoder


def _decode_float_rlbe(b: bytes, t: TSDataType, n: int, p: Props) -> np.ndarray:
    """C++ writes FLOAT/DOUBLE RLBE over the IEEE bits (lossless); Java through the scaling
    FloatEncoder, whose stream starts with a non-zero uvar (maxPointNumber or a form flag)
    where the C++ block size starts with a zero byte."""
    bits = _bits(t)
    if n and b and b[0] != 0:
        return decode_scaled(b, bits, n, lambda raw, k: decode_rlbe(raw, bits, k))
    return decode_rlbe(b, bits, n).view(t.numpy_dtype)


def _decode_gorilla(b: bytes, t: TSDataType, n: int, p: Props) -> np.ndarray:
    return decode_gorilla(b, _bits(t), n).view(t.numpy_dtype)


register(
    _ALL,
    E.PLAIN,
    lambda v, t, p: encode_plain(v, t),
    lambda b, t, n, p: decode_plain(b, t, n),
)
register(
    _INTS,
    E.TS_2DIFF,
    lambda v, t, p: encode_ts2diff(v, _bits(t)),
    lambda b, t, n, p: decode_ts2diff(b, _bits(t), n),
)

register(
    _INTS,
    E.RLE,
    lambda v, t, p: encode_rle(v, _bits(t)),
    lambda b, t, n, p: _rle_decoded(b, _bits(t), n),
)
register(
    (T.BOOLEAN,),
    E.RLE,
    lambda v, t, p: encode_rle(np.asarray(v, dtype=np.bool_).astype(np.int32), 32),
    lambda b, t, n, p: _rle_decoded(b, 32, n) != 0,
)
for _enc in (E.TS_2DIFF, E.RLE):
    register(_FLOATS, _enc, _encode_scaled(_enc), _decode_scaled(_enc))
register(
    _INTS + _FLOATS,
    E.GORILLA,
    lambda v, t, p: encode_gorilla(np.asarray(v, dtype=t.numpy_dtype), _bits(t), _is_float(t)),
    _decode_gorilla,
)
register(
    (T.INT32, T.INT64),
    E.ZIGZAG,
    lambda v, t, p: encode_zigzag(v, _bits(t)),
    lambda b, t, n, p: decode_zigzag(b, _bits(t), n),
)
# IoTDB 2.x writes TIMESTAMP (and DATE) series created WITH ENCODING=ZIGZAG as the long (int)
# zigzag stream: read them; we still write those pairs with the type's default encoding.
register(
    (T.DATE, T.TIMESTAMP),
    E.ZIGZAG,
    None,
    lambda b, t, n, p: decode_zigzag(b, _bits(t), n),
)
register(
    (T.TEXT, T.STRING),
    E.DICTIONARY,
    lambda v, t, p: encode_dictionary(v),
    lambda b, t, n, p: decode_dictionary(b, n),
)

register(
    _INTS + _FLOATS,
    E.CHIMP,
    None,
    lambda b, t, n, p: decode_chimp(b, _bits(t), n).view(t.numpy_dtype),
)
register(
    (T.INT32, T.INT64, *_FLOATS),
    E.SPRINTZ,
    None,
    lambda b, t, n, p: decode_sprintz(b, _bits(t), n, _is_float(t)).view(t.numpy_dtype),
)
register(_INTS, E.RLBE, None, lambda b, t, n, p: decode_rlbe(b, _bits(t), n))
register(_FLOATS, E.RLBE, None, _decode_float_rlbe)


def writable(data_type: TSDataType, encoding: TSEncoding) -> bool:
    """Whether our writer writes `data_type` values with `encoding` (never CAMEL, GORILLA_V1)."""
    return (TSDataType(data_type), TSEncoding(encoding)) in _WRITABLE


def encodable(data_type: TSDataType, encoding: TSEncoding) -> bool:
    """Whether `encode` can write `data_type` values with `encoding` (some pairs are read only:
    CHIMP, SPRINTZ, RLBE, and IoTDB 2.x's ZIGZAG for DATE/TIMESTAMP)."""
    return (TSDataType(data_type), TSEncoding(encoding)) in _ENCODERS


def readable(data_type: TSDataType, encoding: TSEncoding) -> bool:
    """Whether `decode` can read `data_type` values written with `encoding`."""
    return (TSDataType(data_type), TSEncoding(encoding)) in _DECODERS


def encode(
    values: np.ndarray,
    data_type: TSDataType,
    encoding: TSEncoding,
    props: Props = None,
) -> bytes:
    """Encode one page's non-null values; the encoder is flushed at the end.

    `values` are in the numpy layout of `pipecore_storage.types`. Raises
    UnsupportedFormatError for a pair without an encoder, UnencodableValuesError when the
    values cannot be encoded losslessly with `encoding` (GORILLA and a NaN / MIN_VALUE).
    """
    key = (TSDataType(data_type), TSEncoding(encoding))
    encoder = _ENCODERS.get(key)
    if encoder is None:
        raise UnsupportedFormatError(f"cannot encode {key[0].name} values with {key[1].name}")
    arr = values if isinstance(values, np.ndarray) else np.asarray(values)
    return encoder(arr, key[0], props)


def decode(
    buf: bytes | memoryview,
    data_type: TSDataType,
    encoding: TSEncoding,
    count: int,
    props: Props = None,
) -> np.ndarray:
    """Decode exactly `count` values of one page's value stream.

    Raises EncodingError (a CorruptFileError; offset relative to `buf`) for a stream that is
    short or malformed, UnsupportedFormatError for an encoding we cannot read.
    """
    key = (TSDataType(data_type), TSEncoding(encoding))
    decoder = _DECODERS.get(key)
    if decoder is None:
        raise UnsupportedFormatError(
            f"cannot decode {key[0].name} values encoded with {key[1].name}"
        )
    if count < 0:
        raise EncodingError(None, None, f"negative value count {count}")
    data = buf if isinstance(buf, bytes) else bytes(buf)
    return decoder(data, key[0], count, props)


def encode_times(times: np.ndarray) -> bytes:
    """The time column of a page: TS_2DIFF over int64."""
    return encode_ts2diff(np.asarray(times, dtype=np.int64), 64)


def decode_times(buf: bytes | memoryview, count: int | None = None) -> np.ndarray:
    """Decode a TS_2DIFF time column: `count` times, or every block in `buf` if None."""
    if count is not None and count < 0:
        raise EncodingError(None, None, f"negative time count {count}")
    return decode_ts2diff(buf, 64, count)
