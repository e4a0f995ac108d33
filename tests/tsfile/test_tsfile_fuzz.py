"""Damaged files: flipped and truncated bytes of valid TsFiles, and files that are not TsFiles.

Every case must either read completely or raise CorruptFileError naming the file and a byte
offset inside it. The cases run in a child process with an address-space limit and a per-case
alarm, so an over-allocation (MemoryError) or a hang fails the test instead of the machine.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path

import numpy as np

from pipecore_storage import MeasurementSchema, Tablet
from pipecore_storage.errors import CorruptFileError
from pipecore_storage.tsfile import TsFileConfig, TsFileReader, TsFileWriter
from pipecore_storage.types import CompressionType, TSDataType, TSEncoding

OFFICIAL = Path("/work/shared/conformance/official")
MEMORY_LIMIT = 3 * 1024**3
CASE_SECONDS = 20


def exercise(path: str) -> None:
    """Everything a user can ask of a file: index, statistics, reads, queries, chunk groups."""
    with TsFileReader(path) as r:
        devices = r.devices()
        r.device_time_ranges()
        for device in devices:
            r.is_aligned(device)
            schemas = r.schemas(device)
            for m in schemas:
                r.statistics(device, m)
            r.read_series(device)
            for tab in r.read_tablets(device, max_rows=64):
                tab.point_count()
            paths = [f"{device}.{m}" for m in schemas][:3]
            if paths:
                r.query(paths, None, 0, r.file_size)
        for group in r.chunk_groups():
            for chunk in group.chunks:
                chunk.statistics  # noqa: B018 - decodes when the index does not hold it
                for page in chunk.pages():
                    page.read()


def _seed_files(tmp: Path) -> list[Path]:
    names = ("tree_small_plain.tsfile", "table_aligned.tsfile", "tree_multi.tsfile")
    seeds = [OFFICIAL / n for n in names
             if (OFFICIAL / n).exists()]  # fmt: skip
    schemas = [
        MeasurementSchema("i", TSDataType.INT64, TSEncoding.TS_2DIFF, CompressionType.LZ4),
        MeasurementSchema("d", TSDataType.DOUBLE, TSEncoding.GORILLA, CompressionType.UNCOMPRESSED),
        MeasurementSchema("t", TSDataType.TEXT, TSEncoding.DICTIONARY, CompressionType.SNAPPY),
        MeasurementSchema("r", TSDataType.INT32, TSEncoding.RLE, CompressionType.UNCOMPRESSED),
        MeasurementSchema("b", TSDataType.BOOLEAN, TSEncoding.PLAIN, CompressionType.GZIP),
    ]
    times = np.arange(0, 40, dtype=np.int64) * 3
    text = np.empty(40, dtype=object)
    text[:] = [f"x{k % 5}" for k in range(40)]
    cols = [times * 7, times / 4, text, (times % 9).astype(np.int32), times % 2 == 0]
    masks = [None, times % 5 == 0, None, times % 7 == 1, None]
    for version in (4, 3):
        path = tmp / f"ours_v{version}.tsfile"
        with TsFileWriter(
            path, config=TsFileConfig(max_points_per_page=16), format_version=version
        ) as w:
            w.write_tablet(Tablet("root.f.a", schemas, times, cols, masks))
            w.write_tablet(Tablet("root.f.b", schemas, times, cols, masks, aligned=True))
        seeds.append(path)
    return seeds


def _cases(seeds: list[Path], per_seed: int, rng: random.Random):
    for seed in seeds:
        data = seed.read_bytes()
        n = len(data)
        for _ in range(per_seed // 2):
            i = rng.randrange(n)
            yield (
                f"{seed.name}: flip byte {i}",
                data[:i] + bytes([data[i] ^ rng.randrange(1, 256)]) + data[i + 1 :],
            )
        for _ in range(per_seed // 4):
            k = rng.randrange(n)
            yield f"{seed.name}: truncated to {k}", data[:k]
        for _ in range(per_seed // 4):  # several bytes at once, mostly in the index area
            out = bytearray(data)
            for _ in range(rng.randrange(2, 6)):
                i = rng.randrange(max(0, n - 400), n) if rng.random() < 0.7 else rng.randrange(n)
                out[i] = rng.randrange(256)
            yield f"{seed.name}: several bytes", bytes(out)
    yield "empty", b""
    yield "magic only", b"TsFile"
    yield "text", b"hello, this is not a TsFile\n" * 10
    for k in range(40):
        yield f"random {k}", rng.randbytes(rng.randrange(1, 3000))
        yield (
            f"random with magics {k}",
            b"TsFile\x04" + rng.randbytes(rng.randrange(0, 500)) + b"TsFile",
        )


def fuzz_main(workdir: str, per_seed: int) -> dict:
    """Run every case; return counts and the unexpected outcomes (the child's report)."""
    import resource
    import signal

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))

    def alarm(signum, frame):
        raise TimeoutError("case took too long")

    signal.signal(signal.SIGALRM, alarm)
    tmp = Path(workdir)
    seeds = _seed_files(tmp)
    for seed in seeds:  # the seeds themselves read cleanly
        exercise(str(seed))
    rng = random.Random(20240611)
    target = tmp / "case.tsfile"
    counts = {"cases": 0, "read": 0, "corrupt": 0}
    failures = []
    for label, data in _cases(seeds, per_seed, rng):
        counts["cases"] += 1
        target.write_bytes(data)
        signal.alarm(CASE_SECONDS)
        try:
            exercise(str(target))
            counts["read"] += 1
        except CorruptFileError as e:
            counts["corrupt"] += 1
            if e.path != str(target) or e.offset is None or not 0 <= e.offset <= len(data):
                failures.append(f"{label}: bad error location {e.path!r} {e.offset!r}: {e}")
        except BaseException as e:  # anything else is the failure we look for
            failures.append(f"{label}: {type(e).__name__}: {e}\n{traceback.format_exc()[-1500:]}")
        finally:
            signal.alarm(0)
    return {
        "counts": counts,
        "failures": failures[: int(os.environ.get("FUZZ_SHOW", "20"))],
        "failure_count": len(failures),
    }


def test_damaged_files_only_raise_corrupt_file_error() -> None:
    with tempfile.TemporaryDirectory() as work:
        code = (
            "import json, sys\n"
            f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
            "from test_tsfile_fuzz import fuzz_main\n"
            f"print(json.dumps(fuzz_main({work!r}, 650)))\n"
        )
        proc = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=600,
            env={**os.environ, "PYTHONWARNINGS": "error"},
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr[-3000:]
        report = json.loads(proc.stdout.strip().splitlines()[-1])
    counts = report["counts"]
    assert report["failures"] == [], report["failure_count"]
    assert counts["cases"] >= 3000
    # both outcomes occur: most damage is detected, some flips hit plain value bytes
    assert counts["corrupt"] > counts["cases"] // 2 and counts["read"] > 0
