"""The other pipe directions and the seeds' examples against a real IoTDB: IoTDB's sync and
air-gap sinks into pipecore, pipecore's air-gap sink into IoTDB's air-gap receiver, the legacy
PIPESINK model, a historical range, both directions at once (forwarding off) and a cascade
pipecore -> IoTDB -> pipecore. After the pipe settles, SELECT on both sides is identical.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from interop_data import (
    create_statements,
    device_data,
    expected,
    insert,
    insert_statements,
    select_points,
)
from iotdb_server import IoTDBServer
from pipecore_node import PipecoreNode
from test_iotdb_pipes import _data, settle

pytestmark = [pytest.mark.slow, pytest.mark.subprocess]
_names = itertools.count()


def _iotdb_history(iotdb: IoTDBServer, db: str, rows: int = 200) -> list:
    data = _data(db, rows)
    iotdb.execute(f"create database {db}")
    insert(iotdb.session(), data, rows_per_call=100)
    iotdb.execute(f"flush {db}")
    return data


def _both(iotdb: IoTDBServer, pipecore: PipecoreNode, path: str, timeout: float = 60) -> dict:
    return settle(
        lambda: select_points(iotdb.query, path),
        lambda: select_points(pipecore.query, path),
        timeout=timeout,
    )


# ---------------------------------------------------------------------- IoTDB -> pipecore


# IoTDB 2.0.1-beta registers no `iotdb-air-gap-sink` ("PipePlugin IOTDB-AIR-GAP-SINK has not
# been registered", 1107): its air-gap connector class ships but is not a built-in plugin, so
# the IoTDB -> pipecore air-gap direction cannot run against this version.
@pytest.mark.parametrize("sink", ["iotdb-thrift-sync-sink", "iotdb-thrift-async-sink"])
def test_iotdb_sinks_into_pipecore(
    iotdb: IoTDBServer, database: str, pipecore: PipecoreNode, sink: str
) -> None:
    db = database
    data = _iotdb_history(iotdb, db)
    iotdb.execute(
        f"create pipe p{next(_names)} with source ('source.path'='{db}.**') "
        f"with sink ('sink'='{sink}', 'sink.node-urls'='{pipecore.url}')"
    )
    late = device_data(f"{db}.late", 100, aligned=False, seed=3)
    insert(iotdb.session(), [late])  # realtime, after the pipe
    iotdb.execute(f"flush {db}")
    truth = _both(iotdb, pipecore, f"{db}.**")
    assert len(truth) == 30 and truth[f"{db}.late.s_text"] == expected([late])[f"{db}.late.s_text"]
    assert truth[f"{db}.al.s_blob"] == expected(data)[f"{db}.al.s_blob"]


def test_iotdb_historical_range_into_pipecore(
    iotdb: IoTDBServer, database: str, pipecore: PipecoreNode
) -> None:
    """Seed 002: only history between start-time and end-time is sent."""
    db = database
    data = _iotdb_history(iotdb, db)
    ts = data[0].timestamps
    lo, hi = int(ts[50]), int(ts[149])
    iotdb.execute(
        f"create pipe p{next(_names)} with source ('source.path'='{db}.**', "
        f"'source.realtime.enable'='false', 'source.history.start-time'='{lo}', "
        f"'source.history.end-time'='{hi}') "
        f"with sink ('sink'='iotdb-thrift-sink', 'sink.node-urls'='{pipecore.url}')"
    )
    where = f"{db}.**"
    want = {
        k: [p for p in v if lo <= p[0] <= hi] for k, v in select_points(iotdb.query, where).items()
    }
    want = {k: v for k, v in want.items() if v}
    deadline = time.monotonic() + 60
    got: dict = {}
    while time.monotonic() < deadline:
        try:
            got = select_points(pipecore.query, where)
        except Exception:  # nothing arrived yet
            got = {}
        if got == want:
            break
        time.sleep(0.5)
    assert got == want
    everything = select_points(iotdb.query, where)
    assert len(got) == 20 and sum(map(len, got.values())) <= sum(map(len, everything.values())) / 2


# ---------------------------------------------------------------------- pipecore -> IoTDB


def _pipecore_data(pipecore: PipecoreNode, db: str) -> list:
    data = _data(db, 200)
    pipecore.execute(f"create database {db}", *create_statements(data))
    pipecore.execute(*insert_statements(data))
    return data


def test_pipecore_air_gap_sink_into_iotdb(
    iotdb: IoTDBServer, database: str, pipecore: PipecoreNode
) -> None:
    """IoTDB's air-gap receiver (pipe_air_gap_receiver_enabled): the sink learns it is a 2.x
    one from the type-11 probe (OK), so tablets go as type 11 and files as format 4."""
    db = database
    data = _pipecore_data(pipecore, db)
    pipecore.execute(f"flush {db}")
    pipecore.execute(
        f"create pipe p{next(_names)} with source ('source.path'='{db}.**') "
        f"with sink ('sink'='iotdb-air-gap-sink', "
        f"'sink.node-urls'='127.0.0.1:{iotdb.air_gap_port}')"
    )
    late = device_data(f"{db}.late", 100, aligned=True, seed=3)
    pipecore.execute(*create_statements([late]), *insert_statements([late]))  # realtime
    truth = settle(
        lambda: select_points(pipecore.query, f"{db}.**"),
        lambda: select_points(iotdb.query, f"{db}.**"),
    )
    assert truth[f"{db}.al.s_blob"] == expected(data)[f"{db}.al.s_blob"]


def test_legacy_pipesink_into_iotdb(
    iotdb: IoTDBServer, database: str, pipecore: PipecoreNode
) -> None:
    """Seeds 000/001: CREATE PIPESINK ... AS IoTDB, CREATE PIPE ... TO, START PIPE."""
    db = database
    _pipecore_data(pipecore, db)
    name = f"legacy{next(_names)}"
    pipecore.execute(
        f"create pipesink {name}_sink as IoTDB (ip='127.0.0.1', port={iotdb.rpc_port})",
        f"create pipe {name} to {name}_sink from (select ** from root where time >= 0)",
        f"start pipe {name}",
    )
    settle(
        lambda: select_points(pipecore.query, f"{db}.**"),
        lambda: select_points(iotdb.query, f"{db}.**"),
    )


# ---------------------------------------------------------------------- chains


def test_bidirectional_pipecore_iotdb_forwarding_off(
    iotdb: IoTDBServer, database: str, pipecore: PipecoreNode
) -> None:
    """Seed 002's bidirectional example. IoTDB 2.0.1-beta refuses
    `source.forwarding-pipe-requests`=false (1107 "cannot be set to false"), so only pipecore's
    pipe has it: IoTDB echoes pipecore's writes back once (same points), pipecore stops there."""
    db = database
    iotdb.execute(f"create database {db}")
    pipecore.execute(f"create database {db}")
    off = "'source.forwarding-pipe-requests'='false'"
    iotdb.execute(
        f"create pipe p{next(_names)} with source ('source.path'='{db}.**') "
        f"with sink ('sink'='iotdb-thrift-sink', 'sink.node-urls'='{pipecore.url}')"
    )
    pipecore.execute(
        f"create pipe p{next(_names)} with source ('source.path'='{db}.**', {off}) "
        f"with sink ('sink'='iotdb-thrift-sink', 'sink.node-urls'='127.0.0.1:{iotdb.rpc_port}')"
    )
    a = _data(f"{db}.a", 100)
    b = _data(f"{db}.b", 100)
    insert(iotdb.session(), a, rows_per_call=100)
    iotdb.execute(f"flush {db}")
    pipecore.execute(*create_statements(b), *insert_statements(b))
    truth = _both(iotdb, pipecore, f"{db}.**")
    assert len(truth) == 40
    time.sleep(3)  # nothing echoes back: the counts stay
    assert (
        select_points(pipecore.query, f"{db}.**") == truth == select_points(iotdb.query, f"{db}.**")
    )


