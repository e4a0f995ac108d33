"""``pipecore users``: list, add, drop users of a node's data directory and change their
passwords (`pipecore.server.users.UserStore`)."""

from __future__ import annotations

import argparse
import getpass
import sys

from ..config import Config
from ..errors import ConfigError
from ..server.users import UserStore

__all__ = ["configure_users_command", "run_users_command"]


def configure_users_command(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "command", nargs="?", default="list", choices=["list", "passwd", "add", "drop"]
    )
    parser.add_argument("user", nargs="?")
    parser.add_argument("--password", help="the new password (default: ask twice)")


def _new_password(args: argparse.Namespace) -> str:
    if args.password is not None:
        return str(args.password)
    first = getpass.getpass(f"new password of {args.user}: ")
    if first != getpass.getpass("again: "):
        raise SystemExit("the passwords differ; nothing changed")
    return first


def _keeps_iotdb_digest(args: argparse.Namespace) -> bool:
    """The node setting ``iotdb_password_digest`` (``--config``, ``PIPECORE_*`` variables);
    its default when the file names keys of plugins not loaded here (a node started with the
    setting off forgets the forms anyway)."""
    try:
        return bool(Config.load(getattr(args, "config", None)).node.iotdb_password_digest)
    except ConfigError:
        return True


def run_users_command(args: argparse.Namespace) -> int:
    if not args.data_dir:
        print("error: pipecore users needs --data-dir", file=sys.stderr)
        return 2
    users = UserStore.for_data_dir(args.data_dir)
    users.iotdb_digest = _keeps_iotdb_digest(args)
    if args.command == "list":
        print("\n".join(users.users()))
        return 0
    if not args.user:
        print(f"error: {args.command} needs a user name", file=sys.stderr)
        return 2
    try:
        if args.command == "drop":
            users.drop_user(args.user)
        else:
            users.set_password(args.user, _new_password(args), create=args.command == "add")
    except KeyError as exc:
        print(f"error: {exc.args[0]}", file=sys.stderr)
        return 1
    print(f"{args.command}: {args.user} done ({users.path})")
    return 0
