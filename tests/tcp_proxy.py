"""The one TCP proxy of the tests and benches: a real proxy on 127.0.0.1 in front of a port,
with the faults and measurements the tests need.

* `TcpProxy` forwards both directions, counts the bytes it passes (`up` = client → target,
  `down` = target → client; `reset()` reads and zeroes them), counts `connections`, and can
  hold every chunk `delay` seconds before passing it on. Subclasses decide what happens to the
  bytes of a connection through two hooks: `new_connection(number)` gives the connection's
  state, `forward(data, upstream, state)` the bytes to pass and whether to cut afterwards.
* `CuttingProxy` — while `cutting`, closes each connection after a random number of bytes.
* `FrameBreakingProxy` — flips a bit, truncates or cuts the client's stream once per
  connection, at a random byte.
* `SilentProxy` — the target stops answering on the first connection.
* `RecordingProxy` — keeps every byte the client sent.

Importable from every test folder (``pythonpath = ["tests"]``) and from the benches (which
put ``tests/`` on ``sys.path``).
"""

from __future__ import annotations

import contextlib
import random
import socket
import threading
import time
from typing import Any

__all__ = ["CuttingProxy", "FrameBreakingProxy", "RecordingProxy", "SilentProxy", "TcpProxy"]


class TcpProxy:
    """A TCP proxy on 127.0.0.1 in front of `target_port` (see the module docstring)."""

    def __init__(self, target_port: int, *, delay: float = 0.0) -> None:
        self.target_port = target_port
        self.delay = delay
        self.connections = 0
        self.up = self.down = 0
        self.lock = threading.Lock()
        self._closed = False
        self._socks: list[socket.socket] = []
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"127.0.0.1:{self.port}"

    def reset(self) -> tuple[int, int]:
        """(bytes up, bytes down) passed since the last reset; zeroes them."""
        with self.lock:
            counts, self.up, self.down = (self.up, self.down), 0, 0
        return counts

    # ------------------------------------------------------------------ the hooks
    def new_connection(self, number: int) -> dict[str, Any]:
        """The state of connection `number` (1 = the first), handed to `forward`."""
        return {}

    def forward(self, data: bytes, upstream: bool, state: dict[str, Any]) -> tuple[bytes, bool]:
        """The bytes to pass on, and whether to cut the connection after them (called under
        `lock`)."""
        return data, False

    # ------------------------------------------------------------------ machinery
    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self.lock:
                self.connections += 1
                number = self.connections
                self._socks += [client, upstream]
            state = self.new_connection(number)
            for src, dst, up in ((client, upstream, True), (upstream, client, False)):
                threading.Thread(
                    target=self._pump, args=(src, dst, up, state, (client, upstream)), daemon=True
                ).start()

    def _pump(self, src, dst, upstream, state, pair) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                with self.lock:
                    out, cut = self.forward(data, upstream, state)
                if self.delay > 0:
                    time.sleep(self.delay)
                if out:
                    dst.sendall(out)
                    with self.lock:
                        if upstream:
                            self.up += len(out)
                        else:
                            self.down += len(out)
                if cut:
                    break
        except OSError:
            pass
        finally:
            for s in pair:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()

    def close(self) -> None:
        self._closed = True
        self._listener.close()
        with self.lock:
            socks = list(self._socks)
        for s in socks:
            with contextlib.suppress(OSError):
                s.close()


class CuttingProxy(TcpProxy):
    """While `cutting`, closes each connection after a random number of bytes (both
    directions together, between `min_bytes` and `max_bytes`), `cuts` times in all."""

    def __init__(
        self,
        target_port: int,
        seed: int = 7,
        min_bytes: int = 200,
        max_bytes: int = 400_000,
        *,
        delay: float = 0.0,
    ) -> None:
        self.rng = random.Random(seed)
        self.min_bytes, self.max_bytes = min_bytes, max_bytes
        self.cutting = True
        self.cuts = 0
        super().__init__(target_port, delay=delay)

    def new_connection(self, number: int) -> dict[str, Any]:
        with self.lock:
            budget = self.rng.randint(self.min_bytes, self.max_bytes) if self.cutting else None
        return {"left": budget, "done": False}

    def forward(self, data: bytes, upstream: bool, state: dict[str, Any]) -> tuple[bytes, bool]:
        left = state["left"]
        if left is not None and self.cutting:
            if len(data) >= left:
                data = data[: max(0, left)]
                state["left"] = 0
            else:
                state["left"] = left - len(data)
        if state["left"] == 0 and not state["done"]:
            state["done"] = True
            self.cuts += 1
            return data, True
        return data, False


class FrameBreakingProxy(TcpProxy):
    """Breaks the client's byte stream, at most once per connection, at a random byte past
    the first `skip` bytes: ``flip`` XORs one bit (a CRC mismatch for the receiver),
    ``truncate`` passes the bytes before it and cuts the connection (a frame cut short),
    ``cut`` cuts it right there. `faults` is how many are left to do; `done` counts each
    kind done."""

    KINDS = ("flip", "truncate", "cut")

    def __init__(
        self,
        target_port: int,
        faults: int,
        kinds: tuple[str, ...] = KINDS,
        seed: int = 11,
        skip: int = 0,
        span: int = 60_000,
    ) -> None:
        self.rng = random.Random(seed)
        self.faults = faults
        self.kinds = kinds
        self.skip = skip
        self.span = span
        self.done = dict.fromkeys(self.KINDS, 0)
        super().__init__(target_port)

    def new_connection(self, number: int) -> dict[str, Any]:
        with self.lock:
            if self.faults <= 0:
                return {"at": None}
            self.faults -= 1
            return {
                "at": self.skip + self.rng.randrange(self.span),
                "kind": self.rng.choice(self.kinds),
                "seen": 0,
            }

    def forward(self, data: bytes, upstream: bool, state: dict[str, Any]) -> tuple[bytes, bool]:
        at = state.get("at")
        if not upstream or at is None:
            return data, False
        start = state["seen"]
        state["seen"] += len(data)
        if not start <= at < start + len(data):
            return data, False
        state["at"] = None
        i = at - start
        kind = state["kind"]
        self.done[kind] += 1
        if kind == "flip":
            out = bytearray(data)
            out[i] ^= 1 << self.rng.randrange(8)
            return bytes(out), False
        if kind == "truncate":
            return data[:i], True
        return b"", True


class SilentProxy(TcpProxy):
    """Passes everything, except that on the first connection the receiver's answer to the
    request number `swallow` (1 = the first) is dropped and nothing is answered any more —
    a receiver that stays silent. `silenced` tells whether that happened."""

    def __init__(self, target_port: int, swallow: int = 2) -> None:
        self.swallow = swallow
        self.silenced = threading.Event()
        super().__init__(target_port)

    def new_connection(self, number: int) -> dict[str, Any]:
        return {"replies": 0, "silent": number == 1}

    def forward(self, data: bytes, upstream: bool, state: dict[str, Any]) -> tuple[bytes, bool]:
        if upstream or not state["silent"]:
            return data, False
        out = bytearray()
        for byte in data:
            state["replies"] += 1
            if state["replies"] >= self.swallow:
                self.silenced.set()
                break
            out.append(byte)
        return bytes(out), False


class RecordingProxy(TcpProxy):
    """Passes everything and keeps the bytes the client sent in `sent`."""

    def __init__(self, target_port: int) -> None:
        self.sent = bytearray()
        super().__init__(target_port)

    def forward(self, data: bytes, upstream: bool, state: dict[str, Any]) -> tuple[bytes, bool]:
        if upstream:
            self.sent += data
        return data, False
