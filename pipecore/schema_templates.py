"""Schema templates of a node (IoTDB's "device templates"): named sets of measurements that are
set on a path and give every device below it the same series.

* ``create`` a template (measurements with data type, encoding, compressor; aligned or not);
  ``append`` / ``prune`` measurements; ``drop`` it when it is set nowhere.
* ``set`` it on a path (a database, or a path below one; the database is created as a write
  would create it), ``unset`` it when no device below uses it.
* A device below a set path **uses** (activates) the template when ``CREATE TIMESERIES OF
  SCHEMA TEMPLATE ON device`` runs or on its first write: the template's series are created
  in the store (real series: SHOW TIMESERIES lists them, pipes carry their data).
  ``deactivate`` (``DELETE TIMESERIES OF SCHEMA TEMPLATE`` / ``DEACTIVATE SCHEMA TEMPLATE``)
  deletes those series and their data.

Status codes are IoTDB's: 511 DUPLICATED_TEMPLATE, 512 UNDEFINED_TEMPLATE, 513
TEMPLATE_NOT_SET, 514 DIFFERENT_TEMPLATE, 515 TEMPLATE_IS_IN_USE, 527
MEASUREMENT_ALREADY_EXISTS_IN_TEMPLATE. A template's measurements are listed in the order
IoTDB's server lists them (the iteration order of its Java hash map).

The templates persist in ``<data dir>/system/schema_templates.json``, rewritten atomically on
each change. Each template has an id, given in creation order from a counter that never goes
back (IoTDB's ConfigNode ``TemplateTable`` numbers its templates so).

Pipes: every change is also handed to the store's schema subscribers as a record
(`Store.publish_schema`), in order with the data — ``create_template`` (``name``, ``id``,
``aligned``, ``measurements``: [name, type, encoding, compressor] lists), ``extend_template``
(``name``, ``measurements``), ``prune_template`` (``name``, ``measurement``),
``drop_template`` (``name``), ``set_template`` / ``unset_template`` (``name``, ``path``),
``activate_template`` (``device``, ``name``) and ``deactivate_template`` (``device``, and the
template's ``create_template`` record as ``definition``). The series an activation, an extension
or a deactivation creates or deletes carry ``"template": name`` in their store records: a pipe
sends the template's record instead (the receiver's template makes them). `schema_snapshot`
is the whole schema in those records, for a pipe's history.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import attrs

from pipecore_storage.errors import PipecoreError
from pipecore_storage.origin import CLIENT, Origin
from pipecore_storage.paths import join_path, parse_pattern, split_path
from pipecore_storage.types import CompressionType, TSDataType, TSEncoding, parse_enum

__all__ = [
    "SHARED_KEY",
    "SchemaTemplates",
    "Template",
    "TemplateError",
    "TemplateMeasurement",
    "java_hash_order",
]

#: the key of a node's `SchemaTemplates` in its `pipecore.host.NodeShared` (sources read it)
SHARED_KEY = "pipecore.schema_templates"

DUPLICATED_TEMPLATE = 511
UNDEFINED_TEMPLATE = 512
TEMPLATE_NOT_SET = 513
DIFFERENT_TEMPLATE = 514
TEMPLATE_IS_IN_USE = 515
MEASUREMENT_ALREADY_EXISTS_IN_TEMPLATE = 527
ILLEGAL_PATH = 509


class TemplateError(PipecoreError, ValueError):
    """A template operation refused with IoTDB's status `code`."""

    def __init__(self, code: int, message: str, name: str | None = None) -> None:
        self.code = code
        self.name = name
        super().__init__(message)


@attrs.frozen
class TemplateMeasurement:
    name: str
    data_type: TSDataType = attrs.field(converter=lambda v: parse_enum(TSDataType, v, "type"))
    encoding: TSEncoding = attrs.field(converter=lambda v: parse_enum(TSEncoding, v, "encoding"))
    compressor: CompressionType = attrs.field(
        converter=lambda v: parse_enum(CompressionType, v, "compressor")
    )

    def to_json(self) -> list[str]:
        return [self.name, self.data_type.name, self.encoding.name, self.compressor.name]


def _java_string_hash(text: str) -> int:
    h = 0
    for unit in text.encode("utf-16-be").hex(" ", 2).split():
        h = (31 * h + int(unit, 16)) & 0xFFFFFFFF
    return h


