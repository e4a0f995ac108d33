"""pipecore built-in plugin package `pipecore_iotdb_source` (registered through the `pipecore` entry point)."""
