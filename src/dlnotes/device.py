"""Device discovery, choice and seeding, shared by every chapter."""

from __future__ import annotations

import os
import random
from dataclasses import dataclass

import numpy as np
import torch

VALID_DEVICE_TYPES = ("cpu", "cuda", "mps")
DEVICE_ENV_VAR = "DLNOTES_DEVICE"


@dataclass(frozen=True)
class DeviceInfo:
    """One accelerator or the CPU, as PyTorch reports it."""

    index: int | None  # CUDA ordinal, None for the CPU and MPS
    type: str  # "cuda", "mps" or "cpu"
    name: str
    compute_capability: tuple[int, int] | None  # (major, minor) on CUDA
    memory_bytes: int | None  # total device memory on CUDA

    def describe(self) -> str:
        """Return one line: name, compute capability and memory in GiB where known."""
        label = self.type if self.index is None else f"{self.type}:{self.index}"
        parts = [f"{label} {self.name}"]
        if self.compute_capability is not None:
            parts.append(f"compute capability {self.compute_capability[0]}.{self.compute_capability[1]}")
        if self.memory_bytes is not None:
            parts.append(f"{self.memory_bytes / 2**30:.1f} GiB")
        return ", ".join(parts)


def list_devices() -> list[DeviceInfo]:
    """List every CUDA device, then MPS if present, then the CPU (always last)."""
    devices = []
    if torch.cuda.is_available():
        for index in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(index)
            devices.append(DeviceInfo(index, "cuda", props.name, (props.major, props.minor), props.total_memory))
    if torch.backends.mps.is_available():
        devices.append(DeviceInfo(None, "mps", "Apple GPU (MPS)", None, None))

    import platform

    cpu_name = platform.processor() or platform.machine() or "CPU"
    devices.append(DeviceInfo(None, "cpu", f"{cpu_name}, {os.cpu_count()} logical cores", None, None))
    return devices


def describe_devices() -> str:
    """Return a few lines naming each device and the count of CUDA devices."""
    devices = list_devices()
    cuda_count = sum(d.type == "cuda" for d in devices)
    lines = [d.describe() for d in devices]
    lines.append(f"CUDA devices visible: {cuda_count}")
    return "\n".join(lines)


def choose_device(preferred: str | None = None) -> torch.device:
    """Pick the device a chapter runs on.

    ``preferred`` (or the ``DLNOTES_DEVICE`` environment variable when it is
    None) may be "cpu", "cuda", "cuda:N" or "mps". Without either, CUDA wins
    over MPS, which wins over the CPU. Asking for a device that is not there
    raises ``ValueError`` naming what is available.
    """
    request = preferred if preferred is not None else os.environ.get(DEVICE_ENV_VAR)
    if request is None or request == "":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")

    try:
        device = torch.device(request)
    except RuntimeError:
        raise ValueError(f"device={request!r} is not a device name; expected one of {VALID_DEVICE_TYPES}, or cuda:N") from None
    if device.type not in VALID_DEVICE_TYPES:
        raise ValueError(f"device={request!r} has type {device.type!r}; expected one of {VALID_DEVICE_TYPES}")

    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device={request!r} requested, but torch finds no CUDA device; use 'cpu' or install a CUDA build of torch")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ValueError(f"device={request!r} requested, but only {torch.cuda.device_count()} CUDA devices are visible")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device={request!r} requested, but MPS is not available on this machine; use 'cpu'")
    return device


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's (CPU and CUDA) random generators with ``seed``."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
        raise ValueError(f"seed={seed!r} is invalid; expected an int in [0, 2**32)")

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
