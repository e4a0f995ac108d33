"""Schema templates as pipe records (issue 16): each template change is published to the
store's schema subscribers in order with the data, the series a template makes or removes are
marked and left out by the source, `SchemaTemplates.schema_snapshot` is the history, and the
source's filter honours ``schema.timeseries.template`` and the pipe's pattern."""

from __future__ import annotations

import numpy as np
import pytest

from pipecore import PipeParameters, TemplateMeasurement
from pipecore.schema_templates import SchemaTemplates
from pipecore_iotdb_source.options import parse_options
from pipecore_iotdb_source.schema import schema_records
from pipecore_storage import MeasurementSchema, Store, Tablet
from pipecore_storage.listeners import InsertEvent, StoreSchemaChange
from pipecore_storage.origin import Origin


def _ms(*rows: tuple[str, str]) -> list[TemplateMeasurement]:
    return [TemplateMeasurement(n, t, "PLAIN", "LZ4") for n, t in rows]


@pytest.fixture
def store(tmp_path):
    with Store.open(tmp_path / "s") as s:
        yield s


@pytest.fixture
def templates(tmp_path, store):
    return SchemaTemplates(tmp_path / "templates.json", store)


def _ops(events) -> list[list[tuple]]:
    out = []
    for e in events:
        if isinstance(e, StoreSchemaChange):
            out.append([(r["op"], r.get("template")) for r in e.records])
        else:
            out.append([type(e).__name__])
    return out


def test_every_template_change_is_published_in_order_with_the_data(store, templates):
    sub = store.subscribe("p", schema=True)
    templates.create("t", _ms(("a", "INT32"), ("b", "FLOAT")), aligned=False)
    templates.set("t", "root.sg.g", store)
    templates.activate("root.sg.g.d1", store)
    t = np.asarray([1, 2], np.int64)
    store.insert_tablet(Tablet("root.sg.g.d1", [MeasurementSchema("a", "INT32")], t, [t]))
    templates.append("t", _ms(("c", "TEXT")), store)
    templates.deactivate("root.sg.g.d1", store)
    templates.unset("t", "root.sg.g")
    templates.drop("t")
    assert _ops(sub.drain()) == [
        [("create_template", None)],
        [("create_database", None)],  # set on a path without a database makes one
        [("set_template", None)],
        [("create_series", "t"), ("create_series", "t")],  # marked: the activation's
        [("activate_template", None)],
        ["InsertEvent"],
        [("extend_template", None)],
        [("create_series", "t")],
        ["StoreDeletion"],  # the data of each series, then the series (marked)
        [("delete_series", "t")],
        ["StoreDeletion"],
        [("delete_series", "t")],
        ["StoreDeletion"],
        [("delete_series", "t")],
        [("deactivate_template", None)],
        [("unset_template", None)],
        [("drop_template", None)],
    ]


def test_records_carry_what_a_receiver_needs(store, templates):
    sub = store.subscribe("p", schema=True)
    origin = Origin("other-cluster", "p1")
    templates.create("t", _ms(("a", "INT32")), aligned=True, origin=origin)
    templates.set("t", "root.sg", store)
    templates.activate("root.sg.d", store)
    templates.deactivate("root.sg.d", store)
    changes = [e for e in sub.drain() if isinstance(e, StoreSchemaChange)]
    assert changes[0].origin == origin
    assert changes[0].records[0] == {
        "op": "create_template",
        "name": "t",
        "id": 0,
        "aligned": True,
        "measurements": [["a", "INT32", "PLAIN", "LZ4"]],
    }
    by_op = {r["op"]: r for c in changes for r in c.records}
    assert by_op["set_template"] == {"op": "set_template", "name": "t", "path": "root.sg"}
    assert by_op["activate_template"] == {
        "op": "activate_template",
        "device": "root.sg.d",
        "name": "t",
    }
    assert by_op["deactivate_template"]["definition"]["measurements"] == [
        ["a", "INT32", "PLAIN", "LZ4"]
    ]


