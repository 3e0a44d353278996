"""Ranking metrics for predicted rewards: pairwise accuracy and Kendall's tau-b."""

from __future__ import annotations

import torch
from torch import Tensor

from dlnotes.reward.rankings import PairIndex


def pairwise_accuracy(scores: Tensor, pairs: PairIndex) -> float:
    """Return the fraction of the (winner, loser) pairs in ``pairs`` that ``scores`` (B, K) orders correctly.

    A tie in ``scores`` counts as half right, so constant scores give 0.5.
    """
    if scores.ndim != 2 or tuple(scores.shape) != (pairs.winners.shape[0], pairs.num_responses):
        raise ValueError(f"scores has shape {tuple(scores.shape)}; expected ({pairs.winners.shape[0]}, {pairs.num_responses}) to match pairs")
    if not pairs.mask.any():
        raise ValueError("pairs contains no comparison (every response tied); pass rankings with at least one pair")

    winner_scores = scores.gather(1, pairs.winners)  # (B, P)
    loser_scores = scores.gather(1, pairs.losers)  # (B, P)
    credit = (winner_scores > loser_scores).double() + 0.5 * (winner_scores == loser_scores).double()
    return (credit[pairs.mask].sum() / pairs.mask.sum()).item()


def kendall_tau(x: Tensor, y: Tensor) -> float:
    """Return Kendall's tau-b between two (N,) tensors, in [-1, 1].

    tau-b = (concordant - discordant) / sqrt((n0 - ties_x) * (n0 - ties_y)),
    where n0 = N(N - 1) / 2 and ties_x counts the pairs tied in x. It compares
    every pair, so it takes O(N^2) memory: fine for a few thousand values.
    """
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError(f"x has shape {tuple(x.shape)} and y has {tuple(y.shape)}; expected two (N,) tensors of one length")
    if x.numel() < 2:
        raise ValueError(f"x has {x.numel()} values; Kendall's tau needs at least 2")
    if not (torch.isfinite(x.double()).all() and torch.isfinite(y.double()).all()):
        raise ValueError("x or y contains non-finite values; pass finite scores")

    sign_x = torch.sign(x[:, None] - x[None, :])  # (N, N), each pair counted twice
    sign_y = torch.sign(y[:, None] - y[None, :])
    untied_x = (sign_x != 0).sum().double()
    untied_y = (sign_y != 0).sum().double()
    if untied_x == 0 or untied_y == 0:
        raise ValueError("x or y is constant; Kendall's tau-b is undefined without an untied pair")
    return ((sign_x * sign_y).sum().double() / torch.sqrt(untied_x * untied_y)).item()
