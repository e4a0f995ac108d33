"""Login hygiene: failed logins are logged and throttled per client address; statements are
logged masked and truncated.

`LoginThrottle` counts the consecutive failed logins (SQL ``openSession`` and pipe receiver
handshakes alike) of each client address. From the ``login_lock_threshold``-th failure on,
the address is locked out for ``login_lock_seconds``, doubled at every further failure up
to 64 times that; a login from a locked address is refused (822 USER_LOGIN_LOCKED, saying
when to retry)
without its password being checked. A successful login clears the address's count.
Addresses not seen for an hour are forgotten (the table holds at most `MAX_ADDRESSES`).
"""

from __future__ import annotations

import logging
import re
import threading
import time

from pipecore_storage.status import Status

from .parameters import mask_secrets

__all__ = ["MAX_ADDRESSES", "LoginThrottle", "loggable_statement"]

log = logging.getLogger("pipecore.logins")

MAX_ADDRESSES = 10_000
USER_LOGIN_LOCKED = 822  # IoTDB's code for a locked-out login (newer than 1.3)
_FORGET_AFTER = 3600.0
_MAX_FACTOR = 64
MAX_LOGGED_STATEMENT = 200  # characters of a statement written to the log

_USER_PASSWORD = re.compile(
    r"(?P<head>\b(?:CREATE\s+USER\s+\S+|SET\s+PASSWORD)\s+)(?P<q>['\"])(?:(?!(?P=q)).|(?P=q)(?P=q))*(?P=q)",
    re.IGNORECASE | re.DOTALL,
)


def mask_passwords(sql: str) -> str:
    """`sql` without secrets: pipe parameters (`mask_secrets`) and the passwords of
    ``CREATE USER u '…'`` / ``ALTER USER u SET PASSWORD '…'``."""
    return _USER_PASSWORD.sub(lambda m: f"{m.group('head')}'******'", mask_secrets(sql))


def loggable_statement(sql: str) -> str:
    """A statement as the log may show it: secrets masked, at most `MAX_LOGGED_STATEMENT`
    characters (the rest counted)."""
    masked = mask_passwords(sql)
    if len(masked) <= MAX_LOGGED_STATEMENT:
        return masked
    return (
        f"{masked[:MAX_LOGGED_STATEMENT]}… ({len(masked) - MAX_LOGGED_STATEMENT} more characters)"
    )


class LoginThrottle:
    """Failed-login counts and lockouts per client address (thread-safe)."""

    def __init__(self, threshold: int = 5, lock_seconds: float = 1.0) -> None:
        self.threshold = threshold
        self.lock_seconds = lock_seconds
        self._lock = threading.Lock()
        self._failures: dict[str, tuple[int, float, float]] = {}  # address -> n, until, last

    def configure(self, threshold: int, lock_seconds: float) -> None:
        self.threshold, self.lock_seconds = int(threshold), float(lock_seconds)

    def refused(self, address: str, user: str) -> Status | None:
        """801 while `address` is locked out, else None."""
        now = time.monotonic()
        with self._lock:
            entry = self._failures.get(address)
        if entry is None or entry[1] <= now:
            return None
        wait = entry[1] - now
        log.warning(
            "login of user %r from %s refused: locked out for %.1f s more after %d failed logins",
            user,
            address,
            wait,
            entry[0],
        )
        return Status(
            USER_LOGIN_LOCKED,
            f"Too many failed logins from {address}; try again in {wait:.0f} s",
        )

    def failed(self, address: str, user: str, status: Status) -> None:
        now = time.monotonic()
        with self._lock:
            count, _, _ = self._failures.get(address, (0, 0.0, 0.0))
            count += 1
            until = 0.0
            if self.threshold > 0 and count >= self.threshold:
                factor = min(2 ** (count - self.threshold), _MAX_FACTOR)
                until = now + self.lock_seconds * factor
            self._failures[address] = (count, until, now)
            if len(self._failures) > MAX_ADDRESSES:
                self._forget(now)
        log.warning(
            "failed login of user %r from %s (%d in a row): %s",
            user,
            address,
            count,
            status.message,
        )

    def succeeded(self, address: str) -> None:
        with self._lock:
            self._failures.pop(address, None)

    def _forget(self, now: float) -> None:
        stale = [a for a, (_, until, last) in self._failures.items() if now - last > _FORGET_AFTER]
        for address in stale:
            del self._failures[address]
        while len(self._failures) > MAX_ADDRESSES:  # a flood of addresses: oldest first
            oldest = min(self._failures, key=lambda a: self._failures[a][2])
            del self._failures[oldest]
