"""The node key: pipe passwords are kept encrypted in the catalog.

A pipe's secret parameters (``password``, ``ssl.trust-store-pwd``, ``ssl.key-store-pwd``,
with any ``source.``/``sink.``/``connector.`` prefix) are written to ``pipe/meta/<pipe>.json``
as ``"pipecore-encrypted:v1:<token>"``: a Fernet token (AES-128-CBC + HMAC-SHA256,
authenticated) under the node key, ``<data dir>/system/node.key``, made on first use with
mode 0600. Anyone who can read the catalog but not the key learns nothing of the passwords.
A catalog written before the key existed (plain values) is read as is and encrypted at its
next save. Losing the key makes the encrypted passwords unreadable: the pipe meta is then
reported as corrupt (re-create the pipe with its password).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .parameters import is_secret_key

__all__ = ["PREFIX", "NodeKey"]

PREFIX = "pipecore-encrypted:v1:"


class NodeKey:
    """The Fernet key of one data directory (``system/node.key``), made on first use."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._fernet: Any = None

    @classmethod
    def for_system_dir(cls, system_dir: Path) -> NodeKey:
        return cls(Path(system_dir) / "node.key")

    def _cipher(self) -> Any:
        from cryptography.fernet import Fernet

        with self._lock:
            if self._fernet is None:
                if not self.path.exists():
                    self._create(Fernet.generate_key())
                os.chmod(self.path, 0o600)
                self._fernet = Fernet(self.path.read_bytes().strip())
            return self._fernet

    def _create(self, key: bytes) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(".node.key.tmp")
        tmp.unlink(missing_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, key + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, self.path)  # never replaces a key another process made meanwhile
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)

    def seal(self, parameters: Mapping[str, Any]) -> dict[str, Any]:
        """`parameters` with each secret value encrypted."""
        out = dict(parameters)
        for key, value in parameters.items():
            if is_secret_key(key) and isinstance(value, str) and not value.startswith(PREFIX):
                out[key] = PREFIX + self._cipher().encrypt(value.encode()).decode("ascii")
        return out

    def open(self, parameters: Mapping[str, Any]) -> dict[str, Any]:
        """`parameters` with each encrypted value decrypted; ValueError when one cannot be
        (no key, another node's key, a damaged token)."""
        from cryptography.fernet import InvalidToken

        out = dict(parameters)
        for key, value in parameters.items():
            if isinstance(value, str) and value.startswith(PREFIX):
                if not self.path.exists():
                    raise ValueError(
                        f"parameter {key} is encrypted, but the node key {self.path.name} "
                        "is missing"
                    )
                try:
                    out[key] = self._cipher().decrypt(value[len(PREFIX) :].encode()).decode()
                except (InvalidToken, ValueError) as exc:
                    raise ValueError(
                        f"parameter {key} cannot be decrypted with the node key "
                        f"{self.path.name}: {type(exc).__name__}"
                    ) from None
        return out