def java_hash_order(names: Iterable[str]) -> list[str]:
    """`names` in the iteration order of a Java HashMap they were put into in this order
    (bucket ``(h ^ h >>> 16) & (capacity - 1)``, capacity doubling past 0.75 load)."""
    ordered = list(dict.fromkeys(names))
    capacity = 16
    while len(ordered) > capacity * 3 // 4:
        capacity *= 2

    def bucket(name: str) -> int:
        h = _java_string_hash(name)
        return (h ^ (h >> 16)) & (capacity - 1)

    return sorted(ordered, key=bucket)  # stable: a bucket keeps insertion order


@attrs.define
class Template:
    name: str
    aligned: bool
    measurements: dict[str, TemplateMeasurement] = attrs.field(factory=dict)
    id: int = 0

    def ordered(self) -> list[TemplateMeasurement]:
        return [self.measurements[n] for n in java_hash_order(self.measurements)]

    def record(self) -> dict:
        """The ``create_template`` record of this template as it is now."""
        return {
            "op": "create_template",
            "name": self.name,
            "id": self.id,
            "aligned": self.aligned,
            "measurements": [m.to_json() for m in self.measurements.values()],
        }


def _nodes(path: str) -> tuple[str, ...]:
    try:
        return tuple(split_path(path))
    except PipecoreError as exc:
        raise TemplateError(ILLEGAL_PATH, f"{path} is not a legal path: {exc}") from None


