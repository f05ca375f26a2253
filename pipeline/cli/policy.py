"""``hemicycle policy check FILE``: validate a moderation policy and show what it does."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipeline.cli.common import EXIT_FAILED, EXIT_OK, Handlers, Subcommands
from pipeline.config import Settings


def register(sub: Subcommands) -> Handlers:
    policy = sub.add_parser("policy", help="moderation policy")
    policy_sub = policy.add_subparsers(dest="policy_command", required=True, metavar="ACTION")
    check = policy_sub.add_parser("check", help="validate a policy file and show what it does")
    check.add_argument("file", type=Path, metavar="FILE")
    return {"policy": cmd_policy}


def cmd_policy(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.ops.policy_report import describe_policy
    from pipeline.policy import PolicyError, load_policy

    try:
        policy = load_policy(args.file)
    except PolicyError as exc:
        print(f"hemicycle: invalid policy: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(describe_policy(policy, args.file))
    return EXIT_OK
