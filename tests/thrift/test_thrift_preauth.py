"""Nothing heavy happens before authentication, and never more than the node's budget after:
a compressed request (type 300) or a slice (type 400) without a handshake is answered 1811
before a byte is decompressed or buffered; after the handshake, what decompressing and
assembling slices hold in memory over all connections is bounded by
``pipe_receiver_memory_budget_in_bytes`` (answered 1808, retried by senders)."""

from __future__ import annotations

import struct
import tracemalloc

from test_thrift_receiver import handshake
from thrift_helpers import double_tablet

from pipecore.rpc import PipeTransferClient
from pipecore_thrift_sink import MemoryBudget
from pipecore_thrift_sink.protocol import (
    PipeCompressor,
    PipeRequestType,
    PipeTransferRequest,
    compress_request,
    encode_slice,
    encode_tablet_raw,
)
from pipecore_thrift_sink.protocol.slice import PipeTransferSlice

T = PipeRequestType
GiB = 1 << 30


def bomb(size: int) -> bytes:
    """A small type-300 body that decompresses (gzip) to `size` zero bytes."""
    inner = PipeTransferRequest(1, T.TRANSFER_TABLET_RAW, bytes(1024))
    body = compress_request(inner, [PipeCompressor.GZIP]).body
    # the same header, but declaring `size`: decompressing would have to allocate it
    return body[:2] + struct.pack(">i", size) + body[6:]


def big_slice(size: int) -> bytes:
    return encode_slice(PipeTransferSlice(1, T.TRANSFER_TABLET_RAW, size, b"x" * 1000, 0, 1000))


def test_no_decompression_or_slice_before_the_handshake(receiver):
    c = PipeTransferClient("127.0.0.1", receiver.port, timeout=30)
    tracemalloc.start()
    try:
        code, message, _ = c.transfer(1, T.TRANSFER_COMPRESSED, bomb(GiB))
        assert code == 1811, message
        for _ in range(20):
            assert c.transfer(1, T.TRANSFER_SLICE, big_slice(GiB // 2)).code == 1811
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        c.close()
    assert peak < 64 << 20
    assert all(not r.slices.in_progress for r in receiver.receivers)


def test_memory_budget_bounds_decompression_and_slices_over_connections(make_receiver):
    r = make_receiver(memory=MemoryBudget(8 << 20))
    clients = [PipeTransferClient("127.0.0.1", r.port, timeout=30) for _ in range(3)]
    try:
        for c in clients:
            assert handshake(c)[0] == 200
        # one connection's half-assembled request holds 6 MiB of the 8 MiB budget
        assert clients[0].transfer(1, T.TRANSFER_SLICE, big_slice(6 << 20)).code == 200
        assert r.settings.memory.used == 6 << 20
        code, message, _ = clients[1].transfer(1, T.TRANSFER_SLICE, big_slice(6 << 20))
        assert code == 1808 and "pipe_receiver_memory_budget_in_bytes" in message
        code, message, _ = clients[2].transfer(1, T.TRANSFER_COMPRESSED, bomb(4 << 20))
        assert code == 1808, message
        # any other request on the first connection ends its sequence and frees the budget
        body = encode_tablet_raw(double_tablet("root.b.d", 0, 5))
        assert clients[0].transfer(1, T.TRANSFER_TABLET_RAW, body).code == 200
        assert r.settings.memory.used == 0
        real = compress_request(
            PipeTransferRequest(1, T.TRANSFER_TABLET_RAW, body), [PipeCompressor.GZIP]
        )
        assert clients[2].transfer(1, T.TRANSFER_COMPRESSED, real.body).code == 200
        assert r.settings.memory.used == 0
    finally:
        for c in clients:
            c.close()