class SchemaTemplates:
    """The templates of one node; thread-safe."""

    def __init__(self, path: Path, store: Any = None) -> None:
        self.path = path
        self.store = store  # where changes are published (`Store.publish_schema`); optional
        self._lock = threading.RLock()
        self.templates: dict[str, Template] = {}
        self.set_on: dict[str, str] = {}  # path -> template name
        self.activated: dict[str, str] = {}  # device -> template name
        self.next_id = 0
        if path.exists():
            self._load(json.loads(path.read_text("utf-8")))

    @classmethod
    def for_data_dir(cls, data_dir: str | os.PathLike[str], store: Any = None) -> SchemaTemplates:
        return cls(Path(data_dir) / "system" / "schema_templates.json", store)

    def _publish(self, store: Any, *records: dict, origin: Origin | None = None) -> None:
        store = store if store is not None else self.store
        publish = getattr(store, "publish_schema", None)
        if publish is not None:
            publish(list(records), origin=origin or CLIENT)

    # ------------------------------------------------------------ persistence
    def _load(self, data: dict[str, Any]) -> None:
        for i, (name, body) in enumerate(data.get("templates", {}).items()):
            t = Template(name, bool(body["aligned"]), id=int(body.get("id", i)))
            for m in body["measurements"]:
                t.measurements[m[0]] = TemplateMeasurement(*m)
            self.templates[name] = t
        self.set_on = dict(data.get("set_on", {}))
        self.activated = dict(data.get("activated", {}))
        ids = [t.id + 1 for t in self.templates.values()]
        self.next_id = max([int(data.get("next_id", 0)), *ids])

    def _save(self) -> None:
        data = {
            "templates": {
                t.name: {
                    "id": t.id,
                    "aligned": t.aligned,
                    "measurements": [m.to_json() for m in t.measurements.values()],
                }
                for t in self.templates.values()
            },
            "next_id": self.next_id,
            "set_on": self.set_on,
            "activated": self.activated,
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1), "utf-8")
        os.replace(tmp, self.path)

    # ------------------------------------------------------------ templates
    def get(self, name: str) -> Template:
        template = self.templates.get(name)
        if template is None:
            raise TemplateError(UNDEFINED_TEMPLATE, f"Template [{name}] does not exist", name)
        return template

    def create(
        self,
        name: str,
        measurements: Sequence[TemplateMeasurement],
        aligned: bool,
        *,
        origin: Origin | None = None,
    ) -> None:
        with self._lock:
            if name in self.templates:
                raise TemplateError(DUPLICATED_TEMPLATE, f"Duplicated template name: {name}", name)
            template = Template(name, aligned, id=self.next_id)
            self._add(template, measurements)
            self.templates[name] = template
            self.next_id += 1
            self._save()
            self._publish(None, template.record(), origin=origin)

    @staticmethod
    def _add(template: Template, measurements: Sequence[TemplateMeasurement]) -> None:
        for m in measurements:
            if m.name in template.measurements:
                raise TemplateError(
                    MEASUREMENT_ALREADY_EXISTS_IN_TEMPLATE,
                    f"Measurement {m.name} already exists in template {template.name}",
                    template.name,
                )
            template.measurements[m.name] = m

    def append(
        self,
        name: str,
        measurements: Sequence[TemplateMeasurement],
        store: Any = None,
        *,
        origin: Origin | None = None,
    ) -> None:
        with self._lock:
            template = self.get(name)
            trial = Template(name, template.aligned, dict(template.measurements), template.id)
            self._add(trial, measurements)
            template.measurements = trial.measurements
            self._save()
            record = {
                "op": "extend_template",
                "name": name,
                "measurements": [m.to_json() for m in measurements],
            }
            self._publish(store, record, origin=origin)
            if store is not None:
                for device, used in self.activated.items():
                    if used == name:
                        _create_series(store, device, template, measurements, origin)

    def prune(self, name: str, measurement: str, *, origin: Origin | None = None) -> None:
        with self._lock:
            template = self.get(name)
            self._not_set(name, "pruned")
            if template.measurements.pop(measurement, None) is None:
                raise TemplateError(
                    ILLEGAL_PATH, f"{measurement} is not a measurement of template {name}", name
                )
            self._save()
            record = {"op": "prune_template", "name": name, "measurement": measurement}
            self._publish(None, record, origin=origin)

    def drop(self, name: str, *, origin: Origin | None = None) -> None:
        with self._lock:
            self.get(name)
            self._not_set(name, "dropped")
            del self.templates[name]
            self._save()
            self._publish(None, {"op": "drop_template", "name": name}, origin=origin)

    def _not_set(self, name: str, what: str) -> None:
        if name in self.set_on.values():
            raise TemplateError(
                TEMPLATE_IS_IN_USE,
                f"Template [{name}] has been set on MTree, cannot be {what}.",
                name,
            )

    # ------------------------------------------------------------ set / unset
    def template_for(self, device: str) -> tuple[str, str] | None:
        """(path, template name) of the template set on `device` or above it."""
        nodes = _nodes(device)
        for k in range(len(nodes), 1, -1):
            path = join_path(nodes[:k])
            if path in self.set_on:
                return path, self.set_on[path]
        return None

    def set(self, name: str, path: str, store: Any, *, origin: Origin | None = None) -> None:
        nodes = _nodes(path)
        path = join_path(nodes)
        with self._lock:
            self.get(name)
            for other, used in self.set_on.items():
                other_nodes = split_path(other)
                related = (
                    nodes[: len(other_nodes)] == tuple(other_nodes)
                    or tuple(other_nodes[: len(nodes)]) == nodes
                )
                if related:
                    raise TemplateError(
                        DIFFERENT_TEMPLATE if used != name else DUPLICATED_TEMPLATE,
                        f"Template already exists on {other}",
                        name,
                    )
            _ensure_database(store, nodes, origin)
            self.set_on[path] = name
            self._save()
            self._publish(store, {"op": "set_template", "name": name, "path": path}, origin=origin)

    def unset(self, name: str, path: str, *, origin: Origin | None = None) -> None:
        path = join_path(_nodes(path))
        with self._lock:
            if self.set_on.get(path) != name:
                raise TemplateError(
                    TEMPLATE_NOT_SET, f"Template {name} is not set on path {path}", name
                )
            prefix = _nodes(path)
            users = [d for d in self.activated if _nodes(d)[: len(prefix)] == prefix]
            if users:
                raise TemplateError(
                    TEMPLATE_IS_IN_USE, f"Template is in use on {', '.join(sorted(users))}", name
                )
            del self.set_on[path]
            self._save()
            record = {"op": "unset_template", "name": name, "path": path}
            self._publish(None, record, origin=origin)

    # ------------------------------------------------------------ using
    def activate(self, device: str, store: Any, *, origin: Origin | None = None) -> None:
        """CREATE TIMESERIES OF SCHEMA TEMPLATE ON `device`."""
        device = join_path(_nodes(device))
        with self._lock:
            found = self.template_for(device)
            if found is None:
                raise TemplateError(
                    TEMPLATE_NOT_SET, f"Path [{device}] has not been set any template."
                )
            _, name = found
            if self.activated.get(device) == name:
                return
            template = self.get(name)
            _create_series(store, device, template, list(template.measurements.values()), origin)
            self.activated[device] = name
            self._save()
            record = {"op": "activate_template", "device": device, "name": name}
            self._publish(store, record, origin=origin)

    def activate_on_write(self, store: Any, device: str) -> None:
        """Activate the template over a device that has no series yet (its first write)."""
        if not self.set_on or device in self.activated:
            return
        if self.template_for(device) is not None:
            self.activate(device, store)

    def deactivate(
        self, pattern: str, store: Any, name: str | None = None, *, origin: Origin | None = None
    ) -> list[str]:
        """DELETE TIMESERIES OF SCHEMA TEMPLATE [name] FROM pattern: the devices done."""
        compiled = parse_pattern(pattern)
        with self._lock:
            devices = [
                d
                for d, used in self.activated.items()
                if (name is None or used == name)
                and (compiled.matches(split_path(d)) or compiled.matches_device(split_path(d)))
            ]
            if not devices:
                raise TemplateError(
                    TEMPLATE_NOT_SET if name is None else UNDEFINED_TEMPLATE,
                    f"Template is not activated on {pattern}",
                    name,
                )
            for device in devices:
                used = self.activated[device]
                template = self.templates.get(used)
                for m in template.measurements if template else ():
                    path = f"{device}.{join_path([m])}"
                    if store.series(path) is not None:
                        store.delete_timeseries(path, origin=origin or CLIENT, template=used)
                # after the series' data deletions: a receiver still has the series for them
                record: dict[str, Any] = {"op": "deactivate_template", "device": device}
                record["definition"] = template.record() if template else {"name": used}
                self._publish(store, record, origin=origin)
                del self.activated[device]
            self._save()
            return devices

    # ------------------------------------------------------------ pipes
    def schema_snapshot(self, store: Any) -> list[dict]:
        """The store's schema (`Store.schema_records`) with the templates in it, as a pipe's
        history sends it: databases, every template (``create_template``), where each is set
        (``set_template``), the devices using one (``activate_template``; their template's
        series are left out), then the other series and their metadata. Consistent: taken
        under the templates' lock (no template changes meanwhile)."""
        with self._lock:
            records = store.schema_records()
            made = {
                (device, m)
                for device, used in self.activated.items()
                if used in self.templates
                for m in self.templates[used].measurements
            }
            databases = [r for r in records if r["op"] == "create_database"]
            rest = [
                r
                for r in records
                if r["op"] != "create_database"
                and (r.get("device"), r.get("measurement")) not in made
            ]
            templates = [t.record() for t in self.templates.values()]
            sets = [
                {"op": "set_template", "name": name, "path": path}
                for path, name in self.set_on.items()
            ]
            uses = [
                {"op": "activate_template", "device": device, "name": used}
                for device, used in sorted(self.activated.items())
            ]
            return databases + templates + sets + uses + rest

    def forget_under(self, database: str) -> None:
        """A database was deleted: the set points and activations at or below it go with it
        (IoTDB keeps them in the database's part of the schema tree)."""
        prefix = _nodes(database)
        with self._lock:
            gone = [
                p for p in (*self.set_on, *self.activated) if _nodes(p)[: len(prefix)] == prefix
            ]
            if not gone:
                return
            for path in gone:
                self.set_on.pop(path, None)
                self.activated.pop(path, None)
            self._save()

    def paths_set(self, name: str) -> list[str]:
        self.get(name)
        return sorted(p for p, used in self.set_on.items() if used == name)

    def paths_using(self, name: str) -> list[str]:
        self.get(name)
        return sorted(d for d, used in self.activated.items() if used == name)


def _ensure_database(store: Any, nodes: tuple[str, ...], origin: Origin | None = None) -> None:
    if any(store.show_databases(join_path(nodes[:k])).rows for k in range(2, len(nodes) + 1)):
        return
    level = store.config.default_storage_group_level
    store.create_database(join_path(nodes[: min(level + 1, len(nodes))]), origin=origin or CLIENT)


def _create_series(
    store: Any,
    device: str,
    template: Template,
    measurements: Sequence[TemplateMeasurement],
    origin: Origin | None = None,
) -> None:
    missing = [m for m in measurements if store.series(f"{device}.{join_path([m.name])}") is None]
    if not missing:
        return
    specs = [(m.name, m.data_type, m.encoding, m.compressor, None) for m in missing]
    aligned = store.device_aligned(device)
    store.create_series_groups(
        [(device, specs, template.aligned if aligned is None else aligned, None)],
        origin=origin or CLIENT,
        template=template.name,
    )
