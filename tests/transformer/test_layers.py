"""Encoder and decoder layers rebuilt from their parameters, against torch.nn."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from dlnotes.flops import count_flops, decoder_layer_flops, encoder_layer_flops
from dlnotes.transformer import (
    causal_mask,
    decoder_forward,
    decoder_layer_forward,
    encoder_forward,
    encoder_layer_forward,
    perturb_parameters_,
)

pytestmark = [
    pytest.mark.filterwarnings("ignore:Support for mismatched"),
    pytest.mark.filterwarnings("ignore:The PyTorch API of nested tensors"),
]

TOLERANCE = {torch.float32: 1e-5, torch.float64: 1e-10}
ACTIVATIONS = {"relu": "relu", "gelu": "gelu", "callable": lambda x: torch.tanh(x) * 1.5}


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Run on one intra-op thread: on these tiny tensors a second thread only adds waiting."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def perturb(module: nn.Module, scale: float = 0.2) -> nn.Module:
    """Give every bias and layer-norm parameter a random value: their defaults (0 and 1) hide bugs."""
    return perturb_parameters_(module, scale)


def make_encoder_layer(dtype=torch.float32, d_model=16, nhead=4, **kwargs) -> nn.TransformerEncoderLayer:
    kwargs.setdefault("dim_feedforward", 24)
    layer = nn.TransformerEncoderLayer(d_model, nhead, dropout=0.0, dtype=dtype, **kwargs)
    return perturb(layer)


def make_decoder_layer(dtype=torch.float32, d_model=16, nhead=4, **kwargs) -> nn.TransformerDecoderLayer:
    kwargs.setdefault("dim_feedforward", 24)
    layer = nn.TransformerDecoderLayer(d_model, nhead, dropout=0.0, dtype=dtype, **kwargs)
    return perturb(layer)


def sequence(batch: int, length: int, d_model: int, batch_first: bool, dtype) -> torch.Tensor:
    shape = (batch, length, d_model) if batch_first else (length, batch, d_model)
    return torch.randn(shape, dtype=dtype)


MODES = ["train", "eval", "eval_slow"]


def run_module(module: nn.Module, mode: str, *args, **kwargs) -> torch.Tensor:
    """Call the module in train mode, or in eval mode under no_grad.

    "eval" lets PyTorch take its fused fast path, "eval_slow" turns it off.
    """
    module.train(mode == "train")
    if mode == "train":
        return module(*args, **kwargs)
    fast_path_was_enabled = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(mode == "eval")
    try:
        with torch.no_grad():
            return module(*args, **kwargs)
    finally:
        torch.backends.mha.set_fastpath_enabled(fast_path_was_enabled)


def float_mask(shape: tuple[int, ...], dtype, mode: str) -> torch.Tensor:
    """Build an additive float mask: random values, or only 0 and -inf for the fast path.

    The fused fast path of torch 2.13 reads a float mask as bool (any nonzero
    entry hides the key), so it agrees with the add-to-scores rule only on masks
    made of 0 and -inf. test_fast_path_reads_float_mask_as_bool shows the difference.
    """
    if mode != "eval":
        return torch.randn(shape, dtype=dtype)
    hidden = torch.rand(shape) < 0.3
    hidden[..., 0] = False  # key 0 stays visible, so no row is fully masked
    return torch.zeros(shape, dtype=dtype).masked_fill(hidden, float("-inf"))


def max_error(a: torch.Tensor, b: torch.Tensor) -> float:
    return (a.detach() - b.detach()).abs().max().item()


def padding_mask(batch: int, length: int, lengths: list[int]) -> torch.Tensor:
    """Bool (B, L) mask, True past each sequence's length (right padding)."""
    return torch.arange(length).expand(batch, length) >= torch.tensor(lengths).unsqueeze(1)


def encoder_masks(batch: int, length: int, nhead: int, dtype, mode: str) -> dict[str, dict]:
    per_head = torch.rand(batch * nhead, length, length) < 0.3
    per_head[..., 0] = False  # every query keeps key 0, so no row is fully masked
    return {
        "none": {},
        "causal": {"src_mask": causal_mask(length)},
        "float": {"src_mask": float_mask((length, length), dtype, mode)},
        "per_head_bool": {"src_mask": per_head},
        "padding": {"src_key_padding_mask": padding_mask(batch, length, [length, length - 2, 1])},
        "causal_and_padding": {
            "src_mask": causal_mask(length),
            "src_key_padding_mask": padding_mask(batch, length, [length, 3, length - 1]),
        },
        "float_padding": {"src_key_padding_mask": float_mask((batch, length), dtype, mode)},
    }


