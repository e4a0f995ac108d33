"""pipecore built-in plugin package `pipecore_ssl_sink` (registered through the `pipecore` entry point)."""
