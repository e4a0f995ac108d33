"""What the SQL ring uses of the node it runs statements on: `NodeView`, a `Protocol` (the
server's `pipecore.server.Node` satisfies it). The SQL ring never imports the server."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ..parameters import PipeParameters
    from ..pipes import PipeInfo
    from ..registry import PluginEntry, PluginLoadFailure

    Params = Mapping[str, str] | PipeParameters | None

__all__ = ["NodeView", "ReceiverView"]


class ReceiverView(Protocol):
    """One sender connected to the node's receivers (a row of SHOW PIPE RECEIVERS; of SHOW
    PIPES too when it is the sync tool's)."""

    @property
    def id(self) -> int: ...
    @property
    def transport(self) -> str: ...
    @property
    def remote(self) -> str: ...
    @property
    def cluster_id(self) -> str | None: ...
    @property
    def connected_at(self) -> int: ...
    @property
    def databases(self) -> set[str]: ...
    @property
    def points(self) -> int: ...
    @property
    def files(self) -> int: ...
    @property
    def last_error(self) -> str | None: ...


class _Receivers(Protocol):
    def list(self) -> list[Any]: ...


class _PipeStore(Protocol):
    @property
    def system_dir(self) -> Path: ...


class NodeView(Protocol):
    """The node calls of the SQL statements (pipes, plugins, LOAD CONFIGURATION, the store)."""

    @property
    def store(self) -> Any: ...
    @property
    def catalog(self) -> _PipeStore: ...
    @property
    def receivers(self) -> _Receivers: ...
    @property
    def plugin_failures(self) -> list[PluginLoadFailure]: ...

    def create_pipe(
        self,
        name: str,
        source: Params = None,
        processor: Params = None,
        sink: Params = None,
        *,
        if_not_exists: bool = False,
        start: bool = True,
    ) -> bool: ...

    def alter_pipe(
        self,
        name: str,
        source: Params = None,
        processor: Params = None,
        sink: Params = None,
        *,
        replace: Iterable[str] = (),
        if_exists: bool = False,
    ) -> bool: ...

    def start_pipe(self, name: str) -> None: ...
    def stop_pipe(self, name: str) -> None: ...
    def drop_pipe(self, name: str, *, if_exists: bool = False) -> bool: ...
    def list_pipes(self) -> list[PipeInfo]: ...
    def get_pipe(self, name: str) -> PipeInfo: ...
    def list_plugins(self) -> list[PluginEntry]: ...

    def create_plugin(
        self, name: str, class_name: str, uri: str, *, if_not_exists: bool = False
    ) -> bool: ...

    def drop_plugin(self, name: str, *, if_exists: bool = False) -> bool: ...
    def reload_config(self) -> tuple[list[str], list[str]]: ...