SETTINGS = [
    pytest.param(batch_first, norm_first, activation, bias, id=f"bf{batch_first:d}-nf{norm_first:d}-{activation}-b{bias:d}")
    for batch_first in (True, False)
    for norm_first in (True, False)
    for activation in ACTIVATIONS
    for bias in (True, False)
]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("batch_first", "norm_first", "activation", "bias"), SETTINGS)
def test_encoder_layer_matches_module(batch_first, norm_first, activation, bias, mode, dtype):
    batch, length = 3, 6
    layer = make_encoder_layer(
        dtype, activation=ACTIVATIONS[activation], batch_first=batch_first, norm_first=norm_first, bias=bias
    )
    src = sequence(batch, length, 16, batch_first, dtype)

    for name, masks in encoder_masks(batch, length, 4, dtype, mode).items():
        expected = run_module(layer, mode, src, **masks)
        actual = encoder_layer_forward(layer, src, **masks)
        assert actual.shape == src.shape, name
        assert max_error(actual, expected) <= TOLERANCE[dtype], name


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("batch_first", "norm_first", "activation", "bias"), SETTINGS)
def test_decoder_layer_matches_module(batch_first, norm_first, activation, bias, mode, dtype):
    batch, tgt_len = 3, 5
    layer = make_decoder_layer(
        dtype, activation=ACTIVATIONS[activation], batch_first=batch_first, norm_first=norm_first, bias=bias
    )
    tgt = sequence(batch, tgt_len, 16, batch_first, dtype)

    for memory_len in (3, 5, 8):
        memory = sequence(batch, memory_len, 16, batch_first, dtype)
        cases = {
            "none": {},
            "causal": {"tgt_mask": causal_mask(tgt_len)},
            "all_masks": {
                "tgt_mask": causal_mask(tgt_len),
                "memory_mask": float_mask((tgt_len, memory_len), dtype, mode),
                "tgt_key_padding_mask": padding_mask(batch, tgt_len, [tgt_len, 2, 4]),
                "memory_key_padding_mask": padding_mask(batch, memory_len, [1, memory_len, 2]),
            },
            "float_masks": {
                "tgt_mask": float_mask((tgt_len, tgt_len), dtype, mode),
                "memory_key_padding_mask": float_mask((batch, memory_len), dtype, mode),
            },
        }
        for name, masks in cases.items():
            expected = run_module(layer, mode, tgt, memory, **masks)
            actual = decoder_layer_forward(layer, tgt, memory, **masks)
            assert actual.shape == tgt.shape, (memory_len, name)
            assert max_error(actual, expected) <= TOLERANCE[dtype], (memory_len, name)


@settings(max_examples=100, deadline=None)
@given(
    head_dim=st.integers(1, 6),
    nhead=st.integers(1, 4),
    dim_feedforward=st.integers(1, 40),
    layer_norm_eps=st.sampled_from([1e-12, 1e-6, 1e-5, 0.1, 1.0]),
    batch_first=st.booleans(),
    norm_first=st.booleans(),
    bias=st.booleans(),
    activation=st.sampled_from(sorted(ACTIVATIONS)),
    dtype=st.sampled_from([torch.float32, torch.float64]),
    mode=st.sampled_from(MODES),
    batch=st.integers(1, 3),
    tgt_len=st.integers(1, 6),
    memory_len=st.integers(1, 6),
    tgt_mask_kind=st.sampled_from(["none", "causal", "float", "per_head"]),
    seed=st.integers(0, 2**16),
)
def test_layers_match_module_property(
    head_dim, nhead, dim_feedforward, layer_norm_eps, batch_first, norm_first, bias, activation, dtype, mode,
    batch, tgt_len, memory_len, tgt_mask_kind, seed,
):
    torch.manual_seed(seed)
    d_model = head_dim * nhead
    options = dict(
        d_model=d_model,
        nhead=nhead,
        dim_feedforward=dim_feedforward,
        layer_norm_eps=layer_norm_eps,
        batch_first=batch_first,
        norm_first=norm_first,
        bias=bias,
        activation=ACTIVATIONS[activation],
    )
    encoder = make_encoder_layer(dtype, **options)
    decoder = make_decoder_layer(dtype, **options)
    tgt = sequence(batch, tgt_len, d_model, batch_first, dtype)
    memory = sequence(batch, memory_len, d_model, batch_first, dtype)
    lengths = torch.randint(1, memory_len + 1, (batch,)).tolist()  # at least one key per sequence
    memory_padding = padding_mask(batch, memory_len, lengths)
    per_head = torch.rand(batch * nhead, tgt_len, tgt_len) < 0.3
    per_head[..., 0] = False  # key 0 stays visible, so no row is fully masked
    tgt_mask = {
        "none": None,
        "causal": causal_mask(tgt_len),
        "float": float_mask((tgt_len, tgt_len), dtype, mode),
        "per_head": per_head,
    }[tgt_mask_kind]

    expected = run_module(encoder, mode, tgt, src_mask=tgt_mask)
    assert max_error(encoder_layer_forward(encoder, tgt, src_mask=tgt_mask), expected) <= TOLERANCE[dtype]

    expected = run_module(decoder, mode, tgt, memory, tgt_mask=tgt_mask, memory_key_padding_mask=memory_padding)
    actual = decoder_layer_forward(decoder, tgt, memory, tgt_mask=tgt_mask, memory_key_padding_mask=memory_padding)
    assert max_error(actual, expected) <= TOLERANCE[dtype]


