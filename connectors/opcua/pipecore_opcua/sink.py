"""``opc-ua-sink``: the pipe's data served by an OPC UA server (IoTDB 1.3's ``OpcUaConnector``).

Parameters (each also under its ``connector.`` spelling), with IoTDB's defaults:

* ``sink.opcua.model`` — ``pub-sub`` (default) or ``client-server``:

  - ``client-server``: the address space holds, under ``Objects``, a folder per node of the
    device path (``root`` → ``root/sg`` → ``root/sg/d1``; node ids are the path joined by ``/``
    in the namespace ``urn:apache:iotdb:opc-server``) and a variable per measurement
    (``root/sg/d1/s1``) holding the latest value the pipe delivered, with its source timestamp
    (the point's time) — a value older than the one held is ignored;
  - ``pub-sub``: every point is posted as a ``BaseEventType`` event from the ``Server`` object:
    ``SourceName`` the series path, ``SourceNode`` the OPC UA data type, ``Time`` the point's
    time and ``Message`` the value as text (clients subscribe to the Server object's events).
* ``sink.opcua.tcp.port`` — 12686: the ``opc.tcp://<dn_rpc_address>:<port>/iotdb`` endpoint.
* ``sink.opcua.https.port`` — 8443 in IoTDB. asyncua has no HTTPS transport: giving this key is
  refused by name (the server listens on opc.tcp only).
* ``sink.opcua.security.dir`` — where the server's key and self-signed certificate are made on
  first start (``server-key.pem``, ``server-cert.der``) and where client certificates are
  trusted (``pki/trusted/certs``) or put aside when refused (``pki/rejected/certs``), as IoTDB's
  trust list: move a rejected certificate to the trusted folder to allow that client.
  Default ``<node directory>/pipe/opc_security`` (IoTDB: ``<conf dir>/opc_security``).
* ``sink.opcua.enable-anonymous-access`` — true: anonymous sessions are allowed.
* ``sink.user`` / ``sink.password`` — root / root: the one user a session may log in as.

Security policies: None and Basic256Sha256 (SignAndEncrypt), as IoTDB's TCP endpoints.
Pipes naming the same ports share one server (reference counted, as IoTDB's): the first one's
settings make it. An unused server stays up for `LINGER_SECONDS` (CREATE PIPE's temporary
handshake would otherwise start and stop it just before the pipe starts it again).

The server runs on an asyncio loop in a thread of its own; a tablet's future completes once
its values are in the address space (or its events are posted).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
from concurrent.futures import Future
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, cast

import numpy as np
from asyncua import Server, ua
from asyncua.common.utils import ServiceError
from asyncua.crypto.cert_gen import setup_self_signed_certificate
from asyncua.crypto.permission_rules import User, UserRole
from asyncua.server.user_managers import UserManager
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID

from pipecore import (
    Connector,
    LoopThread,
    PipeError,
    PipeParameters,
    PipeParameterValidator,
    RuntimeConfiguration,
    TabletInsertionEvent,
)
from pipecore_storage import TSDataType

__all__ = ["APPLICATION_URI", "NAMESPACE_URI", "OpcUaSink", "to_datetime"]

log = logging.getLogger(__name__)

MODEL_KEYS = ["connector.opcua.model", "sink.opcua.model"]
CLIENT_SERVER, PUB_SUB = "client-server", "pub-sub"
DEFAULT_MODEL = PUB_SUB
TCP_PORT_KEYS = ["connector.opcua.tcp.port", "sink.opcua.tcp.port"]
DEFAULT_TCP_PORT = 12686
HTTPS_PORT_KEYS = ["connector.opcua.https.port", "sink.opcua.https.port"]
DEFAULT_HTTPS_PORT = 8443
SECURITY_DIR_KEYS = ["connector.opcua.security.dir", "sink.opcua.security.dir"]
ANONYMOUS_KEYS = ["connector.opcua.enable-anonymous-access", "sink.opcua.enable-anonymous-access"]
USER_KEYS = ["connector.user", "sink.user"]
PASSWORD_KEYS = ["connector.password", "sink.password"]
DEFAULT_USER = DEFAULT_PASSWORD = "root"

NAMESPACE_URI = "urn:apache:iotdb:opc-server"
APPLICATION_URI = "urn:apache:iotdb:opc-ua-server"
SERVER_NAME = "Apache IoTDB OPC UA server"
ENDPOINT_PATH = "/iotdb"

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROS_PER_UNIT = {"ms": 1000.0, "us": 1.0, "ns": 0.001}

# TsFile type → (OPC UA variant type, data type node of the event's SourceNode)
_VARIANT = {
    TSDataType.BOOLEAN: ua.VariantType.Boolean,
    TSDataType.INT32: ua.VariantType.Int32,
    TSDataType.INT64: ua.VariantType.Int64,
    TSDataType.TIMESTAMP: ua.VariantType.Int64,
    TSDataType.FLOAT: ua.VariantType.Float,
    TSDataType.DOUBLE: ua.VariantType.Double,
    TSDataType.TEXT: ua.VariantType.String,
    TSDataType.STRING: ua.VariantType.String,
    TSDataType.BLOB: ua.VariantType.ByteString,
    TSDataType.DATE: ua.VariantType.DateTime,
}


def to_datetime(timestamp: int, precision: str = "ms") -> datetime:
    """A point's time (in the node's precision) as an aware UTC datetime (µs resolution)."""
    if precision == "ns":
        return _EPOCH + timedelta(microseconds=int(timestamp) // 1000)
    return _EPOCH + timedelta(microseconds=int(timestamp) * int(_MICROS_PER_UNIT[precision]))


def _python_value(data_type: TSDataType, value: Any) -> Any:
    """One stored value as the Python object asyncua encodes for its variant type."""
    if data_type in (TSDataType.TEXT, TSDataType.STRING):
        return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    if data_type == TSDataType.BLOB:
        return bytes(value) if not isinstance(value, str) else value.encode()
    if data_type == TSDataType.DATE:
        ymd = int(value)
        return datetime(ymd // 10000, ymd // 100 % 100, ymd % 100, tzinfo=timezone.utc)
    return value.item() if isinstance(value, np.generic) else value


def _text(data_type: TSDataType, value: Any) -> str:
    if data_type == TSDataType.BOOLEAN:
        return "true" if value else "false"  # Java's Boolean.toString, as IoTDB's message
    if data_type == TSDataType.DATE:
        return _python_value(data_type, value).date().isoformat()
    return str(_python_value(data_type, value))


def latest_rows(tablet: Any) -> list[int]:
    """Per column, the row of its latest non-null value (the last such row among equal times),
    or -1 when the column has no value (vectorised per column)."""
    times = np.asarray(tablet.timestamps, dtype=np.int64)
    n = len(times)
    out = []
    for mask in tablet.null_masks if tablet.null_masks else [None] * len(tablet.columns):
        if n == 0:
            out.append(-1)
            continue
        masked = times if mask is None else np.where(mask, np.iinfo(np.int64).min, times)
        if mask is not None and bool(mask.all()):
            out.append(-1)
            continue
        out.append(n - 1 - int(np.argmax(masked[::-1])))
    return out


class _Users(UserManager):
    """asyncua's user manager: anonymous sessions (when allowed) and the one configured user."""

    def __init__(self, user: str, password: str, anonymous: bool) -> None:
        self.user, self.password, self.anonymous = user, password, anonymous

    def get_user(
        self,
        iserver: Any,
        username: str | None = None,
        password: str | None = None,
        certificate: Any = None,
    ) -> User | None:
        if username is None:  # anonymous (X509 identity tokens are not offered)
            return User(role=UserRole.User) if self.anonymous else None
        if username == self.user and password == self.password:
            return User(role=UserRole.User, name=username)
        log.warning("opc-ua-sink: login as %r refused", username)
        return None


