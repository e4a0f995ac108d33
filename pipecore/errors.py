"""Errors of the pipe framework.

Every error derives from `PipecoreError` (the one root, defined in `pipecore_storage.errors`) and
from the builtin it behaves like, and carries what failed as attributes: the pipe, the plugin,
the parameter key, the hook, the config key. Messages follow IoTDB 1.3's wording where IoTDB has
one (reference §8.3, §9.4), so operators see the messages they know.
"""

from __future__ import annotations

from pipecore_storage.errors import PipecoreError

__all__ = [
    "ConfigError",
    "PipeAlreadyExistsError",
    "PipeAttributeNotProvidedError",
    "PipeConnectionError",
    "PipeDroppedError",
    "PipeError",
    "PipeNotFoundError",
    "PipeParameterNotValidError",
    "PipeRuntimeError",
    "PipeSinkTimeoutError",
    "PluginConflictError",
    "PluginHookError",
    "PluginInUseError",
    "PluginLoadError",
    "PluginNotFoundError",
]


class PipeError(PipecoreError, RuntimeError):
    """IoTDB's ``PipeException``: a pipe or pipe-plugin operation failed.

    `pipe_name` names the pipe concerned (None when the error is not about one pipe),
    `plugin_name` the plugin (None when not about one plugin).
    """

    plugin_name: str | None = None

    def __init__(self, message: str, pipe_name: str | None = None) -> None:
        self.pipe_name = pipe_name
        super().__init__(message)


class PipeNotFoundError(PipeError, LookupError):
    """The pipe does not exist (``Failed to start pipe p, the pipe does not exist``)."""


class PipeDroppedError(PipeError, LookupError):
    """The pipe has been dropped (``Failed to stop pipe p, the pipe is already dropped``)."""


class PipeAlreadyExistsError(PipeError, ValueError):
    """CREATE PIPE of a name in use, without IF NOT EXISTS."""


class PipeParameterNotValidError(PipeError, ValueError):
    """A pipe parameter is missing, malformed or out of range.

    `key` is the parameter key as the plugin looked it up (None for rules over several keys),
    `expected` says what would have been accepted, `plugin_name` which plugin rejected it (set
    by the framework when it knows).
    """

    def __init__(
        self,
        message: str,
        key: str | None = None,
        expected: str | None = None,
        plugin_name: str | None = None,
    ) -> None:
        self.key = key
        self.expected = expected
        self.plugin_name = plugin_name
        super().__init__(message)


class PipeAttributeNotProvidedError(PipeParameterNotValidError):
    """A required parameter is absent.

    IoTDB's message: ``attribute "k" is required but was not provided.``
    """

    def __init__(self, key: str, plugin_name: str | None = None) -> None:
        super().__init__(
            f'attribute "{key}" is required but was not provided.',
            key=key,
            expected="a value",
            plugin_name=plugin_name,
        )


class PipeConnectionError(PipeError, ConnectionError):
    """IoTDB's ``PipeConnectionException``: a sink cannot reach its target.

    The runtime treats it as transient: the event is retried after a back-off (calling
    ``connector_handshake`` again first) instead of stopping the pipe, see docs/hooks.md.
    """


class PipeSinkTimeoutError(PipeError, TimeoutError):
    """A sink did not return from a transfer within ``pipe_sink_timeout_ms``."""

    def __init__(self, pipe_name: str, plugin_name: str, timeout_ms: int) -> None:
        self.plugin_name = plugin_name
        self.timeout_ms = timeout_ms
        super().__init__(
            f"sink {plugin_name} of pipe {pipe_name} did not return from a transfer "
            f"within pipe_sink_timeout_ms={timeout_ms}",
            pipe_name,
        )


class PipeRuntimeError(PipeError):
    """A plugin raised while its pipe was running; the pipe was stopped.

    `plugin_name`, `kind` (source / processor / sink) and `hook` say where; the plugin's own
    exception is `__cause__`.
    """

    def __init__(
        self, pipe_name: str, kind: str, plugin_name: str, hook: str, cause: BaseException
    ):
        self.kind = kind
        self.plugin_name = plugin_name
        self.hook = hook
        text = f"{type(cause).__name__}: {cause}" if str(cause) else type(cause).__name__
        super().__init__(f"{kind} {plugin_name} failed in {hook}: {text}", pipe_name)
        self.__cause__ = cause


class PluginNotFoundError(PipeError, LookupError):
    """No plugin of that name (``PipePlugin X has not been registered.``)."""

    def __init__(self, message: str, plugin_name: str) -> None:
        self.plugin_name = plugin_name
        super().__init__(message)


class PluginConflictError(PipeError, ValueError):
    """A plugin name (or alias) is taken already."""

    def __init__(self, message: str, plugin_name: str) -> None:
        self.plugin_name = plugin_name
        super().__init__(message)


class PluginInUseError(PipeError, ValueError):
    """DROP PIPEPLUGIN of a plugin a pipe still uses.

    IoTDB's message: ``PipePlugin 'X' is already used by Pipe 'p' as a sink.``
    """

    def __init__(self, plugin_name: str, pipe_name: str, role: str) -> None:
        self.plugin_name = plugin_name
        self.role = role
        super().__init__(
            f"PipePlugin '{plugin_name}' is already used by Pipe '{pipe_name}' as a {role}.",
            pipe_name,
        )


class PluginLoadError(PipeError, ImportError):
    """A plugin could not be imported or loaded; `plugin_name` and `source` (entry point,
    file, wheel) say which."""

    def __init__(self, message: str, plugin_name: str | None = None, source: str | None = None):
        self.plugin_name = plugin_name
        self.source = source
        super().__init__(message)


class PluginHookError(PipeError, TypeError):
    """A plugin's hook implementation does not match the hook specs: an unknown (misspelled)
    hook, an argument the hook does not have, or a hook of another stage kind."""

    def __init__(self, message: str, plugin_name: str, hook: str | None = None) -> None:
        self.plugin_name = plugin_name
        self.hook = hook
        super().__init__(message)


class ConfigError(PipecoreError, ValueError):
    """A configuration key is unknown or its value is invalid.

    `key` is the key, `source` where it came from (a TOML path, an environment variable or
    ``"argument"``).
    """

    def __init__(self, message: str, key: str | None = None, source: str | None = None) -> None:
        self.key = key
        self.source = source
        where = f" ({source})" if source else ""
        super().__init__(f"{message}{where}")
