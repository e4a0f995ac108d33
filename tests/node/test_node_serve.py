"""`Node.serve()`: SQL sessions over the RPC port (IoTDB's own Python client as the oracle), the
node hooks, TLS, and a close that leaves no thread behind."""

from __future__ import annotations

import math
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from tls_certs import CertificateAuthority

from pipecore import Node, hookimpl
from pipecore.cli.remote import RemoteSession, ServerError
from pipecore.errors import ConfigError, PipeError
from pipecore.rpc import PipeTransferClient, PipeTransferResponse, RpcConnectionError, Status

DATA = """\
CREATE TIMESERIES root.sg.d1.i WITH DATATYPE=INT32, ENCODING=RLE;
CREATE TIMESERIES root.sg.d1.f WITH DATATYPE=FLOAT, ENCODING=GORILLA;
CREATE TIMESERIES root.sg.d1.b WITH DATATYPE=BOOLEAN, ENCODING=PLAIN;
CREATE TIMESERIES root.sg.d1.t WITH DATATYPE=TEXT, ENCODING=PLAIN;
CREATE TIMESERIES root.sg.d1.l WITH DATATYPE=INT64;
CREATE TIMESERIES root.sg.d1.d WITH DATATYPE=DOUBLE;
insert into root.sg.d1(time, i, f, b, t, l, d) values (1, 1, 0.1, true, 'a', 10, 1.25);
insert into root.sg.d1(time, i, t) values (2, -2, '测试');
insert into root.sg.d1(time, f, b, l) values (3, 3.5, false, -9223372036854775808);
insert into root.sg.d1(time, d) values (4, 4.5)"""
EXPECTED = {  # time -> (i, f, b, t, l, d) with None for null
    1: (1, 0.1, True, "a", 10, 1.25),
    2: (-2, None, None, "测试", None, None),
    3: (None, 3.5, False, None, -(2**63), None),
    4: (None, None, None, None, None, 4.5),
}


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Node, tuple[str, int]]]:
    with Node.open(tmp_path / "node") as node:
        address = node.serve("127.0.0.1", 0)
        node.execute_script(DATA)
        yield node, address


def _value(field) -> object:
    return field.get_object_value(field.get_data_type())


@pytest.mark.parametrize("fetch_size", [5000, 2])
def test_the_official_client_reads_correct_values(served, fetch_size: int) -> None:
    from iotdb.Session import Session

    node, (host, port) = served
    session = Session(host, port, "root", "root", fetch_size=fetch_size, zone_id="UTC")
    session.open(False)
    try:
        data = session.execute_query_statement("select i, f, b, t, l, d from root.sg.d1")
        names = data.get_column_names()
        assert names == ["Time"] + [f"root.sg.d1.{m}" for m in "ifbtld"]
        got = {}
        while data.has_next():
            record = data.next()
            got[record.get_timestamp()] = tuple(
                None if f is None or f.get_data_type() is None else _value(f)
                for f in record.get_fields()
            )
        data.close_operation_handle()
        assert set(got) == set(EXPECTED)
        for t, row in EXPECTED.items():
            for want, have in zip(row, got[t], strict=True):
                if isinstance(want, float):
                    assert math.isclose(have, want, rel_tol=1e-6), (t, row, got[t])
                else:
                    assert have == want, (t, row, got[t])
        session.execute_non_query_statement("insert into root.sg.d2(time, x) values (7, 7)")
        assert node.execute("select x from root.sg.d2").rows[0][1] == "7.0"
        shown = session.execute_query_statement("show devices")
        assert shown.get_column_names() == ["Device", "IsAligned", "Template", "TTL(ms)"]
        devices = []
        while shown.has_next():
            devices.append(str(shown.next().get_fields()[0]))
        assert devices == ["root.sg.d1", "root.sg.d2"]
    finally:
        session.close()


def test_the_official_client_sees_iotdb_status_codes(served) -> None:
    from iotdb.Session import Session
    from iotdb.utils.exception import IoTDBConnectionException, StatementExecutionException

    _, (host, port) = served
    session = Session(host, port, "root", "root", zone_id="UTC")
    session.open(False)
    with pytest.raises(StatementExecutionException, match="700"):
        session.execute_non_query_statement("select * frm root")
    with pytest.raises(StatementExecutionException, match=r"1107.*Failed to start pipe p"):
        session.execute_non_query_statement("start pipe p")
    session.close()
    wrong = Session(host, port, "root", "wrong", zone_id="UTC")
    with pytest.raises((StatementExecutionException, IoTDBConnectionException), match="801"):
        wrong.open(False)


