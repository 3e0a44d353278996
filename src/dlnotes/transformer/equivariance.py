"""Permutations of a sequence and checks of how a function responds to them.

Convention: a permutation is a 1-D integer tensor ``perm`` containing each of
0 .. n-1 once, and applying it to a sequence x of length n gives (Px)[i] = x[perm[i]],
that is ``x[perm]``. Its matrix P has P[i, perm[i]] = 1, so P @ x == x[perm].

A function f on sequences is
- permutation-equivariant when f(Px) = P f(x): the outputs move with the inputs;
- permutation-invariant when f(Px) = f(x): the output does not change at all.
"""

from __future__ import annotations

from typing import Any, Callable

import torch
# NOTE: TorchDispatchMode lives in a private module, but the torch docs on extending torch use it from there.
from torch.utils._python_dispatch import TorchDispatchMode

# Default (rtol, atol) per dtype, the same as torch.testing.assert_close (checked in torch 2.13).
DEFAULT_TOLERANCES = {
    torch.float16: (1e-3, 1e-5),
    torch.bfloat16: (1.6e-2, 1e-5),
    torch.float32: (1.3e-6, 1e-5),
    torch.float64: (1e-7, 1e-7),
}


def check_permutation(perm: torch.Tensor, length: int | None = None) -> None:
    """Raise ValueError unless ``perm`` is a 1-D integer tensor containing each of 0 .. n-1 once.

    When ``length`` is given, n must equal it.
    """
    if not isinstance(perm, torch.Tensor):
        raise ValueError(f"perm={perm!r} is invalid; expected a 1-D integer tensor such as torch.randperm(n)")
    if perm.dim() != 1 or perm.dtype.is_floating_point or perm.dtype.is_complex or perm.dtype == torch.bool:
        raise ValueError(
            f"perm has shape {tuple(perm.shape)} and dtype {perm.dtype}; expected a 1-D integer tensor"
        )
    n = perm.numel()
    if length is not None and n != length:
        raise ValueError(f"perm has length {n}; expected {length}, the size of the permuted dimension")
    if not torch.equal(torch.sort(perm.cpu()).values, torch.arange(n, dtype=perm.dtype)):
        raise ValueError(f"perm={perm.tolist()} is not a permutation; expected each of 0 .. {n - 1} exactly once")


