"""GPU micro-benchmarks (chapter 6): timing, peak tables, suites, roofline, all-reduce, ``python -m dlnotes.bench``."""

from dlnotes.bench.allreduce import AllReduceResult, bus_bandwidth_gbs, free_port, run_allreduce
from dlnotes.bench.blocks import BLOCK_NAMES, PART_NAMES, Block, SelfAttention, build_block, build_part
from dlnotes.bench.results import gpu_target_checks, load_result, load_results, ok_measurements, validate_result
from dlnotes.bench.roofline import (
    arithmetic_intensity,
    attainable_tflops,
    Roofs,
    dense_activation_fraction,
    device_roofs,
    elementwise_intensity,
    matmul_intensity,
    ridge_point,
    roofline_seconds,
)
from dlnotes.bench.specs import ACHIEVABLE_BF16_TFLOPS, GPU_SPECS, PEAK_FORMATS, GpuSpec, memory_bandwidth_gbs, spec_for_device_name
from dlnotes.bench.suites import (
    SUITES,
    BenchConfig,
    Task,
    measure_bandwidth,
    measure_block,
    measure_matmul,
    measure_or_skip,
    plan_tasks,
    valid_dtypes,
)
from dlnotes.bench.timing import DTYPES, Timing, environment, synchronize, tf32_matmuls, time_callable
from dlnotes.bench.visibility import cuda_device_count_in_subprocess
