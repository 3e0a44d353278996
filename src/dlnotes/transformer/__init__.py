"""Transformer layers rebuilt from their parameters, attention, and positional encodings (chapters 2 and 3)."""

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
from dlnotes.transformer.positional import (
    apply_rotary_embedding,
    inverse_frequencies,
    sinusoidal_positional_encoding,
    toeplitz_error,
)
from dlnotes.transformer.attention import multi_head_attention
from dlnotes.transformer.layers import (
    decoder_forward,
    decoder_layer_forward,
    encoder_forward,
    encoder_layer_forward,
    perturb_parameters_,
)
from dlnotes.transformer.masks import additive_attention_mask, causal_mask
