"""A series' alias, tags and attributes (IoTDB's measurement alias and tag/attribute maps).

IoTDB keeps them beside the schema tree (the alias in the tree, tags and attributes in the
tag file); the store keeps them in the schema log as ``series_meta`` records, each holding a
series' whole metadata, written after its ``create_series`` record and again on every change
(``ALTER TIMESERIES``). An alias names the series too: ``root.sg.d1.temperature`` reads the
series ``root.sg.d1.s1`` whose alias is ``temperature``. An alias is unique within its device
and may not equal a measurement name there.

SHOW TIMESERIES prints tags and attributes as IoTDB does: a JSON object with the keys in
insertion order (``{"unit":"c","owner":"x"}``), or null when there are none.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import attrs

from .errors import SchemaError

__all__ = ["SeriesMeta", "check_alias", "meta_record", "meta_text"]


def _pairs(value: Mapping[str, str] | tuple[tuple[str, str], ...] | None):
    if not value:
        return ()
    if isinstance(value, tuple):
        return value
    return tuple((str(k), str(v)) for k, v in value.items())


@attrs.frozen
class SeriesMeta:
    """Alias (or None), tags and attributes of one series (pairs in insertion order)."""

    alias: str | None = None
    tags: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=_pairs)
    attributes: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=_pairs)

    @property
    def empty(self) -> bool:
        return self.alias is None and not self.tags and not self.attributes

    @property
    def tag_dict(self) -> dict[str, str]:
        return dict(self.tags)

    @property
    def attribute_dict(self) -> dict[str, str]:
        return dict(self.attributes)


def meta_record(device: str, measurement: str, meta: SeriesMeta) -> dict:
    return {
        "op": "series_meta",
        "device": device,
        "measurement": measurement,
        "alias": meta.alias,
        "tags": [list(p) for p in meta.tags],
        "attributes": [list(p) for p in meta.attributes],
    }


def meta_from_record(record: dict) -> SeriesMeta:
    return SeriesMeta(
        record.get("alias"),
        tuple((str(k), str(v)) for k, v in record.get("tags", [])),
        tuple((str(k), str(v)) for k, v in record.get("attributes", [])),
    )


def meta_text(pairs: tuple[tuple[str, str], ...]) -> str | None:
    """IoTDB's SHOW TIMESERIES cell of tags or attributes: the pairs in the order IoTDB
    prints them (`java_map_order`)."""
    if not pairs:
        return None
    ordered = dict(pairs)
    keys = java_map_order(java_map_order(list(ordered)), sized=True)
    return json.dumps({k: ordered[k] for k in keys}, ensure_ascii=False, separators=(",", ":"))


def _java_hash(text: str) -> int:
    """Java's String.hashCode (over UTF-16 code units), spread as HashMap.hash spreads it."""
    h = 0
    data = text.encode("utf-16-be")
    for i in range(0, len(data), 2):
        h = (31 * h + (data[i] << 8 | data[i + 1])) & 0xFFFFFFFF
    return h ^ (h >> 16)


def java_map_order(keys: list[str], *, sized: bool = False) -> list[str]:
    """The iteration order of a java.util.HashMap filled with `keys` in this order: IoTDB
    keeps tags and attributes in HashMaps and prints them as such a map iterates (its tag
    file is read back into ``new HashMap<>(size)``: `sized`). Bucket by bucket, insertion
    order within one."""
    n = len(keys)
    if sized:  # HashMap(n): a table of tableSizeFor(n), doubled whenever size > 0.75 * capacity
        capacity = 1
        while capacity < max(n, 1):
            capacity <<= 1
    else:
        capacity = 16
    while n > int(capacity * 0.75):
        capacity <<= 1
    rank = {k: i for i, k in enumerate(keys)}
    return sorted(keys, key=lambda k: (_java_hash(k) & (capacity - 1), rank[k]))


def check_alias(
    device: str,
    measurement: str,
    alias: str | None,
    measurements: Mapping[str, object],
    aliases: Mapping[str, str],
) -> None:
    """SchemaError when `alias` clashes with a measurement or another alias of the device."""
    if alias is None:
        return
    path = f"{device}.{measurement}"
    if not alias or any(c in alias for c in ".*`") or alias != alias.strip():
        raise SchemaError(f"illegal alias {alias!r} of {path}: an alias is one node", path)
    if alias in measurements and alias != measurement:
        raise SchemaError(
            f"The alias {alias} is the name of a timeseries of {device} (alias already exist)",
            path,
        )
    owner = aliases.get(alias)
    if owner is not None and owner != measurement:
        raise SchemaError(f"The alias {alias} already exist on {device}.{owner}", path)
