"""Causal masks and the merge of attention and padding masks."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from dlnotes.transformer import additive_attention_mask, causal_mask


def test_causal_mask_values():
    mask = causal_mask(4)

    assert mask.dtype == torch.bool
    assert mask.tolist() == [
        [False, True, True, True],
        [False, False, True, True],
        [False, False, False, True],
        [False, False, False, False],
    ]


def test_causal_mask_matches_torch():
    reference = nn.Transformer.generate_square_subsequent_mask(5)

    assert torch.equal(reference == float("-inf"), causal_mask(5))


def test_causal_mask_rejects_size():
    for size in (0, -2, 2.0, True):
        with pytest.raises(ValueError, match="expected a positive int"):
            causal_mask(size)


def test_merge_bool_and_float():
    attn_mask = torch.tensor([[False, True], [False, False], [True, False]])
    padding = torch.tensor([[0.0, 0.5], [1.0, 0.0]])

    merged = additive_attention_mask(attn_mask, padding, batch=2, num_heads=3, q_len=3, kv_len=2, dtype=torch.float32)

    assert merged.shape == (2, 1, 3, 2)
    inf = float("-inf")
    assert merged[0, 0].tolist() == [[0.0, inf], [0.0, 0.5], [inf, 0.5]]
    assert merged[1, 0].tolist() == [[1.0, inf], [1.0, 0.0], [inf, 0.0]]


def test_merge_per_head_mask():
    per_head = torch.zeros(6, 3, 2, dtype=torch.bool)
    per_head[5, 1, 0] = True  # batch 1, head 2

    merged = additive_attention_mask(per_head, None, batch=2, num_heads=3, q_len=3, kv_len=2, dtype=torch.float64)

    assert merged.shape == (2, 3, 3, 2)
    assert merged.dtype == torch.float64
    assert merged[1, 2, 1, 0] == float("-inf")
    assert (merged.isinf().sum() == 1).item()


def test_merge_none():
    assert additive_attention_mask(None, None, batch=2, num_heads=3, q_len=3, kv_len=2, dtype=torch.float32) is None


def test_merge_rejects_bad_masks():
    sizes = dict(batch=2, num_heads=3, q_len=3, kv_len=2, dtype=torch.float32)

    with pytest.raises(ValueError, match=r"attn_mask has shape \(2, 3\); expected \(T, S\) = \(3, 2\)"):
        additive_attention_mask(torch.zeros(2, 3, dtype=torch.bool), None, **sizes)
    with pytest.raises(ValueError, match=r"key_padding_mask has shape \(2, 3\); expected \(B, S\) = \(2, 2\)"):
        additive_attention_mask(None, torch.zeros(2, 3, dtype=torch.bool), **sizes)
    with pytest.raises(ValueError, match=r"attn_mask has dtype torch.int64; expected torch.bool"):
        additive_attention_mask(torch.zeros(3, 2, dtype=torch.int64), None, **sizes)
    with pytest.raises(ValueError, match=r"key_padding_mask has dtype torch.float16; expected torch.bool or torch.float32"):
        additive_attention_mask(None, torch.zeros(2, 2, dtype=torch.float16), **sizes)
