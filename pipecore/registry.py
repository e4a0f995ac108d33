"""The pipe plugin registry: which source / processor / sink plugins a node knows.

Plugins come from three places, each recorded as the entry's `origin`:

* ``builtin`` — entry points of the ``pipecore`` distribution itself (``pipecore.builtin`` and
  the four plugin packages), declared in its ``[project.entry-points.pipecore]`` table exactly
  as a third party declares theirs;
* ``installed`` — entry points (group ``pipecore``) of other installed distributions;
* ``external`` — CREATE PIPEPLUGIN … USING URI (a wheel, a ``.py`` file or a package
  directory), copied into ``pipe_lib_dir`` (see `pipecore.external`).

Entry points are loaded lazily — on the first lookup or listing — and once. Switches:
``PIPECORE_DISABLE_PLUGIN_AUTOLOAD`` (any non-empty value) loads only the built-ins;
``PIPECORE_LOAD_PLUGINS`` (comma-separated distribution or entry-point names) loads only the
listed third-party plugins (empty: none). A plugin that fails to import or register is recorded
in `failures` (SHOW PIPEPLUGINS shows it) and the node carries on.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable, Mapping
from importlib import metadata
from typing import Any

import attrs
import pluggy

from . import hookspecs
from .errors import PluginConflictError, PluginHookError, PluginNotFoundError
from .stage import check_plugin_class

__all__ = [
    "KINDS",
    "PluginEntry",
    "PluginLoadFailure",
    "PluginRegistry",
    "make_plugin_manager",
    "normalize_kind",
]

log = logging.getLogger(__name__)

KINDS = ("source", "processor", "sink")
_KIND_NAMES = {
    "source": "source",
    "extractor": "source",
    "processor": "processor",
    "sink": "sink",
    "connector": "sink",
}
_PAIRED_SUFFIXES = {"source": ("-source", "-extractor"), "sink": ("-sink", "-connector")}
BUILTIN_DISTRIBUTION = "pipecore"
ENV_LOAD_PLUGINS = "PIPECORE_LOAD_PLUGINS"
ENV_DISABLE_AUTOLOAD = "PIPECORE_DISABLE_PLUGIN_AUTOLOAD"


def normalize_kind(kind: str) -> str:
    try:
        return _KIND_NAMES[str(kind).strip().lower()]
    except KeyError:
        raise ValueError(
            f"unknown plugin kind {kind!r}: expected source, processor or sink"
        ) from None


@attrs.frozen
class PluginEntry:
    """One registered plugin, as SHOW PIPEPLUGINS describes it.

    * `name` — upper-case; `aliases` — further upper-case names (hidden in listings).
    * `origin` — ``builtin`` / ``installed`` / ``external``; `distribution`, `version` — the
      providing distribution (entry points); `file` — the copy in ``pipe_lib_dir`` and `uri`
      where it came from (external plugins).
    """

    name: str
    kind: str
    cls: type
    aliases: tuple[str, ...] = ()
    origin: str = "builtin"
    distribution: str | None = None
    version: str | None = None
    file: str | None = None
    uri: str | None = None

    @property
    def class_name(self) -> str:
        return f"{self.cls.__module__}.{self.cls.__qualname__}"

    @property
    def plugin_type(self) -> str:
        """SHOW PIPEPLUGINS' PluginType: ``Builtin`` or ``External``."""
        return "Builtin" if self.origin == "builtin" else "External"

    @property
    def plugin_jar(self) -> str:
        """SHOW PIPEPLUGINS' PluginJar: empty for built-ins, ``dist==version`` for installed
        distributions, the file for CREATE PIPEPLUGIN ones."""
        if self.origin == "builtin":
            return ""
        if self.origin == "installed":
            return f"{self.distribution}=={self.version}"
        return self.file or ""


@attrs.frozen
class PluginLoadFailure:
    """A plugin that could not be loaded: `source` names the entry point (``name = value``)
    or the external plugin, `error` says why."""

    source: str
    error: str
    origin: str = "installed"
    distribution: str | None = None
    version: str | None = None
    name: str | None = None


@attrs.frozen
class _Provenance:
    origin: str
    distribution: str | None = None
    version: str | None = None
    file: str | None = None
    uri: str | None = None


def make_plugin_manager() -> pluggy.PluginManager:
    """A node-level plugin manager with pipecore's hook specs and no plugins yet."""
    pm = pluggy.PluginManager("pipecore")
    pm.add_hookspecs(hookspecs)
    return pm


