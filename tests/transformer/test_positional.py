import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from dlnotes.transformer.positional import (
    apply_rotary_embedding,
    inverse_frequencies,
    sinusoidal_positional_encoding,
    toeplitz_error,
)

FLOAT64_TOLERANCE = 1e-12


def test_inverse_frequencies_values():
    omega = inverse_frequencies(8, base=10000.0)

    assert omega.shape == (4,)
    assert omega.dtype == torch.float64
    expected = torch.tensor([10000.0 ** (-k / 8) for k in (0, 2, 4, 6)], dtype=torch.float64)
    assert torch.allclose(omega, expected, rtol=0, atol=FLOAT64_TOLERANCE)


@pytest.mark.parametrize("dim", [0, -2, 3, 2.0, True])
def test_inverse_frequencies_rejects_dim(dim):
    with pytest.raises(ValueError, match="dim="):
        inverse_frequencies(dim)


@pytest.mark.parametrize("base", [1.0, 0.5, -3.0, float("nan")])
def test_inverse_frequencies_rejects_base(base):
    with pytest.raises(ValueError, match="base="):
        inverse_frequencies(4, base=base)


def test_sinusoidal_shape_and_dtype():
    table = sinusoidal_positional_encoding(7, 6)

    assert table.shape == (7, 6)
    assert table.dtype == torch.float32
    assert sinusoidal_positional_encoding(3, 4, dtype=torch.float64).dtype == torch.float64


def test_sinusoidal_matches_formula():
    max_len, d_model = 20, 10
    table = sinusoidal_positional_encoding(max_len, d_model, dtype=torch.float64)

    for pos in range(max_len):
        for k in range(d_model // 2):
            angle = pos / 10000.0 ** (2 * k / d_model)
            assert table[pos, 2 * k].item() == pytest.approx(math.sin(angle), abs=FLOAT64_TOLERANCE)
            assert table[pos, 2 * k + 1].item() == pytest.approx(math.cos(angle), abs=FLOAT64_TOLERANCE)


def test_sinusoidal_position_zero():
    row = sinusoidal_positional_encoding(1, 8)[0]

    assert torch.equal(row[0::2], torch.zeros(4))
    assert torch.equal(row[1::2], torch.ones(4))


def test_sinusoidal_base_changes_values():
    default = sinusoidal_positional_encoding(5, 4, dtype=torch.float64)
    small_base = sinusoidal_positional_encoding(5, 4, base=100.0, dtype=torch.float64)

    assert torch.equal(default[:, 0], small_base[:, 0])  # ω_0 = 1 for every base
    assert small_base[3, 2].item() == pytest.approx(math.sin(3 / 10.0), abs=FLOAT64_TOLERANCE)
    assert not torch.allclose(default[:, 2], small_base[:, 2])


@pytest.mark.parametrize("d_model", [1, 3, 17])
def test_sinusoidal_rejects_odd_d_model(d_model):
    with pytest.raises(ValueError, match=f"d_model={d_model} is odd"):
        sinusoidal_positional_encoding(4, d_model)


@pytest.mark.parametrize(("max_len", "d_model"), [(0, 4), (-1, 4), (4, 0), (4.0, 4), (4, None)])
def test_sinusoidal_rejects_sizes(max_len, d_model):
    with pytest.raises(ValueError, match="is invalid"):
        sinusoidal_positional_encoding(max_len, d_model)


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.bool, torch.complex64, "float32"])
def test_sinusoidal_rejects_non_float_dtype(dtype):
    with pytest.raises(ValueError, match=f"dtype={dtype!r} is invalid"):
        sinusoidal_positional_encoding(10, 8, dtype=dtype)


@pytest.mark.parametrize("dtype", [torch.int64, torch.bool])
def test_inverse_frequencies_rejects_non_float_dtype(dtype):
    with pytest.raises(ValueError, match=f"dtype={dtype!r} is invalid"):
        inverse_frequencies(8, dtype=dtype)


def test_sinusoidal_accepts_float_dtypes():
    for dtype in (torch.float16, torch.bfloat16, torch.float32, torch.float64):
        assert sinusoidal_positional_encoding(3, 4, dtype=dtype).dtype == dtype


def test_sinusoidal_dot_product_closed_form():
    max_len, d_model = 30, 12
    table = sinusoidal_positional_encoding(max_len, d_model, dtype=torch.float64)
    omega = inverse_frequencies(d_model)

    gram = table @ table.T
    offsets = torch.arange(max_len, dtype=torch.float64)[:, None] - torch.arange(max_len, dtype=torch.float64)[None, :]
    expected = torch.cos(offsets[..., None] * omega).sum(-1)
    assert torch.allclose(gram, expected, rtol=0, atol=FLOAT64_TOLERANCE)


@settings(max_examples=40, deadline=None)
@given(max_len=st.integers(1, 60), half_d_model=st.integers(1, 32), base=st.floats(2.0, 1e5))
def test_sinusoidal_dot_product_relative(max_len, half_d_model, base):
    table = sinusoidal_positional_encoding(max_len, 2 * half_d_model, base=base, dtype=torch.float64)

    assert toeplitz_error(table @ table.T) < 1e-10


