"""One running stage of one pipe: a plugin instance in its own pluggy `PluginManager`.

Registering the instance lets pluggy check every ``extractor_*`` / ``processor_*`` /
``connector_*`` method against the hook specs (names and arguments); `check_pending` turns a
misspelled hook into a `PluginHookError` naming the plugin and the hook. The node's global
plugins that implement stage hooks (wrappers for metrics, tracing, ...) are registered on the
same manager, so they wrap this stage.

Calls go through small dispatchers built once per stage: when the plugin's method is the only
implementation of a hook (no wrapper), the dispatcher calls it directly — the same call pluggy
would make, without its per-call bookkeeping on the hot path.
"""

from __future__ import annotations

import difflib
import inspect
import logging
import re
from collections.abc import Callable, Iterable
from typing import Any

import pluggy

from . import hookspecs
from .errors import PluginHookError
from .plugin import StageContext

__all__ = ["Stage", "StagePluginManager", "check_plugin_class", "stage_hook_names"]

log = logging.getLogger(__name__)

_PREFIXES = tuple(hookspecs.STAGE_HOOK_PREFIXES.values())
_KIND_OF_PREFIX = {p: k for k, p in hookspecs.STAGE_HOOK_PREFIXES.items()}


def stage_hook_names(kind: str | None = None) -> list[str]:
    """The stage hook names (of one kind, or all), in spec order."""
    prefixes = _PREFIXES if kind is None else (hookspecs.STAGE_HOOK_PREFIXES[kind],)
    return [n for n in vars(hookspecs) if n.startswith(prefixes) and callable(vars(hookspecs)[n])]


def _spec_argnames(hook: str) -> tuple[str, ...]:
    params = inspect.signature(getattr(hookspecs, hook)).parameters
    return tuple(p for p in params if p != "stage")


_ARGNAMES = {name: _spec_argnames(name) for name in stage_hook_names()}


def _hook_methods(obj: object) -> list[str]:
    return [n for n in dir(obj) if n.startswith(_PREFIXES) and callable(getattr(obj, n, None))]


def check_plugin_class(kind: str, cls: type, plugin_name: str) -> None:
    """Static check of a plugin class before any instance exists: every ``*_`` stage-hook
    method must be a known hook of its own kind and take only the hook's arguments."""
    own = hookspecs.STAGE_HOOK_PREFIXES[kind]
    for name in _hook_methods(cls):
        if name not in _ARGNAMES:
            raise _unknown_hook(plugin_name, kind, name)
        if not name.startswith(own):
            raise PluginHookError(
                f"{kind} plugin {plugin_name} implements {name}, a hook of "
                f"{_KIND_OF_PREFIX[name[: name.index('_') + 1]]} plugins",
                plugin_name,
                name,
            )
        params = list(inspect.signature(getattr(cls, name)).parameters)
        extra = [p for p in params[1:] if p not in (*_ARGNAMES[name], "stage")]
        if extra:
            raise PluginHookError(
                f"{kind} plugin {plugin_name}: hook {name} has argument(s) {extra} that the "
                f"hook does not provide (it provides {[*_ARGNAMES[name], 'stage']})",
                plugin_name,
                name,
            )


def _unknown_hook(plugin_name: str, kind: str, name: str) -> PluginHookError:
    close = difflib.get_close_matches(name, list(_ARGNAMES), n=1)
    hint = f"; did you mean {close[0]}?" if close else ""
    return PluginHookError(
        f"{kind} plugin {plugin_name} implements unknown hook {name!r}{hint}", plugin_name, name
    )


