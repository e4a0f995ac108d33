"""Built-in plugin package `pipecore_thrift_sink`, found through the `pipecore` entry point."""
