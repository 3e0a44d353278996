import pytest
from hypothesis import given, strategies as st

from dlnotes.bench.specs import ACHIEVABLE_BF16_TFLOPS, GPU_SPECS, PEAK_FORMATS, memory_bandwidth_gbs, spec_for_device_name

EXPECTED_CARDS = {
    "V100 SXM2 32GB", "A100 SXM 40GB", "A100 SXM 80GB", "RTX A6000", "RTX 3090 Ti",
    "RTX 4090", "L40S", "H100 SXM", "H100 PCIe", "H200 SXM",
}


def test_table_lists_every_card():
    assert set(GPU_SPECS) == EXPECTED_CARDS


def test_missing_formats_are_none():
    v100 = GPU_SPECS["V100 SXM2 32GB"]
    assert v100.tf32_tflops is None
    assert v100.bf16_tflops is None
    assert v100.fp8_tflops is None
    assert GPU_SPECS["A100 SXM 80GB"].fp8_tflops is None
    assert GPU_SPECS["H200 SXM"].fp8_tflops is not None


@pytest.mark.parametrize("name", sorted(EXPECTED_CARDS))
def test_spec_is_consistent(name):
    spec = GPU_SPECS[name]
    assert spec.source
    assert spec.memory_gb > 0
    assert spec.bandwidth_gbs > 0
    assert all(field.endswith("_tflops") and hasattr(spec, field) for field in spec.estimated)
    # Tensor-core rates grow as precision drops: tf32 <= 16-bit <= fp8.
    rates = [spec.peak_tflops(f) for f in ("tf32", "bf16", "fp8") if spec.peak_tflops(f) is not None]
    assert rates == sorted(rates)
    assert spec.fp16_tflops >= spec.fp32_tflops


def test_dense_not_sparse_figures():
    # Sparse datasheet figures are twice these: H100 SXM "1979 TFLOPS BF16" is 989 dense.
    assert GPU_SPECS["H100 SXM"].bf16_tflops == pytest.approx(1979 / 2, rel=1e-3)
    assert GPU_SPECS["A100 SXM 40GB"].tf32_tflops == 156.0
    # The RTX 4090's 330 TFLOPS FP16 is with FP16 accumulation; with FP32 it is half.
    assert GPU_SPECS["RTX 4090"].fp16_tflops == pytest.approx(330.3 / 2, rel=1e-3)


def test_peak_tflops_rejects_format():
    with pytest.raises(ValueError, match="fp64"):
        GPU_SPECS["H200 SXM"].peak_tflops("fp64")


@pytest.mark.parametrize("device_name, expected", [
    ("NVIDIA H200", "H200 SXM"),
    ("NVIDIA H100 80GB HBM3", "H100 SXM"),
    ("NVIDIA H100 PCIe", "H100 PCIe"),
    ("NVIDIA A100-SXM4-80GB", "A100 SXM 80GB"),
    ("NVIDIA A100-SXM4-40GB", "A100 SXM 40GB"),
    ("NVIDIA GeForce RTX 4090", "RTX 4090"),
    ("NVIDIA GeForce RTX 3090 Ti", "RTX 3090 Ti"),
    ("Tesla V100-SXM2-32GB", "V100 SXM2 32GB"),
])
def test_spec_for_device_name(device_name, expected):
    assert spec_for_device_name(device_name).name == expected


def test_spec_for_unknown_device():
    assert spec_for_device_name("NVIDIA GeForce GTX 1080") is None


def test_achievable_below_peak():
    for name, tflops in ACHIEVABLE_BF16_TFLOPS.items():
        assert tflops < GPU_SPECS[name].bf16_tflops


@pytest.mark.parametrize("rate, bits, expected", [
    (21000, 384, 1008.0),  # RTX 4090 GDDR6X
    (7500, 128, 120.0),  # Apple M4, LPDDR5X-7500
    (8533, 256, 273.056),  # M4 Pro
    (8533, 384, 409.584),  # M4 Max, binned
    (8533, 512, 546.112),  # M4 Max
])
def test_memory_bandwidth(rate, bits, expected):
    assert memory_bandwidth_gbs(rate, bits) == pytest.approx(expected)


@given(st.floats(1, 1e5), st.sampled_from([64, 128, 256, 384, 512, 1024, 4096, 5120]))
def test_bandwidth_linear_in_bus_width(rate, bits):
    assert memory_bandwidth_gbs(rate, 2 * bits) == pytest.approx(2 * memory_bandwidth_gbs(rate, bits))


@pytest.mark.parametrize("rate, bits", [(0, 384), (-1, 384), (21000, 0), (21000, 100), (21000, 384.0), (True, 384), ("21000", 384)])
def test_memory_bandwidth_rejects(rate, bits):
    with pytest.raises(ValueError):
        memory_bandwidth_gbs(rate, bits)
