"""``hemicycle deliveries``: subcommands (a command group of :mod:`pipeline.cli`).

* ``hemicycle deliveries retry [--platform NAME] [--dry-run]``: re-attempts the webhook
  deliveries the ``delivery`` worker dead-lettered, with the same sender and retries. One line
  per event (delivered, or failed with the reason) and a summary; exit 0 when every one was
  delivered, 1 otherwise. Successful replays are recorded in the store (cache namespace
  ``delivery-replayed``) and skipped on later runs, as are events delivered meanwhile. An
  outcome older than one already delivered for the same contribution is not sent (it would
  undo the later decision on the platform).
"""

from __future__ import annotations

import argparse
import base64
import sys
from dataclasses import dataclass, field
from typing import Any

from pipeline.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, Handlers, Subcommands
from pipeline.config import Settings


def register(sub: Subcommands) -> Handlers:
    deliveries = sub.add_parser("deliveries", help="webhook deliveries to platforms")
    actions = deliveries.add_subparsers(dest="deliveries_command", required=True, metavar="ACTION")
    retry = actions.add_parser(
        "retry", help="re-attempt the dead-lettered webhook deliveries (delivery worker)"
    )
    retry.add_argument("--platform", metavar="NAME", help="only deliveries to this platform")
    retry.add_argument(
        "--dry-run", action="store_true", help="list what would be retried; send nothing"
    )
    return {"deliveries": cmd_deliveries}


@dataclass
class _Pending:
    """Dead letters of the delivery worker still to replay, oldest first."""

    events: list[Any] = field(default_factory=list)
    unreplayable: list[tuple[str, str]] = field(default_factory=list)  # (letter id, why)
    already: int = 0


def cmd_deliveries(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.bus import open_bus
    from pipeline.delivery.deliverer import Deliverer
    from pipeline.delivery.webhooks import WebhookConfigError
    from pipeline.store import open_store

    store = open_store(settings)
    try:
        try:
            deliverer = Deliverer.from_settings(settings, store)
        except WebhookConfigError as exc:
            print(f"hemicycle: {exc}", file=sys.stderr)
            return EXIT_USAGE
        bus = open_bus(settings)
        try:
            pending = _pending(bus, store, settings, args.platform)
        finally:
            bus.close()
        try:
            return _retry(deliverer, store, pending, dry_run=args.dry_run)
        finally:
            deliverer.close()
    finally:
        store.close()


def _pending(bus: Any, store: Any, settings: Settings, platform: str | None) -> _Pending:
    from pipeline.delivery.deliverer import REPLAYED, SENT
    from pipeline.delivery.payloads import event_platform
    from pipeline.privacy import SealError, sealer_for
    from pipeline.schemas import DeadLetter, EventDecodeError, decode_event
    from pipeline.workers.delivery import DeliveryStage

    pending = _Pending()
    seen: set[str] = set()
    for record in bus.read(settings.topic("deadletter")):
        try:
            letter = DeadLetter.model_validate_json(record.value)
        except ValueError:
            continue  # not a dead letter of ours to replay
        if letter.origin.stage != DeliveryStage.name:
            continue
        raw = (
            base64.b64decode(letter.raw_payload)
            if letter.payload_encoding == "base64"
            else letter.raw_payload.encode("utf-8")
        )
        try:
            event = decode_event(
                raw,
                expected=DeliveryStage.accepts,
                context=settings.validation_context,
                max_bytes=settings.max_event_bytes,
            )
            event = sealer_for(settings, store).open(event)
        except (EventDecodeError, SealError) as exc:
            if platform is None:
                reason = exc.reason if isinstance(exc, EventDecodeError) else str(exc)
                pending.unreplayable.append((str(letter.event_id), reason))
            continue
        if platform is not None and event_platform(event) != platform:
            continue
        event_id = str(event.event_id)
        if event_id in seen:  # dead-lettered more than once (a replayed batch)
            continue
        seen.add(event_id)
        if store.cache_get(REPLAYED, event_id) or store.cache_get(SENT, event_id):
            pending.already += 1
            continue
        pending.events.append(event)
    return pending


def _describe(event: Any) -> str:
    return f"{event.event_id} ({event.type} of {event.contribution_id})"


def _retry(deliverer: Any, store: Any, pending: _Pending, *, dry_run: bool) -> int:
    from pipeline.delivery.deliverer import REPLAYED
    from pipeline.delivery.payloads import event_platform

    for letter_id, why in pending.unreplayable:
        print(f"not replayable: dead letter {letter_id}: {why}")
    if dry_run:
        for event in pending.events:
            platform = event_platform(event)
            webhook = deliverer.webhooks.for_platform(platform)
            where = webhook.display_url if webhook else "no webhook configured"
            print(f"would retry {_describe(event)} → {platform} ({where})")
        print(
            f"{len(pending.events)} dead-lettered deliveries to retry "
            f"({pending.already} delivered earlier); dry run: nothing sent"
        )
        return EXIT_OK
    delivered = failed = superseded = 0
    for result in deliverer.deliver(pending.events):
        if result.status == "delivered":
            delivered += 1
            store.cache_set(REPLAYED, result.event_id, "1")
            print(f"delivered {_describe(result.event)} to {result.url}: {result.detail}")
        elif result.status == "skipped" and result.detail.startswith("superseded"):
            superseded += 1
            store.cache_set(REPLAYED, result.event_id, "superseded")
            print(f"skipped {_describe(result.event)}: {result.detail}")
        elif result.status == "skipped" and result.detail == "already delivered":
            pending.already += 1
        else:
            failed += 1
            print(f"failed {_describe(result.event)}: {result.detail}")
    summary = f"retried {len(pending.events)} dead-lettered deliveries: {delivered} delivered, "
    summary += f"{failed} failed"
    if superseded:
        summary += f", {superseded} superseded (not sent)"
    summary += f"; {pending.already} delivered earlier"
    if pending.unreplayable:
        summary += f"; {len(pending.unreplayable)} not replayable"
    print(summary)
    return EXIT_FAILED if failed else EXIT_OK
