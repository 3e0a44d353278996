"""Transformer blocks as the field uses them, and their parts, ready to time.

Hugging Face blocks are built from local configs (no download): the BERT-large
layer, the GPT-2-medium block and the T5-large encoder and decoder blocks. All
have d_model = 1024, 16 heads and d_ff = 4096, so their forward FLOPs come
from the same formulas in :mod:`dlnotes.flops`. Beside them: ``torch.nn``'s
``TransformerEncoderLayer`` and chapter 2's from-scratch
``encoder_layer_forward`` run on the same module's parameters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dlnotes.flops import attention_flops, decoder_layer_flops, encoder_layer_flops, feed_forward_flops, matmul_flops
from dlnotes.transformer import encoder_layer_forward

D_MODEL = 1024
N_HEADS = 16
D_FF = 4096

BLOCK_NAMES = (
    "bert-large",
    "gpt2-medium",
    "t5-large-encoder",
    "t5-large-decoder",
    "torch-encoder-layer",
    "scratch-encoder-layer",
)
PART_NAMES = ("dense", "dense+gelu", "feed-forward", "attention-unfused", "attention-sdpa")
ATTENTION_IMPLEMENTATIONS = ("sdpa", "eager")


@dataclass
class Block:
    """A module, the call that runs it on (B, T, d_model) hidden states, and its forward FLOP formula."""

    name: str
    module: nn.Module
    forward: Callable[[Tensor], Tensor]  # (B, T, d_model) -> (B, T, d_model)
    flops: Callable[[int, int], int]  # (batch, seq_len) -> forward FLOPs, matmuls only


def _encoder_flops(batch: int, seq_len: int) -> int:
    return encoder_layer_flops(batch, seq_len, D_MODEL, D_FF)


def _hugging_face_block(name: str, attention: str) -> Block:
    from transformers import BertConfig, GPT2Config, T5Config
    from transformers.models.bert.modeling_bert import BertLayer
    from transformers.models.gpt2.modeling_gpt2 import GPT2Block
    from transformers.models.t5.modeling_t5 import T5Block

    if name == "bert-large":
        config = BertConfig(
            hidden_size=D_MODEL, num_attention_heads=N_HEADS, intermediate_size=D_FF,
            hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, attn_implementation=attention,
        )
        layer = BertLayer(config)
        return Block(name, layer, layer, _encoder_flops)

    if name == "gpt2-medium":
        # The causal mask hides half the scores, but the kernels still compute all T² of them,
        # so the formula counts them all.
        config = GPT2Config(
            n_embd=D_MODEL, n_head=N_HEADS, n_inner=D_FF, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
            attn_implementation=attention,
        )
        block = GPT2Block(config, layer_idx=0)
        return Block(name, block, block, _encoder_flops)

    # T5 ships only its own (eager) attention; `attention` does not apply to it.
    is_decoder = name == "t5-large-decoder"
    config = T5Config(
        d_model=D_MODEL, d_kv=D_MODEL // N_HEADS, num_heads=N_HEADS, d_ff=D_FF, dropout_rate=0.0,
        feed_forward_proj="relu", is_decoder=is_decoder, attn_implementation="eager",
    )
    block = T5Block(config, has_relative_attention_bias=True, layer_idx=0)
    if not is_decoder:
        return Block(name, block, lambda x: block(x)[0], _encoder_flops)

    # Cross-attention reads an encoder output as long as the target (S = T).
    def decoder_forward(x: Tensor) -> Tensor:
        return block(x, encoder_hidden_states=x)[0]

    return Block(name, block, decoder_forward, lambda b, t: decoder_layer_flops(b, t, t, D_MODEL, D_FF))


def build_block(name: str, device: torch.device, dtype: torch.dtype, attention: str = "sdpa") -> Block:
    """Build block ``name`` (one of BLOCK_NAMES) with random weights on ``device`` in ``dtype``.

    ``attention`` picks the Hugging Face attention implementation for BERT and
    GPT-2: "sdpa" (their default, a fused kernel) or "eager" (explicit
    matmuls, which FlopCounterMode counts in full).
    """
    if name not in BLOCK_NAMES:
        raise ValueError(f"block={name!r} is unknown; expected one of {BLOCK_NAMES}")
    if attention not in ATTENTION_IMPLEMENTATIONS:
        raise ValueError(f"attention={attention!r} is unknown; expected one of {ATTENTION_IMPLEMENTATIONS}")

    if name == "torch-encoder-layer" or name == "scratch-encoder-layer":
        layer = nn.TransformerEncoderLayer(D_MODEL, N_HEADS, D_FF, dropout=0.0, activation="gelu", batch_first=True)
        if name == "torch-encoder-layer":
            block = Block(name, layer, layer, _encoder_flops)
        else:
            block = Block(name, layer, lambda x: encoder_layer_forward(layer, x), _encoder_flops)
    else:
        block = _hugging_face_block(name, attention)

    block.module.to(device=device, dtype=dtype)
    return block


class SelfAttention(nn.Module):
    """Multi-head self-attention with bias, computed unfused (explicit matmuls and softmax) or by SDPA."""

    def __init__(self, d_model: int, n_heads: int, fused: bool) -> None:
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"d_model={d_model} is not divisible by n_heads={n_heads}; pick n_heads that divides it")
        self.n_heads = n_heads
        self.fused = fused
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)

    def forward(self, x: Tensor) -> Tensor:
        B, T, d = x.shape
        q, k, v = self.qkv(x).split(d, dim=-1)
        q, k, v = (t.view(B, T, self.n_heads, d // self.n_heads).transpose(1, 2) for t in (q, k, v))  # (B, nh, T, hs)

        if self.fused:
            y = F.scaled_dot_product_attention(q, k, v)
        else:
            scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))  # (B, nh, T, T)
            y = scores.softmax(dim=-1) @ v  # (B, nh, T, hs)

        y = y.transpose(1, 2).reshape(B, T, d)  # (B, T, d)
        return self.proj(y)


def build_part(name: str, device: torch.device, dtype: torch.dtype) -> Block:
    """Build one piece of a layer (one of PART_NAMES) at BERT-large sizes, to time on its own.

    The FLOP formula counts matmuls only, so the GELU, softmax and scaling
    show up as lower TFLOPS: that drop is the cost of memory-bound work.
    """
    if name not in PART_NAMES:
        raise ValueError(f"part={name!r} is unknown; expected one of {PART_NAMES}")

    def dense_flops(b: int, t: int) -> int:
        return matmul_flops(b * t, D_MODEL, D_FF)

    if name == "dense":
        module: nn.Module = nn.Linear(D_MODEL, D_FF)
        flops = dense_flops
    elif name == "dense+gelu":
        module = nn.Sequential(nn.Linear(D_MODEL, D_FF), nn.GELU())
        flops = dense_flops
    elif name == "feed-forward":
        module = nn.Sequential(nn.Linear(D_MODEL, D_FF), nn.GELU(), nn.Linear(D_FF, D_MODEL))
        flops = lambda b, t: feed_forward_flops(b, t, D_MODEL, D_FF)  # noqa: E731
    else:
        module = SelfAttention(D_MODEL, N_HEADS, fused=name == "attention-sdpa")
        flops = lambda b, t: attention_flops(b, t, t, D_MODEL)  # noqa: E731

    module.to(device=device, dtype=dtype)
    return Block(name, module, module, flops)