def test_sinusoidal_dot_product_odd_width_not_relative():
    # What an odd d_model would give: the even table cut to 2k + 1 columns.
    narrow = sinusoidal_positional_encoding(16, 2, dtype=torch.float64)[:, :1]
    wide = sinusoidal_positional_encoding(16, 8, dtype=torch.float64)[:, :7]

    assert toeplitz_error(narrow @ narrow.T) > 0.5
    assert toeplitz_error(wide @ wide.T) > 1e-6  # small, because the lone sin has the lowest frequency


def test_rotary_position_zero_is_identity():
    x = torch.randn(2, 3, 1, 8)

    assert torch.equal(apply_rotary_embedding(x), x)


def test_rotary_matches_complex_rotation():
    x = torch.randn(2, 3, 5, 8, dtype=torch.float64)
    positions = torch.tensor([0, 3, 1, 7, 11])
    rotated = apply_rotary_embedding(x, positions)

    pairs = torch.complex(x[..., 0::2], x[..., 1::2])  # (B, nh, T, hs/2)
    angles = positions.double()[:, None] * inverse_frequencies(8)[None, :]
    expected = pairs * torch.polar(torch.ones_like(angles), angles)
    assert torch.allclose(rotated[..., 0::2], expected.real, rtol=0, atol=FLOAT64_TOLERANCE)
    assert torch.allclose(rotated[..., 1::2], expected.imag, rtol=0, atol=FLOAT64_TOLERANCE)


def test_rotary_keeps_norm_shape_dtype():
    x = torch.randn(4, 2, 9, 6)
    rotated = apply_rotary_embedding(x)

    assert rotated.shape == x.shape
    assert rotated.dtype == torch.float32
    assert torch.allclose(rotated.norm(dim=-1), x.norm(dim=-1), rtol=1e-5, atol=1e-6)


def test_rotary_leading_dims_independent():
    x = torch.randn(3, 2, 5, 4, dtype=torch.float64)
    rotated = apply_rotary_embedding(x)

    for b in range(3):
        for h in range(2):
            assert torch.equal(rotated[b, h], apply_rotary_embedding(x[b, h]))


@settings(max_examples=60, deadline=None)
@given(
    m=st.integers(0, 500),
    n=st.integers(0, 500),
    shift=st.integers(-500, 500),
    half_head_size=st.integers(1, 16),
    seed=st.integers(0, 2**16),
)
def test_rotary_dot_product_relative(m, n, shift, half_head_size, seed):
    generator = torch.Generator().manual_seed(seed)
    head_size = 2 * half_head_size
    q = torch.randn(1, head_size, dtype=torch.float64, generator=generator)
    k = torch.randn(1, head_size, dtype=torch.float64, generator=generator)

    def rotated_dot(q_position, k_position):
        q_rotated = apply_rotary_embedding(q, torch.tensor([q_position]))
        k_rotated = apply_rotary_embedding(k, torch.tensor([k_position]))
        return (q_rotated * k_rotated).sum().item()

    scale = q.norm().item() * k.norm().item()
    assert rotated_dot(m, n) == pytest.approx(rotated_dot(m + shift, n + shift), abs=1e-9 * scale)


def test_rotary_gram_is_toeplitz():
    q = torch.randn(1, 16, dtype=torch.float64).expand(40, 16)
    k = torch.randn(1, 16, dtype=torch.float64).expand(40, 16)
    scores = apply_rotary_embedding(q) @ apply_rotary_embedding(k).T

    assert toeplitz_error(scores) < FLOAT64_TOLERANCE * 100
    assert toeplitz_error(q @ k.T) == 0.0
    assert scores.std().item() > 0.1  # the rotation does change the scores


def test_rotary_rejects_odd_head_size():
    with pytest.raises(ValueError, match="last dimension 5"):
        apply_rotary_embedding(torch.randn(2, 3, 5))


def test_rotary_rejects_one_dim_input():
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        apply_rotary_embedding(torch.randn(4))


def test_rotary_rejects_integer_input():
    with pytest.raises(ValueError, match="floating-point"):
        apply_rotary_embedding(torch.ones(3, 4, dtype=torch.int64))


@pytest.mark.parametrize("positions", [torch.arange(4), torch.zeros(3, 1), [0, 1, 2]])
def test_rotary_rejects_positions(positions):
    with pytest.raises(ValueError, match="positions"):
        apply_rotary_embedding(torch.randn(2, 3, 4), positions)


def test_toeplitz_error_values():
    toeplitz = torch.tensor([[1.0, 2.0, 3.0], [4.0, 1.0, 2.0], [5.0, 4.0, 1.0]])
    broken = toeplitz.clone()
    broken[2, 2] = 1.5

    assert toeplitz_error(toeplitz) == 0.0
    assert toeplitz_error(broken) == pytest.approx(0.5)
    assert toeplitz_error(torch.tensor([[7.0]])) == 0.0


@pytest.mark.parametrize("matrix", [torch.zeros(2, 3), torch.zeros(4), torch.zeros(2, 2, dtype=torch.int64)])
def test_toeplitz_error_rejects_input(matrix):
    with pytest.raises(ValueError, match="matrix has"):
        toeplitz_error(matrix)
