"""What ``iotdb-source`` takes, as a `pipecore.digest.PipeScope` (the ``extractor_scope`` hook:
VERIFY, RESYNC, EXPLAIN and EXPORT PIPE read it)."""

from __future__ import annotations

from pipecore import PipeScope

from .options import SourceOptions
from .patterns import IoTDBPattern, SeriesPattern, UnionPattern

__all__ = ["scope_of", "store_patterns"]


def store_patterns(pattern: SeriesPattern) -> tuple[str, ...]:
    """IoTDB path patterns whose union covers every series `pattern` takes. A prefix pattern
    ``root.sg.d`` (a string prefix) becomes ``root.sg.d*`` and ``root.sg.d*.**``; the caller
    filters what they give with the pattern itself."""
    if isinstance(pattern, UnionPattern) and not pattern.is_root:
        return tuple(dict.fromkeys(t for part in pattern.parts for t in store_patterns(part)))
    if isinstance(pattern, IoTDBPattern) or pattern.is_root:
        return ("root.**",) if pattern.is_root else (pattern.text,)
    text = pattern.text.rstrip(".")
    if text.count(".") == 0:  # "roo" or "root": every series may match
        return ("root.**",)
    return (f"{text}*", f"{text}*.**")


def scope_of(options: SourceOptions) -> PipeScope | None:
    """The series and the hull of the time ranges the source extracts; None when it takes no
    inserted data (``inclusion`` without ``data.insert``)."""
    if not options.include_insert:
        return None
    ranges = []
    if options.history_enabled:
        ranges.append((options.history_start, options.history_end))
    if options.realtime_enabled:
        ranges.append((options.realtime_start, options.realtime_end))
    start = min(r[0] for r in ranges)
    end = max(r[1] for r in ranges)
    key = options.pattern.key or "path"
    return PipeScope(
        matcher=options.pattern,
        # a `PrivilegedPattern` (a source running as a user) narrows its base pattern
        patterns=store_patterns(getattr(options.pattern, "base", options.pattern)),
        start=start,
        end=end,
        description=f"{key}={options.pattern.text}",
    )
