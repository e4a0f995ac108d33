"""The users of a node: who may log in over RPC (SQL sessions) and hand data to its pipe
receivers (the handshake's ``username``/``password``, IoTDB 1.3.3+).

Users and salted PBKDF2-SHA256 password hashes (never the passwords) live in
``<data dir>/system/users.json``. A new node has the user ``root`` with the password ``root``,
as IoTDB does: **change it** before opening the RPC port to anyone::

    pipecore users --data-dir DIR passwd root      # asks for the new password
    pipecore users --data-dir DIR add edge-7
    pipecore users --data-dir DIR list
    pipecore users --data-dir DIR drop edge-7

Changes apply to the next login or handshake; a running node need not restart.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import threading
from pathlib import Path

from ..errors import ConfigError
from ..rpc import Status, TSStatusCode

__all__ = ["DEFAULT_ROOT_PASSWORD", "UserStore"]

DEFAULT_ROOT_PASSWORD = "root"
_ITERATIONS = 20_000


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
