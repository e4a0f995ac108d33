"""IoTDB 2.x's binary `.mods2`: the bytes a real IoTDB 2.0.1 DataNode wrote after
``delete from root.t1.d.a where time <= 3`` and ``delete from root.t1.al.** where time >= 8``
(tests/interop checks the same against a live server)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipecore_storage.errors import CorruptFileError
from pipecore_storage.mods import MAX_TIME, MIN_TIME, Deletion, read_mods, read_mods_beside
from pipecore_storage.mods_v2 import encode_mods_v2, parse_mods_v2

FROM_IOTDB = bytes.fromhex(
    "01" "8000000000000000" "0000000000000003" "16" + b"root.t1.d.a".hex()
    + "01" "0000000000000008" "7fffffffffffffff" "1a" + b"root.t1.al.**".hex()
)  # fmt: skip
WANT = [Deletion("root.t1.d.a", MIN_TIME, 3), Deletion("root.t1.al.**", 8, MAX_TIME)]


def test_reads_the_file_iotdb_wrote(tmp_path: Path) -> None:
    tsfile = tmp_path / "1-1-0-0.tsfile"
    (tmp_path / "1-1-0-0.tsfile.mods2").write_bytes(FROM_IOTDB)
    assert read_mods_beside(tsfile) == WANT
    # a received mods file renamed <tsfile>.mods is recognised by its content
    (tmp_path / "1-1-0-0.tsfile.mods").write_bytes(FROM_IOTDB)
    assert read_mods(tmp_path / "1-1-0-0.tsfile.mods") == WANT
    assert encode_mods_v2(WANT) == FROM_IOTDB


def test_a_cut_short_last_record_is_ignored() -> None:
    assert parse_mods_v2(None, FROM_IOTDB[:-3]) == WANT[:1]


@pytest.mark.parametrize("first", [0x00, 0x07])
def test_table_and_unknown_records_are_refused(first: int) -> None:
    with pytest.raises(CorruptFileError):
        parse_mods_v2(None, bytes([first]) + FROM_IOTDB[1:])


@given(
    st.lists(
        st.builds(
            Deletion,
            st.from_regex(r"root(\.[a-z0-9_]{1,8}){1,4}(\.\*\*)?", fullmatch=True),
            st.integers(MIN_TIME, MAX_TIME),
            st.integers(MIN_TIME, MAX_TIME),
        ),
        max_size=5,
    )
)
def test_round_trip(deletions: list[Deletion]) -> None:
    assert parse_mods_v2(None, encode_mods_v2(deletions)) == deletions
