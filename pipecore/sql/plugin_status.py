"""IoTDB's answers to CREATE / DROP PIPEPLUGIN, in one place (checked against IoTDB's
IoTDBPipeSyntaxIT ``testPipePluginValidation``):

* an URI the node does not trust: 701 ``Untrusted uri <uri>, current trusted_uri_pattern is
  <pattern>`` (when the node's configuration has ``trusted_uri_pattern``);
* an opaque URI (``file:.*``: a scheme but no ``//`` or ``/`` after it): 701 ``URI is not
  hierarchical``;
* no file behind the URI: 1603 (PIPE_PLUGIN_DOWNLOAD_ERROR) ``Failed to get executable for
  PipePlugin <name>, please check the URI.``;
* any other CREATE failure: 1600 (CREATE_PIPE_PLUGIN_ERROR) with the node's message;
* DROP of a plugin that does not exist: 1601 (DROP_PIPE_PLUGIN_ERROR) ``Failed to drop
  PipePlugin [<NAME>], this PipePlugin has not been created`` (the IT's text; IoTDB 2.0.1 keeps
  the name as typed); any other DROP failure (a built-in, a plugin in use): 1601 with the
  node's message.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlparse

from ..errors import PipeError, PluginLoadError, PluginNotFoundError
from .outcome import StatementError

__all__ = ["check_plugin_uri", "create_plugin_failure", "drop_plugin_failure"]

SEMANTIC_ERROR = 701
CREATE_PIPE_PLUGIN_ERROR = 1600
DROP_PIPE_PLUGIN_ERROR = 1601
PIPE_PLUGIN_DOWNLOAD_ERROR = 1603


def _error(statement: Any, message: str, code: int, subject: str | None) -> StatementError:
    return StatementError(
        message, statement.span.line, statement.span.column, status_code=code, subject=subject
    )


def check_plugin_uri(statement: Any, config: Any) -> None:
    """Refuse an untrusted or opaque URI before anything is fetched (701)."""
    uri = statement.uri
    pattern = _trusted_uri_pattern(config)
    if pattern is not None and re.fullmatch(pattern, uri) is None:
        raise _error(
            statement,
            f"Untrusted uri {uri}, current trusted_uri_pattern is {pattern}",
            SEMANTIC_ERROR,
            statement.name,
        )
    parsed = urlparse(uri)
    windows_drive = len(parsed.scheme) == 1 and uri[1:3] in (":\\", ":/")
    if parsed.scheme and not windows_drive and not uri[len(parsed.scheme) + 1 :].startswith("/"):
        raise _error(statement, "URI is not hierarchical", SEMANTIC_ERROR, statement.name)


def _trusted_uri_pattern(config: Any) -> str | None:
    try:
        value = config.as_dict().get("trusted_uri_pattern")
    except AttributeError:
        return None
    return None if value in (None, "") else str(value)


def create_plugin_failure(statement: Any, exc: BaseException) -> StatementError | None:
    """IoTDB's answer to a failed CREATE PIPEPLUGIN (None: not a plugin failure)."""
    if isinstance(exc, PluginLoadError) and "no such file or directory" in str(exc):
        return _error(
            statement,
            f"Failed to get executable for PipePlugin {statement.name}, please check the URI.",
            PIPE_PLUGIN_DOWNLOAD_ERROR,
            statement.name,
        )
    if isinstance(exc, PipeError):
        return _error(statement, str(exc), CREATE_PIPE_PLUGIN_ERROR, statement.name)
    return None


def drop_plugin_failure(statement: Any, exc: BaseException) -> StatementError | None:
    """IoTDB's answer to a failed DROP PIPEPLUGIN (None: not a plugin failure)."""
    name = statement.name.upper()
    if isinstance(exc, PluginNotFoundError):
        message = f"Failed to drop PipePlugin [{name}], this PipePlugin has not been created"
        return _error(statement, message, DROP_PIPE_PLUGIN_ERROR, name)
    if isinstance(exc, PipeError):
        return _error(statement, str(exc), DROP_PIPE_PLUGIN_ERROR, name)
    return None
