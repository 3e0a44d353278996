import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from torch import nn

from dlnotes.transformer.equivariance import (
    apply_permutation,
    check_permutation,
    equivariance_error,
    invariance_error,
    inverse_permutation,
    is_permutation_equivariant,
    is_permutation_invariant,
    permutation_matrix,
    random_permutation,
    record_aten_ops,
)
from dlnotes.transformer.positional import sinusoidal_positional_encoding

FUSED_ENCODER_OP = "aten::_transformer_encoder_layer_fwd"
FLOAT64_TOLERANCE = 1e-12


@st.composite
def sequences_and_permutations(draw, max_len=10):
    """Draw (x, perm) with x of shape (B, T, d) in float64 and perm a permutation of 0 .. T-1."""
    batch = draw(st.integers(1, 3))
    length = draw(st.integers(1, max_len))
    d_model = draw(st.sampled_from([4, 8, 12]))
    perm = torch.tensor(draw(st.permutations(list(range(length)))), dtype=torch.int64)
    seed = draw(st.integers(0, 2**16))
    x = torch.randn(batch, length, d_model, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    return x, perm


def make_encoder(d_model: int, nhead: int, num_layers: int = 2, dtype=torch.float64) -> nn.TransformerEncoder:
    layer = nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward=2 * d_model, dropout=0.0, batch_first=True)
    encoder = nn.TransformerEncoder(layer, num_layers, enable_nested_tensor=False)
    return encoder.to(dtype).eval()


def test_random_permutation_is_permutation():
    perm = random_permutation(9)

    assert perm.dtype == torch.int64
    assert sorted(perm.tolist()) == list(range(9))


def test_random_permutation_generator_reproducible():
    first = random_permutation(20, torch.Generator().manual_seed(3))
    second = random_permutation(20, torch.Generator().manual_seed(3))

    assert torch.equal(first, second)


@pytest.mark.parametrize("n", [0, -1, 2.0, True])
def test_random_permutation_rejects_n(n):
    with pytest.raises(ValueError, match="n="):
        random_permutation(n)


@pytest.mark.parametrize(
    ("perm", "message"),
    [
        ([1, 0], "1-D integer tensor such as"),
        (torch.tensor([[0, 1]]), "expected a 1-D integer tensor"),
        (torch.tensor([0.0, 1.0]), "expected a 1-D integer tensor"),
        (torch.tensor([True, False]), "expected a 1-D integer tensor"),
        (torch.tensor([0, 0, 2]), "is not a permutation"),
        (torch.tensor([1, 2, 3]), "is not a permutation"),
        (torch.tensor([-1, 0]), "is not a permutation"),
    ],
)
def test_check_permutation_rejects(perm, message):
    with pytest.raises(ValueError, match=message):
        check_permutation(perm)


def test_check_permutation_length():
    check_permutation(torch.tensor([2, 0, 1]), length=3)

    with pytest.raises(ValueError, match="length 3; expected 4"):
        check_permutation(torch.tensor([2, 0, 1]), length=4)


def test_permutation_matrix_matches_indexing():
    perm = torch.tensor([2, 0, 3, 1])
    matrix = permutation_matrix(perm, dtype=torch.float64)
    x = torch.randn(4, 5, dtype=torch.float64)

    assert matrix.dtype == torch.float64
    assert torch.equal(matrix @ x, x[perm])
    assert torch.equal(matrix @ matrix.T, torch.eye(4, dtype=torch.float64))
    assert matrix[0, 2].item() == 1.0
    assert matrix.sum().item() == 4.0


def test_permutation_matrix_rejects_invalid():
    with pytest.raises(ValueError, match="is not a permutation"):
        permutation_matrix(torch.tensor([0, 2]))


@settings(max_examples=30, deadline=None)
@given(perm_list=st.integers(1, 12).flatmap(lambda n: st.permutations(list(range(n)))))
def test_inverse_permutation_undoes(perm_list):
    perm = torch.tensor(perm_list)
    length = len(perm_list)
    inverse = inverse_permutation(perm)

    assert torch.equal(perm[inverse], torch.arange(length))
    assert torch.equal(inverse[perm], torch.arange(length))
    assert torch.equal(permutation_matrix(inverse), permutation_matrix(perm).T)


