"""Deterministic ids of what enters the system: one rule for the API, the adapters and ingest.

A submitted version is named by (platform, id, version): resending it — a retried request, a
re-run of a partly failed ``hemicycle ingest`` file — yields the same event id, and every stage
downstream drops the repeat.
"""

from __future__ import annotations

import json
import uuid

from pipeline.schemas.contribution import Contribution
from pipeline.schemas.envelope import Trace
from pipeline.schemas.events import ContributionSubmitted

# Namespace of submission event ids: uuid5(namespace, '["platform", "id", version]').
SUBMISSION_NAMESPACE = uuid.UUID("8a3f2c64-1d7e-4b5a-9c0e-2f6d4e8b1a37")


def submission_event_id(platform: str, contribution_id: str, version: int) -> uuid.UUID:
    """The event id of a submitted version: the same (platform, id, version), the same id."""
    name = json.dumps([platform, contribution_id, version], ensure_ascii=False)
    return uuid.uuid5(SUBMISSION_NAMESPACE, name)


def submission_event(contribution: Contribution, *, producer: str) -> ContributionSubmitted:
    """``ContributionSubmitted`` with the deterministic event id (and trace id) of its version.

    Raises ``ValidationError`` when ``platform:id`` is longer than an event allows (200).
    """
    event_id = submission_event_id(contribution.platform, contribution.id, contribution.version)
    # contribution_id and contribution_version are filled from the contribution on validation.
    return ContributionSubmitted(  # type: ignore[call-arg]
        event_id=event_id,
        contribution=contribution,
        trace=Trace(trace_id=event_id.hex, producer=producer),
    )
