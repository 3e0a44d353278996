"""Positional encodings: the sinusoidal table of Vaswani et al. (2017) and rotary embeddings (Su et al., 2021).

Both use the same frequencies, ω_k = base^(-2k/d) for k = 0 .. d/2 - 1, and both
make a dot product depend on positions only through their difference:

- sinusoidal: PE[i]·PE[j] = Σ_k cos((i - j)·ω_k), because the table stores
  (sin(p·ω_k), cos(p·ω_k)) in dimensions (2k, 2k + 1);
- rotary: rotating the pair (x[2k], x[2k + 1]) by the angle p·ω_k gives
  (R_m q)·(R_n k) = q·(R_{n-m} k).

Both need d even, so that every sin has its cos partner.
"""

from __future__ import annotations

import torch

DEFAULT_BASE = 10000.0


def _check_positive_int(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name}={value!r} is invalid; expected a positive int")


def _check_base(base: float) -> None:
    if not base > 1.0:
        raise ValueError(f"base={base!r} is invalid; expected a float > 1 (the usual value is 10000)")


def _check_floating_dtype(dtype: torch.dtype) -> None:
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise ValueError(
            f"dtype={dtype!r} is invalid; expected a floating-point dtype such as torch.float32, "
            "because sin and cos values lie in [-1, 1] and an integer cast truncates all but ±1 to 0"
        )


def inverse_frequencies(dim: int, base: float = DEFAULT_BASE, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Return ω_k = base^(-2k/dim) for k = 0 .. dim/2 - 1, shape (dim/2,), in radians per position.

    ``dim`` must be even: each frequency drives one (sin, cos) pair of dimensions.
    ``dtype`` must be a floating-point dtype; any other raises ValueError.
    """
    _check_positive_int("dim", dim)
    if dim % 2 != 0:
        raise ValueError(f"dim={dim} is odd; expected an even size, because each frequency fills a (sin, cos) pair")
    _check_base(base)
    _check_floating_dtype(dtype)

    exponents = torch.arange(0, dim, 2, dtype=torch.float64) / dim  # (dim/2,)
    return (base**-exponents).to(dtype)


def sinusoidal_positional_encoding(
    max_len: int,
    d_model: int,
    base: float = DEFAULT_BASE,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Build the sinusoidal positional-encoding table of Vaswani et al. (2017), shape (max_len, d_model).

    PE[p, 2k] = sin(p·ω_k) and PE[p, 2k + 1] = cos(p·ω_k), with ω_k = base^(-2k/d_model)
    and positions p = 0 .. max_len - 1. Add ``PE[:T]`` to token embeddings of shape (B, T, d_model).

    An odd ``d_model`` raises ValueError: the last even dimension would hold a sin
    without its cos, and PE[i]·PE[j] would then no longer depend on i - j only.
    The angles are computed in float64 and the table is cast to ``dtype`` at the end,
    which must be a floating-point dtype: an integer table would be almost all zeros.
    """
    _check_positive_int("max_len", max_len)
    _check_positive_int("d_model", d_model)
    _check_floating_dtype(dtype)
    if d_model % 2 != 0:
        raise ValueError(
            f"d_model={d_model} is odd; expected an even size, because each frequency fills a (sin, cos) pair. "
            "Use d_model + 1 and drop the last column if you need an odd width."
        )

    positions = torch.arange(max_len, dtype=torch.float64)  # (max_len,)
    angles = positions[:, None] * inverse_frequencies(d_model, base)[None, :]  # (max_len, d_model/2)

    table = torch.empty(max_len, d_model, dtype=torch.float64)
    table[:, 0::2] = torch.sin(angles)
    table[:, 1::2] = torch.cos(angles)
    return table.to(dtype)


def apply_rotary_embedding(
    x: torch.Tensor,
    positions: torch.Tensor | None = None,
    base: float = DEFAULT_BASE,
) -> torch.Tensor:
    """Rotate queries or keys by their positions (rotary position embedding, Su et al., 2021).

    ``x`` has shape (..., T, hs) with hs even, for example (B, nh, T, hs). Each pair
    (x[..., 2k], x[..., 2k + 1]) at position p is rotated by the angle p·ω_k with
    ω_k = base^(-2k/hs), the interleaved layout of the RoFormer paper. ``positions``
    is a 1-D tensor of length T (integer or float); None means 0 .. T - 1.
    Returns a new tensor with the shape and dtype of ``x``. The rotation keeps
    norms, and (R_m q)·(R_n k) depends on m and n only through n - m.
    """
    if x.dim() < 2:
        raise ValueError(f"x has shape {tuple(x.shape)}; expected at least 2 dimensions (..., T, hs)")
    if not x.is_floating_point():
        raise ValueError(f"x has dtype {x.dtype}; expected a floating-point tensor")
    seq_len, head_size = x.shape[-2], x.shape[-1]
    if head_size % 2 != 0:
        raise ValueError(
            f"x has last dimension {head_size}; expected an even head size, because rotations act on pairs"
        )
    if positions is None:
        positions = torch.arange(seq_len, device=x.device)
    if not isinstance(positions, torch.Tensor):
        raise ValueError(f"positions={positions!r} is invalid; expected a 1-D tensor of length {seq_len} or None")
    if positions.shape != (seq_len,):
        raise ValueError(
            f"positions has shape {tuple(positions.shape)}; expected ({seq_len},), one position per row of x"
        )

    omega = inverse_frequencies(head_size, base).to(x.device)  # (hs/2,)
    angles = positions.to(torch.float64)[:, None] * omega[None, :]  # (T, hs/2)
    cos = torch.cos(angles).to(x.dtype)
    sin = torch.sin(angles).to(x.dtype)

    x_even = x[..., 0::2]  # (..., T, hs/2)
    x_odd = x[..., 1::2]
    rotated_even = x_even * cos - x_odd * sin
    rotated_odd = x_even * sin + x_odd * cos
    return torch.stack((rotated_even, rotated_odd), dim=-1).flatten(-2)  # (..., T, hs)


def toeplitz_error(matrix: torch.Tensor) -> float:
    """Return how far a square matrix is from Toeplitz: the largest spread (max - min) along any diagonal.

    The result is 0 exactly when every entry M[i, j] depends on i - j only, so it
    measures the relative-position property of a Gram matrix such as PE @ PE.T.
    ``matrix`` has shape (n, n), any floating dtype; the result is in its units.
    """
    if matrix.dim() != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"matrix has shape {tuple(matrix.shape)}; expected a square (n, n) matrix")
    if not matrix.is_floating_point():
        raise ValueError(f"matrix has dtype {matrix.dtype}; expected a floating-point tensor")

    n = matrix.shape[0]
    spread = 0.0
    for offset in range(-(n - 1), n):
        diagonal = torch.diagonal(matrix, offset=offset)
        spread = max(spread, (diagonal.max() - diagonal.min()).item())
    return spread
