"""Built-in plugin package `pipecore_ssl_sink`, found through the `pipecore` entry point."""
