"""Built-in trivial plugins of the core (do-nothing-processor, do-nothing-sink)."""
