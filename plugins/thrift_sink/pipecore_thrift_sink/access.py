"""Who may send to a receiver: ``ip_white_list`` (seeds 000/001) and the node's users.

* `IpWhiteList` — comma-separated IPv4/IPv6 networks (``192.168.0.0/16``; a bare address is
  one host). Empty denies every sender. IPv4-mapped IPv6 addresses (``::ffff:127.0.0.1``) are
  checked as IPv4.
* `UserStore` — the node's users and their passwords, in ``<data dir>/system/users.json``
  (salted PBKDF2-SHA256 hashes, never the passwords). A new node has the user ``root`` with
  the password ``root``, as IoTDB does: **change it** (``python -m pipecore_thrift_sink.users
  DATA_DIR passwd root``). The receiver logs a warning while the default password is in use.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import os
import secrets
import threading
from pathlib import Path

from pipecore import ConfigError
from pipecore.rpc import Status, TSStatusCode

__all__ = ["DEFAULT_ROOT_PASSWORD", "IpWhiteList", "UserStore"]

DEFAULT_ROOT_PASSWORD = "root"
_ITERATIONS = 20_000
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


def _hash(password: str, salt: bytes) -> str:
    return hashlib.pbkdf2_hmac("sha256", password.encode(), salt, _ITERATIONS).hex()


class UserStore:
    """Users and password hashes in a JSON file; created with root/root on first use."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._cache: tuple[float, dict[str, dict[str, str]]] | None = None
        self._verified: dict[tuple[str, str], str] = {}  # (user, password) -> hash it matched

    @classmethod
    def for_data_dir(cls, data_dir: str | os.PathLike[str]) -> UserStore:
        return cls(Path(data_dir) / "system" / "users.json")

    # ------------------------------------------------------------------ reading
    def _users(self) -> dict[str, dict[str, str]]:
        with self._lock:
            if not self.path.exists():
                self._write({"root": self._record(DEFAULT_ROOT_PASSWORD)})
            mtime = self.path.stat().st_mtime
            if self._cache is None or self._cache[0] != mtime:
                try:
                    data = json.loads(self.path.read_text("utf-8"))
                    users = {str(k): dict(v) for k, v in data["users"].items()}
                except (ValueError, KeyError, TypeError, AttributeError) as exc:
                    raise ConfigError(f"{self.path} is not a valid users file: {exc}") from exc
                self._cache = (mtime, users)
            return self._cache[1]

    def users(self) -> list[str]:
        return sorted(self._users())

    def check(self, username: str, password: str) -> Status:
        """200, or IoTDB's login failure: 804 USER_NOT_EXIST / 801 WRONG_LOGIN_PASSWORD."""
        record = self._users().get(username)
        if record is None:
            return Status(TSStatusCode.USER_NOT_EXIST, f"User {username} does not exist")
        digest = record.get("hash", "")
        if self._verified.get((username, password)) == digest:
            return Status.ok()
        salt = bytes.fromhex(record.get("salt", ""))
        if not hmac.compare_digest(_hash(password, salt), digest):
            return Status(
                TSStatusCode.WRONG_LOGIN_PASSWORD,
                f"Authentication failed: wrong password for user {username}",
            )
        self._verified[(username, password)] = digest
        return Status.ok()

    def uses_default_password(self) -> bool:
        return self.check("root", DEFAULT_ROOT_PASSWORD).is_success

    # ------------------------------------------------------------------ changing
    def set_password(self, username: str, password: str, *, create: bool = False) -> None:
        """Change `username`'s password (or create the user when `create`)."""
        users = dict(self._users())
        if username not in users and not create:
            raise KeyError(f"user {username} does not exist")
        users[username] = self._record(password)
        with self._lock:
            self._write(users)
            self._cache = None
            self._verified.clear()

    def drop_user(self, username: str) -> None:
        users = dict(self._users())
        if users.pop(username, None) is None:
            raise KeyError(f"user {username} does not exist")
        with self._lock:
            self._write(users)
            self._cache = None
            self._verified.clear()

    @staticmethod
    def _record(password: str) -> dict[str, str]:
        salt = secrets.token_bytes(16)
        return {"salt": salt.hex(), "hash": _hash(password, salt)}

    def _write(self, users: dict[str, dict[str, str]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump({"users": users}, f, indent=1, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)
