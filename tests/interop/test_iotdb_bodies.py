"""IoTDB 2.x's tablet requests as IoTDB's own classes build them (tools/java/iotdb/src/
PipeBodies.java, compiled against the server's Maven class path): pipecore's receiver decodes
them, and pipecore's encoder writes the same layout (byte for byte but for a bitmap's bits
past the last row, which Java sets and pipecore leaves clear).

A real IoTDB 2.0.1 pipe never sends these for user pipes (its realtime source is TsFile-only:
`IoTDBDataRegionExtractor` picks `PipeRealtimeDataRegionTsFileExtractor` for every pipe not
named ``__consensus.*``), so the bodies come from the classes its sender would use.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import numpy as np
import pytest
from java_env import REPO, cache_root, iotdb_lib, iotdb_versions, require_java

from pipecore_storage.tablet import Tablet
from pipecore_thrift_sink.protocol import (
    decode_tablet_batch_v2,
    decode_tablet_raw_v2,
    encode_tablet_batch_v2,
    encode_tablet_raw_v2,
)

pytestmark = [pytest.mark.slow, pytest.mark.subprocess]
SOURCE = REPO / "tools/java/iotdb/src/PipeBodies.java"


@pytest.fixture(scope="module", params=iotdb_versions())
def bodies(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_java()
    lib = iotdb_lib(request.param)
    source = SOURCE.read_text()
    digest = hashlib.sha256((source + str(lib)).encode()).hexdigest()[:16]
    classes = cache_root() / "build" / f"pipe-bodies-{digest}"
    if not (classes / "PipeBodies.class").exists():
        proc = subprocess.run(
            ["javac", "-nowarn", "-d", str(classes), "-cp", f"{lib}/*", str(SOURCE)],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr[-3000:]
    out = tmp_path_factory.mktemp("bodies")
    proc = subprocess.run(
        ["java", "-Xmx256m", "-cp", f"{classes}:{lib}/*", "PipeBodies", str(out)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def _check(tablet: Tablet, device: str, aligned: bool) -> None:
    assert (tablet.device, tablet.measurements, tablet.aligned) == (
        device,
        ["i", "d", "t", "b"],
        aligned,
    )
    assert tablet.timestamps.tolist() == [1000, 1001, 1002, 1003, 1004]
    assert tablet.columns[0].tolist() == [0, 10, 20, 30, 40]
    assert tablet.null_mask(0).tolist() == [False, False, True, False, False]
    assert np.allclose(tablet.columns[1], [0.5, 1.5, 2.5, 3.5, 4.5])
    assert tablet.columns[2].tolist() == ["v0", "v1", "v2", "v3", "v4"]
    assert tablet.columns[3].tolist() == [True, False, True, False, True]


def test_raw_tablet_v2(bodies: Path) -> None:
    body = (bodies / "raw11.bin").read_bytes()
    tablet = decode_tablet_raw_v2(body)
    _check(tablet, "root.jv.raw", aligned=False)
    ours = encode_tablet_raw_v2(tablet)
    # same layout and length; only a bitmap's bits past the last row differ (Java sets them)
    assert len(ours) == len(body) and decode_tablet_raw_v2(ours).equals(tablet)


def test_tablet_batch_v2(bodies: Path) -> None:
    body = (bodies / "batch13.bin").read_bytes()
    batch = decode_tablet_batch_v2(body)
    assert (batch.binary_items, batch.insert_nodes, len(batch.tablets)) == ((), (), 1)
    _check(batch.tablets[0], "root.jv.batch", aligned=True)
    ours = encode_tablet_batch_v2(batch.tablets)
    assert len(ours) == len(body) and decode_tablet_batch_v2(ours).tablets[0].equals(
        batch.tablets[0]
    )
