"""pipecore built-in plugin package `pipecore_thrift_sink` (registered through the `pipecore` entry point)."""
