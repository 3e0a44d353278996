"""The training loop, its command line, the experiment runner and the SumTree benchmark."""

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dlnotes.rl.benchmark import LoopSumTree, benchmark_sumtree
from dlnotes.rl.experiments import evaluation_curves, load_records, record_path, run_experiments, solve_table
from dlnotes.rl.replay import SumTree
from dlnotes.rl.train import DQNConfig, exact_return_horizon, main, train

RESULTS = Path(__file__).resolve().parents[2] / "results" / "dqn"
THETA_LIMIT = 12 * 2 * math.pi / 360  # CartPole's termination angle in radians
X_LIMIT = 2.4


def short_config(**overrides) -> DQNConfig:
    fields = dict(variant="double", seed=3, total_steps=600, learning_starts=400, eval_interval=300, eval_episodes=2,
                  max_episode_steps=20)
    fields.update(overrides)
    return DQNConfig(**fields)


def test_truncation_still_bootstraps():
    """Pitfall: storing `terminated or truncated` stops bootstrapping at the time limit."""
    run = train(short_config())
    buffer = run.agent.buffer
    next_obs = buffer.next_obs[: buffer.size]
    fell = (np.abs(next_obs[:, 0]) > X_LIMIT) | (np.abs(next_obs[:, 2]) > THETA_LIMIT)
    np.testing.assert_array_equal(buffer.terminated[: buffer.size], fell.astype(np.float32))

    ends = np.array(run.record["episode_end_steps"])
    lengths = np.diff(ends, prepend=0)
    truncated_ends = ends[(lengths == 20) & ~fell[ends - 1]]
    assert truncated_ends.size > 0  # some episodes hit the 20-step limit
    assert np.all(buffer.terminated[truncated_ends - 1] == 0.0)


def test_train_deterministic():
    first = train(short_config(variant="prioritized")).record
    second = train(short_config(variant="prioritized")).record
    assert first["episode_returns"] == second["episode_returns"]
    for a, b in zip(first["evaluations"], second["evaluations"]):
        assert a["returns"] == b["returns"]
        assert a["q_mean"] == b["q_mean"]


def test_record_fields():
    record = train(short_config(max_episode_steps=500, total_steps=900, eval_interval=450)).record
    assert record["env_steps"] == 900
    assert record["config"]["variant"] == "double"
    assert [e["step"] for e in record["evaluations"]] == [450, 900]
    assert len(record["episode_returns"]) == len(record["episode_end_steps"])
    assert sum(record["episode_returns"]) <= 900
    for evaluation in record["evaluations"]:
        assert len(evaluation["returns"]) == 2
        assert evaluation["mean_return"] == pytest.approx(np.mean(evaluation["returns"]))
        assert 0 < evaluation["discounted_return_mean"] <= 100


@pytest.mark.parametrize("field, value", [("total_steps", 0), ("batch_size", -1), ("gamma", 1.0),
                                          ("variant", "rainbow"), ("learning_starts", 10)])
def test_config_invalid(field, value):
    with pytest.raises(ValueError, match=field):
        short_config(**{field: value})


@pytest.mark.parametrize("field, value", [("variant", "nope"), ("total_steps", -5)])
def test_config_rejects_at_construction(field, value):
    with pytest.raises(ValueError, match=f"{field}={value!r}"):
        DQNConfig(**{field: value})


def test_train_revalidates_changed_config():
    config = short_config()
    config.total_steps = 0
    with pytest.raises(ValueError, match="total_steps=0"):
        train(config)


def test_exact_return_horizon():
    k = exact_return_horizon(0.99)
    assert 0.99**k / (1 - 0.99) <= 1.0
    assert 0.99 ** (k - 1) / (1 - 0.99) > 1.0


def test_command_line(tmp_path):
    out = tmp_path / "run.json"
    main(["--variant", "nature", "--seed", "1", "--steps", "1200", "--out", str(out)])
    record = json.loads(out.read_text())
    assert record["config"]["variant"] == "nature"
    assert record["config"]["seed"] == 1
    assert record["env_steps"] == 1200
    for key in ("episode_returns", "evaluations", "wall_time_s", "steps_to_solve"):
        assert key in record


def test_command_line_summary(tmp_path, capsys):
    out = tmp_path / "run.json"
    main(["--variant", "nature", "--steps", "1000", "--out", str(out)])
    line = capsys.readouterr().out.strip()
    assert "wall time " in line
    assert line.endswith("greedy mean >= 475 not reached in 1000 steps")


