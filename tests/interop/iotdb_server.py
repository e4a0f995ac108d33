"""A real single-node Apache IoTDB (one ConfigNode + one DataNode) for the interop tests.

The jars come from Maven Central (tools/java/prefetch.sh → ~/.cache/pipecore/java/iotdb-V/lib);
the two nodes run as plain `java` processes on 127.0.0.1 with free ports, their whole state
(configuration, data, WAL, consensus, logs) in one directory of the test's tmp. The official
Python client (`iotdb.Session`) talks to the DataNode.

Main classes and configuration (read from IoTDB's sources and the 2.0 jars): the ConfigNode is
`org.apache.iotdb.confignode.service.ConfigNode -s`, configured by the directory in the system
property CONFIGNODE_CONF; the DataNode is `org.apache.iotdb.db.service.DataNode -s`, configured
by IOTDB_CONF; both read `iotdb-system.properties` there (1.3.2+ and 2.x; the ConfigNode seeds
itself with `cn_seed_config_node`, the DataNode joins with `dn_seed_config_node`).
"""

from __future__ import annotations

import contextlib
import ctypes
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import attrs

CONFIG_NODE_MAIN = "org.apache.iotdb.confignode.service.ConfigNode"
DATA_NODE_MAIN = "org.apache.iotdb.db.service.DataNode"
CONFIG_FILE = "iotdb-system.properties"

# What IoTDB's start scripts pass to Java 17 (the nodes reflect into these JDK packages)
ADD_OPENS = [
    f"--add-opens=java.base/{pkg}=ALL-UNNAMED"
    for pkg in ("java.util.concurrent", "java.lang", "java.util", "java.nio", "java.io", "java.net")
]

LOGBACK = """<configuration>
  <appender name="FILE" class="ch.qos.logback.core.FileAppender">
    <file>{log}</file>
    <encoder><pattern>%d %-5level [%thread] %logger{{36}}:%line - %msg%n</pattern></encoder>
  </appender>
  <root level="INFO"><appender-ref ref="FILE"/></root>
  <logger name="org.apache.ratis" level="WARN"/>
</configuration>
"""


def free_ports(n: int) -> list[int]:
    """`n` distinct free TCP ports on 127.0.0.1 (held open together while chosen)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for s in socks:
            s.close()


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MiB (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class IoTDBStartError(RuntimeError):
    """A node did not come up: the message names the node, the command and its log's tail."""


@attrs.frozen
class ThriftTls:
    """TLS on the DataNode's client RPC port (`enable_thrift_ssl`): its key store (JKS or
    PKCS#12, the certificate chain and key, one password for both) and the CA certificate the
    test's clients trust. The pipe receiver is on that port, so pipes into it need TLS too."""

    key_store: Path
    key_store_pwd: str
    ca_certs: Path