def test_cascade_pipecore_iotdb_pipecore(
    iotdb: IoTDBServer, database: str, pipecore: PipecoreNode, tmp_path: Path
) -> None:
    """Seed 002's cascade: A (pipecore) -> B (IoTDB) -> C (pipecore); B forwards what it
    received ('source.forwarding-pipe-requests' defaults to true)."""
    db = database
    last = PipecoreNode(tmp_path, "pipecore-c").start()
    try:
        iotdb.execute(f"create database {db}")
        iotdb.execute(
            f"create pipe p{next(_names)} with source ('source.path'='{db}.**') "
            f"with sink ('sink'='iotdb-thrift-sink', 'sink.node-urls'='{last.url}')"
        )
        data = _pipecore_data(pipecore, db)
        pipecore.execute(
            f"create pipe p{next(_names)} with source ('source.path'='{db}.**') "
            f"with sink ('sink'='iotdb-thrift-sink', "
            f"'sink.node-urls'='127.0.0.1:{iotdb.rpc_port}')"
        )
        want = expected(data)
        settle(lambda: want, lambda: select_points(iotdb.query, f"{db}.**"))
        iotdb.execute(f"flush {db}")
        settle(lambda: want, lambda: select_points(last.query, f"{db}.**"), timeout=90)
    finally:
        last.stop()


# ---------------------------------------------------------------------- TLS


def test_iotdb_ssl_sink_into_a_tls_pipecore(
    iotdb: IoTDBServer, database: str, tmp_path: Path
) -> None:
    """`iotdb-thrift-ssl-sink` with a JKS trust store made by keytool, into a pipecore node
    whose RPC port is TLS (`enable_thrift_ssl`, PKCS#12 key store); both sides read back over
    the official client (pipecore's with `use_ssl`)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ssl"))
    from ssl_helpers import KEY_PWD, Pki

    pki = Pki(tmp_path / "pki")
    trust = tmp_path / "trust.jks"
    subprocess.run(
        ["keytool", "-importcert", "-noprompt", "-alias", "ca", "-file", str(pki.ca_pem),
         "-keystore", str(trust), "-storepass", "trust-pw", "-storetype", "JKS"],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    node = TlsPipecoreNode(
        tmp_path,
        "pipecore-tls",
        {"enable_thrift_ssl": True, "key_store_path": str(pki.key_p12()), "key_store_pwd": KEY_PWD},
        client_context=pki.client_context(),
    )
    node.ca_certs = str(pki.ca_pem)
    node.start()
    try:
        db = database
        _iotdb_history(iotdb, db)
        iotdb.execute(
            f"create pipe p{next(_names)} with source ('source.path'='{db}.**') "
            f"with sink ('sink'='iotdb-thrift-ssl-sink', 'sink.node-urls'='{node.url}', "
            f"'ssl.trust-store-path'='{trust}', 'ssl.trust-store-pwd'='trust-pw')"
        )
        truth = _both(iotdb, node, f"{db}.**")
        assert len(truth) == 20
    finally:
        node.stop()


class TlsPipecoreNode(PipecoreNode):
    ca_certs = ""
    _official: Any

    def official(self) -> Any:
        from iotdb.Session import Session

        if self._official is None:
            session = Session(
                "127.0.0.1", self.port, "root", "root", use_ssl=True, ca_certs=self.ca_certs
            )
            session.open(False)
            self._official = session
        return self._official
