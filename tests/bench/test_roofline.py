import pytest
from hypothesis import given, strategies as st

from dlnotes.bench.roofline import (
    Roofs,
    arithmetic_intensity,
    attainable_tflops,
    dense_activation_fraction,
    device_roofs,
    elementwise_intensity,
    matmul_intensity,
    ridge_point,
    roofline_seconds,
)


def test_ridge_point_h200():
    # 989.4 TFLOPS bf16 over 4.8 TB/s: about 206 FLOPs per byte.
    assert ridge_point(989.4, 4800) == pytest.approx(206.125)


def test_attainable_at_ridge_is_peak():
    ridge = ridge_point(100.0, 1000.0)
    assert attainable_tflops(ridge, 100.0, 1000.0) == pytest.approx(100.0)
    assert attainable_tflops(ridge / 2, 100.0, 1000.0) == pytest.approx(50.0)
    assert attainable_tflops(ridge * 10, 100.0, 1000.0) == 100.0


@given(st.floats(1e-3, 1e4), st.floats(1, 2000), st.floats(10, 10000))
def test_attainable_never_exceeds_roofs(intensity, peak, bandwidth):
    bound = attainable_tflops(intensity, peak, bandwidth)
    assert bound <= peak
    assert bound <= bandwidth * intensity / 1000 * (1 + 1e-12)


def test_matmul_intensity_grows_with_n():
    assert matmul_intensity(1024, 2) == pytest.approx(2 * 1024 / 6)
    assert matmul_intensity(8192, 2) == 8 * matmul_intensity(1024, 2)


def test_elementwise_intensity():
    # a * 1.2 in float32: 1 FLOP per 8 bytes (read 4, write 4).
    assert elementwise_intensity(4) == 0.125
    assert arithmetic_intensity(10, 80) == 0.125


@pytest.mark.parametrize("call", [
    lambda: ridge_point(0, 100),
    lambda: ridge_point(100, float("inf")),
    lambda: attainable_tflops(-1, 1, 1),
    lambda: matmul_intensity(0, 2),
    lambda: matmul_intensity(8, 3),
    lambda: elementwise_intensity(4, 0),
    lambda: arithmetic_intensity(1, 0),
    lambda: roofline_seconds(-1, 8, 1, 1),
    lambda: roofline_seconds(1, 0, 1, 1),
    lambda: dense_activation_fraction(0, 8, 8, 2, 1, 1),
    lambda: dense_activation_fraction(8, 8, 8, 3, 1, 1),
])
def test_rejects_bad_input(call):
    with pytest.raises(ValueError):
        call()


def test_roofline_seconds_picks_slower_roof():
    # 1 TFLOP at 100 TFLOPS: 10 ms; 1 GB at 1000 GB/s: 1 ms.
    assert roofline_seconds(1e12, 1e9, 100.0, 1000.0) == pytest.approx(0.01)
    assert roofline_seconds(0, 1e9, 100.0, 1000.0) == pytest.approx(0.001)


def test_dense_activation_fraction_h200():
    # bf16 on an H200, 4096 tokens, 1024 -> 4096: the matmul takes 34.7 us at peak and GELU's
    # 67 MB round trip 14.0 us at 4.8 TB/s.
    fraction = dense_activation_fraction(4096, 1024, 4096, 2, 989.4, 4800)
    dense = 2 * 4096 * 1024 * 4096 / 989.4e12
    activation = 2 * 4096 * 4096 * 2 / 4800e9
    assert fraction == pytest.approx(dense / (dense + activation))
    assert 0.70 < fraction < 0.72


def test_dense_activation_fraction_slow_compute():
    # A device with little compute for its bandwidth barely notices the activation.
    assert dense_activation_fraction(64, 1024, 4096, 4, 0.1, 100) > 0.99


def _result(device_type: str, device_name: str, measurements: list[dict]) -> dict:
    return {"environment": {"device_type": device_type, "device_name": device_name}, "measurements": measurements}


MEASURED = [
    {"suite": "matmul", "dtype": "fp32", "n": 512, "status": "ok", "tflops": 0.4},
    {"suite": "matmul", "dtype": "bf16", "n": 512, "status": "ok", "tflops": 0.5},
    {"suite": "matmul", "dtype": "fp16", "n": 512, "status": "skipped", "tflops": 9.0},
    {"suite": "bandwidth", "op": "copy", "status": "ok", "gbs": 150.0},
    {"suite": "bandwidth", "op": "copy", "status": "ok", "gbs": 170.0},
    {"suite": "bandwidth", "op": "a * 1.2", "status": "ok", "gbs": 900.0},
]


def test_device_roofs_known_gpu_datasheet():
    roofs = device_roofs(_result("cuda", "NVIDIA H200", MEASURED))
    assert roofs == Roofs(989.4, 4800, "H200 SXM datasheet")


def test_device_roofs_fp16_without_bf16():
    roofs = device_roofs(_result("cuda", "Tesla V100-SXM2-32GB", []))
    assert roofs == Roofs(125.0, 900, "V100 SXM2 32GB datasheet")


def test_device_roofs_cpu_measured():
    roofs = device_roofs(_result("cpu", "x86_64", MEASURED))
    assert roofs == Roofs(0.5, 170.0, "cpu, measured roofs")


def test_device_roofs_unknown_gpu_measured():
    roofs = device_roofs(_result("cuda", "NVIDIA B200", MEASURED))
    assert roofs.label == "cuda, measured roofs"
    assert roofs.peak_tflops == 0.5


def test_device_roofs_missing_copy():
    with pytest.raises(ValueError, match="0 ok copy measurements"):
        device_roofs(_result("cpu", "x86_64", MEASURED[:3]))