def test_command_line_usage(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    assert capsys.readouterr().out.startswith("usage: python -m dlnotes.rl.train ")


@pytest.mark.parametrize("steps", ["0", "-3", "ten"])
def test_command_line_steps_invalid(steps, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--variant", "nature", "--steps", steps, "--out", str(tmp_path / "run.json")])
    assert exit_info.value.code == 2
    assert "expected a positive integer" in capsys.readouterr().err
    assert not (tmp_path / "run.json").exists()


def test_command_line_out_exists(tmp_path, capsys):
    out = tmp_path / "run.json"
    out.write_text("keep")
    with pytest.raises(SystemExit) as exit_info:
        main(["--variant", "nature", "--steps", "1000", "--out", str(out)])
    assert exit_info.value.code == 2
    assert "already exists; pass --force to overwrite it" in capsys.readouterr().err
    assert out.read_text() == "keep"

    main(["--variant", "nature", "--steps", "1000", "--out", str(out), "--force"])
    assert json.loads(out.read_text())["env_steps"] == 1000


@pytest.mark.parametrize("module", ["dlnotes.rl.train", "dlnotes.rl.experiments", "dlnotes.rl.benchmark"])
def test_module_runs_without_runpy_warning(module):
    completed = subprocess.run([sys.executable, "-W", "error::RuntimeWarning", "-m", module, "--help"],
                               capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    assert "RuntimeWarning" not in completed.stderr


def test_runner_and_summary(tmp_path):
    paths = run_experiments(["dqn2013", "dueling"], [0, 1], steps=1000, out_dir=tmp_path)
    assert paths[0] == record_path(tmp_path, "dqn2013", 0)
    records = load_records(tmp_path)
    assert sorted(records) == ["dqn2013", "dueling"]
    steps, curves = evaluation_curves(records["dueling"])
    assert steps.tolist() == [1000]
    assert curves.shape == (2, 1)
    table = solve_table(records)
    assert table["dueling"]["seeds"] == 2
    assert table["dueling"]["solved"] == sum(s is not None for s in table["dueling"]["steps"])
    with pytest.raises(ValueError, match="variants"):
        run_experiments(["rainbow"], [0], steps=1000, out_dir=tmp_path)


def test_load_records_missing(tmp_path):
    with pytest.raises(ValueError, match="no records"):
        load_records(tmp_path)


def test_committed_run_reproduces():
    """Re-run the first 4000 steps of a committed 50k-step run; they must match exactly.

    Without prioritized replay nothing in the first steps depends on the run length, so a
    shorter run is a prefix of the longer one. NOTE: a CPU with other floating-point kernels
    can flip a greedy action and diverge; the committed results come from a 2-core x86 CPU.
    """
    committed = json.loads(record_path(RESULTS, "dueling", 0).read_text())
    steps = 4000
    config = DQNConfig(**{**committed["config"], "hidden": tuple(committed["config"]["hidden"]), "total_steps": steps})
    record = train(config).record

    n_episodes = sum(end <= steps for end in committed["episode_end_steps"])
    assert record["episode_end_steps"][:n_episodes] == committed["episode_end_steps"][:n_episodes]
    assert record["episode_returns"][:n_episodes] == committed["episode_returns"][:n_episodes]
    for fresh, old in zip(record["evaluations"], committed["evaluations"]):
        assert fresh["step"] == old["step"]
        assert fresh["returns"] == old["returns"]
        assert fresh["q_mean"] == pytest.approx(old["q_mean"], rel=1e-5)


def test_loop_tree_matches_vectorised():
    leaves = np.random.default_rng(0).random(100)
    leaves[::7] = 0.0
    tree, loop_tree = SumTree(100), LoopSumTree(100)
    tree.update(np.arange(100), leaves)
    for i, p in enumerate(leaves):
        loop_tree.update_one(i, p)
    np.testing.assert_allclose(loop_tree.nodes, tree.nodes)
    values = np.linspace(0, tree.total, 301)
    np.testing.assert_array_equal([loop_tree.find_one(v) for v in values], tree.find(values))


def test_benchmark_runs():
    result = benchmark_sumtree(capacity=2**12, batch_size=32, repeats=5)
    assert result["vectorised_us"] > 0
    assert result["speedup"] == pytest.approx(result["loop_us"] / result["vectorised_us"])