def random_permutation(n: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Return a uniformly random permutation of 0 .. n-1, shape (n,), dtype int64."""
    if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
        raise ValueError(f"n={n!r} is invalid; expected a positive int")
    return torch.randperm(n, generator=generator)


def permutation_matrix(perm: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Return the (n, n) matrix P with P[i, perm[i]] = 1, so that P @ x == x[perm]."""
    check_permutation(perm)

    n = perm.numel()
    matrix = torch.zeros(n, n, dtype=dtype, device=perm.device)
    matrix[torch.arange(n, device=perm.device), perm] = 1
    return matrix


def inverse_permutation(perm: torch.Tensor) -> torch.Tensor:
    """Return the permutation that undoes ``perm``: inverse[perm[i]] = i, shape (n,), dtype of ``perm``."""
    check_permutation(perm)

    inverse = torch.empty_like(perm)
    inverse[perm] = torch.arange(perm.numel(), dtype=perm.dtype, device=perm.device)
    return inverse


def apply_permutation(x: torch.Tensor, perm: torch.Tensor, dim: int = 1) -> torch.Tensor:
    """Reorder ``x`` along ``dim`` so that out[..., i, ...] = x[..., perm[i], ...].

    The default ``dim=1`` is the sequence dimension of batch-first (B, T, d) tensors.
    Returns a new tensor with the shape of ``x``.
    """
    if not -x.dim() <= dim < x.dim():
        raise ValueError(f"dim={dim} is out of range for x with shape {tuple(x.shape)}")
    check_permutation(perm, length=x.shape[dim])

    return x.index_select(dim, perm.to(x.device))


def _tolerances(dtype: torch.dtype, rtol: float | None, atol: float | None) -> tuple[float, float]:
    default_rtol, default_atol = DEFAULT_TOLERANCES.get(dtype, (0.0, 0.0))
    return (default_rtol if rtol is None else rtol, default_atol if atol is None else atol)


def _check_same_shape(name: str, first: torch.Tensor, second: torch.Tensor) -> None:
    if first.shape != second.shape:
        raise ValueError(
            f"{name}: fn(Px) has shape {tuple(first.shape)} but fn(x) has {tuple(second.shape)}; "
            "expected fn to keep the shape for every input order"
        )


def _outputs_of_both_orders(caller: str, fn, x: torch.Tensor, perm: torch.Tensor, dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (fn(Px), fn(x)), after checking that both have the same shape."""
    permuted_output = fn(apply_permutation(x, perm, dim))
    output = fn(x)
    _check_same_shape(caller, permuted_output, output)
    return permuted_output, output


def equivariance_error(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, perm: torch.Tensor, dim: int = 1) -> float:
    """Return max |fn(Px) - P fn(x)|, the largest element-wise deviation from equivariance.

    P acts on ``dim`` of both the input and the output, so fn must keep that
    dimension's size. The result is in the units of fn's output.
    """
    permuted_output, output = _outputs_of_both_orders("equivariance_error", fn, x, perm, dim)

    return (permuted_output - apply_permutation(output, perm, dim)).abs().max().item()


def invariance_error(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, perm: torch.Tensor, dim: int = 1) -> float:
    """Return max |fn(Px) - fn(x)|, the largest element-wise change that the permutation causes."""
    permuted_output, output = _outputs_of_both_orders("invariance_error", fn, x, perm, dim)

    return (permuted_output - output).abs().max().item()


def is_permutation_equivariant(
    fn: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    perm: torch.Tensor,
    dim: int = 1,
    rtol: float | None = None,
    atol: float | None = None,
) -> bool:
    """Check fn(Px) = P fn(x) by undoing P on fn(Px) and comparing with fn(x) through torch.allclose.

    ``rtol`` and ``atol`` default to those of torch.testing.assert_close for the
    output dtype (float32: rtol 1.3e-6, atol 1e-5; float64: 1e-7 and 1e-7).
    Other dtypes default to an exact comparison.
    """
    permuted_output, output = _outputs_of_both_orders("is_permutation_equivariant", fn, x, perm, dim)

    rtol, atol = _tolerances(output.dtype, rtol, atol)
    restored = apply_permutation(permuted_output, inverse_permutation(perm), dim)
    return torch.allclose(restored, output, rtol=rtol, atol=atol)


def is_permutation_invariant(
    fn: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    perm: torch.Tensor,
    dim: int = 1,
    rtol: float | None = None,
    atol: float | None = None,
) -> bool:
    """Check fn(Px) = fn(x) through torch.allclose, with the tolerances of :func:`is_permutation_equivariant`."""
    permuted_output, output = _outputs_of_both_orders("is_permutation_invariant", fn, x, perm, dim)

    rtol, atol = _tolerances(output.dtype, rtol, atol)
    return torch.allclose(permuted_output, output, rtol=rtol, atol=atol)


class _OpRecorder(TorchDispatchMode):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001
        self.names.add(func.name())
        return func(*args, **(kwargs or {}))


def record_aten_ops(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> set[str]:
    """Call fn(*args, **kwargs) and return the names of the ATen operators it ran, such as "aten::addmm".

    Operators are recorded at the Python dispatcher (``TorchDispatchMode``), so a
    fused kernel such as "aten::_transformer_encoder_layer_fwd" shows up as one name.
    The list shows which path ``nn.TransformerEncoder`` took. The result of fn is discarded.
    """
    with _OpRecorder() as recorder:
        fn(*args, **kwargs)
    return recorder.names