def test_apply_permutation_dims():
    x = torch.arange(24).reshape(2, 3, 4)
    perm = torch.tensor([2, 0, 1])

    assert torch.equal(apply_permutation(x, perm), x[:, perm])
    assert torch.equal(apply_permutation(x, torch.tensor([1, 0]), dim=0), x.flip(0))
    assert torch.equal(apply_permutation(x, torch.tensor([3, 2, 1, 0]), dim=-1), x.flip(-1))


def test_apply_permutation_rejects_input():
    x = torch.zeros(2, 3, 4)

    with pytest.raises(ValueError, match="dim=3 is out of range"):
        apply_permutation(x, torch.tensor([0, 1, 2]), dim=3)
    with pytest.raises(ValueError, match="length 2; expected 3"):
        apply_permutation(x, torch.tensor([1, 0]))


def test_error_measures_elementwise_and_cumsum():
    x = torch.randn(2, 6, 3, dtype=torch.float64)
    perm = torch.tensor([5, 4, 3, 2, 1, 0])

    assert equivariance_error(torch.tanh, x, perm) == 0.0
    assert invariance_error(torch.tanh, x, perm) > 0.1
    assert equivariance_error(lambda t: t.cumsum(1), x, perm) > 0.1
    assert invariance_error(lambda t: t.sum(1), x, perm) < FLOAT64_TOLERANCE


def test_checks_reject_shape_change():
    x = torch.randn(2, 4, 3)
    perm = torch.tensor([1, 0, 3, 2])
    shape_depends_on_order = lambda t: t[:, : 1 + int(t[0, 0, 0] > t[0, 1, 0])]  # noqa: E731

    for check in (equivariance_error, invariance_error, is_permutation_equivariant, is_permutation_invariant):
        with pytest.raises(ValueError, match="fn\\(Px\\) has shape"):
            check(shape_depends_on_order, x, perm)


def test_default_tolerance_follows_dtype():
    perm = torch.tensor([1, 0])
    y = torch.tensor([[[0.0], [1.0]]])  # (B, T, d) = (1, 2, 1)

    def order_sensitive(t):
        return t + 1e-6 * (t[:, 0:1] < t[:, 1:2]).to(t.dtype)

    assert is_permutation_equivariant(order_sensitive, y, perm)  # 1e-6 is within float32 atol 1e-5
    assert not is_permutation_equivariant(order_sensitive, y.double(), perm)  # but not within float64 atol 1e-7
    assert is_permutation_equivariant(order_sensitive, y.double(), perm, atol=1e-5)
    assert not is_permutation_invariant(order_sensitive, y, perm)


def test_rnn_pooled_output_changes():
    rnn = nn.GRU(input_size=4, hidden_size=8, batch_first=True).double()
    x = torch.randn(2, 7, 4, dtype=torch.float64)
    perm = torch.tensor([6, 5, 4, 3, 2, 1, 0])
    mean_pooled = lambda t: rnn(t)[0].mean(1)  # noqa: E731
    last_state = lambda t: rnn(t)[1]  # noqa: E731

    with torch.no_grad():
        assert invariance_error(mean_pooled, x, perm) > 1e-3
        assert invariance_error(last_state, x, perm) > 1e-3
        assert equivariance_error(lambda t: rnn(t)[0], x, perm) > 1e-3


@settings(max_examples=30, deadline=None)
@given(data=sequences_and_permutations(), nhead=st.sampled_from([1, 2, 4]))
def test_encoder_equivariant_property(data, nhead):
    x, perm = data
    encoder = make_encoder(x.shape[-1], nhead)

    with torch.no_grad():
        assert equivariance_error(encoder, x, perm) < 1e-10
        assert is_permutation_equivariant(encoder, x, perm, rtol=0, atol=1e-10)
        assert is_permutation_invariant(lambda t: encoder(t).mean(1), x, perm, rtol=0, atol=1e-10)


@settings(max_examples=30, deadline=None)
@given(data=sequences_and_permutations(), nhead=st.sampled_from([1, 2, 4]))
def test_encoder_unpooled_outputs_differ(data, nhead):
    x, perm = data
    assume(not torch.equal(perm, torch.arange(perm.numel())))
    encoder = make_encoder(x.shape[-1], nhead)

    with torch.no_grad():
        assert invariance_error(encoder, x, perm) > 1e-3
        assert not is_permutation_invariant(encoder, x, perm)


