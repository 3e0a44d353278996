import pytest
import torch

from dlnotes.bench.blocks import BLOCK_NAMES, D_MODEL, PART_NAMES, build_block, build_part
from dlnotes.flops import count_flops, training_step_flops

CPU = torch.device("cpu")
B, T = 2, 16


@pytest.mark.parametrize("name", BLOCK_NAMES)
def test_block_forward_flops_match_counter(name):
    block = build_block(name, CPU, torch.float32, attention="eager")
    x = torch.randn(B, T, D_MODEL)
    y = block.forward(x)
    assert y.shape == (B, T, D_MODEL)
    counted = count_flops(block.forward, x)
    if name == "torch-encoder-layer":
        # FlopCounterMode does not count the CPU SDPA kernel inside nn.MultiheadAttention (torch 2.13).
        assert counted == block.flops(B, T) - 4 * B * T * T * D_MODEL
    else:
        assert counted == block.flops(B, T)


@pytest.mark.parametrize("name", ["bert-large", "t5-large-decoder", "scratch-encoder-layer"])
def test_block_backward_is_twice_forward(name):
    block = build_block(name, CPU, torch.float32, attention="eager")
    x = torch.randn(B, T, D_MODEL, requires_grad=True)
    counted = count_flops(lambda: block.forward(x).sum().backward())
    assert counted == training_step_flops(block.flops(B, T))


def test_decoder_attention_twice_encoder():
    encoder = build_block("t5-large-encoder", CPU, torch.float32)
    decoder = build_block("t5-large-decoder", CPU, torch.float32)
    feed_forward = 16 * B * T * D_MODEL**2
    assert decoder.flops(B, T) - feed_forward == 2 * (encoder.flops(B, T) - feed_forward)


def test_scratch_layer_matches_torch():
    block = build_block("scratch-encoder-layer", CPU, torch.float32).module.eval()
    x = torch.randn(B, T, D_MODEL)
    with torch.no_grad():
        expected = block(x)
    scratch = build_block("scratch-encoder-layer", CPU, torch.float32)
    scratch.module.load_state_dict(block.state_dict())
    torch.testing.assert_close(scratch.forward(x), expected, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("name", PART_NAMES)
def test_part_flops_match_counter(name):
    part = build_part(name, CPU, torch.float32)
    x = torch.randn(B, T, D_MODEL)
    counted = count_flops(part.forward, x)
    if name == "attention-sdpa":
        assert counted == part.flops(B, T) - 4 * B * T * T * D_MODEL
    else:
        assert counted == part.flops(B, T)


def test_sdpa_matches_unfused():
    unfused = build_part("attention-unfused", CPU, torch.float32)
    fused = build_part("attention-sdpa", CPU, torch.float32)
    fused.module.load_state_dict(unfused.module.state_dict())
    x = torch.randn(B, T, D_MODEL)
    torch.testing.assert_close(fused.forward(x), unfused.forward(x), atol=1e-5, rtol=1e-4)


def test_block_in_bf16():
    block = build_block("gpt2-medium", CPU, torch.bfloat16)
    assert block.forward(torch.randn(1, 4, D_MODEL, dtype=torch.bfloat16)).dtype == torch.bfloat16


@pytest.mark.parametrize("call, match", [
    (lambda: build_block("llama", CPU, torch.float32), "llama"),
    (lambda: build_block("bert-large", CPU, torch.float32, attention="flash"), "flash"),
    (lambda: build_part("conv", CPU, torch.float32), "conv"),
])
def test_build_rejects(call, match):
    with pytest.raises(ValueError, match=match):
        call()
