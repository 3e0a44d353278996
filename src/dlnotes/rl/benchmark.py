"""Time prioritized sampling plus priority updates: the vectorised SumTree against a per-sample loop.

    python -m dlnotes.rl.benchmark --capacity 1048576 --batch-size 256
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from dlnotes.rl.replay import PrioritizedReplayBuffer


class LoopSumTree:
    """The textbook SumTree that descends and propagates one value at a time: the baseline."""

    def __init__(self, capacity: int) -> None:
        self.n_leaves = 2 ** max(1, int(np.ceil(np.log2(capacity))))
        self.nodes = np.zeros(2 * self.n_leaves, dtype=np.float64)

    def update_one(self, index: int, priority: float) -> None:
        """Set leaf `index` to `priority` and add the change to every ancestor."""
        node = index + self.n_leaves
        change = priority - self.nodes[node]
        while node >= 1:
            self.nodes[node] += change
            node //= 2

    def find_one(self, value: float) -> int:
        """Return the leaf whose interval (c_{i-1}, c_i] contains `value`."""
        node = 1
        while node < self.n_leaves:
            left = 2 * node
            if self.nodes[left] <= 0 or (value > self.nodes[left] and self.nodes[left + 1] > 0):
                value -= self.nodes[left]
                node = left + 1
            else:
                node = left
        return node - self.n_leaves


def loop_sample_and_update(buffer: PrioritizedReplayBuffer, tree: LoopSumTree, rng: np.random.Generator,
                           batch_size: int) -> np.ndarray:
    """Do the work of one prioritized `sample` plus `update_priorities` on `tree`, one transition at a time.

    `buffer` provides the stored transitions and the hyperparameters, but not its own tree.
    Returns the sampled leaf indices (batch_size,). The new TD errors are random stand-ins.
    """
    size, beta, alpha, eps = buffer.size, buffer.beta, buffer.alpha, buffer.eps
    total = tree.nodes[1]
    segment = total / batch_size
    indices = np.empty(batch_size, dtype=np.int64)
    weights = np.empty(batch_size)
    for i in range(batch_size):
        indices[i] = tree.find_one((i + rng.random()) * segment)
        weights[i] = (size * tree.nodes[indices[i] + tree.n_leaves] / total) ** -beta
    weights /= weights.max()
    buffer._gather(indices)

    td_errors = rng.random(batch_size)
    for i in range(batch_size):
        tree.update_one(int(indices[i]), (td_errors[i] + eps) ** alpha)
    return indices


def full_buffer(capacity: int, seed: int = 0) -> PrioritizedReplayBuffer:
    """Return a PrioritizedReplayBuffer of CartPole-sized transitions, filled to `capacity` with random priorities."""
    buffer = PrioritizedReplayBuffer(capacity, seed=seed)
    rng = np.random.default_rng(seed)
    buffer.add(np.zeros(4, dtype=np.float32), 0, 0.0, np.zeros(4, dtype=np.float32), False)
    buffer.obs[:] = rng.standard_normal(buffer.obs.shape)
    buffer.next_obs[:] = rng.standard_normal(buffer.next_obs.shape)
    buffer.size, buffer.position = capacity, 0
    buffer.update_priorities(np.arange(capacity), rng.random(capacity))
    return buffer


def time_per_call(fn, repeats: int) -> float:
    """Return the median wall time of `fn()` over `repeats` calls, in microseconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times)) * 1e6


def benchmark_sumtree(capacity: int = 2**20, batch_size: int = 256, repeats: int = 50) -> dict[str, float]:
    """Time `sample(batch_size)` plus `update_priorities` on a full buffer, vectorised and looped.

    Returns {"vectorised_us", "loop_us", "speedup"}: microseconds per batch (median over
    `repeats`), and their ratio.
    """
    buffer = full_buffer(capacity)
    rng = np.random.default_rng(1)

    def vectorised() -> None:
        _, indices, _ = buffer.sample(batch_size)
        buffer.update_priorities(indices, rng.random(batch_size))

    loop_tree = LoopSumTree(capacity)
    loop_tree.nodes[:] = buffer.tree.nodes

    def loop() -> None:
        loop_sample_and_update(buffer, loop_tree, rng, batch_size)

    vectorised_us = time_per_call(vectorised, repeats)
    loop_us = time_per_call(loop, max(3, repeats // 5))
    return {"vectorised_us": vectorised_us, "loop_us": loop_us, "speedup": loop_us / vectorised_us}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Time prioritized sample + update_priorities: vectorised SumTree against a loop.")
    parser.add_argument("--capacity", type=int, default=2**20, help="buffer capacity (transitions)")
    parser.add_argument("--batch-size", type=int, default=256, help="transitions per sample")
    parser.add_argument("--repeats", type=int, default=50, help="timed calls of the vectorised version")
    args = parser.parse_args(argv)

    result = benchmark_sumtree(args.capacity, args.batch_size, args.repeats)
    print(f"vectorised {result['vectorised_us']:.0f} us/batch, loop {result['loop_us']:.0f} us/batch, "
          f"speedup {result['speedup']:.1f}x")


if __name__ == "__main__":
    main()
