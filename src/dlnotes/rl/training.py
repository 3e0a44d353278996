"""The DQN training loop on gymnasium's CartPole-v1: hyperparameters, greedy evaluation and `train`.

The command line lives in `dlnotes.rl.train`, which the package does not import, so that
`python -m dlnotes.rl.train` runs without runpy's "found in sys.modules" RuntimeWarning.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from dlnotes.rl.agent import DQNAgent, get_variant
from dlnotes.rl.targets import linear_epsilon

ENV_ID = "CartPole-v1"
SOLVED_RETURN = 475.0  # CartPole-v1's reward threshold


@dataclass
class DQNConfig:
    """Every hyperparameter of one run (CleanRL style: one flat dataclass)."""

    variant: str = "double"
    seed: int = 0
    total_steps: int = 50_000  # env steps
    learning_rate: float = 1e-3
    buffer_size: int = 50_000
    batch_size: int = 64
    gamma: float = 0.99
    learning_starts: int = 1_000  # env steps of random play before the first update
    train_frequency: int = 1  # env steps between gradient steps
    target_update_interval: int = 100  # C, env steps between target-network copies
    epsilon_start: float = 1.0
    epsilon_end: float = 0.05
    epsilon_steps: int = 10_000  # env steps over which epsilon decays linearly
    hidden: tuple[int, ...] = (128, 128)
    max_grad_norm: float = 10.0
    per_alpha: float = 0.6
    per_beta_start: float = 0.4
    per_eps: float = 1e-6
    eval_interval: int = 1_000  # env steps between greedy evaluations
    eval_episodes: int = 10  # episodes per evaluation, run as one vector env
    max_episode_steps: int = 500  # the time limit, 500 in CartPole-v1
    torch_threads: int = 1

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ValueError naming the first invalid field; `train` calls it again in case a field changed."""
        get_variant(self.variant)
        positive_ints = ("total_steps", "buffer_size", "batch_size", "train_frequency", "target_update_interval",
                         "epsilon_steps", "eval_interval", "eval_episodes", "max_episode_steps", "torch_threads")
        for name in positive_ints:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name}={value!r} is invalid; expected a positive int")
        if self.seed < 0 or self.learning_starts < 0:
            raise ValueError(f"seed={self.seed}, learning_starts={self.learning_starts}; expected ints >= 0")
        if not 0 <= self.gamma < 1:
            raise ValueError(f"gamma={self.gamma!r} is invalid; expected a discount in [0, 1)")
        if self.learning_starts < self.batch_size:
            raise ValueError(f"learning_starts={self.learning_starts} < batch_size={self.batch_size}; expected enough transitions for one batch")


@dataclass
class TrainingRun:
    """The agent after training and the JSON-ready record of the run."""

    agent: DQNAgent
    record: dict = field(default_factory=dict)


def exact_return_horizon(gamma: float, max_reward: float = 1.0, tolerance: float = 1.0) -> int:
    """Return k such that the rewards after k steps add at most `tolerance` to a discounted return.

    With rewards in [0, max_reward] the tail after k steps is at most gamma^k * max_reward / (1 - gamma).
    """
    return math.ceil(math.log(tolerance * (1 - gamma) / max_reward) / math.log(gamma))


def evaluate_greedy(network: nn.Module, env: gym.vector.VectorEnv, seed: int, gamma: float) -> dict:
    """Run one greedy episode in each sub-environment of `env` and measure returns and Q-values.

    Returns a dict with three entries. `returns` has one undiscounted return per episode. The
    other two are means over the visited states whose discounted return-to-go is known to
    within 1: `q_mean` is the mean of max_a Q(s, a) from `network`, and
    `discounted_return_mean` is the mean discounted return actually obtained from them. Those states belong to episodes that terminated, or lie
    at least `exact_return_horizon(gamma)` steps before a time-limit truncation. The tolerance of
    1 assumes rewards in [0, 1], as in CartPole. Both means are None when no state qualifies.
    """
    n_envs = env.num_envs
    obs, _ = env.reset(seed=seed)
    done = np.zeros(n_envs, dtype=bool)
    terminated_at_end = np.zeros(n_envs, dtype=bool)
    lengths = np.zeros(n_envs, dtype=np.int64)
    max_q_steps, reward_steps = [], []

    while not done.all():
        with torch.inference_mode():
            q = network(torch.from_numpy(obs))  # (n_envs, n_actions)
        max_q, actions = q.max(dim=1)
        obs, rewards, terminated, truncated, _ = env.step(actions.numpy())
        max_q_steps.append(max_q.numpy())
        reward_steps.append(np.where(done, 0.0, rewards))

        ended = (terminated | truncated) & ~done
        terminated_at_end[ended] = terminated[ended]
        lengths[~done] += 1
        done |= ended

    max_q_table = np.stack(max_q_steps)  # (T, n_envs)
    rewards_table = np.stack(reward_steps)  # (T, n_envs)
    returns_to_go = np.zeros_like(rewards_table)  # discounted, (T, n_envs)
    running = np.zeros(n_envs)
    for t in range(len(rewards_table) - 1, -1, -1):
        running = rewards_table[t] + gamma * running
        returns_to_go[t] = running

    steps = np.arange(len(rewards_table))[:, None]  # (T, 1)
    horizon = exact_return_horizon(gamma)
    exact = (steps < lengths) & (terminated_at_end | (lengths - steps >= horizon))  # (T, n_envs)
    has_exact = bool(exact.any())  # False only when every episode is truncated before the horizon
    return {
        "returns": rewards_table.sum(axis=0).tolist(),
        "q_mean": float(max_q_table[exact].mean()) if has_exact else None,
        "discounted_return_mean": float(returns_to_go[exact].mean()) if has_exact else None,
    }


