"""pipecore.testing — for plugin authors and for pipecore's own tests.

* `ConnectorTests`, `ProcessorTests` — conformance kits (pytest): subclass them in your
  plugin's test module (see docs/plugin-authoring.md). Imported lazily, so importing
  ``pipecore.testing`` does not need pytest.
* `pipecore.testing.plugins` — ``generated-source``, ``counting-sink``, ``collecting-sink``.
* `wait_until` — poll a condition with a deadline.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from . import plugins

__all__ = ["ConnectorTests", "ProcessorTests", "plugins", "wait_until"]


def wait_until(condition: Callable[[], Any], timeout: float = 30.0, interval: float = 0.005) -> Any:
    """Poll `condition` until it returns something truthy (returned); `TimeoutError` after
    `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {timeout} s: {condition}")
        time.sleep(interval)


def __getattr__(name: str) -> Any:
    if name in ("ConnectorTests", "ProcessorTests"):
        from . import conformance

        return getattr(conformance, name)
    raise AttributeError(name)
