"""The server ring: the `Node` (data directory, config, plugins, pipes, store, SQL), its RPC
session handling, its users and its receivers. It uses the kernel, `pipecore.sql` and
`pipecore.rpc`; only the command line (`pipecore.cli`) and tests import it."""

from .node import Node

__all__ = ["Node"]
