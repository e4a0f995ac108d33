"""Manage the users a node's pipe receiver accepts (``<data dir>/system/users.json``).

    python -m pipecore_thrift_sink.users DATA_DIR list
    python -m pipecore_thrift_sink.users DATA_DIR passwd USER      # asks for the new password
    python -m pipecore_thrift_sink.users DATA_DIR add USER
    python -m pipecore_thrift_sink.users DATA_DIR drop USER

A new node accepts ``root`` / ``root`` (IoTDB's default): change it before opening the RPC
port to anyone. Changes apply to the next handshake; a running node need not restart.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Sequence

from .access import UserStore

__all__ = ["main"]


def _password(args: argparse.Namespace) -> str:
    if args.password is not None:
        return str(args.password)
    first = getpass.getpass(f"new password of {args.user}: ")
    if first != getpass.getpass("again: "):
        raise SystemExit("the passwords differ; nothing changed")
    return first


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipecore_thrift_sink.users")
    parser.add_argument("data_dir", help="the node's data directory")
    parser.add_argument("command", choices=["list", "passwd", "add", "drop"])
    parser.add_argument("user", nargs="?")
    parser.add_argument("--password", help="the new password (default: ask)")
    args = parser.parse_args(argv)
    users = UserStore.for_data_dir(args.data_dir)
    if args.command == "list":
        print("\n".join(users.users()))
        return 0
    if not args.user:
        parser.error(f"{args.command} needs a user name")
    try:
        if args.command == "drop":
            users.drop_user(args.user)
        else:
            users.set_password(args.user, _password(args), create=args.command == "add")
    except KeyError as exc:
        print(f"error: {exc.args[0]}", file=sys.stderr)
        return 1
    print(f"{args.command}: {args.user} done ({users.path})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
