"""The envelope every event shares, and the trace that follows one contribution."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1

# Namespace of derived event ids (uuid5): reprocessing an input yields the same output ids.
DERIVED_NAMESPACE = uuid.UUID("5d1c7f3e-2b0e-4c47-9a53-6f0f6c8e9b21")


def utc_now() -> datetime:
    return datetime.now(UTC)


class Trace(BaseModel):
    """Ids for following one contribution through the system.

    ``trace_id`` is shared by every event descending from one submission; ``causation_id`` is
    the ``event_id`` of the event this one was produced from; ``producer`` names the stage.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    trace_id: str = Field(default_factory=lambda: uuid.uuid4().hex, max_length=100)
    causation_id: str | None = Field(None, max_length=100)
    producer: str | None = Field(None, max_length=100)


class Envelope(BaseModel):
    """Fields common to every event. Subclasses fix ``type`` to their class name."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    type: str
    schema_version: int = Field(SCHEMA_VERSION, ge=1, le=SCHEMA_VERSION)
    occurred_at: AwareDatetime = Field(default_factory=utc_now)
    contribution_id: str = Field(min_length=1, max_length=200)
    contribution_version: int = Field(ge=1)
    trace: Trace = Field(default_factory=Trace)

    def derive(
        self, event_type: type[Self] | Any, *, producer: str, part: str = "", **fields: Any
    ) -> Any:
        """A new event caused by this one: same contribution and trace.

        Its ``event_id`` is derived from this event's id, the producer, the output type and
        ``part`` (for stages emitting several events of one type per input), so processing the
        same input again after a crash yields the *same* ids and consumers can drop the repeat.
        """
        fields.setdefault("contribution_id", self.contribution_id)
        fields.setdefault("contribution_version", self.contribution_version)
        name = f"{self.event_id}/{producer}/{event_type.__name__}/{part}"
        fields.setdefault("event_id", uuid.uuid5(DERIVED_NAMESPACE, name))
        trace = Trace(
            trace_id=self.trace.trace_id, causation_id=str(self.event_id), producer=producer
        )
        return event_type(trace=trace, **fields)

    def to_json(self) -> bytes:
        return self.model_dump_json().encode()

    def headers(self) -> dict[str, str]:
        """Kafka-style headers: enough to route without parsing the JSON value."""
        return {
            "type": self.type,
            "schema_version": str(self.schema_version),
            "event_id": str(self.event_id),
        }
