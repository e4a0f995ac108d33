"""Node configuration: IoTDB's key names, loaded from TOML, overridable by ``PIPECORE_*``.

Keys are flat, as in IoTDB's ``iotdb-common.properties`` (``dn_rpc_port = 6667``). Each key
belongs to a *section* — an attrs class whose fields are the keys with their types, defaults
and validators. The core declares `NodeSection`, `PipeSection` and `SyncSection`; other parts
declare their own section without touching these:

* with the decorator ``@config_section("store")`` on an attrs class (imported before the
  config is loaded — e.g. in a module the core imports), or
* from a plugin package, through the ``register_config_sections(register)`` hook.

Values are read, lowest precedence first, from: the defaults, the TOML file (top-level keys,
or tables named after a section), ``PIPECORE_<KEY>`` environment variables (e.g.
``PIPECORE_DN_RPC_PORT=6668``) and explicit overrides (command-line flags). An unknown key, a
value of the wrong type or out of range is a `ConfigError` naming the key and where it came
from. ``config.dn_rpc_port`` reads any key; ``config.section(PipeSection)`` a whole section.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import attrs

from .errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = [
    "Config",
    "NodeSection",
    "PipeSection",
    "SyncSection",
    "config_section",
    "registered_sections",
]

ENV_PREFIX = "PIPECORE_"
S = TypeVar("S")
_SECTIONS: dict[str, type] = {}


def config_section(name: str) -> Callable[[type[S]], type[S]]:
    """Class decorator: declare an attrs class as configuration section `name`."""

    def register(cls: type[S]) -> type[S]:
        is_attrs_class = attrs.has(cls)
        if not is_attrs_class:
            raise TypeError(f"config section {name}: {cls!r} is not an attrs class")
        setattr(cls, "__config_section__", name)  # noqa: B010 - a dunder mypy does not know
        _SECTIONS[name] = cls
        return cls

    return register


def registered_sections() -> dict[str, type]:
    return dict(_SECTIONS)


# -------------------------------------------------------------------------- validators
def _positive(inst: object, attribute: attrs.Attribute, value: float) -> None:
    if value <= 0:
        raise ValueError(f"{attribute.name} must be positive, got {value}")


def _port(inst: object, attribute: attrs.Attribute, value: int) -> None:
    if not 0 <= value <= 65535:
        raise ValueError(f"{attribute.name} must be a port number 0..65535, got {value}")


def _one_of(*choices: str) -> Callable[[object, attrs.Attribute, str], None]:
    def check(inst: object, attribute: attrs.Attribute, value: str) -> None:
        if value not in choices:
            raise ValueError(f"{attribute.name} must be one of {list(choices)}, got {value!r}")

    return check


def _doc(text: str, aliases: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"doc": text, "aliases": aliases}


# -------------------------------------------------------------------------- core sections
@config_section("node")
@attrs.frozen
class NodeSection:
    dn_rpc_address: str = attrs.field(
        default="127.0.0.1", metadata=_doc("address the RPC server binds (IoTDB: 0.0.0.0)")
    )
    dn_rpc_port: int = attrs.field(default=6667, validator=_port, metadata=_doc("RPC port"))
    timestamp_precision: str = attrs.field(
        default="ms", validator=_one_of("ms", "us", "ns"), metadata=_doc("ms, us or ns")
    )
    enable_thrift_ssl: bool = attrs.field(default=False, metadata=_doc("serve RPC over TLS"))
    key_store_path: str = attrs.field(
        default="", metadata=_doc("the server's certificate + key: PKCS#12, or one PEM file")
    )
    key_store_pwd: str = attrs.field(default="", metadata=_doc("password of the key store"))
    enable_thrift_ssl_client_auth: bool = attrs.field(
        default=False,
        metadata=_doc("require a client certificate chaining to trust_store_path (mutual TLS)"),
    )
    trust_store_path: str = attrs.field(
        default="", metadata=_doc("CAs of accepted client certificates: PEM, PKCS#12 or a folder")
    )
    trust_store_pwd: str = attrs.field(default="", metadata=_doc("password of the trust store"))
    rpc_max_concurrent_client_num: int = attrs.field(
        default=1000, validator=_positive, metadata=_doc("RPC connections served at once")
    )
    dn_thrift_max_frame_size: int = attrs.field(
        default=536_870_912, validator=_positive, metadata=_doc("largest RPC frame (bytes)")
    )
    dn_connection_timeout_ms: int = attrs.field(
        default=60_000,
        validator=_positive,
        metadata=_doc("a new RPC connection must send its first request within this time"),
    )
    trusted_uri_pattern: str = attrs.field(
        default="file:.*",
        metadata=_doc(
            "regular expression a CREATE PIPEPLUGIN URI must match (IoTDB's default: local "
            "files given as file: URIs); files under the data directory or the receivers' "
            "folders are refused whatever it says"
        ),
    )
    allow_default_password_on_network: bool = attrs.field(
        default=False,
        metadata=_doc("serve on a non-loopback address while root still has the password root"),
    )
    load_tsfile_allowed_dirs: str = attrs.field(
        default="",
        metadata=_doc(
            "comma-separated directories LOAD may read TsFiles from (empty: any directory but "
            "the node's data directory and receiver folders)"
        ),
    )
    load_tsfile_source_path_check_enabled: bool = attrs.field(
        default=True,
        metadata=_doc("confine LOAD to load_tsfile_allowed_dirs (when that is set)"),
    )
    iotdb_password_digest: bool = attrs.field(
        default=True,
        metadata=_doc(
            "keep IoTDB's form of each password set (unsalted MD5, as IoTDB stores it) next to "
            "the PBKDF2 hash, so users sent to a real IoTDB (inclusion auth) log in there; off: "
            "the forms kept are forgotten at start"
        ),
    )
    login_lock_threshold: int = attrs.field(
        default=5,
        validator=_positive,
        metadata=_doc("consecutive failed logins from one address before it is locked out"),
    )
    login_lock_seconds: float = attrs.field(
        default=1.0,
        metadata=_doc(
            "first lockout of an address (seconds); doubled at each further failure, to 64x"
        ),
    )


@config_section("pipe")
@attrs.frozen
class PipeSection:
    pipe_lib_dir: str = attrs.field(
        default="ext/pipe", metadata=_doc("external plugins; relative to the data directory")
    )
    pipe_subtask_executor_max_thread_num: int = attrs.field(
        default=5,
        validator=_positive,
        metadata=_doc("worker threads; the pool has min(this, max(1, cores / 2))"),
    )
    pipe_sink_timeout_ms: int = attrs.field(
        default=900_000,
        validator=_positive,
        metadata=_doc("a transfer running longer stops its pipe", ("pipe_connector_timeout_ms",)),
    )
    pipe_subtask_executor_cron_heartbeat_event_interval_seconds: float = attrs.field(
        default=20.0, validator=_positive, metadata=_doc("heartbeat events into every pipe")
    )
    pipe_heartbeat_interval_seconds_for_collecting_pipe_meta: float = attrs.field(
        default=3.0, validator=_positive, metadata=_doc("how often committed progress is saved")
    )
    pipe_auto_restart_enabled: bool = attrs.field(
        default=True, metadata=_doc("restart pipes stopped by a runtime error")
    )
    pipe_meta_syncer_initial_sync_delay_minutes: float = attrs.field(
        default=3.0, validator=attrs.validators.ge(0), metadata=_doc("first restart round")
    )
    pipe_meta_syncer_sync_interval_minutes: float = attrs.field(
        default=3.0, validator=_positive, metadata=_doc("restart back-off after an error")
    )
    pipe_sink_retry_interval_ms: int = attrs.field(
        default=800, validator=_positive, metadata=_doc("back-off unit after a connection error")
    )
    pipe_sink_retry_locally_for_connection_error: bool = attrs.field(
        default=True, metadata=_doc("retry connection errors forever instead of stopping")
    )
    pipe_sink_pending_queue_max_events: int = attrs.field(
        default=1024, validator=_positive, metadata=_doc("queue bound between processor and sink")
    )
    pipe_sink_pending_queue_max_bytes: int = attrs.field(
        default=64 * 1024 * 1024, validator=_positive, metadata=_doc("queue bound in bytes")
    )
    pipe_auto_split_full_enabled: bool = attrs.field(
        default=False,
        metadata=_doc(
            "CREATE PIPE of a pipe taking inserted data both historical and realtime makes two "
            "pipes, <name>_history and <name>_realtime (IoTDB after 2.0.1, where it is on by "
            "default; 2.0.1 has no such split)"
        ),
    )

    @property
    def subtask_thread_count(self) -> int:
        """The pool size actually used: min(configured, max(1, cores / 2)), as IoTDB does."""
        return min(self.pipe_subtask_executor_max_thread_num, max(1, (os.cpu_count() or 1) // 2))


@config_section("sync")
@attrs.frozen
class SyncSection:
    ip_white_list: str = attrs.field(
        default="127.0.0.1/32,::1/128",
        metadata=_doc("senders a receiver accepts (CIDRs, comma-separated)"),
    )
    max_number_of_sync_file_retry: int = attrs.field(
        default=5, validator=attrs.validators.ge(0), metadata=_doc("legacy sync file retries")
    )
    pipe_air_gap_receiver_enabled: bool = attrs.field(
        default=False, metadata=_doc("run the air-gap receiver")
    )
    pipe_air_gap_receiver_port: int = attrs.field(
        default=9780, validator=_port, metadata=_doc("air-gap receiver port")
    )


# -------------------------------------------------------------------------- conversion
def _field_types(cls: type) -> dict[str, type]:
    attrs.resolve_types(cls)
    return {f.name: f.type for f in attrs.fields(cls)}


def _convert(key: str, kind: type, value: object, source: str) -> object:
    if isinstance(value, str) and kind is not str:
        text = value.strip()
        try:
            if kind is bool:
                if text.lower() not in ("true", "false"):
                    raise ValueError(text)
                return text.lower() == "true"
            return kind(text)
        except ValueError:
            raise ConfigError(
                f"{key}: expected {_type_name(kind)}, got {value!r}", key, source
            ) from None
    if kind is bool:
        ok = isinstance(value, bool)
    elif kind is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, kind)
    if not ok:
        raise ConfigError(f"{key}: expected {_type_name(kind)}, got {value!r}", key, source)
    return float(value) if kind is float else value  # type: ignore[arg-type]


def _type_name(kind: type) -> str:
    return {bool: "true or false", int: "an integer", float: "a number", str: "a string"}.get(
        kind, kind.__name__
    )


@attrs.frozen
class Config:
    """The node configuration: one instance per section, plus where each set key came from."""

    sections: Mapping[str, Any]
    origins: Mapping[str, str] = attrs.field(factory=dict)

    # ------------------------------------------------------------------ access
    def __getattr__(self, key: str) -> Any:
        if key.startswith("_") or key in ("sections", "origins"):
            raise AttributeError(key)
        for section in self.sections.values():
            if any(f.name == key for f in attrs.fields(type(section))):
                return getattr(section, key)
        raise AttributeError(f"no configuration key {key!r}")

    def __getitem__(self, key: str) -> Any:
        try:
            return self.__getattr__(key)
        except AttributeError:
            raise KeyError(key) from None

    def section(self, cls: type[S]) -> S:
        """The instance of section class `cls`."""
        value = self.sections[cls.__config_section__]  # type: ignore[attr-defined]
        assert isinstance(value, cls)
        return value

    @property
    def node(self) -> NodeSection:
        return self.section(NodeSection)

    @property
    def pipe(self) -> PipeSection:
        return self.section(PipeSection)

    @property
    def sync(self) -> SyncSection:
        return self.section(SyncSection)

    def as_dict(self) -> dict[str, Any]:
        return {k: v for s in self.sections.values() for k, v in attrs.asdict(s).items()}

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str] | None = None,
        *,
        env: Mapping[str, str] | None = None,
        overrides: Mapping[str, Any] | None = None,
        sections: Iterable[type] = (),
    ) -> Config:
        """Defaults ← TOML file `path` ← ``PIPECORE_*`` variables of `env` (default:
        ``os.environ``) ← `overrides`. `sections` adds section classes to the registered ones."""
        all_sections = {**_SECTIONS}
        for extra in sections:
            name = getattr(extra, "__config_section__", None) or extra.__name__
            all_sections[name] = extra
        owners = _key_owners(all_sections)
        values: dict[str, dict[str, Any]] = {name: {} for name in all_sections}
        origins: dict[str, str] = {}

        def put(key: str, value: object, source: str) -> None:
            owner = owners.get(key)
            if owner is None:
                raise ConfigError(f"unknown configuration key {key!r}", key, source)
            section, field_name, kind = owner
            values[section][field_name] = _convert(key, kind, value, source)
            origins[field_name] = source

        if path is not None:
            for key, value in _read_toml(Path(path), all_sections).items():
                put(key, value, str(path))
        environ = os.environ if env is None else env
        for key in owners:
            var = ENV_PREFIX + key.upper()
            if var in environ:
                put(key, environ[var], f"environment variable {var}")
        for key, value in (overrides or {}).items():
            put(key, value, "argument")
        built = {}
        for name, section_cls in all_sections.items():
            try:
                built[name] = section_cls(**values[name])
            except (ValueError, TypeError) as exc:
                failing = _failing_key(exc, values[name])
                where = origins.get(failing or "", "default")
                raise ConfigError(str(exc), failing, where) from exc
        return cls(built, origins)

    def replace(self, **overrides: Any) -> Config:
        """A copy with some keys changed (validated like `load`)."""
        merged = {**self.as_dict(), **overrides}
        return Config.load(
            env={}, overrides=merged, sections=[type(s) for s in self.sections.values()]
        )


def _key_owners(sections: Mapping[str, type]) -> dict[str, tuple[str, str, type]]:
    owners: dict[str, tuple[str, str, type]] = {}
    for name, section_cls in sections.items():
        types = _field_types(section_cls)
        for f in attrs.fields(section_cls):
            for key in (f.name, *f.metadata.get("aliases", ())):
                if key in owners and owners[key][0] != name:
                    raise ConfigError(
                        f"configuration key {key!r} is declared by sections "
                        f"{owners[key][0]} and {name}",
                        key,
                    )
                owners[key] = (name, f.name, types[f.name])
    return owners


def _read_toml(path: Path, sections: Mapping[str, type]) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"configuration file {path} does not exist", None, str(path)) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"configuration file is not valid TOML: {exc}", None, str(path)) from exc
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            if key not in sections:
                raise ConfigError(f"unknown configuration section [{key}]", key, str(path))
            flat.update(value)
        else:
            flat[key] = value
    return flat


def _failing_key(exc: Exception, given: Mapping[str, Any]) -> str | None:
    text = str(exc)
    for key in given:
        if key in text:
            return key
    return next(iter(given), None)
