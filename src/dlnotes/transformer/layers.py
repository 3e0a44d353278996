"""Forward passes of ``nn.TransformerEncoderLayer`` and ``nn.TransformerDecoderLayer``, rebuilt.

Each function reads the parameters of a ``torch.nn`` module and recomputes its
output with ``F.linear``, ``torch.matmul``, softmax, ``F.layer_norm`` and the
layer's activation, never calling the module itself. Dropout is left out, so
the result equals the module in eval mode, or in train mode with dropout 0.

Inputs follow the module's ``batch_first``: (B, T, d) when True, (T, B, d)
when False, and (T, d) for one unbatched sequence. Masks follow ``torch.nn``:
see :mod:`dlnotes.transformer.masks`.

Known differences from the module's fused eval path (eval mode under
``torch.no_grad()``, torch 2.13, CPU), where these functions return what the
module's train mode and slow path return:

- ``nn.TransformerEncoder`` given a ``src_key_padding_mask`` may pack the input
  into a nested tensor. Its output is then 0 at the padded positions, before
  the final norm. All positions that are not padding agree.
- The fused kernel reads a float mask as bool: any nonzero entry hides the key
  (reported upstream as pytorch/pytorch#118628). Float masks made of 0 and -inf
  agree on every path; other float masks agree only with the slow path.
- A query row that every mask hides comes out NaN on the fused path. Here its
  attention weights are 0 (see :func:`multi_head_attention`).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .attention import multi_head_attention


def _layer_norm(norm: nn.LayerNorm, x: Tensor) -> Tensor:
    return F.layer_norm(x, norm.normalized_shape, norm.weight, norm.bias, norm.eps)


def _attention_block(
    attention: nn.MultiheadAttention,
    x: Tensor,
    memory: Tensor,
    attn_mask: Tensor | None,
    key_padding_mask: Tensor | None,
) -> Tensor:
    output, _ = multi_head_attention(
        x,
        memory,
        memory,
        attention.num_heads,
        attention.in_proj_weight,
        attention.in_proj_bias,
        attention.out_proj.weight,
        attention.out_proj.bias,
        attn_mask=attn_mask,
        key_padding_mask=key_padding_mask,
    )
    return output


def _feed_forward_block(layer: nn.TransformerEncoderLayer | nn.TransformerDecoderLayer, x: Tensor) -> Tensor:
    hidden = layer.activation(F.linear(x, layer.linear1.weight, layer.linear1.bias))  # (B, T, d_ff)
    return F.linear(hidden, layer.linear2.weight, layer.linear2.bias)  # (B, T, d)


def _check_sequence(name: str, x: Tensor, d_model: int, dtype: torch.dtype) -> None:
    if not isinstance(x, Tensor):
        raise ValueError(f"{name} is a {type(x).__name__}; expected a torch.Tensor")
    if x.dim() not in (2, 3) or x.shape[-1] != d_model:
        raise ValueError(
            f"{name} has shape {tuple(x.shape)}; expected (B, T, {d_model}) with batch_first=True, "
            f"(T, B, {d_model}) with batch_first=False, or (T, {d_model}) unbatched"
        )
    if x.dtype != dtype:
        raise ValueError(f"{name} has dtype {x.dtype}; expected {dtype}, the dtype of the layer's weights")


def _to_batch_first(x: Tensor, batch_first: bool) -> Tensor:
    if x.dim() == 2:
        return x.unsqueeze(0)  # (1, T, d)
    return x if batch_first else x.transpose(0, 1)  # (B, T, d)


def _from_batch_first(x: Tensor, like: Tensor, batch_first: bool) -> Tensor:
    if like.dim() == 2:
        return x.squeeze(0)  # (T, d)
    return x if batch_first else x.transpose(0, 1)


def _unbatched_padding(mask: Tensor | None, x: Tensor) -> Tensor | None:
    # Unbatched inputs take a (S,) key padding mask, as in nn.MultiheadAttention.
    if mask is None or x.dim() == 3:
        return mask
    if mask.dim() != 1:
        raise ValueError(f"key padding mask has shape {tuple(mask.shape)}; expected (S,) for an unbatched input")
    return mask.unsqueeze(0)


def encoder_layer_forward(
    layer: nn.TransformerEncoderLayer,
    src: Tensor,
    src_mask: Tensor | None = None,
    src_key_padding_mask: Tensor | None = None,
) -> Tensor:
    """Recompute ``layer(src, src_mask=..., src_key_padding_mask=...)`` with dropout inactive.

    Post-norm (``norm_first=False``, as in Vaswani et al. 2017):
        x = LN1(x + SelfAttention(x)), then x = LN2(x + FFN(x)).
    Pre-norm (``norm_first=True``):
        x = x + SelfAttention(LN1(x)), then x = x + FFN(LN2(x)).

    Args:
        layer: the module whose parameters are used; it is not called.
        src: (B, T, d_model) if ``layer.self_attn.batch_first`` else (T, B, d_model); or (T, d_model).
        src_mask: bool (True = masked) or float (added), (T, T) or (B·nh, T, T).
        src_key_padding_mask: bool (True = padding) or float (added), (B, T); (T,) when unbatched.

    Returns:
        A tensor of the shape and dtype of ``src``.
    """
    if not isinstance(layer, nn.TransformerEncoderLayer):
        raise ValueError(f"layer is a {type(layer).__name__}; expected nn.TransformerEncoderLayer")
    attention = layer.self_attn
    _check_sequence("src", src, attention.embed_dim, attention.in_proj_weight.dtype)
    padding = _unbatched_padding(src_key_padding_mask, src)

    x = _to_batch_first(src, attention.batch_first)  # (B, T, d)

    if layer.norm_first:
        h = _layer_norm(layer.norm1, x)
        x = x + _attention_block(attention, h, h, src_mask, padding)
        x = x + _feed_forward_block(layer, _layer_norm(layer.norm2, x))
    else:
        x = _layer_norm(layer.norm1, x + _attention_block(attention, x, x, src_mask, padding))
        x = _layer_norm(layer.norm2, x + _feed_forward_block(layer, x))

    return _from_batch_first(x, src, attention.batch_first)


def decoder_layer_forward(
    layer: nn.TransformerDecoderLayer,
    tgt: Tensor,
    memory: Tensor,
    tgt_mask: Tensor | None = None,
    memory_mask: Tensor | None = None,
    tgt_key_padding_mask: Tensor | None = None,
    memory_key_padding_mask: Tensor | None = None,
) -> Tensor:
    """Recompute ``layer(tgt, memory, ...)`` with dropout inactive.

    Three sublayers, each with a residual connection and a layer norm (after the
    sum in post-norm, before the sublayer in pre-norm):
    1. self-attention over the target, usually with the causal ``tgt_mask``;
    2. cross-attention: queries from the target, keys and values from ``memory``;
    3. the feed-forward network.

    Args:
        layer: the module whose parameters are used; it is not called.
        tgt: (B, T, d_model) if batch first else (T, B, d_model); or (T, d_model).
        memory: (B, S, d_model) if batch first else (S, B, d_model); or (S, d_model). S may differ from T.
        tgt_mask: (T, T) or (B·nh, T, T). memory_mask: (T, S) or (B·nh, T, S).
        tgt_key_padding_mask: (B, T). memory_key_padding_mask: (B, S). (T,) and (S,) when unbatched.
        Every mask is bool (True = masked) or float (added to the scores).

    Returns:
        A tensor of the shape and dtype of ``tgt``.
    """
    if not isinstance(layer, nn.TransformerDecoderLayer):
        raise ValueError(f"layer is a {type(layer).__name__}; expected nn.TransformerDecoderLayer")
    self_attention, cross_attention = layer.self_attn, layer.multihead_attn
    d_model, dtype = self_attention.embed_dim, self_attention.in_proj_weight.dtype
    _check_sequence("tgt", tgt, d_model, dtype)
    _check_sequence("memory", memory, d_model, dtype)
    if memory.dim() != tgt.dim():
        raise ValueError(
            f"tgt has {tgt.dim()} dims and memory {memory.dim()}; expected both batched (3) or both unbatched (2)"
        )
    tgt_padding = _unbatched_padding(tgt_key_padding_mask, tgt)
    memory_padding = _unbatched_padding(memory_key_padding_mask, memory)

    x = _to_batch_first(tgt, self_attention.batch_first)  # (B, T, d)
    m = _to_batch_first(memory, self_attention.batch_first)  # (B, S, d)
    if m.shape[0] != x.shape[0]:
        raise ValueError(f"tgt has batch size {x.shape[0]} and memory {m.shape[0]}; expected the same batch size")

    if layer.norm_first:
        h = _layer_norm(layer.norm1, x)
        x = x + _attention_block(self_attention, h, h, tgt_mask, tgt_padding)
        x = x + _attention_block(cross_attention, _layer_norm(layer.norm2, x), m, memory_mask, memory_padding)
        x = x + _feed_forward_block(layer, _layer_norm(layer.norm3, x))
    else:
        x = _layer_norm(layer.norm1, x + _attention_block(self_attention, x, x, tgt_mask, tgt_padding))
        x = _layer_norm(layer.norm2, x + _attention_block(cross_attention, x, m, memory_mask, memory_padding))
        x = _layer_norm(layer.norm3, x + _feed_forward_block(layer, x))

    return _from_batch_first(x, tgt, self_attention.batch_first)


def encoder_forward(
    encoder: nn.TransformerEncoder,
    src: Tensor,
    mask: Tensor | None = None,
    src_key_padding_mask: Tensor | None = None,
) -> Tensor:
    """Run ``src`` through every layer of ``encoder`` with :func:`encoder_layer_forward`, then its final norm.

    Shapes and masks as in :func:`encoder_layer_forward`. In eval mode under no
    grad, the module may pack padded inputs into a nested tensor and then returns
    0 at the padded positions, before the final norm. This function returns the
    values of the module's slow path there (see the module docstring).
    """
    if not isinstance(encoder, nn.TransformerEncoder):
        raise ValueError(f"encoder is a {type(encoder).__name__}; expected nn.TransformerEncoder")

    x = src
    for layer in encoder.layers:
        x = encoder_layer_forward(layer, x, src_mask=mask, src_key_padding_mask=src_key_padding_mask)

    if encoder.norm is not None:
        x = _layer_norm(encoder.norm, x)
    return x


def decoder_forward(
    decoder: nn.TransformerDecoder,
    tgt: Tensor,
    memory: Tensor,
    tgt_mask: Tensor | None = None,
    memory_mask: Tensor | None = None,
    tgt_key_padding_mask: Tensor | None = None,
    memory_key_padding_mask: Tensor | None = None,
) -> Tensor:
    """Run ``tgt`` through every layer of ``decoder`` with :func:`decoder_layer_forward`, then its final norm.

    Every layer attends to the same ``memory``. Shapes and masks as in :func:`decoder_layer_forward`.
    """
    if not isinstance(decoder, nn.TransformerDecoder):
        raise ValueError(f"decoder is a {type(decoder).__name__}; expected nn.TransformerDecoder")

    x = tgt
    for layer in decoder.layers:
        x = decoder_layer_forward(
            layer,
            x,
            memory,
            tgt_mask=tgt_mask,
            memory_mask=memory_mask,
            tgt_key_padding_mask=tgt_key_padding_mask,
            memory_key_padding_mask=memory_key_padding_mask,
        )

    if decoder.norm is not None:
        x = _layer_norm(decoder.norm, x)
    return x


def perturb_parameters_(module: nn.Module, scale: float, generator: torch.Generator | None = None) -> nn.Module:
    """Add ``scale`` times standard normal noise, in place, to every bias and layer-norm parameter of ``module``.

    The perturbed parameters are every parameter of each ``nn.LayerNorm``
    (weight γ and bias β) and every parameter whose own name ends in "bias",
    such as ``in_proj_bias`` and ``linear1.bias``. Their defaults (γ = 1 and
    β = 0, biases often 0) let a wrong formula agree with the module by luck.
    Weight matrices are left alone. The noise is drawn with ``generator``
    (the global generator when None, else one on the parameters' device) in
    each parameter's dtype and device.

    ``scale`` is the noise's standard deviation, in the parameters' units; 0
    leaves them unchanged. Returns ``module``, so calls can be chained.
    """
    if not isinstance(module, nn.Module):
        raise ValueError(f"module is a {type(module).__name__}; expected a torch.nn.Module")
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not math.isfinite(scale) or scale < 0:
        raise ValueError(f"scale={scale!r} is invalid; expected a finite float >= 0, such as 0.2")
    if generator is not None and not isinstance(generator, torch.Generator):
        raise ValueError(f"generator is a {type(generator).__name__}; expected a torch.Generator or None")

    chosen = {}  # keyed by id, so a parameter shared by two submodules is perturbed once
    for submodule in module.modules():
        for name, parameter in submodule.named_parameters(recurse=False):
            if isinstance(submodule, nn.LayerNorm) or name.endswith("bias"):
                chosen[id(parameter)] = parameter

    with torch.no_grad():
        for parameter in chosen.values():
            noise = torch.randn(parameter.shape, generator=generator, dtype=parameter.dtype, device=parameter.device)
            parameter.add_(scale * noise)
    return module


__all__ = ["decoder_forward", "decoder_layer_forward", "encoder_forward", "encoder_layer_forward", "perturb_parameters_"]
