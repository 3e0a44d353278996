import pytest
import torch

from dlnotes.bench.blocks import build_part
from dlnotes.bench.suites import (
    BenchConfig,
    is_out_of_memory,
    measure_bandwidth,
    measure_block,
    measure_matmul,
    measure_or_skip,
    plan_tasks,
    valid_dtypes,
)

CPU = torch.device("cpu")


def test_config_defaults_cpu():
    config = BenchConfig(device="cpu", quick=True)
    assert config.dtypes == ("fp32", "fp16", "bf16")
    assert config.matmul_sizes == (64, 128, 256, 512)
    assert config.layer_dtype == "fp32"
    assert config.min_run_time == 0.05


def test_config_defaults_cuda():
    # Building a CUDA config needs no GPU: sizes are plain numbers.
    config = BenchConfig(device="cuda")
    assert config.matmul_sizes[0] == 128
    assert config.matmul_sizes[-1] == 32768
    assert "tf32" in config.dtypes
    assert config.layer_dtype == "bf16"


@pytest.mark.parametrize("kwargs, match", [
    (dict(device="tpu"), "device"),
    (dict(suites=("matmul", "io")), "suites"),
    (dict(suites=()), "suites"),
    (dict(device="cpu", dtypes=("tf32",)), "dtypes"),
    (dict(layer_dtype="int8"), "layer_dtype"),
    (dict(min_run_time=-1.0), "min_run_time"),
    (dict(threads=-2), "threads"),
])
def test_config_rejects(kwargs, match):
    with pytest.raises(ValueError, match=match):
        BenchConfig(**kwargs)


def test_tf32_only_on_cuda():
    assert "tf32" not in valid_dtypes("cpu")
    assert "tf32" in valid_dtypes("cuda")


def test_measure_matmul_record():
    record = measure_matmul(64, "fp32", CPU, min_run_time=0.01)
    assert record["status"] == "ok"
    assert record["flops"] == 2 * 64**3
    assert record["tflops"] == pytest.approx(record["flops"] / record["seconds"] / 1e12)


def test_measure_bandwidth_bytes():
    record = measure_bandwidth("a * 1.2", 1024, CPU, min_run_time=0.01)
    assert record["bytes"] == 2 * 1024 * 4
    assert record["flops"] == 1024
    copy = measure_bandwidth("copy", 1024, CPU, min_run_time=0.01)
    assert copy["flops"] == 0
    assert copy["gbs"] > 0


def test_measure_block_forward_backward():
    part = build_part("dense", CPU, torch.float32)
    forward = measure_block(part, "part", "forward", 1, 8, "fp32", CPU, 0.01)
    both = measure_block(part, "part", "forward+backward", 1, 8, "fp32", CPU, 0.01)
    assert both["flops"] == 3 * forward["flops"]
    assert forward["status"] == both["status"] == "ok"


def test_out_of_memory_recorded_as_skipped():
    def run_out() -> dict:
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 64.00 GiB")

    record = measure_or_skip({"suite": "matmul", "n": 65536}, run_out)
    assert record["status"] == "skipped"
    assert "out of memory" in record["reason"]
    assert record["n"] == 65536


def test_cpu_allocation_failure_skipped():
    def run_out() -> dict:
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:121] DefaultCPUAllocator: can't allocate memory: you tried to allocate 1 bytes")

    assert measure_or_skip({"suite": "matmul"}, run_out)["status"] == "skipped"


def test_other_errors_raised():
    def fail() -> dict:
        raise RuntimeError("mat1 and mat2 shapes cannot be multiplied")

    assert not is_out_of_memory(RuntimeError("shape mismatch"))
    with pytest.raises(RuntimeError, match="shapes"):
        measure_or_skip({"suite": "matmul"}, fail)


def test_plan_covers_suites():
    config = BenchConfig(device="cpu", quick=True, suites=("matmul", "layers"), dtypes=("fp32",))
    labels = [task.label for task in plan_tasks(config)]
    assert labels[0] == "matmul fp32 n=64"
    assert "layers bert-large" in labels
    assert "layers attention-sdpa" in labels
    assert not any(label.startswith(("bandwidth", "allreduce")) for label in labels)


def test_rejects_unknown_op_and_pass():
    with pytest.raises(ValueError, match="op"):
        measure_bandwidth("a + b", 8, CPU, 0.01)
    with pytest.raises(ValueError, match="pass_"):
        measure_block(build_part("dense", CPU, torch.float32), "part", "backward", 1, 8, "fp32", CPU, 0.01)
