"""Checks that keep a node from being opened up by accident or from the network.

* `check_exposure` — ``pipecore serve`` refuses to listen on anything but loopback while the
  user root still has IoTDB's default password ``root`` (anyone who can reach the port could
  log in as root), unless ``allow_default_password_on_network=true`` says so.
* `check_plugin_uri` — a CREATE PIPEPLUGIN URI must match ``trusted_uri_pattern``, and never
  points into the node's own data directory or its receivers' piece folders: those hold bytes
  that came from the network (a file piece a sender uploaded), which must never become code.

Messages name the setting to change and never an absolute path of the server.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
import socket
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from .errors import PipeError, PluginLoadError

__all__ = ["check_exposure", "check_load_path", "check_plugin_uri", "is_loopback"]


def is_loopback(host: str) -> bool:
    """Whether binding `host` only listens on loopback (``0.0.0.0``, ``::`` and names that
    resolve elsewhere do not)."""
    if host in ("localhost", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(i[4][0]).is_loopback for i in infos)


def check_exposure(node: Any, host: str) -> None:
    """Refuse to serve on a non-loopback `host` with root's default password."""
    if is_loopback(host):
        return
    if getattr(node.config.node, "allow_default_password_on_network", False):
        return
    users = getattr(node, "users", None)
    if users is None or not users.uses_default_password():
        return
    raise PipeError(
        f"refusing to serve on {host}: user root still has the default password 'root', so "
        "anyone who reaches this address could log in as root. Change it first "
        "(pipecore users --data-dir <data dir> passwd root), bind a loopback address "
        "(--rpc-address 127.0.0.1), or set allow_default_password_on_network=true to serve "
        "anyway."
    )


def _local_path(uri: str) -> Path | None:
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    if parsed.scheme == "" or (len(parsed.scheme) == 1 and uri[1:3] in (":\\", ":/")):
        return Path(uri)
    return None


def _uri_forms(uri: str) -> list[str]:
    """`uri` as given, and a plain local path (the Python API's `install_plugin(path)`) also
    as its ``file:`` URI, so that IoTDB's default pattern ``file:.*`` trusts local files
    however they are named. SQL checks the text as given first (`pipecore.sql.plugin_status`),
    as IoTDB does."""
    parsed = urlparse(uri)
    if "\x00" in uri or not (parsed.scheme == "" or len(parsed.scheme) == 1):
        return [uri]
    try:
        return [uri, Path(uri).expanduser().resolve().as_uri()]
    except (OSError, RuntimeError, ValueError):
        return [uri]


def _forbidden_roots(node: Any) -> list[Path]:
    roots = [Path(node.data_dir)]
    section = getattr(node.config, "sections", {}).get("thrift_sink")
    folders = getattr(section, "dn_pipe_receiver_file_dirs", "") or ""
    for folder in folders.split(","):
        folder = folder.strip()
        if folder:
            p = Path(folder)
            roots.append(p if p.is_absolute() else Path(node.data_dir) / p)
    store = getattr(node, "store", None)
    if store is not None and getattr(store, "path", None) is not None:
        roots.append(Path(store.path))
    return roots


def check_plugin_uri(node: Any, uri: str) -> None:
    """PluginLoadError unless `uri` may be installed as a plugin on this node."""
    pattern = getattr(node.config.node, "trusted_uri_pattern", "file:.*")
    try:
        trusted = any(re.fullmatch(pattern, form) is not None for form in _uri_forms(uri))
    except re.error:
        trusted = False
    if not trusted:
        raise PluginLoadError(
            f"plugin URI {uri!r} is not trusted: it does not match trusted_uri_pattern",
            source=uri,
        )
    if "\x00" in uri:
        raise PluginLoadError(f"plugin URI {uri!r} holds a NUL byte: it names no file", source=uri)
    path = _local_path(uri)
    if path is None:
        return  # external.install refuses it with its own message
    try:
        resolved = path.expanduser().resolve()
    except (OSError, RuntimeError):
        resolved = path
    for root in _forbidden_roots(node):
        with contextlib.suppress(OSError, RuntimeError):
            root = root.resolve()
        if resolved == root or root in resolved.parents:
            raise PluginLoadError(
                f"plugin URI {uri!r} is not trusted: plugins are never loaded from the node's "
                "data directory or its receivers' folders",
                source=uri,
            )


def _within(path: Path, root: Path) -> bool:
    with contextlib.suppress(OSError, RuntimeError):
        root = root.resolve()
    return path == root or root in path.parents


def check_load_path(node: Any, given: str) -> str | None:
    """None when LOAD may read `given`; else the refusal message.

    The path is resolved (``..`` and symbolic links) before anything else, and the answer
    is the same whether or not something exists there: LOAD cannot probe the server's disk.
    Never allowed: the node's data directory and its receivers' folders (LOAD ... onSuccess=
    delete there would destroy the store's own files). With ``load_tsfile_allowed_dirs``
    set (comma-separated), only paths under those; ``load_tsfile_source_path_check_enabled
    = false`` lifts that list (not the data directory rule).
    """
    refusal = (
        f"LOAD: {given} is outside the directories LOAD may read "
        "(load_tsfile_allowed_dirs; never the node's data directory)"
    )
    try:
        resolved = Path(given).expanduser().resolve()
    except (OSError, RuntimeError, ValueError):
        return refusal
    if any(_within(resolved, root) for root in _forbidden_roots(node)):
        return refusal
    config = node.config.node
    if not getattr(config, "load_tsfile_source_path_check_enabled", True):
        return None
    allowed = [d.strip() for d in str(getattr(config, "load_tsfile_allowed_dirs", "")).split(",")]
    allowed = [d for d in allowed if d]
    if allowed and not any(_within(resolved, Path(d).expanduser()) for d in allowed):
        return refusal
    return None
