import time

import pytest
import torch

from dlnotes.bench.timing import environment, tf32_matmuls, time_callable

CPU = torch.device("cpu")


def test_time_callable_measures_sleep():
    timing = time_callable(lambda: time.sleep(0.002), CPU, min_run_time=0.05, warmup=1)
    assert 0.002 <= timing.median_s < 0.02
    assert timing.runs >= 2


def test_time_callable_synchronizes_cuda(monkeypatch):
    # Exercises the CUDA path of chapter 6 on a CPU-only machine: the work runs on the CPU and
    # torch.cuda.synchronize is replaced by a recorder.
    synchronized = []
    monkeypatch.setattr(torch.cuda, "synchronize", lambda device=None: synchronized.append(device))
    cuda = torch.device("cuda")
    time_callable(lambda: None, cuda, min_run_time=0.01, warmup=1)
    assert synchronized[:2] == [cuda, cuda]


def test_time_callable_runs_warmup():
    calls = []
    time_callable(lambda: calls.append(1), CPU, min_run_time=0.01, warmup=3)
    assert len(calls) > 3


@pytest.mark.parametrize("kwargs", [dict(min_run_time=0), dict(warmup=-1), dict(warmup=True)])
def test_time_callable_rejects(kwargs):
    with pytest.raises(ValueError):
        time_callable(lambda: None, CPU, **kwargs)


def test_tf32_setting_restored():
    before = torch.get_float32_matmul_precision()
    with tf32_matmuls(True):
        assert torch.get_float32_matmul_precision() == "high"
    assert torch.get_float32_matmul_precision() == before
    with tf32_matmuls(False):
        assert torch.get_float32_matmul_precision() == "highest"


def test_environment_records_versions():
    info = environment(CPU)
    assert info["torch"] == torch.__version__
    assert info["device_type"] == "cpu"
    assert info["float32_matmul_precision"] in ("highest", "high", "medium")
    for key in ("transformers", "numpy", "python", "cpu_count", "torch_threads", "cuda_matmul_allow_tf32"):
        assert key in info


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_environment_cuda_fields():
    info = environment(torch.device("cuda"))
    for key in ("device_name", "compute_capability", "device_memory_bytes", "cudnn", "driver"):
        assert key in info


def test_environment_cpu_flags():
    flags = environment(CPU)["cpu_flags"]
    assert flags is None or set(flags) <= {"avx2", "avx512f", "avx512_bf16", "avx512_fp16", "amx_bf16", "amx_fp16"}
