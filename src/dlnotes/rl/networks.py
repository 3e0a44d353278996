"""Q-networks for discrete actions: a plain MLP and the dueling architecture."""

from __future__ import annotations

import torch
from torch import nn


def _mlp(in_features: int, hidden: tuple[int, ...]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for width in hidden:
        layers += [nn.Linear(in_features, width), nn.ReLU()]
        in_features = width
    return nn.Sequential(*layers)


def _check_sizes(obs_dim: int, n_actions: int, hidden: tuple[int, ...]) -> None:
    if obs_dim <= 0 or n_actions <= 0:
        raise ValueError(f"obs_dim={obs_dim}, n_actions={n_actions}; expected positive ints")
    if len(hidden) == 0 or min(hidden) <= 0:
        raise ValueError(f"hidden={hidden}; expected at least one positive layer width")


class QNetwork(nn.Module):
    """An MLP from observations (B, obs_dim) float32 to action values Q(s, .) of shape (B, n_actions)."""

    def __init__(self, obs_dim: int, n_actions: int, hidden: tuple[int, ...] = (128, 128)) -> None:
        super().__init__()
        _check_sizes(obs_dim, n_actions, hidden)
        self.body = _mlp(obs_dim, hidden)
        self.head = nn.Linear(hidden[-1], n_actions)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(obs))  # (B, n_actions)


class DuelingQNetwork(nn.Module):
    """The dueling architecture (Wang et al., 2016): Q(s, a) = V(s) + A(s, a) - mean_a' A(s, a').

    A shared body feeds a value head V (one output) and an advantage head A (one output per
    action). V + A alone is not identifiable: adding c to V and subtracting c from A gives the same
    Q. Subtracting the mean of A over the actions of each sample pins the split down, so that the
    centred advantages average to 0 and V(s) equals the mean of Q(s, .). The mean runs over
    actions (dim 1), never over the batch, so one sample's Q never depends on the others'.
    """

    def __init__(self, obs_dim: int, n_actions: int, hidden: tuple[int, ...] = (128, 128)) -> None:
        super().__init__()
        _check_sizes(obs_dim, n_actions, hidden)
        self.body = _mlp(obs_dim, hidden)
        self.value_head = nn.Linear(hidden[-1], 1)
        self.advantage_head = nn.Linear(hidden[-1], n_actions)

    def value_and_advantage(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return the raw heads: V (B, 1) and A (B, n_actions), before centring."""
        features = self.body(obs)  # (B, hidden[-1])
        return self.value_head(features), self.advantage_head(features)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        value, advantage = self.value_and_advantage(obs)  # (B, 1), (B, n_actions)
        return value + advantage - advantage.mean(dim=1, keepdim=True)  # (B, n_actions)
