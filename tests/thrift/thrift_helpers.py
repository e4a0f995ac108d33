"""Helpers of the thrift tests: a receiver on a free port, sinks opened as pipe stages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from pipecore import TabletInsertionEvent, TsFileInsertionEvent
from pipecore.rpc import RpcServer
from pipecore.server.receivers import ReceiverRegistry
from pipecore.server.users import UserStore
from pipecore.stage import Stage
from pipecore_storage import MeasurementSchema, Store, Tablet
from pipecore_thrift_sink import (
    IoTDBDataNodeReceiver,
    IoTDBThriftAsyncSink,
    IoTDBThriftSyncSink,
    IpWhiteList,
    ReceiverSettings,
)

SINKS = {
    "iotdb-thrift-sync-sink": IoTDBThriftSyncSink,
    "iotdb-thrift-async-sink": IoTDBThriftAsyncSink,
}
SENDER_CLUSTER = "11111111-aaaa-bbbb-cccc-000000000001"
RECEIVER_CLUSTER = "22222222-aaaa-bbbb-cccc-000000000002"


class Receiver:
    """An RpcServer with pipecore's receiver writing into `store`."""

    def __init__(self, tmp: Path, name: str = "receiver", **overrides: Any) -> None:
        self.store = Store.open(tmp / f"{name}-store", overrides.pop("store_config", None))
        self.registry = ReceiverRegistry()
        self.users = UserStore(tmp / f"{name}-users.json")
        self.settings = ReceiverSettings(
            store=self.store,
            cluster_id=overrides.pop("cluster_id", RECEIVER_CLUSTER),
            base_dir=tmp / f"{name}-pieces",
            white_list=IpWhiteList(overrides.pop("white_list", "127.0.0.1/32")),
            users=self.users,
            registry=self.registry,
            **overrides,
        )
        self.receivers: list[IoTDBDataNodeReceiver] = []
        self.wrap: Any = None  # wrap(receiver) -> what the server calls (tests that lie)
        self.server = RpcServer("127.0.0.1", 0)
        self.server.register_pipe_receiver(self._make)
        self.server.start()
        self.port = self.server.address[1]

    def _make(self, context: Any) -> Any:
        receiver = IoTDBDataNodeReceiver(self.settings, context.remote_address)
        self.receivers.append(receiver)
        return receiver if self.wrap is None else self.wrap(receiver)

    @property
    def url(self) -> str:
        return f"127.0.0.1:{self.port}"

    def points(self, pattern: str = "root.**") -> int:
        result = self.store.query(pattern)
        return int(sum((~m).sum() for m in result.null_masks))

    def close(self) -> None:
        self.server.stop()
        if not self.store.closed:
            self.store.close()


class OpenSink:
    """A sink opened as a pipe stage would be (validate, customize, handshake)."""

    def __init__(self, stage: Stage) -> None:
        self.stage = stage
        self.instance = stage.instance

    def tablet(self, tablet: Tablet, wait: bool = True) -> Any:
        outcome = self.stage.call["connector_transfer_tablet"](TabletInsertionEvent(tablet))
        if wait and outcome is not None:
            outcome.result(30)
        return outcome

    def tsfile(self, path: Path, index: dict[str, tuple[int, int]] | None = None) -> Any:
        event = TsFileInsertionEvent(path, index or {})
        outcome = self.stage.call["connector_transfer_tsfile"](event)
        if outcome is not None:
            outcome.result(60)
        return outcome

    def close(self) -> None:
        self.stage.close()


def double_tablet(device: str, start: int, rows: int, series: int = 3) -> Tablet:
    times = np.arange(start, start + rows, dtype=np.int64)
    schemas = [MeasurementSchema(f"s{j}", "DOUBLE") for j in range(series)]
    return Tablet(device, schemas, times, [times * (j + 1.5) for j in range(series)])


def read_back(store: Store, device: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """measurement -> (times, values) of the points of `device` in `store`."""
    out = {}
    for info in store.list_series(f"{device}.*"):
        out[info.measurement] = store.query(info.path).series(info.path)
    return out


def tablet_points(tablet: Tablet) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """measurement -> (times, values) of the non-null cells of `tablet`, sorted by time."""
    out = {}
    order = np.argsort(tablet.timestamps, kind="stable")
    for schema, column, mask in zip(tablet.schemas, tablet.columns, tablet.null_masks, strict=True):
        keep = order if mask is None else order[~mask[order]]
        out[schema.name] = (tablet.timestamps[keep], column[keep])
    return out


def assert_same_points(store: Store, tablet: Tablet) -> None:
    got = read_back(store, tablet.device)
    want = tablet_points(tablet)
    assert sorted(got) == sorted(k for k, v in want.items() if len(v[0])), tablet.device
    for name, (times, values) in want.items():
        if not len(times):
            continue
        got_times, got_values = got[name]
        assert np.array_equal(got_times, times), (tablet.device, name)
        assert list(got_values) == list(values), (tablet.device, name)
