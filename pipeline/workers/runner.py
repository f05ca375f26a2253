"""The worker runner, written once: poll → validate → batch → process → produce → commit.

Delivery guarantee, in this order for every batch:

1. poll up to ``batch_max_events`` records (waiting at most ``batch_max_wait_ms``);
2. decode and validate each; an invalid record becomes a ``DeadLetter`` (``invalid_event``);
3. hand the valid events to the stage as one batch; if the batch fails, retry event by event
   with bounded, doubling backoff; an event that still fails becomes a ``DeadLetter``
   (``processing_failed``) with the error, and the others go on;
4. publish outputs and dead letters, then **flush** (every output acknowledged); an output
   the bus refuses for what it is (too large) turns its input into a ``DeadLetter``
   (``processing_failed``); a dead letter the bus still refuses is logged and counted
   (``undeliverable``), and the worker moves on;
5. only then **commit** the input offsets.

Dead letters are bounded (see :mod:`pipeline.workers.dead_letters`): the head of the raw
payload with the size and SHA-256 of the whole, so no input can stop a stage.

A crash anywhere before 5 replays the batch (at-least-once); stages are idempotent. A stop
request (SIGTERM/SIGINT) is honoured between batches: the current batch finishes and commits.
Infrastructure failures (bus or store unreachable) are not the events' fault: nothing is
committed and :meth:`Runner.step` raises. The loop (:func:`run_until`, through
:meth:`Runner.step_through_outages`) then waits with doubling backoff (up to
:data:`OUTAGE_BACKOFF_MAX_S`), logging and counting each wait, reopens its consumer so the
batch is read again from the last commit, and goes on once the backend answers: a worker
rides out a Redis or Kafka outage instead of exiting and crash-looping.
"""

from __future__ import annotations

import signal
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from types import FrameType
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar, cast

from pipeline.bus.base import (
    Bus,
    BusError,
    BusUnavailable,
    Record,
    RecordsRefused,
    TopicPartition,
    total_lag,
)
from pipeline.config import Settings
from pipeline.errors import PermanentError
from pipeline.logs import get_logger
from pipeline.privacy import Sealer, SealError, Unsealed, sealer_for
from pipeline.schemas import DeadLetter, EventDecodeError, Origin, decode_event
from pipeline.schemas.envelope import Envelope
from pipeline.store import open_store
from pipeline.store.base import QueueStore, StoreError, StoreUnavailable
from pipeline.workers.dead_letters import KEY_MAX_CHARS, REASON_MAX_CHARS, bounded, payload_head

if TYPE_CHECKING:
    from pipeline.metrics import StageMetrics

log = get_logger("runner")
OUTAGE_BACKOFF_MAX_S = 5.0  # longest wait between attempts while the store or bus is down


class StageError(PermanentError):
    """An event this stage can never process (permanent): dead-lettered without retries."""


InT = TypeVar("InT", bound=Envelope)


class Stage(ABC, Generic[InT]):
    """One pipeline stage: a function from a batch of input events to output events.

    ``InT`` is the type of its input events: the union of the classes in ``accepts``.
    """

    name: ClassVar[str]
    inputs: ClassVar[tuple[str, ...]]  # logical topics (see pipeline.config.TOPICS)
    accepts: ClassVar[tuple[type[Envelope], ...]]
    # The personal fields the stage reads (None: all); the runner opens only these, the rest
    # stays sealed (see pipeline.privacy.sealing).
    opens: ClassVar[frozenset[str] | None] = None

    @abstractmethod
    def process(self, events: Sequence[InT]) -> Sequence[Envelope]:
        """Outputs for ``events`` (already validated, in partition order).

        Raise :class:`StageError` for an event that can never succeed; any other exception
        is retried. Must be idempotent: the same event may be processed more than once.
        """

    @classmethod
    @abstractmethod
    def from_settings(cls, settings: Settings, store: QueueStore) -> Stage[InT]:
        """Build the stage from configuration (loading its models from local paths)."""

    def decode(self, value: bytes, settings: Settings) -> InT:
        """One record value as a validated event; raise :class:`EventDecodeError` (with a
        reason: the record is dead-lettered). A stage may drop parts it never reads first."""
        event = decode_event(
            value,
            expected=self.accepts,
            context=settings.validation_context,
            max_bytes=settings.max_event_bytes,
        )
        return cast(InT, event)  # one of ``accepts``, the classes InT stands for

    def close(self) -> None:
        """Release models and connections."""