class StagePluginManager(pluggy.PluginManager):
    """A plugin manager for one stage: every method of a plugin *instance* named like a stage
    hook is taken as a hook implementation, marked or not (as pytest does for ``pytest_*``)."""

    def __init__(self) -> None:
        super().__init__("pipecore")
        self.add_hookspecs(hookspecs)

    def parse_hookimpl_opts(self, plugin: object, name: str) -> Any:
        opts = super().parse_hookimpl_opts(plugin, name)
        if opts is not None or not name.startswith(_PREFIXES):
            return opts
        if inspect.isclass(plugin) or inspect.ismodule(plugin):
            return None  # modules and classes mark their hooks with @hookimpl
        static = inspect.getattr_static(plugin, name, None)
        if inspect.isfunction(static) or isinstance(static, staticmethod | classmethod):
            return {}  # pluggy fills the default options
        return None


class Stage:
    """The plugin instance of one stage, its manager and its hook dispatchers.

    ``stage.call[hook_name](*args)`` calls a hook with the spec's arguments in order (without
    ``stage``, which is bound here): e.g. ``stage.call["connector_transfer_tablet"](event)``.
    """

    def __init__(
        self,
        kind: str,
        plugin_name: str,
        instance: object,
        context: StageContext,
        global_plugins: Iterable[object] = (),
    ) -> None:
        self.kind = kind
        self.prefix = hookspecs.STAGE_HOOK_PREFIXES[kind]  # "extractor_", ...
        self.plugin_name = plugin_name
        self.instance = instance
        self.context = context
        self.pm = StagePluginManager()
        self._closed = False
        self._register(instance, global_plugins)
        self.call: dict[str, Callable[..., Any]] = {
            name: self._dispatcher(name) for name in stage_hook_names(kind)
        }

    def _register(self, instance: object, global_plugins: Iterable[object]) -> None:
        own = hookspecs.STAGE_HOOK_PREFIXES[self.kind]
        for name in _hook_methods(instance):
            if name in _ARGNAMES and not name.startswith(own):
                raise PluginHookError(
                    f"{self.kind} plugin {self.plugin_name} implements {name}, a hook of "
                    "another kind of plugin",
                    self.plugin_name,
                    name,
                )
        try:
            self.pm.register(instance, name=f"{self.kind}:{self.plugin_name}")
            for i, plugin in enumerate(global_plugins):
                self.pm.register(plugin, name=f"global:{i}:{self.pm.get_canonical_name(plugin)}")
            self.pm.check_pending()
        except pluggy.PluginValidationError as exc:
            raise self._hook_error(exc) from exc

    def _hook_error(self, exc: pluggy.PluginValidationError) -> PluginHookError:
        text = str(exc)
        unknown = re.search(r"unknown hook '([^']+)'", text)
        if unknown:
            return _unknown_hook(self.plugin_name, self.kind, unknown.group(1))
        named = re.search(r"for hook '([^']+)'", text)
        hook = named.group(1) if named else None
        first = text.splitlines()[-1] if text else "invalid hook implementation"
        return PluginHookError(
            f"{self.kind} plugin {self.plugin_name}: hook {hook}: {first}", self.plugin_name, hook
        )

    def _dispatcher(self, name: str) -> Callable[..., Any]:
        caller = getattr(self.pm.hook, name)
        argnames = _ARGNAMES[name]
        impls = caller.get_hookimpls()
        ctx = self.context
        if not impls:
            return lambda *args: None
        only = impls[0]
        if len(impls) == 1 and not (only.wrapper or only.hookwrapper):
            fn = only.function
            wanted = tuple(only.argnames)
            if wanted == argnames:
                return fn
            order = [argnames.index(a) if a != "stage" else -1 for a in wanted]
            return lambda *args: fn(*[ctx if i < 0 else args[i] for i in order])

        def call_hook(*args: Any) -> Any:
            return caller(**dict(zip(argnames, args, strict=True)), stage=ctx)

        return call_hook

    def close(self) -> None:
        """Call the kind's close hook once; an exception there is logged, not raised."""
        if self._closed:
            return
        self._closed = True
        try:
            self.call[self.prefix + "close"]()
        except Exception:
            log.exception(
                "%s %s of pipe %s: close failed",
                self.kind,
                self.plugin_name,
                self.context.pipe_name,
            )