def test_remote_and_embedded_print_the_same(served) -> None:
    node, (host, port) = served
    with RemoteSession(host, port, zone="+08:00") as remote:
        for sql in [
            "select ** from root.sg",
            "select last * from root.sg.d1",
            "select count(*), avg(d) from root.sg.d1",
            "show timeseries",
            "select * from root.sg.* align by device",
            "show pipes",
        ]:
            mine = node.run(sql, zone="+08:00").table("+08:00")
            theirs = remote.run(sql).table("+08:00")
            assert theirs.render() == mine.render(), sql
        with pytest.raises(ServerError) as caught:
            remote.run("create database root.sg")
        assert caught.value.status_code == 501
        assert remote.run("create database root.other").message.startswith("The statement")


class _Receiver:
    def __init__(self, context) -> None:
        self.context = context

    def transfer(self, version: int, type: int, body: bytes) -> PipeTransferResponse:
        return PipeTransferResponse(Status(200, f"got {version}/{type}/{body!r}"))

    def close(self) -> None:
        pass


class _Service:
    def __init__(self, name: str, log: list, fail: bool = False) -> None:
        self.name, self.log, self.fail = name, log, fail

    def start(self) -> None:
        if self.fail:
            raise OSError("port taken")
        self.log.append(("start", self.name))

    def stop(self) -> None:
        self.log.append(("stop", self.name))


class _NodePlugin:
    def __init__(self, fail: bool = False) -> None:
        self.log: list = []
        self.fail = fail

    @hookimpl
    def register_rpc_services(self, server, node) -> None:
        self.log.append(("rpc", node.data_dir.name, server.running))
        server.register_pipe_receiver(_Receiver)

    @hookimpl
    def node_services(self, node):
        return [_Service("one", self.log), _Service("two", self.log, fail=self.fail)]


def test_serve_calls_the_node_hooks_and_close_stops_everything(tmp_path: Path) -> None:
    before = {t.ident for t in threading.enumerate()}
    plugin = _NodePlugin()
    node = Node.open(tmp_path / "hooked", plugins=[plugin])
    host, port = node.serve("127.0.0.1", 0)
    assert plugin.log[0] == ("rpc", "hooked", False)  # before the server accepted anything
    assert plugin.log[1:] == [("start", "one"), ("start", "two")]
    with PipeTransferClient(host, port, timeout=5) as client:
        assert client.transfer(1, 3, b"x").message == "got 1/3/b'x'"
    with RemoteSession(host, port) as remote:  # the SQL session is served beside it
        assert remote.run("show databases").data is not None
    with pytest.raises(PipeError, match="already serving"):
        node.serve("127.0.0.1", 0)
    node.close()
    assert plugin.log[-2:] == [("stop", "two"), ("stop", "one")]
    with pytest.raises(RpcConnectionError):
        PipeTransferClient(host, port, timeout=2, connect_timeout=2).transfer(1, 3, b"")
    left = [t for t in threading.enumerate() if t.ident not in before and t.is_alive()]
    assert left == []


def test_a_service_that_fails_fails_serve_and_stops_the_rest(tmp_path: Path) -> None:
    plugin = _NodePlugin(fail=True)
    with Node.open(tmp_path / "n", plugins=[plugin]) as node:
        with pytest.raises(PipeError, match="node service two failed to start: port taken"):
            node.serve("127.0.0.1", 0)
        assert plugin.log[-2:] == [("start", "one"), ("stop", "one")]
        assert node.address is None
        assert node.execute("create database root.usable").message


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    ca = CertificateAuthority(tmp_path_factory.mktemp("pki"))
    return ca, ca.issue("server")


def _client_context(ca) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(ca.cert_path))


def test_serve_over_tls_with_a_context(tmp_path: Path, pki) -> None:
    ca, cert = pki
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert.cert_path, cert.key_path)
    with Node.open(tmp_path / "n") as node:
        host, port = node.serve("127.0.0.1", 0, ssl_context=context)
        with RemoteSession(host, port, ssl_context=_client_context(ca)) as remote:
            assert remote.run("create database root.tls").message
        with pytest.raises(Exception):  # noqa: B017 - a plain client cannot talk to a TLS port
            RemoteSession(host, port, timeout=3).open()


def test_enable_thrift_ssl_uses_the_key_store(tmp_path: Path, pki) -> None:
    ca, cert = pki
    bundle = tmp_path / "server.pem"
    bundle.write_bytes(cert.cert_path.read_bytes() + cert.key_path.read_bytes())
    config = {"enable_thrift_ssl": True, "key_store_path": str(bundle)}
    with Node.open(tmp_path / "n", config) as node:
        host, port = node.serve("127.0.0.1", 0)
        with RemoteSession(host, port, ssl_context=_client_context(ca)) as remote:
            assert remote.run("show databases").data is not None
    with (
        Node.open(tmp_path / "m", {"enable_thrift_ssl": True}) as node,
        pytest.raises(ConfigError, match="key_store_path"),
    ):
        node.serve("127.0.0.1", 0)
