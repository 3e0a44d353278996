"""Attention masks as ``torch.nn`` reads them, turned into one additive float mask.

``torch.nn.MultiheadAttention`` accepts two kinds of mask, and each may be
bool or float:

- ``attn_mask``: shape (T, S), shared by the whole batch, or (B·nh, T, S),
  one per batch element and head (index ``b * nh + h``).
- ``key_padding_mask``: shape (B, S), one flag per key.

A bool mask means True = masked: the position gets -inf before the softmax.
A float mask is added to the scores as it is, so a float 0/1 mask adds 1 to
the scores of the positions it meant to hide and hides nothing.
"""

from __future__ import annotations

import torch
from torch import Tensor


def causal_mask(size: int, device: torch.device | str | None = None) -> Tensor:
    """Build the bool causal mask of shape (size, size): True above the diagonal (masked).

    Query i may attend to keys 0..i. ``torch.nn.Transformer.generate_square_subsequent_mask``
    builds the same mask as floats (-inf above the diagonal, 0 elsewhere).
    """
    if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
        raise ValueError(f"size={size!r} is invalid; expected a positive int")
    return torch.ones(size, size, dtype=torch.bool, device=device).triu(diagonal=1)


def _check_mask_dtype(mask: Tensor, name: str, dtype: torch.dtype) -> None:
    if mask.dtype == torch.bool or mask.dtype == dtype:
        return
    if mask.is_floating_point():
        raise ValueError(
            f"{name} has dtype {mask.dtype}; expected torch.bool or {dtype} (the dtype of the input). "
            f"Convert it with {name}.to({dtype})"
        )
    raise ValueError(
        f"{name} has dtype {mask.dtype}; expected torch.bool (True = masked) or a float additive mask "
        f"of dtype {dtype}. Convert a 0/1 integer mask with {name}.bool()"
    )


def _to_additive(mask: Tensor, dtype: torch.dtype) -> Tensor:
    if mask.dtype == torch.bool:
        return torch.zeros(mask.shape, dtype=dtype, device=mask.device).masked_fill(mask, float("-inf"))
    return mask


def additive_attention_mask(
    attn_mask: Tensor | None,
    key_padding_mask: Tensor | None,
    *,
    batch: int,
    num_heads: int,
    q_len: int,
    kv_len: int,
    dtype: torch.dtype,
) -> Tensor | None:
    """Merge ``attn_mask`` and ``key_padding_mask`` into one float mask to add to the scores.

    Args:
        attn_mask: bool or float, shape (q_len, kv_len) or (batch·num_heads, q_len, kv_len).
        key_padding_mask: bool or float, shape (batch, kv_len).
        dtype: the dtype of the scores; float masks must already have it.

    Returns:
        None when both masks are None. Otherwise a float tensor of dtype ``dtype``
        that broadcasts to (batch, num_heads, q_len, kv_len), with -inf where a
        bool mask is True.

    Raises:
        ValueError: a mask has the wrong shape, or a dtype other than bool or ``dtype``.
    """
    merged = None

    if attn_mask is not None:
        _check_mask_dtype(attn_mask, "attn_mask", dtype)
        shared_shape = (q_len, kv_len)
        per_head_shape = (batch * num_heads, q_len, kv_len)
        if tuple(attn_mask.shape) == shared_shape:
            merged = _to_additive(attn_mask, dtype).view(1, 1, q_len, kv_len)
        elif tuple(attn_mask.shape) == per_head_shape:
            merged = _to_additive(attn_mask, dtype).view(batch, num_heads, q_len, kv_len)
        else:
            raise ValueError(
                f"attn_mask has shape {tuple(attn_mask.shape)}; expected (T, S) = {shared_shape} "
                f"or (B·nh, T, S) = {per_head_shape}"
            )

    if key_padding_mask is not None:
        _check_mask_dtype(key_padding_mask, "key_padding_mask", dtype)
        expected = (batch, kv_len)
        if tuple(key_padding_mask.shape) != expected:
            raise ValueError(
                f"key_padding_mask has shape {tuple(key_padding_mask.shape)}; expected (B, S) = {expected}"
            )
        padding = _to_additive(key_padding_mask, dtype).view(batch, 1, 1, kv_len)
        merged = padding if merged is None else merged + padding

    return merged


__all__ = ["additive_attention_mask", "causal_mask"]
