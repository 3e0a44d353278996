"""SumTree and replay buffers: worked example, edge cases, properties and bad input."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlnotes.rl.replay import PrioritizedReplayBuffer, ReplayBuffer, SumTree

EXAMPLE_LEAVES = np.array([3, 10, 12, 4, 1, 2, 8, 2], dtype=np.float64)


def filled_tree(leaves: np.ndarray) -> SumTree:
    tree = SumTree(len(leaves))
    tree.update(np.arange(len(leaves)), leaves)
    return tree


def filled_buffer(buffer: ReplayBuffer, n: int) -> ReplayBuffer:
    for i in range(n):
        buffer.add(np.full(4, i, dtype=np.float32), i % 2, 1.0, np.full(4, i + 1, dtype=np.float32), i % 7 == 6)
    return buffer


def buffer_state(buffer: PrioritizedReplayBuffer) -> tuple:
    return (buffer.size, buffer.position, buffer.max_priority, buffer.sample_calls, buffer.tree.nodes.copy(),
            buffer.obs.copy(), buffer.rng.bit_generator.state)


def test_sumtree_worked_example():
    tree = filled_tree(EXAMPLE_LEAVES)
    assert tree.total == 42.0
    assert tree.find(np.array([26.0]))[0] == 3
    assert tree.find(np.array([25.0]))[0] == 2  # intervals are (c_{i-1}, c_i]
    assert tree.find(np.array([29.0]))[0] == 3
    assert tree.find(np.array([29.5]))[0] == 4


def test_sumtree_find_matches_cumsum():
    tree = filled_tree(EXAMPLE_LEAVES)
    values = np.linspace(0.01, 42.0, 500)
    expected = np.searchsorted(np.cumsum(EXAMPLE_LEAVES), values, side="left")
    np.testing.assert_array_equal(tree.find(values), expected)


def test_sumtree_skips_zero_leaves():
    tree = filled_tree(np.array([0.0, 0.0, 5.0, 0.0, 0.0]))
    found = tree.find(np.array([0.0, 2.5, 5.0]))
    np.testing.assert_array_equal(found, [2, 2, 2])


def test_sumtree_value_equal_total():
    tree = SumTree(1000)
    tree.update(np.arange(10), np.full(10, 0.1))
    found = tree.find(np.array([tree.total]))
    assert found[0] == 9


def test_sumtree_rounding_drift():
    tree = filled_tree(EXAMPLE_LEAVES)
    tree.nodes[1] += 1e-9  # the root exceeds the sum of the leaves
    found = tree.find(np.array([tree.total]))
    assert found[0] == 7
    tree.nodes[1] -= 2e-9
    tree.nodes[2] += 1e-9  # the left half claims more than its leaves hold
    assert tree.find(np.array([tree.nodes[2]]))[0] in (3, 4)


def test_sumtree_repeated_update_last_wins():
    tree = filled_tree(EXAMPLE_LEAVES)
    tree.update(np.array([1, 1]), np.array([5.0, 7.0]))
    assert tree.total == 42.0 - 10.0 + 7.0


@settings(max_examples=60, deadline=None)
@given(
    leaves=st.lists(st.floats(0.0, 1e3, allow_nan=False), min_size=1, max_size=70),
    fractions=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=40),
)
def test_sumtree_property(leaves, fractions):
    leaves = np.array(leaves)
    if leaves.sum() == 0:
        leaves[-1] = 1.0
    capacity = len(leaves) + 5  # extra empty leaves past the stored size
    tree = SumTree(capacity)
    tree.update(np.arange(len(leaves)), leaves)
    assert tree.total == pytest.approx(leaves.sum())

    found = tree.find(np.array(fractions) * tree.total)
    assert np.all(found < len(leaves))
    assert np.all(leaves[found] > 0)


def test_sumtree_bad_input_unchanged():
    tree = filled_tree(EXAMPLE_LEAVES)
    before = tree.nodes.copy()
    bad_updates = [
        (np.array([0]), np.array([np.nan])),
        (np.array([0]), np.array([np.inf])),
        (np.array([0]), np.array([-1.0])),
        (np.array([8]), np.array([1.0])),
        (np.array([0, 1]), np.array([1.0])),
    ]
    for indices, priorities in bad_updates:
        with pytest.raises(ValueError):
            tree.update(indices, priorities)
    for values in (np.array([-1.0]), np.array([43.0]), np.array([np.nan])):
        with pytest.raises(ValueError):
            tree.find(values)
    np.testing.assert_array_equal(tree.nodes, before)


@pytest.mark.parametrize("capacity", [0, -3, 2.5, True])
def test_capacity_invalid(capacity):
    with pytest.raises(ValueError, match="capacity"):
        SumTree(capacity)
    with pytest.raises(ValueError, match="capacity"):
        ReplayBuffer(capacity)
    with pytest.raises(ValueError, match="capacity"):
        PrioritizedReplayBuffer(capacity)


def test_uniform_buffer_wraps():
    buffer = filled_buffer(ReplayBuffer(5, seed=0), 7)
    assert len(buffer) == 5
    assert buffer.position == 2
    assert sorted(buffer.obs[:, 0].tolist()) == [2.0, 3.0, 4.0, 5.0, 6.0]
    batch, indices, weights = buffer.sample(5)
    np.testing.assert_array_equal(batch.obs, buffer.obs[indices])
    np.testing.assert_array_equal(batch.next_obs[:, 0], batch.obs[:, 0] + 1)
    assert weights.tolist() == [1.0] * 5


def test_sample_empty_or_too_many():
    for buffer in (ReplayBuffer(10), PrioritizedReplayBuffer(10)):
        with pytest.raises(ValueError, match="empty"):
            buffer.sample(1)
        filled_buffer(buffer, 3)
        with pytest.raises(ValueError, match="batch_size"):
            buffer.sample(4)
        with pytest.raises(ValueError, match="batch_size"):
            buffer.sample(0)


def test_new_transition_gets_max_priority():
    buffer = filled_buffer(PrioritizedReplayBuffer(8, alpha=0.5, eps=0.0 + 1e-6, seed=0), 2)
    assert buffer.tree.leaves[:2].tolist() == [1.0, 1.0]
    buffer.update_priorities(np.array([0, 1]), np.array([8.0, 0.25]))
    assert buffer.tree.leaves[0] == pytest.approx((8.0 + 1e-6) ** 0.5)
    assert buffer.tree.leaves[1] == pytest.approx((0.25 + 1e-6) ** 0.5)
    buffer.add(np.zeros(4), 0, 0.0, np.zeros(4), False)
    assert buffer.tree.leaves[2] == pytest.approx((8.0 + 1e-6) ** 0.5)


def test_stratified_segments():
    buffer = PrioritizedReplayBuffer(8, seed=0)
    filled_buffer(buffer, 8)
    buffer.tree.update(np.arange(8), EXAMPLE_LEAVES)
    for _ in range(50):
        _, indices, _ = buffer.sample(2)
        cumulative = np.cumsum(EXAMPLE_LEAVES)
        assert cumulative[indices[0]] - EXAMPLE_LEAVES[indices[0]] < 21  # leaf starts inside [0, 21)
        assert cumulative[indices[1]] > 21  # leaf ends inside (21, 42]


def test_prioritized_sampling_frequencies():
    buffer = filled_buffer(PrioritizedReplayBuffer(4, alpha=1.0, eps=1e-9, seed=0), 4)
    buffer.update_priorities(np.arange(4), np.array([1.0, 2.0, 3.0, 4.0]))
    counts = np.zeros(4)
    for _ in range(2000):
        _, indices, _ = buffer.sample(4)
        counts += np.bincount(indices, minlength=4)
    np.testing.assert_allclose(counts / counts.sum(), [0.1, 0.2, 0.3, 0.4], atol=0.02)


def test_importance_weights():
    buffer = filled_buffer(PrioritizedReplayBuffer(4, alpha=1.0, beta_start=0.5, beta_steps=10, eps=1e-9, seed=0), 4)
    buffer.update_priorities(np.arange(4), np.array([1.0, 2.0, 3.0, 4.0]))
    _, indices, weights = buffer.sample(4)
    probabilities = (indices + 1) / 10.0
    expected = (4 * probabilities) ** -0.5
    np.testing.assert_allclose(weights, expected / expected.max(), rtol=1e-6)
    assert buffer.beta == pytest.approx(0.55)


def test_beta_anneals_to_one():
    buffer = filled_buffer(PrioritizedReplayBuffer(8, beta_start=0.4, beta_steps=4, seed=0), 8)
    betas = []
    for _ in range(6):
        betas.append(buffer.beta)
        buffer.sample(2)
    np.testing.assert_allclose(betas, [0.4, 0.55, 0.7, 0.85, 1.0, 1.0])


def test_weights_with_empty_leaves():
    """Pitfall: normalising by a minimum taken over empty leaves gives infinite or zero weights."""
    buffer = filled_buffer(PrioritizedReplayBuffer(1000, seed=0), 10)
    buffer.update_priorities(np.arange(10), np.linspace(0.1, 5.0, 10))
    _, _, weights = buffer.sample(8)
    assert np.all(np.isfinite(weights))
    assert np.all(weights > 0)
    assert weights.max() == 1.0


def test_prioritized_bad_input_unchanged():
    buffer = filled_buffer(PrioritizedReplayBuffer(16, seed=0), 5)
    before = buffer_state(buffer)
    bad = [
        (np.array([0]), np.array([np.nan])),
        (np.array([0]), np.array([np.inf])),
        (np.array([0]), np.array([-0.5])),
        (np.array([5]), np.array([1.0])),  # a slot never written
        (np.array([0, 1]), np.array([1.0])),
    ]
    for indices, td_errors in bad:
        with pytest.raises(ValueError):
            buffer.update_priorities(indices, td_errors)
    with pytest.raises(ValueError):
        buffer.sample(6)
    with pytest.raises(ValueError):
        buffer.add(np.zeros(3), 0, 1.0, np.zeros(3), False)
    with pytest.raises(ValueError):
        buffer.add(np.zeros(4), 0, float("nan"), np.zeros(4), False)
    after = buffer_state(buffer)
    for old, new in zip(before, after):
        if isinstance(old, np.ndarray):
            np.testing.assert_array_equal(old, new)
        else:
            assert old == new


@pytest.mark.parametrize("kwargs", [{"alpha": 1.5}, {"beta_start": -0.1}, {"beta_steps": 0}, {"eps": 0.0}])
def test_prioritized_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        PrioritizedReplayBuffer(8, **kwargs)


class ShallowSumTree(SumTree):
    """A SumTree that searches and recomputes only the top 2 and 3 levels, so small trees use every path."""

    SEARCH_DEPTH = 2
    RECOMPUTE_DEPTH = 3


def filled_tree_of(tree_class: type[SumTree], leaves: np.ndarray) -> SumTree:
    tree = tree_class(len(leaves))
    tree.update(np.arange(len(leaves)), leaves)
    return tree


def expected_leaves(leaves: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Return the leaf whose interval (c_{i-1}, c_i] contains each value, exactly for integer priorities."""
    return np.searchsorted(np.cumsum(leaves), values, side="left")


