"""Session writes as store tablets: one call's rows checked against the schema, then written
as one atomic batch (`Store.insert_tablets`) — every row of the call or none.

* An ``insertTablet`` of N rows is ONE tablet (one WAL entry, one pipe event), an
  ``insertTablets`` one tablet per device tablet; each record of ``insertRecord(s)``,
  ``insertStringRecord(s)`` and ``insert(String)RecordsOfOneDevice`` is a one-row tablet.
* A value whose type differs from the series' registered type is cast where IoTDB casts it
  (``TypeInferenceUtils.canAutoCast``: INT32 → INT64/FLOAT/DOUBLE, INT64/FLOAT → DOUBLE;
  TEXT and STRING are the same values); any other difference is DATA_TYPE_MISMATCH (614).
* The device's alignment is the device's: a non-aligned call writing an aligned device (or the
  other way round) writes it as the device is, as IoTDB ≥ 1.2 does.
* A device below a path with a schema template set gets the template's series on its first
  write (IoTDB's template activation; see `templates`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from pipecore_storage import MeasurementSchema, Tablet
from pipecore_storage.errors import SchemaError
from pipecore_storage.paths import canonical_device, validate_measurement
from pipecore_storage.types import TSDataType

from .errors import DATA_TYPE_MISMATCH, ILLEGAL_PARAMETER, ILLEGAL_PATH, ClientCallError
from .strings import infer_string_type, parse_string

if TYPE_CHECKING:
    from ...schema_templates import SchemaTemplates

__all__ = ["Row", "TabletBuilder"]

Row = tuple[str, int, list[str], list[tuple[TSDataType | None, object]]]
"""(device, timestamp, measurements, [(data type or None for a raw string, value)])."""

_CASTS: dict[TSDataType, frozenset[TSDataType]] = {
    TSDataType.INT32: frozenset({TSDataType.INT64, TSDataType.FLOAT, TSDataType.DOUBLE}),
    TSDataType.INT64: frozenset({TSDataType.DOUBLE}),
    TSDataType.FLOAT: frozenset({TSDataType.DOUBLE}),
    TSDataType.TEXT: frozenset({TSDataType.STRING}),
    TSDataType.STRING: frozenset({TSDataType.TEXT}),
}


def _device(device: str) -> str:
    try:
        return canonical_device(device)[0]
    except SchemaError as exc:
        raise ClientCallError(
            ILLEGAL_PATH, f"{device} is not a legal path: {exc}", device
        ) from None


def _measurements(device: str, names: Sequence[str]) -> list[str]:
    for name in names:
        try:
            validate_measurement(device, name)
        except SchemaError as exc:
            raise ClientCallError(ILLEGAL_PATH, str(exc), f"{device}.{name}") from None
    if len(set(names)) != len(names):
        seen: set[str] = set()
        twice = next(n for n in names if n in seen or seen.add(n))  # type: ignore[func-returns-value]
        raise ClientCallError(
            ILLEGAL_PARAMETER,
            f"Insertion contains duplicated measurement: {twice} (device {device})",
            f"{device}.{twice}",
        )
    return list(names)


def _cast_error(path: str, registered: TSDataType, given: TSDataType, sample: object):
    return ClientCallError(
        DATA_TYPE_MISMATCH,
        f"data type of {path} is not consistent, registered type {registered.name}, "
        f"inserting type {given.name}, value {sample!r}",
        path,
    )


class TabletBuilder:
    """Builds the store tablets of one client call against the node's current schema."""

    def __init__(self, store: Any, templates: SchemaTemplates | None = None) -> None:
        self.store = store
        self.templates = templates
        # (device as sent, measurements) already checked: a client repeats the same tablet
        # shape call after call (bounded; cleared when full)
        self._checked: dict[tuple[str, tuple[str, ...]], tuple[str, list[str]]] = {}
        self._schemas: dict[tuple[str, TSDataType], MeasurementSchema] = {}

    # ------------------------------------------------------------ schema lookups
    def _prepare_device(self, device: str) -> bool | None:
        """Activate a template on first write; the device's alignment (None: new device)."""
        aligned = self.store.device_aligned(device)
        if aligned is None and self.templates is not None:
            self.templates.activate_on_write(self.store, device)
            aligned = self.store.device_aligned(device)
        return aligned

    def _registered(self, device: str, measurement: str) -> TSDataType | None:
        info = self.store.series(f"{device}.{measurement}")
        return None if info is None else info.data_type

    # ------------------------------------------------------------ tablets
    def tablet(
        self,
        device: str,
        measurements: Sequence[str],
        data_types: Sequence[TSDataType],
        times: np.ndarray,
        columns: Sequence[np.ndarray],
        masks: Sequence[np.ndarray | None],
        aligned: bool,
    ) -> Tablet:
        device, names = self._checked_names(device, measurements)
        existing = self._prepare_device(device)
        types = self.store.device_types(device) or {}
        schemas, out = [], []
        for name, given, column, mask in zip(names, data_types, columns, masks, strict=True):
            registered = types.get(name)
            if registered is None and types:  # new here, or an alias of a series
                registered = self._registered(device, name)
            if registered is not None and registered != given:
                column = self._cast_column(f"{device}.{name}", registered, given, column, mask)
                given = registered
            schemas.append(self._schema(name, given))
            out.append(column)
        return Tablet(
            device, schemas, times, out, list(masks), aligned if existing is None else existing
        )

    def _schema(self, name: str, data_type: TSDataType) -> MeasurementSchema:
        """The (immutable) schema of a measurement, built once per name and type."""
        schema = self._schemas.get((name, data_type))
        if schema is None:
            if len(self._schemas) >= 4096:
                self._schemas.clear()
            schema = self._schemas[(name, data_type)] = MeasurementSchema(name, data_type)
        return schema

    def _checked_names(self, device: str, measurements: Sequence[str]) -> tuple[str, list[str]]:
        key = (device, tuple(measurements))
        checked = self._checked.get(key)
        if checked is None:
            canonical = _device(device)
            checked = (canonical, _measurements(canonical, measurements))
            if len(self._checked) >= 1024:
                self._checked.clear()
            self._checked[key] = checked
        return checked[0], list(checked[1])

    def _cast_column(self, path, registered, given, column, mask) -> np.ndarray:
        if registered not in _CASTS.get(given, frozenset()):
            valid = column if mask is None else column[~mask]
            sample = valid[0].item() if len(valid) and valid.dtype != object else valid[:1]
            raise _cast_error(path, registered, given, sample)
        return column.astype(registered.numpy_dtype)

    # ------------------------------------------------------------ records
    def record_tablets(self, rows: Sequence[Row], aligned: bool) -> list[Tablet]:
        """One one-row tablet per record (records without a value give none)."""
        tablets = []
        for device, timestamp, measurements, values in rows:
            device = _device(device)
            names = _measurements(device, measurements)
            existing = self._prepare_device(device)
            schemas, columns = [], []
            for name, (given, value) in zip(names, values, strict=True):
                if value is None:
                    continue
                data_type, value = self._record_value(device, name, given, value, timestamp)
                if data_type is None:
                    continue  # the string "null"
                schemas.append(MeasurementSchema(name, data_type))
                column = np.empty(1, dtype=data_type.numpy_dtype)
                column[0] = value
                columns.append(column)
            if schemas:
                tablets.append(
                    Tablet(
                        device,
                        schemas,
                        np.array([timestamp], dtype=np.int64),
                        columns,
                        [],
                        aligned if existing is None else existing,
                    )
                )
        return tablets

    def _record_value(self, device, name, given, value, timestamp):
        path = f"{device}.{name}"
        registered = self._registered(device, name)
        if given is None:  # a string: parse by the series type, or infer one
            if registered is not None:
                return registered, parse_string(value, registered, path, timestamp)
            inferred = infer_string_type(value, self.store.config)
            if inferred is None:
                return None, None
            return inferred, parse_string(value, inferred, path, timestamp)
        if registered is None or registered == given:
            return given, value
        if registered in _CASTS.get(given, frozenset()):
            if registered in (TSDataType.FLOAT, TSDataType.DOUBLE):
                return registered, float(value)
            return registered, value
        raise _cast_error(path, registered, given, value)
