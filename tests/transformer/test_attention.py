"""The attention core against nn.MultiheadAttention and F.scaled_dot_product_attention."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from dlnotes.transformer import causal_mask, multi_head_attention


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Run on one intra-op thread: on these tiny tensors a second thread only adds waiting."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def make_attention(d_model: int = 16, num_heads: int = 4, bias: bool = True, dtype=torch.float32):
    attention = nn.MultiheadAttention(d_model, num_heads, bias=bias, batch_first=True, dtype=dtype)
    if bias:
        with torch.no_grad():
            attention.in_proj_bias.normal_(0.0, 0.2)
            attention.out_proj.bias.normal_(0.0, 0.2)
    return attention


def run_core(attention: nn.MultiheadAttention, query, key, value, **masks):
    return multi_head_attention(
        query,
        key,
        value,
        attention.num_heads,
        attention.in_proj_weight,
        attention.in_proj_bias,
        attention.out_proj.weight,
        attention.out_proj.bias,
        **masks,
    )


def max_error(a: torch.Tensor, b: torch.Tensor) -> float:
    return (a.detach() - b.detach()).abs().max().item()


@settings(max_examples=40, deadline=None)
@given(
    head_dim=st.integers(1, 8),
    num_heads=st.integers(1, 4),
    batch=st.integers(1, 3),
    q_len=st.integers(1, 7),
    kv_len=st.integers(1, 7),
    bias=st.booleans(),
    dtype=st.sampled_from([torch.float32, torch.float64]),
    mask_kind=st.sampled_from(["none", "bool", "float", "per_head", "padding"]),
    seed=st.integers(0, 2**16),
)
def test_core_matches_module_weights(head_dim, num_heads, batch, q_len, kv_len, bias, dtype, mask_kind, seed):
    torch.manual_seed(seed)
    d_model = head_dim * num_heads
    attention = make_attention(d_model, num_heads, bias, dtype)
    query = torch.randn(batch, q_len, d_model, dtype=dtype)
    memory = torch.randn(batch, kv_len, d_model, dtype=dtype)
    visible = torch.rand(batch * num_heads, q_len, kv_len) < 0.7
    visible[..., 0] = True  # no fully masked rows: need_weights=True returns NaN there
    masks = {
        "none": {},
        "bool": {"attn_mask": ~visible[0]},
        "float": {"attn_mask": torch.randn(q_len, kv_len, dtype=dtype)},
        "per_head": {"attn_mask": ~visible},
        "padding": {"key_padding_mask": ~visible[:batch, 0]},
    }[mask_kind]
    tolerance = 1e-5 if dtype == torch.float32 else 1e-10

    expected, expected_weights = attention(
        query, memory, memory, need_weights=True, average_attn_weights=False, **masks
    )
    output, weights = run_core(attention, query, memory, memory, **masks)

    assert output.shape == (batch, q_len, d_model)
    assert weights.shape == (batch, num_heads, q_len, kv_len)
    assert max_error(output, expected) <= tolerance
    assert max_error(weights, expected_weights) <= tolerance


def test_weight_rows_sum_to_one():
    attention = make_attention()
    x = torch.randn(2, 6, 16)
    padding = torch.tensor([[False] * 6, [False] * 4 + [True] * 2])

    _, weights = run_core(attention, x, x, x, attn_mask=causal_mask(6), key_padding_mask=padding)

    assert torch.allclose(weights.sum(dim=-1), torch.ones(2, 4, 6))
    assert (weights >= 0).all()


def test_causal_weights_zero_above_diagonal():
    attention = make_attention()
    x = torch.randn(2, 6, 16)

    _, weights = run_core(attention, x, x, x, attn_mask=causal_mask(6))

    above = torch.ones(6, 6, dtype=torch.bool).triu(diagonal=1)
    assert (weights[..., above] == 0).all()
    assert (weights[..., ~above] > 0).all()
    assert (weights[..., 0, 0] == 1).all()  # the first query attends only to itself


def test_core_matches_sdpa():
    """F.scaled_dot_product_attention reads a bool mask the other way round: True takes part."""
    attention = make_attention(bias=False)
    q, k, v = torch.randn(3, 2, 4, 5, 4).unbind(0)  # (B, nh, T, hs) each
    hidden = torch.rand(5, 5) < 0.4
    hidden[:, 0] = False
    identity = torch.eye(16)
    with torch.no_grad():
        attention.in_proj_weight.copy_(torch.cat([identity, identity, identity]))
        attention.out_proj.weight.copy_(identity)

    merge = lambda t: t.transpose(1, 2).reshape(2, 5, 16)  # (B, nh, T, hs) -> (B, T, d)
    output, _ = run_core(attention, merge(q), merge(k), merge(v), attn_mask=hidden)
    expected = merge(F.scaled_dot_product_attention(q, k, v, attn_mask=~hidden))
    inverted = merge(F.scaled_dot_product_attention(q, k, v, attn_mask=hidden))

    assert max_error(output, expected) <= 1e-6
    assert max_error(output, inverted) > 1e-2


def test_per_head_mask_order():
    """A (B·nh, T, S) mask is indexed b·nh + h, batch outer, as in nn.MultiheadAttention."""
    attention = make_attention()
    x = torch.randn(2, 3, 16)
    mask = torch.zeros(8, 3, 3, dtype=torch.bool)
    mask[1 * 4 + 2, :, 1] = True  # batch 1, head 2 may not look at key 1

    _, weights = run_core(attention, x, x, x, attn_mask=mask)

    assert (weights[1, 2, :, 1] == 0).all()
    assert (weights[0, 2, :, 1] > 0).all()
    assert (weights[1, 1, :, 1] > 0).all()


def test_fully_masked_row_gives_zero_weights():
    attention = make_attention()
    x = torch.randn(2, 4, 16)
    mask = torch.zeros(4, 4, dtype=torch.bool)
    mask[1] = True

    output, weights = run_core(attention, x, x, x, attn_mask=mask)
    reference, _ = run_core(attention, x, x, x)

    assert (weights[:, :, 1] == 0).all()
    assert torch.isfinite(output).all()
    assert torch.allclose(output[:, 1], attention.out_proj.bias.expand(2, 16))
    assert max_error(output[:, [0, 2, 3]], reference[:, [0, 2, 3]]) <= 1e-6  # other rows unchanged

    _, module_weights = attention(x, x, x, attn_mask=mask, need_weights=True, average_attn_weights=False)
    assert torch.isnan(module_weights[:, :, 1]).all()  # need_weights=True returns NaN there (torch 2.13)


def test_core_rejects_bad_input():
    attention = make_attention()
    x = torch.randn(2, 4, 16)

    with pytest.raises(ValueError, match=r"query has shape \(2, 4, 8\); expected \(B, L, d_model\)"):
        run_core(attention, torch.randn(2, 4, 8), x, x)
    with pytest.raises(ValueError, match="expected the same batch size"):
        run_core(attention, x, torch.randn(3, 4, 16), torch.randn(3, 4, 16))
    with pytest.raises(ValueError, match="num_heads=3 is invalid"):
        multi_head_attention(x, x, x, 3, attention.in_proj_weight, None, attention.out_proj.weight, None)
    with pytest.raises(ValueError, match=r"expected \(T, S\) = \(4, 4\) or \(B·nh, T, S\) = \(8, 4, 4\)"):
        run_core(attention, x, x, x, attn_mask=torch.zeros(4, 4, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match="expected torch.bool"):
        run_core(attention, x, x, x, key_padding_mask=torch.zeros(2, 4, dtype=torch.int32))
    with pytest.raises(ValueError, match="expected torch.bool or torch.float32"):
        run_core(attention, x, x, x, attn_mask=torch.zeros(4, 4, dtype=torch.float64))
