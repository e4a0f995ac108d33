"""Built-in plugin package `pipecore_air_gap_sink`, found through the `pipecore` entry point."""
