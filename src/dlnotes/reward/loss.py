"""The Bradley-Terry preference probability and the reward-model losses built on it.

Under the Bradley-Terry model (Bradley and Terry, 1952), the probability that
response w is preferred to response l is sigmoid(r_w - r_l), so the reward
difference is the log-odds of the preference. The loss is the cross-entropy
with label 1, -log sigmoid(r_w - r_l), computed here with ``logsigmoid`` so
that it stays finite for any finite difference.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from dlnotes.reward.rankings import PairIndex

REDUCTIONS = ("mean", "sum", "none")


def _check_reward_pair(chosen: Tensor, rejected: Tensor, names: tuple[str, str]) -> None:
    """Raise ValueError unless the two reward tensors are floating, non-empty, finite and of one shape."""
    for name, rewards in zip(names, (chosen, rejected)):
        if not isinstance(rewards, Tensor) or not rewards.is_floating_point():
            raise ValueError(f"{name} must be a floating-point tensor of rewards, got {type(rewards).__name__}")
    if chosen.shape != rejected.shape:
        raise ValueError(f"{names[0]} has shape {tuple(chosen.shape)} but {names[1]} has {tuple(rejected.shape)}; pass one reward per response of each pair")
    if chosen.numel() == 0:
        raise ValueError(f"{names[0]} and {names[1]} are empty; pass at least one pair")
    for name, rewards in zip(names, (chosen, rejected)):
        if not torch.isfinite(rewards).all():
            raise ValueError(f"{name} contains non-finite rewards (inf or NaN); check the reward model's output")


def preference_probability(r_chosen: Tensor, r_rejected: Tensor) -> Tensor:
    """Return P(chosen > rejected) = sigmoid(r_chosen - r_rejected), elementwise, same shape as the inputs."""
    _check_reward_pair(r_chosen, r_rejected, ("r_chosen", "r_rejected"))
    return torch.sigmoid(r_chosen - r_rejected)


def bradley_terry_loss(chosen: Tensor, rejected: Tensor, margin: Tensor | float | None = None, reduction: str = "mean") -> Tensor:
    """Return -log sigmoid(chosen - rejected - margin), the Bradley-Terry negative log-likelihood.

    ``chosen`` and ``rejected`` are rewards of one shape (any, non-empty) for
    the preferred and the other response of each pair. ``margin`` (a float or
    a tensor of that shape, default 0) is subtracted from each difference. The
    loss then keeps pushing until the chosen reward exceeds the rejected one by
    more than the margin, as in Llama 2 (Touvron et al., 2023).
    ``reduction`` is "mean", "sum" or "none" (per-pair losses). Losses are in
    nats (natural logarithm).
    """
    _check_reward_pair(chosen, rejected, ("chosen", "rejected"))
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction={reduction!r} is invalid; expected one of {REDUCTIONS}")

    delta = chosen - rejected
    if margin is not None:
        margin = torch.as_tensor(margin, dtype=delta.dtype, device=delta.device)
        if margin.ndim != 0 and margin.shape != delta.shape:
            raise ValueError(f"margin has shape {tuple(margin.shape)}; expected a scalar or the rewards' shape {tuple(delta.shape)}")
        if not torch.isfinite(margin).all():
            raise ValueError("margin contains non-finite values; pass finite margins")
        delta = delta - margin

    losses = -F.logsigmoid(delta)
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    return losses


def ranking_loss(rewards: Tensor, pairs: PairIndex, margins: Tensor | None = None) -> Tensor:
    """Compute the InstructGPT reward loss of a batch of prompts.

    Each prompt's pair losses are summed and divided by C(K, 2), then the
    result is averaged over prompts. ``rewards`` is (B, K): one forward pass
    per response. ``pairs`` contains each
    prompt's (winner, loser) positions padded to C(K, 2) pairs. Dividing by
    C(K, 2), as Ouyang et al. (2022) do, rather than by each prompt's pair
    count, makes a prompt with tied responses (fewer pairs) weigh less.
    ``margins`` (B, C(K, 2)), optional, is subtracted from each difference.
    """
    if not isinstance(rewards, Tensor) or not rewards.is_floating_point() or rewards.ndim != 2:
        raise ValueError(f"rewards must be a (B, K) floating-point tensor, got {getattr(rewards, 'shape', type(rewards).__name__)}")
    if rewards.shape[0] == 0:
        raise ValueError("rewards is empty; pass at least one prompt")
    if rewards.shape[1] != pairs.num_responses or rewards.shape[0] != pairs.winners.shape[0]:
        raise ValueError(f"rewards has shape {tuple(rewards.shape)} but pairs covers {pairs.winners.shape[0]} prompts of {pairs.num_responses} responses; pass the pairs of the same prompts")
    if not torch.isfinite(rewards).all():
        raise ValueError("rewards contains non-finite values (inf or NaN); check the reward model's output")

    chosen = rewards.gather(1, pairs.winners)  # (B, P)
    rejected = rewards.gather(1, pairs.losers)  # (B, P)
    losses = bradley_terry_loss(chosen, rejected, margin=margins, reduction="none")  # (B, P)

    per_prompt = (losses * pairs.mask).sum(dim=1) / math.comb(pairs.num_responses, 2)  # (B,)
    return per_prompt.mean()
