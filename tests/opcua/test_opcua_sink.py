"""``opc-ua-sink`` (connectors/opcua, pip-installed by conftest) with a real asyncua Client on
127.0.0.1: the latest values and their source timestamps in IoTDB's node layout, the pub-sub
model's events, anonymous access off with the configured user, refused passwords and client
certificates outside the trust list, and the parameters refused by name."""

from __future__ import annotations

import asyncio
import shutil
import socket
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
from asyncua import Client, ua
from asyncua.crypto.cert_gen import setup_self_signed_certificate
from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256
from cryptography.x509.oid import ExtendedKeyUsageOID

from pipecore import Node
from pipecore.sql.outcome import StatementError
from pipecore.testing import ConnectorTests, wait_until

NAMESPACE = "urn:apache:iotdb:opc-server"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pipe(node: Node, port: int, security: Path, name: str = "opc", **extra: str) -> None:
    sink = {
        "sink": "opc-ua-sink",
        "sink.opcua.tcp.port": str(port),
        "sink.opcua.security.dir": str(security),
        **extra,
    }
    attrs = ", ".join(f"'{k}'='{v}'" for k, v in sink.items())
    node.execute(
        f"CREATE PIPE {name} WITH SOURCE ('source'='iotdb-source', 'source.path'='root.opc.**') "
        f"WITH SINK ({attrs})"
    )


def _nid(path: str, namespace: int) -> ua.NodeId:
    return ua.NodeId(ua.String(path), ua.Int16(namespace))


def _ms(t: int) -> datetime:
    return datetime.fromtimestamp(t / 1000, tz=timezone.utc)


async def _read_until(url: str, want: dict[str, object], timeout: float = 20.0, **login: str):
    """Connect, then read the variables `want` names until they hold those values; returns the
    DataValues."""
    client = Client(url, timeout=10)
    if login:
        client.set_user(login["user"])
        client.set_password(login["password"])
    async with client:
        ns = await client.get_namespace_index(NAMESPACE)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            got = {}
            for path in want:
                try:
                    got[path] = await client.get_node(_nid(path, ns)).read_data_value()
                except ua.UaStatusCodeError:  # not created yet
                    break
            values = {p: getattr(d.Value, "Value", None) for p, d in got.items()}
            if values == want:
                return got
            if loop.time() > deadline:
                raise AssertionError(f"values not reached: {got} != {want}")
            await asyncio.sleep(0.05)


def test_a_client_reads_the_latest_values_and_their_timestamps(node: Node, tmp_path: Path) -> None:
    port = _free_port()
    _pipe(node, port, tmp_path / "sec", **{"sink.opcua.model": "client-server"})
    node.execute("create timeseries root.opc.d1.n with datatype=INT32")
    node.execute("insert into root.opc.d1(time, t, on, n, s) values (1000, 20.5, true, 7, 'a')")
    node.execute("insert into root.opc.d1(time, t, on, n, s) values (3000, 21.5, false, 9, 'c')")
    node.execute("insert into root.opc.d1(time, t) values (2000, 99.0)")  # older: not the latest
    node.execute("insert into root.opc.d1(time, n) values (4000, 11)")  # t, on, s null here
    node.execute("insert into root.opc.plant.d2(time, p) values (5000, 1.25)")
    url = f"opc.tcp://127.0.0.1:{port}/iotdb"
    want = {
        "root/opc/d1/t": 21.5,
        "root/opc/d1/on": False,
        "root/opc/d1/n": 11,
        "root/opc/d1/s": "c",
        "root/opc/plant/d2/p": 1.25,
    }
    got = asyncio.run(_read_until(url, want))
    times = {p: got[p].SourceTimestamp for p in want}
    assert times == {
        "root/opc/d1/t": _ms(3000),
        "root/opc/d1/on": _ms(3000),
        "root/opc/d1/n": _ms(4000),
        "root/opc/d1/s": _ms(3000),
        "root/opc/plant/d2/p": _ms(5000),
    }
    assert got["root/opc/d1/n"].Value.VariantType == ua.VariantType.Int32
    assert got["root/opc/d1/t"].Value.VariantType in (ua.VariantType.Float, ua.VariantType.Double)
    assert all(v.StatusCode.is_good() for v in got.values())

    async def browse() -> tuple[list[str], list[str]]:
        async with Client(url, timeout=10) as client:
            ns = await client.get_namespace_index(NAMESPACE)
            objects = [
                str((await c.read_browse_name()).Name)
                for c in await client.nodes.objects.get_children()
            ]
            device = client.get_node(_nid("root/opc/d1", ns))
            children = [str((await c.read_browse_name()).Name) for c in await device.get_children()]
            return objects, children

    objects, children = asyncio.run(browse())
    assert "root" in objects  # a folder per path node, from Objects down
    assert sorted(children) == ["n", "on", "s", "t"]  # a variable per measurement


