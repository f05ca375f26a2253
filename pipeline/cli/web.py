"""``hemicycle serve`` (moderator UI and platform API) and ``hemicycle users``."""

from __future__ import annotations

import argparse
import getpass
import sys

from pipeline.cli.common import Handlers, Subcommands
from pipeline.config import Settings


def register(sub: Subcommands) -> Handlers:
    serve = sub.add_parser("serve", help="serve the moderator UI and the platform API")
    serve.add_argument("--host", help="address to listen on (HEMICYCLE_HTTP_HOST)")
    serve.add_argument("--port", type=int, help="port to listen on (HEMICYCLE_HTTP_PORT)")

    users = sub.add_parser("users", help="staff accounts of the moderator UI")
    users_sub = users.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    add = users_sub.add_parser("add", help="add an account (the password is prompted)")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=["moderator", "translator", "admin"])
    add.add_argument("--language", default="en", help="language translations are shown in")
    add.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    users_sub.add_parser("list", help="accounts and roles")
    role = users_sub.add_parser("set-role", help="change an account's role")
    role.add_argument("name")
    role.add_argument("role", choices=["moderator", "translator", "admin"])
    passwd = users_sub.add_parser("passwd", help="set an account's password")
    passwd.add_argument("name")
    passwd.add_argument("--password-stdin", action="store_true")
    for action, verb in (
        ("disable", "disable an account: its sessions end, it cannot log in"),
        ("enable", "enable a disabled account again"),
    ):
        users_sub.add_parser(action, help=verb).add_argument("name")
    return {"serve": cmd_serve, "users": cmd_users}


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from moderator_ui.server import serve

    host = args.host or settings.http_host
    port = args.port if args.port is not None else settings.http_port
    print(f"Hemicycle: moderator UI at http://{host}:{port}/ (API docs at /docs)", flush=True)
    serve(settings, host=host, port=port)
    return 0


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Repeat: ") != first:
        raise ValueError("the passwords differ")
    return first


def cmd_users(args: argparse.Namespace, settings: Settings) -> int:
    from moderator_ui.accounts import AccountError, Accounts
    from moderator_ui.audit import AuditLog
    from pipeline.store import open_store

    store = open_store(settings)
    accounts, audit = Accounts(store), AuditLog(store)
    actor = f"cli:{getpass.getuser()}"
    try:
        if args.users_command == "add":
            user = accounts.add(args.name, args.role, _password(args), language=args.language)
            audit.record(actor, "user_added", target=user.name, detail=user.role)
            print(f"added {user.name} ({user.role})")
        elif args.users_command == "list":
            for user in accounts.all():
                state = "  disabled" if user.disabled else ""
                print(f"{user.name:<24} {user.role:<11} {user.language}{state}")
        elif args.users_command == "set-role":
            user, before = accounts.set_role(args.name, args.role)
            audit.record(actor, "role_changed", target=user.name, detail=f"{before} → {user.role}")
            print(f"{user.name}: {before} → {user.role}")
        elif args.users_command in ("disable", "enable"):
            disabled = args.users_command == "disable"
            user = accounts.set_disabled(args.name, disabled)
            audit.record(actor, f"user_{args.users_command}d", target=user.name)
            ended = "; every session of it ended" if disabled else ""
            print(f"{user.name} {args.users_command}d{ended}")
        else:
            user = accounts.set_password(args.name, _password(args))
            audit.record(actor, "password_changed", target=user.name, detail="sessions ended")
            print(f"password of {user.name} changed; every session of it ended")
    except (AccountError, ValueError) as exc:
        print(f"hemicycle: {exc}", file=sys.stderr)
        return 2
    finally:
        store.close()
    return 0
