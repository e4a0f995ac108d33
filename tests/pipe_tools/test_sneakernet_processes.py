"""EXPORT PIPE → IMPORT between two `pipecore serve` processes that nothing else connects: a
million points move in a bundle folder carried by hand (copied), signed with HMAC-SHA256; a
tampered bundle and a wrong key are refused; importing twice changes nothing; the export's
progress advances, so the next bundle holds only newer data."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from thrift_processes import Serve, start_all

from pipecore.cli.remote import ServerError
from pipecore_storage import MeasurementSchema, Tablet, TSDataType
from pipecore_storage.tsfile import TsFileWriter

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]

POINTS = 1_000_000


@pytest.fixture(scope="module")
def islands(tmp_path_factory: pytest.TempPathFactory):
    """Two nodes with no pipe, no receiver address, nothing between them."""
    tmp = tmp_path_factory.mktemp("islands")
    made = start_all(Serve(tmp, "site"), Serve(tmp, "office"))
    yield made
    for node in made:
        node.stop()


def carry(a: Serve, b: Serve, name: str) -> None:
    """The USB stick: copy the bundle folder from one node's sneakernet folder to the other's."""
    shutil.copytree(a.data_dir / "sneakernet" / name, b.data_dir / "sneakernet" / name)


def load_points(node: Serve, tmp: Path, devices: int, rows: int) -> None:
    """`devices` × 2 series × `rows` points into `node`: a TsFile written here, then LOAD."""
    schemas = [
        MeasurementSchema("s1", TSDataType.INT64),
        MeasurementSchema("s2", TSDataType.DOUBLE),
    ]
    times = np.arange(rows, dtype=np.int64)
    path = tmp / "points.tsfile"
    with TsFileWriter(path) as writer:
        for d in range(devices):
            columns = [times % 1000, times * 0.25]
            writer.write_tablet(Tablet(f"root.sn.d{d}", schemas, times, columns))
    node.sql(f"LOAD '{path}'")


def test_a_million_points_move_by_bundle(islands, tmp_path):
    site, office = islands
    load_points(site, tmp_path, devices=5, rows=POINTS // 10)  # 5 devices × 2 series × 100 000 rows
    assert site.count("root.sn.**") == POINTS
    site.sql(
        "CREATE PIPE usb WITH SOURCE ('source.path'='root.sn.**', 'start'='false') "
        "WITH SINK ('sink'='do-nothing-sink')"
    )
    [(bundle, files, points, _bytes, first, last)] = site.rows(
        "EXPORT PIPE usb TO 'week1' WITH ('key'='s3cret')"
    )
    assert (bundle, points) == ("week1", str(POINTS)) and int(files) >= 1
    manifest = json.loads((site.data_dir / "sneakernet" / "week1" / "manifest.json").read_text())
    assert manifest["progress"] == {"from_seq": int(first), "to_seq": int(last)}
    assert all(len(f["sha256"]) == 64 for f in manifest["files"])
    carry(site, office, "week1")

    with pytest.raises(ServerError, match="signature"):
        office.sql("IMPORT 'week1' WITH ('key'='wrong')")
    with pytest.raises(ServerError, match="signed"):
        office.sql("IMPORT 'week1'")
    assert office.count("root.sn.**") == 0
    [(_, _, imported, again)] = office.rows("IMPORT 'week1' WITH ('key'='s3cret')")
    assert (imported, again) == (str(POINTS), "false")
    assert office.count("root.sn.**") == POINTS
    assert office.rows("select s2 from root.sn.d3 where time = 99999") == site.rows(
        "select s2 from root.sn.d3 where time = 99999"
    )
    # idempotent
    [(_, _, _, again)] = office.rows("IMPORT 'week1' WITH ('key'='s3cret')")
    assert again == "true" and office.count("root.sn.**") == POINTS

    # the next bundle holds only what came after
    site.sql("INSERT INTO root.sn.d0(timestamp, s1) VALUES (5000000, 7)")
    [(_, _, points2, _, first2, _)] = site.rows("EXPORT PIPE usb TO 'week2'")
    assert points2 == "1" and int(first2) == int(last) + 1
    carry(site, office, "week2")
    office.sql("IMPORT 'week2'")
    assert office.count("root.sn.**") == POINTS + 1


def test_a_tampered_bundle_is_refused(islands):
    site, office = islands
    site.sql("INSERT INTO root.tp.d0(timestamp, s1) VALUES (1, 1), (2, 2)")
    site.sql(
        "CREATE PIPE tp WITH SOURCE ('source.path'='root.tp.**', 'start'='false') "
        "WITH SINK ('sink'='do-nothing-sink')"
    )
    site.sql("EXPORT PIPE tp TO 'tp1'")
    carry(site, office, "tp1")
    [data] = sorted((office.data_dir / "sneakernet" / "tp1" / "data").iterdir())
    raw = bytearray(data.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    data.write_bytes(bytes(raw))
    with pytest.raises(ServerError, match="differs from the manifest"):
        office.sql("IMPORT 'tp1'")
    (office.data_dir / "sneakernet" / "tp1" / "data" / "evil.tsfile").write_bytes(b"x")
    with pytest.raises(ServerError, match="not in the manifest"):
        office.sql("IMPORT 'tp1'")
    assert office.count("root.tp") == 0
    # names never leave the sneakernet folder
    with pytest.raises(ServerError, match="illegal bundle name"):
        office.sql("IMPORT '../../etc'")
    with pytest.raises(ServerError, match="illegal bundle name"):
        site.sql("EXPORT PIPE tp TO '/tmp/elsewhere'")


def test_a_deletion_after_an_export_reaches_the_other_node_with_the_next_bundle(islands):
    """EXPORT ships the ``.mods`` entries added to already exported files (in
    ``data/deletions.mods``, with size and SHA-256 in the manifest); IMPORT applies them before
    loading the bundle's files, so data written again after the deletion survives."""
    site, office = islands
    rows = ", ".join(f"({t}, {t}, {t * 0.5})" for t in range(1000))
    site.sql(f"INSERT INTO root.sd.d1(timestamp, s1, s2) VALUES {rows}")
    site.sql("FLUSH")
    site.sql(
        "CREATE PIPE sdel WITH SOURCE ('source.path'='root.sd.**', 'start'='false') "
        "WITH SINK ('sink'='do-nothing-sink')"
    )
    site.sql("EXPORT PIPE sdel TO 'del1'")
    manifest = json.loads((site.data_dir / "sneakernet" / "del1" / "manifest.json").read_text())
    assert manifest["mods"] == []  # nothing deleted yet
    carry(site, office, "del1")
    office.sql("IMPORT 'del1'")
    assert office.count("root.sd.**") == 2000

    site.sql("DELETE FROM root.sd.d1.s1 WHERE time >= 100 AND time < 200")
    site.sql("DELETE FROM root.** WHERE time >= 900")  # wider than the pipe: clipped to it
    site.sql("INSERT INTO root.sd.d1(timestamp, s2) VALUES (950, -7.5), (2000, 1.0)")
    site.sql("FLUSH")
    site.sql("EXPORT PIPE sdel TO 'del2'")
    folder = site.data_dir / "sneakernet" / "del2"
    manifest = json.loads((folder / "manifest.json").read_text())
    [mods] = manifest["mods"]
    path = folder / "data" / mods["name"]
    assert mods["bytes"] == path.stat().st_size and len(mods["sha256"]) == 64
    assert {(d["pattern"], d["start"], d["end"]) for d in mods["deletions"]} == {
        ("root.sd.d1.s1", 100, 199),
        ("root.sd.d1.s1", 900, 2**63 - 1),
        ("root.sd.d1.s2", 900, 2**63 - 1),
    }
    carry(site, office, "del2")
    tampered = office.data_dir / "sneakernet" / "del2x"
    shutil.copytree(office.data_dir / "sneakernet" / "del2", tampered)
    mods_copy = tampered / "data" / mods["name"]
    mods_copy.write_text(mods_copy.read_text().replace(",100,", ",0,"))
    with pytest.raises(ServerError, match="differs from the manifest"):
        office.sql("IMPORT 'del2x'")

    office.sql("IMPORT 'del2'")
    assert office.count("root.sd.**") == site.count("root.sd.**") == 2000 - 100 - 200 + 2
    for query in (
        "select count(s1) from root.sd.d1 where time >= 100 and time < 200",
        "select s2 from root.sd.d1 where time >= 900",
    ):
        assert office.rows(query) == site.rows(query)
    [(_, rewritten)] = office.rows("select s2 from root.sd.d1 where time = 950")
    assert rewritten == "-7.5"  # written after the deletion: kept
    # the next bundle ships those deletions no more
    site.sql("INSERT INTO root.sd.d1(timestamp, s1) VALUES (3000, 3)")
    site.sql("EXPORT PIPE sdel TO 'del3'")
    manifest = json.loads((site.data_dir / "sneakernet" / "del3" / "manifest.json").read_text())
    assert manifest["mods"] == []
