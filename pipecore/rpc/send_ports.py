"""Outgoing TCP connections from a restricted set of local ports (a sink's
``send-port.restriction-strategy``: a ``range`` of ports or a ``candidate`` list), for sites
whose firewall lets only known source ports out.

`connect_from(address, timeout, ports)` binds each port of `ports` in turn — from a random
start, so parallel connections spread over the set — until one is free and the connection is
made (SO_REUSEADDR: a port whose last connection is in TIME_WAIT may serve again); a port in
use (EADDRINUSE, or EADDRNOTAVAIL when the same 4-tuple is still taken) is skipped. No port
left is an `OSError` (EADDRINUSE) naming the set. Empty `ports`: an ordinary connection from
an ephemeral port.
"""

from __future__ import annotations

import errno
import random
import socket
from collections.abc import Sequence
from typing import Any

__all__ = ["connect_from", "describe_ports"]

_SKIPPED = frozenset({errno.EADDRINUSE, errno.EADDRNOTAVAIL, errno.EACCES})


def describe_ports(ports: Sequence[int]) -> str:
    """``1024..1524`` for a range, else the ports listed (the first few)."""
    if isinstance(ports, range) and ports.step == 1 and len(ports) > 0:
        return f"{ports.start}..{ports.stop - 1}"
    shown = ", ".join(str(p) for p in list(ports)[:8])
    return f"[{shown}{', ...' if len(ports) > 8 else ''}]"


def connect_from(
    address: tuple[str, int], timeout: float | None, ports: Sequence[int] = ()
) -> socket.socket:
    """A connected socket to `address` whose local port is one of `ports` (module docstring)."""
    if not ports:
        return socket.create_connection(address, timeout=timeout)
    host, port = address
    n = len(ports)
    start = random.randrange(n)
    infos = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
    for i in range(n):
        local = ports[(start + i) % n]
        for family, kind, proto, _, target in infos:
            try:
                return _connect(family, kind, proto, target, local, timeout)
            except OSError as exc:
                if exc.errno not in _SKIPPED:
                    raise
    raise OSError(
        errno.EADDRINUSE, f"no free local send port among {describe_ports(ports)} (all in use)"
    )


def _connect(
    family: int, kind: int, proto: int, target: Any, local: int, timeout: float | None
) -> socket.socket:
    sock = socket.socket(family, kind, proto)
    try:
        # a port whose last connection is in TIME_WAIT may be bound again (a sink reconnects
        # from the same few ports); a port another socket holds still fails with EADDRINUSE
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.settimeout(timeout)
        sock.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", local))
        sock.connect(target)
        return sock
    except BaseException:
        sock.close()
        raise