def test_ids_follow_creation_and_survive_a_restart(tmp_path, store):
    templates = SchemaTemplates(tmp_path / "t.json", store)
    templates.create("x", _ms(("a", "INT32")), aligned=False)
    templates.create("y", _ms(("a", "INT32")), aligned=False)
    templates.drop("x")
    again = SchemaTemplates(tmp_path / "t.json", store)
    again.create("z", _ms(("a", "INT32")), aligned=False)
    assert {n: t.id for n, t in again.templates.items()} == {"y": 1, "z": 2}


def test_snapshot_puts_templates_before_the_series_and_leaves_template_series_out(store, templates):
    store.create_timeseries("root.sg.plain.s", "DOUBLE")
    templates.create("t", _ms(("a", "INT32"), ("b", "FLOAT")), aligned=False)
    templates.set("t", "root.sg.g", store)
    templates.activate("root.sg.g.d2", store)
    templates.activate("root.sg.g.d1", store)
    snapshot = templates.schema_snapshot(store)
    assert [(r["op"], r.get("device") or r["name"]) for r in snapshot] == [
        ("create_database", "root.sg"),
        ("create_template", "t"),
        ("set_template", "t"),
        ("activate_template", "root.sg.g.d1"),
        ("activate_template", "root.sg.g.d2"),
        ("create_series", "root.sg.plain"),
    ]


def _select(records, **parameters: str) -> list[str]:
    options = parse_options(PipeParameters(parameters))
    return [f"{r['op']}:{r.get('device') or r['name']}" for r in schema_records(records, options)]


RECORDS = [
    {"op": "create_template", "name": "t", "id": 0, "aligned": False, "measurements": []},
    {"op": "set_template", "name": "t", "path": "root.a.g"},
    {"op": "set_template", "name": "t", "path": "root.b.g"},
    {"op": "activate_template", "device": "root.a.g.d", "name": "t"},
    {"op": "activate_template", "device": "root.b.g.d", "name": "t"},
    {"op": "create_series", "device": "root.a.g.d", "measurement": "s", "template": "t",
     "type": "INT32", "encoding": "PLAIN", "compression": "LZ4", "aligned": False},
    {"op": "create_series", "device": "root.a.p", "measurement": "s",
     "type": "INT32", "encoding": "PLAIN", "compression": "LZ4", "aligned": False},
]  # fmt: skip


def test_source_filter_by_inclusion_and_pattern():
    assert _select(RECORDS, **{"source.inclusion": "all", "source.path": "root.a.**"}) == [
        "create_template:t",
        "set_template:t",
        "activate_template:root.a.g.d",
        "create_series:root.a.p",  # the template's series never go as ordinary ones
    ]
    only = _select(RECORDS, **{"source.inclusion": "schema.timeseries.template"})
    assert only == [
        "create_template:t",
        "set_template:t",
        "set_template:t",
        "activate_template:root.a.g.d",
        "activate_template:root.b.g.d",
    ]
    ordinary = _select(RECORDS, **{"source.inclusion": "schema.timeseries.ordinary"})
    assert ordinary == ["create_series:root.a.p"]
    excluded = _select(
        RECORDS,
        **{
            "source.inclusion": "schema",
            "source.inclusion.exclusion": "schema.timeseries.template",
        },
    )
    assert excluded == ["create_series:root.a.p"]


def test_an_insert_into_a_template_device_activates_before_its_data(store, templates):
    templates.create("t", _ms(("a", "INT32")), aligned=False)
    templates.set("t", "root.sg", store)
    sub = store.subscribe("p", schema=True)
    templates.activate_on_write(store, "root.sg.d")
    t = np.asarray([1], np.int64)
    store.insert_tablet(Tablet("root.sg.d", [MeasurementSchema("a", "INT32")], t, [t]))
    events = sub.drain()
    assert isinstance(events[-1], InsertEvent)
    kinds = [r["op"] for e in events[:-1] for r in e.records]
    assert kinds == ["create_series", "activate_template"]
