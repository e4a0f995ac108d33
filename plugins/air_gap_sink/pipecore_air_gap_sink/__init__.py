"""pipecore built-in plugin package `pipecore_air_gap_sink` (registered through the `pipecore` entry point)."""
