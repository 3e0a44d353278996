"""A small reward model and its training loop, for the three objectives that chapter 5 compares.

- "ranking": InstructGPT's batching (Ouyang et al., 2022). One batch element
  is one prompt; its K responses are scored once and all its pairs enter the
  loss, summed and divided by C(K, 2).
- "shuffled_pairs": every pair is an independent example, shuffled across
  prompts, so each response is scored again for each of its K - 1 pairs.
- "rating_regression": mean squared error on the raw 1-7 ratings (standardized
  over the training set), with no comparisons at all.

Training runs in float64 on the CPU so that the printed accuracies do not
depend on the last bits of float32 arithmetic. It also runs on one CPU thread,
because tensors this small gain nothing from more threads. On 2 CPU cores shared
with other jobs, two threads made each step about 4 times slower than one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dlnotes.reward.data import PreferenceData
from dlnotes.reward.loss import bradley_terry_loss, ranking_loss
from dlnotes.reward.metrics import kendall_tau, pairwise_accuracy
from dlnotes.reward.rankings import PairIndex

OBJECTIVES = ("ranking", "shuffled_pairs", "rating_regression")


class RewardModel(nn.Module):
    """One scorer, shared by every response: an MLP from a response's features to a scalar reward."""

    def __init__(self, num_features: int, hidden: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(num_features, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def forward(self, features: Tensor) -> Tensor:
        """Score (..., D) features, returning (...) rewards."""
        return self.net(features).squeeze(-1)

    @torch.no_grad()
    def center_(self, reference_features: Tensor) -> float:
        """Shift the output bias so that the mean reward over ``reference_features`` (..., D) is 0.

        The Bradley-Terry loss depends only on reward differences, so this leaves
        every preference probability unchanged. Ouyang et al. (2022) centre their reward
        model this way on labeler demonstrations before RL. Returns the shift applied.
        """
        offset = self(reference_features).mean()
        self.net[-1].bias -= offset
        return -offset.item()


@dataclass(frozen=True)
class RewardTrainingConfig:
    """Hyperparameters of one training run."""

    objective: str = "ranking"  # one of OBJECTIVES
    hidden: int = 32  # width of the scorer's hidden layer
    epochs: int = 1
    batch_size: int = 16  # prompts per step ("ranking", "rating_regression") or pairs per step ("shuffled_pairs")
    learning_rate: float = 3e-3  # Adam
    margin_per_rating_point: float = 0.0  # margin = this * (rating of winner - rating of loser), as in Llama 2
    seed: int = 0  # initial weights and batch order


@dataclass(frozen=True)
class EpochMetrics:
    """Accuracies after one epoch. "Label" accuracies score the labelers' pairs, "true" ones the hidden reward's."""

    epoch: int
    steps: int  # optimizer steps so far
    responses_scored: int  # forward passes of single responses so far
    train_label_accuracy: float
    heldout_label_accuracy: float | None
    heldout_true_accuracy: float | None
    heldout_kendall_tau: float | None  # predicted vs true reward over every held-out response


def _validate_config(config: RewardTrainingConfig) -> None:
    if config.objective not in OBJECTIVES:
        raise ValueError(f"objective={config.objective!r} is invalid; expected one of {OBJECTIVES}")
    for name in ("hidden", "epochs", "batch_size"):
        if getattr(config, name) < 1:
            raise ValueError(f"{name}={getattr(config, name)} is invalid; expected an int >= 1")
    if not config.learning_rate > 0:
        raise ValueError(f"learning_rate={config.learning_rate} is invalid; expected a positive float")
    if config.margin_per_rating_point < 0:
        raise ValueError(f"margin_per_rating_point={config.margin_per_rating_point} is invalid; expected >= 0")
    if config.margin_per_rating_point > 0 and config.objective == "rating_regression":
        raise ValueError("margin_per_rating_point applies to the Bradley-Terry objectives; set it to 0 for rating_regression")


def _margins(data: PreferenceData, pairs: PairIndex, per_rating_point: float) -> Tensor:
    """Return (N, P) margins proportional to how many rating points separate each pair's winner from its loser."""
    gap = data.ratings.gather(1, pairs.winners) - data.ratings.gather(1, pairs.losers)  # (N, P)
    return per_rating_point * gap.clamp(min=0).double()


def train_reward_model(
    data: PreferenceData,
    config: RewardTrainingConfig,
    pairs: PairIndex | None = None,
    heldout: PreferenceData | None = None,
) -> tuple[RewardModel, list[EpochMetrics]]:
    """Train a RewardModel on ``data`` and return it with one EpochMetrics per epoch.

    ``pairs`` are the training comparisons, by default the labelers' full
    rankings (``data.ranking_pairs()``). The regression objective does not train
    on them, but its train accuracy is still measured on them. With ``heldout``, each
    epoch also scores the held-out labelers' rankings, the held-out true order
    and Kendall's tau against the held-out true reward. Deterministic for a
    given config.
    """
    _validate_config(config)
    pairs = data.ranking_pairs() if pairs is None else pairs
    if pairs.winners.shape[0] != data.features.shape[0] or pairs.num_responses != data.num_responses:
        raise ValueError(
            f"pairs covers {pairs.winners.shape[0]} prompts of {pairs.num_responses} responses, but data has "
            f"(prompts, responses) = {tuple(data.features.shape[:2])}; build pairs from this data, e.g. data.rating_pairs()"
        )
    if config.objective == "rating_regression" and data.ratings.unique().numel() < 2:
        raise ValueError(f"every rating in data is {data.ratings.flatten()[0].item()}; regression needs at least two distinct ratings")
    heldout_pairs = None if heldout is None else (heldout.ranking_pairs(), heldout.true_pairs())

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        model = RewardModel(data.features.shape[-1], config.hidden).double()
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    generator = torch.Generator().manual_seed(config.seed)
    margins = _margins(data, pairs, config.margin_per_rating_point) if config.margin_per_rating_point > 0 else None

    # "shuffled_pairs" flattens every real pair into one example: (prompt, winner, loser).
    prompt_of_pair = torch.arange(pairs.mask.shape[0])[:, None].expand_as(pairs.mask)[pairs.mask]  # (num_pairs,)
    winner_of_pair, loser_of_pair = pairs.winners[pairs.mask], pairs.losers[pairs.mask]
    margin_of_pair = None if margins is None else margins[pairs.mask]
    # Regression targets are standardized so that a mean rating near 4 costs no extra steps to learn.
    standardized_ratings = (data.ratings.double() - data.ratings.double().mean()) / data.ratings.double().std()  # (N, K)
    num_examples = prompt_of_pair.numel() if config.objective == "shuffled_pairs" else data.features.shape[0]

    history, steps, responses_scored = [], 0, 0
    with _one_cpu_thread():
        for epoch in range(1, config.epochs + 1):
            model.train()
            order = torch.randperm(num_examples, generator=generator)
            for start in range(0, num_examples, config.batch_size):
                batch = order[start : start + config.batch_size]

                if config.objective == "ranking":
                    rewards = model(data.features[batch])  # (b, K)
                    loss = ranking_loss(rewards, pairs[batch], None if margins is None else margins[batch])
                    responses_scored += rewards.numel()
                elif config.objective == "shuffled_pairs":
                    prompts = prompt_of_pair[batch]
                    chosen = model(data.features[prompts, winner_of_pair[batch]])  # (b,)
                    rejected = model(data.features[prompts, loser_of_pair[batch]])  # (b,)
                    loss = bradley_terry_loss(chosen, rejected, None if margin_of_pair is None else margin_of_pair[batch])
                    responses_scored += 2 * batch.numel()
                else:
                    rewards = model(data.features[batch])  # (b, K)
                    loss = F.mse_loss(rewards, standardized_ratings[batch])
                    responses_scored += rewards.numel()

                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                steps += 1

            model.eval()
            history.append(_epoch_metrics(model, epoch, steps, responses_scored, data, pairs, heldout, heldout_pairs))
    return model, history


@contextmanager
def _one_cpu_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _epoch_metrics(
    model: RewardModel,
    epoch: int,
    steps: int,
    responses_scored: int,
    data: PreferenceData,
    pairs: PairIndex,
    heldout: PreferenceData | None,
    heldout_pairs: tuple[PairIndex, PairIndex] | None,
) -> EpochMetrics:
    with torch.no_grad():
        train_accuracy = pairwise_accuracy(model(data.features), pairs)
        if heldout is None:
            return EpochMetrics(epoch, steps, responses_scored, train_accuracy, None, None, None)

        scores = model(heldout.features)  # (N, K)
        label_accuracy = pairwise_accuracy(scores, heldout_pairs[0])
        true_accuracy = pairwise_accuracy(scores, heldout_pairs[1])
        tau = kendall_tau(scores.flatten(), heldout.true_reward.flatten())
    return EpochMetrics(epoch, steps, responses_scored, train_accuracy, label_accuracy, true_accuracy, tau)
