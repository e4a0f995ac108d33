"""The SSL sink's own parameters (reference §6; seed 002), parsed and checked once.

IoTDB accepts the trust store only as ``sink.ssl.*`` or bare ``ssl.*`` — never
``connector.ssl.*``. `SslOptions.parse` raises `PipeParameterNotValidError` naming the key.
"""

from __future__ import annotations

import logging
import ssl

import attrs

from pipecore import PipeParameterNotValidError, PipeParameters
from pipecore.rpc.tls import KeyStoreError, client_context

__all__ = ["SslOptions"]

log = logging.getLogger("pipecore.ssl_sink")

TRUST_STORE_PATH = "ssl.trust-store-path"
TRUST_STORE_PWD = "ssl.trust-store-pwd"
KEY_STORE_PATH = "ssl.key-store-path"
KEY_STORE_PWD = "ssl.key-store-pwd"
VERIFY_CERTIFICATE = "ssl.verify-certificate"
VERIFY_HOSTNAME = "ssl.verify-hostname"


def _get(p: PipeParameters, key: str) -> str | None:
    """``sink.<key>`` or bare ``<key>`` (``connector.<key>`` is not IoTDB's: refused)."""
    if p.has_attribute(f"connector.{key}") and not p.has_attribute(f"sink.{key}"):
        raise PipeParameterNotValidError(
            f"connector.{key} is not accepted: write sink.{key} or {key} (as IoTDB does)",
            key=f"connector.{key}",
            expected=f"sink.{key} or {key}",
        )
    return p.get_string(f"sink.{key}")


def _flag(p: PipeParameters, key: str) -> bool:
    text = _get(p, key)
    if text is None:
        return True
    value = text.strip().lower()
    if value not in ("true", "false"):
        raise PipeParameterNotValidError(
            f"Invalid value {text!r} of sink.{key}: expected true or false",
            key=f"sink.{key}",
            expected="true or false",
        )
    return value == "true"


@attrs.frozen
class SslOptions:
    """Where the trusted certificates are, whether they are checked, our own certificate."""

    trust_store_path: str | None
    trust_store_pwd: str | None = attrs.field(default=None, repr=False)
    key_store_path: str | None = None
    key_store_pwd: str | None = attrs.field(default=None, repr=False)
    verify_certificate: bool = True
    verify_hostname: bool = True

    @classmethod
    def parse(cls, p: PipeParameters) -> SslOptions:
        enable = p.get_string_by_keys("sink.ssl.enable", "connector.ssl.enable")
        if enable is not None and enable.strip().lower() == "false":
            raise PipeParameterNotValidError(
                "iotdb-thrift-ssl-sink always uses SSL: remove sink.ssl.enable=false, or use "
                "iotdb-thrift-sync-sink to send in plain text",
                key="sink.ssl.enable",
                expected="true (or absent)",
            )
        options = cls(
            trust_store_path=_get(p, TRUST_STORE_PATH),
            trust_store_pwd=_get(p, TRUST_STORE_PWD),
            key_store_path=_get(p, KEY_STORE_PATH),
            key_store_pwd=_get(p, KEY_STORE_PWD),
            verify_certificate=_flag(p, VERIFY_CERTIFICATE),
            verify_hostname=_flag(p, VERIFY_HOSTNAME),
        )
        if options.verify_certificate:
            for key, value in (
                (TRUST_STORE_PATH, options.trust_store_path),
                (TRUST_STORE_PWD, options.trust_store_pwd),
            ):
                if value is None:
                    raise PipeParameterNotValidError(
                        f"When ssl transport is enabled, {TRUST_STORE_PATH} and "
                        f"{TRUST_STORE_PWD} must be specified ({key} is missing; the password "
                        "may be empty for a PEM trust store)",
                        key=f"sink.{key}",
                        expected="a value",
                    )
            if not options.trust_store_path:
                raise PipeParameterNotValidError(
                    f"sink.{TRUST_STORE_PATH} is empty", key=f"sink.{TRUST_STORE_PATH}"
                )
        if options.key_store_path is not None and not options.key_store_path:
            raise PipeParameterNotValidError(
                f"sink.{KEY_STORE_PATH} is empty", key=f"sink.{KEY_STORE_PATH}"
            )
        return options

    def context(self) -> ssl.SSLContext:
        """The client TLS context; an unreadable store raises `PipeParameterNotValidError`
        naming its key."""
        try:
            return client_context(
                self.trust_store_path if self.verify_certificate else None,
                self.trust_store_pwd,
                verify_certificate=self.verify_certificate,
                check_hostname=self.verify_hostname,
                key_store_path=self.key_store_path,
                key_store_pwd=self.key_store_pwd,
            )
        except KeyStoreError as exc:
            key = KEY_STORE_PATH if exc.path == self.key_store_path else TRUST_STORE_PATH
            raise PipeParameterNotValidError(
                f"sink.{key} {exc}", key=f"sink.{key}", expected="a readable store"
            ) from None

    def warn_unverified(self, pipe: str) -> None:
        """Log what turning verification off means (once per sink)."""
        if not self.verify_certificate:
            log.warning(
                "pipe %s: %s=false: the receiver's certificate is not verified at all; the "
                "link is encrypted but anyone can pose as the receiver",
                pipe,
                VERIFY_CERTIFICATE,
            )
        elif not self.verify_hostname:
            log.warning(
                "pipe %s: %s=false: the receiver's certificate is not checked against its "
                "host name; any holder of a certificate from the trust store can pose as it",
                pipe,
                VERIFY_HOSTNAME,
            )
