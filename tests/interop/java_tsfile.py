"""The Java TsFile library as a test oracle (tools/java/tsfile-dump/src/TsFileDump.java).

`JavaTsFileReader(flavour).read(paths)` compiles the dump program once (javac, class path from
the Maven cache) and runs it on the files; the answer has the shape of tests/tsfile's
`OfficialReader.read`: path -> device -> {"aligned": bool, "schemas": {m: (type, enc, comp)},
"points": {m: [(t, v), ...]}} with DATE values as yyyymmdd ints.

Flavours: "tsfile" — org.apache.tsfile:tsfile (2.x, reads format v3 and v4); "iotdb-tsfile" —
IoTDB 1.x's own org.apache.iotdb:tsfile (format v3), compiled from the same source with the
package prefix rewritten.
"""

from __future__ import annotations

import hashlib
import struct
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from java_env import cache_root, iotdb_tsfile_lib, require_java, tsfile_lib

from pipecore_storage.types import CompressionType, TSDataType, TSEncoding

SOURCE = Path(__file__).resolve().parents[2] / "tools/java/tsfile-dump/src/TsFileDump.java"
FLAVOURS = ("tsfile", "iotdb-tsfile")

_TEXTUAL = {TSDataType.TEXT, TSDataType.STRING}


class JavaTsFileReader:
    def __init__(self, flavour: str = "tsfile") -> None:
        assert flavour in FLAVOURS
        self.flavour = flavour
        self._classes: Path | None = None
        self._lib: Path | None = None

    def _build(self) -> tuple[Path, Path]:
        if self._classes is not None and self._lib is not None:
            return self._classes, self._lib
        require_java()
        lib = tsfile_lib() if self.flavour == "tsfile" else iotdb_tsfile_lib()
        source = SOURCE.read_text()
        if self.flavour == "iotdb-tsfile":
            source = source.replace("org.apache.tsfile.", "org.apache.iotdb.tsfile.")
        digest = hashlib.sha256((source + str(lib)).encode()).hexdigest()[:16]
        classes = cache_root() / "build" / f"tsfile-dump-{self.flavour}-{digest}"
        if not (classes / "TsFileDump.class").exists():
            src_dir = classes / "src"
            src_dir.mkdir(parents=True, exist_ok=True)
            (src_dir / "TsFileDump.java").write_text(source)
            proc = subprocess.run(
                ["javac", "-nowarn", "-d", str(classes), "-cp", f"{lib}/*",
                 str(src_dir / "TsFileDump.java")],
                capture_output=True, text=True, timeout=300,
            )  # fmt: skip
            if proc.returncode != 0:
                raise AssertionError(f"javac failed for {self.flavour}:\n{proc.stderr[-3000:]}")
        self._classes, self._lib = classes, lib
        return classes, lib

    def read(self, paths: Sequence[str | Path]) -> dict[str, dict[str, Any]]:
        classes, lib = self._build()
        proc = subprocess.run(
            ["java", "-Xmx512m", "-cp", f"{classes}:{lib}/*", "TsFileDump", *map(str, paths)],
            capture_output=True, timeout=600,
        )  # fmt: skip
        if proc.returncode != 0:
            err = proc.stderr.decode(errors="replace")[-3000:]
            raise AssertionError(
                f"the Java TsFile reader ({self.flavour}) failed on {paths}: {err}"
            )
        return parse_dump(proc.stdout.decode())


def parse_dump(text: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    file_res: dict[str, Any] = {}
    dev: dict[str, Any] = {}
    types: dict[str, TSDataType] = {}
    for line in text.splitlines():
        kind, _, rest = line.partition("\t")
        if kind == "P":
            m, t, v = rest.split("\t")
            dev["points"].setdefault(m, []).append((int(t), _value(v, types[m])))
        elif kind == "S":
            m, dt, e, c = rest.split("\t")
            types[m] = TSDataType[dt]
            dev["schemas"][m] = (int(TSDataType[dt]), int(TSEncoding[e]), int(CompressionType[c]))
        elif kind == "D":
            name, aligned = rest.split("\t")
            dev = file_res[name] = {"aligned": aligned == "1", "schemas": {}, "points": {}}
            types = {}
        elif kind == "F":
            file_res = out[rest] = {}
    for res in out.values():
        for d in res.values():
            for m in d["schemas"]:
                d["points"].setdefault(m, [])
    return out


def _value(v: str, dt: TSDataType) -> Any:
    if dt == TSDataType.BOOLEAN:
        return v == "true"
    if dt == TSDataType.FLOAT:
        return struct.unpack(">f", int(v[1:], 16).to_bytes(4, "big"))[0]
    if dt == TSDataType.DOUBLE:
        return struct.unpack(">d", int(v[1:], 16).to_bytes(8, "big"))[0]
    if dt in _TEXTUAL:
        return bytes.fromhex(v[1:]).decode()
    if dt == TSDataType.BLOB:
        return bytes.fromhex(v[1:])
    return int(v)
