"""Events: sizes for queue accounting, origins and commit ids, TsFile events and the default
conversion to tablet events."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from pipecore import (
    CLIENT,
    Connector,
    DeletionEvent,
    Event,
    HeartbeatEvent,
    Origin,
    Processor,
    TabletInsertionEvent,
    TsFileInsertionEvent,
)
from pipecore.events import matches_pattern
from pipecore_storage import MeasurementSchema, Tablet


def _tablet(device: str = "root.sg.d1", rows: int = 4) -> Tablet:
    schemas = [MeasurementSchema("s1", "INT64"), MeasurementSchema("s2", "TEXT")]
    times = np.arange(rows, dtype=np.int64)
    return Tablet(device, schemas, times, [times * 10, [f"v{t}" for t in times]])


def test_events_carry_origin_commit_id_and_progress() -> None:
    event = TabletInsertionEvent(_tablet())
    assert (event.origin, event.commit_id, event.progress) == (CLIENT, None, None)
    forwarded = TabletInsertionEvent(_tablet(), origin=Origin.pipe("cluster-a"), progress={"s": 1})
    assert forwarded.origin.generated_by_pipe and forwarded.origin.cluster_id == "cluster-a"
    derived = forwarded.derive(_tablet(rows=1))
    assert derived.origin == forwarded.origin and derived.progress is None
    assert DeletionEvent("root.sg.**", 1, 2).origin == CLIENT
    assert HeartbeatEvent().created_at > 0


def test_event_sizes_follow_the_data() -> None:
    small, big = TabletInsertionEvent(_tablet(rows=10)), TabletInsertionEvent(_tablet(rows=10_000))
    assert big.nbytes > 100 * small.nbytes / 2
    assert big.nbytes >= 10_000 * 8 * 2
    assert 0 < HeartbeatEvent().nbytes < 1024
    assert 0 < TsFileInsertionEvent("x.tsfile").nbytes < 1024  # the file is on disk


def test_tsfile_event_close_runs_its_callback_once(tmp_path: Path) -> None:
    closed = []
    path = tmp_path / "1-1-0-0.tsfile"
    path.write_bytes(b"TsFile")
    event = TsFileInsertionEvent(path, {"root.sg.d1": (0, 9)}, on_close=closed.append)
    assert event.get_tsfile() == path and event.file_size == 6
    event.close()
    event.close()
    assert closed == [event]


@pytest.mark.parametrize(
    ("pattern", "device", "measurement", "expected"),
    [
        (None, "root.sg.d1", "s1", True),
        ("root", "root.sg.d1", "s1", True),
        ("root.sg.d1", "root.sg.d1", "s1", True),
        ("root.sg.d1.s1", "root.sg.d1", "s1", True),
        ("root.sg.d1.s1", "root.sg.d1", "s2", False),
        ("root.sg.d2", "root.sg.d1", "s1", False),
        ("root.sg.d1", "root.sg.d10", "s1", True),  # IoTDB's legacy prefix is a string prefix
    ],
)
def test_prefix_patterns(pattern, device, measurement, expected) -> None:
    assert matches_pattern(pattern, device, measurement) is expected


class _FileWithTablets(TsFileInsertionEvent):
    """A TsFile event whose tablets are given (stands in for the reader of issue 3)."""

    tablets: ClassVar[list[Tablet]] = []

    def to_tablet_insertion_events(self, pattern=None, start=None, end=None):
        for tablet in self.tablets:
            yield TabletInsertionEvent(tablet, origin=self.origin, commit_id=self.commit_id)


def test_default_processor_turns_a_file_into_tablets_and_closes_it() -> None:
    closed = []
    _FileWithTablets.tablets = [_tablet("root.a"), _tablet("root.b")]
    event = _FileWithTablets("f.tsfile", on_close=closed.append, commit_id=7)
    collected: list[Event] = []

    class Sink:
        collect = collected.append

    Processor().processor_process_tsfile(event, Sink())
    assert [e.tablet.device for e in collected] == ["root.a", "root.b"]
    assert all(isinstance(e, TabletInsertionEvent) and e.commit_id == 7 for e in collected)
    assert closed == [event]


def test_default_connector_transfers_a_file_as_tablets() -> None:
    _FileWithTablets.tablets = [_tablet("root.a"), _tablet("root.b", rows=2)]
    received = []

    class Sink(Connector):
        def connector_transfer_tablet(self, event: TabletInsertionEvent) -> None:
            received.append(event.tablet.row_count)

    Sink().connector_transfer_tsfile(_FileWithTablets("f.tsfile"))
    assert received == [4, 2]
    with pytest.raises(NotImplementedError, match="Connector"):
        Connector().connector_transfer_tablet(TabletInsertionEvent(_tablet()))


@pytest.mark.waits_on(3)
def test_to_tablet_insertion_events_reads_the_file_by_pattern_and_range(tmp_path: Path):
    """Reads a real TsFile written by the official writer with pipecore's reader."""
    tsfile_module = pytest.importorskip("pipecore_storage.tsfile")
    if not hasattr(tsfile_module, "TsFileReader"):
        pytest.skip("waits on issue 3: pipecore_storage.tsfile.TsFileReader is not in main yet")
    official = pytest.importorskip("tsfile")
    path = tmp_path / "data.tsfile"
    writer = official.TsFileWriter(str(path))
    for device in ("root.sg.d1", "root.sg.d2"):
        writer.register_device(
            official.DeviceSchema(
                device, [official.TimeseriesSchema("s1", official.TSDataType.INT64)]
            )
        )
        tablet = official.Tablet(["s1"], [official.TSDataType.INT64], 10)
        tablet.set_table_name(device)
        for row in range(10):
            tablet.add_timestamp(row, row)
            tablet.add_value_by_index(0, row, row * 2)
        writer.write_tablet(tablet)
    writer.close()
    event = TsFileInsertionEvent(path, {"root.sg.d1": (0, 9), "root.sg.d2": (0, 9)}, commit_id=3)
    tablets = [e.tablet for e in event.to_tablet_insertion_events("root.sg.d1", 2, 5)]
    assert [t.device for t in tablets] == ["root.sg.d1"]
    assert tablets[0].timestamps.tolist() == [2, 3, 4, 5]
    assert tablets[0].columns[0].tolist() == [4, 6, 8, 10]
    assert {e.commit_id for e in event.to_tablet_insertion_events()} == {3}
