"""jsonl-sink: writes every tablet as one JSON line (an example third-party pipecore sink)."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np

from pipecore import (
    Connector,
    DeletionEvent,
    Event,
    MeasurementSchema,
    PipeAttributeNotProvidedError,
    PipeParameters,
    PipeParameterValidator,
    RuntimeConfiguration,
    Tablet,
    TabletInsertionEvent,
    TSDataType,
    hookimpl,
)

__all__ = ["JsonlSink", "read_jsonl", "tablet_from_json", "tablet_to_json"]

_PATH_KEYS = ["sink.path", "connector.path"]
_FSYNC_KEYS = ["sink.fsync", "connector.fsync"]


def tablet_to_json(tablet: Tablet) -> dict[str, Any]:
    measurements = {}
    for i, schema in enumerate(tablet.schemas):
        column = tablet.columns[i]
        if schema.data_type == TSDataType.BLOB:
            values: list[Any] = [base64.b64encode(v).decode() for v in column]
        else:
            values = column.tolist()
        mask = tablet.null_masks[i]
        measurements[schema.name] = {
            "type": schema.data_type.name,
            "values": values,
            "nulls": None if mask is None else np.flatnonzero(mask).tolist(),
        }
    return {
        "device": tablet.device,
        "aligned": tablet.aligned,
        "timestamps": tablet.timestamps.tolist(),
        "measurements": measurements,
    }


def tablet_from_json(line: dict[str, Any]) -> Tablet:
    schemas, columns, masks = [], [], []
    rows = len(line["timestamps"])
    for name, column in line["measurements"].items():
        data_type = TSDataType[column["type"]]
        values = column["values"]
        if data_type == TSDataType.BLOB:
            values = [base64.b64decode(v) for v in values]
        mask = None
        if column["nulls"] is not None:
            mask = np.zeros(rows, dtype=bool)
            mask[column["nulls"]] = True
        schemas.append(MeasurementSchema(name, data_type))
        columns.append(values)
        masks.append(mask)
    return Tablet(line["device"], schemas, line["timestamps"], columns, masks, line["aligned"])


def read_jsonl(path: str | os.PathLike[str]) -> Iterator[Tablet]:
    """The tablets a jsonl-sink wrote to `path`, in order (deletion lines are skipped)."""
    with open(path, encoding="utf-8") as f:
        for line in f:
            record = json.loads(line)
            if "device" in record:
                yield tablet_from_json(record)


class JsonlSink(Connector):
    """One JSON line per tablet, appended to ``sink.path``."""

    _file: IO[str] | None = None

    def connector_validate(self, validator: PipeParameterValidator) -> None:
        parameters = validator.parameters
        if not parameters.has_any_attributes(*_PATH_KEYS):
            raise PipeAttributeNotProvidedError("sink.path")
        fsync = parameters.get_string_by_keys(*_FSYNC_KEYS)
        validator.validate(
            lambda: fsync is None or fsync.lower() in ("true", "false"),
            f"sink.fsync must be true or false, got {fsync!r}",
            key="sink.fsync",
        )

    def connector_customize(
        self, parameters: PipeParameters, configuration: RuntimeConfiguration
    ) -> None:
        path = Path(parameters.get_string_by_keys(*_PATH_KEYS) or "")
        self.path = path if path.is_absolute() else configuration.data_dir / path
        self.fsync = parameters.get_boolean_or_default(_FSYNC_KEYS, False)

    def connector_handshake(self) -> None:
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - kept open

    def _write(self, record: dict[str, Any]) -> None:
        if self._file is None:
            self.connector_handshake()
        assert self._file is not None
        self._file.write(json.dumps(record) + "\n")
        self._file.flush()
        if self.fsync:
            os.fsync(self._file.fileno())

    def connector_transfer_tablet(self, event: TabletInsertionEvent) -> None:
        self._write(tablet_to_json(event.tablet))

    def connector_transfer_event(self, event: Event) -> None:
        if isinstance(event, DeletionEvent):
            self._write(
                {"delete": event.path_pattern, "start": event.start_time, "end": event.end_time}
            )

    def connector_close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


@hookimpl
def register_pipe_plugins(register: Callable[..., None]) -> None:
    register("sink", "jsonl-sink", JsonlSink)
