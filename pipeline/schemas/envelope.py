"""The envelope every event shares, and the trace that follows one contribution."""

from __future__ import annotations

import builtins
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

# Schema versions are per event type, ``"major.minor"``. A reader accepts any minor version of
# the majors it knows (unknown fields are ignored inside the system), upcasts older majors with
# the type's upcasters, and refuses a newer major with a reason that names it.
SCHEMA_VERSION = "1.0"
_VERSION = re.compile(r"^(\d{1,4})(?:\.(\d{1,4}))?$")

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]

# Namespace of derived event ids (uuid5): reprocessing an input yields the same output ids.
DERIVED_NAMESPACE = uuid.UUID("5d1c7f3e-2b0e-4c47-9a53-6f0f6c8e9b21")


# ``builtins.type`` in the class body: ``Envelope.type`` is the event type's name field.
_Derived = TypeVar("_Derived", bound="Envelope")


def utc_now() -> datetime:
    return datetime.now(UTC)


class Trace(BaseModel):
    """Ids for following one contribution through the system.

    ``trace_id`` is shared by every event descending from one submission; ``causation_id`` is
    the ``event_id`` of the event this one was produced from; ``producer`` names the stage.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    trace_id: str = Field(default_factory=lambda: uuid.uuid4().hex, max_length=100)
    causation_id: str | None = Field(None, max_length=100)
    producer: str | None = Field(None, max_length=100)


class Envelope(BaseModel):
    """Fields common to every event. Subclasses fix ``type`` to their class name.

    Internal events are read tolerantly: unknown fields are ignored (a newer minor version
    written by an upgraded worker is read by an older one). Edge events (what platforms send)
    override ``model_config`` with ``extra="forbid"``. ``SCHEMA`` is the type's
    ``(major, minor)``; ``UPCASTERS[n]`` turns a major-``n`` payload into major ``n + 1``.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)
    SCHEMA: ClassVar[tuple[int, int]] = (1, 0)
    UPCASTERS: ClassVar[dict[int, Upcaster]] = {}

    event_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    type: str
    schema_version: str = Field(
        "", description='"major.minor" of this event type (older integers read as "N.0").'
    )
    occurred_at: AwareDatetime = Field(default_factory=utc_now)
    contribution_id: str = Field(min_length=1, max_length=200)
    contribution_version: int = Field(ge=1)
    trace: Trace = Field(default_factory=Trace)

    @classmethod
    def current_version(cls) -> str:
        return f"{cls.SCHEMA[0]}.{cls.SCHEMA[1]}"

    @model_validator(mode="before")
    @classmethod
    def _read_version(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return upcast(cls, data)
        return data

    def derive(
        self, event_type: builtins.type[_Derived], *, producer: str, part: str = "", **fields: Any
    ) -> _Derived:
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


def parse_version(raw: object) -> tuple[int, int]:
    """``"2.1"`` → ``(2, 1)``; integers (the first schema's form) are ``(N, 0)``."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw, 0
    match = _VERSION.match(raw) if isinstance(raw, str) else None
    if match is None:
        raise ValueError(f'schema_version: expected "major.minor", got {raw!r}')
    return int(match.group(1)), int(match.group(2) or 0)


def upcast(cls: type[Envelope], data: dict[str, Any]) -> dict[str, Any]:
    """Bring a payload of any known major version of ``cls`` to its current shape."""
    raw = data.get("schema_version")
    if raw is None or raw == "":
        return {**data, "schema_version": cls.current_version()}
    major, minor = parse_version(raw)
    current = cls.SCHEMA[0]
    if major > current:
        raise ValueError(
            f"schema_version {raw}: {cls.__name__} major version {major} is newer than this "
            f"worker reads (up to {current}.x); upgrade the worker to read it"
        )
    if major < 1:
        raise ValueError(f"schema_version {raw}: major versions start at 1")
    while major < current:
        step = cls.UPCASTERS.get(major)
        if step is None:
            raise ValueError(f"schema_version {raw}: no upcaster from {cls.__name__} {major}.x")
        data = step(dict(data))
        major, minor = major + 1, 0
    return {**data, "schema_version": f"{major}.{minor}"}