@dataclass
class RunnerStats:
    batches: int = 0
    events: int = 0
    outputs: int = 0
    dead_letters: int = 0
    retries: int = 0
    undeliverable: int = 0  # dead letters the bus refused: logged, counted, skipped
    outage_waits: int = 0  # waits for an unreachable store or bus (the batch is read again)
    busy_s: float = 0.0
    by_reason: dict[str, int] = field(default_factory=dict)


class Runner:
    """Drives one stage over the bus in consumer group ``<topic_prefix><stage name>``.

    With ``metrics``, each batch is counted into the Prometheus metrics of
    :mod:`pipeline.metrics` and the consumer lag is read at most every
    :data:`pipeline.metrics.REFRESH_INTERVAL_S`; without (the default) nothing is measured.
    """

    def __init__(
        self, stage: Stage[Any], bus: Bus, settings: Settings, *, metrics: bool = False
    ) -> None:
        self.stage = stage
        self.bus = bus
        self.settings = settings
        self.group = f"{settings.topic_prefix}{stage.name}"
        self.topics = [settings.topic(name) for name in stage.inputs]
        self.consumer = bus.consumer(self.group, self.topics)
        self.producer = bus.producer()
        self.stats = RunnerStats()
        self.sleep: Callable[[float], None] = time.sleep
        self.polls = 0  # completed polls: the first one joins the consumer group
        self._outage_attempts = 0  # consecutive waits for an unreachable store or bus
        self._reopen_consumer = False  # after an outage: resume at the last commit
        self.metrics: StageMetrics | None = None
        if metrics:
            from pipeline.metrics import StageMetrics

            self.metrics = StageMetrics(stage.name, self.group)
        self.sealer = self._sealer()

    def _sealer(self) -> Sealer | Unsealed:
        """Opens what the stage reads and seals what it writes (personal fields)."""
        if not self.settings.personal_data_protection:
            return Unsealed()
        store = getattr(self.stage, "store", None)
        return sealer_for(self.settings, store if store is not None else open_store(self.settings))

    def step(self, timeout_s: float) -> int:
        """Run one batch; the number of input records handled (0 when idle)."""
        records = self.consumer.poll(self.settings.batch_max_events, timeout_s)
        self.polls += 1
        if not records:
            if self.metrics is not None:
                self.metrics.maybe_update_lag(self.lag)
            return 0
        started = time.perf_counter()
        valid: list[tuple[Record, Envelope]] = []
        dead: list[DeadLetter] = []
        for record in records:
            try:
                event = self.stage.decode(record.value, self.settings)
            except EventDecodeError as exc:
                dead.append(self._dead_letter(record, exc.reason, "invalid_event", attempts=0))
            else:
                valid.append((record, event))
        valid = self._open(valid, dead)
        process_started = time.perf_counter()
        outputs, failed = self._process(valid)
        process_s = time.perf_counter() - process_started
        dead.extend(failed)
        outputs, dead, undeliverable = self._deliver(outputs, dead, valid)
        for letter in dead:
            self.stats.by_reason[letter.error_type] = (
                self.stats.by_reason.get(letter.error_type, 0) + 1
            )
            log.warning(
                "dead-lettered a record",
                extra={
                    "stage": self.stage.name,
                    "reason": letter.reason,
                    "origin": letter.origin.model_dump(),
                },
            )
        self.consumer.commit(_next_offsets(records))
        self.stats.batches += 1
        self.stats.events += len(records)
        self.stats.outputs += len(outputs)
        self.stats.dead_letters += len(dead) - undeliverable
        self.stats.busy_s += time.perf_counter() - started
        if self.metrics is not None:
            self.metrics.batch(len(records), (letter.error_type for letter in dead), process_s)
            self.metrics.maybe_update_lag(self.lag)  # after the commit: what is left to do
        log.debug(
            "batch done",
            extra={
                "stage": self.stage.name,
                "events": len(records),
                "outputs": len(outputs),
                "dead": len(dead),
            },
        )
        return len(records)

    def _deliver(
        self,
        outputs: list[Envelope],
        dead: list[DeadLetter],
        valid: list[tuple[Record, Envelope]],
    ) -> tuple[list[Envelope], list[DeadLetter], int]:
        """Publish and flush outputs and dead letters: (outputs published, every dead letter,
        how many of those the bus refused).

        What the bus refused and nothing can carry (a dead letter, or an output without its
        input here) is logged and counted in ``stats.undeliverable`` and the metrics.

        An output refused for what it is dead-letters the input that caused it (its other
        outputs are published: downstream dedupes by id). A refused dead letter is logged and
        counted. Transient failures (:class:`BusUnavailable`) propagate: nothing is committed.
        """
        for event in outputs:
            self._publish(event)
        for letter in dead:
            self._publish(letter)
        try:
            self.producer.flush()
            return outputs, dead, 0
        except RecordsRefused as exc:
            refused = exc.refused
        by_event_id = {str(event.event_id): (record, event) for record, event in valid}
        lost_outputs: dict[int, str] = {}
        failed_inputs: dict[str, DeadLetter] = {}
        for position, why in refused.items():
            if position >= len(outputs):
                continue
            output = outputs[position]
            cause = by_event_id.get(output.trace.causation_id or "")
            if cause is None:
                lost_outputs[position] = why
                continue
            record, event = cause
            if str(event.event_id) not in failed_inputs:
                failed_inputs[str(event.event_id)] = self._dead_letter(
                    record,
                    f"output too large for the bus ({output.type}): {why}",
                    "processing_failed",
                    attempts=1,
                    event=event,
                )
        for position, why in lost_outputs.items():
            log.error(
                "an output the bus refused has no input to dead-letter",
                extra={"stage": self.stage.name, "type": outputs[position].type, "error": why},
            )
        letters = list(failed_inputs.values())
        undeliverable = [
            (dead[position - len(outputs)], why)
            for position, why in refused.items()
            if position >= len(outputs)
        ]
        for letter in letters:
            self._publish(letter)
        try:
            self.producer.flush()
        except RecordsRefused as exc:
            undeliverable.extend((letters[position], why) for position, why in exc.refused.items())
        for letter, why in undeliverable:
            log.error(
                "the bus refused a dead letter; the record is skipped",
                extra={
                    "stage": self.stage.name,
                    "reason": letter.reason,
                    "origin": letter.origin.model_dump(),
                    "payload_bytes": letter.payload_bytes,
                    "payload_sha256": letter.payload_sha256,
                    "error": why,
                },
            )
        skipped = len(undeliverable) + len(lost_outputs)
        self.stats.undeliverable += skipped
        if self.metrics is not None:
            self.metrics.undeliverable(skipped)
        published = [event for position, event in enumerate(outputs) if position not in refused]
        return published, dead + letters, len(undeliverable)

    def _process(
        self, valid: list[tuple[Record, Envelope]]
    ) -> tuple[list[Envelope], list[DeadLetter]]:
        if not valid:
            return [], []
        try:
            return list(self.stage.process([event for _, event in valid])), []
        except (BusError, StoreError):
            raise
        except Exception as exc:
            if len(valid) == 1:
                return self._process_one(*valid[0], first_error=exc)
            log.info(
                "batch failed; retrying event by event",
                extra={"stage": self.stage.name, "error": repr(exc), "events": len(valid)},
            )
        outputs: list[Envelope] = []
        dead: list[DeadLetter] = []
        for record, event in valid:
            got, letters = self._process_one(record, event)
            outputs.extend(got)
            dead.extend(letters)
        return outputs, dead

    def _process_one(
        self, record: Record, event: Envelope, first_error: Exception | None = None
    ) -> tuple[list[Envelope], list[DeadLetter]]:
        attempts = 0 if first_error is None else 1
        error = first_error
        delay = self.settings.retry_backoff_ms / 1000
        while True:
            if isinstance(error, StageError):
                break
            if error is not None and attempts > self.settings.max_retries:
                break
            if attempts:
                self.stats.retries += 1
                self.sleep(delay * 2 ** (attempts - 1))
            attempts += 1
            try:
                return list(self.stage.process([event])), []
            except (BusError, StoreError):
                raise
            except Exception as exc:
                error = exc
        reason = f"{type(error).__name__}: {error}"
        letter = self._dead_letter(
            record, reason, "processing_failed", attempts=attempts, event=event
        )
        return [], [letter]

    def _dead_letter(
        self,
        record: Record,
        reason: str,
        error_type: str,
        *,
        attempts: int,
        event: Envelope | None = None,
    ) -> DeadLetter:
        head = payload_head(record.value)
        key = None
        if record.key is not None:
            key = bounded(record.key[: KEY_MAX_CHARS * 4].decode("utf-8", "replace"), KEY_MAX_CHARS)
        ids: dict[str, Any] = {}
        if event is not None:
            ids = {
                "contribution_id": event.contribution_id,
                "contribution_version": event.contribution_version,
            }
        elif key:
            ids = {"contribution_id": key[:200]}
        return DeadLetter(
            reason=bounded(reason, REASON_MAX_CHARS),
            error_type=error_type,
            origin=Origin(
                topic=record.topic,
                partition=record.partition,
                offset=record.offset,
                key=key,
                stage=self.stage.name,
            ),
            attempts=attempts,
            raw_payload=head.text,
            payload_encoding=head.encoding,
            payload_bytes=head.size,
            payload_sha256=head.sha256,
            payload_truncated=head.truncated,
            **ids,
        )

    def _open(
        self, valid: list[tuple[Record, Envelope]], dead: list[DeadLetter]
    ) -> list[tuple[Record, Envelope]]:
        """Open the sealed fields of the batch (one key lookup); what cannot be opened is
        dead-lettered (an erased field opens as ``[erased]``)."""
        try:
            opened = self.sealer.open_many((e for _, e in valid), self.stage.opens)
            return list(zip([r for r, _ in valid], opened, strict=True))
        except SealError:
            pass  # find which ones
        one_by_one = []
        for record, event in valid:
            try:
                one_by_one.append((record, self.sealer.open(event, self.stage.opens)))
            except SealError as exc:
                dead.append(self._dead_letter(record, str(exc), "invalid_event", attempts=0))
        return one_by_one

    def _publish(self, event: Envelope) -> None:
        self.producer.publish(
            self.settings.topic_of(event.type),
            event.contribution_id or None,
            self.sealer.seal(event).to_json(),
            event.headers(),
        )

    def lag(self) -> int:
        return total_lag(self.bus.lag(self.group, self.topics))

    def step_through_outages(self, timeout_s: float) -> int:
        """:meth:`step`, riding out an unreachable store or bus: wait, reopen, read again.

        After a :class:`StoreUnavailable` or :class:`BusUnavailable` nothing was committed; the
        runner sleeps (doubling from ``HEMICYCLE_RETRY_BACKOFF_MS``, at most
        :data:`OUTAGE_BACKOFF_MAX_S`) and reopens its consumer, which resumes at the last
        commit, so the failed batch is processed again (stages are idempotent).
        """
        try:
            if self._reopen_consumer:
                self.consumer.close()
                self.consumer = self.bus.consumer(self.group, self.topics)
                self._reopen_consumer = False
            handled = self.step(timeout_s)
        except (StoreUnavailable, BusUnavailable) as exc:
            self._wait_out(exc)
            return 0
        if self._outage_attempts:
            log.info(
                "backend reachable again",
                extra={"stage": self.stage.name, "waits": self._outage_attempts},
            )
            self._outage_attempts = 0
        return handled

    def _wait_out(self, exc: StoreUnavailable | BusUnavailable) -> None:
        backend = "store" if isinstance(exc, StoreUnavailable) else "bus"
        self._outage_attempts += 1
        self._reopen_consumer = True
        base_s = self.settings.retry_backoff_ms / 1000
        delay = min(OUTAGE_BACKOFF_MAX_S, base_s * 2 ** min(self._outage_attempts - 1, 20))
        self.stats.outage_waits += 1
        if self.metrics is not None:
            self.metrics.outage(backend)
        log.warning(
            f"{backend} unavailable: waiting, then reading the batch again",
            extra={
                "stage": self.stage.name,
                "backend": backend,
                "error": f"{type(exc).__name__}: {exc}"[:500],
                "attempt": self._outage_attempts,
                "retry_in_s": round(delay, 3),
            },
        )
        self.sleep(delay)

    def close(self) -> None:
        self.producer.close()
        self.consumer.close()
        self.stage.close()


