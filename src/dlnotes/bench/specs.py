"""Datasheet peaks of common GPUs, dense figures only, and memory-bandwidth arithmetic.

Every TFLOPS figure is the dense rate with FP32 accumulation, the rate that
PyTorch's matmuls get. Datasheets print two traps next to these numbers:

- Sparse figures assume 2:4 structured sparsity and are exactly twice the
  dense ones. A datasheet that prints "1979 TFLOPS BF16" for an H100 SXM
  means 989 dense.
- GeForce cards (RTX 3090 Ti, RTX 4090) quote FP16 tensor throughput with FP16
  accumulation, which is twice their rate with FP32 accumulation. PyTorch
  accumulates FP16 and BF16 matmuls in FP32, so it gets the lower rate.
"""

from __future__ import annotations

from dataclasses import dataclass

PEAK_FORMATS = ("fp32", "tf32", "fp16", "bf16", "fp8")


@dataclass(frozen=True)
class GpuSpec:
    """Datasheet figures of one GPU: dense TFLOPS per format, memory size and bandwidth.

    A format the card has no tensor-core support for is None.
    """

    name: str
    fp32_tflops: float  # CUDA cores, no tensor cores
    tf32_tflops: float | None
    fp16_tflops: float | None  # tensor cores, FP32 accumulate
    bf16_tflops: float | None  # tensor cores, FP32 accumulate
    fp8_tflops: float | None  # tensor cores, FP32 accumulate
    memory_gb: float  # decimal gigabytes, as datasheets print them
    bandwidth_gbs: float  # GB/s, decimal
    source: str
    estimated: tuple[str, ...] = ()  # fields whose values are estimates, derived rather than printed in the source

    def peak_tflops(self, fmt: str) -> float | None:
        """Return the dense peak for ``fmt`` (one of PEAK_FORMATS), or None if the card lacks it."""
        if fmt not in PEAK_FORMATS:
            raise ValueError(f"format={fmt!r} is unknown; expected one of {PEAK_FORMATS}")
        return getattr(self, f"{fmt}_tflops")


_AMPERE_GA102 = "NVIDIA Ampere GA102 GPU Architecture whitepaper"
_ADA = "NVIDIA Ada GPU Architecture whitepaper"

GPU_SPECS: dict[str, GpuSpec] = {
    spec.name: spec
    for spec in [
        GpuSpec("V100 SXM2 32GB", 15.7, None, 125.0, None, None, 32, 900,
                "NVIDIA Tesla V100 GPU Accelerator datasheet"),
        GpuSpec("A100 SXM 40GB", 19.5, 156.0, 312.0, 312.0, None, 40, 1555,
                "NVIDIA A100 Tensor Core GPU datasheet"),
        GpuSpec("A100 SXM 80GB", 19.5, 156.0, 312.0, 312.0, None, 80, 2039,
                "NVIDIA A100 Tensor Core GPU datasheet"),
        GpuSpec("RTX A6000", 38.7, 77.4, 154.8, 154.8, None, 48, 768,
                f"NVIDIA RTX A6000 datasheet; tensor rates from the {_AMPERE_GA102}"),
        # NOTE: NVIDIA prints no tensor rates for the 3090 Ti. They are scaled from
        # the RTX 3090 rates in the GA102 whitepaper by SM count (84/82) and boost clock (1.86/1.695 GHz).
        GpuSpec("RTX 3090 Ti", 40.0, 40.0, 80.0, 80.0, None, 24, 1008,
                f"NVIDIA GeForce RTX 3090 Ti specifications; tensor rates scaled from the {_AMPERE_GA102}",
                estimated=("tf32_tflops", "fp16_tflops", "bf16_tflops")),
        GpuSpec("RTX 4090", 82.6, 82.6, 165.2, 165.2, 330.3, 24, 1008, _ADA),
        GpuSpec("L40S", 91.6, 183.0, 362.05, 362.05, 733.0, 48, 864, "NVIDIA L40S GPU datasheet"),
        GpuSpec("H100 SXM", 67.0, 494.7, 989.4, 989.4, 1978.9, 80, 3350, "NVIDIA H100 Tensor Core GPU datasheet"),
        GpuSpec("H100 PCIe", 51.0, 378.0, 756.0, 756.0, 1513.0, 80, 2000, "NVIDIA H100 Tensor Core GPU datasheet"),
        GpuSpec("H200 SXM", 67.0, 494.7, 989.4, 989.4, 1978.9, 141, 4800, "NVIDIA H200 Tensor Core GPU datasheet"),
    ]
}

# Best bf16 matmul rate reached in practice, the yardstick for this book's GPU target
# (a measured n = 8192 bf16 matmul must reach 90% of it).
# NOTE: an estimate, about 80% of the H200's 989.4 TFLOPS dense bf16 peak. It is neither
# measured (no GPU run has been recorded for this book) nor a figure NVIDIA publishes.
ACHIEVABLE_BF16_TFLOPS: dict[str, float] = {"H200 SXM": 790.0}

# Marketing names that torch.cuda.get_device_name() returns, mapped to GPU_SPECS keys.
# Order matters: the first substring found wins, so longer names come first.
_DEVICE_NAME_PATTERNS = (
    ("H200", "H200 SXM"),
    ("H100 PCIe", "H100 PCIe"),
    ("H100", "H100 SXM"),
    ("A100-SXM4-80GB", "A100 SXM 80GB"),
    ("A100 80GB", "A100 SXM 80GB"),
    ("A100", "A100 SXM 40GB"),
    ("L40S", "L40S"),
    ("RTX 4090", "RTX 4090"),
    ("RTX 3090 Ti", "RTX 3090 Ti"),
    ("RTX A6000", "RTX A6000"),
    ("V100", "V100 SXM2 32GB"),
)


def spec_for_device_name(device_name: str) -> GpuSpec | None:
    """Return the GpuSpec whose card ``device_name`` (as CUDA reports it) names, or None if unknown.

    NOTE: variants outside the table map to their nearest entry, so an H100 NVL
    gets the H100 SXM figures and an A100 PCIe the A100 SXM ones. Their real
    peaks are somewhat lower.
    """
    for pattern, key in _DEVICE_NAME_PATTERNS:
        if pattern in device_name:
            return GPU_SPECS[key]
    return None


def memory_bandwidth_gbs(transfer_rate_mts: float, bus_width_bits: int) -> float:
    """Return peak memory bandwidth in GB/s: transfer rate (MT/s) × bus width (bits) / 8 bits per byte.

    Example: GDDR6X at 21,000 MT/s on a 384-bit bus gives 1008 GB/s (RTX 4090).
    """
    if isinstance(transfer_rate_mts, bool) or not isinstance(transfer_rate_mts, (int, float)) or not transfer_rate_mts > 0:
        raise ValueError(f"transfer_rate_mts={transfer_rate_mts!r} is invalid; expected a positive number of MT/s such as 21000")
    if isinstance(bus_width_bits, bool) or not isinstance(bus_width_bits, int) or bus_width_bits <= 0 or bus_width_bits % 8:
        raise ValueError(f"bus_width_bits={bus_width_bits!r} is invalid; expected a positive multiple of 8 such as 384")

    bytes_per_transfer = bus_width_bits / 8
    return transfer_rate_mts * 1e6 * bytes_per_transfer / 1e9
