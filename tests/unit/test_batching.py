"""The dynamic batcher, with fabricated requests and no model: the class contract, checked."""

from __future__ import annotations

import itertools
import math
import random
from collections import Counter
from collections.abc import Hashable, Iterable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from pipeline.batching import Batch, BatchBudget, BatchRequest, DynamicBatcher

EN_FR = ("opus-mt", "en", "fr")
EN_DE = ("opus-mt", "en", "de")


def req(item: Hashable, tokens: int, arrived: float = 0.0, key: Hashable = EN_FR) -> BatchRequest:
    return BatchRequest(key=key, item=item, tokens=tokens, arrived=arrived)


def items(batches: Iterable[Batch]) -> list[list[Hashable]]:
    return [[r.item for r in b.requests] for b in batches]


def is_full(batch: Batch, budget: BatchBudget) -> bool:
    longest = max(r.tokens for r in batch.requests)
    n = len(batch.requests)
    return n >= budget.max_items or (n + 1) * longest > budget.max_tokens


def check_batch(batch: Batch, budget: BatchBudget) -> None:
    """Every batch: one key, sorted, within budget (a lone oversize request excepted)."""
    assert batch.requests
    assert all(r.key == batch.key for r in batch.requests)
    tokens = [r.tokens for r in batch.requests]
    assert tokens == sorted(tokens)
    assert len(batch.requests) <= budget.max_items
    assert batch.padded_tokens == len(tokens) * max(tokens)
    if len(tokens) > 1:
        assert batch.padded_tokens <= budget.max_tokens


# --- budget and request validation ----------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_tokens", 0),
        ("max_tokens", -5),
        ("max_items", 0),
        ("max_wait_s", -0.1),
        ("max_wait_s", math.nan),
        ("max_wait_s", math.inf),
        ("max_items", "many"),
    ],
)
def test_budget_validation_errors_name_the_field(field: str, value: object) -> None:
    with pytest.raises(ValidationError, match=field):
        BatchBudget(**{field: value})


def test_budget_defaults_are_documented_frozen_and_closed() -> None:
    budget = BatchBudget()
    assert (budget.max_tokens, budget.max_items, budget.max_wait_s) == (4096, 64, 0.05)
    for name, field in BatchBudget.model_fields.items():
        assert field.description, f"{name} has no description"
    with pytest.raises(ValidationError):
        budget.max_items = 3  # type: ignore[misc]
    with pytest.raises(ValidationError, match="max_seqs"):
        BatchBudget(max_seqs=3)  # type: ignore[call-arg]
    assert BatchBudget(max_wait_s=0).max_wait_s == 0


@pytest.mark.parametrize("tokens", [-1, 1.5, True])
def test_request_rejects_bad_token_counts(tokens: object) -> None:
    with pytest.raises(ValueError, match="tokens"):
        BatchRequest(key=EN_FR, item="s1", tokens=tokens, arrived=0.0)  # type: ignore[arg-type]


def test_request_rejects_non_finite_arrival() -> None:
    with pytest.raises(ValueError, match="arrived"):
        BatchRequest(key=EN_FR, item="s1", tokens=3, arrived=math.nan)


def test_padded_tokens_is_length_times_longest() -> None:
    assert Batch(EN_FR, (req("a", 3), req("b", 10), req("c", 7))).padded_tokens == 30
    assert Batch(EN_FR, ()).padded_tokens == 0


# --- the contract on hand-made cases --------------------------------------------------------


def test_partial_group_waits_until_max_wait_then_flushes_entirely() -> None:
    batcher = DynamicBatcher(BatchBudget(max_tokens=1000, max_items=8, max_wait_s=0.05))
    batcher.add(req("a", 10, arrived=1.0))
    batcher.add(req("b", 5, arrived=1.02))
    assert batcher.ready(1.0) == []
    assert batcher.ready(1.049) == []
    assert batcher.pending() == 2
    assert batcher.deadline() == pytest.approx(1.05)
    (batch,) = batcher.ready(1.05)  # the *oldest* request decides: 1.05 - 1.0 >= 0.05
    assert items([batch]) == [["b", "a"]]  # sorted by tokens
    assert batcher.pending() == 0
    assert batcher.deadline() is None
    assert batcher.ready(9.0) == []