@settings(max_examples=20, deadline=None)
@given(data=sequences_and_permutations(), nhead=st.sampled_from([1, 2, 4]))
def test_multihead_attention_equivariant(data, nhead):
    x, perm = data
    attention = nn.MultiheadAttention(x.shape[-1], nhead, batch_first=True).double()
    self_attention = lambda t: attention(t, t, t, need_weights=False)[0]  # noqa: E731
    weights = lambda t: attention(t, t, t, need_weights=True, average_attn_weights=False)[1]  # noqa: E731

    with torch.no_grad():
        assert equivariance_error(self_attention, x, perm) < 1e-12
        weights_permuted = weights(apply_permutation(x, perm))  # (B, nh, T, T)
        expected = weights(x)[:, :, perm][:, :, :, perm]  # P A Pᵀ
        assert torch.allclose(weights_permuted, expected, rtol=0, atol=FLOAT64_TOLERANCE)


@settings(max_examples=30, deadline=None)
@given(length=st.integers(1, 12), perm_seed=st.integers(0, 2**16), scale=st.floats(0.1, 30.0))
def test_softmax_commutes_with_permutation(length, perm_seed, scale):
    generator = torch.Generator().manual_seed(perm_seed)
    perm = random_permutation(length, generator)
    matrix = permutation_matrix(perm, dtype=torch.float64)
    scores = scale * torch.randn(length, length, dtype=torch.float64, generator=generator)

    permuted_scores = matrix @ scores @ matrix.T
    assert torch.equal(permuted_scores, scores[perm][:, perm])
    assert torch.allclose(
        torch.softmax(permuted_scores, dim=-1), matrix @ torch.softmax(scores, dim=-1) @ matrix.T, rtol=0, atol=FLOAT64_TOLERANCE
    )


@settings(max_examples=15, deadline=None)
@given(data=sequences_and_permutations(), nhead=st.sampled_from([2, 4]))
def test_fast_path_equivariant_float32(data, nhead):
    x, perm = data
    x = x.float()
    encoder = make_encoder(x.shape[-1], nhead, dtype=torch.float32)

    with torch.no_grad():
        assert FUSED_ENCODER_OP in record_aten_ops(encoder, x)
        assert is_permutation_equivariant(encoder, x, perm)
        assert equivariance_error(encoder, x, perm) < 1e-5


def test_fast_path_not_taken_with_grad():
    encoder = make_encoder(8, 2, dtype=torch.float32)
    x = torch.randn(2, 5, 8)

    assert FUSED_ENCODER_OP not in record_aten_ops(encoder, x)
    assert "aten::addmm" in record_aten_ops(encoder, x)


@settings(max_examples=20, deadline=None)
@given(data=sequences_and_permutations(), nhead=st.sampled_from([1, 2]))
def test_causal_mask_breaks_equivariance(data, nhead):
    x, perm = data
    assume(not torch.equal(perm, torch.arange(perm.numel())))
    encoder = make_encoder(x.shape[-1], nhead)
    length = x.shape[1]
    mask = nn.Transformer.generate_square_subsequent_mask(length, dtype=torch.float64)  # (T, T), -inf above the diagonal
    permuted_mask = mask[perm][:, perm]  # P M Pᵀ

    with torch.no_grad():
        output = encoder(x, mask=mask)
        assert (encoder(apply_permutation(x, perm), mask=mask) - apply_permutation(output, perm)).abs().max() > 1e-6
        restored = encoder(apply_permutation(x, perm), mask=permuted_mask)
        assert torch.allclose(restored, apply_permutation(output, perm), rtol=0, atol=1e-10)


@settings(max_examples=20, deadline=None)
@given(data=sequences_and_permutations(), nhead=st.sampled_from([1, 2]))
def test_positional_encoding_breaks_equivariance(data, nhead):
    x, perm = data
    assume(not torch.equal(perm, torch.arange(perm.numel())))
    encoder = make_encoder(x.shape[-1], nhead)
    table = sinusoidal_positional_encoding(x.shape[1], x.shape[-1], dtype=torch.float64)  # (T, d)

    with torch.no_grad():
        assert equivariance_error(lambda t: encoder(t + table), x, perm) > 1e-6
        assert invariance_error(lambda t: encoder(t + table).mean(1), x, perm) > 1e-6
        # Tokens that carry their own position along with them move as before.
        with_positions = x + table
        assert equivariance_error(encoder, with_positions, perm) < 1e-10


def test_record_aten_ops_single_op():
    names = record_aten_ops(torch.mm, torch.randn(2, 3), torch.randn(3, 4))

    assert names == {"aten::mm"}
