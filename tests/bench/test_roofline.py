import pytest
from hypothesis import given, strategies as st

from dlnotes.bench.roofline import (
    arithmetic_intensity,
    attainable_tflops,
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
])
def test_rejects_bad_input(call):
    with pytest.raises(ValueError):
        call()


def test_roofline_seconds_picks_slower_roof():
    # 1 TFLOP at 100 TFLOPS: 10 ms; 1 GB at 1000 GB/s: 1 ms.
    assert roofline_seconds(1e12, 1e9, 100.0, 1000.0) == pytest.approx(0.01)
    assert roofline_seconds(0, 1e9, 100.0, 1000.0) == pytest.approx(0.001)
