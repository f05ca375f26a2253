"""``hemicycle dsa``: statements of reasons for the DSA Transparency Database.

* ``hemicycle dsa export [--from DATE] [--to DATE] [--platform NAME] [-o FILE]``: one JSON
  object per statement, in the API's field names and codes (exit 1 if some statement breaks
  one of the API's rules: it is named on standard error and left out).
* ``hemicycle dsa submit --endpoint URL [...]``: sends them (token ``HEMICYCLE_DSA_TOKEN``),
  skipping those already accepted; prints a summary; exit 0 when everything was accepted.
* ``hemicycle dsa categories [--json]``: the category table in effect.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pipeline.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, Handlers, Subcommands
from pipeline.config import Settings

if TYPE_CHECKING:
    from pipeline.dsa.categories import CategoryTable
    from pipeline.store.base import QueueStore


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date (YYYY-MM-DD)") from exc


def _endpoint(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise argparse.ArgumentTypeError(f"{value!r} is not an http(s) URL")
    return value.rstrip("/")


def _selection(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--from", dest="since", type=_date, metavar="DATE", help="applied on or after"
    )
    parser.add_argument(
        "--to", dest="until", type=_date, metavar="DATE", help="applied on or before"
    )
    parser.add_argument("--platform", metavar="NAME", help="only this platform's statements")


def register(sub: Subcommands) -> Handlers:
    dsa = sub.add_parser("dsa", help="DSA statements of reasons (Transparency Database)")
    actions = dsa.add_subparsers(dest="dsa_command", required=True, metavar="ACTION")
    export = actions.add_parser("export", help="statements as JSON lines in the API's fields")
    _selection(export)
    export.add_argument("--output", "-o", type=Path, help="write here instead of standard output")
    submit = actions.add_parser("submit", help="send statements to the Transparency Database")
    submit.add_argument(
        "--endpoint", required=True, type=_endpoint, metavar="URL", help="the API's base URL"
    )
    _selection(submit)
    submit.add_argument("--batch-size", type=int, default=100, help="statements per call (≤ 100)")
    submit.add_argument("--attempts", type=int, default=6, help="tries of a call on 5xx/network")
    submit.add_argument("--backoff-s", type=float, default=1.0, help="first wait between tries")
    submit.add_argument("--timeout-s", type=float, default=30.0, help="timeout of a call")
    categories = actions.add_parser("categories", help="the category table in effect")
    categories.add_argument("--json", action="store_true", help="machine-readable output")
    return {"dsa": cmd_dsa}


def cmd_dsa(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.dsa.categories import CategoryTableError, load_table

    try:
        table = load_table(settings.dsa_categories_file)
    except CategoryTableError as exc:
        print(f"hemicycle: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.dsa_command == "categories":
        return _categories(table, as_json=args.json)
    if args.dsa_command == "submit" and settings.dsa_token is None:
        print("hemicycle: HEMICYCLE_DSA_TOKEN is not set", file=sys.stderr)
        return EXIT_USAGE
    if args.dsa_command == "submit" and not 1 <= args.batch_size <= 100:
        print("hemicycle: --batch-size must be 1 to 100", file=sys.stderr)
        return EXIT_USAGE

    from pipeline.dsa.export import collect, convert
    from pipeline.store import open_store

    store = open_store(settings)
    try:
        statements = collect(store, since=args.since, until=args.until, platform=args.platform)
        converted = convert(
            statements, table=table, territorial_scope=settings.dsa_territorial_scope
        )
        for refusal in converted.refused:
            print(f"hemicycle: {refusal} (not exported)", file=sys.stderr)
        if args.dsa_command == "export":
            code = _export(converted.rows, args.output)
        else:
            code = _submit(args, settings, store, converted.rows)
    finally:
        store.close()
    return EXIT_FAILED if converted.refused else code


def _export(rows: list[dict[str, Any]], output: Path | None) -> int:
    from pipeline.dsa.export import write_jsonl

    if output is None:
        write_jsonl(rows, sys.stdout)
        return EXIT_OK
    tmp = output.with_name(output.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as out:
        count = write_jsonl(rows, out)
    tmp.replace(output)
    print(f"{count} statements written to {output}", file=sys.stderr)
    return EXIT_OK


def _submit(
    args: argparse.Namespace, settings: Settings, store: QueueStore, rows: list[dict[str, Any]]
) -> int:
    from pipeline.dsa.submit import SubmitError, Submitter, Summary

    assert settings.dsa_token is not None
    submitter = Submitter(
        args.endpoint,
        settings.dsa_token.get_secret_value(),
        store,
        batch_size=args.batch_size,
        attempts=args.attempts,
        backoff_s=args.backoff_s,
        timeout_s=args.timeout_s,
    )
    summary = Summary()
    try:
        submitter.submit(rows, summary)
    except SubmitError as exc:
        print(f"hemicycle: {exc}", file=sys.stderr)
        print(summary.line())
        return EXIT_FAILED
    finally:
        submitter.close()
    print(summary.line())
    return EXIT_OK


def _categories(table: CategoryTable, *, as_json: bool) -> int:
    from pipeline.dsa.categories import TAXONOMY

    keys = list(dict.fromkeys([*TAXONOMY, *table.categories]))
    rows = {key: table.lookup(key).model_dump() for key in keys}
    rows["(fallback)"] = table.fallback.model_dump()
    if as_json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return EXIT_OK
    for key, row in rows.items():
        mark = "" if key in table.categories or key == "(fallback)" else "  (fallback)"
        keywords = ", ".join(row["specification"]) or "-"
        print(f"{key:<16} {row['category']:<68} {row['ground']:<12} {keywords}{mark}")
    return EXIT_OK
