"""Value streams cut out of the official writer's files decode to the sidecar's points, and
our encoders reproduce the official bytes where the policy is the same.

A tiny test-local walker finds the pages (tsfile-format.md §1); the file layer proper lives
elsewhere.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from tsfile_page_walker import chunks

from pipecore_storage.tsfile.encoding import decode, decode_times, encode, encode_times, read_uvar
from pipecore_storage.types import TSDataType, TSEncoding

OFFICIAL = Path("/work/shared/conformance/official")
if not OFFICIAL.exists():  # CI: shared/ sits beside the clone
    OFFICIAL = Path(__file__).resolve().parents[3] / "shared" / "conformance" / "official"
pytestmark = pytest.mark.skipif(not OFFICIAL.exists(), reason="official conformance files absent")


def _sidecar_value(value: object, dtype: TSDataType) -> object:
    if dtype is TSDataType.DATE:  # "2024-01-01" -> 20240101
        return int(str(value).replace("-", ""))
    if dtype is TSDataType.BLOB:  # {"hex": "0102"}
        return bytes.fromhex(value["hex"])  # type: ignore[index]
    return value


def _expected(series: dict) -> tuple[list[int], list]:
    dtype = TSDataType[series["type"]]
    points = [p for p in series["points"] if p[1] is not None]
    return [p[0] for p in points], [_sidecar_value(p[1], dtype) for p in points]


def _same(got: np.ndarray, want: list, dtype: TSDataType) -> None:
    if dtype in (TSDataType.FLOAT, TSDataType.DOUBLE):
        assert len(got) == len(want)
        for g, w in zip(got.tolist(), want, strict=True):
            assert (math.isnan(g) and math.isnan(w)) or g == pytest.approx(w, rel=1e-6, abs=1e-6)
    else:
        assert got.tolist() == want


def _tree_pages():
    meta = json.loads((OFFICIAL / "tree_multi.tsfile.json").read_text())
    series = {(s["device"], s["measurement"]): s for s in meta["series"]}
    for device, name, dtype, enc, _marker, pages in chunks(OFFICIAL / "tree_multi.tsfile"):
        yield series[(device, name)], dtype, enc, pages


TREE = list(_tree_pages()) if OFFICIAL.exists() else []


@pytest.mark.parametrize(
    ("series", "dtype", "enc", "pages"),
    TREE,
    ids=[f"{s['measurement']}-{e.name}" for s, _, e, _ in TREE],
)
def test_official_pages_decode_to_the_sidecar_points(series, dtype, enc, pages) -> None:
    times_all, values_all = [], []
    for body in pages:
        tlen, pos = read_uvar(body, 0)
        times = decode_times(body[pos : pos + tlen])
        values = decode(body[pos + tlen :], dtype, enc, times.size)
        assert values.dtype == dtype.numpy_dtype
        times_all += times.tolist()
        values_all += values.tolist()
    want_t, want_v = _expected(series)
    assert times_all == want_t
    _same(np.array(values_all, dtype=dtype.numpy_dtype), want_v, dtype)


SAME_POLICY = {TSEncoding.PLAIN, TSEncoding.TS_2DIFF, TSEncoding.ZIGZAG, TSEncoding.DICTIONARY}


@pytest.mark.parametrize(
    ("series", "dtype", "enc", "pages"),
    TREE,
    ids=[f"{s['measurement']}-{e.name}" for s, _, e, _ in TREE],
)
def test_our_encoders_reproduce_the_official_bytes(series, dtype, enc, pages) -> None:
    for body in pages:
        tlen, pos = read_uvar(body, 0)
        tstream = body[pos : pos + tlen]
        times = decode_times(tstream)
        assert encode_times(times) == tstream
        vstream = body[pos + tlen :]
        values = decode(vstream, dtype, enc, times.size)
        ours = encode(values, dtype, enc)
        if enc in SAME_POLICY:
            assert ours == vstream
        else:  # a different but valid cut (RLE runs, Gorilla windows): same values
            np.testing.assert_array_equal(decode(ours, dtype, enc, times.size), values)
