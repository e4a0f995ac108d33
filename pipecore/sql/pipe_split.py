"""IoTDB's "auto split full" of CREATE PIPE (`pipe_auto_split_full_enabled`, IoTDB after
2.0.1, IoTDBPipeAutoSplitIT): a pipe whose source takes inserted data (`inclusion` covers
``data.insert`` and `inclusion.exclusion` does not) both historical and realtime (neither
`history.enable` nor `realtime.enable` false) is created as two pipes with the same
processor and sink: ``<name>_history`` (``realtime.enable`` false) and ``<name>_realtime``
(``history.enable`` false). Any other pipe is created as given."""

from __future__ import annotations

__all__ = ["split_full"]

_PREFIXES = ("source.", "extractor.", "")


def _get(source: dict[str, str], key: str, default: str) -> str:
    lowered = {k.lower(): v for k, v in source.items()}
    for prefix in _PREFIXES:
        if prefix + key in lowered:
            return lowered[prefix + key].strip()
    return default


def _covers(items: str, leaf: str) -> bool:
    """Whether a comma-separated inclusion list names `leaf` or a part above it."""
    for item in (i.strip().lower() for i in items.split(",")):
        if item and (item == "all" or leaf == item or leaf.startswith(item + ".")):
            return True
    return False


def _without(source: dict[str, str], key: str) -> dict[str, str]:
    names = {prefix + key for prefix in _PREFIXES}
    return {k: v for k, v in source.items() if k.lower() not in names}


def split_full(name: str, source: dict[str, str]) -> list[tuple[str, dict[str, str]]]:
    """(name, source attributes) of the pipes CREATE PIPE makes when splitting is on."""
    inserts = _covers(_get(source, "inclusion", "data.insert"), "data.insert") and not _covers(
        _get(source, "inclusion.exclusion", ""), "data.insert"
    )
    history = _get(source, "history.enable", "true").lower() != "false"
    realtime = _get(source, "realtime.enable", "true").lower() != "false"
    if not (inserts and history and realtime):
        return [(name, source)]
    return [
        (f"{name}_history", {**_without(source, "realtime.enable"), "realtime.enable": "false"}),
        (f"{name}_realtime", {**_without(source, "history.enable"), "history.enable": "false"}),
    ]
