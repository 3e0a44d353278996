"""The DQN agent: online and target networks, optimizer, replay buffer, acting and one update."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from dlnotes.rl.networks import DuelingQNetwork, QNetwork
from dlnotes.rl.replay import PrioritizedReplayBuffer, ReplayBuffer
from dlnotes.rl.targets import td_loss, td_target


@dataclass(frozen=True)
class Variant:
    """The switches that tell the DQN variants apart."""

    target_network: bool  # a separate target network copied every C steps (Nature DQN)
    double: bool  # the online network picks argmax a', the target network values it
    prioritized: bool  # proportional prioritized replay instead of uniform replay
    dueling: bool  # the dueling network instead of a plain MLP


# Each later variant changes one thing relative to Double DQN, the base that Schaul et al. and
# Wang et al. themselves built on, so each comparison isolates one idea.
VARIANTS: dict[str, Variant] = {
    "dqn2013": Variant(target_network=False, double=False, prioritized=False, dueling=False),
    "nature": Variant(target_network=True, double=False, prioritized=False, dueling=False),
    "double": Variant(target_network=True, double=True, prioritized=False, dueling=False),
    "prioritized": Variant(target_network=True, double=True, prioritized=True, dueling=False),
    "dueling": Variant(target_network=True, double=True, prioritized=False, dueling=True),
}


def get_variant(name: str) -> Variant:
    """Return the switches of the variant called `name` (a key of VARIANTS)."""
    if name not in VARIANTS:
        raise ValueError(f"variant={name!r} is unknown; expected one of {sorted(VARIANTS)}")
    return VARIANTS[name]


class DQNAgent:
    """Everything that learns: networks, optimizer and replay buffer, for one variant.

    Without a target network (the 2013 DQN) `self.target` is the online network itself, so the
    TD targets come from the very parameters being trained. With one, `self.target` is a deep
    copy that shares no tensor with the online network and changes only in `sync_target`.
    """

    def __init__(
        self,
        obs_dim: int,
        n_actions: int,
        variant: str,
        hidden: tuple[int, ...],
        learning_rate: float,
        buffer_size: int,
        batch_size: int,
        gamma: float,
        max_grad_norm: float,
        per_alpha: float,
        per_beta_start: float,
        per_beta_steps: int,
        per_eps: float,
        seed: int,
    ) -> None:
        self.variant = get_variant(variant)
        self.n_actions = n_actions
        self.batch_size = batch_size
        self.gamma = gamma
        self.max_grad_norm = max_grad_norm
        self.rng = np.random.default_rng(seed)

        network_class = DuelingQNetwork if self.variant.dueling else QNetwork
        self.online: nn.Module = network_class(obs_dim, n_actions, hidden)
        self.target: nn.Module = self.online
        if self.variant.target_network:
            self.target = copy.deepcopy(self.online).requires_grad_(False)
        self.optimizer = torch.optim.Adam(self.online.parameters(), lr=learning_rate)

        if self.variant.prioritized:
            self.buffer: ReplayBuffer = PrioritizedReplayBuffer(
                buffer_size, alpha=per_alpha, beta_start=per_beta_start, beta_steps=per_beta_steps, eps=per_eps, seed=seed
            )
        else:
            self.buffer = ReplayBuffer(buffer_size, seed=seed)

    def act(self, obs: np.ndarray, epsilon: float) -> int:
        """Return an epsilon-greedy action for one observation (obs_dim,) float32."""
        if self.rng.random() < epsilon:
            return int(self.rng.integers(self.n_actions))
        with torch.inference_mode():
            q = self.online(torch.from_numpy(obs).unsqueeze(0))  # (1, n_actions)
        return int(q.argmax())

    def update(self) -> float:
        """Sample a batch, take one gradient step on the Huber TD loss, return the loss value.

        The gradient norm is clipped to `max_grad_norm`. With prioritized replay the sampled
        transitions get their new |TD error| as priority.
        """
        batch, indices, weights = self.buffer.sample(self.batch_size)
        obs = torch.from_numpy(batch.obs)  # (B, obs_dim)
        actions = torch.from_numpy(batch.actions)  # (B,)
        rewards = torch.from_numpy(batch.rewards)  # (B,)
        next_obs = torch.from_numpy(batch.next_obs)  # (B, obs_dim)
        terminated = torch.from_numpy(batch.terminated)  # (B,)

        targets = td_target(rewards, next_obs, terminated, self.gamma, self.online, self.target, self.variant.double)
        q_taken = self.online(obs).gather(1, actions.unsqueeze(1)).squeeze(1)  # (B,)
        loss, abs_td_errors = td_loss(q_taken, targets, torch.from_numpy(weights))

        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(self.online.parameters(), self.max_grad_norm)
        self.optimizer.step()

        if self.variant.prioritized:
            self.buffer.update_priorities(indices, abs_td_errors.numpy())
        return loss.item()

    def sync_target(self) -> None:
        """Copy the online weights into the target network (a no-op for the 2013 DQN)."""
        if self.variant.target_network:
            self.target.load_state_dict(self.online.state_dict())
