"""Multi-head scaled dot-product attention from the weights of ``nn.MultiheadAttention``.

The operation of Vaswani et al. (2017), "Attention Is All You Need":

    Attention(Q, K, V) = softmax(Q·Kᵀ / √d_head + mask) · V

run once per head on a d_model / num_heads slice of the projected features,
with the heads concatenated and projected back to d_model.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from .masks import additive_attention_mask


def _check_inputs(query: Tensor, key: Tensor, value: Tensor, num_heads: int, in_proj_weight: Tensor) -> None:
    d_model = in_proj_weight.shape[1]
    if in_proj_weight.shape != (3 * d_model, d_model):
        raise ValueError(
            f"in_proj_weight has shape {tuple(in_proj_weight.shape)}; expected (3·d_model, d_model), "
            "the packed Q, K and V projections of nn.MultiheadAttention"
        )
    if isinstance(num_heads, bool) or not isinstance(num_heads, int) or num_heads <= 0 or d_model % num_heads:
        raise ValueError(f"num_heads={num_heads!r} is invalid; expected a positive int that divides d_model={d_model}")
    for name, tensor in (("query", query), ("key", key), ("value", value)):
        if tensor.dim() != 3 or tensor.shape[-1] != d_model:
            raise ValueError(f"{name} has shape {tuple(tensor.shape)}; expected (B, L, d_model) with d_model={d_model}")
        if tensor.dtype != in_proj_weight.dtype:
            raise ValueError(
                f"{name} has dtype {tensor.dtype}; expected {in_proj_weight.dtype}, the dtype of the weights"
            )
    if key.shape != value.shape:
        raise ValueError(f"key has shape {tuple(key.shape)} and value {tuple(value.shape)}; expected equal shapes")
    if key.shape[0] != query.shape[0]:
        raise ValueError(
            f"query has batch size {query.shape[0]} and key {key.shape[0]}; expected the same batch size"
        )


def multi_head_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    num_heads: int,
    in_proj_weight: Tensor,
    in_proj_bias: Tensor | None,
    out_proj_weight: Tensor,
    out_proj_bias: Tensor | None,
    attn_mask: Tensor | None = None,
    key_padding_mask: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """Compute multi-head attention, batch first, with the parameters of ``nn.MultiheadAttention``.

    Args:
        query: (B, T, d_model), the sequence the queries are computed from.
        key, value: (B, S, d_model), the sequence the keys and values are computed
            from: the same tensor as ``query`` in self-attention, the encoder
            memory in cross-attention.
        num_heads: nh, which must divide d_model; each head works on d_model / nh features.
        in_proj_weight: (3·d_model, d_model), the Q, K and V projections stacked
            (``mha.in_proj_weight``); in_proj_bias: (3·d_model,) or None.
        out_proj_weight: (d_model, d_model); out_proj_bias: (d_model,) or None.
        attn_mask: bool (True = masked) or float (added), shape (T, S) or (B·nh, T, S).
        key_padding_mask: bool (True = padding) or float (added), shape (B, S).

    Returns:
        output: (B, T, d_model), in the dtype of ``query``.
        weights: (B, nh, T, S), the softmax weights of every head; each row sums to 1,
        except a query row that every mask hides. Such a row has no key to attend
        to, so its weights are all 0 and its output is ``out_proj_bias`` (or 0).
        ``F.scaled_dot_product_attention``, and so the module's slow path, give
        the same output there. ``nn.MultiheadAttention(need_weights=True)`` and
        the fused eval fast path return NaN for that row instead (torch 2.13).
    """
    _check_inputs(query, key, value, num_heads, in_proj_weight)
    batch, q_len, d_model = query.shape
    kv_len = key.shape[1]
    head_dim = d_model // num_heads
    mask = additive_attention_mask(
        attn_mask,
        key_padding_mask,
        batch=batch,
        num_heads=num_heads,
        q_len=q_len,
        kv_len=kv_len,
        dtype=query.dtype,
    )

    if query is key and key is value:
        # Self-attention: one matmul projects Q, K and V together.
        q, k, v = F.linear(query, in_proj_weight, in_proj_bias).chunk(3, dim=-1)  # (B, T, d) each
    else:
        w_q, w_k, w_v = in_proj_weight.chunk(3)
        b_q, b_k, b_v = in_proj_bias.chunk(3) if in_proj_bias is not None else (None, None, None)
        q = F.linear(query, w_q, b_q)  # (B, T, d)
        k = F.linear(key, w_k, b_k)  # (B, S, d)
        v = F.linear(value, w_v, b_v)  # (B, S, d)

    q = q.view(batch, q_len, num_heads, head_dim).transpose(1, 2)  # (B, nh, T, hs)
    k = k.view(batch, kv_len, num_heads, head_dim).transpose(1, 2)  # (B, nh, S, hs)
    v = v.view(batch, kv_len, num_heads, head_dim).transpose(1, 2)  # (B, nh, S, hs)

    q = q * (1.0 / math.sqrt(head_dim))  # scaling Q costs T·d multiplies, scaling the scores T·S·nh
    scores = torch.matmul(q, k.transpose(-2, -1))  # (B, nh, T, S)
    if mask is not None:
        scores = scores + mask
    weights = torch.softmax(scores, dim=-1)  # (B, nh, T, S)
    if mask is not None:
        # A row of -inf scores gives 0/0 = NaN in the softmax; set such rows to 0 instead.
        fully_masked = (scores == float("-inf")).all(dim=-1, keepdim=True)  # (B, nh, T, 1)
        weights = weights.masked_fill(fully_masked, 0.0)

    heads = torch.matmul(weights, v)  # (B, nh, T, hs)
    heads = heads.transpose(1, 2).reshape(batch, q_len, d_model)  # (B, T, d), heads side by side
    output = F.linear(heads, out_proj_weight, out_proj_bias)  # (B, T, d)
    return output, weights


__all__ = ["multi_head_attention"]