def test_full_groups_are_cut_before_the_wait_expires_as_often_as_they_fill() -> None:
    budget = BatchBudget(max_tokens=10_000, max_items=4, max_wait_s=10.0)
    batcher = DynamicBatcher(budget)
    for n in range(9):
        batcher.add(req(f"s{n}", 10, arrived=0.0))
    batches = batcher.ready(0.0)
    assert items(batches) == [["s0", "s1", "s2", "s3"], ["s4", "s5", "s6", "s7"]]
    assert batcher.pending() == 1
    assert batcher.ready(9.99) == []
    assert items(batcher.ready(10.0)) == [["s8"]]


def test_token_budget_fills_a_batch() -> None:
    budget = BatchBudget(max_tokens=100, max_items=64, max_wait_s=10.0)
    batcher = DynamicBatcher(budget)
    for n, tokens in enumerate([30, 20, 25, 10]):
        batcher.add(req(f"s{n}", tokens))
    # sorted: 10, 20, 25, 30 → [10, 20, 25] pads to 75; adding 30 would pad to 120.
    # [10, 20, 25] could still take a request of <= 25 tokens (4 * 25 = 100), so it waits;
    # [30] alone could take one of <= 30 tokens (60 <= 100), so it waits too.
    assert batcher.ready(0.0) == []
    batcher.add(req("s4", 25))
    # now [10, 20, 25, 25] pads to exactly 100: full (a fifth request would pad to >= 125).
    batches = batcher.ready(0.0)
    assert items(batches) == [["s3", "s1", "s2", "s4"]]
    assert batches[0].padded_tokens == 100
    assert items(batcher.drain()) == [["s0"]]


def test_oversize_request_goes_alone_and_at_once() -> None:
    budget = BatchBudget(max_tokens=100, max_items=8, max_wait_s=10.0)
    batcher = DynamicBatcher(budget)
    batcher.add(req("small", 5))
    batcher.add(req("huge", 500))
    batcher.add(req("big", 60))  # 2 * 60 > 100: nothing can ever join it
    batches = batcher.ready(0.0)
    assert items(batches) == [["big"], ["huge"]]
    assert batches[1].padded_tokens == 500  # over budget, never dropped
    assert items(batcher.drain()) == [["small"]]


def test_keys_never_mix_and_groups_flush_independently() -> None:
    batcher = DynamicBatcher(BatchBudget(max_tokens=1000, max_items=8, max_wait_s=1.0))
    batcher.add(req("fr1", 5, arrived=0.0, key=EN_FR))
    batcher.add(req("de1", 5, arrived=0.5, key=EN_DE))
    batcher.add(req("fr2", 5, arrived=0.6, key=EN_FR))
    flushed = batcher.ready(1.0)  # EN_FR's oldest waited 1.0; EN_DE's only 0.5
    assert [(b.key, [r.item for r in b.requests]) for b in flushed] == [(EN_FR, ["fr1", "fr2"])]
    assert batcher.pending() == 1
    assert [(b.key, [r.item for r in b.requests]) for b in batcher.ready(1.5)] == [(EN_DE, ["de1"])]


def test_answer_order_full_batches_first_then_oldest_group_first() -> None:
    budget = BatchBudget(max_tokens=1000, max_items=2, max_wait_s=1.0)
    batcher = DynamicBatcher(budget)
    batcher.add(req("de-old", 5, arrived=0.0, key=EN_DE))  # expires, stays partial
    batcher.add(req("fr-old", 5, arrived=0.1, key=EN_FR))  # expires, partial after a full one
    batcher.add(req("x1", 1, arrived=0.2, key="x"))
    batcher.add(req("x2", 1, arrived=0.3, key="x"))  # "x" is full: goes first regardless
    batcher.add(req("fr-a", 1, arrived=0.4, key=EN_FR))
    batcher.add(req("fr-b", 1, arrived=0.5, key=EN_FR))
    assert items(batcher.ready(1.15)) == [
        ["fr-a", "fr-b"],  # full; EN_FR is older than "x"
        ["x1", "x2"],  # full
        ["de-old"],  # flushed partials, oldest group first
        ["fr-old"],
    ]