def test_pub_sub_posts_every_point_as_an_event(node: Node, tmp_path: Path) -> None:
    port = _free_port()
    _pipe(node, port, tmp_path / "sec")  # pub-sub is IoTDB's default model
    url = f"opc.tcp://127.0.0.1:{port}/iotdb"

    async def subscribe_then_insert() -> list[tuple[str, str, datetime]]:
        got: list[tuple[str, str, datetime]] = []

        class Handler:
            def event_notification(self, event: object) -> None:
                got.append((event.SourceName, event.Message.Text, event.Time))  # type: ignore[attr-defined]

        async with Client(url, timeout=10) as client:
            subscription = await client.create_subscription(20, Handler())
            await subscription.subscribe_events(client.nodes.server)
            await asyncio.to_thread(
                node.execute,
                "insert into root.opc.d1(time, t, on) "
                "values (1000, 20.5, true), (2000, 21.5, null)",
            )
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 20
            while len(got) < 3 and loop.time() < deadline:
                await asyncio.sleep(0.05)
        return got

    events = asyncio.run(subscribe_then_insert())
    assert sorted(events) == [
        ("root.opc.d1.on", "true", _ms(1000)),
        ("root.opc.d1.t", "20.5", _ms(1000)),
        ("root.opc.d1.t", "21.5", _ms(2000)),
    ]


def test_anonymous_off_admits_the_user_and_refuses_the_rest(node: Node, tmp_path: Path) -> None:
    port = _free_port()
    _pipe(
        node,
        port,
        tmp_path / "sec",
        **{
            "sink.opcua.model": "client-server",
            "sink.opcua.enable-anonymous-access": "false",
            "sink.user": "operator",
            "sink.password": "s3cret",
        },
    )
    node.execute("insert into root.opc.d1(time, t) values (1000, 20.5)")
    url = f"opc.tcp://127.0.0.1:{port}/iotdb"
    got = asyncio.run(_read_until(url, {"root/opc/d1/t": 20.5}, user="operator", password="s3cret"))
    assert got["root/opc/d1/t"].SourceTimestamp == _ms(1000)

    async def connect(**login: str) -> None:
        client = Client(url, timeout=10)
        if login:
            client.set_user(login["user"])
            client.set_password(login["password"])
        async with client:
            pass

    with pytest.raises(ua.uaerrors.BadUserAccessDenied):
        asyncio.run(connect(user="operator", password="wrong"))
    with pytest.raises(ua.uaerrors.BadUserAccessDenied):
        asyncio.run(connect(user="root", password="root"))  # the default user is not there
    with pytest.raises(ua.uaerrors.BadIdentityTokenRejected):
        asyncio.run(connect())  # anonymous


def test_an_encrypted_client_is_admitted_once_its_certificate_is_trusted(
    node: Node, tmp_path: Path
) -> None:
    port = _free_port()
    security = tmp_path / "sec"
    _pipe(node, port, security, **{"sink.opcua.model": "client-server"})
    node.execute("insert into root.opc.d1(time, t) values (1000, 20.5)")
    url = f"opc.tcp://127.0.0.1:{port}/iotdb"
    key, cert = tmp_path / "client-key.pem", tmp_path / "client-cert.der"
    asyncio.run(
        setup_self_signed_certificate(
            key,
            cert,
            "urn:pipecore:test-client",
            "localhost",
            [ExtendedKeyUsageOID.CLIENT_AUTH],
            {"commonName": "test client"},
        )
    )

    async def read_encrypted() -> object:
        client = Client(url, timeout=10)
        client.application_uri = "urn:pipecore:test-client"
        await client.set_security(
            SecurityPolicyBasic256Sha256,
            str(cert),
            str(key),
            mode=ua.MessageSecurityMode.SignAndEncrypt,
        )
        async with client:
            ns = await client.get_namespace_index(NAMESPACE)
            return await client.get_node(_nid("root/opc/d1/t", ns)).read_value()

    # the values are there (read in the clear) before the encrypted tries
    asyncio.run(_read_until(url, {"root/opc/d1/t": 20.5}))
    with pytest.raises(ua.uaerrors.BadCertificateUntrusted):
        asyncio.run(read_encrypted())
    rejected = list((security / "pki" / "rejected" / "certs").iterdir())
    assert len(rejected) == 1 and rejected[0].read_bytes() == cert.read_bytes()
    shutil.move(rejected[0], security / "pki" / "trusted" / "certs" / rejected[0].name)
    assert asyncio.run(read_encrypted()) == 20.5


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("sink.opcua.model", "mqtt", "sink.opcua.model"),
        ("sink.opcua.https.port", "8443", "sink.opcua.https.port is not supported"),
        ("sink.opcua.tcp.port", "70000", "sink.opcua.tcp.port must be between 1 and 65535"),
        ("sink.opcua.enable-anonymous-access", "maybe", "must be true or false"),
    ],
)
def test_bad_parameters_are_named(
    node: Node, tmp_path: Path, key: str, value: str, message: str
) -> None:
    with pytest.raises(StatementError) as caught:
        _pipe(node, _free_port(), tmp_path / "sec", **{key: value})
    assert caught.value.status_code == 1107
    assert message in str(caught.value)
    assert not node.execute("SHOW PIPES").rows  # the node keeps running, without the pipe