def _next_offsets(records: Sequence[Record]) -> dict[TopicPartition, int]:
    offsets: dict[TopicPartition, int] = {}
    for record in records:
        tp = record.tp
        offsets[tp] = max(offsets.get(tp, 0), record.offset + 1)
    return offsets


class StopFlag:
    """Set by SIGTERM/SIGINT; the loop finishes its batch, commits and returns."""

    def __init__(self) -> None:
        self.stopped = False

    def set(self, signum: int | None = None, frame: FrameType | None = None) -> None:
        if signum is not None:
            log.info("stop requested", extra={"signal": signal.Signals(signum).name})
        self.stopped = True

    def install(self) -> None:
        signal.signal(signal.SIGTERM, self.set)
        signal.signal(signal.SIGINT, self.set)


def join_groups(runners: Sequence[Runner]) -> None:
    """Join the consumer groups of ``runners`` at once, one thread each, waiting up to twice
    the session timeout: on Kafka a join waits out the broker's join delay, so joining four
    groups one after another takes four delays. A group not joined by then (the broker is
    down, a rebalance is slow) is joined by its runner's polls."""
    if not runners:
        return
    timeout_s = 2 * runners[0].settings.kafka_session_timeout_ms / 1000
    with ThreadPoolExecutor(max_workers=len(runners), thread_name_prefix="join") as pool:
        joins = [(r, pool.submit(r.consumer.join, timeout_s)) for r in runners]
        for runner, joined in joins:
            try:
                joined.result()
            except BusError as exc:
                log.warning(
                    "joining the consumer group failed; polls retry",
                    extra={"stage": runner.stage.name, "error": str(exc)},
                )


def run_until(
    runners: Sequence[Runner],
    stop: StopFlag,
    *,
    until_idle: bool = False,
    wait_s: float = 0.1,
    on_round: Callable[[int], None] | None = None,
) -> None:
    """Step every runner in turn until ``stop`` is set (or, with ``until_idle``, all caught up).

    Runners share one thread: stages run one batch at a time, so a process never holds two
    models busy at once and the embedded SQLite files see one writer per process. Their
    consumer groups are joined first, all at once (:func:`join_groups`).
    """
    join_groups(runners)
    busy = True
    idle_checked = 0.0
    while not stop.stopped:
        # Busy: poll briefly so one runner's empty poll never stalls the others. Idle: wait.
        timeout = min(0.005, wait_s) if busy else wait_s / max(1, len(runners))
        handled = 0
        for runner in runners:
            if stop.stopped:
                break
            handled += runner.step_through_outages(timeout)
        busy = handled > 0
        if on_round is not None:
            on_round(handled)
        if until_idle and not busy and time.monotonic() - idle_checked >= wait_s:
            # Lag is a broker round trip: check it at most once per wait period.
            idle_checked = time.monotonic()
            if all(runner.lag() == 0 for runner in runners):
                return
