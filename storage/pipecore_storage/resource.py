"""Sealed TsFiles of a store and their side files: ``.resource``, ``.mods``, ``.meta``.

Names follow IoTDB: ``{creation millis}-{version}-{inner compaction}-{cross compaction}.tsfile``
under ``data/sequence/<database>/0/0/`` or ``data/unsequence/<database>/0/0/`` (data region
0, time partition 0). The version is the store's file counter: a higher version holds newer
writes, which is how last-write-wins is decided between files.

``<file>.tsfile.resource`` has IoTDB's ``TsFileResource`` layout (big-endian)::

    u8  VERSION_NUMBER = 1
    u8  timeIndexType  = 1 (device time index)
    i32 deviceNum, deviceNum x (i64 startTime, i64 endTime)
    deviceNum x (DeviceID, i32 index)   -- DeviceID as in the TsFile: v4 segments
                                           (uvar count + vstr each), v3 one vstr
    i64 maxPlanIndex, i64 minPlanIndex  -- the sequence numbers the file covers
    istr mods file name, or i32 -1
    u8  0 (EMPTY_BLOCK)

``<file>.tsfile.meta`` is pipecore's own JSON record of what IoTDB keeps in memory: the
sequence range, the sealing event's sequence number, the origin (written by a pipe, from which
cluster), and whether the file was loaded. The ``.resource`` is written last, through a
rename: a TsFile without it is incomplete.
"""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path

import attrs

from .errors import CorruptFileError
from .fsutil import atomic_write, fsync_dir, fsync_file
from .mods import SUFFIX as MODS_SUFFIX
from .mods import Deletion, read_mods
from .origin import Origin
from .tsfile import DeviceID
from .types import decode_text, encode_text

__all__ = [
    "SealedFile",
    "TsFileResource",
    "parse_tsfile_name",
    "tsfile_name",
]

RESOURCE_SUFFIX = ".resource"
META_SUFFIX = ".meta"
VERSION_NUMBER = 1
DEVICE_TIME_INDEX_TYPE = 1
EMPTY_BLOCK = 0
_NAME = re.compile(r"(-?\d+)-(\d+)-(\d+)-(\d+)\.tsfile")


def tsfile_name(millis: int, version: int, inner: int = 0, cross: int = 0) -> str:
    return f"{millis}-{version}-{inner}-{cross}.tsfile"


def parse_tsfile_name(name: str) -> tuple[int, int, int, int] | None:
    m = _NAME.fullmatch(name)
    return None if m is None else tuple(int(g) for g in m.groups())  # type: ignore[return-value]


# ---------------------------------------------------------------------- device ids
def _device_bytes(device: str, format_version: int) -> bytes:
    """The DeviceID bytes as the TsFile itself stores them (v4 segments, v3 one string)."""
    return DeviceID.from_path(device, format_version).serialize(format_version)


class _In:
    def __init__(self, data: bytes, path: Path) -> None:
        self.data, self.pos, self.path = data, 0, path

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise CorruptFileError(self.path, self.pos, "resource file truncated")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str) -> tuple:
        st = struct.Struct(fmt)
        return st.unpack(self.take(st.size))

    def uvar(self) -> int:
        shift = value = 0
        while True:
            (b,) = self.take(1)
            value |= (b & 0x7F) << shift
            if b < 0x80:
                return value
            shift += 7
            if shift > 35:
                raise CorruptFileError(self.path, self.pos, "varint too long")

    def vstr(self) -> str | None:
        u = self.uvar()
        n = (u >> 1) ^ -(u & 1)
        return None if n < 0 else decode_text(self.take(n))

    def istr(self) -> str | None:
        (n,) = self.unpack(">i")
        return None if n < 0 else decode_text(self.take(n))


@attrs.define
class TsFileResource:
    """The device -> (start, end) index of a TsFile and the sequence range it covers."""

    device_times: dict[str, tuple[int, int]] = attrs.field(factory=dict)
    min_plan_index: int = 2**63 - 1
    max_plan_index: int = -(2**63)
    mods_name: str | None = None

    def serialize(self, format_version: int) -> bytes:
        devices = list(self.device_times)
        parts = [struct.pack(">BBi", VERSION_NUMBER, DEVICE_TIME_INDEX_TYPE, len(devices))]
        parts += [struct.pack(">qq", *self.device_times[d]) for d in devices]
        for i, device in enumerate(devices):
            parts.append(_device_bytes(device, format_version) + struct.pack(">i", i))
        parts.append(struct.pack(">qq", self.max_plan_index, self.min_plan_index))
        if self.mods_name is None:
            parts.append(struct.pack(">i", -1))
        else:
            raw = encode_text(self.mods_name)
            parts.append(struct.pack(">i", len(raw)) + raw)
        parts.append(bytes([EMPTY_BLOCK]))
        return b"".join(parts)

    @classmethod
    def deserialize(cls, data: bytes, format_version: int, path: Path) -> TsFileResource:
        r = _In(data, path)
        version, index_type, count = r.unpack(">BBi")
        if version != VERSION_NUMBER or index_type != DEVICE_TIME_INDEX_TYPE or count < 0:
            raise CorruptFileError(path, 0, f"unsupported resource header {version}/{index_type}")
        ranges = [r.unpack(">qq") for _ in range(count)]
        devices: list[str | None] = [None] * count
        for _ in range(count):
            device = _read_device(r, format_version)
            (index,) = r.unpack(">i")
            if not 0 <= index < count:
                raise CorruptFileError(path, r.pos, f"device index {index} out of range")
            devices[index] = device
        max_plan, min_plan = r.unpack(">qq")
        mods = r.istr() if r.pos < len(data) else None
        times = {d: (int(a), int(b)) for d, (a, b) in zip(devices, ranges, strict=True) if d}
        return cls(times, int(min_plan), int(max_plan), mods)


