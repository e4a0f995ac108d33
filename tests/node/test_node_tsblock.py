"""TsBlocks (query results on the wire): our decoder and IoTDB's Python client read what we
encode the same way; damaged blocks are refused, never crash."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from iotdb.tsfile.utils.tsblock_serde import deserialize

from pipecore.rpc import RpcProtocolError
from pipecore.rpc.tsblock import decode_tsblock, encode_tsblock
from pipecore_storage.types import TSDataType

TYPES = [
    TSDataType.BOOLEAN,
    TSDataType.INT32,
    TSDataType.INT64,
    TSDataType.FLOAT,
    TSDataType.DOUBLE,
    TSDataType.TEXT,
    TSDataType.STRING,
    TSDataType.BLOB,
    TSDataType.DATE,
    TSDataType.TIMESTAMP,
]


def _values(data_type: TSDataType) -> st.SearchStrategy:
    if data_type is TSDataType.BOOLEAN:
        return st.booleans()
    if data_type in (TSDataType.INT32, TSDataType.DATE):
        return st.integers(-(2**31), 2**31 - 1)
    if data_type in (TSDataType.INT64, TSDataType.TIMESTAMP):
        return st.integers(-(2**63), 2**63 - 1)
    if data_type is TSDataType.FLOAT:
        return st.floats(width=32, allow_nan=False)
    if data_type is TSDataType.DOUBLE:
        return st.floats(allow_nan=False)
    if data_type is TSDataType.BLOB:
        return st.binary(max_size=8)
    return st.text(max_size=8)


@st.composite
def blocks(draw):
    n = draw(st.integers(0, 20))
    times = np.array(draw(st.lists(st.integers(-(2**63), 2**63 - 1), min_size=n, max_size=n)))
    types = draw(st.lists(st.sampled_from(TYPES), min_size=0, max_size=5))
    values, masks = [], []
    for data_type in types:
        items = draw(st.lists(_values(data_type), min_size=n, max_size=n))
        mask = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
        column = np.empty(n, dtype=data_type.numpy_dtype)
        if column.dtype == object:
            column[:] = [None if m else v for v, m in zip(items, mask, strict=True)]
        else:
            column[:] = [0 if m else v for v, m in zip(items, mask, strict=True)] if n else []
        values.append(column)
        masks.append(mask if draw(st.booleans()) else (None if not mask.any() else mask))
    return np.asarray(times, np.int64).reshape(n), types, values, masks


@settings(max_examples=300, deadline=None)
@given(blocks())
def test_round_trip_and_the_official_reader_agree(block) -> None:
    times, types, values, masks = block
    data = encode_tsblock(times, types, values, masks)
    got_times, got_types, got_values, got_masks = decode_tsblock(data, types)
    assert got_types == types and got_times.tolist() == times.tolist()
    official_times, official_values, official_nulls, count = deserialize(memoryview(data))
    assert int(count) == len(times) and official_times.tolist() == times.tolist()
    for i, data_type in enumerate(types):
        mask = masks[i] if masks[i] is not None else np.zeros(len(times), bool)
        got_mask = got_masks[i] if got_masks[i] is not None else np.zeros(len(times), bool)
        assert got_mask.tolist() == mask.tolist()
        present = ~mask
        assert got_values[i][present].tolist() == values[i][present].tolist()
        official = official_values[i]
        if data_type is TSDataType.BOOLEAN:
            official = official[present]
        if data_type in (TSDataType.TEXT, TSDataType.STRING):
            official = [b.decode() for b in official]
        elif data_type is TSDataType.BLOB:
            official = [bytes(b) for b in official]
        assert list(official) == values[i][present].tolist()
        official_null = official_nulls[i]
        assert (official_null.tolist() if official_null is not None else [False] * len(times)) == (
            mask.tolist()
        )


@settings(max_examples=300, deadline=None)
@given(blocks(), st.data())
def test_damaged_blocks_are_refused(block, data) -> None:
    encoded = encode_tsblock(*block)
    cut = data.draw(st.integers(0, max(0, len(encoded) - 1)))
    try:
        decode_tsblock(encoded[:cut])
    except RpcProtocolError:
        return
    # a prefix can only decode when the rest was empty columns
    assert cut >= 4


def test_an_unknown_type_or_encoding_is_a_protocol_error() -> None:
    with pytest.raises(RpcProtocolError, match="unknown data type"):
        decode_tsblock(b"\x00\x00\x00\x01\x63\x00\x00\x00\x00\x02\x01\x00")
    with pytest.raises(RpcProtocolError, match="encoding 9"):
        decode_tsblock(b"\x00\x00\x00\x00\x00\x00\x00\x01\x09")
