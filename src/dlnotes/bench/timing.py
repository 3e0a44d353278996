"""Timing done right: warm-up, device synchronisation, torch.utils.benchmark, and the settings that change results."""

from __future__ import annotations

import os
import platform
import subprocess
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import torch
from torch.utils import benchmark

DTYPES = {
    "fp32": torch.float32,
    "tf32": torch.float32,  # float32 storage, TF32 tensor-core matmuls (CUDA only)
    "fp16": torch.float16,
    "bf16": torch.bfloat16,
}


@dataclass(frozen=True)
class Timing:
    """Seconds per call of one timed callable, from torch.utils.benchmark's blocks of runs."""

    median_s: float
    iqr_s: float  # interquartile range of the per-block means
    runs: int  # total calls timed, over every block


def synchronize(device: torch.device) -> None:
    """Wait until every kernel queued on ``device`` has finished (no-op on the CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def time_callable(fn: Callable[[], Any], device: torch.device, min_run_time: float = 0.2, warmup: int = 2) -> Timing:
    """Time ``fn()`` on ``device`` and return seconds per call.

    ``fn`` runs ``warmup`` times first (kernel selection, caches, lazy
    initialisation), then ``torch.utils.benchmark.Timer.blocked_autorange``
    repeats it in blocks for at least ``min_run_time`` seconds. The Timer
    synchronises CUDA before reading the clock. It runs with the current torch
    thread count, because its default of one thread understates a CPU.
    """
    if not min_run_time > 0:
        raise ValueError(f"min_run_time={min_run_time!r} is invalid; expected a positive number of seconds")
    if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
        raise ValueError(f"warmup={warmup!r} is invalid; expected a non-negative int")

    for _ in range(warmup):
        fn()
    synchronize(device)

    timer = benchmark.Timer(stmt="fn()", globals={"fn": fn}, num_threads=torch.get_num_threads())
    measurement = timer.blocked_autorange(min_run_time=min_run_time)
    synchronize(device)
    return Timing(median_s=measurement.median, iqr_s=measurement.iqr, runs=measurement.number_per_run * len(measurement.raw_times))


@contextmanager
def tf32_matmuls(enabled: bool) -> Iterator[None]:
    """Allow (or forbid) TF32 tensor cores for float32 matmuls inside the block, then restore the setting.

    ``torch.set_float32_matmul_precision("high")`` is the switch PyTorch
    documents; "highest", its default, keeps full float32.
    """
    previous = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("high" if enabled else "highest")
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(previous)


# CPU instruction sets that decide which matmul dtypes have fast kernels.
MATMUL_CPU_FLAGS = ("avx2", "avx512f", "avx512_bf16", "avx512_fp16", "amx_bf16", "amx_fp16")


def _cpu_flags() -> list[str] | None:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            flags_line = next((line for line in cpuinfo if line.startswith("flags")), "")
    except OSError:  # not Linux
        return None
    flags = set(flags_line.split(":", 1)[-1].split())
    return [flag for flag in MATMUL_CPU_FLAGS if flag in flags]


def _nvidia_driver_version() -> str | None:
    try:
        completed = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=10, check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return completed.stdout.strip().splitlines()[0] if completed.stdout.strip() else None


def environment(device: torch.device) -> dict[str, Any]:
    """Return what a benchmark result depends on: device, driver, library versions and matmul settings."""
    import numpy
    import transformers

    info: dict[str, Any] = {
        "device_type": device.type,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "cpu_flags": _cpu_flags(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "transformers": transformers.__version__,
        "float32_matmul_precision": torch.get_float32_matmul_precision(),
        "cuda_matmul_allow_tf32": torch.backends.cuda.matmul.allow_tf32,
        "cudnn_allow_tf32": torch.backends.cudnn.allow_tf32,
        "cuda_runtime": torch.version.cuda,
    }
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        props = torch.cuda.get_device_properties(index)
        info.update(
            device_name=props.name,
            compute_capability=f"{props.major}.{props.minor}",
            device_memory_bytes=props.total_memory,
            device_count=torch.cuda.device_count(),
            cudnn=torch.backends.cudnn.version(),
            nccl=".".join(map(str, torch.cuda.nccl.version())) if torch.distributed.is_nccl_available() else None,
            driver=_nvidia_driver_version(),
        )
    else:
        info.update(device_name=info["cpu"] or "CPU", device_count=1)
    return info