def test_show_pipeplugins_lists_the_installed_sink(node: Node) -> None:
    rows = {r[0]: r for r in node.execute("SHOW PIPEPLUGINS").rows}
    assert "OPC-UA-SINK" in rows
    entry = node.registry.get("OPC-UA-SINK")
    assert (entry.name, entry.origin, entry.plugin_jar) == (
        "OPC-UA-SINK",
        "installed",
        "pipecore-opcua==0.1.0",
    )


def _sink_class() -> type:
    from pipecore_opcua import OpcUaSink  # importable once conftest has installed it

    return OpcUaSink


class TestOpcUaSinkConformance(ConnectorTests):
    """pipecore's conformance kit: hooks, a lifecycle with tablets of every type (nulls, an
    aligned device), other events, close without handshake, and 20,000 generated points through
    a real pipe by name (no read-back: the server holds only the latest values)."""

    plugin_name = "opc-ua-sink"

    @property
    def plugin_class(self) -> type:
        return _sink_class()

    def sink_parameters(self, tmp_path: Path) -> dict[str, str]:
        return {
            "sink": "opc-ua-sink",
            "sink.opcua.model": "client-server",
            "sink.opcua.tcp.port": str(_free_port()),
            "sink.opcua.security.dir": str(tmp_path / "sec"),
        }


@pytest.mark.subprocess
def test_a_serve_process_loads_the_installed_sink_by_name(tmp_path: Path) -> None:
    """A `pipecore serve` process finds the pip-installed sink through its entry point; a
    client reads what a pipe of that process delivered."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "thrift"))
    from thrift_processes import Serve

    node = Serve(tmp_path, "A").start()
    try:
        port = _free_port()
        plugins = {row[0]: row for row in node.rows("SHOW PIPEPLUGINS")}
        assert plugins["OPC-UA-SINK"][3] == "pipecore-opcua==0.1.0"
        node.sql(
            "CREATE PIPE opc WITH SOURCE ('source.path'='root.opc.**') "
            "WITH SINK ('sink'='opc-ua-sink', 'sink.opcua.model'='client-server', "
            f"'sink.opcua.tcp.port'='{port}', 'sink.opcua.security.dir'='{tmp_path / 'sec'}')"
        )
        node.sql("insert into root.opc.d1(time, t) values (1000, 1.5), (2000, 2.5)")
        got = asyncio.run(_read_until(f"opc.tcp://127.0.0.1:{port}/iotdb", {"root/opc/d1/t": 2.5}))
        assert got["root/opc/d1/t"].SourceTimestamp == _ms(2000)
    finally:
        node.stop()


def test_the_default_security_dir_is_the_nodes_and_its_key_is_kept(
    node: Node, tmp_path: Path
) -> None:
    port = _free_port()
    node.execute(
        "CREATE PIPE opc WITH SOURCE ('source.path'='root.opc.**') "
        f"WITH SINK ('sink'='opc-ua-sink', 'sink.opcua.tcp.port'='{port}')"
    )
    security = tmp_path / "node" / "pipe" / "opc_security"
    cert = security / "server-cert.der"
    wait_until(cert.is_file, 30)
    first = cert.read_bytes()

    async def served_certificate() -> bytes:
        for _ in range(100):  # the server may still be starting
            try:
                async with Client(f"opc.tcp://127.0.0.1:{port}/iotdb", timeout=10) as client:
                    [endpoint, *_] = await client.get_endpoints()
                    return bytes(endpoint.ServerCertificate)
            except OSError:
                await asyncio.sleep(0.1)
        raise AssertionError("the server did not answer")

    assert asyncio.run(served_certificate()) == first
    node.execute("DROP PIPE opc")
    port = _free_port()
    node.execute(
        "CREATE PIPE opc2 WITH SOURCE ('source.path'='root.opc.**') "
        f"WITH SINK ('sink'='opc-ua-sink', 'sink.opcua.tcp.port'='{port}')"
    )
    assert asyncio.run(served_certificate()) == first  # the same identity for clients
