"""``hemicycle apikeys``: subcommands (a command group of :mod:`pipeline.cli`).

* ``hemicycle apikeys create PLATFORM``: prints a new key for PLATFORM on standard output,
  once (only its hash is stored);
* ``hemicycle apikeys revoke KEY``: the key stops working at once.
"""

from __future__ import annotations

import argparse
import sys

from pipeline.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, Handlers, Subcommands
from pipeline.config import Settings


def register(sub: Subcommands) -> Handlers:
    apikeys = sub.add_parser("apikeys", help="API keys of platforms (ingest and Decidim APIs)")
    actions = apikeys.add_subparsers(dest="apikeys_command", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="create a key for PLATFORM and print it once")
    create.add_argument(
        "platform", metavar="PLATFORM", help="the `platform` of its contributions, e.g. decidim-bcn"
    )
    revoke = actions.add_parser("revoke", help="revoke a key (it stops working at once)")
    revoke.add_argument("key", metavar="KEY")
    return {"apikeys": cmd_apikeys}


def cmd_apikeys(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.api.apikeys import ApiKeyError, create_key, revoke_key
    from pipeline.store import open_store

    store = open_store(settings)
    try:
        if args.apikeys_command == "create":
            try:
                key = create_key(store, args.platform)
            except ApiKeyError as exc:
                print(f"hemicycle: {exc}", file=sys.stderr)
                return EXIT_USAGE
            print(
                f"API key for platform {args.platform.strip()!r} created. It is shown only "
                "once: store it now (Hemicycle keeps only its hash).",
                file=sys.stderr,
            )
            print(key)
            return EXIT_OK
        try:
            platform = revoke_key(store, args.key)
        except ApiKeyError as exc:
            print(f"hemicycle: {exc}", file=sys.stderr)
            return EXIT_FAILED
        print(f"revoked the API key of platform {platform!r}")
        return EXIT_OK
    finally:
        store.close()