class _TrustList:
    """IoTDB's trust list of client certificates: ``pki/trusted/certs`` are accepted, any other
    is written to ``pki/rejected/certs`` and refused (BadCertificateUntrusted)."""

    def __init__(self, security_dir: Path) -> None:
        self.trusted = security_dir / "pki" / "trusted" / "certs"
        self.rejected = security_dir / "pki" / "rejected" / "certs"
        self.trusted.mkdir(parents=True, exist_ok=True)
        self.rejected.mkdir(parents=True, exist_ok=True)

    def _trusted_ders(self) -> set[bytes]:
        ders = set()
        for path in self.trusted.iterdir():
            data = path.read_bytes()
            if data.startswith(b"-----BEGIN"):
                data = x509.load_pem_x509_certificate(data).public_bytes(Encoding.DER)
            ders.add(data)
        return ders

    async def __call__(self, certificate: x509.Certificate, app: ua.ApplicationDescription) -> None:
        der = certificate.public_bytes(Encoding.DER)
        if der in self._trusted_ders():
            return
        name = hashlib.sha1(der).hexdigest()
        (self.rejected / f"{name}.der").write_bytes(der)
        log.warning(
            "opc-ua-sink: client certificate of %s refused; move %s to %s to trust it",
            app.ApplicationUri,
            self.rejected / f"{name}.der",
            self.trusted,
        )
        raise ServiceError(ua.StatusCodes.BadCertificateUntrusted)


