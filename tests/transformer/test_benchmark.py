"""The benchmark script runs at a small size; it checks structure, not speed."""

from __future__ import annotations

import json

import pytest

from dlnotes.transformer.benchmark import BenchmarkConfig, main, run_benchmark

SMALL = BenchmarkConfig(batch=2, seq_len=8, d_model=16, num_heads=4, d_ff=32, rounds=3)


def test_benchmark_small_result():
    result = run_benchmark(SMALL)

    assert result["config"]["seq_len"] == 8
    assert set(result["median_s"]) == {"helper", "module_slow", "module_fast"}
    assert all(seconds > 0 for seconds in result["median_s"].values())
    assert result["helper_over_slow"] > 0
    assert result["helper_over_fast"] > 0


def test_benchmark_writes_json(tmp_path, capsys):
    output = tmp_path / "bench.json"

    main(["--batch", "2", "--seq-len", "8", "--d-model", "16", "--num-heads", "4", "--d-ff", "32",
          "--rounds", "3", "--output", str(output)])

    assert json.loads(output.read_text())["config"]["d_model"] == 16
    assert "helper / module slow path" in capsys.readouterr().out


def test_committed_result_uses_issue_sizes():
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "results" / "transformer_layer_benchmark.json"
    result = json.loads(path.read_text())

    assert result["config"] == {**result["config"], "batch": 8, "seq_len": 128, "d_model": 256, "num_heads": 8}
    assert result["helper_over_slow"] > 0
    assert result["helper_over_fast"] > 0


def test_benchmark_config_rejects_bad_sizes():
    with pytest.raises(ValueError, match="num_heads=3 does not divide d_model=16"):
        BenchmarkConfig(d_model=16, num_heads=3)
    with pytest.raises(ValueError, match="seq_len=0 is invalid"):
        BenchmarkConfig(seq_len=0)
    with pytest.raises(ValueError, match="rounds=0 is invalid"):
        BenchmarkConfig(rounds=0)
    with pytest.raises(ValueError, match="warmup=-1 is invalid"):
        BenchmarkConfig(warmup=-1)
