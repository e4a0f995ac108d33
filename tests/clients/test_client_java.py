"""IoTDB's Java clients against a real `pipecore serve`: `Session` and the JDBC driver.

`java/ClientCheck.java` uses `org.apache.iotdb:iotdb-session` and `iotdb-jdbc` from Maven
Central (version in `java/pom.xml`): one JVM writes tablets (aligned and not, every data type,
nulls) and records (typed, string, of one device, aligned) through `Session` and `SessionPool`,
reads everything back through Session queries (SQL, raw, last), the pool and JDBC
`executeQuery`, and prints what it read. This test
compares each printout with what pipecore's own SELECT returns for the same statement, and
root.jv.d1's rows with the values the program wrote.

The jars are copied by `mvn -q dependency:copy-dependencies` into a cache outside the repo
(`~/.cache/pipecore/java/iotdb-client-<version>/`, or `$PIPECORE_JAVA_CACHE`), the program is
compiled once per test session. Without java/javac/mvn (or without Maven Central) the test
skips with the reason; with `PIPECORE_REQUIRE_JAVA=1` it fails instead.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import pandas as pd
import pytest

JAVA_DIR = Path(__file__).parent / "java"
POM = JAVA_DIR / "pom.xml"
IOTDB_VERSION = re.search(r"<iotdb\.version>([^<]+)</iotdb\.version>", POM.read_text()).group(1)  # type: ignore[union-attr]


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("PIPECORE_REQUIRE_JAVA") == "1":
        pytest.fail(f"PIPECORE_REQUIRE_JAVA=1 but {reason}")
    pytest.skip(reason)


def _jar_cache() -> Path:
    root = os.environ.get("PIPECORE_JAVA_CACHE", "~/.cache/pipecore/java")
    return Path(root).expanduser() / f"iotdb-client-{IOTDB_VERSION}"


@pytest.fixture(scope="session")
def java_classpath(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The compiled ClientCheck and IoTDB's client jars, as a java class path."""
    for tool in ("java", "javac", "mvn"):
        if shutil.which(tool) is None:
            _unavailable(f"`{tool}` is not on PATH (the Java client test needs a JDK and Maven)")
    jars = _jar_cache()
    done = jars / ".complete"
    if not done.exists():
        jars.mkdir(parents=True, exist_ok=True)
        try:
            mvn = subprocess.run(
                ["mvn", "-q", "-B", "-f", str(POM), "dependency:copy-dependencies",
                 f"-DoutputDirectory={jars}"],
                capture_output=True, text=True, timeout=900,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            _unavailable("mvn did not resolve IoTDB's Java client jars within 15 minutes")
        if mvn.returncode != 0:
            _unavailable(
                f"mvn could not resolve org.apache.iotdb:iotdb-session/iotdb-jdbc:{IOTDB_VERSION}"
                f" from Maven Central: {(mvn.stdout + mvn.stderr)[-1500:]}"
            )
        done.write_text(IOTDB_VERSION)
    classes = tmp_path_factory.mktemp("java-classes")
    javac = subprocess.run(
        ["javac", "-encoding", "UTF-8", "-cp", f"{jars}/*", "-d", str(classes),
         str(JAVA_DIR / "ClientCheck.java")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    # a compile error is this repository's bug: it fails, it never skips
    assert javac.returncode == 0, javac.stdout + javac.stderr
    return f"{classes}{os.pathsep}{jars}/*"


class Printout:
    """One query's result as ClientCheck printed it."""

    def __init__(self, api: str, sql: str) -> None:
        self.api = api
        self.sql = sql
        self.columns: list[str] = []
        self.types: list[str] = []
        self.rows: list[list[str]] = []


def _parse(stdout: str) -> dict[str, Printout]:
    out: dict[str, Printout] = {}
    for line in stdout.splitlines():
        kind, _, rest = line.partition("\t")
        if kind == "QUERY":
            label, api, sql = rest.split("\t", 2)
            out[label] = Printout(api, sql)
        elif kind in ("COLS", "TYPES", "ROW"):
            label, *cells = rest.split("\t")
            p = out[label]
            if kind == "COLS":
                p.columns = cells
            elif kind == "TYPES":
                p.types = cells
            else:
                p.rows.append(cells)
    return out


def _unescape(s: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"t": "\t", "n": "\n"}.get(m.group(1), m.group(1)), s)


# Java's text of a value, per IoTDB data type, read into the Python value it stands for.
_FROM_JAVA: dict[str, Callable[[str], Any]] = {
    "BOOLEAN": lambda s: {"true": True, "false": False}[s],
    "INT32": int,
    "INT64": int,
    "TIMESTAMP": int,
    "FLOAT": lambda s: np.float32(float(s)),
    "DOUBLE": float,
    "TEXT": _unescape,
    "STRING": _unescape,
    "BLOB": bytes.fromhex,
    "DATE": date.fromisoformat,
}


def _from_python(field: Any, type_name: str) -> Any:
    """The Python client's value of a field, in the same terms as `_FROM_JAVA`."""
    if field is None or field.get_data_type() is None:
        return None
    value = field.value
    if value is None or value is pd.NA:
        return None
    if type_name in ("TEXT", "STRING"):
        return value.decode() if isinstance(value, bytes) else str(value)
    if type_name == "BLOB":
        return bytes(value)
    if type_name == "DATE":
        return field.get_date_value()
    if type_name == "FLOAT":
        return np.float32(value)
    if type_name == "BOOLEAN":
        return bool(value)
    if type_name in ("INT32", "INT64", "TIMESTAMP"):
        return int(value)
    return float(value)


def _java_rows(p: Printout) -> list[list[Any]]:
    has_time = bool(p.columns) and p.columns[0] == "Time"
    value_types = p.types[1:] if has_time else p.types
    rows = []
    for cells in p.rows:
        time = int(cells[0]) if has_time else None
        values = [
            None if c == "\\N" else _FROM_JAVA[t](c)
            for c, t in zip(cells[1:], value_types, strict=True)
        ]
        rows.append([time, *values])
    return rows


def _pipecore_select(server: Any, sql: str) -> tuple[list[str], list[list[Any]]]:
    """pipecore's own answer to a SELECT, through the Python client."""
    session = server.session()
    try:
        with session.execute_query_statement(sql) as ds:
            columns = list(ds.get_column_names())
            has_time = columns[0] == "Time"
            types = [t.name for t in ds.get_column_types()]
            value_types = types[1:] if has_time else types
            rows = []
            while ds.has_next():
                rec = ds.next()
                values = [
                    _from_python(f, t) for f, t in zip(rec.get_fields(), value_types, strict=True)
                ]
                rows.append([rec.get_timestamp() if has_time else None, *values])
    finally:
        session.close()
    return columns, rows


def _d1_expected(order: list[str]) -> list[list[Any]]:
    """root.jv.d1 as ClientCheck.d1Value wrote it, columns in `order` (measurement names)."""

    def value(r: int, c: int) -> Any:
        if (r + c) % 4 == 0:
            return None
        return [
            r % 2 == 0,
            r * 10 - 25,
            r * 1_000_000_000_000,
            np.float32(r) * np.float32(1.1),
            r / 3.0,
            f"text-{r}-é水",
            f"str{r}",
            bytes([r, 0xFF, 0]),
            date(2024, 1, r),
            1_700_000_000_000 + r,
        ][c]

    written = ["s_bool", "s_int32", "s_int64", "s_float", "s_double",
               "s_text", "s_string", "s_blob", "s_date", "s_ts"]  # fmt: skip
    return [[r, *(value(r, written.index(n)) for n in order)] for r in range(1, 7)]


@pytest.mark.slow
@pytest.mark.subprocess
def test_java_session_and_jdbc_read_back_what_they_wrote(java_classpath: str, server: Any) -> None:
    run = subprocess.run(
        ["java", "-cp", java_classpath, "ClientCheck", "127.0.0.1", str(server.port)],
        capture_output=True, text=True, encoding="utf-8", timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, f"ClientCheck failed:\n{run.stdout[-2000:]}\n{run.stderr[-4000:]}"
    assert run.stdout.rstrip().endswith("DONE")
    printed = _parse(run.stdout)
    sql_labels = [f"{api}{i}" for api in "sj" for i in range(10)]
    assert set(printed) == {*sql_labels, "j10", "raw", "last", "p0", "agg"}

    # every read, Session, pool or JDBC, is what pipecore's own SELECT returns for it
    for label, p in printed.items():
        columns, rows = _pipecore_select(server, p.sql)
        assert p.columns == columns, (label, p.api, p.sql)
        assert _java_rows(p) == rows, (label, p.api, p.sql)

    # ... and what the program wrote: every type, nulls where it left cells empty
    d1 = printed["s0"]
    # (SELECT * lists them in IoTDB's hash order, `pipecore.sql.series_order`: as the header says)
    order = [c.rsplit(".", 1)[1] for c in d1.columns[1:]]
    assert sorted(order) == ["s_blob", "s_bool", "s_date", "s_double", "s_float", "s_int32",
                             "s_int64", "s_string", "s_text", "s_ts"]  # fmt: skip
    kinds = {"s_blob": "BLOB", "s_bool": "BOOLEAN", "s_date": "DATE", "s_double": "DOUBLE",
             "s_float": "FLOAT", "s_int32": "INT32", "s_int64": "INT64", "s_string": "STRING",
             "s_text": "TEXT", "s_ts": "TIMESTAMP"}  # fmt: skip
    assert d1.types == ["INT64", *(kinds[n] for n in order)]
    assert _java_rows(d1) == _d1_expected(order)
    assert _java_rows(printed["j0"]) == _d1_expected(order)
    aligned = [[1, date(2000, 1, 1), 1.25, -1, None],
               [2, date(2000, 1, 2), None, -2, "aligned2"],
               [3, None, 3.25, None, "aligned3"],
               [4, date(1999, 12, 31) + timedelta(days=4), 4.25, -4, None]]  # fmt: skip

    # (written above in name order; SELECT * answers IoTDB's hash order)
    def in_hash_order(label: str, rows: list[list[Any]]) -> list[list[Any]]:
        names = printed[label].columns[1:]
        by_name = [sorted(names).index(n) + 1 for n in names]
        return [[row[0], *(row[k] for k in by_name)] for row in rows]

    aligned = in_hash_order("s1", aligned)
    assert _java_rows(printed["s1"]) == aligned == _java_rows(printed["j1"])
    # records: typed, several records, string records (a new series "hello world" is TEXT,
    # "23.5" into a FLOAT series stays FLOAT), records of one device
    f32 = np.float32
    records = [[1, None, True, f32(20.5)], [2, None, False, f32(21.25)],
               [3, None, None, f32(22.0)], [4, None, True, f32(23.5)],
               [5, "hello world", None, None], [6, None, True, f32(24.75)],
               [7, None, False, f32(-1.5)]]  # fmt: skip
    records = in_hash_order("s2", records)
    assert printed["s2"].types == in_hash_order("s2", [["INT64", "TEXT", "BOOLEAN", "FLOAT"]])[0]
    assert _java_rows(printed["s2"]) == records == _java_rows(printed["j2"])
    aligned_records = [[1, 1 << 40, "x"], [2, -7, "y"], [3, 0, None], [4, 4, "z"], [5, 5, "w"]]
    aligned_records = in_hash_order("s3", aligned_records)
    assert _java_rows(printed["s3"]) == aligned_records == _java_rows(printed["j3"])
    assert _java_rows(printed["s4"]) == [[None, 5, 2.0, "text-6-é水"]]
    assert _java_rows(printed["j4"]) == [[None, 5, 2.0, "text-6-é水"]]
    assert _java_rows(printed["raw"]) == [[2, -5, 2 / 3], [3, None, 1.0], [4, 15, None]]
    assert _java_rows(printed["last"]) == [
        [5, "root.jv.d1.s_int64", "5000000000000", "INT64"],
        [7, "root.jv.d3.temperature", "-1.5", "FLOAT"],
    ]
    # one JDBC insert, then two in a batch (executeBatchStatement)
    assert _java_rows(printed["j10"]) == [[1, 1.5], [2, 2.5], [3, 3.5]]
    assert "BATCH\t[200, 200]" in run.stdout.splitlines()  # IoTDB JDBC: a status per statement
    # a query without rows (IoTDB sends no TsBlock then; Java's clients fail on an empty one)
    assert printed["s5"].rows == printed["j5"].rows == []
    assert printed["s5"].columns == printed["s0"].columns
    # schema calls: alias, tags, attributes, encodings and compressors as created
    for label in ("s6", "j6"):
        (d7,) = _java_rows(printed[label])
        assert d7[1:9] == ["root.jv.d7.temp", "t", "root.jv", "FLOAT", "GORILLA", "SNAPPY",
                           '{"unit":"C"}', '{"loc":"hall"}']  # fmt: skip
    assert [r[1] for r in _java_rows(printed["s7"])] == ["root.jv.d8.a", "root.jv.d8.b"]
    # deleteData [2, 3] of x, deleteTimeseries y
    assert _java_rows(printed["s8"]) == [[1, 1.5], [4, 6.0]] == _java_rows(printed["j8"])
    assert "EXISTS\ttrue\tfalse" in run.stdout.splitlines()
    assert _java_rows(printed["agg"]) == [[None, 2, 7.5]]
    # a write under a set schema template creates the template's series
    assert [r[1] for r in _java_rows(printed["s9"])] == ["root.jv.tpl.dev.m1", "root.jv.tpl.dev.m2"]
    # SessionPool: a tablet with a null, then a string record ("16" into the INT64 series)
    pooled = [[1, 1, "pool1"], [2, 4, None], [3, 9, "pool3"], [4, 16, "pool4"]]
    pooled = in_hash_order("p0", pooled)
    assert _java_rows(printed["p0"]) == pooled
