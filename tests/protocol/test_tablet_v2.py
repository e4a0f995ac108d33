"""IoTDB 2.x's tablet requests (types 11 and 13): the category byte after each schema, the
database name after each item, the conversion of pipecore's 1.3 requests, table-model refusal."""

from __future__ import annotations

import numpy as np
import pytest

from pipecore_storage.tablet import MeasurementSchema, Tablet
from pipecore_storage.types import TSDataType
from pipecore_thrift_sink.protocol import (
    PipeProtocolError,
    PipeRequestType,
    decode_tablet_batch_v2,
    decode_tablet_raw,
    decode_tablet_raw_v2,
    encode_tablet_batch,
    encode_tablet_raw,
    encode_tablet_raw_v2,
    probe_body,
    to_iotdb2_request,
)


def _tablet(aligned: bool = False) -> Tablet:
    schemas = [MeasurementSchema("a", TSDataType.INT64), MeasurementSchema("s", TSDataType.TEXT)]
    times = np.arange(4, dtype=np.int64)
    cols = [np.arange(4, dtype=np.int64) * 3, np.array(["w", "x", "", "z"], dtype=object)]
    masks = [np.array([False, True, False, False]), None]
    return Tablet("root.sg.d", schemas, times, cols, masks, aligned)


def test_v2_is_v1_plus_a_field_category_per_schema_and_a_null_database() -> None:
    tablet = _tablet()
    v1, v2 = encode_tablet_raw(tablet), encode_tablet_raw_v2(tablet)
    assert len(v2) == len(v1) + 2 + 4  # two category bytes, a null String (i32 -1)
    assert v2.endswith(b"\x00\xff\xff\xff\xff")  # isAligned false, database null
    assert decode_tablet_raw_v2(v2).equals(decode_tablet_raw(v1))


def test_pipecore_requests_become_iotdb2_requests() -> None:
    tablet = _tablet(aligned=True)
    type_, body = to_iotdb2_request(PipeRequestType.TRANSFER_TABLET_RAW, encode_tablet_raw(tablet))
    assert type_ == PipeRequestType.TRANSFER_TABLET_RAW_V2
    assert decode_tablet_raw_v2(body).equals(tablet)
    type_, body = to_iotdb2_request(
        PipeRequestType.TRANSFER_TABLET_BATCH, encode_tablet_batch([tablet, tablet])
    )
    assert type_ == PipeRequestType.TRANSFER_TABLET_BATCH_V2
    batch = decode_tablet_batch_v2(body)
    assert len(batch.tablets) == 2 and all(t.equals(tablet) for t in batch.tablets)
    assert to_iotdb2_request(PipeRequestType.TRANSFER_TS_FILE_PIECE, b"x") == (4, b"x")


def test_the_probe_is_an_empty_tree_model_tablet() -> None:
    tablet = decode_tablet_raw_v2(probe_body())
    assert tablet.row_count == 0 and tablet.measurements == []


@pytest.mark.parametrize("what", ["database", "category"])
def test_table_model_data_is_refused(what: str) -> None:
    body = bytearray(encode_tablet_raw_v2(_tablet()))
    if what == "database":
        body = body[:-4] + b"\x00\x00\x00\x02db"
        match = "table-model data"
    else:
        at = body.index(b"\x00\x00\x00\x01a") + 5 + 3 + 4  # name, type/enc/comp, props
        assert body[at] == 1  # FIELD
        body[at] = 0  # TAG
        match = "column category 0"
    with pytest.raises(PipeProtocolError, match=match):
        decode_tablet_raw_v2(bytes(body))