@pytest.mark.parametrize("mode", MODES)
def test_layers_unbatched_input(mode):
    encoder = make_encoder_layer(batch_first=True)
    decoder = make_decoder_layer(batch_first=True)
    tgt, memory = torch.randn(5, 16), torch.randn(7, 16)
    padding = torch.tensor([False, False, False, True, True])

    actual = encoder_layer_forward(encoder, tgt, src_key_padding_mask=padding)
    assert actual.shape == (5, 16)
    assert max_error(actual, run_module(encoder, mode, tgt, src_key_padding_mask=padding)) <= 1e-5

    actual = decoder_layer_forward(decoder, tgt, memory, tgt_mask=causal_mask(5))
    assert actual.shape == (5, 16)
    assert max_error(actual, run_module(decoder, mode, tgt, memory, tgt_mask=causal_mask(5))) <= 1e-5


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("final_norm", [True, False])
@pytest.mark.parametrize("norm_first", [True, False])
def test_encoder_stack_matches_module(norm_first, final_norm, mode, dtype):
    layer = make_encoder_layer(dtype, batch_first=True, norm_first=norm_first)
    norm = perturb(nn.LayerNorm(16, dtype=dtype)) if final_norm else None
    encoder = nn.TransformerEncoder(layer, num_layers=3, norm=norm, enable_nested_tensor=False)
    for index, sublayer in enumerate(encoder.layers):
        perturb(sublayer, scale=0.1 * (index + 1))  # the clones start equal; make them differ
    src = torch.randn(2, 6, 16, dtype=dtype)

    for masks in ({}, {"mask": causal_mask(6)}, {"src_key_padding_mask": padding_mask(2, 6, [6, 4])}):
        expected = run_module(encoder, mode, src, **masks)
        assert max_error(encoder_forward(encoder, src, **masks), expected) <= TOLERANCE[dtype]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("final_norm", [True, False])
def test_decoder_stack_matches_module(final_norm, mode, dtype):
    layer = make_decoder_layer(dtype, batch_first=False)
    norm = perturb(nn.LayerNorm(16, dtype=dtype)) if final_norm else None
    decoder = nn.TransformerDecoder(layer, num_layers=2, norm=norm)
    perturb(decoder.layers[1])
    tgt, memory = torch.randn(5, 2, 16, dtype=dtype), torch.randn(9, 2, 16, dtype=dtype)
    masks = {"tgt_mask": causal_mask(5), "memory_key_padding_mask": padding_mask(2, 9, [9, 3])}

    expected = run_module(decoder, mode, tgt, memory, **masks)
    assert max_error(decoder_forward(decoder, tgt, memory, **masks), expected) <= TOLERANCE[dtype]


