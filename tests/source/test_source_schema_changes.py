"""The store's schema changes for iotdb-source (issue 16): `StoreSchemaChange` published in
order with the data and never dropped, `Store.schema_records()` the snapshot, and the
source's filter of both by inclusion and pattern."""

from __future__ import annotations

import numpy as np

from pipecore import PipeParameters
from pipecore_iotdb_source.options import parse_options
from pipecore_iotdb_source.schema import schema_records
from pipecore_storage import MeasurementSchema, Store, Tablet
from pipecore_storage.listeners import InsertEvent, StoreSchemaChange
from pipecore_storage.schema import SchemaRegistry


def _tablet(device: str, times: list[int]) -> Tablet:
    t = np.asarray(times, np.int64)
    return Tablet(device, [MeasurementSchema("v", "INT64")], t, [t * 3])


def test_schema_change_comes_before_the_insert_that_needed_it(tmp_path):
    with Store.open(tmp_path / "s") as store:
        sub = store.subscribe("p", schema=True)
        store.insert_tablet(_tablet("root.a.d", [1]))
        store.insert_tablet(_tablet("root.a.d", [2]))  # no new schema: no change event
        events = sub.drain()
        assert [type(e) for e in events] == [StoreSchemaChange, InsertEvent, InsertEvent]
        ops = [r["op"] for r in events[0].records]
        assert ops == ["create_database", "create_series"]


def test_every_statement_publishes_its_records(tmp_path):
    with Store.open(tmp_path / "s") as store:
        store.create_database("root.x")
        sub = store.subscribe("p", schema=True)
        store.create_timeseries("root.x.d.s", "FLOAT", "GORILLA", alias="t", tags={"u": "c"})
        store.delete_timeseries("root.x.d.s")
        store.delete_database("root.x")
        changes = [e for e in sub.drain() if isinstance(e, StoreSchemaChange)]
        ops = [[r["op"] for r in c.records] for c in changes]
        assert ops == [["create_series", "series_meta"], ["delete_series"], ["delete_database"]]


def test_schema_changes_are_never_dropped_by_a_full_queue(tmp_path):
    with Store.open(tmp_path / "s") as store:
        sub = store.subscribe("p", capacity_events=1, schema=True)
        for i in range(5):
            store.create_timeseries(f"root.q.d.s{i}", "INT32")
        assert sub.dropped_events == 0
        assert len([e for e in sub.drain() if isinstance(e, StoreSchemaChange)]) == 5


def test_only_a_subscription_that_asks_gets_schema_changes(tmp_path):
    with Store.open(tmp_path / "s") as store:
        data_only = store.subscribe("d")
        store.insert_tablet(_tablet("root.a.d", [1]))
        assert [type(e) for e in data_only.drain()] == [InsertEvent]


def test_snapshot_rebuilds_the_schema(tmp_path):
    with Store.open(tmp_path / "s") as store:
        store.create_database("root.empty")
        store.create_timeseries("root.x.d.s", "DOUBLE", "RLE", "LZ4", attributes={"o": "x"})
        store.create_aligned_timeseries("root.x.a", ["m", "n"], ["INT64", "TEXT"])
        rebuilt = SchemaRegistry()
        for record in store.schema_records():
            rebuilt.apply(record)
        assert list(rebuilt.records()) == store.schema_records()
        assert set(rebuilt.databases) == {"root.empty", "root.x"}


def _records(store: Store, **parameters: str) -> list[tuple[str, str]]:
    options = parse_options(PipeParameters(parameters))
    return [
        (r["op"], r.get("name") or f"{r['device']}.{r['measurement']}")
        for r in schema_records(store.schema_records(), options)
    ]


def test_source_filters_by_inclusion_and_pattern(tmp_path):
    with Store.open(tmp_path / "s") as store:
        store.create_database("root.a")
        store.create_database("root.b")
        store.create_timeseries("root.a.d.s", "INT32")
        store.create_timeseries("root.b.d.s", "INT32")
        assert _records(store, inclusion="schema.database") == [
            ("create_database", "root.a"),
            ("create_database", "root.b"),
        ]
        assert _records(store, inclusion="schema", path="root.a.**") == [
            ("create_database", "root.a"),
            ("create_series", "root.a.d.s"),
        ]
        assert _records(store, inclusion="schema.timeseries", path="root.b.d.**") == [
            ("create_series", "root.b.d.s"),
        ]
        assert _records(store, inclusion="data") == []