class OpcUaServer:
    """One OPC UA server (one port), shared by the pipes that name it."""

    def __init__(
        self,
        host: str,
        tcp_port: int,
        model: str,
        security_dir: Path,
        user: str,
        password: str,
        anonymous: bool,
        precision: str,
    ) -> None:
        self.settings = (host, tcp_port, model, security_dir, user, password, anonymous, precision)
        self.host, self.tcp_port, self.model = host, tcp_port, model
        self.security_dir = security_dir
        self.users = _Users(user, password, anonymous)
        self.precision = precision
        self.references = 0
        self.endpoint = f"opc.tcp://{host}:{tcp_port}{ENDPOINT_PATH}"
        self._nodes: dict[str, Any] = {}  # node id string → asyncua Node (folders, variables)
        self._latest: dict[str, datetime] = {}  # variable → source time of the value held
        self._server: Any = None
        self._events: Any = None
        self._ns = 0
        self._lock: asyncio.Lock | None = None
        self._loop = LoopThread(f"opc-ua-sink-{tcp_port}", self._start, timeout=60)

    async def _start(self) -> None:
        self._lock = asyncio.Lock()
        self.security_dir.mkdir(parents=True, exist_ok=True)
        key, cert = self.security_dir / "server-key.pem", self.security_dir / "server-cert.der"
        await setup_self_signed_certificate(
            key,
            cert,
            APPLICATION_URI,
            self.host,
            [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH],
            {"commonName": SERVER_NAME, "organizationName": "apache"},
        )
        server = Server(user_manager=self.users)
        await server.init()
        server.set_endpoint(self.endpoint)
        server.set_server_name(SERVER_NAME)
        await server.set_application_uri(APPLICATION_URI)
        server.product_uri = APPLICATION_URI
        server.set_security_policy(
            [
                ua.SecurityPolicyType.NoSecurity,
                ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt,
            ]
        )
        tokens: list[type] = [ua.UserNameIdentityToken]
        if self.users.anonymous:
            tokens.insert(0, ua.AnonymousIdentityToken)
        server.set_identity_tokens(tokens)
        await server.load_certificate(str(cert))
        await server.load_private_key(str(key))
        server.set_certificate_validator(_TrustList(self.security_dir))
        self._ns = await server.register_namespace(NAMESPACE_URI)
        await server.start()
        if self.model == PUB_SUB:
            self._events = await server.get_event_generator()
        self._server = server

    def stop(self) -> None:
        async def shutdown() -> None:
            await self._server.stop()

        self._loop.stop(shutdown)

    # ------------------------------------------------------------------ from sinks
    def submit(self, tablet: Any) -> Future[None]:
        """Put `tablet` into the address space (or post its events); done when it is."""
        work = self._client_server if self.model == CLIENT_SERVER else self._pub_sub
        return self._loop.submit(work(tablet))

    # ------------------------------------------------------------------ client-server
    async def _folder(self, path: str, segment: str, parent: Any) -> Any:
        node = self._nodes.get(path)
        if node is None:
            node = await parent.add_folder(
                _node_id(path, self._ns), ua.QualifiedName(segment, self._ns)
            )
            self._nodes[path] = node
        return node

    async def _client_server(self, tablet: Any) -> None:
        assert self._lock is not None
        segments = tablet.device.split(".")
        async with self._lock:
            parent = self._server.nodes.objects
            for depth, segment in enumerate(segments):
                parent = await self._folder("/".join(segments[: depth + 1]), segment, parent)
            folder_path = "/".join(segments)
            for schema, column, row in zip(
                tablet.schemas, tablet.columns, latest_rows(tablet), strict=True
            ):
                if row < 0:
                    continue
                data_type = TSDataType(schema.data_type)
                variant = _VARIANT.get(data_type)
                if variant is None:
                    continue
                when = to_datetime(tablet.timestamps[row], self.precision)
                node_id = f"{folder_path}/{schema.name}"
                held = self._latest.get(node_id)
                if held is not None and when < held:
                    continue  # IoTDB keeps the value with the later source time
                value = ua.Variant(_python_value(data_type, column[row]), variant)
                node = self._nodes.get(node_id)
                if node is None:
                    node = await parent.add_variable(
                        _node_id(node_id, self._ns),
                        ua.QualifiedName(schema.name, self._ns),
                        value,
                        varianttype=variant,
                    )
                    self._nodes[node_id] = node
                await self._server.write_attribute_value(
                    node.nodeid,
                    ua.DataValue(
                        value,
                        SourceTimestamp=cast(ua.DateTime, when),
                        ServerTimestamp=cast(ua.DateTime, _now()),
                    ),
                )
                self._latest[node_id] = when

    # ------------------------------------------------------------------ pub-sub
    async def _pub_sub(self, tablet: Any) -> None:
        assert self._lock is not None
        times = np.asarray(tablet.timestamps, dtype=np.int64)
        masks = tablet.null_masks or [None] * len(tablet.columns)
        async with self._lock:
            event = self._events.event
            for schema, column, mask in zip(tablet.schemas, tablet.columns, masks, strict=True):
                data_type = TSDataType(schema.data_type)
                variant = _VARIANT.get(data_type)
                if variant is None:
                    continue
                rows = np.arange(len(times)) if mask is None else np.flatnonzero(~mask)
                event.SourceName = f"{tablet.device}.{schema.name}"
                event.SourceNode = ua.NodeId(ua.Int32(_DATA_TYPE_IDS[variant]))
                # one event per point is what the model is (IoTDB posts them one by one too)
                for row, value in zip(rows.tolist(), column[rows].tolist(), strict=True):
                    await self._events.trigger(
                        to_datetime(times[row], self.precision), _text(data_type, value)
                    )