def test_encoder_stack_nested_fast_path():
    """In eval mode the module packs padded input into a nested tensor and returns 0 at padded positions."""
    layer = make_encoder_layer(batch_first=True)
    norm = perturb(nn.LayerNorm(16))
    encoder = nn.TransformerEncoder(layer, num_layers=2, norm=norm, enable_nested_tensor=True)
    src = torch.randn(3, 6, 16)
    padding = padding_mask(3, 6, [6, 2, 4])

    expected = run_module(encoder, "eval", src, src_key_padding_mask=padding)
    actual = encoder_forward(encoder, src, src_key_padding_mask=padding)
    slow = run_module(encoder, "train", src, src_key_padding_mask=padding)

    unpadded = ~padding
    assert max_error(actual[unpadded], expected[unpadded]) <= 1e-5
    assert torch.allclose(expected[padding], norm.bias.expand_as(expected[padding]))  # LayerNorm(0) = bias
    assert max_error(actual, slow) <= 1e-5


def test_float_padding_mask_is_added():
    """A float 0/1 padding mask adds 1 to the hidden keys' scores instead of hiding them."""
    layer = make_encoder_layer(batch_first=True)
    src = torch.randn(2, 5, 16)
    hide = padding_mask(2, 5, [5, 2])

    as_float = encoder_layer_forward(layer, src, src_key_padding_mask=hide.float())
    as_bool = encoder_layer_forward(layer, src, src_key_padding_mask=hide)

    assert max_error(as_float, run_module(layer, "train", src, src_key_padding_mask=hide.float())) <= 1e-5
    assert max_error(as_float, run_module(layer, "eval_slow", src, src_key_padding_mask=hide.float())) <= 1e-5
    # The fused eval path reads the float mask as bool and hides the padding (torch 2.13).
    assert max_error(as_bool, run_module(layer, "eval", src, src_key_padding_mask=hide.float())) <= 1e-5
    assert max_error(as_float[1], as_bool[1]) > 1e-2
    assert max_error(as_float[0], as_bool[0]) <= 1e-6  # nothing padded in sequence 0


def test_is_causal_hint_needs_mask():
    layer = make_encoder_layer(batch_first=True)
    src = torch.randn(2, 5, 16)
    causal = encoder_layer_forward(layer, src, src_mask=causal_mask(5))
    unmasked = encoder_layer_forward(layer, src)

    layer.train()
    with pytest.raises(RuntimeError, match="Need attn_mask"):
        layer(src, is_causal=True)

    with torch.no_grad():
        layer.eval()
        fast_path_output = layer(src, is_causal=True)
    assert max_error(fast_path_output, unmasked) <= 1e-5  # the fast path ignores the hint
    assert max_error(fast_path_output, causal) > 1e-2

    layer.train()
    assert max_error(layer(src, src_mask=causal_mask(5), is_causal=True), causal) <= 1e-5


def test_is_causal_hint_overrides_wrong_mask():
    """With a non-causal mask and is_causal=True, the slow path applies a causal mask and ignores the one given."""
    layer = make_encoder_layer(batch_first=True)
    src = torch.randn(2, 5, 16)
    hide_first_key = torch.zeros(5, 5, dtype=torch.bool)
    hide_first_key[:, 0] = True

    layer.train()
    hinted = layer(src, src_mask=hide_first_key, is_causal=True)
    assert max_error(hinted, encoder_layer_forward(layer, src, src_mask=causal_mask(5))) <= 1e-5
    assert max_error(hinted, encoder_layer_forward(layer, src, src_mask=hide_first_key)) > 1e-2


def test_fully_masked_row_stays_finite():
    layer = make_encoder_layer(batch_first=True)
    src = torch.randn(2, 5, 16)
    mask = torch.zeros(5, 5, dtype=torch.bool)
    mask[2] = True  # query 2 may attend to nothing
    padding = padding_mask(2, 5, [5, 0])  # sequence 1 is all padding

    for masks in ({"src_mask": mask}, {"src_key_padding_mask": padding}):
        actual = encoder_layer_forward(layer, src, **masks)
        assert torch.isfinite(actual).all()
        assert max_error(actual, run_module(layer, "train", src, **masks)) <= 1e-5

    # The hidden query's attention output is out_proj.bias, so the residual sum is x + bias.
    attention = layer.self_attn
    expected_row = F.layer_norm(src[:, 2] + attention.out_proj.bias, (16,), layer.norm1.weight, layer.norm1.bias)
    hidden = F.linear(F.relu(F.linear(expected_row, layer.linear1.weight, layer.linear1.bias)), layer.linear2.weight, layer.linear2.bias)
    expected_row = F.layer_norm(expected_row + hidden, (16,), layer.norm2.weight, layer.norm2.bias)
    assert max_error(encoder_layer_forward(layer, src, src_mask=mask)[:, 2], expected_row) <= 1e-5

    with torch.no_grad():
        layer.eval()
        fast = layer(src, src_mask=mask)
    assert torch.isnan(fast[:, 2]).all()  # torch 2.13 fast path: NaN in that row only
    assert torch.isfinite(fast[:, [0, 1, 3, 4]]).all()


