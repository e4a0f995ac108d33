"""Where the interop tests find Java, Maven and the artifacts tools/java/prefetch.sh caches.

A test that needs Java calls `require_java()` (or one of the `*_lib` helpers): without Java or
Maven it is skipped with the reason — unless PIPECORE_REQUIRE_JAVA=1 (set by .ci/run), which
turns that skip into a failure, so CI always runs these tests.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TOOLS = REPO / "tools" / "java"
REQUIRE_ENV = "PIPECORE_REQUIRE_JAVA"


def versions() -> dict[str, str]:
    """tools/java/versions.env as a dict (KEY=value lines, quotes stripped)."""
    out = {}
    for line in (TOOLS / "versions.env").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            out[key.strip()] = value.strip().strip('"')
    return out


def iotdb_versions() -> list[str]:
    return versions()["IOTDB_VERSIONS"].split()


def cache_root() -> Path:
    return Path(os.environ.get("PIPECORE_JAVA_CACHE", "~/.cache/pipecore/java")).expanduser()


def java_required() -> bool:
    return os.environ.get(REQUIRE_ENV, "") not in ("", "0")


def unavailable(reason: str) -> None:
    """Skip the test with `reason`, or fail it when Java is required (CI)."""
    if java_required():
        pytest.fail(f"{REQUIRE_ENV} is set but {reason}", pytrace=False)
    pytest.skip(reason)


def require_java() -> None:
    for tool in ("java", "javac", "mvn"):
        if shutil.which(tool) is None:
            unavailable(f"{tool} is not installed (the interop tests need Java 17 and Maven)")


_prefetched: dict[str, str | None] = {}


def _lib(name: str) -> Path:
    """The cached jar directory `name` (e.g. iotdb-2.0.1-beta), prefetching once if missing."""
    require_java()
    lib = cache_root() / name / "lib"
    if (cache_root() / name / ".complete").exists():
        return lib
    if "run" not in _prefetched:
        proc = subprocess.run(
            ["bash", str(TOOLS / "prefetch.sh")], capture_output=True, text=True, timeout=1800
        )
        _prefetched["run"] = None if proc.returncode == 0 else (proc.stdout + proc.stderr)[-2000:]
    if not (cache_root() / name / ".complete").exists():
        unavailable(f"{name} could not be resolved from Maven: {_prefetched['run']}")
    return lib


def iotdb_lib(version: str) -> Path:
    return _lib(f"iotdb-{version}")


def tsfile_lib() -> Path:
    return _lib(f"tsfile-{versions()['TSFILE_VERSION']}")


def iotdb_tsfile_lib() -> Path:
    return _lib(f"iotdb-tsfile-{versions()['IOTDB_TSFILE_VERSION']}")
