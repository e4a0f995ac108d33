"""Markers, magic strings and fixed values of the TsFile format (tsfile-format.md §1)."""

from __future__ import annotations

import enum

__all__ = [
    "MAGIC",
    "MAX_TIME",
    "MIN_TIME",
    "VERSION_V3",
    "VERSION_V4",
    "Marker",
    "MetadataIndexNodeType",
]

MAGIC = b"TsFile"
VERSION_V3 = 3
VERSION_V4 = 4
HEAD_SIZE = len(MAGIC) + 1  # magic + version byte: the first chunk group starts here
TAIL_SIZE = 4 + len(MAGIC)  # i32 size of TsFileMetadata + magic

MIN_TIME = -(2**63)
MAX_TIME = 2**63 - 1


class Marker(enum.IntEnum):
    """First byte of each item in the data area."""

    CHUNK_GROUP_HEADER = 0x00
    CHUNK_HEADER = 0x01  # a chunk of several pages; every page header carries statistics
    SEPARATOR = 0x02
    VERSION = 0x03  # deprecated
    OPERATION_INDEX_RANGE = 0x04  # i64 min plan index, i64 max plan index
    ONLY_ONE_PAGE_CHUNK_HEADER = 0x05


TIME_COLUMN_MASK = 0x80
VALUE_COLUMN_MASK = 0x40
CHUNK_TYPE_MASK = 0x3F


class MetadataIndexNodeType(enum.IntEnum):
    INTERNAL_DEVICE = 0
    LEAF_DEVICE = 1
    INTERNAL_MEASUREMENT = 2
    LEAF_MEASUREMENT = 3

    @property
    def is_device_level(self) -> bool:
        return self in (MetadataIndexNodeType.INTERNAL_DEVICE, MetadataIndexNodeType.LEAF_DEVICE)

    @property
    def is_leaf(self) -> bool:
        return self in (MetadataIndexNodeType.LEAF_DEVICE, MetadataIndexNodeType.LEAF_MEASUREMENT)


# TsFileMetadata properties every official writer emits (an unencrypted file), in the order
# the C++ 2.5 writer puts them (tree_small_plain.tsfile)
ENCRYPT_PROPERTIES: tuple[tuple[str, str | None], ...] = (
    ("encryptKey", None),
    ("encryptType", "org.apache.tsfile.encrypt.UNENCRYPTED"),
    ("encryptLevel", "0"),
)
