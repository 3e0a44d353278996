"""Benchmark suites: matmul TFLOPS, memory bandwidth, transformer blocks, all-reduce.

Each suite is a list of :class:`Task`. Running a task returns measurement
records (plain dicts, stored as JSON by the command line). A size that runs
out of memory is recorded with ``"status": "skipped"`` instead of raising.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import torch

from dlnotes.bench.allreduce import run_allreduce
from dlnotes.bench.blocks import BLOCK_NAMES, PART_NAMES, Block, build_block, build_part, D_MODEL
from dlnotes.bench.timing import DTYPES, tf32_matmuls, time_callable
from dlnotes.flops import elementwise_flops, matmul_flops, training_step_flops

SUITES = ("matmul", "bandwidth", "layers", "allreduce")
DEVICE_TYPES = ("cuda", "cpu")
PASSES = ("forward", "forward+backward")
BANDWIDTH_OPS = ("a * 1.2", "copy")

Record = dict[str, Any]

# Default sizes by (device, quick). Ranges are (smallest, largest, factor) of powers of two;
# CPU sizes are small enough for the quick run to finish in minutes on 2 cores.
DEFAULT_SIZES: dict[tuple[str, bool], dict[str, Any]] = {
    ("cuda", False): {
        "matmul_sizes": (128, 32768, 2),
        "bandwidth_numels": (2**14, 2**30, 4),
        "layer_shapes": tuple((batch, seq_len) for batch in (1, 8, 32) for seq_len in (128, 512, 2048)),
        "allreduce_sizes": (2**12, 2**30, 4),
    },
    ("cuda", True): {
        "matmul_sizes": (128, 8192, 2),
        "bandwidth_numels": (2**14, 2**28, 4),
        "layer_shapes": ((8, 128), (8, 512)),
        "allreduce_sizes": (2**12, 2**28, 16),
    },
    ("cpu", False): {
        "matmul_sizes": (64, 1024, 2),
        "bandwidth_numels": (2**12, 2**24, 4),
        "layer_shapes": ((1, 64), (1, 128), (4, 128)),
        "allreduce_sizes": (2**12, 2**24, 4),
    },
    ("cpu", True): {
        "matmul_sizes": (64, 512, 2),
        "bandwidth_numels": (2**12, 2**22, 4),
        "layer_shapes": ((1, 32), (1, 64)),
        "allreduce_sizes": (2**12, 2**22, 16),
    },
}


@dataclass
class BenchConfig:
    """Every setting of a benchmark run; sizes default by device and ``quick``."""

    device: str = "cpu"  # one of DEVICE_TYPES
    suites: tuple[str, ...] = SUITES
    dtypes: tuple[str, ...] = ()  # matmul dtypes; empty means every dtype the device supports
    quick: bool = False
    min_run_time: float = 0.0  # seconds per measurement; 0 means 0.05 when quick else 0.2
    matmul_sizes: tuple[int, ...] = ()
    bandwidth_numels: tuple[int, ...] = ()
    layer_shapes: tuple[tuple[int, int], ...] = ()  # (batch, seq_len) pairs
    layer_dtype: str = ""  # empty means bf16 on CUDA, fp32 on the CPU
    allreduce_sizes: tuple[int, ...] = ()  # bytes
    compile_parts: bool = False  # also time torch.compile'd dense+GELU (compiling takes seconds)
    threads: int = 0  # CPU threads for torch; 0 keeps torch's default (one per core)

    def __post_init__(self) -> None:
        if self.device not in DEVICE_TYPES:
            raise ValueError(f"device={self.device!r} is unknown; expected one of {DEVICE_TYPES}")
        unknown = [s for s in self.suites if s not in SUITES]
        if unknown or not self.suites:
            raise ValueError(f"suites={self.suites!r} is invalid; expected a non-empty subset of {SUITES}")
        valid = valid_dtypes(self.device)
        if any(d not in valid for d in self.dtypes):
            raise ValueError(f"dtypes={self.dtypes!r} is invalid on {self.device}; expected a subset of {valid}")
        if self.layer_dtype and self.layer_dtype not in ("fp32", "fp16", "bf16"):
            raise ValueError(f"layer_dtype={self.layer_dtype!r} is invalid; expected 'fp32', 'fp16' or 'bf16'")
        if isinstance(self.threads, bool) or not isinstance(self.threads, int) or self.threads < 0:
            raise ValueError(f"threads={self.threads!r} is invalid; expected an int >= 0 (0 keeps torch's default)")
        if self.min_run_time < 0:
            raise ValueError(f"min_run_time={self.min_run_time!r} is invalid; expected seconds >= 0")

        defaults = DEFAULT_SIZES[(self.device, self.quick)]
        self.dtypes = self.dtypes or valid
        self.min_run_time = self.min_run_time or (0.05 if self.quick else 0.2)
        self.layer_dtype = self.layer_dtype or ("bf16" if self.device == "cuda" else "fp32")
        self.matmul_sizes = self.matmul_sizes or _powers_of_two(*defaults["matmul_sizes"])
        self.bandwidth_numels = self.bandwidth_numels or _powers_of_two(*defaults["bandwidth_numels"])
        self.layer_shapes = self.layer_shapes or defaults["layer_shapes"]
        self.allreduce_sizes = self.allreduce_sizes or _powers_of_two(*defaults["allreduce_sizes"])


def _powers_of_two(smallest: int, largest: int, step: int) -> tuple[int, ...]:
    sizes = [smallest]
    while sizes[-1] * step <= largest:
        sizes.append(sizes[-1] * step)
    return tuple(sizes)


def valid_dtypes(device: str) -> tuple[str, ...]:
    """Return the matmul dtypes a device type supports: tf32 exists only on CUDA."""
    return tuple(DTYPES) if device == "cuda" else tuple(d for d in DTYPES if d != "tf32")


def is_out_of_memory(error: BaseException) -> bool:
    """Return True for the errors PyTorch raises when an allocation fails (CUDA or CPU)."""
    if isinstance(error, torch.OutOfMemoryError):
        return True
    message = str(error)
    return isinstance(error, RuntimeError) and ("out of memory" in message or "can't allocate memory" in message)


def measure_or_skip(record: Record, measure: Callable[[], Record]) -> Record:
    """Return ``record`` updated with ``measure()``, or marked skipped if ``measure`` runs out of memory."""
    try:
        result = measure()
    except (torch.OutOfMemoryError, RuntimeError) as error:
        if not is_out_of_memory(error):
            raise
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        return {**record, "status": "skipped", "reason": f"out of memory: {str(error).splitlines()[0]}"}
    return {**record, **result, "status": "ok"}


def measure_matmul(n: int, dtype: str, device: torch.device, min_run_time: float) -> Record:
    """Time an (n, n) @ (n, n) matmul of random inputs and return seconds and TFLOPS (2n³ FLOPs per call)."""
    def measure() -> Record:
        a = torch.randn(n, n, device=device, dtype=DTYPES[dtype])
        b = torch.randn(n, n, device=device, dtype=DTYPES[dtype])
        with tf32_matmuls(dtype == "tf32"):
            timing = time_callable(lambda: a @ b, device, min_run_time)
        flops = matmul_flops(n, n, n)
        return {"seconds": timing.median_s, "runs": timing.runs, "flops": flops, "tflops": flops / timing.median_s / 1e12}

    return measure_or_skip({"suite": "matmul", "dtype": dtype, "n": n}, measure)


def measure_bandwidth(op: str, numel: int, device: torch.device, min_run_time: float) -> Record:
    """Time ``a * 1.2`` (out of place) or ``b.copy_(a)`` on ``numel`` float32 elements.

    Each reads ``numel`` elements and writes ``numel``, so the bytes moved are
    2 · numel · 4. The multiply does one FLOP per element, the copy none.
    """
    if op not in BANDWIDTH_OPS:
        raise ValueError(f"op={op!r} is unknown; expected one of {BANDWIDTH_OPS}")

    def measure() -> Record:
        a = torch.randn(numel, device=device)
        if op == "copy":
            b = torch.empty_like(a)
            fn = lambda: b.copy_(a)  # noqa: E731
        else:
            fn = lambda: a * 1.2  # noqa: E731
        timing = time_callable(fn, device, min_run_time)
        bytes_moved = 2 * numel * a.element_size()
        flops = elementwise_flops(numel) if op == "a * 1.2" else 0
        return {
            "seconds": timing.median_s, "runs": timing.runs, "bytes": bytes_moved, "gbs": bytes_moved / timing.median_s / 1e9,
            "flops": flops, "tflops": flops / timing.median_s / 1e12,
        }

    return measure_or_skip({"suite": "bandwidth", "op": op, "dtype": "fp32", "numel": numel}, measure)


def measure_block(block: Block, kind: str, pass_: str, batch: int, seq_len: int, dtype: str,
                  device: torch.device, min_run_time: float) -> Record:
    """Time one block's forward (eval mode, no grad) or forward+backward (train mode) on random hidden states.

    Forward+backward FLOPs are 3 × forward: the input needs a gradient too, so
    every matmul has two backward matmuls.
    """
    if pass_ not in PASSES:
        raise ValueError(f"pass_={pass_!r} is unknown; expected one of {PASSES}")

    def measure() -> Record:
        x = torch.randn(batch, seq_len, D_MODEL, device=device, dtype=DTYPES[dtype])
        if pass_ == "forward":
            block.module.eval()

            def fn() -> None:
                with torch.no_grad():
                    block.forward(x)
        else:
            block.module.train()
            x.requires_grad_(True)

            def fn() -> None:
                block.forward(x).sum().backward()

        timing = time_callable(fn, device, min_run_time)
        flops = block.flops(batch, seq_len)
        if pass_ == "forward+backward":
            flops = training_step_flops(flops)
        return {"seconds": timing.median_s, "runs": timing.runs, "flops": flops, "tflops": flops / timing.median_s / 1e12}

    record = {"suite": "layers", "kind": kind, "name": block.name, "pass": pass_, "batch": batch, "seq_len": seq_len, "dtype": dtype}
    return measure_or_skip(record, measure)


@dataclass
class Task:
    """One step of a run, shown by the progress bar: a label and a callable that returns records."""

    label: str
    run: Callable[[], list[Record]]


def _layer_tasks(config: BenchConfig, device: torch.device) -> list[Task]:
    dtype = DTYPES[config.layer_dtype]
    tasks = []

    def block_task(name: str, build: Callable[[], Block], kind: str, passes: tuple[str, ...]) -> Task:
        def run() -> list[Record]:
            block = build()
            records = [
                measure_block(block, kind, p, b, t, config.layer_dtype, device, config.min_run_time)
                for b, t in config.layer_shapes for p in passes
            ]
            del block
            return records
        return Task(f"layers {name}", run)

    for name in BLOCK_NAMES:
        tasks.append(block_task(name, lambda name=name: build_block(name, device, dtype), "block", PASSES))
    for name in PART_NAMES:
        tasks.append(block_task(name, lambda name=name: build_part(name, device, dtype), "part", ("forward",)))
    if config.compile_parts:
        def compiled() -> Block:
            part = build_part("dense+gelu", device, dtype)
            return Block("dense+gelu-compiled", part.module, torch.compile(part.module), part.flops)
        tasks.append(block_task("dense+gelu-compiled", compiled, "part", ("forward",)))
    return tasks


def _allreduce_task(config: BenchConfig) -> Task:
    backend, world_size = ("nccl", torch.cuda.device_count()) if config.device == "cuda" else ("gloo", 2)

    def run() -> list[Record]:
        base = {"suite": "allreduce", "backend": backend, "world_size": world_size}
        if world_size < 2:
            return [{**base, "size_bytes": s, "status": "skipped", "reason": f"needs 2 or more GPUs, found {world_size}"}
                    for s in config.allreduce_sizes]
        results = run_allreduce(backend, world_size, list(config.allreduce_sizes))
        return [
            {**base, "size_bytes": r.size_bytes, "seconds": r.seconds, "algbw_gbs": r.algbw_gbs, "busbw_gbs": r.busbw_gbs, "status": "ok"}
            for r in results
        ]

    return Task(f"allreduce {backend} x{world_size}", run)


def plan_tasks(config: BenchConfig) -> list[Task]:
    """Return the tasks of every suite in ``config``, in order."""
    device = torch.device(config.device)
    tasks: list[Task] = []
    if "matmul" in config.suites:
        for dtype in config.dtypes:
            for n in config.matmul_sizes:
                tasks.append(Task(f"matmul {dtype} n={n}", lambda n=n, dtype=dtype: [measure_matmul(n, dtype, device, config.min_run_time)]))
    if "bandwidth" in config.suites:
        for op in BANDWIDTH_OPS:
            for numel in config.bandwidth_numels:
                tasks.append(Task(f"bandwidth {op} numel={numel}", lambda op=op, numel=numel: [measure_bandwidth(op, numel, device, config.min_run_time)]))
    if "layers" in config.suites:
        tasks.extend(_layer_tasks(config, device))
    if "allreduce" in config.suites:
        tasks.append(_allreduce_task(config))
    return tasks
