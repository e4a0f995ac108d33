"""The store's keys in the node configuration (section ``store``), and opening the node's store.

Every key of `pipecore_storage.StoreConfig` (``wal_mode``, ``memtable_size_threshold``,
``enable_auto_create_schema``, ...; docs/store.md) is a key of the node's TOML file and of
``PIPECORE_*`` variables, with the store's default: `Node.open` loads its configuration with
this section (`StoreSection`, section name ``store``) added. The section is derived from
`StoreConfig` itself, so a key the store gains is a node key at once.
``timestamp_precision`` is the node's (section ``node``) and is handed to the store from there.

A bad value is refused when the configuration is loaded, naming the key (the store's own
checks run then).
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Any

import attrs

from pipecore_storage import Store, StoreConfig

from .config import Config

__all__ = ["STORE_DIRECTORY", "StoreSection", "open_store", "store_config"]

#: Where the node's store lives, relative to the data directory.
STORE_DIRECTORY = "store"
SECTION = "store"
_NODE_KEYS = frozenset({"timestamp_precision"})


class _StoreSectionBase:
    """Checks the section's values with the store's own converters when it is built."""

    def __attrs_post_init__(self) -> None:
        StoreConfig.from_mapping(attrs.asdict(self))  # type: ignore[arg-type]


def _plain(value: object) -> tuple[object, type]:
    """A store default as a plain TOML value and its type (enums by name)."""
    if isinstance(value, enum.Enum):
        return value.name, str
    return value, type(value)


def _make_section() -> type:
    fields: dict[str, Any] = {}
    for field in attrs.fields(StoreConfig):
        if field.name in _NODE_KEYS:
            continue
        default, kind = _plain(field.default)
        fields[field.name] = attrs.field(
            default=default, type=kind, metadata={"doc": "store key (docs/store.md)"}
        )
    cls = attrs.make_class("StoreSection", fields, bases=(_StoreSectionBase,), frozen=True)
    cls.__module__ = __name__
    cls.__doc__ = "The store's configuration keys (derived from `StoreConfig`)."
    cls.__config_section__ = SECTION  # type: ignore[attr-defined]
    return cls


StoreSection: type = _make_section()


def store_config(config: Config) -> StoreConfig:
    """The `StoreConfig` a node with `config` opens its store with (the store's defaults when
    `config` was loaded without the store section)."""
    section = config.sections.get(SECTION) or StoreSection()
    values = attrs.asdict(section)
    values["timestamp_precision"] = config.node.timestamp_precision
    return StoreConfig.from_mapping(values)


def open_store(data_dir: Path, config: Config) -> Store:
    """Open (creating, recovering) the node's store in ``<data_dir>/store``."""
    return Store.open(data_dir / STORE_DIRECTORY, store_config(config))