def train(config: DQNConfig, progress: bool = False) -> TrainingRun:
    """Train `config.variant` on CartPole-v1 for `config.total_steps` env steps.

    The run is deterministic for a given seed on a given machine: the env, the agent's
    epsilon-greedy and replay sampling generators, and torch are all seeded, and torch uses
    `config.torch_threads` threads (restored afterwards). A transition stores `terminated`
    only, so an episode cut off by the time limit still bootstraps from its last state.
    Every `eval_interval` steps the greedy policy plays `eval_episodes` episodes on a separate
    vector env.
    """
    config.validate()
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(config.torch_threads)
    try:
        return _train(config, progress)
    finally:
        torch.set_num_threads(previous_threads)


def _train(config: DQNConfig, progress: bool) -> TrainingRun:
    torch.manual_seed(config.seed)
    env = gym.make(ENV_ID, max_episode_steps=config.max_episode_steps)
    eval_env = gym.make_vec(ENV_ID, num_envs=config.eval_episodes, vectorization_mode="vector_entry_point",
                            max_episode_steps=config.max_episode_steps)
    n_updates = max(1, (config.total_steps - config.learning_starts) // config.train_frequency)
    agent = DQNAgent(
        obs_dim=env.observation_space.shape[0],
        n_actions=int(env.action_space.n),
        variant=config.variant,
        hidden=config.hidden,
        learning_rate=config.learning_rate,
        buffer_size=config.buffer_size,
        batch_size=config.batch_size,
        gamma=config.gamma,
        max_grad_norm=config.max_grad_norm,
        per_alpha=config.per_alpha,
        per_beta_start=config.per_beta_start,
        per_beta_steps=n_updates,
        per_eps=config.per_eps,
        seed=config.seed,
    )

    episode_returns: list[float] = []
    episode_end_steps: list[int] = []
    evaluations: list[dict] = []
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=config.total_steps, desc=f"{config.variant} seed {config.seed}", unit="step")

    start = time.perf_counter()
    cpu_start = time.process_time()
    obs, _ = env.reset(seed=config.seed)
    episode_return = 0.0
    for step in range(1, config.total_steps + 1):
        epsilon = linear_epsilon(step - 1, config.epsilon_start, config.epsilon_end, config.epsilon_steps)
        action = agent.act(obs, epsilon)
        next_obs, reward, terminated, truncated, _ = env.step(action)
        agent.buffer.add(obs, action, reward, next_obs, terminated)
        episode_return += reward
        obs = next_obs
        if terminated or truncated:
            episode_returns.append(episode_return)
            episode_end_steps.append(step)
            episode_return = 0.0
            obs, _ = env.reset()

        if step >= config.learning_starts and step % config.train_frequency == 0:
            agent.update()
        if step % config.target_update_interval == 0:
            agent.sync_target()

        if step % config.eval_interval == 0:
            evaluation = evaluate_greedy(agent.online, eval_env, seed=10_000 * (config.seed + 1) + step, gamma=config.gamma)
            evaluation["step"] = step
            evaluation["mean_return"] = float(np.mean(evaluation["returns"]))
            evaluation["wall_time_s"] = time.perf_counter() - start
            evaluation["cpu_time_s"] = time.process_time() - cpu_start
            evaluations.append(evaluation)
            if bar is not None:
                bar.set_postfix(eval_return=f"{evaluation['mean_return']:.0f}")
        if bar is not None and step % 100 == 0:
            bar.update(100)

    wall_time = time.perf_counter() - start
    cpu_time = time.process_time() - cpu_start
    if bar is not None:
        bar.close()
    env.close()
    eval_env.close()

    solved = next((e for e in evaluations if e["mean_return"] >= SOLVED_RETURN), None)
    record = {
        "config": asdict(config),
        "env_id": ENV_ID,
        "env_steps": config.total_steps,
        "wall_time_s": wall_time,
        "cpu_time_s": cpu_time,  # below wall time when other processes share the cores
        "episode_returns": episode_returns,
        "episode_end_steps": episode_end_steps,
        "evaluations": evaluations,
        "steps_to_solve": None if solved is None else solved["step"],
        "seconds_to_solve": None if solved is None else solved["wall_time_s"],
        "cpu_seconds_to_solve": None if solved is None else solved["cpu_time_s"],
        "torch_version": torch.__version__,
        "gymnasium_version": gym.__version__,
    }
    return TrainingRun(agent=agent, record=record)