_DATA_TYPE_IDS = {
    ua.VariantType.Boolean: ua.ObjectIds.Boolean,
    ua.VariantType.Int32: ua.ObjectIds.Int32,
    ua.VariantType.Int64: ua.ObjectIds.Int64,
    ua.VariantType.Float: ua.ObjectIds.Float,
    ua.VariantType.Double: ua.ObjectIds.Double,
    ua.VariantType.String: ua.ObjectIds.String,
    ua.VariantType.ByteString: ua.ObjectIds.ByteString,
    ua.VariantType.DateTime: ua.ObjectIds.DateTime,
}


def _node_id(path: str, namespace: int) -> ua.NodeId:
    """IoTDB's node ids: the path joined by ``/``, a string id in the sink's namespace."""
    return ua.NodeId(ua.String(path), ua.Int16(namespace))


def _now() -> datetime:
    return datetime.now(timezone.utc)


_SERVERS: dict[str, OpcUaServer] = {}
_SERVERS_LOCK = threading.Lock()
#: seconds an unused server stays up: CREATE PIPE handshakes a temporary sink and closes it just
#: before the pipe's own sink starts; the server (a few seconds to start) is kept for it
LINGER_SECONDS = 3.0


def _acquire(key: str, settings: tuple[Any, ...]) -> OpcUaServer:
    """The server of `key` (IoTDB's ``<https port>:<tcp port>``): shared while in use (the first
    pipe's settings make it); an unused, lingering one is reused only with equal settings."""
    with _SERVERS_LOCK:
        server = _SERVERS.get(key)
        if server is not None and server.references == 0 and server.settings != settings:
            _SERVERS.pop(key)
            server.stop()
            server = None
        if server is None:
            try:
                server = OpcUaServer(*settings)
            except OSError as exc:
                raise PipeError(f"opc-ua-sink cannot listen: {exc}") from exc
            _SERVERS[key] = server
        server.references += 1
        return server