def test_fast_path_reads_float_mask_as_bool():
    """torch 2.13's fused eval path hides every key whose float mask entry is nonzero, instead of adding it."""
    layer = make_encoder_layer(batch_first=True)
    src = torch.randn(2, 5, 16)
    minus_one_above_diagonal = torch.zeros(5, 5).masked_fill(causal_mask(5), -1.0)

    fast = run_module(layer, "eval", src, src_mask=minus_one_above_diagonal)
    slow = run_module(layer, "eval_slow", src, src_mask=minus_one_above_diagonal)
    assert max_error(slow, encoder_layer_forward(layer, src, src_mask=minus_one_above_diagonal)) <= 1e-5
    assert max_error(fast, encoder_layer_forward(layer, src, src_mask=causal_mask(5))) <= 1e-5
    assert max_error(fast, slow) > 1e-2

    all_nonzero = torch.full((5, 5), 0.5)
    assert torch.isnan(run_module(layer, "eval", src, src_mask=all_nonzero)).all()
    assert torch.isfinite(encoder_layer_forward(layer, src, src_mask=all_nonzero)).all()


def test_encoder_flops_match_formula():
    batch, length, d_model = 2, 7, 16
    layer = make_encoder_layer(d_model=d_model, batch_first=True, dim_feedforward=4 * d_model)
    src = torch.randn(batch, length, d_model)
    formula = encoder_layer_flops(batch, length, d_model, 4 * d_model)

    assert formula == 8 * batch * length * d_model**2 + 4 * batch * length**2 * d_model + 16 * batch * length * d_model**2
    assert count_flops(encoder_layer_forward, layer, src) == formula
    layer.train()
    assert count_flops(layer, src) == formula - 4 * batch * length**2 * d_model  # the CPU SDPA kernel is not counted


def test_decoder_flops_match_formula():
    batch, tgt_len, memory_len, d_model = 2, 5, 9, 16
    layer = make_decoder_layer(d_model=d_model, batch_first=True, dim_feedforward=40)
    tgt, memory = torch.randn(batch, tgt_len, d_model), torch.randn(batch, memory_len, d_model)

    assert count_flops(decoder_layer_forward, layer, tgt, memory) == decoder_layer_flops(
        batch, tgt_len, memory_len, d_model, 40
    )


def test_encoder_rejects_bad_input():
    layer = make_encoder_layer(batch_first=True)
    src = torch.randn(2, 5, 16)

    with pytest.raises(ValueError, match=r"expected \(B, T, 16\)"):
        encoder_layer_forward(layer, torch.randn(2, 5, 12))
    with pytest.raises(ValueError, match=r"expected \(T, S\) = \(5, 5\)"):
        encoder_layer_forward(layer, src, src_mask=causal_mask(4))
    with pytest.raises(ValueError, match=r"expected \(B, S\) = \(2, 5\)"):
        encoder_layer_forward(layer, src, src_key_padding_mask=torch.zeros(5, 2, dtype=torch.bool))
    with pytest.raises(ValueError, match="expected torch.bool"):
        encoder_layer_forward(layer, src, src_key_padding_mask=torch.zeros(2, 5, dtype=torch.int64))
    with pytest.raises(ValueError, match="expected torch.bool"):
        encoder_layer_forward(layer, src, src_mask=causal_mask(5).int())
    with pytest.raises(ValueError, match="expected torch.float32"):
        encoder_layer_forward(layer, src.double())
    with pytest.raises(ValueError, match="expected nn.TransformerEncoderLayer"):
        encoder_layer_forward(make_decoder_layer(), src)


