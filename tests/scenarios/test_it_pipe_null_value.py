"""IoTDB's IoTDBPipeNullValueIT (pipe/it/dual/treemodel/auto/enhanced): a partly null row
(time 3: s0 null, s1 25.34) and an all-null row (time 4) written by SQL, by the session's
insertRecord and by insertTablet, aligned or not, sent with or without parsing (a time range
and a pattern on the source): the receiver counts no s0 point and one s1 point.

The Java session's insertRecord drops null values and skips a record that has none left; the
Python client does the same for a partly null record but fails on an all-null one (``zip`` of
nothing), so the all-null record is skipped here as the Java session skips it.
"""

from __future__ import annotations

import pytest
from iotdb.utils.IoTDBConstants import TSDataType
from iotdb.utils.Tablet import Tablet
from iotdb_it import assert_data_eventually, create_pipe

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]

DEVICE = "root.sg.d1"
MEASUREMENTS = ["s0", "s1"]
TYPES = [TSDataType.FLOAT, TSDataType.FLOAT]
CREATE = [
    "create timeseries root.sg.d1.s0 with datatype=float",
    "create timeseries root.sg.d1.s1 with datatype=float",
]
CREATE_ALIGNED = ["create aligned timeseries root.sg.d1(s0 float, s1 float)"]


def _sql(sender, aligned: bool) -> None:
    word = " aligned" if aligned else ""
    sender.execute(f"insert into root.sg.d1(time, s0, s1){word} values (3, null, 25.34)")
    sender.execute(f"insert into root.sg.d1(time, s0, s1){word} values (4, null, null)")


def _record(sender, aligned: bool) -> None:
    session = sender.client()
    insert = session.insert_aligned_record if aligned else session.insert_record
    insert(DEVICE, 3, MEASUREMENTS, TYPES, [None, 25.34])
    # (4, [None, None]): skipped by the Java session, see the module docstring


def _tablet(sender, aligned: bool) -> None:
    session = sender.client()
    insert = session.insert_aligned_tablet if aligned else session.insert_tablet
    insert(Tablet(DEVICE, MEASUREMENTS, TYPES, [[None, 25.34]], [3]))
    insert(Tablet(DEVICE, MEASUREMENTS, TYPES, [[None, None]], [4]))


INSERTS = {"sql": _sql, "record": _record, "tablet": _tablet}


@pytest.mark.parametrize("parsing", [True, False], ids=["WithParsing", "WithoutParsing"])
@pytest.mark.parametrize("aligned", [False, True], ids=["", "Aligned"])
@pytest.mark.parametrize(
    "insert",
    [
        pytest.param("sql", id="testSQLInsert"),
        pytest.param("record", id="testSessionInsertRecord"),
        pytest.param("tablet", id="testSessionInsertTablet"),
    ],
)
def test_insert_null_value(auto_env, insert: str, aligned: bool, parsing: bool) -> None:
    """test{SQLInsert,SessionInsertRecord,SessionInsertTablet}[Aligned]With[out]Parsing."""
    sender, receiver = auto_env
    source = {"user": "root"}
    if parsing:
        source |= {
            "start-time": "1970-01-01T08:00:00.000+08:00",
            "end-time": "1970-01-01T09:00:00.000+08:00",
            "source.pattern": "root.sg.d1",
        }
    create_pipe(
        sender,
        "test",
        source=source,
        sink={"sink": "iotdb-thrift-sink", "sink.ip": "127.0.0.1", "sink.port": str(receiver.port)},
    )
    ddl = CREATE_ALIGNED if aligned else CREATE
    receiver.execute(*ddl)
    sender.execute(*ddl)
    INSERTS[insert](sender, aligned)
    sender.execute("flush")
    assert_data_eventually(
        receiver,
        "select count(*) from root.sg.**",
        "count(root.sg.d1.s0),count(root.sg.d1.s1),",
        ["0,1,"],
    )
