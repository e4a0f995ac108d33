"""Seed 004's Java examples, built against IoTDB's own Flink connector, against pipecore.

``connectors/flink/java/pom.xml`` resolves ``org.apache.iotdb:flink-iotdb-connector`` (0.12.1,
the connector's only release on Maven Central, built for Flink 1.11) and Flink from Maven
Central into ``~/.cache/pipecore/java/flink-iotdb-connector-<version>/`` (or under
``$PIPECORE_JAVA_CACHE``); the examples under ``java/src`` are compiled with javac and run on
a local mini-cluster against a fresh ``pipecore serve``: every record of FlinkIoTDBSink lands,
and FlinkIoTDBSource reads back the rows it wrote. Without java/javac/mvn (or Maven Central)
the test skips with the reason; with ``PIPECORE_REQUIRE_JAVA=1`` it fails instead.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from conftest import Server, unavailable

JAVA_DIR = Path(__file__).parent.parent / "java"
POM = JAVA_DIR / "pom.xml"
VERSION = re.search(r"<connector\.version>([^<]+)<", POM.read_text()).group(1)  # type: ignore[union-attr]

# Flink 1.11 reflects into the JDK's classes (closure cleaning, Kryo): Java 17 has to open them
JAVA_OPENS = [
    f"--add-opens=java.base/{package}=ALL-UNNAMED"
    for package in (
        "java.lang",
        "java.lang.reflect",
        "java.util",
        "java.util.concurrent",
        "java.util.concurrent.atomic",
        "java.io",
        "java.nio",
        "java.net",
        "java.math",
        "java.text",
        "java.time",
        "java.security",
        "sun.nio.ch",
        "sun.security.util",
        "sun.security.provider",
    )
]


def jar_cache() -> Path:
    root = os.environ.get("PIPECORE_JAVA_CACHE", "~/.cache/pipecore/java")
    return Path(root).expanduser() / f"flink-iotdb-connector-{VERSION}"


def build_examples(classes: Path) -> str:
    """Resolve the jars (once), compile the examples into ``classes``; the class path."""
    for tool in ("java", "javac", "mvn"):
        if shutil.which(tool) is None:
            unavailable(f"`{tool}` is not on PATH (the Java connector test needs a JDK and Maven)")
    jars = jar_cache()
    done = jars / ".complete"
    if not done.exists():
        jars.mkdir(parents=True, exist_ok=True)
        try:
            mvn = subprocess.run(
                [
                    "mvn",
                    "-q",
                    "-B",
                    "-f",
                    str(POM),
                    "dependency:copy-dependencies",
                    f"-DoutputDirectory={jars}",
                ],
                capture_output=True,
                text=True,
                timeout=900,
            )
        except subprocess.TimeoutExpired:
            unavailable("mvn did not resolve the Flink connector's jars within 15 minutes")
        if mvn.returncode != 0:
            unavailable(
                f"mvn could not resolve org.apache.iotdb:flink-iotdb-connector:{VERSION}"
                f" from Maven Central: {(mvn.stdout + mvn.stderr)[-1500:]}"
            )
        done.write_text(VERSION)
    sources = sorted(str(p) for p in (JAVA_DIR / "src").rglob("*.java"))
    javac = subprocess.run(
        [
            "javac",
            "-nowarn",
            "-encoding",
            "UTF-8",
            "-cp",
            f"{jars}/*",
            "-d",
            str(classes),
            *sources,
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    # a compile error is this repository's bug: it fails, it never skips
    assert javac.returncode == 0, javac.stdout + javac.stderr
    return f"{classes}{os.pathsep}{jars}/*"


def run_example(classpath: str, main: str, *args: object) -> subprocess.CompletedProcess:
    cmd = ["java", *JAVA_OPENS, "-cp", classpath, f"org.apache.iotdb.flink.{main}", *map(str, args)]
    # a PyFlink process sets FLINK_CONF_DIR and the like: Flink 1.11 must not read PyFlink's
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLINK_", "_PYFLINK"))}
    return subprocess.run(cmd, capture_output=True, text=True, timeout=900, env=env)


@pytest.fixture(scope="module")
def java_classpath(tmp_path_factory: pytest.TempPathFactory) -> str:
    return build_examples(tmp_path_factory.mktemp("flink-java-classes"))


def test_seed_java_examples_against_pipecore(java_classpath: str, tmp_path: Path) -> None:
    # the connector's sink treats only IoTDB 0.12's "already exists" code (300) as harmless
    # when it creates its storage group, so it runs against a fresh node
    server = Server(tmp_path / "node")
    try:
        n = 2000
        sink = run_example(java_classpath, "FlinkIoTDBSink", server.port, n, 10)
        assert sink.returncode == 0, (sink.stdout + sink.stderr)[-4000:]
        rows = server.query("select s1 from root.sg.d1")
        assert [r[0] for r in rows] == list(range(1_700_000_000_000, 1_700_000_000_000 + n))
        assert all(isinstance(v, float) and 0 <= v < 1 for _, v in rows)
        (series,) = server.query("show timeseries root.sg.d1.s1")
        assert series[4:7] == ["DOUBLE", "GORILLA", "SNAPPY"]

        source = run_example(java_classpath, "FlinkIoTDBSource", server.port)
        assert source.returncode == 0, (source.stdout + source.stderr)[-4000:]
        read = [
            line.split("\t")[1:] for line in source.stdout.splitlines() if line.startswith("ROW\t")
        ]
        # RowRecord.toString of ALIGN BY DEVICE: time, device, s1
        assert Counter(tuple(r) for r in read) == Counter(
            (str(t), "root.sg1.d1", "1") for t in range(100)
        )
        assert server.query("select count(s2) from root.sg1.d1")[0][1] == 100
    finally:
        server.stop()
