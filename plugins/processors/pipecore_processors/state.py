"""A processor's saved state: one JSON file in the pipe's own directory, replaced atomically
(temporary file, fsync, rename), so a crash leaves the old or the new state, never a torn one."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

__all__ = ["load_state", "save_state"]


def save_state(path: Path, state: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(state, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def load_state(path: Path) -> Any:
    """The saved state, or None when there is none (or it cannot be read: start afresh)."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None