def test_decoder_rejects_bad_input():
    layer = make_decoder_layer(batch_first=True)
    tgt, memory = torch.randn(2, 5, 16), torch.randn(2, 7, 16)

    with pytest.raises(ValueError, match=r"memory has shape \(2, 7, 8\)"):
        decoder_layer_forward(layer, tgt, torch.randn(2, 7, 8))
    with pytest.raises(ValueError, match="expected the same batch size"):
        decoder_layer_forward(layer, tgt, torch.randn(3, 7, 16))
    with pytest.raises(ValueError, match=r"expected \(T, S\) = \(5, 7\)"):
        decoder_layer_forward(layer, tgt, memory, memory_mask=torch.zeros(5, 5, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"expected \(B, S\) = \(2, 7\)"):
        decoder_layer_forward(layer, tgt, memory, memory_key_padding_mask=torch.zeros(2, 5, dtype=torch.bool))
    with pytest.raises(ValueError, match="expected torch.bool"):
        decoder_layer_forward(layer, tgt, memory, tgt_mask=torch.zeros(5, 5, dtype=torch.uint8))


def test_stacks_reject_wrong_module():
    with pytest.raises(ValueError, match="expected nn.TransformerEncoder"):
        encoder_forward(make_encoder_layer(), torch.randn(5, 2, 16))
    with pytest.raises(ValueError, match="expected nn.TransformerDecoder"):
        decoder_forward(make_decoder_layer(), torch.randn(5, 2, 16), torch.randn(5, 2, 16))


# perturb_parameters_


def _parameter_copies(module: nn.Module) -> dict[str, torch.Tensor]:
    return {name: parameter.detach().clone() for name, parameter in module.named_parameters()}


def test_perturb_changes_biases_and_norms_only():
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0)
    before = _parameter_copies(layer)
    returned = perturb_parameters_(layer, 0.5, torch.Generator().manual_seed(0))

    assert returned is layer
    for name, parameter in layer.named_parameters():
        changed = not torch.equal(parameter, before[name])
        expected = name.endswith("bias") or name.startswith("norm")
        assert changed == expected, name


def test_perturb_standalone_layer_norm():
    norm = nn.LayerNorm(6)
    perturb_parameters_(norm, 0.3, torch.Generator().manual_seed(1))
    assert not torch.equal(norm.weight, torch.ones(6))
    assert not torch.equal(norm.bias, torch.zeros(6))


def test_perturb_generator_reproducible():
    first = perturb_parameters_(nn.LayerNorm(4), 0.2, torch.Generator().manual_seed(3))
    second = perturb_parameters_(nn.LayerNorm(4), 0.2, torch.Generator().manual_seed(3))
    assert torch.equal(first.weight, second.weight)
    assert torch.equal(first.bias, second.bias)


def test_perturb_noise_scale():
    linear = nn.Linear(2, 20000, dtype=torch.float64)
    before = linear.bias.detach().clone()
    perturb_parameters_(linear, 0.2, torch.Generator().manual_seed(4))
    noise = linear.bias.detach() - before
    assert noise.dtype == torch.float64
    assert abs(noise.std().item() - 0.2) < 0.01
    assert abs(noise.mean().item()) < 0.01


def test_perturb_zero_scale_keeps_values():
    layer = nn.TransformerDecoderLayer(8, 2, 16, dropout=0.0)
    before = _parameter_copies(layer)
    perturb_parameters_(layer, 0.0)
    for name, parameter in layer.named_parameters():
        assert torch.equal(parameter, before[name]), name


def test_perturb_shared_parameter_once():
    first, second = nn.Linear(3, 3), nn.Linear(3, 3)
    second.bias = first.bias
    before = first.bias.detach().clone()
    perturb_parameters_(nn.Sequential(first, second), 1.0, torch.Generator().manual_seed(5))
    expected = before + torch.randn(3, generator=torch.Generator().manual_seed(5))
    assert torch.allclose(first.bias, expected)


def test_perturb_no_autograd_history():
    layer = nn.LayerNorm(4)
    perturb_parameters_(layer, 0.2)
    assert layer.weight.grad_fn is None
    assert layer.weight.requires_grad


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"module": torch.ones(3), "scale": 0.2}, "module is a Tensor"),
        ({"scale": -0.1}, "scale=-0.1"),
        ({"scale": float("nan")}, "scale=nan"),
        ({"scale": True}, "scale=True"),
        ({"scale": "0.2"}, "scale='0.2'"),
        ({"scale": 0.2, "generator": 0}, "generator is a int"),
    ],
)
def test_perturb_rejects_bad_input(kwargs, fragment):
    norm = nn.LayerNorm(4)
    kwargs.setdefault("module", norm)
    with pytest.raises(ValueError, match=fragment):
        perturb_parameters_(**kwargs)
    assert torch.equal(norm.weight, torch.ones(4))
    assert torch.equal(norm.bias, torch.zeros(4))
