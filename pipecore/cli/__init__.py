"""The command line, the outer ring: ``pipecore serve | sql | demo | users`` (`main`), the SQL
shell, the demo and the remote SQL client. It may use every ring below it; nothing imports it."""

from .main import COMMANDS, build_parser, main

__all__ = ["COMMANDS", "build_parser", "main"]
