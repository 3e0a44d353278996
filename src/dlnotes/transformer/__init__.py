"""Transformer layers rebuilt from their parameters, attention, and positional encodings (chapters 2 and 3)."""
from dlnotes.transformer.attention import multi_head_attention
from dlnotes.transformer.layers import decoder_forward, decoder_layer_forward, encoder_forward, encoder_layer_forward
from dlnotes.transformer.masks import additive_attention_mask, causal_mask
