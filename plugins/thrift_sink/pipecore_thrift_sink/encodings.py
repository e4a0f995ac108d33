"""Declared encodings that a TsFile cannot show, carried in a seal's parameters.

pipecore's store writes some registered encodings as another one the official readers can
read (BOOLEAN RLE as PLAIN, FLOAT/DOUBLE RLE as TS_2DIFF, GORILLA_V1 as GORILLA: see
`pipecore_storage.tsfile.pages.written_schema`); the chunk headers then name the substitute.
So that a receiver creating the series from the file declares them as the sender did, a sink
sending to a pipecore receiver (handshake v2) puts the sender's declared encodings of those
series in the seal's parameters (``pipecore.encodings``: a JSON object, series path ->
encoding name) and seals with type 9 even without mods; the receiver's LOAD uses them for
series it creates. An IoTDB receiver is not told (it would not read the key).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pipecore_storage.tsfile.pages import written_schema

__all__ = ["ENCODINGS_PARAM", "declared_encodings", "encodings_hint"]

ENCODINGS_PARAM = "pipecore.encodings"


def declared_encodings(store: Any, devices: Any) -> dict[str, str]:
    """The series of `devices` whose declared encoding the file's chunks cannot show."""
    out: dict[str, str] = {}
    if store is None:
        return out
    for device in devices:
        try:
            series = store.list_series(f"{device}.*")
        except Exception:  # a device path the store cannot parse: nothing to hint
            continue
        for s in series:
            try:
                written = written_schema(s.schema).encoding
            except Exception:
                continue
            if written != s.schema.encoding:
                out[s.path] = s.schema.encoding.name
    return out


def encodings_hint(params: Mapping[str, str | None]) -> dict[str, str] | None:
    """The declared encodings a seal carries (None when it carries none or they are bad)."""
    text = params.get(ENCODINGS_PARAM)
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if not isinstance(value, dict):
        return None
    return {str(k): str(v) for k, v in value.items() if isinstance(v, str)}
