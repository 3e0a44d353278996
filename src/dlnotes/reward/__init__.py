"""Bradley-Terry reward models: the pairwise loss, rankings to pairs, synthetic labelers (chapter 5).

Everything public is importable from ``dlnotes.reward`` directly.
"""

from dlnotes.reward.data import DEFAULT_LABELERS, Labeler, PreferenceData, PreferenceDataConfig, make_preference_data
from dlnotes.reward.loss import bradley_terry_loss, preference_probability, ranking_loss
from dlnotes.reward.metrics import kendall_tau, pairwise_accuracy
from dlnotes.reward.model import EpochMetrics, RewardModel, RewardTrainingConfig, train_reward_model
from dlnotes.reward.rankings import PairIndex, count_pairs, ranking_to_pairs, rankings_to_pair_index, scores_to_ranking

__all__ = [
    "DEFAULT_LABELERS",
    "EpochMetrics",
    "Labeler",
    "PairIndex",
    "PreferenceData",
    "PreferenceDataConfig",
    "RewardModel",
    "RewardTrainingConfig",
    "bradley_terry_loss",
    "count_pairs",
    "kendall_tau",
    "make_preference_data",
    "pairwise_accuracy",
    "preference_probability",
    "ranking_loss",
    "ranking_to_pairs",
    "rankings_to_pair_index",
    "scores_to_ranking",
    "train_reward_model",
]
