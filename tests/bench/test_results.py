"""Result files: the schema, and a re-measured slice of the committed CPU quick run."""

import copy
import json
from pathlib import Path

import pytest
import torch

from dlnotes.bench.results import gpu_target_checks, load_result, load_results, ok_measurements, validate_result
from dlnotes.bench.suites import measure_bandwidth, measure_matmul

RESULTS = Path(__file__).resolve().parents[2] / "results" / "bench"
CPU_QUICK = RESULTS / "cpu-quick.json"
# Re-measured values must be within this factor of the committed ones: the same order, not equal,
# because the CPU is shared and timings vary between runs.
TOLERANCE_FACTOR = 10


@pytest.fixture(scope="module")
def committed() -> dict:
    return load_result(CPU_QUICK)


@pytest.fixture
def committed_threads(committed):
    """Run the test with the thread count the committed run used, then restore torch's."""
    before = torch.get_num_threads()
    torch.set_num_threads(committed["environment"]["torch_threads"])
    yield
    torch.set_num_threads(before)


def test_committed_files_valid():
    results = load_results(RESULTS)
    assert "cpu-quick" in results


def test_cpu_quick_covers_suites(committed):
    assert committed["environment"]["device_type"] == "cpu"
    assert committed["settings"]["quick"] is True
    suites = {record["suite"] for record in committed["measurements"]}
    assert suites == {"matmul", "bandwidth", "layers", "allreduce"}


def test_rerun_matmul_slice(committed, committed_threads):
    (record,) = ok_measurements(committed, "matmul", dtype="fp32", n=256)
    fresh = measure_matmul(256, "fp32", torch.device("cpu"), min_run_time=0.05)
    ratio = fresh["tflops"] / record["tflops"]
    assert 1 / TOLERANCE_FACTOR < ratio < TOLERANCE_FACTOR, f"re-measured {fresh['tflops']:.3g} TFLOPS vs committed {record['tflops']:.3g}"


def test_rerun_bandwidth_slice(committed, committed_threads):
    numel = 2**20
    (record,) = ok_measurements(committed, "bandwidth", op="a * 1.2", numel=numel)
    fresh = measure_bandwidth("a * 1.2", numel, torch.device("cpu"), min_run_time=0.05)
    ratio = fresh["gbs"] / record["gbs"]
    assert 1 / TOLERANCE_FACTOR < ratio < TOLERANCE_FACTOR, f"re-measured {fresh['gbs']:.3g} GB/s vs committed {record['gbs']:.3g}"


@pytest.mark.parametrize("mutate, match", [
    (lambda d: d.pop("environment"), "missing"),
    (lambda d: d.update(schema_version=99), "schema_version"),
    (lambda d: d["measurements"][0].update(suite="disk"), "suite"),
    (lambda d: d["measurements"][0].update(status="maybe"), "status"),
    (lambda d: d["measurements"][0].pop("tflops"), "missing keys"),
    (lambda d: d["measurements"][0].update(seconds=0.0), "seconds"),
])
def test_validate_rejects(committed, mutate, match):
    document = copy.deepcopy(committed)
    mutate(document)
    with pytest.raises(ValueError, match=match):
        validate_result(document)


def test_skipped_needs_reason(committed):
    document = copy.deepcopy(committed)
    document["measurements"] = [{"suite": "matmul", "dtype": "fp32", "n": 8, "status": "skipped"}]
    with pytest.raises(ValueError, match="reason"):
        validate_result(document)


def test_load_results_rejects_missing_folder(tmp_path):
    with pytest.raises(ValueError, match="folder"):
        load_results(tmp_path / "absent")


def test_load_results_reads_sorted(tmp_path, committed):
    for name in ("b", "a"):
        (tmp_path / f"{name}.json").write_text(json.dumps(committed))
    assert list(load_results(tmp_path)) == ["a", "b"]


def _cuda_result(bf16_tflops: float, copy_gbs: float) -> dict:
    return {
        "environment": {"device_type": "cuda", "device_name": "NVIDIA H200", "torch": "2.13.0"},
        "measurements": [
            {"suite": "matmul", "dtype": "bf16", "n": 8192, "status": "ok", "tflops": bf16_tflops},
            {"suite": "bandwidth", "op": "copy", "status": "ok", "gbs": copy_gbs},
        ],
    }


def test_gpu_targets_pass_and_fail():
    passing = gpu_target_checks(_cuda_result(bf16_tflops=720.0, copy_gbs=4200.0))
    assert [check[3] for check in passing] == [True, True]
    assert passing[0][2] == pytest.approx(0.9 * 790.0)
    assert passing[1][2] == pytest.approx(0.85 * 4800.0)
    failing = gpu_target_checks(_cuda_result(bf16_tflops=600.0, copy_gbs=3000.0))
    assert [check[3] for check in failing] == [False, False]


def test_gpu_targets_skip_cpu(committed):
    assert gpu_target_checks(committed) == []
