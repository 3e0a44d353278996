"""Command line: train one DQN variant on CartPole-v1 and write a JSON record.

    python -m dlnotes.rl.train --variant double --seed 0 --steps 50000 --out run.json

The package `dlnotes.rl` does not import this module, so runpy does not warn that it was
already imported. The training code is in `dlnotes.rl.training`; the names below are re-exported
for callers that import them from here.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from dlnotes.rl.agent import VARIANTS
from dlnotes.rl.training import (ENV_ID, SOLVED_RETURN, DQNConfig, TrainingRun, evaluate_greedy,
                                 exact_return_horizon, train)

__all__ = ["ENV_ID", "SOLVED_RETURN", "DQNConfig", "TrainingRun", "build_parser", "evaluate_greedy",
           "exact_return_horizon", "main", "train"]


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid value {text!r}; expected a positive integer") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"invalid value {value}; expected a positive integer")
    return value


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of ``python -m dlnotes.rl.train``."""
    parser = argparse.ArgumentParser(prog="python -m dlnotes.rl.train",
                                     description="Train one DQN variant on CartPole-v1 and write a JSON record.")
    parser.add_argument("--variant", choices=sorted(VARIANTS), required=True, help="which DQN variant to train")
    parser.add_argument("--seed", type=int, default=0, help="seed of the env, the agent and torch")
    parser.add_argument("--steps", type=_positive_int, default=DQNConfig.total_steps, help="env steps to train for")
    parser.add_argument("--out", type=Path, required=True, help="path of the JSON record to write")
    parser.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    return parser


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, train with a progress bar, write the record and print a one-line summary."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.out.exists() and not args.force:
        parser.error(f"--out {args.out} already exists; pass --force to overwrite it, or choose another file name")
    try:
        config = DQNConfig(variant=args.variant, seed=args.seed, total_steps=args.steps)
    except ValueError as error:
        parser.error(str(error))

    run = train(config, progress=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(run.record, indent=1))

    solved = run.record["steps_to_solve"]
    solved_text = f"at step {solved}" if solved is not None else f"not reached in {config.total_steps} steps"
    print(f"{args.out}: wall time {run.record['wall_time_s']:.1f} s, greedy mean >= {SOLVED_RETURN:.0f} {solved_text}")


if __name__ == "__main__":
    main()
