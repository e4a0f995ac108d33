"""The air-gap receiver byte by byte (reference §5.1–§5.4), through raw sockets: frames built
here by hand, exactly one reply byte per request, FAIL-and-close on a bad length or CRC,
nothing applied from a frame cut short, the thrift receiver's rules behind it (whitelist,
credentials, handshake first, per-connection pieces, idempotence, origin marking)."""

from __future__ import annotations

import socket
import struct
import time
import zlib
from pathlib import Path

import pytest
from gap_helpers import SENDER_CLUSTER, LinkReceiver, free_port, wait_until
from thrift_helpers import assert_same_points, double_tablet

from pipecore import Node, Origin
from pipecore_air_gap_sink import AirGapSection
from pipecore_thrift_sink.protocol import (
    E_LANGUAGE_PREFIX,
    E_LANGUAGE_SUFFIX,
    HandshakeParams,
    encode_file_piece,
    encode_file_seal_v1,
    encode_tablet_raw,
)

OK, FAIL = b"\x00", b"\xff"


def frame(type_: int, body: bytes, *, version: int = 1, e_language: bool = False) -> bytes:
    """§5.2 by hand: L1 | L2 | CRC32 as i64 | version | i16 type | body."""
    payload = bytes([version]) + struct.pack(">h", type_) + body
    length = len(payload) + 8
    out = struct.pack(">iiq", length, length, zlib.crc32(payload)) + payload
    return E_LANGUAGE_PREFIX + out + E_LANGUAGE_SUFFIX if e_language else out


def handshake_v1(precision: str = "ms") -> bytes:
    data = precision.encode()
    return frame(1, struct.pack(">i", len(data)) + data)


def handshake_v2(**kw: str) -> bytes:
    params = HandshakeParams("ms", kw.pop("cluster_id", SENDER_CLUSTER), **kw)  # type: ignore[arg-type]
    return frame(51, params.encode())


