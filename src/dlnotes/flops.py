"""Analytic FLOP counts for matmuls and transformer layers, and a measured count to check them.

Convention: one multiply-add is 2 FLOPs, so an (m, k) @ (k, n) matmul costs
2·m·k·n. The transformer formulas count matmuls only. Bias adds, softmax,
layer norm and activations are left out; they are O(B·T·d) and, like
``torch.utils.flop_counter.FlopCounterMode``, these formulas ignore them.
"""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch.utils.flop_counter import FlopCounterMode


def _check_sizes(**sizes: int) -> None:
    for name, value in sizes.items():
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError(f"{name}={value!r} is invalid; expected a positive int")


def matmul_flops(m: int, k: int, n: int) -> int:
    """Return the FLOPs of an (m, k) @ (k, n) matmul: 2·m·k·n."""
    _check_sizes(m=m, k=k, n=n)
    return 2 * m * k * n


def elementwise_flops(numel: int, flops_per_element: int = 1) -> int:
    """Return the FLOPs of an element-wise op over ``numel`` elements, such as ``a * 1.2``."""
    _check_sizes(numel=numel, flops_per_element=flops_per_element)
    return numel * flops_per_element


def attention_flops(batch: int, q_len: int, kv_len: int, d_model: int) -> int:
    """Return the FLOPs of one multi-head attention block, matmuls only.

    Queries come from ``q_len`` tokens, keys and values from ``kv_len`` tokens
    (equal for self-attention). Projections: Q and output 2·2·B·T·d², K and V
    2·2·B·S·d². Scores Q·Kᵀ and weights·V: 2·2·B·T·S·d, whatever the head
    count. Self-attention (S = T) gives 8·B·T·d² + 4·B·T²·d.
    """
    _check_sizes(batch=batch, q_len=q_len, kv_len=kv_len, d_model=d_model)
    projections = 4 * batch * q_len * d_model**2 + 4 * batch * kv_len * d_model**2
    scores_and_values = 4 * batch * q_len * kv_len * d_model
    return projections + scores_and_values


def feed_forward_flops(batch: int, seq_len: int, d_model: int, d_ff: int) -> int:
    """Return the FLOPs of the two-layer feed-forward block: 4·B·T·d·d_ff (16·B·T·d² when d_ff = 4d)."""
    _check_sizes(batch=batch, seq_len=seq_len, d_model=d_model, d_ff=d_ff)
    return 4 * batch * seq_len * d_model * d_ff


def encoder_layer_flops(batch: int, seq_len: int, d_model: int, d_ff: int) -> int:
    """Return the forward FLOPs of one encoder layer: self-attention plus feed-forward."""
    return attention_flops(batch, seq_len, seq_len, d_model) + feed_forward_flops(batch, seq_len, d_model, d_ff)


def decoder_layer_flops(batch: int, tgt_len: int, memory_len: int, d_model: int, d_ff: int) -> int:
    """Return the forward FLOPs of one decoder layer: self-attention, cross-attention and feed-forward."""
    self_attention = attention_flops(batch, tgt_len, tgt_len, d_model)
    cross_attention = attention_flops(batch, tgt_len, memory_len, d_model)
    return self_attention + cross_attention + feed_forward_flops(batch, tgt_len, d_model, d_ff)


def training_step_flops(forward_flops: int) -> int:
    """Return the usual estimate for forward plus backward: 3 × forward.

    The backward pass computes two matmuls per forward matmul (gradients with
    respect to the input and to the weight), so it costs about twice the
    forward. This is an estimate: layers without weights, or inputs that need
    no gradient, change it.
    """
    _check_sizes(forward_flops=forward_flops)
    return 3 * forward_flops


def count_flops(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> int:
    """Run ``fn(*args, **kwargs)`` under ``FlopCounterMode`` and return the FLOPs it counted.

    FlopCounterMode counts matmul-like operators (mm, bmm, addmm, convolutions,
    scaled dot-product attention) and nothing element-wise.
    """
    counter = FlopCounterMode(display=False)
    with counter:
        fn(*args, **kwargs)
    return counter.get_total_flops()


__all__ = [
    "attention_flops",
    "count_flops",
    "decoder_layer_flops",
    "elementwise_flops",
    "encoder_layer_flops",
    "feed_forward_flops",
    "matmul_flops",
    "training_step_flops",
]
