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

from pipecore import ConfigError

__all__ = ["IpWhiteList"]

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