def assert_tree_consistent(tree: SumTree, leaves: np.ndarray) -> None:
    np.testing.assert_array_equal(tree.leaves, leaves)
    parents = tree.nodes[1 : tree.n_leaves]
    np.testing.assert_array_equal(parents, tree.nodes[2::2] + tree.nodes[3::2])


@pytest.mark.parametrize("tree_class", [SumTree, ShallowSumTree])
@pytest.mark.parametrize("capacity", [5, 300, 1000, 4096, 5000])
def test_sumtree_search_boundaries(tree_class, capacity):
    rng = np.random.default_rng(capacity)
    leaves = rng.integers(1, 5, capacity).astype(np.float64)
    leaves[rng.random(capacity) < 0.3] = 0.0
    leaves[: capacity // 4] = 0.0  # whole zero-sum subtrees at the search level
    tree = filled_tree_of(tree_class, leaves)

    # Every boundary of the search level, and every boundary between leaves.
    block = tree.n_leaves // 2**tree.search_depth
    padded = np.zeros(tree.n_leaves)
    padded[:capacity] = leaves
    search_bounds = np.cumsum(padded.reshape(-1, block).sum(axis=1))
    values = np.concatenate([[0.0, tree.total], search_bounds, np.cumsum(leaves)])
    values = values[values <= tree.total]

    found = tree.find(values)
    np.testing.assert_array_equal(found, np.where(values == 0, np.argmax(leaves > 0), expected_leaves(leaves, values)))
    assert np.all(leaves[found] > 0)


@pytest.mark.parametrize("tree_class", [SumTree, ShallowSumTree])
def test_sumtree_total_with_empty_tail(tree_class):
    tree = tree_class(5000)  # 8192 leaves: the last search-level subtrees are empty
    tree.update(np.arange(1500), np.ones(1500))
    found = tree.find(np.array([0.0, 1.0, 1499.5, tree.total]))
    np.testing.assert_array_equal(found, [0, 0, 1499, 1499])


@pytest.mark.parametrize("tree_class", [SumTree, ShallowSumTree])
def test_sumtree_search_level_drift(tree_class):
    leaves = np.arange(4096, dtype=np.float64) % 3  # every third leaf is empty
    tree = filled_tree_of(tree_class, leaves)
    level = slice(2**tree.search_depth, 2 ** (tree.search_depth + 1))
    tree.nodes[1] += 1e-6  # the root exceeds the cumulative sum of the search level
    found = tree.find(np.array([tree.total]))
    assert found[0] == 4094
    tree.nodes[1] -= 1e-6
    tree.nodes[level] *= 1 + 1e-12  # the search level claims more than its leaves hold
    found = tree.find(np.linspace(0, tree.total, 2001))
    assert np.all(leaves[found] > 0)
    assert np.all(found < 4096)


@pytest.mark.parametrize("capacity", [1, 2, 7, 16, 100, 2**14 + 3])
def test_sumtree_update_keeps_sums(capacity):
    rng = np.random.default_rng(capacity)
    leaves = np.zeros(capacity)
    for tree in (SumTree(capacity), ShallowSumTree(capacity)):
        leaves[:] = 0.0
        for _ in range(5):
            indices = rng.integers(0, capacity, 64)  # with repeats
            priorities = rng.random(64)
            tree.update(indices, priorities)
            leaves[indices] = priorities  # NumPy assigns repeats in order, so the last wins
            assert_tree_consistent(tree, leaves)
        assert tree.total == pytest.approx(leaves.sum())


@settings(max_examples=60, deadline=None)
@given(
    leaves=st.lists(st.integers(0, 5), min_size=1, max_size=300),
    fractions=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=40),
    extra=st.integers(0, 40),
)
def test_sumtree_shallow_property(leaves, fractions, extra):
    leaves = np.array(leaves, dtype=np.float64)
    if leaves.sum() == 0:
        leaves[-1] = 1.0
    tree = ShallowSumTree(len(leaves) + extra)  # extra empty leaves past the stored size
    tree.update(np.arange(len(leaves)), leaves)
    values = np.array(fractions) * tree.total

    found = tree.find(values)
    assert np.all(found < len(leaves))
    assert np.all(leaves[found] > 0)
    positive = values > 0
    np.testing.assert_array_equal(found[positive], expected_leaves(leaves, values[positive]))


def test_update_negative_index_unchanged():
    tree = filled_tree(EXAMPLE_LEAVES)
    before = tree.nodes.copy()
    with pytest.raises(ValueError, match="indices range over"):
        tree.update(np.array([-1]), np.array([1.0]))
    buffer = filled_buffer(PrioritizedReplayBuffer(16, seed=0), 5)
    with pytest.raises(ValueError, match="stored slots"):
        buffer.update_priorities(np.array([-1]), np.array([1.0]))
    np.testing.assert_array_equal(tree.nodes, before)
