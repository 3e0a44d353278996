"""Time ``encoder_layer_forward`` against ``nn.TransformerEncoderLayer`` on the CPU.

Three forward passes of one encoder layer, in eval mode under ``torch.no_grad()``:
- ``helper``: :func:`dlnotes.transformer.encoder_layer_forward`;
- ``module_slow``: the module with its fast path turned off, so it runs
  ``F.multi_head_attention_forward`` and ``F.scaled_dot_product_attention``;
- ``module_fast``: the module's fused kernel ``torch._transformer_encoder_layer_fwd``.

Run ``python -m dlnotes.transformer.benchmark`` (add ``--output FILE`` to write JSON).

The variants run interleaved, one call each per round in rotating order, so a
change in machine load during the run hits all three alike. The reported ratios
are medians of the per-round ratios, and the times are medians of single calls.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

from .layers import encoder_layer_forward


@dataclass(frozen=True)
class BenchmarkConfig:
    """Sizes of the timed layer and how long to time each variant."""

    batch: int = 8
    seq_len: int = 128
    d_model: int = 256
    num_heads: int = 8
    d_ff: int = 1024
    rounds: int = 30  # timed calls per variant
    warmup: int = 3  # untimed calls per variant first
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("batch", "seq_len", "d_model", "num_heads", "d_ff", "rounds"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name}={value!r} is invalid; expected a positive int")
        if self.d_model % self.num_heads:
            raise ValueError(f"num_heads={self.num_heads} does not divide d_model={self.d_model}; pick a divisor")
        if isinstance(self.warmup, bool) or not isinstance(self.warmup, int) or self.warmup < 0:
            raise ValueError(f"warmup={self.warmup!r} is invalid; expected an int >= 0")


def _time_interleaved(variants: dict, rounds: int, warmup: int) -> dict[str, list[float]]:
    """Return the seconds of each call, per variant, timed in rotating order."""
    names = list(variants)
    for _ in range(warmup):
        for name in names:
            variants[name]()

    seconds = {name: [] for name in names}
    for round_index in range(rounds):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            start = time.perf_counter()
            variants[name]()
            seconds[name].append(time.perf_counter() - start)
    return seconds


def run_benchmark(config: BenchmarkConfig = BenchmarkConfig()) -> dict:
    """Time the three variants and return a JSON-ready dict of config, machine, median seconds and ratios.

    Before timing, it checks that the three outputs agree within 1e-5, so the
    timed code computes the same function.
    """
    torch.manual_seed(config.seed)
    layer = nn.TransformerEncoderLayer(
        config.d_model, config.num_heads, config.d_ff, dropout=0.0, batch_first=True
    ).eval()
    src = torch.randn(config.batch, config.seq_len, config.d_model)

    def helper():
        with torch.no_grad():
            return encoder_layer_forward(layer, src)

    def module_fast():
        with torch.no_grad():
            return layer(src)

    def module_slow():
        fast_path_was_enabled = torch.backends.mha.get_fastpath_enabled()
        torch.backends.mha.set_fastpath_enabled(False)
        try:
            with torch.no_grad():
                return layer(src)
        finally:
            torch.backends.mha.set_fastpath_enabled(fast_path_was_enabled)

    variants = {"helper": helper, "module_slow": module_slow, "module_fast": module_fast}
    reference = helper()
    for name, fn in variants.items():
        error = (fn() - reference).abs().max().item()
        if error > 1e-5:
            raise RuntimeError(f"{name} differs from the helper by {error:.3g}; expected at most 1e-5")

    seconds = _time_interleaved(variants, config.rounds, config.warmup)
    median_s = {name: statistics.median(values) for name, values in seconds.items()}

    def median_ratio(numerator: str, denominator: str) -> float:
        return statistics.median(a / b for a, b in zip(seconds[numerator], seconds[denominator]))

    return {
        "config": asdict(config),
        "machine": {
            "torch": torch.__version__,
            "processor": platform.processor() or platform.machine(),
            "threads": torch.get_num_threads(),
        },
        "median_s": median_s,
        "helper_over_slow": median_ratio("helper", "module_slow"),
        "helper_over_fast": median_ratio("helper", "module_fast"),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=BenchmarkConfig.batch, help="batch size B")
    parser.add_argument("--seq-len", type=int, default=BenchmarkConfig.seq_len, help="sequence length T in tokens")
    parser.add_argument("--d-model", type=int, default=BenchmarkConfig.d_model, help="model width d")
    parser.add_argument("--num-heads", type=int, default=BenchmarkConfig.num_heads, help="attention heads")
    parser.add_argument("--d-ff", type=int, default=BenchmarkConfig.d_ff, help="feed-forward width")
    parser.add_argument("--rounds", type=int, default=BenchmarkConfig.rounds, help="timed calls per variant")
    parser.add_argument("--output", type=Path, help="write the result as JSON to this file")
    args = parser.parse_args(argv)
    config = BenchmarkConfig(args.batch, args.seq_len, args.d_model, args.num_heads, args.d_ff, args.rounds)

    result = run_benchmark(config)

    for name, seconds in result["median_s"].items():
        print(f"{name:12s} {seconds * 1e3:8.3f} ms")
    print(f"helper / module slow path: {result['helper_over_slow']:.2f}x")
    print(f"helper / module fast path: {result['helper_over_fast']:.2f}x")
    if args.output is not None:
        args.output.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
