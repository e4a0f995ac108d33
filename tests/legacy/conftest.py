"""Fixtures of the sync-tool tests (IoTDB 1.0/1.1's legacy protocol): the thrift tests' helpers
and real `pipecore serve` processes (tests/thrift)."""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
for _folder in (_HERE, _HERE.parent / "thrift"):
    if str(_folder) not in sys.path:
        sys.path.insert(0, str(_folder))
