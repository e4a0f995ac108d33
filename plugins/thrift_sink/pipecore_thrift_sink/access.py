"""Who may send to a receiver: ``ip_white_list`` (seeds 000/001) and the node's users.

* `IpWhiteList` — comma-separated IPv4/IPv6 networks (``192.168.0.0/16``; a bare address is
  one host). Empty denies every sender. IPv4-mapped IPv6 addresses (``::ffff:127.0.0.1``) are
  checked as IPv4.
* the node's users (`pipecore.server.users.UserStore`, ``node.users``) check a handshake's
  credentials; a new node has ``root``/``root``, as IoTDB does: **change it** (``pipecore users
  --data-dir DIR passwd root``). The receiver logs a warning while the default is in use.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

from pipecore import ConfigError

__all__ = ["IpWhiteList", "LiveIpWhiteList"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class IpWhiteList:
    """The networks allowed to send (`allows(address)`)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.networks: tuple[Network, ...] = tuple(_parse_networks(text))

    def allows(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(ip.version == net.version and ip in net for net in self.networks)

    def __str__(self) -> str:
        return self.text or "(empty: no sender is allowed)"


class LiveIpWhiteList(IpWhiteList):
    """A node's ``ip_white_list`` as its configuration says *now*: `read()` returns the
    current text (after LOAD CONFIGURATION, the new one), so the next connection of every
    receiver sharing it (thrift, TLS, air gap) is checked against the new list."""

    def __init__(self, read: Callable[[], str]) -> None:
        self._read = read
        super().__init__(read())

    def _current(self) -> None:
        text = self._read()
        if text != self.text:
            try:
                networks = tuple(_parse_networks(text))
            except ConfigError:
                return  # the node refused such a configuration; keep the last good list
            self.text, self.networks = text, networks

    def allows(self, address: str) -> bool:
        self._current()
        return super().allows(address)

    def __str__(self) -> str:
        self._current()
        return super().__str__()


def _parse_networks(text: str) -> list[Network]:
    out = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        try:
            out.append(ipaddress.ip_network(item, strict=False))
        except ValueError as exc:
            raise ConfigError(
                f"ip_white_list: {item!r} is not an IP network ({exc})", "ip_white_list"
            ) from None
    return out
