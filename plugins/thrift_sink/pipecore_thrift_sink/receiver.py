"""The pipe receiver (IoTDB's ``IoTDBDataNodeReceiver``): one per sender connection.

``receiver.transfer(version, type, body) -> PipeTransferResponse`` handles a request from a
pipecore or IoTDB sender (reference §2, §3, §4):

* the sender's address must be in ``ip_white_list`` (else every request is answered 1802);
* handshake v1 (type 1) / v2 (type 51): timestamp precision, the sender's cluster id (our
  own is refused), the user and password against the node's users (a v1 handshake, or a v2
  one without credentials, is checked as ``root``/``root``); a fresh piece folder; the answer
  to a v2 handshake carries pipecore's marker (the TsFile versions we load);
* data before a successful handshake is answered 1811 (handshake needed);
* type 2 (InsertNode), 3 (tablet), 6 (batch): written into the store, marked
  ``Origin.pipe(sender cluster id)`` (unless the sender asked ``markAsPipeRequest=false``),
  creating databases and series; a type conflict is converted when the sender asked so,
  else answered 1810;
* types 4/8 (pieces) and 5/9 (seals): receiver_files.py, then LOAD into the store;
* 300 (compressed) and 400 (slices) wrap any of these; anything else is answered 1801.

Writes are idempotent (same series and time overwrite), so a request or file sent again
after a crash changes nothing. `close()` deletes the connection's folder.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import logging
import shutil
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from pipecore import ConnectionLog, UserCheck, handshake_refusal_reason
from pipecore.rpc import PipeTransferResponse, Status, TSStatusCode
from pipecore_storage.errors import (
    CorruptFileError,
    SchemaError,
    StoreClosedError,
    UnsupportedFormatError,
)
from pipecore_storage.origin import CLIENT, Origin
from pipecore_storage.tablet import Tablet

from .access import IpWhiteList
from .budget import MemoryBudget
from .client import encode_receiver_marker
from .config import thrift_settings
from .convert import convert_tablet, read_tsfile_tablets
from .encodings import encodings_hint
from .loader import AsyncLoader
from .options import DEFAULT_PASSWORD, DEFAULT_USER
from .protocol import (
    DELETE_DATA,
    LINEAGE_REQUEST_TYPE,
    HandshakeParams,
    LineageRequest,
    PipeProtocolError,
    PipeRequestType,
    SliceAssembler,
    SliceOutOfOrderError,
    check_precision,
    declared_decompressed_size,
    decode_delete_node,
    decode_file_piece,
    decode_file_seal_v1,
    decode_file_seal_v2,
    decode_handshake_v1,
    decode_insert_node,
    decode_insert_node_v2,
    decode_lineage,
    decode_slice,
    decode_tablet_batch,
    decode_tablet_batch_v2,
    decode_tablet_raw,
    decode_tablet_raw_v2,
    decompress_request,
    insert_node_to_tablets,
    plan_type,
)
from .protocol.schema_plan import SCHEMA_REQUEST_TYPE, decode_schema_plan
from .protocol.schema_region import REGION_NODE_TYPES, decode_region_node
from .receiver_auth import AUTH_OPS, apply_with_auth, authorize_auth
from .receiver_config import config_plan_request, config_snapshot_seal
from .receiver_files import FileReceiver, SealError
from .receiver_region import apply_region_records, seal_schema_snapshot
from .receiver_schema import record_series
from .receiver_templates import TEMPLATE_OPS, authorize_templates
from .resent import ResentFiles, file_key
from .verify import DIGEST_REQUEST_TYPE, answer_digests

__all__ = ["IoTDBDataNodeReceiver", "ReceiverSettings"]

log = logging.getLogger("pipecore.thrift_receiver")

_MAX_NESTING = 4  # a compressed request inside a slice inside ...
_PRE_AUTH_MAX_DECOMPRESSED = 64 << 10  # what a compressed handshake may declare
_T = PipeRequestType
_UNSUPPORTED = {
    _T.TRANSFER_TABLET_BINARY: "WAL-entry tablets (type 7) are not supported; send type 2/3/6",
    _T.TRANSFER_TABLET_BINARY_V2: "WAL-entry tablets (type 12) are not supported",
}


@attrs.define
class ReceiverSettings:
    """What every receiver of a node shares.

    * `store` — where data goes (a `pipecore_storage.Store`);
    * `cluster_id` — this node's; a sender with the same id is refused;
    * `timestamp_precision` — this node's (``ms``/``us``/``ns``);
    * `white_list` — ``ip_white_list``; `users` — who may log in (None: nobody is checked);
    * `registry` — the node's receivers' connection list (SHOW PIPES on the receiver), or None;
    * `base_dir` — the piece folders go to ``<base_dir>/<receiver id>/``.

    `apply(config)` takes what ``LOAD CONFIGURATION`` may change (``ip_white_list``, fsync,
    the decompressed-length limit): new connections and every request after it see it.
    """

    store: Any
    cluster_id: str
    base_dir: Path
    timestamp_precision: str = "ms"
    white_list: IpWhiteList = attrs.field(factory=lambda: IpWhiteList("127.0.0.1/32,::1/128"))
    users: UserCheck | None = None
    registry: ConnectionLog | None = None
    fsync: bool = True
    max_decompressed_length: int = 1 << 30
    #: bytes all connections together may hold decompressed or as slices being assembled
    memory: MemoryBudget = attrs.field(factory=lambda: MemoryBudget(1 << 30))
    loader: AsyncLoader | None = None  # for senders asking load-tsfile-strategy=async
    #: the node's schema templates (`pipecore.schema_templates.SchemaTemplates`), which IoTDB's
    #: config plans (type 200) create, set and unset; None: template plans are refused
    templates: Any = None
    ids: Any = attrs.field(factory=lambda: itertools.count(1), eq=False, repr=False)
    #: taken around decoding and applying data: requests of several connections take turns
    #: (Python threads gain nothing from running them at once; they only compete for the GIL)
    apply_lock: Any = attrs.field(factory=threading.Lock, eq=False, repr=False)
    #: the TsFiles loaded, by sender and name: a file sent again adds its deletions (resent.py)
    resent: ResentFiles = attrs.field(factory=ResentFiles, eq=False, repr=False)

    def next_id(self) -> int:
        with _ID_LOCK:
            return next(self.ids)

    def apply(self, config: Any) -> None:
        """Take the reloadable keys of a node configuration (after ``LOAD CONFIGURATION``)."""
        section = thrift_settings(config)
        self.white_list = IpWhiteList(config.ip_white_list)
        self.fsync = section.pipe_file_receiver_fsync_enabled
        self.max_decompressed_length = section.pipe_receiver_req_decompressed_max_length_in_bytes


_ID_LOCK = threading.Lock()


def _status(code: int, message: str) -> PipeTransferResponse:
    return PipeTransferResponse(Status(code, message))


class IoTDBDataNodeReceiver:
    """The receiver of one connection (not thread-safe: the RPC server calls it from the
    connection's thread only)."""

    def __init__(
        self,
        settings: ReceiverSettings,
        remote_address: tuple[str, int],
        *,
        transport: str = "thrift",
        air_gap: bool = False,
    ) -> None:
        self.settings = settings
        self.remote_address = remote_address
        self.remote = f"{remote_address[0]}:{remote_address[1]}"
        self.transport = transport
        self.air_gap = air_gap
        self._checked = settings.white_list
        self.allowed = settings.white_list.allows(remote_address[0])
        self.receiver_id: int | None = None
        self.sender_cluster_id: str | None = None
        self.origin: Origin | None = None  # set by a successful handshake
        self.username: str | None = None  # the handshake's user (None: nobody is checked)
        self.convert_on_type_mismatch = True
        self.validate_tsfile = True
        self.load_async = False
        self.files: FileReceiver | None = None
        #: a sealed file whose load failed for want of space: (name, length), tsfile, mods;
        #: the sender retries the seal, and the retry loads this file instead of a new one
        self._unloaded: tuple[tuple[str, int], Path, Path | None] | None = None
        self.slices = SliceAssembler(settings.max_decompressed_length)
        self._slice_bytes = 0  # reserved in settings.memory for the slices being assembled
        self._databases: dict[str, str | None] = {}
        self.connection: Any = None
        if settings.registry is not None:
            self.connection = settings.registry.open(transport, self.remote)
        if not self.allowed:
            log.warning(
                "refusing pipe requests from %s: not in ip_white_list (%s)",
                self.remote,
                settings.white_list,
            )

    # ------------------------------------------------------------------ entry point
    def transfer(self, version: int, type: int, body: bytes) -> PipeTransferResponse:
        started = time.perf_counter()
        resp = self._transfer(version, type, body, 0)
        if not resp.status.is_success and resp.status.code not in (
            TSStatusCode.PIPE_TRANSFER_FILE_OFFSET_RESET,
            TSStatusCode.PIPE_RECEIVER_IDEMPOTENT_CONFLICT_EXCEPTION,
        ):
            self._record(error=f"{resp.status}")
        if self.settings.registry is not None:
            self.settings.registry.totals.request(
                self.transport,
                request_type_label(type),
                resp.status.code,
                time.perf_counter() - started,
            )
        return resp

    def _transfer(self, version: int, type_: int, body: bytes, depth: int) -> PipeTransferResponse:
        if version != 1:
            return _status(TSStatusCode.PIPE_VERSION_ERROR, f"Unsupported pipe version {version}")
        if self.settings.white_list is not self._checked:  # LOAD CONFIGURATION changed it
            self._checked = self.settings.white_list
            self.allowed = self._checked.allows(self.remote_address[0])
        if not self.allowed:
            if type_ in (_T.HANDSHAKE_DATANODE_V1, _T.HANDSHAKE_DATANODE_V2):
                self._count_refusal("white_list")
            return _status(
                TSStatusCode.PIPE_HANDSHAKE_ERROR,
                f"Sender {self.remote_address[0]} is not allowed by the receiver's "
                f"ip_white_list ({self.settings.white_list})",
            )
        try:
            if self.origin is None and not self._allowed_before_handshake(type_, body):
                # nothing is decompressed or buffered for a sender that has not logged in
                return _handshake_needed()
            if type_ == _T.TRANSFER_SLICE:
                return self._slice(body, depth)
            if self.slices.in_progress:
                self._reset_slices()
            return self._dispatch(type_, body, depth)
        except PipeProtocolError as exc:
            log.warning("receiver %s: malformed request type %d: %s", self.remote, type_, exc)
            return _status(
                TSStatusCode.PIPE_ERROR, f"Serialization error during pipe receiving, {exc}"
            )

    def _dispatch(self, type_: int, body: bytes, depth: int) -> PipeTransferResponse:
        # IoTDB's ConfigNode sink handshakes with 50 (0 after a 1801): same body, same checks
        if type_ in (_T.HANDSHAKE_DATANODE_V2, _T.HANDSHAKE_CONFIGNODE_V2):
            return self._handshake(HandshakeParams.decode(body), 2)
        if type_ in (_T.HANDSHAKE_DATANODE_V1, _T.HANDSHAKE_CONFIGNODE_V1):
            precision = decode_handshake_v1(body)
            return self._handshake(HandshakeParams(precision, None), 1)
        if type_ == _T.TRANSFER_COMPRESSED:
            if depth >= _MAX_NESTING:
                raise PipeProtocolError("requests nested too deeply", "compressed")
            return self._decompressed(body, depth)
        if type_ == LINEAGE_REQUEST_TYPE:
            if depth >= _MAX_NESTING:
                raise PipeProtocolError("requests nested too deeply", "lineage")
            return self._with_lineage(decode_lineage(body), depth)
        if type_ in _UNSUPPORTED:
            return _status(
                TSStatusCode.PIPE_TYPE_ERROR,
                f"Unknown PipeRequestType {type_}: {_UNSUPPORTED[type_]} "  # type: ignore[index]
                "by this pipecore receiver.",
            )
        handler = _HANDLERS.get(type_)
        if handler is None:
            return _status(TSStatusCode.PIPE_TYPE_ERROR, f"Unknown PipeRequestType {type_}.")
        if self.origin is None:
            return _handshake_needed()
        try:
            if type_ in _APPLYING:
                with self.settings.apply_lock:
                    return handler(self, body)
            return handler(self, body)
        except OSError as exc:
            return _unavailable(exc)

    @staticmethod
    def _allowed_before_handshake(type_: int, body: bytes) -> bool:
        """No slices before the handshake; a compressed request only when it is small enough
        to be a handshake (a few hundred bytes; no sender slices one)."""
        if type_ == _T.TRANSFER_SLICE:
            return False
        if type_ == _T.TRANSFER_COMPRESSED:
            return declared_decompressed_size(body) <= _PRE_AUTH_MAX_DECOMPRESSED
        return True

    def _decompressed(self, body: bytes, depth: int) -> PipeTransferResponse:
        limit = self.settings.max_decompressed_length
        need = declared_decompressed_size(body)
        if need > limit:
            raise PipeProtocolError(
                f"decompressed size {need} exceeds {limit} "
                "(pipe_receiver_req_decompressed_max_length_in_bytes)",
                "compressed",
            )
        if not self.settings.memory.reserve(need):
            return _busy(need)
        try:
            inner = decompress_request(body, limit)
            return self._transfer(inner.version, inner.type, inner.body, depth + 1)
        finally:
            self.settings.memory.release(need)

    def _with_lineage(self, req: LineageRequest, depth: int) -> PipeTransferResponse:
        """A request whose data already passed through `req.lineage`: written with that
        lineage (and the sender), or acknowledged unwritten when this node is in it — the
        data came round a ring or mesh back to a node that has it (docs/source.md)."""
        if self.origin is None:
            return _status(
                TSStatusCode.PIPE_CONFIG_RECEIVER_HANDSHAKE_NEEDED,
                "Handshake needed: send a handshake (type 51 or 1) on this connection first.",
            )
        if self.settings.cluster_id in req.lineage:
            log.debug("receiver %s: type %d came back round: not written", self.remote, req.type)
            return PipeTransferResponse(Status.ok())
        plain = self.origin
        if plain.generated_by_pipe:
            self.origin = Origin.pipe(plain.cluster_id, req.lineage)
        else:  # the sender asked markAsPipeRequest=false: its writes count as a client's
            self.origin = Origin(False, None, req.lineage)
        try:
            return self._transfer(req.version, req.type, req.body, depth + 1)
        finally:
            self.origin = plain

    def _slice(self, body: bytes, depth: int) -> PipeTransferResponse:
        piece = decode_slice(body)
        if not self.slices.in_progress and piece.slice_index == 0:
            need = min(max(piece.origin_body_size, 0), self.slices.max_body_size + 1)
            if not self.settings.memory.reserve(need):
                return _busy(need)
            self._slice_bytes = need
        try:
            whole = self.slices.accept(piece)
        except SliceOutOfOrderError as exc:
            self._reset_slices()
            return _status(TSStatusCode.PIPE_TRANSFER_SLICE_OUT_OF_ORDER, str(exc))
        if whole is None:
            return _status(TSStatusCode.SUCCESS_STATUS, "Slice received, waiting for more slices.")
        try:
            if depth >= _MAX_NESTING:
                raise PipeProtocolError("requests nested too deeply", "slice")
            return self._transfer(whole.version, whole.type, whole.body, depth + 1)
        finally:
            del whole
            self._reset_slices()

    def _reset_slices(self) -> None:
        self.slices.reset()
        if self._slice_bytes:
            self.settings.memory.release(self._slice_bytes)
            self._slice_bytes = 0

    # ------------------------------------------------------------------ handshake
    def _handshake(self, params: HandshakeParams, version: int) -> PipeTransferResponse:
        s = self.settings
        # a new handshake replaces the old identity: one that fails leaves none
        self.origin = None
        self.username = None
        if version == 2:
            if params.cluster_id is None:
                return self._refuse("Handshake request does not contain clusterId.")
            if params.cluster_id == s.cluster_id:
                return self._refuse(
                    f"Receiver and sender are from the same cluster {params.cluster_id}."
                )
            if params.timestamp_precision is None:
                return self._refuse("Handshake request does not contain timestampPrecision.")
        precision = params.timestamp_precision
        try:
            check_precision(precision or "")
        except PipeProtocolError:
            return self._refuse(f"Unknown timestamp precision {precision!r} of the sender.")
        if precision != s.timestamp_precision:
            return self._refuse(
                f"IoTDB receiver's timestamp precision {s.timestamp_precision}, connector's "
                f"timestamp precision {precision}. Validation fails."
            )
        if s.users is not None:
            login = s.users.check(
                params.username or DEFAULT_USER,
                params.password if params.password is not None else DEFAULT_PASSWORD,
                address=self.remote_address[0],
            )
            if not login.is_success:
                log.warning("receiver %s: login failed: %s", self.remote, login)
                status = login if isinstance(login, Status) else Status(login.code, login.message)
                self._count_refusal("login")
                return PipeTransferResponse(status)
            self.username = params.username or DEFAULT_USER
        self._new_folder()
        self.sender_cluster_id = params.cluster_id
        self.origin = Origin.pipe(params.cluster_id) if params.mark_as_pipe_request else CLIENT
        self.convert_on_type_mismatch = params.convert_on_type_mismatch
        self.validate_tsfile = params.validate_tsfile
        self.load_async = params.load_tsfile_strategy == "async"
        if self.connection is not None:
            self.connection.cluster_id = params.cluster_id
        log.info(
            "receiver %s: handshake v%d from %s (cluster %s)",
            self.receiver_id,
            version,
            self.remote,
            params.cluster_id,
        )
        body = encode_receiver_marker() if version == 2 else None
        return PipeTransferResponse(Status.ok(), body)

    def _refuse(self, message: str) -> PipeTransferResponse:
        log.warning(
            "receiver %s: handshake from %s refused: %s", self.receiver_id, self.remote, message
        )
        self._count_refusal(handshake_refusal_reason(message))
        return _status(TSStatusCode.PIPE_HANDSHAKE_ERROR, message)

    def _count_refusal(self, reason: str) -> None:
        if self.settings.registry is not None:
            self.settings.registry.totals.refuse(reason)

    def _new_folder(self) -> None:
        if self.files is not None:
            self.files.close()
        self.receiver_id = self.settings.next_id()
        folder = self.settings.base_dir / str(self.receiver_id)
        if folder.exists():
            shutil.rmtree(folder, ignore_errors=True)
        self.files = FileReceiver(folder, self.settings.fsync, self.air_gap)

    # ------------------------------------------------------------------ data
    def _tablet_raw(self, body: bytes) -> PipeTransferResponse:
        return self._insert([decode_tablet_raw(body)])

    def _insert_node(self, body: bytes) -> PipeTransferResponse:
        return self._insert(insert_node_to_tablets(decode_insert_node(body)))

    def _tablet_raw_v2(self, body: bytes) -> PipeTransferResponse:
        return self._insert([decode_tablet_raw_v2(body)])

    def _insert_node_v2(self, body: bytes) -> PipeTransferResponse:
        return self._insert(insert_node_to_tablets(decode_insert_node_v2(body)))

    def _batch(self, body: bytes, v2: bool = False) -> PipeTransferResponse:
        batch = decode_tablet_batch_v2(body) if v2 else decode_tablet_batch(body)
        if batch.binary_items:
            return _status(
                TSStatusCode.PIPE_TYPE_ERROR,
                f"Unknown PipeRequestType {int(_T.TRANSFER_TABLET_BINARY)}: the batch holds "
                f"{len(batch.binary_items)} WAL-entry items (sent by IoTDB 1.3.0–1.3.6), "
                "which pipecore cannot decode; nothing of the batch was written.",
            )
        tablets: list[Tablet] = []
        for node in batch.insert_nodes:
            tablets.extend(insert_node_to_tablets(node))
        tablets.extend(batch.tablets)
        return self._insert(tablets)

    def _insert(self, tablets: Sequence[Tablet]) -> PipeTransferResponse:
        tablets = [t for t in tablets if t.row_count]
        if not tablets:
            return PipeTransferResponse(Status.ok())
        assert self.origin is not None
        store = self.settings.store
        refused = self._authorize([f"{t.device}.{m.name}" for t in tablets for m in t.schemas])
        if refused is not None:
            return refused
        try:
            store.insert_tablets(tablets, self.origin)
        except SchemaError as exc:
            if not self.convert_on_type_mismatch:
                return _conflict(exc)
            converted = [convert_tablet(store, t) for t in tablets]
            if all(c is t for c, t in zip(converted, tablets, strict=True)):
                return _conflict(exc)
            try:
                store.insert_tablets(converted, self.origin)
            except SchemaError as again:
                return _conflict(again)
            tablets = converted
        except StoreClosedError as exc:
            return _status(TSStatusCode.PIPE_RECEIVER_TEMPORARY_UNAVAILABLE_EXCEPTION, str(exc))
        except (ValueError, TypeError) as exc:
            return _status(TSStatusCode.PIPE_TRANSFER_EXECUTE_STATEMENT_ERROR, str(exc))
        self._record(
            databases=self._databases_of(t.device for t in tablets),
            points=sum(t.point_count() for t in tablets),
        )
        return PipeTransferResponse(Status.ok())

    def _plan_node(self, body: bytes) -> PipeTransferResponse:
        """A DeleteDataNode (type 100): the sender's deletion, applied here with the sender's
        origin (so that a pipe from this node does not send it back unless forwarding); or a
        schema-region node (`protocol.schema_region`)."""
        kind = plan_type(body)
        if kind in REGION_NODE_TYPES:  # IoTDB's schema-region nodes (receiver_region)
            return self._schema_records(decode_region_node(body))
        if kind != DELETE_DATA:
            return _status(
                TSStatusCode.PIPE_TYPE_ERROR,
                f"Unknown PipeRequestType {int(_T.TRANSFER_SCHEMA_PLAN)} with plan node type "
                f"{kind}: this pipecore receiver executes DeleteDataNode (44) and the "
                "schema-region nodes 19, 21, 22, 39, 52, 53, 68, 69 and 72 only.",
            )
        node = decode_delete_node(body)
        assert self.origin is not None
        store = self.settings.store
        try:
            for path in node.patterns:
                store.delete(path, node.start, node.end, origin=self.origin)
        except SchemaError as exc:
            return _status(TSStatusCode.PIPE_TRANSFER_EXECUTE_STATEMENT_ERROR, str(exc))
        except StoreClosedError as exc:
            return _status(TSStatusCode.PIPE_RECEIVER_TEMPORARY_UNAVAILABLE_EXCEPTION, str(exc))
        self._record(databases=self._deleted_databases(node.patterns))
        return PipeTransferResponse(Status.ok())

    def _schema_plan(self, body: bytes) -> PipeTransferResponse:
        """pipecore's schema request (29002): the sender's schema-log records, applied
        idempotently (`receiver_schema`)."""
        return self._schema_records(decode_schema_plan(body).records)

    def _schema_records(self, records: Sequence[dict]) -> PipeTransferResponse:
        refused = (
            authorize_auth(self, records)
            or authorize_templates(self, records)
            or self._authorize_schema(
                [r for r in records if r["op"] not in TEMPLATE_OPS and r["op"] not in AUTH_OPS]
            )
        )
        if refused is not None:
            return refused
        assert self.origin is not None
        s, origin = self.settings, self.origin
        status = apply_with_auth(
            s.store,
            s.users,
            records,
            origin,
            lambda run: apply_region_records(s.store, run, origin, s.templates),
        )
        if not status.is_success:
            log.warning("receiver %s: schema: %s", self.receiver_id, status.message)
        return PipeTransferResponse(status)

    def _deleted_databases(self, paths: Sequence[str]) -> set[str]:
        out: set[str] = set()
        for path in paths:
            try:
                out.update(s.database for s in self.settings.store.list_series(path))
            except (SchemaError, ValueError):
                continue
        return out

    # ------------------------------------------------------------------ files
    def _piece(self, body: bytes, single_file: bool) -> PipeTransferResponse:
        assert self.files is not None
        return self.files.piece(decode_file_piece(body), single_file)

    def _seal_v1(self, body: bytes) -> PipeTransferResponse:
        seal = decode_file_seal_v1(body)
        files = self.files
        assert files is not None
        key = (seal.file_name, seal.file_length)
        resp: PipeTransferResponse | None = None
        try:
            tsfile, mods = self._retried(key) or (files.seal_v1(seal), None)
            resp = self._load(tsfile, mods)
            self._keep_if_unavailable(resp, key, tsfile, mods)
            return resp
        except SealError as exc:
            log.warning("receiver %s: %s", self.receiver_id, exc)
            return PipeTransferResponse(exc.status)
        finally:
            if self._unloaded is None:
                files.discard_current()

    def _seal_v2(self, body: bytes) -> PipeTransferResponse:
        seal = decode_file_seal_v2(body)
        files = self.files
        assert files is not None
        key = (seal.file_names[-1] if seal.file_names else "", sum(seal.file_lengths))
        try:
            tsfile, mods = self._retried(key) or files.seal_v2(seal)
            resp = self._load(tsfile, mods, encodings_hint(seal.params_dict))
            self._keep_if_unavailable(resp, key, tsfile, mods)
            return resp
        except SealError as exc:
            log.warning("receiver %s: %s", self.receiver_id, exc)
            return PipeTransferResponse(exc.status)
        finally:
            if self._unloaded is None:
                files.clear()

    def _retried(self, key: tuple[str, int]) -> tuple[Path, Path | None] | None:
        """The file of an earlier seal with this name and length whose load failed for want
        of space (the sender retries the seal); None for a new seal."""
        unloaded, self._unloaded = self._unloaded, None
        if unloaded is not None and unloaded[0] == key and unloaded[1].exists():
            return unloaded[1], unloaded[2]
        if unloaded is not None:  # another file: the one that waited is given up
            for path in unloaded[1:]:
                if path is not None:
                    path.unlink(missing_ok=True)
        return None

    def _keep_if_unavailable(
        self, resp: PipeTransferResponse, key: tuple[str, int], tsfile: Path, mods: Path | None
    ) -> None:
        if resp.status.code == TSStatusCode.PIPE_RECEIVER_TEMPORARY_UNAVAILABLE_EXCEPTION:
            self._unloaded = (key, tsfile, mods) if tsfile.exists() else None

    def _load(
        self, tsfile: Path, mods: Path | None, encodings: dict[str, str] | None = None
    ) -> PipeTransferResponse:
        store = self.settings.store
        assert self.origin is not None
        loader = self.settings.loader
        if self.load_async and loader is not None:
            try:
                loader.submit(tsfile, mods, self.origin, self.validate_tsfile)
            except OSError as exc:
                return _status(
                    TSStatusCode.PIPE_TRANSFER_FILE_ERROR, f"Failed to queue {tsfile.name}: {exc}"
                )
            self._record(files=1)
            return PipeTransferResponse(Status.ok())
        keep = False
        resent = self.settings.resent
        key = file_key(self.sender_cluster_id, tsfile)
        try:
            with resent.exclusive(key) if key is not None else contextlib.nullcontext():
                refused = self._authorize_file(tsfile)
                if refused is not None:
                    return refused
                if key is not None and resent.merge(key, store, tsfile, mods):
                    log.info("receiver %s: %s sent again: its deletions went to the copy "
                             "loaded before", self.receiver_id, tsfile.name)  # fmt: skip
                    self._record(files=1)
                    return PipeTransferResponse(Status.ok())
                loaded = store.load_tsfile(
                    tsfile, self.origin, verify=self.validate_tsfile, encodings=encodings
                )
                if key is not None:
                    resent.remember(key, loaded)
        except SchemaError as exc:
            if not self.convert_on_type_mismatch:
                return _conflict(exc)
            return self._load_as_tablets(tsfile, exc)
        except (CorruptFileError, UnsupportedFormatError) as exc:
            return _status(TSStatusCode.LOAD_FILE_ERROR, f"Failed to load {tsfile.name}: {exc}")
        except StoreClosedError as exc:
            return _status(TSStatusCode.PIPE_RECEIVER_TEMPORARY_UNAVAILABLE_EXCEPTION, str(exc))
        except OSError as exc:  # a full disk: the file stays for the sender's retried seal
            keep = True
            return _unavailable(exc)
        finally:
            for path in (tsfile, mods):
                if path is not None and not keep:
                    path.unlink(missing_ok=True)
        self._record(
            databases=self._databases_of(loaded.device_times),
            points=int(getattr(loaded, "points", 0) or 0),
            files=1,
        )
        return PipeTransferResponse(Status.ok())

    def _load_as_tablets(self, tsfile: Path, cause: SchemaError) -> PipeTransferResponse:
        """A file whose types conflict with ours: its rows, converted, as tablets."""
        try:
            tablets = read_tsfile_tablets(tsfile)
        except (CorruptFileError, ValueError, OSError) as exc:
            return _status(TSStatusCode.LOAD_FILE_ERROR, f"Failed to load {tsfile.name}: {exc}")
        resp = self._insert(tablets)
        if resp.status.is_success:
            self._record(files=1)
            log.info("receiver %s: %s loaded as tablets (%s)", self.receiver_id, tsfile.name, cause)
        return resp

    # ------------------------------------------------------------------ privileges
    def _authorize(self, series: list[str]) -> PipeTransferResponse | None:
        """IoTDB 1.3.3+: the handshake's user needs WRITE_DATA on what it writes and
        WRITE_SCHEMA on the series the write creates; else 803 NO_PERMISSION."""
        users = self.settings.users
        if users is None or self.username is None or self.username == "root":
            return None
        from pipecore import Authority

        authority = Authority(users)
        refused = authority.check(self.username, "WRITE_DATA", series)
        if refused is None:
            store = self.settings.store
            new = [p for p in dict.fromkeys(series) if store.series(p) is None]
            refused = authority.check(self.username, "WRITE_SCHEMA", new) if new else None
        if refused is None:
            return None
        log.warning(
            "receiver %s: %s may not write: %s", self.receiver_id, self.username, refused.message
        )
        return PipeTransferResponse(refused)

    def _authorize_schema(self, records: Sequence[dict]) -> PipeTransferResponse | None:
        """A schema change needs WRITE_SCHEMA on what it changes (a database: on its
        ``.**``); else 803 NO_PERMISSION."""
        users = self.settings.users
        if users is None or self.username is None or self.username == "root":
            return None
        from pipecore import Authority

        paths = [f"{r['name']}.**" if "name" in r else record_series(r) for r in records]
        refused = Authority(users).check(self.username, "WRITE_SCHEMA", paths)
        if refused is None:
            return None
        log.warning(
            "receiver %s: %s may not change the schema: %s",
            self.receiver_id,
            self.username,
            refused.message,
        )
        return PipeTransferResponse(refused)

    def _authorize_file(self, tsfile: Path) -> PipeTransferResponse | None:
        if self.settings.users is None or self.username in (None, "root"):
            return None
        from pipecore import tsfile_series

        try:
            series = tsfile_series(tsfile)
        except Exception:
            return None  # an unreadable file is refused by the load itself
        return self._authorize(series)

    # ------------------------------------------------------------------ bookkeeping
    def _databases_of(self, devices: Any) -> set[str]:
        out = set()
        for device in devices:
            if device not in self._databases:
                self._databases[device] = _database_of(self.settings.store, device)
            db = self._databases[device]
            if db is not None:
                out.add(db)
        return out

    def _record(
        self,
        *,
        databases: set[str] | frozenset[str] = frozenset(),
        points: int = 0,
        files: int = 0,
        error: str | None = None,
    ) -> None:
        registry, conn = self.settings.registry, self.connection
        if registry is not None and conn is not None:
            registry.update(conn, databases=databases, points=points, files=files, error=error)

    def close(self) -> None:
        self._reset_slices()
        if self.files is not None:
            self.files.close()
            self.files = None
        if self.settings.registry is not None and self.connection is not None:
            self.settings.registry.close(self.connection)
            self.connection = None


_IOTDB_WORDS = {"Datanode": "DataNode", "Confignode": "ConfigNode"}


def request_type_label(value: int) -> str:
    """IoTDB's name of a request type in its receiver metrics (``transferTabletRaw``,
    ``handshakeDataNodeV2``, ...); ``unknown`` for a value IoTDB does not define."""
    try:
        name = _T(value).name
    except ValueError:
        return "unknown"
    words = [w.capitalize() for w in name.split("_")]
    words = [_IOTDB_WORDS.get(w, w) for w in words]
    return words[0].lower() + "".join(words[1:])


def _handshake_needed() -> PipeTransferResponse:
    return _status(
        TSStatusCode.PIPE_CONFIG_RECEIVER_HANDSHAKE_NEEDED,
        "Handshake needed: send a handshake (type 51 or 1) on this connection first.",
    )


def _busy(need: int) -> PipeTransferResponse:
    return _status(
        TSStatusCode.PIPE_RECEIVER_TEMPORARY_UNAVAILABLE_EXCEPTION,
        f"Temporarily unavailable: the receiver cannot buffer {need} more bytes now "
        "(pipe_receiver_memory_budget_in_bytes); retry later.",
    )


def _unavailable(exc: OSError) -> PipeTransferResponse:
    """A write that failed on the receiver's side (a full disk, an I/O error): the sender
    retries it (1808, IoTDB's answer for a receiver that cannot take data for now). The
    message names the error, never a path of the server."""
    log.warning("receiver: a write failed (%s); the sender will retry", exc.strerror or exc)
    reason = exc.strerror or type(exc).__name__
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        reason = f"the receiver's disk is full ({reason})"
    return _status(
        TSStatusCode.PIPE_RECEIVER_TEMPORARY_UNAVAILABLE_EXCEPTION,
        f"Temporarily unavailable: {reason}; nothing of the request was written, retry later.",
    )


def _conflict(exc: Exception) -> PipeTransferResponse:
    return _status(TSStatusCode.PIPE_RECEIVER_USER_CONFLICT_EXCEPTION, str(exc))


def _database_of(store: Any, device: str) -> str | None:
    try:
        found = store.list_series(f"{device}.*")
    except (SchemaError, ValueError):
        return None
    return found[0].database if found else None


_APPLYING = frozenset(
    {
        _T.TRANSFER_TABLET_RAW,
        _T.TRANSFER_TABLET_INSERT_NODE,
        _T.TRANSFER_TABLET_BATCH,
        _T.TRANSFER_TABLET_RAW_V2,
        _T.TRANSFER_TABLET_INSERT_NODE_V2,
        _T.TRANSFER_TABLET_BATCH_V2,
        _T.TRANSFER_SCHEMA_PLAN,
        SCHEMA_REQUEST_TYPE,
        _T.TRANSFER_SCHEMA_SNAPSHOT_SEAL,
        _T.TRANSFER_CONFIG_PLAN,
        _T.TRANSFER_CONFIG_SNAPSHOT_SEAL,
    }
)
_HANDLERS: dict[int, Any] = {
    _T.TRANSFER_TABLET_RAW: IoTDBDataNodeReceiver._tablet_raw,
    _T.TRANSFER_TABLET_INSERT_NODE: IoTDBDataNodeReceiver._insert_node,
    _T.TRANSFER_TABLET_BATCH: IoTDBDataNodeReceiver._batch,
    _T.TRANSFER_TABLET_RAW_V2: IoTDBDataNodeReceiver._tablet_raw_v2,
    _T.TRANSFER_TABLET_INSERT_NODE_V2: IoTDBDataNodeReceiver._insert_node_v2,
    _T.TRANSFER_TABLET_BATCH_V2: lambda r, b: r._batch(b, v2=True),
    _T.TRANSFER_TS_FILE_PIECE: lambda r, b: r._piece(b, True),
    _T.TRANSFER_TS_FILE_PIECE_WITH_MOD: lambda r, b: r._piece(b, False),
    _T.TRANSFER_TS_FILE_SEAL: IoTDBDataNodeReceiver._seal_v1,
    _T.TRANSFER_TS_FILE_SEAL_WITH_MOD: IoTDBDataNodeReceiver._seal_v2,
    _T.TRANSFER_SCHEMA_PLAN: IoTDBDataNodeReceiver._plan_node,  # realtime deletions
    # IoTDB's ConfigNode plans and config snapshot (receiver_config.py)
    _T.TRANSFER_CONFIG_PLAN: config_plan_request,
    _T.TRANSFER_CONFIG_SNAPSHOT_PIECE: lambda r, b: r._piece(b, False),
    _T.TRANSFER_CONFIG_SNAPSHOT_SEAL: config_snapshot_seal,
    DIGEST_REQUEST_TYPE: answer_digests,  # pipecore's VERIFY PIPE (verify.py)
    SCHEMA_REQUEST_TYPE: IoTDBDataNodeReceiver._schema_plan,  # pipecore's schema transfer
    # IoTDB's schema-region snapshot (receiver_region)
    _T.TRANSFER_SCHEMA_SNAPSHOT_PIECE: lambda r, b: r._piece(b, False),
    _T.TRANSFER_SCHEMA_SNAPSHOT_SEAL: lambda r, b: seal_schema_snapshot(
        r.files, b, r.settings.store, r.origin, r.receiver_id
    ),
}
