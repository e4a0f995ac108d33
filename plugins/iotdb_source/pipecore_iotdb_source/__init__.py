"""Built-in plugin package `pipecore_iotdb_source`, found through the `pipecore` entry point."""