class IoTDBServer:
    """One ConfigNode and one DataNode of IoTDB `version` under `home`.

    `properties` are extra iotdb-system.properties entries. The air-gap receiver is on
    (`air_gap_port`); MQTT and REST are off. With `tls`, the client RPC port takes TLS only
    (sessions here connect with `use_ssl`).
    """

    def __init__(
        self,
        version: str,
        lib: Path,
        home: Path,
        *,
        properties: dict[str, Any] | None = None,
        tls: ThriftTls | None = None,
        cn_heap: str = "256m",
        dn_heap: str = "512m",
    ) -> None:
        self.version = version
        self.lib = lib
        self.home = Path(home)
        self.cn_heap, self.dn_heap = cn_heap, dn_heap
        (
            self.cn_internal_port,
            self.cn_consensus_port,
            self.rpc_port,
            self.dn_internal_port,
            self.dn_mpp_port,
            self.dn_schema_consensus_port,
            self.dn_data_consensus_port,
            self.air_gap_port,
        ) = free_ports(8)
        self.tls = tls
        tls_properties = (
            {
                "enable_thrift_ssl": "true",
                "key_store_path": tls.key_store,
                "key_store_pwd": tls.key_store_pwd,
            }
            if tls is not None
            else {}
        )
        self.properties = {**self._base_properties(), **tls_properties, **(properties or {})}
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.startup_seconds: dict[str, float] = {}
        self._session: Any = None

    # ------------------------------------------------------------------ configuration

    def _base_properties(self) -> dict[str, Any]:
        h = self.home
        seed = f"127.0.0.1:{self.cn_internal_port}"
        return {
            "cluster_name": "pipecoreInterop",
            "cn_internal_address": "127.0.0.1",
            "cn_internal_port": self.cn_internal_port,
            "cn_consensus_port": self.cn_consensus_port,
            "cn_seed_config_node": seed,
            "cn_system_dir": h / "confignode" / "system",
            "cn_consensus_dir": h / "confignode" / "consensus",
            "dn_rpc_address": "127.0.0.1",
            "dn_rpc_port": self.rpc_port,
            "dn_internal_address": "127.0.0.1",
            "dn_internal_port": self.dn_internal_port,
            "dn_mpp_data_exchange_port": self.dn_mpp_port,
            "dn_schema_region_consensus_port": self.dn_schema_consensus_port,
            "dn_data_region_consensus_port": self.dn_data_consensus_port,
            "dn_seed_config_node": seed,
            "dn_system_dir": h / "datanode" / "system",
            "dn_data_dirs": h / "datanode" / "data",
            "dn_consensus_dir": h / "datanode" / "consensus",
            "dn_wal_dirs": h / "datanode" / "wal",
            "dn_tracing_dir": h / "datanode" / "tracing",
            "dn_sync_dir": h / "datanode" / "sync",
            "dn_pipe_receiver_file_dirs": h / "datanode" / "pipe-receiver",
            "udf_lib_dir": h / "ext" / "udf",
            "trigger_lib_dir": h / "ext" / "trigger",
            "pipe_lib_dir": h / "ext" / "pipe",
            "sort_tmp_dir": h / "datanode" / "tmp",
            # one database = one data region; schema regions on Ratis (IoTDB's schema-region
            # pipe source refuses SimpleConsensus: "IoTDBSchemaRegionExtractor does not
            # transferring events under simple consensus") with 1 MiB buffers instead of
            # 16–24 MiB, so that many databases fit the small direct-memory limit
            "default_data_region_group_num_per_database": 1,
            "schema_region_consensus_protocol_class": (
                "org.apache.iotdb.consensus.ratis.RatisConsensus"
            ),
            "schema_region_ratis_log_appender_buffer_size_max": 1 << 20,
            "schema_region_ratis_log_segment_size_max_in_byte": 1 << 20,
            "schema_region_ratis_grpc_flow_control_window": 1 << 20,
            # each data region's WAL node takes 2 direct buffers of wal_buffer_size (32 MiB by
            # default): 1 MiB keeps many databases within the small direct-memory limit
            "wal_buffer_size_in_byte": 1 << 20,
            "enable_mqtt_service": "false",
            "enable_rest_service": "false",
            "pipe_air_gap_receiver_enabled": "true",
            "pipe_air_gap_receiver_port": self.air_gap_port,
        }

    def _write_node_dir(self, node: str) -> Path:
        conf = self.home / node / "conf"
        conf.mkdir(parents=True, exist_ok=True)
        text = "".join(f"{k}={_prop(v)}\n" for k, v in self.properties.items())
        (conf / CONFIG_FILE).write_text(text)
        (conf / "logback.xml").write_text(LOGBACK.format(log=self.home / node / "log.txt"))
        return conf

    def _command(self, node: str, main: str, heap: str) -> list[str]:
        conf = self._write_node_dir(node)
        root = self.home / node
        if node == "confignode":
            props = [f"-DCONFIGNODE_HOME={root}", f"-DCONFIGNODE_CONF={conf}"]
        else:
            props = [f"-DIOTDB_HOME={root}", f"-DIOTDB_CONF={conf}", f"-DIOTDB_LOG_DIR={root}"]
        return [
            "java",
            f"-Xms{heap}",
            f"-Xmx{heap}",
            "-XX:MaxDirectMemorySize=256m",
            "-XX:+UseSerialGC",
            "-Djava.net.preferIPv4Stack=true",
            *ADD_OPENS,
            *props,
            f"-DTSFILE_CONF={conf}",
            f"-Dlogback.configurationFile={conf / 'logback.xml'}",
            "-cp",
            f"{self.lib}/*",
            main,
            "-s",
        ]

    # ------------------------------------------------------------------ life cycle

    def start(self, timeout: float = 240.0) -> IoTDBServer:
        self.home.mkdir(parents=True, exist_ok=True)
        t0 = time.monotonic()
        self._launch("confignode", CONFIG_NODE_MAIN, self.cn_heap)
        self._wait_port("confignode", self.cn_internal_port, t0 + timeout)
        self.startup_seconds["confignode"] = time.monotonic() - t0
        t1 = time.monotonic()
        self._launch("datanode", DATA_NODE_MAIN, self.dn_heap)
        self._wait_port("datanode", self.rpc_port, t1 + timeout)
        self._wait_session(t1 + timeout)
        self.startup_seconds["datanode"] = time.monotonic() - t1
        self.startup_seconds["total"] = time.monotonic() - t0
        return self

    def _launch(self, node: str, main: str, heap: str) -> None:
        cmd = self._command(node, main, heap)
        out = open(self.home / node / "stdout.txt", "wb")  # noqa: SIM115 - the child keeps it
        with out:
            self.procs[node] = subprocess.Popen(
                cmd,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.home / node,
                start_new_session=True,
                preexec_fn=_die_with_test_process,
            )

    def _check_alive(self, node: str) -> None:
        proc = self.procs[node]
        if proc.poll() is not None:
            raise IoTDBStartError(
                f"IoTDB {self.version} {node} exited with {proc.returncode}: "
                f"{' '.join(map(str, proc.args))}\n{self.log_tail(node)}"  # type: ignore[arg-type]
            )

    def _wait_port(self, node: str, port: int, deadline: float) -> None:
        while time.monotonic() < deadline:
            self._check_alive(node)
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                return
            time.sleep(0.2)
        raise IoTDBStartError(f"{node} did not listen on {port}\n{self.log_tail(node)}")

    def _client(self) -> Any:
        """An official `iotdb.Session` for this node (not opened): TLS when the port is."""
        from iotdb.Session import Session

        if self.tls is None:
            return Session("127.0.0.1", self.rpc_port, "root", "root")
        return Session(
            "127.0.0.1",
            self.rpc_port,
            "root",
            "root",
            use_ssl=True,
            ca_certs=str(self.tls.ca_certs),
        )

    def _wait_session(self, deadline: float) -> None:
        last: Exception | None = None
        while time.monotonic() < deadline:
            self._check_alive("confignode")
            self._check_alive("datanode")
            session = self._client()
            try:
                session.open(False)
                # the DataNode answers queries once it has joined the cluster
                ds = session.execute_query_statement("show version")
                while ds.has_next():
                    ds.next()
                ds.close_operation_handle()
                session.close()
                return
            except Exception as exc:
                last = exc
                with contextlib.suppress(Exception):
                    session.close()
            time.sleep(0.5)
        raise IoTDBStartError(
            f"the DataNode of IoTDB {self.version} did not answer a session: {last!r}\n"
            f"{self.log_tail('datanode')}"
        )

    def stop(self) -> None:
        if self._session is not None:
            with contextlib.suppress(Exception):
                self._session.close()
            self._session = None
        for node in ("datanode", "confignode"):
            proc = self.procs.get(node)
            if proc is None or proc.poll() is not None:
                continue
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)

    def rss_mb(self) -> dict[str, float]:
        return {node: rss_mb(p.pid) for node, p in self.procs.items()}

    def log_tail(self, node: str, chars: int = 4000) -> str:
        parts = []
        for name in ("stdout.txt", "log.txt"):
            path = self.home / node / name
            if path.exists():
                text = path.read_text(errors="replace")
                errors = [ln for ln in text.splitlines() if " ERROR " in ln or "Exception" in ln]
                parts.append(f"--- {node}/{name} ---\n{text[-chars:]}")
                if errors:
                    parts.append("--- first errors ---\n" + "\n".join(errors[:10]))
        return "\n".join(parts)

    # ------------------------------------------------------------------ client

    def session(self) -> Any:
        """A shared open `iotdb.Session` (reopened if it broke)."""
        if self._session is None:
            self._session = self._client()
            self._session.open(False)
        return self._session

    def new_session(self) -> Any:
        session = self._client()
        session.open(False)
        return session

    def execute(self, *statements: str) -> None:
        """Run non-query statements; a failure raises with IoTDB's message."""
        for sql in statements:
            self.session().execute_non_query_statement(sql)

    def query(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Column names and rows of a query (time first, when the result has a time column)."""
        return query_rows(self.session(), sql)

    def data_files(self, suffix: str = ".tsfile") -> list[Path]:
        return sorted((self.home / "datanode" / "data").rglob(f"*{suffix}"))

    @property
    def pids(self) -> Iterable[int]:
        return [p.pid for p in self.procs.values()]


def query_rows(session: Any, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Column names and rows of a query through an official `iotdb.Session` (time first, when
    the result has a time column; TIMESTAMP values as longs, DATE as datetime.date)."""
    ds = session.execute_query_statement(sql)
    try:
        names = list(ds.get_column_names())
        timed = bool(names) and names[0] == "Time"
        rows: list[tuple[Any, ...]] = []
        while ds.has_next():
            rec = ds.next()
            fields = [_field_value(f) for f in rec.get_fields()]
            rows.append((rec.get_timestamp(), *fields) if timed else tuple(fields))
    finally:
        ds.close_operation_handle()
    return names, rows


def _prop(value: Any) -> str:
    return str(value)


def _field_value(field: Any) -> Any:
    if field is None:
        return None
    dt = field.get_data_type()
    if dt is None:
        return None
    if dt.name == "TIMESTAMP":  # the raw long (the client would make a pandas Timestamp)
        return field.get_long_value()
    return field.get_object_value(dt)


def _die_with_test_process() -> None:
    """In the child before exec: on Linux, SIGKILL it when the test process dies, so that a
    pytest killed by a timeout leaves no IoTDB running (a new session is no process group of
    pytest's: nothing else would end it)."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
