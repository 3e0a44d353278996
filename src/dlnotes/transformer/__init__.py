"""Transformer layers rebuilt from their parameters, attention, and positional encodings (chapters 2 and 3)."""
