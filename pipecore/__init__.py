"""pipecore: data-sync pipes for time series in the model of Apache IoTDB.

The public surface: `Node` (an embedded node), the plugin API (`hookimpl`, `Extractor`,
`Processor`, `Connector`, the events, `PipeParameters`, `PipeParameterValidator`,
`RuntimeConfiguration`), what node plugins see of a node (`ReceiverContext`, `RpcServices`,
`ServingNode`, `UserCheck`, `NodeShared`), `Config`, the errors and the helpers our own
plugins use (`reduce_key`, `parse_time_value`, `PathPattern`). See docs/plugin-authoring.md,
docs/hooks.md and docs/architecture.md.

This module is the kernel's face: importing it loads the kernel only. `Node` belongs to the
server ring (`pipecore.server`) and is resolved on first use.
"""

from typing import TYPE_CHECKING, Any

from pipecore_storage.errors import CorruptFileError, PipecoreError
from pipecore_storage.origin import CLIENT, Origin
from pipecore_storage.tablet import MeasurementSchema, Tablet
from pipecore_storage.types import TSDataType

from .auth_records import (
    AUTH_FIELDS,
    AUTH_OPS,
    AUTH_PARTS,
    USERS_KEY,
    PublishingAuthority,
    apply_auth_record,
    auth_part,
    auth_snapshot,
)
from .backlog import BacklogGuard, Replacement, parse_backlog
from .config import Config, config_section
from .digest import DigestRequest, PipeScope, WindowDigests, series_in_scope, store_digests
from .errors import (
    ConfigError,
    PipeAlreadyExistsError,
    PipeAttributeNotProvidedError,
    PipeConnectionError,
    PipeDroppedError,
    PipeError,
    PipeNotFoundError,
    PipeParameterNotValidError,
    PipeRuntimeError,
    PipeSinkTimeoutError,
    PluginConflictError,
    PluginHookError,
    PluginInUseError,
    PluginLoadError,
    PluginNotFoundError,
)
from .events import (
    DeletionEvent,
    Event,
    EventCollector,
    HeartbeatEvent,
    PathPattern,
    SchemaEvent,
    TabletInsertionEvent,
    TsFileInsertionEvent,
)
from .hookspecs import hookimpl, hookspec
from .host import (
    LEGACY_SYNC_TRANSPORT,
    ConnectionLog,
    LoginStatus,
    NodeShared,
    ReceiverContext,
    RpcServices,
    ServingNode,
    UserCheck,
)
from .metrics import PipeMetrics, PipeStats
from .observability import SourceBacklog, handshake_refusal_reason
from .outage import OutageReport
from .parameters import PipeParameters, PipeParameterValidator, reduce_key
from .pipe_catalog import PipeExceptionRecord, PipeStatus
from .pipes import PipeInfo
from .plugin import (
    Connector,
    Extractor,
    PipeRuntimeFacts,
    Processor,
    RuntimeConfiguration,
    StageContext,
)
from .privileges import Authority, AuthorityError, tsfile_series
from .registry import PluginEntry, PluginLoadFailure
from .schema_templates import SHARED_KEY as SCHEMA_TEMPLATES_KEY
from .schema_templates import TemplateError, TemplateMeasurement
from .source_user import SKIPIF_KEYS, SourceReader, source_credentials
from .timeparse import parse_time_value
from .ttl import TTLTable, ttl_table

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """`Node` is the server ring's: resolved on first use, so that ``from pipecore import
    hookimpl`` loads the kernel only (no SQL grammar, no RPC server)."""
    if name == "Node":
        from .server.node import Node

        return Node
    if name == "LoopThread":  # asyncio is loaded only by the plugins that run a loop
        from .loopthread import LoopThread

        return LoopThread
    raise AttributeError(f"module 'pipecore' has no attribute {name!r}")


if TYPE_CHECKING:
    from .loopthread import LoopThread
    from .server.node import Node

__all__ = [
    "AUTH_FIELDS",
    "AUTH_OPS",
    "AUTH_PARTS",
    "CLIENT",
    "LEGACY_SYNC_TRANSPORT",
    "SCHEMA_TEMPLATES_KEY",
    "SKIPIF_KEYS",
    "USERS_KEY",
    "Authority",
    "AuthorityError",
    "BacklogGuard",
    "Config",
    "ConfigError",
    "ConnectionLog",
    "Connector",
    "CorruptFileError",
    "DeletionEvent",
    "DigestRequest",
    "Event",
    "EventCollector",
    "Extractor",
    "HeartbeatEvent",
    "LoginStatus",
    "LoopThread",
    "MeasurementSchema",
    "Node",
    "NodeShared",
    "Origin",
    "OutageReport",
    "PathPattern",
    "PipeAlreadyExistsError",
    "PipeAttributeNotProvidedError",
    "PipeConnectionError",
    "PipeDroppedError",
    "PipeError",
    "PipeExceptionRecord",
    "PipeInfo",
    "PipeMetrics",
    "PipeNotFoundError",
    "PipeParameterNotValidError",
    "PipeParameterValidator",
    "PipeParameters",
    "PipeRuntimeError",
    "PipeRuntimeFacts",
    "PipeScope",
    "PipeSinkTimeoutError",
    "PipeStats",
    "PipeStatus",
    "PipecoreError",
    "PluginConflictError",
    "PluginEntry",
    "PluginHookError",
    "PluginInUseError",
    "PluginLoadError",
    "PluginLoadFailure",
    "PluginNotFoundError",
    "Processor",
    "PublishingAuthority",
    "ReceiverContext",
    "Replacement",
    "RpcServices",
    "RuntimeConfiguration",
    "SchemaEvent",
    "ServingNode",
    "SourceBacklog",
    "SourceReader",
    "StageContext",
    "TSDataType",
    "TTLTable",
    "Tablet",
    "TabletInsertionEvent",
    "TemplateError",
    "TemplateMeasurement",
    "TsFileInsertionEvent",
    "UserCheck",
    "WindowDigests",
    "__version__",
    "apply_auth_record",
    "auth_part",
    "auth_snapshot",
    "config_section",
    "handshake_refusal_reason",
    "hookimpl",
    "hookspec",
    "parse_backlog",
    "parse_time_value",
    "reduce_key",
    "series_in_scope",
    "source_credentials",
    "store_digests",
    "tsfile_series",
    "ttl_table",
]
