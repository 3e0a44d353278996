"""Deep Q-learning on CartPole: replay buffers, Q-networks, TD targets, the agent and its training loop."""

from dlnotes.rl.agent import VARIANTS, DQNAgent, Variant, get_variant
from dlnotes.rl.networks import DuelingQNetwork, QNetwork
from dlnotes.rl.replay import Batch, PrioritizedReplayBuffer, ReplayBuffer, SumTree
from dlnotes.rl.targets import linear_epsilon, td_loss, td_target
from dlnotes.rl.training import DQNConfig, TrainingRun, evaluate_greedy, train

__all__ = [
    "VARIANTS", "Batch", "DQNAgent", "DQNConfig", "DuelingQNetwork", "PrioritizedReplayBuffer", "QNetwork",
    "ReplayBuffer", "SumTree", "TrainingRun", "Variant", "evaluate_greedy", "get_variant", "linear_epsilon",
    "td_loss", "td_target", "train",
]
