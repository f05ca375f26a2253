"""How the toxicity scorer cuts windows into model batches (pure logic, no model)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.models.toxicity import (
    FIXED_WIDTH_STEP,
    MAX_BATCH_ROWS,
    fixed_shape_batches,
    runs_in_bf16,
    window_batches,
)

lengths_st = st.lists(st.integers(min_value=1, max_value=600), max_size=300)


@given(lengths_st, st.integers(min_value=1, max_value=64))
def test_without_a_budget_batches_hold_batch_size_windows_sorted_by_length(
    lengths: list[int], batch_size: int
) -> None:
    batches = window_batches(lengths, batch_size=batch_size)
    assert sorted(j for batch in batches for j in batch) == list(range(len(lengths)))
    assert all(1 <= len(batch) <= batch_size for batch in batches)
    assert sum(len(b) < batch_size for b in batches) <= 1  # one batch takes the remainder
    for batch in batches:
        assert [lengths[j] for j in batch] == sorted(lengths[j] for j in batch)


@given(lengths_st, st.integers(min_value=1, max_value=4096))
def test_a_token_budget_bounds_the_padded_tokens_of_every_batch(
    lengths: list[int], budget: int
) -> None:
    batches = window_batches(lengths, batch_size=8, max_batch_tokens=budget)
    assert sorted(j for batch in batches for j in batch) == list(range(len(lengths)))
    for batch in batches:
        longest = max(lengths[j] for j in batch)
        assert len(batch) * longest <= budget or len(batch) == 1  # a longer window runs alone
        assert len(batch) <= MAX_BATCH_ROWS
        assert [lengths[j] for j in batch] == sorted(lengths[j] for j in batch)


def test_short_texts_go_many_to_a_batch_and_long_ones_few() -> None:
    lengths = [12] * 600 + [250] * 40
    batches = window_batches(lengths, batch_size=32, max_batch_tokens=4096)
    sizes = sorted(len(b) for b in batches)
    assert max(sizes) == 4096 // 12  # 341 short windows together, not 32
    assert [len(b) for b in batches if lengths[b[0]] == 250] == [16, 16, 8]
    assert len(window_batches(lengths, batch_size=32)) == 20  # 640 / 32 without a budget


@given(
    st.lists(st.integers(min_value=1, max_value=256), max_size=300),
    st.integers(min_value=1, max_value=4096),
    st.integers(min_value=1, max_value=64),
)
def test_fixed_shapes_follow_each_windows_length_alone(
    lengths: list[int], tokens: int, max_rows: int
) -> None:
    """The shape a window runs in depends on its own length (and the configuration), never on
    the other windows of the poll: the property that makes bfloat16 scores replay-exact."""
    batches = fixed_shape_batches(lengths, limit=256, tokens=tokens, max_rows=max_rows)
    assert sorted(j for _, batch in batches for j in batch) == list(range(len(lengths)))
    for (rows, width), batch in batches:
        assert 1 <= len(batch) <= rows <= max_rows
        assert rows == max(1, min(max_rows, tokens // width))
        for j in batch:
            assert lengths[j] <= width <= 256
            assert width == min(256, -(-lengths[j] // FIXED_WIDTH_STEP) * FIXED_WIDTH_STEP)
    alone = {
        j: fixed_shape_batches([n], limit=256, tokens=tokens, max_rows=max_rows)[0][0]
        for j, n in enumerate(lengths)
    }
    assert all(alone[j] == shape for shape, batch in batches for j in batch)


def test_fixed_shapes_need_tokens_and_rows() -> None:
    with pytest.raises(ValueError, match="tokens and max_rows"):
        fixed_shape_batches([3], limit=256, tokens=0, max_rows=8)
    with pytest.raises(ValueError, match="tokens and max_rows"):
        fixed_shape_batches([3], limit=256, tokens=512, max_rows=0)


@pytest.mark.parametrize(
    ("backend", "device", "cpu_bf16", "expected"),
    [
        ("torch-bf16", "cpu", False, True),
        ("torch", "cpu", True, True),  # bf16 autocast acts on the torch engine only
        ("ct2", "cpu", True, False),
        ("torch", "cpu", False, False),
        ("torch", "cuda", True, False),  # CUDA runs fp16
    ],
)
def test_fixed_shapes_are_for_bfloat16_on_cpu(
    backend: str, device: str, cpu_bf16: bool, expected: bool
) -> None:
    assert runs_in_bf16(backend, device, cpu_bf16) is expected
