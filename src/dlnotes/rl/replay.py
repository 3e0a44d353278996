"""Experience replay: a uniform buffer, a SumTree and proportional prioritized replay.

Prioritized replay follows Schaul et al. (2016), proportional variant: transition i is
sampled with probability P(i) = p_i / sum_k p_k, where the stored priority is
p_i = (|delta_i| + eps)^alpha, and its loss is weighted by w_i = (N * P(i))^-beta.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class Batch(NamedTuple):
    """A batch of B transitions as NumPy arrays, copied out of the buffer (safe to keep)."""

    obs: np.ndarray  # (B, *obs_shape) float32
    actions: np.ndarray  # (B,) int64
    rewards: np.ndarray  # (B,) float32
    next_obs: np.ndarray  # (B, *obs_shape) float32
    terminated: np.ndarray  # (B,) float32, 1.0 where the episode ended in a terminal state


def _check_capacity(capacity: int) -> None:
    if isinstance(capacity, bool) or not isinstance(capacity, (int, np.integer)) or capacity <= 0:
        raise ValueError(f"capacity={capacity!r} is invalid; expected a positive int")


def _check_finite_nonnegative(name: str, values: np.ndarray) -> None:
    # Fast path: a NaN makes both comparisons False, so valid input needs only a min and a max.
    if values.size == 0 or (values.min() >= 0 and values.max() < np.inf):
        return
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{name} contains NaN or infinite values ({values[~np.isfinite(values)][:3]}); expected finite numbers")
    if np.any(values < 0):
        raise ValueError(f"{name} contains negative values ({values[values < 0][:3]}); expected values >= 0")


def _check_indices(indices: np.ndarray, stop: int, expected: str) -> None:
    # Viewed as unsigned, a negative int64 index becomes larger than any `stop`, so one max
    # checks both ends of the range.
    if indices.size and indices.view(np.uint64).max() >= stop:
        raise ValueError(f"indices range over [{indices.min()}, {indices.max()}]; expected {expected} in [0, {stop})")


class SumTree:
    """A binary tree whose every node stores the sum of its two children, over `capacity` leaves.

    The tree lives in one float64 array in heap order: the root is node 1 and node k has children
    2k and 2k+1, so level l (the root is level 0) is the slice [2**l, 2**(l+1)). The leaf count is
    rounded up to a power of two so every leaf sits at the same depth. The extra leaves keep
    priority 0, so `find` never returns them. Leaf i covers the interval (c_{i-1}, c_i] of the
    cumulative sums c.

    The top levels are handled wholesale, because one NumPy call on a level of a few thousand
    nodes costs about as much as one call on a batch of 256 indices:
    - `find` runs `np.searchsorted` on the cumulative sums of level `search_depth` to pick each
      value's node there, and descends only the levels below it.
    - `update` recomputes the ancestors of the changed leaves up to level `recompute_depth`, and
      then every node above it, one call per level.
    """

    # Chosen by timing `python -m dlnotes.rl.benchmark` at capacity 2**20 on a 2-core x86 CPU,
    # where search depths 8 to 11 and recompute depths 10 to 14 timed within noise. A
    # cumulative sum cost about 3-4 ns per node there, so a deeper search level stops paying
    # off sooner than a deeper wholesale recomputation does.
    SEARCH_DEPTH = 9
    RECOMPUTE_DEPTH = 13

    def __init__(self, capacity: int) -> None:
        _check_capacity(capacity)
        self.capacity = int(capacity)
        self.depth = max(1, int(np.ceil(np.log2(self.capacity))))
        self.n_leaves = 2**self.depth
        self.search_depth = min(self.depth, self.SEARCH_DEPTH)
        self.recompute_depth = min(self.depth, self.RECOMPUTE_DEPTH)
        self.nodes = np.zeros(2 * self.n_leaves, dtype=np.float64)  # node 0 is unused

        # Views of `nodes` made once, because creating a view costs about as much as adding 256
        # numbers. So `nodes` must only be changed in place, never rebound.
        # - `_child_pairs[k]` is the complex number nodes[2k] + i * nodes[2k+1] (the children of k).
        # - `_wholesale_levels` contains (parents, left children, right children) for the levels
        #   that `update` recomputes in full, deepest first.
        self._child_pairs = self.nodes.view(np.complex128)
        self._ancestor_shifts = np.arange(1, self.depth - self.recompute_depth + 1)[:, None]  # (levels, 1)
        self._wholesale_levels = []
        for level in range(self.recompute_depth - 1, -1, -1):
            children = self.nodes[2 ** (level + 1) : 2 ** (level + 2)]
            self._wholesale_levels.append((self.nodes[2**level : 2 ** (level + 1)], children[0::2], children[1::2]))

    @property
    def total(self) -> float:
        """The sum of every leaf priority (the root)."""
        return float(self.nodes[1])

    @property
    def leaves(self) -> np.ndarray:
        """A read-only view of the `capacity` leaf priorities, shape (capacity,)."""
        view = self.nodes[self.n_leaves : self.n_leaves + self.capacity]
        view.flags.writeable = False
        return view

    def update(self, indices: np.ndarray, priorities: np.ndarray) -> None:
        """Set the leaves `indices` (shape (B,), int) to `priorities` (shape (B,), finite, >= 0).

        All ancestors are recomputed for the whole batch at once. A repeated index takes the last
        of its priorities.
        """
        indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        priorities = np.asarray(priorities, dtype=np.float64).reshape(-1)
        if indices.shape != priorities.shape:
            raise ValueError(f"indices has shape {indices.shape} but priorities has shape {priorities.shape}; expected equal shapes")
        _check_indices(indices, self.capacity, "leaf indices")
        _check_finite_nonnegative("priorities", priorities)

        self._set_leaves(indices, priorities)

    def _set_leaves(self, indices: np.ndarray, priorities: np.ndarray) -> None:
        nodes = indices + self.n_leaves
        self.nodes[nodes] = priorities

        # Up to level `recompute_depth`: recompute only the ancestors of the changed leaves. A
        # parent is set to the sum of its children (not changed by a difference), so duplicate
        # parents are harmless.
        for parents in nodes >> self._ancestor_shifts:  # (levels, B): the ancestors, one level per row
            pair = self._child_pairs[parents]  # (B,) complex128
            self.nodes[parents] = pair.real + pair.imag

        # Above it: recompute every node up to the root, one call per level.
        for parents, left, right in self._wholesale_levels:
            np.add(left, right, out=parents)

    def find(self, values: np.ndarray) -> np.ndarray:
        """Return the leaf index whose interval (c_{i-1}, c_i] contains each value, shape (B,) int64.

        `values` has shape (B,) and lies in [0, total]. It never returns a zero-priority leaf,
        also for a value of 0, a value equal to the total, or sums that rounding has made
        slightly inconsistent.
        """
        values = np.array(values, dtype=np.float64).reshape(-1)
        total = self.total
        if total <= 0:
            raise ValueError("the tree is empty (total priority 0). Add a positive priority before calling find")
        # A NaN makes both comparisons False, so it is rejected too.
        if values.size and not (values.min() >= 0 and values.max() <= total):
            raise ValueError(f"values range over [{values.min()}, {values.max()}]; expected finite values in [0, total={total}]")

        leaves, _ = self._find(values)
        return leaves

    def _find(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """`find` without input checks, which also returns the leaf priorities (B,) float64.

        `values` (B,) float64 is overwritten.
        """
        original = values.copy()

        # Node j of level k = `search_depth` covers (bounds[j], bounds[j+1]]. A value above
        # bounds[-1] (the cumulative sum rounded below the root) goes to the last node.
        # NOTE: the cumulative sum rounds differently from a root-to-leaf descent, so a value
        # within a few ulps of a leaf boundary can land on the neighbouring leaf (never an empty one).
        level_start = 2**self.search_depth
        bounds = np.zeros(level_start + 1)  # (2**k + 1,) bounds[j] = sum of the nodes before node j
        self.nodes[level_start : 2 * level_start].cumsum(out=bounds[1:])
        nodes = bounds[1:].searchsorted(values, side="left")  # (B,)
        np.minimum(nodes, level_start - 1, out=nodes)
        values -= bounds.take(nodes)
        nodes += level_start
        nodes = self._descend(values, nodes, self.depth - self.search_depth, guarded=False)
        priorities = self.nodes.take(nodes)

        # The plain search can end on an empty leaf, at a boundary next to a zero-sum subtree or
        # after rounding drift. Only those values are descended again from the root, with guards.
        if priorities.min(initial=1.0) <= 0:
            empty = priorities <= 0
            retry = original[empty]
            nodes[empty] = self._descend(retry, np.ones(retry.shape, dtype=np.int64), self.depth, guarded=True)
            priorities[empty] = self.nodes.take(nodes[empty])
        return nodes - self.n_leaves, priorities

    def _descend(self, values: np.ndarray, nodes: np.ndarray, levels: int, guarded: bool) -> np.ndarray:
        """Walk each value down `levels` levels from its node, one level per step, for the whole batch.

        `nodes` (B,) int64 must sit `levels` levels above the leaves, and `values` (B,) float64 are
        relative to the start of each node's interval. Both are overwritten. Returns the node
        indices of the leaves reached (B,) int64, which are `nodes` itself.
        """
        tree = self.nodes
        for _ in range(levels):
            nodes += nodes  # the left children 2k
            left_sum = tree.take(nodes)
            go_right = values > left_sum
            if guarded:
                # Never enter a subtree of sum 0: go right when the left one is empty, and
                # stay left when the right one is empty.
                go_right = (left_sum <= 0) | (go_right & (tree.take(nodes + 1) > 0))
            left_sum *= go_right
            values -= left_sum
            nodes += go_right
        return nodes


class ReplayBuffer:
    """A ring buffer of transitions with uniform sampling, stored in preallocated NumPy arrays.

    The arrays are allocated for the whole capacity at the first `add`, when the observation
    shape is known. `seed` seeds the buffer's own generator, so sampling is reproducible.
    """

    def __init__(self, capacity: int, seed: int | None = None) -> None:
        _check_capacity(capacity)
        self.capacity = int(capacity)
        self.rng = np.random.default_rng(seed)
        self.size = 0
        self.position = 0  # slot that the next `add` writes
        self.obs: np.ndarray | None = None

    def __len__(self) -> int:
        return self.size

    def _allocate(self, obs_shape: tuple[int, ...]) -> None:
        self.obs = np.zeros((self.capacity, *obs_shape), dtype=np.float32)
        self.next_obs = np.zeros((self.capacity, *obs_shape), dtype=np.float32)
        self.actions = np.zeros(self.capacity, dtype=np.int64)
        self.rewards = np.zeros(self.capacity, dtype=np.float32)
        self.terminated = np.zeros(self.capacity, dtype=np.float32)

    def add(self, obs: np.ndarray, action: int, reward: float, next_obs: np.ndarray, terminated: bool) -> int:
        """Store one transition, overwriting the oldest when full, and return its slot index.

        `terminated` is True only when the episode reached a terminal state, never when a time
        limit cut it off, because the TD target bootstraps from `next_obs` unless it is True.
        """
        obs = np.asarray(obs, dtype=np.float32)
        next_obs = np.asarray(next_obs, dtype=np.float32)
        if obs.shape != next_obs.shape:
            raise ValueError(f"obs has shape {obs.shape} but next_obs has shape {next_obs.shape}; expected equal shapes")
        if self.obs is not None and obs.shape != self.obs.shape[1:]:
            raise ValueError(f"obs has shape {obs.shape}; expected {self.obs.shape[1:]} like the stored observations")
        if not np.isfinite(reward):
            raise ValueError(f"reward={reward!r} is not finite; expected a finite number")
        if self.obs is None:
            self._allocate(obs.shape)

        slot = self.position
        self.obs[slot] = obs
        self.next_obs[slot] = next_obs
        self.actions[slot] = action
        self.rewards[slot] = reward
        self.terminated[slot] = float(terminated)
        self.position = (slot + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)
        return slot

    def _check_batch_size(self, batch_size: int) -> None:
        if self.size == 0:
            raise ValueError("cannot sample from an empty buffer. Add transitions first")
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or not 0 < batch_size <= self.size:
            raise ValueError(f"batch_size={batch_size!r} is invalid; expected an int in [1, {self.size}] (the stored size)")

    def _gather(self, indices: np.ndarray) -> Batch:
        # `take` along axis 0 copies the same rows as `obs[indices]`, but on (2**20, 4) arrays it
        # measured about 6x faster (NumPy 2.4).
        return Batch(self.obs.take(indices, axis=0), self.actions.take(indices), self.rewards.take(indices),
                     self.next_obs.take(indices, axis=0), self.terminated.take(indices))

    def sample(self, batch_size: int) -> tuple[Batch, np.ndarray, np.ndarray]:
        """Draw `batch_size` transitions uniformly with replacement.

        Returns (batch, indices (B,) int64, weights (B,) float32 of ones), the same triple as
        `PrioritizedReplayBuffer.sample`, so a training loop can use either buffer.
        """
        self._check_batch_size(batch_size)

        indices = self.rng.integers(0, self.size, size=batch_size)
        weights = np.ones(batch_size, dtype=np.float32)
        return self._gather(indices), indices, weights


class PrioritizedReplayBuffer(ReplayBuffer):
    """Proportional prioritized replay on a SumTree (Schaul et al., 2016).

    - A new transition gets the largest priority seen so far (1.0 before any update), so it is
      sampled at least once soon.
    - `update_priorities` stores p_i = (|delta_i| + eps)^alpha.
    - `sample` is stratified: the total is cut into B equal segments and one value is drawn
      uniformly in each.
    - Importance weights (N * P(i))^-beta are divided by the largest weight in the batch, so they
      lie in (0, 1]. Schaul et al. divide by the largest weight over the whole buffer, which needs
      the smallest stored priority. Taking that minimum over empty leaves gives 0 and makes every
      weight 0.
    - beta grows linearly from `beta_start` to 1 over `beta_steps` calls to `sample`.
    """

    def __init__(
        self,
        capacity: int,
        alpha: float = 0.6,
        beta_start: float = 0.4,
        beta_steps: int = 100_000,
        eps: float = 1e-6,
        seed: int | None = None,
    ) -> None:
        super().__init__(capacity, seed)
        if not 0 <= alpha <= 1:
            raise ValueError(f"alpha={alpha!r} is invalid; expected a number in [0, 1]")
        if not 0 <= beta_start <= 1:
            raise ValueError(f"beta_start={beta_start!r} is invalid; expected a number in [0, 1]")
        if isinstance(beta_steps, bool) or not isinstance(beta_steps, (int, np.integer)) or beta_steps <= 0:
            raise ValueError(f"beta_steps={beta_steps!r} is invalid; expected a positive int")
        if not eps > 0:
            raise ValueError(f"eps={eps!r} is invalid; expected a positive number")
        self.alpha = alpha
        self.beta_start = beta_start
        self.beta_steps = int(beta_steps)
        self.eps = eps
        self.tree = SumTree(self.capacity)
        self.max_priority = 1.0
        self.sample_calls = 0

    @property
    def beta(self) -> float:
        """The importance-sampling exponent for the next `sample` call."""
        fraction = min(1.0, self.sample_calls / self.beta_steps)
        return self.beta_start + fraction * (1.0 - self.beta_start)

    def add(self, obs: np.ndarray, action: int, reward: float, next_obs: np.ndarray, terminated: bool) -> int:
        """Store one transition with the largest priority seen so far and return its slot index."""
        slot = super().add(obs, action, reward, next_obs, terminated)
        self.tree.update(np.array([slot]), np.array([self.max_priority]))
        return slot

    def sample(self, batch_size: int) -> tuple[Batch, np.ndarray, np.ndarray]:
        """Draw one transition from each of `batch_size` equal segments of the total priority.

        Returns (batch, tree indices (B,) int64, importance weights (B,) float32 in (0, 1]).
        """
        self._check_batch_size(batch_size)

        total = self.tree.total
        values = np.arange(batch_size, dtype=np.float64)  # (B,)
        values += self.rng.random(batch_size)
        values *= total / batch_size
        np.minimum(values, total, out=values)
        indices, priorities = self.tree._find(values)  # the values lie in [0, total], so find's checks are skipped

        weights = priorities / total  # (B,) P(i)
        weights *= self.size
        weights **= -self.beta
        weights /= weights.max()
        self.sample_calls += 1
        return self._gather(indices), indices, weights.astype(np.float32)

    def update_priorities(self, indices: np.ndarray, td_errors: np.ndarray) -> None:
        """Set the priorities of `indices` (shape (B,)) to (|td_errors| + eps)^alpha.

        `td_errors` are the absolute TD errors |delta|: finite and >= 0. A negative value is
        rejected because it means the caller passed signed errors.
        """
        indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        td_errors = np.asarray(td_errors, dtype=np.float64).reshape(-1)
        if indices.shape != td_errors.shape:
            raise ValueError(f"indices has shape {indices.shape} but td_errors has shape {td_errors.shape}; expected equal shapes")
        _check_finite_nonnegative("td_errors", td_errors)
        _check_indices(indices, self.size, "stored slots")

        priorities = td_errors + self.eps
        priorities **= self.alpha
        self.tree._set_leaves(indices, priorities)
        self.max_priority = max(self.max_priority, float(priorities.max(initial=0.0)))