def test_ties_are_broken_by_arrival_then_insertion() -> None:
    batcher = DynamicBatcher(BatchBudget(max_tokens=1000, max_items=8, max_wait_s=0.0))
    batcher.add(req("late", 7, arrived=2.0))
    batcher.add(req("first-in", 7, arrived=1.0))
    batcher.add(req("second-in", 7, arrived=1.0))
    batcher.add(req("short", 3, arrived=3.0))
    assert items(batcher.ready(3.0)) == [["short", "first-in", "second-in", "late"]]


def test_zero_wait_flushes_on_every_call_and_zero_tokens_are_fine() -> None:
    batcher = DynamicBatcher(BatchBudget(max_tokens=10, max_items=3, max_wait_s=0))
    for n in range(5):
        batcher.add(req(n, 0, arrived=5.0))
    assert items(batcher.ready(5.0)) == [[0, 1, 2], [3, 4]]


def test_drain_empties_everything() -> None:
    batcher = DynamicBatcher(BatchBudget(max_tokens=64, max_items=4, max_wait_s=100.0))
    for n in range(10):
        batcher.add(req(n, n, arrived=float(n), key=n % 3))
    batches = batcher.drain()
    assert sorted(r.item for b in batches for r in b.requests) == list(range(10))
    assert batcher.pending() == 0
    assert batcher.drain() == []
    assert batcher.ready(1e9) == []


def test_a_request_is_never_held_after_its_group_has_waited_long_enough() -> None:
    batcher = DynamicBatcher(BatchBudget(max_tokens=100, max_items=4, max_wait_s=0.5))
    batcher.add(req("a", 30, arrived=0.0))
    batcher.add(req("b", 1, arrived=0.4))
    assert batcher.ready(0.4) == []  # [1, 30] pads to 60; a third request could still join
    assert items(batcher.ready(0.5)) == [["b", "a"]]  # "a" has waited 0.5: the group goes


# --- property checks ------------------------------------------------------------------------

KEYS = [("m", "en", t) for t in ("fr", "de", "el", "bg", "pl")]
TOKENS = st.one_of(st.sampled_from([0, 1, 5000]), st.integers(1, 60), st.integers(1, 600))
STEP = st.sampled_from([0.0, 0.0, 0.001, 0.01, 0.1])
# A schedule: each step waits, then either adds a request (its tokens and key) or asks for
# the ready batches (None).
SCHEDULES = st.lists(
    st.tuples(STEP, st.one_of(st.tuples(TOKENS, st.integers(0, 4)), st.none())),
    min_size=1,
    max_size=300,
)
BUDGETS = st.builds(
    BatchBudget,
    max_tokens=st.sampled_from([1, 16, 100, 512, 4096]),
    max_items=st.sampled_from([1, 2, 3, 8, 64]),
    max_wait_s=st.sampled_from([0.0, 0.01, 0.05, 0.5]),
)
Schedule = list[tuple[float, tuple[int, int] | None]]