def _release(key: str, server: OpcUaServer) -> None:
    with _SERVERS_LOCK:
        server.references -= 1
        if server.references > 0:
            return

    def stop_if_unused() -> None:
        with _SERVERS_LOCK:
            if server.references > 0 or _SERVERS.get(key) is not server:
                return
            _SERVERS.pop(key)
        server.stop()

    timer = threading.Timer(LINGER_SECONDS, stop_if_unused)
    timer.daemon = True
    timer.start()


class OpcUaSink(Connector):
    """``opc-ua-sink`` (module docstring)."""

    server: OpcUaServer | None = None
    key = ""

    def connector_validate(self, validator: PipeParameterValidator) -> None:
        for key in MODEL_KEYS:
            validator.validate_attribute_value_range(key, True, CLIENT_SERVER, PUB_SUB)
        parameters = validator.parameters
        for key in HTTPS_PORT_KEYS:
            if parameters.has_attribute(key):
                validator.validate(
                    lambda: False,
                    f"{key} is not supported: asyncua, which opc-ua-sink is built on, has no "
                    f"OPC UA HTTPS transport; the server listens on opc.tcp only "
                    f"({TCP_PORT_KEYS[1]})",
                    key=key,
                )
        port = parameters.get_int_or_default(TCP_PORT_KEYS, DEFAULT_TCP_PORT)
        validator.validate(
            lambda p: 0 < p < 65536,
            f"{TCP_PORT_KEYS[1]} must be between 1 and 65535, but got {port}",
            port,
            key=TCP_PORT_KEYS[1],
        )
        for key in ANONYMOUS_KEYS:
            value = parameters.get_string(key)
            validator.validate(
                lambda v: v is None or v.strip().lower() in ("true", "false"),
                f"{key} must be true or false, but got {value}",
                value,
                key=key,
            )

    def connector_customize(
        self, parameters: PipeParameters, configuration: RuntimeConfiguration
    ) -> None:
        super().connector_customize(parameters, configuration)
        config = configuration.node_config
        self.host = "127.0.0.1" if config is None else str(config.node.dn_rpc_address)
        self.precision = "ms" if config is None else str(config.node.timestamp_precision)
        self.tcp_port = parameters.get_int_or_default(TCP_PORT_KEYS, DEFAULT_TCP_PORT)
        self.https_port = parameters.get_int_or_default(HTTPS_PORT_KEYS, DEFAULT_HTTPS_PORT)
        self.model = parameters.get_string_or_default(MODEL_KEYS, DEFAULT_MODEL)
        default_dir = Path(configuration.data_dir).parent.parent / "opc_security"
        self.security_dir = Path(
            parameters.get_string_or_default(SECURITY_DIR_KEYS, str(default_dir))
        )
        self.anonymous = parameters.get_boolean_or_default(ANONYMOUS_KEYS, True)
        self.user = parameters.get_string_or_default(USER_KEYS, DEFAULT_USER)
        self.password = parameters.get_string_or_default(PASSWORD_KEYS, DEFAULT_PASSWORD)
        self.key = f"{self.https_port}:{self.tcp_port}"  # IoTDB's server key

    def connector_handshake(self) -> None:
        if self.server is None:
            self.server = _acquire(
                self.key,
                (
                    self.host,
                    self.tcp_port,
                    self.model,
                    self.security_dir,
                    self.user,
                    self.password,
                    self.anonymous,
                    self.precision,
                ),
            )

    def connector_transfer_tablet(self, event: TabletInsertionEvent) -> Future[None] | None:
        if self.server is None:
            self.connector_handshake()
        assert self.server is not None
        if event.tablet.row_count == 0:
            return None
        return self.server.submit(event.tablet)

    def connector_close(self) -> None:
        server, self.server = self.server, None
        if server is not None:
            _release(self.key, server)
