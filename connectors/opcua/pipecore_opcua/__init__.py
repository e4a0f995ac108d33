"""pipecore's ``opc-ua-sink``, a separate distribution (``pipecore-opcua``) installed with pip
like any third-party plugin; registered through the ``pipecore`` entry point
``opcua = "pipecore_opcua"``. The sink is described in `pipecore_opcua.sink` and docs/sinks.md.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pipecore import hookimpl

from .sink import OpcUaSink

__all__ = ["OpcUaSink"]


@hookimpl
def register_pipe_plugins(register: Callable[..., Any]) -> None:
    register("sink", "opc-ua-sink", OpcUaSink)
