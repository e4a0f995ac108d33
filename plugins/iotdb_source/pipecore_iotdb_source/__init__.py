"""``iotdb-source`` (alias ``iotdb-extractor``): the source every pipe starts with.

It turns what the node's store holds (history: sealed TsFiles) and receives (realtime: inserts,
sealed files, deletions) into pipe events, honouring ``pattern``/``path``, the time ranges,
``realtime.mode`` (stream, batch, hybrid), ``forwarding-pipe-requests`` and ``inclusion``;
it commits its progress through the core and resumes from it. See docs/source.md.

Registered through the ``pipecore`` entry point ``iotdb_source = "pipecore_iotdb_source"``.
"""

from __future__ import annotations

from collections.abc import Callable

from pipecore import hookimpl

from .events import SourceTsFileInsertionEvent, apply_deletions
from .options import SourceOptions, parse_options
from .patterns import IoTDBPattern, PrefixPattern, SeriesPattern, filter_tablet
from .source import IoTDBSource, SourceLag

__all__ = [
    "IoTDBPattern",
    "IoTDBSource",
    "PrefixPattern",
    "SeriesPattern",
    "SourceLag",
    "SourceOptions",
    "SourceTsFileInsertionEvent",
    "apply_deletions",
    "filter_tablet",
    "parse_options",
    "register_pipe_plugins",
]


@hookimpl
def register_pipe_plugins(register: Callable[..., None]) -> None:
    register("source", "iotdb-source", IoTDBSource, aliases=("iotdb-extractor",))
