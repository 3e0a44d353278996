import pytest
import torch
from torch import nn

from dlnotes.flops import (
    attention_flops,
    count_flops,
    decoder_layer_flops,
    elementwise_flops,
    encoder_layer_flops,
    feed_forward_flops,
    matmul_flops,
    training_step_flops,
)


def test_matmul_flops_matches_counter():
    a, b = torch.randn(8, 16), torch.randn(16, 4)
    assert matmul_flops(8, 16, 4) == 2 * 8 * 16 * 4
    assert count_flops(torch.mm, a, b) == matmul_flops(8, 16, 4)


def test_self_attention_closed_form():
    B, T, d = 3, 10, 32
    assert attention_flops(B, T, T, d) == 8 * B * T * d**2 + 4 * B * T**2 * d


def test_feed_forward_is_16btd2_at_4d():
    B, T, d = 2, 5, 24
    assert feed_forward_flops(B, T, d, 4 * d) == 16 * B * T * d**2


def test_cross_attention_matches_multihead_attention_counter():
    B, T, S, d = 2, 7, 11, 32
    mha = nn.MultiheadAttention(d, 4, batch_first=True)
    query, memory = torch.randn(B, T, d), torch.randn(B, S, d)
    measured = count_flops(lambda: mha(query, memory, memory, need_weights=True))
    assert measured == attention_flops(B, T, S, d)


def test_decoder_layer_adds_two_attention_blocks():
    B, T, S, d, d_ff = 2, 6, 9, 16, 64
    expected = attention_flops(B, T, T, d) + attention_flops(B, T, S, d) + feed_forward_flops(B, T, d, d_ff)
    assert decoder_layer_flops(B, T, S, d, d_ff) == expected


def test_encoder_layer_and_training_step():
    assert encoder_layer_flops(1, 4, 8, 32) == attention_flops(1, 4, 4, 8) + feed_forward_flops(1, 4, 8, 32)
    assert training_step_flops(100) == 300
    assert elementwise_flops(1000) == 1000


@pytest.mark.parametrize("bad", [0, -3, 2.0, True, None])
def test_sizes_must_be_positive_ints(bad):
    with pytest.raises(ValueError, match="m="):
        matmul_flops(bad, 2, 2)
