"""All-reduce bandwidth through torch.distributed: NCCL across GPUs, gloo across CPU processes.

nccl-tests defines two rates for an all-reduce of S bytes over n ranks that
takes t seconds: the algorithm bandwidth algbw = S / t, and the bus bandwidth
busbw = algbw × 2(n − 1)/n. A ring all-reduce sends and receives 2(n − 1)/n · S
bytes per rank, so busbw is the per-link rate that can be compared with the
hardware's link bandwidth, whatever n is.
"""

from __future__ import annotations

import os
import socket
import statistics
import tempfile
import time
from dataclasses import dataclass

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

BACKENDS = ("gloo", "nccl")
LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class AllReduceResult:
    """Mean time of one all-reduce of ``size_bytes`` over ``world_size`` ranks, and its two bandwidths."""

    backend: str
    world_size: int
    size_bytes: int
    seconds: float
    algbw_gbs: float
    busbw_gbs: float


def bus_bandwidth_gbs(algbw_gbs: float, world_size: int) -> float:
    """Return nccl-tests' bus bandwidth for an all-reduce: algbw × 2(n − 1)/n, in the unit of ``algbw_gbs``."""
    if isinstance(world_size, bool) or not isinstance(world_size, int) or world_size < 1:
        raise ValueError(f"world_size={world_size!r} is invalid; expected a positive int")
    if not algbw_gbs >= 0:
        raise ValueError(f"algbw_gbs={algbw_gbs!r} is invalid; expected a non-negative number")
    return algbw_gbs * 2 * (world_size - 1) / world_size


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def _worker(rank: int, world_size: int, backend: str, port: int, sizes_bytes: list[int], iterations: int, out_path: str) -> None:
    dist.init_process_group(backend, init_method=f"tcp://{LOOPBACK}:{port}", rank=rank, world_size=world_size)
    try:
        if backend == "nccl":
            device = torch.device("cuda", rank)
            torch.cuda.set_device(device)
        else:
            device = torch.device("cpu")
            torch.set_num_threads(1)  # ranks share the machine's cores

        seconds = []
        for size in sizes_bytes:
            tensor = torch.randn(size // 4, device=device)  # float32: 4 bytes per element
            for _ in range(2):  # warm-up: connection set-up and buffer allocation
                dist.all_reduce(tensor)
            if backend == "nccl":
                torch.cuda.synchronize(device)

            times = []
            for _ in range(iterations):
                dist.barrier()
                start = time.perf_counter()
                dist.all_reduce(tensor)
                if backend == "nccl":
                    torch.cuda.synchronize(device)
                times.append(time.perf_counter() - start)

            # Every rank must finish for the all-reduce to finish: take the slowest rank's time.
            slowest = torch.tensor([statistics.mean(times)], dtype=torch.float64, device=device)
            dist.all_reduce(slowest, op=dist.ReduceOp.MAX)
            seconds.append(slowest.item())

        if rank == 0:
            torch.save(seconds, out_path)
    finally:
        dist.destroy_process_group()


def run_allreduce(backend: str, world_size: int, sizes_bytes: list[int], iterations: int = 10) -> list[AllReduceResult]:
    """Spawn ``world_size`` processes that all-reduce float32 tensors of each size and return the results.

    gloo runs on CPU processes, NCCL needs one CUDA device per rank. The
    processes rendezvous over TCP on 127.0.0.1 at a free port.

    NOTE: only the gloo path has run so far; the NCCL path is untested.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend={backend!r} is unknown; expected one of {BACKENDS}")
    if isinstance(world_size, bool) or not isinstance(world_size, int) or world_size < 2:
        raise ValueError(f"world_size={world_size!r} is invalid; an all-reduce needs at least 2 processes")
    if not sizes_bytes or any(isinstance(s, bool) or not isinstance(s, int) or s < 4 or s % 4 for s in sizes_bytes):
        raise ValueError(f"sizes_bytes={sizes_bytes!r} is invalid; expected a non-empty list of positive multiples of 4")
    if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 1:
        raise ValueError(f"iterations={iterations!r} is invalid; expected a positive int")
    if backend == "nccl":
        if not (torch.cuda.is_available() and dist.is_nccl_available()):
            raise ValueError("backend='nccl' needs CUDA and a torch built with NCCL; use backend='gloo' on a CPU")
        if torch.cuda.device_count() < world_size:
            raise ValueError(f"world_size={world_size} needs {world_size} GPUs, but {torch.cuda.device_count()} are visible")

    with tempfile.TemporaryDirectory() as directory:
        out_path = os.path.join(directory, "seconds.pt")
        mp.spawn(_worker, args=(world_size, backend, free_port(), sizes_bytes, iterations, out_path), nprocs=world_size, join=True)
        seconds = torch.load(out_path)

    results = []
    for size, t in zip(sizes_bytes, seconds):
        algbw = size / t / 1e9
        results.append(AllReduceResult(backend, world_size, size, t, algbw, bus_bandwidth_gbs(algbw, world_size)))
    return results