def run_schedule(budget: BatchBudget, schedule: Schedule) -> list[tuple[str, list[Batch]]]:
    """Drive a batcher through ``schedule``; check the contract after each step."""
    batcher = DynamicBatcher(budget)
    pending: dict[Hashable, BatchRequest] = {}
    returned: Counter[Hashable] = Counter()
    log: list[tuple[str, list[Batch]]] = []
    now = 0.0
    n = 0
    for step, add in schedule:
        now += step
        if add is not None:
            tokens, key = add
            request = req(n, tokens, arrived=now, key=KEYS[key])
            n += 1
            batcher.add(request)
            pending[request.item] = request
            assert batcher.pending() == len(pending)
            continue
        before = dict(pending)
        batches = batcher.ready(now)
        log.append(("ready", batches))
        seen_partial = False
        for batch in batches:
            check_batch(batch, budget)
            full = is_full(batch, budget)
            assert not (full and seen_partial), "full batches come first"
            seen_partial = seen_partial or not full
            if not full:  # only a group whose oldest request waited long enough is flushed
                waits = [now - r.arrived for r in before.values() if r.key == batch.key]
                assert max(waits) >= budget.max_wait_s
            for r in batch.requests:
                returned[r.item] += 1
                assert pending.pop(r.item) is r
        # nothing is held past its wait: every request still pending is younger than max_wait
        assert all(now - r.arrived < budget.max_wait_s for r in pending.values())
        assert batcher.pending() == len(pending)
    batches = batcher.drain()
    log.append(("drain", batches))
    for batch in batches:
        check_batch(batch, budget)
        for r in batch.requests:
            returned[r.item] += 1
            pending.pop(r.item)
    assert not pending and batcher.pending() == 0
    assert set(returned) == set(range(n))
    assert all(count == 1 for count in returned.values()), "each request in exactly one batch"
    return log


@settings(max_examples=300, deadline=None)
@given(budget=BUDGETS, schedule=SCHEDULES)
def test_any_schedule_keeps_the_contract(budget: BatchBudget, schedule: Schedule) -> None:
    run_schedule(budget, schedule)


@settings(max_examples=20, deadline=None)
@given(budget=BUDGETS, schedule=SCHEDULES)
def test_a_schedule_replayed_gives_the_same_batches(
    budget: BatchBudget, schedule: Schedule
) -> None:
    first = run_schedule(budget, schedule)
    second = run_schedule(budget, schedule)
    assert [(kind, items(b)) for kind, b in first] == [(kind, items(b)) for kind, b in second]


@settings(max_examples=100, deadline=None)
@given(
    max_tokens=st.sampled_from([50, 300, 4096]),
    max_items=st.integers(1, 10),
    requests=st.lists(
        st.tuples(st.integers(0, 400), st.floats(0.0, 1.0)), min_size=1, max_size=200
    ),
)
def test_drain_cuts_each_group_greedily(
    max_tokens: int, max_items: int, requests: list[tuple[int, float]]
) -> None:
    """Within one group, the next batch's shortest request could not join the previous batch."""
    budget = BatchBudget(max_tokens=max_tokens, max_items=max_items)
    batcher = DynamicBatcher(budget)
    for n, (tokens, arrived) in enumerate(requests):
        batcher.add(req(n, tokens, arrived=arrived))
    batches = batcher.drain()
    flat = [r for b in batches for r in b.requests]
    assert sorted(r.item for r in flat) == list(range(len(requests)))
    # one key: the cut order is the sorted order, and each cut is greedy
    ordered = sorted(batches, key=lambda b: (b.requests[0].tokens, b.requests[0].arrived))
    for previous, current in itertools.pairwise(ordered):
        n = len(previous.requests) + 1
        assert n > budget.max_items or n * current.requests[0].tokens > budget.max_tokens


def test_a_hundred_thousand_requests_each_come_back_once() -> None:
    """At conference scale (the speed is measured by benchmarks/translate.py, not here)."""
    rng = random.Random(1)
    batcher = DynamicBatcher(BatchBudget())
    keys = [("m", "en", t) for t in ("bg", "cs", "da", "de", "el", "es", "fr", "hr")]
    returned = 0
    for n in range(100_000):
        batcher.add(req(n, rng.randint(1, 200), arrived=n * 1e-5, key=rng.choice(keys)))
        if n % 1000 == 999:
            returned += sum(len(b.requests) for b in batcher.ready(n * 1e-5))
    returned += sum(len(b.requests) for b in batcher.drain())
    assert returned == 100_000
