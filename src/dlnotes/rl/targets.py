"""The TD target shared by every DQN variant, the loss, and the exploration schedule."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


@torch.no_grad()
def td_target(
    rewards: torch.Tensor,
    next_obs: torch.Tensor,
    terminated: torch.Tensor,
    gamma: float,
    online: nn.Module,
    target: nn.Module,
    double: bool,
) -> torch.Tensor:
    """Compute y = r + gamma * (1 - terminated) * Q_target(s', a*) without gradients, shape (B,).

    - `double=False` (DQN): a* = argmax_a Q_target(s', a), so the target network both picks and
      values the action, which is max_a Q_target(s', a).
    - `double=True` (Double DQN): a* = argmax_a Q_online(s', a) picks the action and the target
      network values it.
    The 2013 DQN passes the online network as `target` too. `rewards` and `terminated` are (B,)
    float32. `terminated` is 1.0 only for a terminal state, so a time-limit truncation still
    bootstraps from `next_obs` (B, obs_dim).
    """
    if not 0 <= gamma <= 1:
        raise ValueError(f"gamma={gamma!r} is invalid; expected a discount in [0, 1]")

    next_q = target(next_obs)  # (B, n_actions)
    if double:
        best_actions = online(next_obs).argmax(dim=1, keepdim=True)  # (B, 1)
    else:
        best_actions = next_q.argmax(dim=1, keepdim=True)
    next_value = next_q.gather(1, best_actions).squeeze(1)  # (B,)
    return rewards + gamma * (1.0 - terminated) * next_value


def td_loss(q_taken: torch.Tensor, targets: torch.Tensor, weights: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (the weighted mean Huber loss, the absolute TD errors |y - Q| detached, shape (B,)).

    `q_taken` is Q(s, a) of the actions taken, `targets` is y and `weights` are the importance
    weights (all ones for uniform replay), each of shape (B,). The Huber loss (delta = 1) is quadratic
    for errors below 1 and linear above, so one large error cannot produce a huge gradient.
    """
    if targets.requires_grad:
        raise ValueError("targets require grad. Compute them with td_target (under torch.no_grad) so that no gradient flows through y")

    losses = F.smooth_l1_loss(q_taken, targets, reduction="none")  # (B,)
    return (weights * losses).mean(), (targets - q_taken).detach().abs()


def linear_epsilon(step: int, start: float, end: float, duration: int) -> float:
    """Return epsilon for the epsilon-greedy policy: linear from `start` to `end` over `duration` steps, then `end`."""
    if duration <= 0:
        raise ValueError(f"duration={duration!r} is invalid; expected a positive number of steps")
    fraction = min(1.0, max(step, 0) / duration)
    return start + fraction * (end - start)