class Peer:
    """A raw connection to the receiver."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)

    def ask(self, data: bytes) -> bytes:
        """Send, and read exactly one byte (b"" when the receiver closed)."""
        self.sock.sendall(data)
        return self.sock.recv(1)

    def nothing_more(self, wait: float = 0.2) -> bool:
        """No further byte arrives (and the connection is still open)."""
        self.sock.settimeout(wait)
        try:
            return self.sock.recv(1) == b"x"  # never: EOF or a byte both mean "something"
        except TimeoutError:
            return True
        finally:
            self.sock.settimeout(10)

    def closed(self) -> bool:
        self.sock.settimeout(5)
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def gap(tmp_path: Path):
    receiver = LinkReceiver(tmp_path, "air-gap")
    yield receiver
    receiver.close()


@pytest.fixture
def peer(gap):
    p = Peer(gap.port)
    yield p
    p.close()


def test_one_byte_for_each_request_of_a_hand_built_session(gap, peer):
    tablet = double_tablet("root.hand.d1", 0, 50)
    assert peer.ask(handshake_v1()) == OK
    assert peer.nothing_more()
    assert peer.ask(frame(3, encode_tablet_raw(tablet))) == OK
    assert peer.nothing_more()
    assert_same_points(gap.store, tablet)
    [conn] = gap.registry.list()
    assert conn.transport == "air-gap" and conn.points == 150
    assert gap.air_gap.requests == 2


def test_handshake_v2_and_origin_marking(gap, peer):
    watch = gap.store.subscribe("watch")
    assert peer.ask(handshake_v2()) == OK
    assert peer.ask(frame(3, encode_tablet_raw(double_tablet("root.o.d1", 0, 5)))) == OK
    [event] = watch.drain(10)
    assert event.origin == Origin.pipe(SENDER_CLUSTER)
    assert peer.ask(handshake_v2(mark_as_pipe_request="false")) == OK  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "damage",
    ["payload", "crc", "first length", "second length"],
)
def test_a_damaged_frame_is_answered_fail_and_the_connection_closed(gap, peer, damage):
    assert peer.ask(handshake_v1()) == OK
    data = bytearray(frame(3, encode_tablet_raw(double_tablet("root.bad.d1", 0, 20))))
    at = {"payload": 40, "crc": 12, "first length": 3, "second length": 7}[damage]
    data[at] ^= 0x10
    assert peer.ask(bytes(data)) == FAIL
    assert peer.closed()
    assert gap.points() == 0  # nothing of the damaged frame was stored
    assert gap.air_gap.frames_refused == 1
    wait_until(lambda: not gap.registry.list(), 5, "the connection's end")  # state released


def test_a_frame_over_the_size_limit_is_refused(tmp_path):
    section = AirGapSection(pipe_air_gap_receiver_max_payload_size_in_bytes=1024)
    receiver = LinkReceiver(tmp_path, "air-gap", section=section)
    peer = Peer(receiver.port)
    try:
        assert peer.ask(handshake_v1()) == OK
        big = frame(3, encode_tablet_raw(double_tablet("root.big.d1", 0, 200)))
        assert len(big) > 1024 + 16
        peer.sock.sendall(big[:16])  # only the lengths and the CRC: refused before the rest
        assert peer.sock.recv(1) == FAIL and peer.closed()
        assert receiver.points() == 0
    finally:
        peer.close()
        receiver.close()


def test_a_frame_cut_short_applies_nothing(gap):
    tablet = double_tablet("root.cut.d1", 0, 20)
    first = Peer(gap.port)
    assert first.ask(handshake_v1()) == OK
    data = frame(3, encode_tablet_raw(tablet))
    first.sock.sendall(data[: len(data) - 5])
    first.close()
    wait_until(lambda: gap.air_gap.frames_cut == 1, 5, "the cut frame")
    assert gap.points() == 0
    second = Peer(gap.port)  # the receiver goes on serving
    try:
        assert second.ask(handshake_v1()) == OK and second.ask(data) == OK
        assert_same_points(gap.store, tablet)
    finally:
        second.close()


def test_failures_that_keep_the_stream_in_step_keep_the_connection(gap, peer):
    tablet = frame(3, encode_tablet_raw(double_tablet("root.k.d1", 0, 10)))
    assert peer.ask(tablet) == FAIL  # before a handshake: 1811
    assert peer.ask(frame(999, b"")) == FAIL  # unknown type: 1801
    assert peer.ask(frame(3, b"\x00\x01", version=7)) == FAIL  # unknown version: 1800
    assert peer.ask(frame(3, b"")) == FAIL  # no handshake yet, still
    assert peer.ask(handshake_v1("us")) == FAIL  # another precision: 1802
    assert peer.ask(handshake_v1()) == OK
    assert peer.ask(frame(3, b"\x00\x00\x00")) == FAIL  # a malformed body: 1107
    assert peer.ask(tablet) == OK
    assert gap.points() == 30  # 10 rows x 3 series, once
    [conn] = gap.registry.list()
    assert "Serialization error" in (conn.last_error or "")


@pytest.mark.parametrize("mixed", [False, True])
def test_e_language_frames_are_unwrapped(gap, peer, mixed):
    tablet = double_tablet("root.e.d1", 0, 30)
    assert peer.ask(frame(1, b"\x00\x00\x00\x02ms", e_language=True)) == OK
    assert peer.ask(frame(3, encode_tablet_raw(tablet), e_language=not mixed)) == OK
    assert_same_points(gap.store, tablet)


def test_a_second_e_language_prefix_is_refused(gap, peer):
    assert peer.ask(E_LANGUAGE_PREFIX + frame(1, b"\x00\x00\x00\x02ms", e_language=True)) == FAIL
    assert peer.closed()


def test_credentials_and_whitelist_are_the_thrift_receivers(tmp_path):
    closed = LinkReceiver(tmp_path, "air-gap", "closed", white_list="10.0.0.0/8")
    guarded = LinkReceiver(tmp_path, "air-gap", "guarded")
    guarded.users.set_password("root", "n3w")
    try:
        peer = Peer(closed.port)
        assert peer.ask(handshake_v1()) == FAIL
        [conn] = closed.registry.list()
        assert "ip_white_list" in (conn.last_error or "")
        peer.close()
        peer = Peer(guarded.port)
        assert peer.ask(handshake_v2(username="root", password="root")) == FAIL
        assert peer.ask(handshake_v1()) == FAIL  # v1 is checked as root/root
        assert peer.ask(handshake_v2(username="root", password="n3w")) == OK
        peer.close()
    finally:
        closed.close()
        guarded.close()


def test_pieces_live_per_connection_and_a_reupload_starts_over(gap, tmp_path):
    from pipecore_storage.tsfile import TsFileWriter

    tablet = double_tablet("root.p.d1", 0, 400)
    path = tmp_path / "1-1-0-0.tsfile"
    with TsFileWriter(path) as writer:
        writer.write_tablet(tablet)
    data = path.read_bytes()
    half = len(data) // 2
    a, b = Peer(gap.port), Peer(gap.port)
    try:
        for p in (a, b):
            assert p.ask(handshake_v1()) == OK
        assert a.ask(frame(4, encode_file_piece(path.name, 0, data[:half]))) == OK
        # the seal on another connection: that one has no such file
        assert b.ask(frame(5, encode_file_seal_v1(path.name, len(data)))) == FAIL
        # an air-gap sender starts a file over from 0: the receiver truncates, no 1803
        assert a.ask(frame(4, encode_file_piece(path.name, 0, data[:half]))) == OK
        assert a.ask(frame(4, encode_file_piece(path.name, half, data[half:]))) == OK
        assert a.ask(frame(5, encode_file_seal_v1(path.name, len(data)))) == OK
        assert_same_points(gap.store, tablet)
        # idempotent: the same file once more changes nothing
        for piece in (encode_file_piece(path.name, 0, data),):
            assert a.ask(frame(4, piece)) == OK
        assert a.ask(frame(5, encode_file_seal_v1(path.name, len(data)))) == OK
        assert_same_points(gap.store, tablet)
    finally:
        a.close()
        b.close()


@pytest.mark.parametrize("retry_max_ms", [-1, 300])
def test_temporarily_unavailable_gets_its_byte(tmp_path, retry_max_ms):
    """IoTDB's receiver sent no byte for 1808 (§5.4); ours sends FAIL, after the local retries
    of pipe_air_gap_retry_max_ms."""
    section = AirGapSection(
        pipe_air_gap_retry_local_interval_ms=100, pipe_air_gap_retry_max_ms=retry_max_ms
    )
    receiver = LinkReceiver(tmp_path, "air-gap", section=section)
    peer = Peer(receiver.port)
    try:
        assert peer.ask(handshake_v1()) == OK
        receiver.store.close()  # writes now answer 1808
        started = time.monotonic()
        assert peer.ask(frame(3, encode_tablet_raw(double_tablet("root.t.d1", 0, 5)))) == FAIL
        elapsed = time.monotonic() - started
        assert peer.nothing_more()
        assert (elapsed >= 0.2) == (retry_max_ms > 0), elapsed
    finally:
        peer.close()
        receiver.close()


# ------------------------------------------------------------------ on a node
def test_a_serving_node_runs_the_receiver_when_enabled(tmp_path):
    port = free_port()
    config = {"pipe_air_gap_receiver_enabled": True, "pipe_air_gap_receiver_port": port}
    tablet = double_tablet("root.node.d1", 0, 10)
    with Node.open(tmp_path / "on", config) as node:
        node.serve("127.0.0.1", 0)
        peer = Peer(port)
        assert peer.ask(handshake_v1()) == OK
        assert peer.ask(frame(3, encode_tablet_raw(tablet))) == OK
        # an air-gap sender is no SHOW PIPES row (as in IoTDB); pipecore's own view lists it
        assert not node.execute("show pipes").rows
        receivers = node.execute("show pipe receivers").rows
        assert any(r[2] == "air-gap" for r in receivers), receivers
        peer.close()
        assert_same_points(node.store, tablet)
    with pytest.raises(OSError):  # closed with the node
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    with Node.open(tmp_path / "off", {"pipe_air_gap_receiver_port": port}) as node:
        node.serve("127.0.0.1", 0)  # disabled (the default): nothing listens
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_a_taken_port_fails_serve_naming_the_key(tmp_path):
    from pipecore import PipeError

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        config = {"pipe_air_gap_receiver_enabled": True, "pipe_air_gap_receiver_port": port}
        with Node.open(tmp_path / "n", config) as node:
            with pytest.raises(PipeError, match="pipe_air_gap_receiver_port"):
                node.serve("127.0.0.1", 0)
            assert node.server is None  # everything started was stopped again


def test_thrift_and_air_gap_receivers_of_a_node_share_one_setting(tmp_path):
    """One ReceiverSettings per node: one piece folder, one receiver-id counter, one users
    file for the thrift and the air-gap connections."""
    from pipecore.rpc import PipeTransferClient
    from pipecore_thrift_sink import node_receiver_settings

    port = free_port()
    config = {"pipe_air_gap_receiver_enabled": True, "pipe_air_gap_receiver_port": port}
    with Node.open(tmp_path / "n", config) as node:
        host, rpc_port = node.serve("127.0.0.1", 0)
        settings = node_receiver_settings(node.receivers)
        assert node_receiver_settings(node.receivers) is settings
        peer = Peer(port)
        with PipeTransferClient(host, rpc_port, timeout=10) as client:
            assert client.transfer(1, 1, b"\x00\x00\x00\x02ms").code == 200
            assert peer.ask(handshake_v1()) == OK
            transports = sorted(c.transport for c in node.receivers.list())
            assert transports == ["air-gap", "thrift"]
            folders = sorted(p.name for p in settings.base_dir.iterdir())
            assert folders == ["1", "2"]  # one counter: no two connections share a folder
        peer.close()
