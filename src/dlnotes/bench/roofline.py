"""The roofline model: attainable throughput is the lower of the compute peak and bandwidth × arithmetic intensity.

Williams, Waterman and Patterson (2009): a kernel that does F FLOPs while
moving Q bytes to and from memory has arithmetic intensity I = F / Q
(FLOP/byte). On a device with peak P (FLOP/s) and bandwidth W (byte/s) it
reaches at most min(P, W·I); the ridge point I* = P / W separates
memory-bound kernels (I < I*) from compute-bound ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from dlnotes.bench.results import ok_measurements
from dlnotes.bench.specs import spec_for_device_name


def _check_positive(**values: float) -> None:
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 or math.isinf(value):
            raise ValueError(f"{name}={value!r} is invalid; expected a positive finite number")


def arithmetic_intensity(flops: float, bytes_moved: float) -> float:
    """Return FLOPs per byte moved to or from memory."""
    _check_positive(flops=flops, bytes_moved=bytes_moved)
    return flops / bytes_moved


def ridge_point(peak_tflops: float, bandwidth_gbs: float) -> float:
    """Return the arithmetic intensity (FLOP/byte) where a device turns from memory-bound to compute-bound."""
    _check_positive(peak_tflops=peak_tflops, bandwidth_gbs=bandwidth_gbs)
    return peak_tflops * 1e12 / (bandwidth_gbs * 1e9)


def attainable_tflops(intensity: float, peak_tflops: float, bandwidth_gbs: float) -> float:
    """Return the roofline bound in TFLOPS at ``intensity`` FLOP/byte: min(peak, bandwidth × intensity)."""
    _check_positive(intensity=intensity, peak_tflops=peak_tflops, bandwidth_gbs=bandwidth_gbs)
    return min(peak_tflops, bandwidth_gbs * 1e9 * intensity / 1e12)


def matmul_intensity(n: int, bytes_per_element: int) -> float:
    """Return the intensity of an n×n @ n×n matmul that reads A and B and writes C once: 2n³ / (3n² · bytes)."""
    if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
        raise ValueError(f"n={n!r} is invalid; expected a positive int")
    if bytes_per_element not in (1, 2, 4, 8):
        raise ValueError(f"bytes_per_element={bytes_per_element!r} is invalid; expected 1, 2, 4 or 8")
    return 2 * n**3 / (3 * n**2 * bytes_per_element)


def elementwise_intensity(bytes_per_element: int, flops_per_element: int = 1) -> float:
    """Return the intensity of an element-wise op that reads one tensor and writes one, such as ``a * 1.2``."""
    if bytes_per_element not in (1, 2, 4, 8):
        raise ValueError(f"bytes_per_element={bytes_per_element!r} is invalid; expected 1, 2, 4 or 8")
    _check_positive(flops_per_element=flops_per_element)
    return flops_per_element / (2 * bytes_per_element)


def roofline_seconds(flops: float, bytes_moved: float, peak_tflops: float, bandwidth_gbs: float) -> float:
    """Return the least time a kernel can take: the larger of its compute time at peak and its memory time.

    ``flops`` may be 0 for a pure copy; ``bytes_moved`` counts reads plus writes.
    """
    if isinstance(flops, bool) or not isinstance(flops, (int, float)) or flops < 0:
        raise ValueError(f"flops={flops!r} is invalid; expected a number >= 0")
    _check_positive(bytes_moved=bytes_moved, peak_tflops=peak_tflops, bandwidth_gbs=bandwidth_gbs)
    return max(flops / (peak_tflops * 1e12), bytes_moved / (bandwidth_gbs * 1e9))


def dense_activation_fraction(rows: int, d_in: int, d_out: int, bytes_per_element: int,
                              peak_tflops: float, bandwidth_gbs: float) -> float:
    """Return the best TFLOPS of dense+activation as a fraction of the dense layer's alone, unfused.

    The dense layer ((rows, d_in) @ (d_in, d_out)) reads its input and weight
    and writes its output once. A separate activation kernel then reads and
    writes the (rows, d_out) output again. Each kernel takes its roofline
    time, and only the matmul FLOPs count, so the fraction is
    t_dense / (t_dense + t_activation). Fusing the activation into the matmul
    makes it 1.
    """
    for name, value in (("rows", rows), ("d_in", d_in), ("d_out", d_out)):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError(f"{name}={value!r} is invalid; expected a positive int")
    if bytes_per_element not in (1, 2, 4, 8):
        raise ValueError(f"bytes_per_element={bytes_per_element!r} is invalid; expected 1, 2, 4 or 8")

    dense_bytes = (rows * d_in + d_in * d_out + rows * d_out) * bytes_per_element
    dense = roofline_seconds(2 * rows * d_in * d_out, dense_bytes, peak_tflops, bandwidth_gbs)
    activation = roofline_seconds(rows * d_out, 2 * rows * d_out * bytes_per_element, peak_tflops, bandwidth_gbs)
    return dense / (dense + activation)


@dataclass(frozen=True)
class Roofs:
    """The two roofs of a device and where they come from."""

    peak_tflops: float
    bandwidth_gbs: float  # decimal GB/s
    label: str  # such as "H200 SXM datasheet" or "cpu, measured roofs"


def device_roofs(result: dict[str, Any]) -> Roofs:
    """Return the roofs for the device of a result document (``environment`` and ``measurements``).

    A CUDA card in the peak tables gets its datasheet figures: the bf16 peak, or fp16 where the
    card has no bf16, and the datasheet bandwidth. Any other device gets measured roofs: the best
    ok matmul rate over every dtype and the best ok ``copy`` bandwidth in ``result``.
    """
    environment = result["environment"]
    spec = spec_for_device_name(environment["device_name"]) if environment["device_type"] == "cuda" else None
    if spec is not None:
        return Roofs(spec.bf16_tflops or spec.fp16_tflops, spec.bandwidth_gbs, f"{spec.name} datasheet")

    matmuls = ok_measurements(result, "matmul")
    copies = ok_measurements(result, "bandwidth", op="copy")
    if not matmuls or not copies:
        raise ValueError(f"device {environment['device_name']!r} is not in the peak tables and the result has "
                         f"{len(matmuls)} ok matmul and {len(copies)} ok copy measurements; "
                         "expected at least one of each to measure the roofs")
    peak = max(record["tflops"] for record in matmuls)
    bandwidth = max(record["gbs"] for record in copies)
    return Roofs(peak, bandwidth, f"{environment['device_type']}, measured roofs")
