"""Fixtures of the pipe end-to-end tests (issue 15): real `pipecore serve` processes from
tests/thrift/thrift_processes.py."""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
for _folder in (_HERE, _HERE.parent / "thrift", _HERE.parent / "airgap", _HERE.parent / "ssl"):
    if str(_folder) not in sys.path:
        sys.path.insert(0, str(_folder))