def _allow_list(env: Mapping[str, str]) -> set[str] | None:
    if ENV_LOAD_PLUGINS not in env:
        return None
    return {n.strip().lower() for n in env[ENV_LOAD_PLUGINS].split(",") if n.strip()}


def _entry_points() -> list[metadata.EntryPoint]:
    eps = list(metadata.entry_points(group="pipecore"))

    def order(ep: metadata.EntryPoint) -> tuple[bool, str, str]:
        dist = ep.dist.name if ep.dist is not None else ""
        return (_normalize(dist) != BUILTIN_DISTRIBUTION, _normalize(dist), ep.name)

    return sorted(eps, key=order)


def _normalize(dist_name: str) -> str:
    return dist_name.lower().replace("_", "-").replace(".", "-")


class PluginRegistry:
    """Names → `PluginEntry`, filled from the node plugin manager's `register_pipe_plugins`
    hook (entry points, in-process plugins) and from external plugins."""

    def __init__(
        self,
        pm: pluggy.PluginManager | None = None,
        env: Mapping[str, str] | None = None,
        load_entry_points: bool = True,
    ) -> None:
        self.pm = pm if pm is not None else make_plugin_manager()
        self._env = dict(os.environ if env is None else env)
        self._load_entry_points = load_entry_points
        self._lock = threading.RLock()
        self._loaded = False
        self._entries: dict[str, PluginEntry] = {}  # canonical name -> entry
        self._names: dict[str, str] = {}  # every name and alias -> canonical name
        self._provenance: dict[str, _Provenance] = {}  # pm plugin name -> provenance
        self.failures: list[PluginLoadFailure] = []

    # ------------------------------------------------------------------ loading
    def add_plugin(self, plugin: object, name: str | None = None) -> None:
        """Register an in-process plugin object (module or instance with ``@hookimpl``s) on the
        node plugin manager before the registry loads; its plugins count as ``installed``."""
        try:
            registered = self.pm.register(plugin, name)
            self.pm.check_pending()
        except pluggy.PluginValidationError as exc:
            if self.pm.is_registered(plugin):
                self.pm.unregister(plugin)
            raise PluginHookError(
                f"node plugin {plugin!r}: {exc}", self.pm.get_canonical_name(plugin)
            ) from exc
        if registered is not None:
            self._provenance[registered] = _Provenance("installed", distribution="<in-process>")

    def load(self) -> None:
        """Load entry points and call `register_pipe_plugins` — once; later calls do nothing."""
        with self._lock:
            if self._loaded:
                return
            self._loaded = True
            if self._load_entry_points:
                self._load_entry_point_modules()
            for impl in self.pm.hook.register_pipe_plugins.get_hookimpls():
                self._call_register_hook(impl)

    def _load_entry_point_modules(self) -> None:
        autoload = not self._env.get(ENV_DISABLE_AUTOLOAD)
        allowed = _allow_list(self._env)
        for ep in _entry_points():
            dist = ep.dist
            dist_name = dist.name if dist is not None else "<unknown>"
            version = dist.version if dist is not None else None
            builtin = _normalize(dist_name) == BUILTIN_DISTRIBUTION
            if not builtin and (
                not autoload
                or (allowed is not None and not {_normalize(dist_name), ep.name.lower()} & allowed)
            ):
                continue
            origin = "builtin" if builtin else "installed"
            source = f"{ep.name} = {ep.value}"
            plugin_name = f"entrypoint:{dist_name}:{ep.name}"
            try:
                module = ep.load()
                if self.pm.is_registered(module):
                    continue
                self.pm.register(module, plugin_name)
                self.pm.check_pending()
            except Exception as exc:  # a broken plugin must not stop the node
                if self.pm.has_plugin(plugin_name):
                    self.pm.unregister(name=plugin_name)
                log.warning("pipe plugin entry point %s (%s) failed: %s", source, dist_name, exc)
                self.failures.append(
                    PluginLoadFailure(
                        source, f"{type(exc).__name__}: {exc}", origin, dist_name, version
                    )
                )
                continue
            self._provenance[plugin_name] = _Provenance(origin, dist_name, version)

    def _call_register_hook(self, impl: Any) -> None:
        prov = self._provenance.get(impl.plugin_name) or _Provenance("installed", "<in-process>")

        def register(kind: str, name: str, cls: type, aliases: Iterable[str] = ()) -> None:
            self.add(kind, name, cls, aliases, prov)

        try:
            impl.function(register=register)
        except Exception as exc:
            log.warning("register_pipe_plugins of %s failed: %s", impl.plugin_name, exc)
            self.failures.append(
                PluginLoadFailure(
                    impl.plugin_name,
                    f"{type(exc).__name__}: {exc}",
                    prov.origin,
                    prov.distribution,
                    prov.version,
                )
            )

    # ------------------------------------------------------------------ registering
    def add(
        self,
        kind: str,
        name: str,
        cls: type,
        aliases: Iterable[str] = (),
        provenance: _Provenance | None = None,
    ) -> PluginEntry:
        """Register `cls` as plugin `name`; refuse a taken name, a bad kind or bad hooks."""
        kind = normalize_kind(kind)
        if not isinstance(name, str) or not name.strip() or any(c.isspace() for c in name):
            raise ValueError(f"invalid pipe plugin name {name!r}")
        if not isinstance(cls, type):
            raise TypeError(f"pipe plugin {name}: expected a class, got {cls!r}")
        upper = name.strip().upper()
        check_plugin_class(kind, cls, upper)
        names = [upper, *(a.strip().upper() for a in aliases), *self._paired(kind, upper)]
        names = list(dict.fromkeys(names))
        prov = provenance or _Provenance("installed", "<in-process>")
        entry = PluginEntry(
            upper,
            kind,
            cls,
            tuple(names[1:]),
            prov.origin,
            prov.distribution,
            prov.version,
            prov.file,
            prov.uri,
        )
        with self._lock:
            taken = [n for n in names if n in self._names]
            if taken:
                raise PluginConflictError(
                    f"Failed to create PipePlugin [{upper}], the same name PipePlugin has been "
                    f"created ({taken[0]} belongs to {self._names[taken[0]]})",
                    upper,
                )
            self._entries[upper] = entry
            for n in names:
                self._names[n] = upper
        return entry

    @staticmethod
    def _paired(kind: str, upper: str) -> list[str]:
        pair = _PAIRED_SUFFIXES.get(kind)
        if not pair:
            return []
        for a, b in (pair, pair[::-1]):
            if upper.endswith(a.upper()):
                return [upper[: -len(a)] + b.upper()]
        return []

    def remove(self, name: str) -> PluginEntry:
        with self._lock:
            entry = self.get(name)
            del self._entries[entry.name]
            for n in (entry.name, *entry.aliases):
                self._names.pop(n, None)
            return entry

    # ------------------------------------------------------------------ lookup
    def get(self, name: str) -> PluginEntry:
        """The entry for a name or alias, any case; `PluginNotFoundError` (IoTDB's wording)."""
        self.load()
        upper = str(name).strip().upper()
        with self._lock:
            canonical = self._names.get(upper)
            if canonical is None:
                raise PluginNotFoundError(
                    "Failed to reflect PipePlugin instance, because PipePlugin "
                    f"{upper} has not been registered.",
                    upper,
                )
            return self._entries[canonical]

    def find(self, name: str) -> PluginEntry | None:
        try:
            return self.get(name)
        except PluginNotFoundError:
            return None

    def entries(self) -> list[PluginEntry]:
        """Every plugin, sorted by name."""
        self.load()
        with self._lock:
            return sorted(self._entries.values(), key=lambda e: e.name)

    def instantiate(self, name: str, kind: str) -> tuple[PluginEntry, object]:
        """A fresh instance of plugin `name`, which must be of `kind`."""
        entry = self.get(name)
        kind = normalize_kind(kind)
        if entry.kind != kind:
            raise PluginHookError(
                f"PipePlugin {entry.name} is a {entry.kind} plugin and cannot be used as a {kind}",
                entry.name,
            )
        return entry, entry.cls()

    def global_stage_plugins(self) -> list[object]:
        """Node plugins implementing stage hooks (wrappers) — registered on every stage."""
        prefixes = tuple(hookspecs.STAGE_HOOK_PREFIXES.values())
        found = []
        for plugin in self.pm.get_plugins():
            hooks = self.pm.get_hookcallers(plugin) or []
            if any(h.name.startswith(prefixes) for h in hooks):
                found.append(plugin)
        return found
