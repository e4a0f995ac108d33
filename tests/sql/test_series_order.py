"""IoTDB 2.0.1's order of a wildcard's series (`pipecore.sql.series_order`) against answers
recorded from a real IoTDB 2.0.1 (the probes of tests/interop's select-order work)."""

from __future__ import annotations

from types import SimpleNamespace

from pipecore.sql.series_order import iotdb_series_order, java_string_hash


def _order(created: dict[str, list[str]]) -> list[str]:
    store = SimpleNamespace(
        devices_in_creation_order=lambda: list(created),
        device_types=lambda d: dict.fromkeys(created.get(d, [])),
    )
    infos = [
        SimpleNamespace(device=d, measurement=m, path=f"{d}.{m}")
        for d, ms in created.items()
        for m in ms
    ]
    rank = iotdb_series_order(store, infos)
    return sorted(rank, key=rank.__getitem__)


def test_java_string_hash() -> None:
    assert java_string_hash("") == 0
    assert java_string_hash("s1") == 3614
    assert java_string_hash("水") == 0x6C34
    assert 0 <= java_string_hash("temperature") < 1 << 32


def test_recorded_iotdb_answers() -> None:
    # IoTDBTreePatternFormatIT's receiver
    assert _order({"root.db.d1": ["s", "s1", "t"], "root.db2.d1": ["s"]}) == [
        "root.db2.d1.s", "root.db.d1.s", "root.db.d1.t", "root.db.d1.s1"]  # fmt: skip
    # the user guide's vehicle: IoTDB 2.0.1 answers s3 before s2
    vehicle = {"root.vehicle.d0": ["s0", "s1"], "root.vehicle.d1": ["s2", "s3"]}
    assert _order(vehicle) == [
        "root.vehicle.d0.s0", "root.vehicle.d0.s1",
        "root.vehicle.d1.s3", "root.vehicle.d1.s2"]  # fmt: skip


def test_capacity_and_bucket_order_recorded() -> None:
    """Probe seed 10-ish: 12 measurements (HashMap of 16) answer `select * from root.db.d10`;
    with a 13th child (a device below) `root.**` walks a HashMap of 32; within a bucket the
    reverse of the region's ConcurrentHashMap order (capacity 32 there from 12 children)."""
    ms = ["q", "m5", "s13", "lon", "m2", "s7", "s", "speed", "BB", "d", "c", "v"]
    alone = _order({"root.db.d10": ms})
    assert [p.rsplit(".", 1)[1] for p in alone] == [
        "BB", "q", "s", "c", "s13", "d", "s7", "m2", "v", "m5", "lon", "speed"]  # fmt: skip
    below = _order({"root.db.d10": ms, "root.db.d10.x.d2": ["x1", "m5", "s4", "s", "speed"]})
    assert [p.rsplit(".", 1)[1] for p in below if p.count(".") == 3] == [
        "BB", "c", "d", "s7", "m2", "m5", "lon", "speed", "q", "s", "s13", "v"]  # fmt: skip
