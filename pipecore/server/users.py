"""The users of a node: who may log in over RPC (SQL sessions) and hand data to its pipe
receivers (the handshake's ``username``/``password``, IoTDB 1.3.3+).

Users and salted PBKDF2-SHA256 password hashes (never the passwords) live in
``<data dir>/system/users.json``, with IoTDB's own (weaker, unsalted MD5) form of each
password next to it while the node setting ``iotdb_password_digest`` is on, so that users
sent to a real IoTDB log in there (`pipecore.iotdb_password`, docs/security.md).
A new node has the user ``root`` with the password ``root``,
as IoTDB does: **change it** before opening the RPC port to anyone::

    pipecore users --data-dir DIR passwd root      # asks for the new password
    pipecore users --data-dir DIR add edge-7
    pipecore users --data-dir DIR list
    pipecore users --data-dir DIR drop edge-7

Changes apply to the next login or handshake; a running node need not restart.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import os
import secrets
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from pipecore_storage.status import Status, TSStatusCode

from ..errors import ConfigError
from ..iotdb_password import iotdb_password_digest
from ..logins import LoginThrottle

__all__ = ["DEFAULT_ROOT_PASSWORD", "UserStore"]

DEFAULT_ROOT_PASSWORD = "root"
_ITERATIONS = 20_000
_T = TypeVar("_T")


def _hash(password: str, salt: bytes) -> str:
    return hashlib.pbkdf2_hmac("sha256", password.encode(), salt, _ITERATIONS).hex()


class UserStore:
    """Users and password hashes in a JSON file; created with root/root on first use."""

    def __init__(self, path: str | os.PathLike[str], *, iotdb_digest: bool = True) -> None:
        self.path = Path(path)
        #: keep IoTDB's form of each password set from now on (``iotdb``, see
        #: `pipecore.iotdb_password`), so that a user sent to a real IoTDB logs in there
        self.iotdb_digest = iotdb_digest
        self._lock = threading.RLock()
        self._cache: tuple[float, dict[str, Any]] | None = None
        self._verified: dict[tuple[str, str], str] = {}  # (user, password) -> hash it matched
        self.throttle = LoginThrottle()  # failed logins per client address

    @classmethod
    def for_data_dir(cls, data_dir: str | os.PathLike[str]) -> UserStore:
        return cls(Path(data_dir) / "system" / "users.json")

    # ------------------------------------------------------------------ reading
    def _document(self) -> dict[str, Any]:
        """The whole file: ``users`` (name -> salt, hash and, see `pipecore.privileges`,
        roles and privileges) and ``roles``."""
        with self._lock:
            if not self.path.exists():
                self._write({"users": {"root": self._record(DEFAULT_ROOT_PASSWORD)}})
            mtime = self.path.stat().st_mtime
            if self._cache is None or self._cache[0] != mtime:
                try:
                    data = json.loads(self.path.read_text("utf-8"))
                    users = {str(k): dict(v) for k, v in data["users"].items()}
                    roles = {str(k): dict(v) for k, v in dict(data.get("roles", {})).items()}
                except (ValueError, KeyError, TypeError, AttributeError) as exc:
                    raise ConfigError(f"{self.path} is not a valid users file: {exc}") from exc
                self._cache = (mtime, {"users": users, "roles": roles})
            return self._cache[1]

    def _users(self) -> dict[str, dict[str, Any]]:
        users: dict[str, dict[str, Any]] = self._document()["users"]
        return users

    def document(self) -> dict[str, Any]:
        """A copy of the file's content (users and roles)."""
        with self._lock:
            return copy.deepcopy(self._document())

    def update(self, change: Callable[[dict[str, Any]], _T]) -> _T:
        """Apply `change` to a copy of the document and write it atomically (nothing is
        written when `change` raises)."""
        with self._lock:
            document = copy.deepcopy(self._document())
            result = change(document)
            self._write(document)
            self._cache = None
            self._verified.clear()
            return result

    def users(self) -> list[str]:
        return sorted(self._users())

    def check(self, username: str, password: str, *, address: str | None = None) -> Status:
        """200, or IoTDB's login failure: 804 USER_NOT_EXIST / 801 WRONG_LOGIN_PASSWORD.

        With the client's `address` the attempt is a network login: a failure is logged and
        counted, and an address locked out by `throttle` is refused (801) unchecked."""
        if address is None:
            return self._check(username, password)
        refused = self.throttle.refused(address, username)
        if refused is not None:
            return refused
        status = self._check(username, password)
        if status.is_success:
            self.throttle.succeeded(address)
        else:
            self.throttle.failed(address, username, status)
        return status

    def _check(self, username: str, password: str) -> Status:
        record = self._users().get(username)
        if record is None:
            return Status(TSStatusCode.USER_NOT_EXIST, f"User {username} does not exist")
        digest = record.get("hash", "")
        stored = digest or record.get("iotdb", "")
        if stored and self._verified.get((username, password)) == stored:
            return Status.ok()
        if digest:
            salt = bytes.fromhex(record.get("salt", ""))
            matches = hmac.compare_digest(_hash(password, salt), digest)
        else:  # a user received from IoTDB (or over IoTDB's layout) with IoTDB's form only
            iotdb = str(record.get("iotdb", ""))
            matches = bool(iotdb) and hmac.compare_digest(
                iotdb_password_digest(password).encode(), iotdb.encode()
            )
        if not matches:
            return Status(
                TSStatusCode.WRONG_LOGIN_PASSWORD,
                f"Authentication failed: wrong password for user {username}",
            )
        self._verified[(username, password)] = stored
        return Status.ok()

    def uses_default_password(self) -> bool:
        return self.check("root", DEFAULT_ROOT_PASSWORD).is_success

    # ------------------------------------------------------------------ changing
    def set_password(self, username: str, password: str, *, create: bool = False) -> None:
        """Change `username`'s password (or create the user when `create`)."""

        def change(document: dict[str, Any]) -> None:
            users = document["users"]
            if username not in users and not create:
                raise KeyError(f"user {username} does not exist")
            record = {**users.get(username, {}), **self._record(password)}
            record.pop("iotdb", None)
            if self.iotdb_digest and username != "root":  # root never travels
                record["iotdb"] = iotdb_password_digest(password)
            users[username] = record

        self.update(change)

    def configure_iotdb_digest(self, enabled: bool) -> None:
        """Keep IoTDB's form of passwords set from now on (`enabled`), or not; when not,
        forget the forms already kept (node setting ``iotdb_password_digest``)."""
        self.iotdb_digest = enabled
        if enabled or not any("iotdb" in r and r.get("hash") for r in self._users().values()):
            return

        def change(document: dict[str, Any]) -> None:
            for record in document["users"].values():
                if record.get("hash"):  # a user with IoTDB's form only keeps it: its login
                    record.pop("iotdb", None)

        self.update(change)

    def drop_user(self, username: str) -> None:
        if username == "root":
            raise KeyError("user root cannot be dropped")

        def change(document: dict[str, Any]) -> None:
            if document["users"].pop(username, None) is None:
                raise KeyError(f"user {username} does not exist")

        self.update(change)

    @staticmethod
    def _record(password: str) -> dict[str, str]:
        salt = secrets.token_bytes(16)
        return {"salt": salt.hex(), "hash": _hash(password, salt)}

    def _write(self, document: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(document, f, indent=1, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)
