"""Synthetic preference data: responses with a hidden true reward, rated and ranked by labelers with habits.

Each prompt has K responses, each a feature vector x ~ N(0, I_D). The hidden
true reward is r*(x) = w.x + 0.5 sin(3 v.x) for fixed unit vectors w and v, so
a linear model cannot fit it exactly. One labeler, drawn at random, judges
all K responses of a prompt: they perceive u = r* + noise and

- rank the responses by u (a full ranking, ties only where u ties), and
- rate each response on a 1-7 Likert scale: round(4 + shift + 1.5 scale u), clipped.

A labeler's shift and scale change every rating of theirs, yet leave the
order of u, and so their rankings, unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor

from dlnotes.reward.rankings import PairIndex, rankings_to_pair_index, scores_to_ranking

LIKERT_MIN, LIKERT_MAX, LIKERT_CENTRE = 1, 7, 4
RATING_UNITS_PER_REWARD = 1.5  # Likert points per unit of perceived reward for scale = 1


@dataclass(frozen=True)
class Labeler:
    """One labeler's rating habits."""

    name: str
    shift: float  # Likert points added to every rating
    scale: float  # 1 uses the scale as intended; below 1 compresses ratings towards the centre
    noise_std: float  # std of the perception noise, in units of the true reward


DEFAULT_LABELERS = (
    Labeler("calibrated", shift=0.0, scale=1.0, noise_std=0.3),
    Labeler("generous", shift=1.5, scale=1.0, noise_std=0.3),
    Labeler("harsh", shift=-1.5, scale=1.0, noise_std=0.3),
    Labeler("compressed", shift=0.5, scale=0.3, noise_std=0.3),
    Labeler("noisy", shift=0.0, scale=1.0, noise_std=1.0),
)


@dataclass(frozen=True)
class PreferenceDataConfig:
    """Size and randomness of one synthetic data set."""

    num_prompts: int = 256
    responses_per_prompt: int = 4  # K
    num_features: int = 8  # D
    labelers: tuple[Labeler, ...] = field(default=DEFAULT_LABELERS)
    world_seed: int = 0  # fixes the hidden true reward; keep it equal for train and held-out sets
    seed: int = 0  # draws the responses, labelers and noise


@dataclass(frozen=True)
class PreferenceData:
    """Responses of N prompts, K each, with their hidden reward and every label the labelers gave."""

    features: Tensor  # (N, K, D) float64
    true_reward: Tensor  # (N, K) float64, hidden from training
    perceived_reward: Tensor  # (N, K) float64, true reward plus the labeler's noise
    ratings: Tensor  # (N, K) int64 in 1..7
    labeler_index: Tensor  # (N,) int64, position in the config's labelers
    labelers: tuple[Labeler, ...]

    @property
    def num_responses(self) -> int:
        """K, the responses per prompt."""
        return self.features.shape[1]

    def ranking_pairs(self) -> PairIndex:
        """Return the pairs of the labelers' rankings (ordered by perceived reward, no ties)."""
        return rankings_to_pair_index([scores_to_ranking(row) for row in self.perceived_reward], self.num_responses)

    def rating_pairs(self) -> PairIndex:
        """Return the pairs of the rankings read off the Likert ratings (equal ratings tie)."""
        return rankings_to_pair_index([scores_to_ranking(row) for row in self.ratings], self.num_responses)

    def true_pairs(self) -> PairIndex:
        """Return the pairs ordered by the hidden true reward, for evaluation."""
        return rankings_to_pair_index([scores_to_ranking(row) for row in self.true_reward], self.num_responses)


def true_reward_function(features: Tensor, world_seed: int) -> Tensor:
    """Return the hidden reward r*(x) = w.x + 0.5 sin(3 v.x) of (..., D) features, shape (...)."""
    generator = torch.Generator().manual_seed(world_seed)
    directions = torch.randn(2, features.shape[-1], generator=generator, dtype=torch.float64)
    w, v = directions / directions.norm(dim=1, keepdim=True)  # unit vectors, (D,) each
    return features @ w + 0.5 * torch.sin(3.0 * (features @ v))


def make_preference_data(config: PreferenceDataConfig) -> PreferenceData:
    """Draw responses, assign one labeler per prompt, and record the perceived rewards and Likert ratings.

    The labelers' rankings are the order of the perceived rewards (``PreferenceData.ranking_pairs``).
    """
    if config.num_prompts < 1 or config.responses_per_prompt < 2 or config.num_features < 1:
        raise ValueError(
            f"num_prompts={config.num_prompts}, responses_per_prompt={config.responses_per_prompt}, "
            f"num_features={config.num_features} are invalid; expected >= 1, >= 2 and >= 1"
        )
    if len(config.labelers) == 0:
        raise ValueError("labelers is empty; pass at least one Labeler")
    for labeler in config.labelers:
        if labeler.scale <= 0 or labeler.noise_std < 0:
            raise ValueError(f"labeler {labeler!r} is invalid; expected scale > 0 and noise_std >= 0")

    generator = torch.Generator().manual_seed(config.seed)
    shape = (config.num_prompts, config.responses_per_prompt)
    features = torch.randn(*shape, config.num_features, generator=generator, dtype=torch.float64)  # (N, K, D)
    true_reward = true_reward_function(features, config.world_seed)  # (N, K)

    labeler_index = torch.randint(len(config.labelers), (config.num_prompts,), generator=generator)  # (N,)
    shift = torch.tensor([l.shift for l in config.labelers], dtype=torch.float64)[labeler_index, None]  # (N, 1)
    scale = torch.tensor([l.scale for l in config.labelers], dtype=torch.float64)[labeler_index, None]
    noise_std = torch.tensor([l.noise_std for l in config.labelers], dtype=torch.float64)[labeler_index, None]

    perceived = true_reward + noise_std * torch.randn(*shape, generator=generator, dtype=torch.float64)  # (N, K)
    raw_rating = LIKERT_CENTRE + shift + RATING_UNITS_PER_REWARD * scale * perceived
    ratings = raw_rating.round().clamp(LIKERT_MIN, LIKERT_MAX).to(torch.int64)  # (N, K)
    return PreferenceData(features, true_reward, perceived, ratings, labeler_index, tuple(config.labelers))
