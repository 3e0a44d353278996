"""Run several DQN variants over several seeds, and summarise the JSON records they write.

    python -m dlnotes.rl.experiments --variants nature double --seeds 0 1 2 3 4 --steps 50000 \
        --out-dir results/dqn --workers 2
"""

from __future__ import annotations

import argparse
import json
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from dlnotes.rl.agent import VARIANTS
from dlnotes.rl.training import SOLVED_RETURN, DQNConfig, train


def record_path(out_dir: Path, variant: str, seed: int) -> Path:
    """Return the path of the record of (variant, seed) under `out_dir`."""
    return Path(out_dir) / f"{variant}_seed{seed}.json"


def run_one(config: DQNConfig, out_dir: Path) -> Path:
    """Train one configuration, write its record as JSON and return the path written."""
    record = train(config).record
    path = record_path(out_dir, config.variant, config.seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1))
    return path


def run_experiments(variants: list[str], seeds: list[int], steps: int, out_dir: Path, workers: int = 1) -> list[Path]:
    """Train every (variant, seed) pair for `steps` env steps, `workers` processes at a time.

    Each run uses one torch thread, so `workers` should not exceed the free CPU cores.
    """
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown:
        raise ValueError(f"variants {unknown} are unknown; expected names from {sorted(VARIANTS)}")
    if workers <= 0:
        raise ValueError(f"workers={workers!r} is invalid; expected a positive int")

    configs = [DQNConfig(variant=v, seed=s, total_steps=steps) for v in variants for s in seeds]
    if workers == 1:
        return [run_one(c, out_dir) for c in configs]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(run_one, configs, [out_dir] * len(configs)))


def load_records(out_dir: Path) -> dict[str, dict[int, dict]]:
    """Load every `{variant}_seed{N}.json` under `out_dir` as records[variant][seed]."""
    records: dict[str, dict[int, dict]] = {}
    for path in sorted(Path(out_dir).glob("*_seed*.json")):
        record = json.loads(path.read_text())
        config = record["config"]
        records.setdefault(config["variant"], {})[config["seed"]] = record
    if not records:
        raise ValueError(f"no records named VARIANT_seedN.json found in {out_dir}; run python -m dlnotes.rl.experiments first")
    return records


def evaluation_curves(records_by_seed: dict[int, dict]) -> tuple[np.ndarray, np.ndarray]:
    """Return (env steps (E,), greedy mean returns (S, E)) of one variant's S seeds, which must share their evaluation steps."""
    seeds = sorted(records_by_seed)
    steps = np.array([e["step"] for e in records_by_seed[seeds[0]]["evaluations"]])
    curves = []
    for seed in seeds:
        evaluations = records_by_seed[seed]["evaluations"]
        if [e["step"] for e in evaluations] != steps.tolist():
            raise ValueError(f"seed {seed} was evaluated at other steps than seed {seeds[0]}; expected runs with one configuration")
        curves.append([e["mean_return"] for e in evaluations])
    return steps, np.array(curves)


def solve_table(records: dict[str, dict[int, dict]]) -> dict[str, dict]:
    """Summarise, per variant, the env steps and seconds each seed needed to reach a greedy mean of SOLVED_RETURN.

    Returns {variant: {"steps": [per seed, None if never], "solved": count, "seeds": count,
    "median_steps": median over solved seeds or None, "median_cpu_seconds" and "max_cpu_seconds":
    median and slowest CPU time to solve over solved seeds, or None}}.
    """
    table = {}
    for variant, by_seed in records.items():
        seeds = sorted(by_seed)
        steps = [by_seed[s]["steps_to_solve"] for s in seeds]
        cpu_seconds = [by_seed[s]["cpu_seconds_to_solve"] for s in seeds if by_seed[s]["steps_to_solve"] is not None]
        solved_steps = [s for s in steps if s is not None]
        table[variant] = {
            "steps": steps,
            "solved": len(solved_steps),
            "seeds": len(seeds),
            "median_steps": float(np.median(solved_steps)) if solved_steps else None,
            "median_cpu_seconds": float(np.median(cpu_seconds)) if cpu_seconds else None,
            "max_cpu_seconds": max(cpu_seconds) if cpu_seconds else None,
        }
    return table


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=f"Train DQN variants over seeds on CartPole-v1; a run is solved at a greedy mean of {SOLVED_RETURN:.0f}.")
    parser.add_argument("--variants", nargs="+", choices=sorted(VARIANTS), default=sorted(VARIANTS), help="variants to train")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4], help="seeds to train each variant with")
    parser.add_argument("--steps", type=int, default=DQNConfig.total_steps, help="env steps per run")
    parser.add_argument("--out-dir", type=Path, required=True, help="folder for the VARIANT_seedN.json records")
    parser.add_argument("--workers", type=int, default=1, help="runs at once, each on one torch thread")
    args = parser.parse_args(argv)

    for path in run_experiments(args.variants, args.seeds, args.steps, args.out_dir, args.workers):
        print(path)


if __name__ == "__main__":
    main()