def _read_device(r: _In, format_version: int) -> str:
    if format_version == 3:
        return r.vstr() or ""
    segments = [r.vstr() for _ in range(r.uvar())]
    return ".".join(s for s in segments if s is not None)


# ---------------------------------------------------------------------- sealed files
@attrs.define(eq=False)
class SealedFile:
    """A sealed (or loaded) TsFile of the store, with what the store knows about it.

    * `path` — the ``.tsfile``; `database`; `sequence` (False: an unsequence file);
    * `version` — from the file name; newer versions win over older ones;
    * `device_times` — device -> (start, end) from the resource;
    * `min_seq`, `max_seq` — the sequence numbers of the writes the file holds;
      `seal_seq` — the sequence number of the event that sealed (or loaded) it;
    * `origin` — `Origin(generated_by_pipe=True, ...)` only when every write in it came from
      a pipe receiver; `loaded` — the file came in through `load_tsfile`;
    * `mods` — deletions recorded against it (replaced, never mutated, when one is added).
    """

    path: Path
    database: str
    sequence: bool
    version: int
    device_times: dict[str, tuple[int, int]]
    min_seq: int
    max_seq: int
    seal_seq: int
    origin: Origin
    loaded: bool = False
    format_version: int = 4
    mods: tuple[Deletion, ...] = ()
    points: int = 0

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def resource_path(self) -> Path:
        return self.path.with_name(self.path.name + RESOURCE_SUFFIX)

    @property
    def mods_path(self) -> Path:
        return self.path.with_name(self.path.name + MODS_SUFFIX)

    @property
    def meta_path(self) -> Path:
        return self.path.with_name(self.path.name + META_SUFFIX)

    @property
    def start_time(self) -> int:
        return min((a for a, _ in self.device_times.values()), default=0)

    @property
    def end_time(self) -> int:
        return max((b for _, b in self.device_times.values()), default=-1)

    def covers_seq(self, first: int, last: int) -> bool:
        """Whether writes or the seal event with sequence numbers in [first, last] are here."""
        return (self.min_seq <= last and self.max_seq >= first) or first <= self.seal_seq <= last

    def resource(self) -> TsFileResource:
        mods = self.mods_path.name if self.mods else None
        return TsFileResource(dict(self.device_times), self.min_seq, self.max_seq, mods)

    def meta(self) -> dict:
        return {
            "database": self.database,
            "min_seq": self.min_seq,
            "max_seq": self.max_seq,
            "seal_seq": self.seal_seq,
            "generated_by_pipe": self.origin.generated_by_pipe,
            "cluster_id": self.origin.cluster_id,
            "lineage": list(self.origin.lineage),
            "loaded": self.loaded,
            "format_version": self.format_version,
            "points": self.points,
        }

    def write_side_files(self, *, sync: bool = True) -> None:
        """Write .meta then .resource (the commit point), each through a rename."""
        atomic_write(
            self.meta_path, json.dumps(self.meta(), indent=1).encode(), sync=sync, sync_dir=False
        )
        atomic_write(self.resource_path, self.resource().serialize(self.format_version), sync=sync)

    def sync_side_files(self) -> None:
        """fsync .meta, .resource and their folder (after `write_side_files(sync=False)`)."""
        fsync_file(self.meta_path)
        fsync_file(self.resource_path)
        fsync_dir(self.path.parent)

    def side_paths(self) -> list[Path]:
        return [self.path, self.resource_path, self.mods_path, self.meta_path]


def load_sealed(path: Path, database: str, sequence: bool) -> SealedFile:
    """Read a sealed file's side files (CorruptFileError when they cannot be read)."""
    parsed = parse_tsfile_name(path.name)
    if parsed is None:
        raise CorruptFileError(path, None, "not a TsFile name of the form time-version-0-0")
    meta_path = path.with_name(path.name + META_SUFFIX)
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, ValueError) as exc:
        raise CorruptFileError(meta_path, None, f"unreadable: {exc}") from exc
    fmt = int(meta.get("format_version", 4))
    res_path = path.with_name(path.name + RESOURCE_SUFFIX)
    resource = TsFileResource.deserialize(res_path.read_bytes(), fmt, res_path)
    return SealedFile(
        path=path,
        database=database,
        sequence=sequence,
        version=parsed[1],
        device_times=resource.device_times,
        min_seq=int(meta["min_seq"]),
        max_seq=int(meta["max_seq"]),
        seal_seq=int(meta["seal_seq"]),
        origin=Origin(
            bool(meta.get("generated_by_pipe")),
            meta.get("cluster_id"),
            tuple(meta.get("lineage") or ()),
        ),
        loaded=bool(meta.get("loaded")),
        format_version=fmt,
        mods=tuple(read_mods(path.with_name(path.name + MODS_SUFFIX))),
        points=int(meta.get("points", 0)),
    )
