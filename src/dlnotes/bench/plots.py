"""Figures of chapter 6, drawn from result documents (a loaded results/bench/*.json or a live run)."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.axes import Axes

from dlnotes.bench.results import ok_measurements
from dlnotes.bench.roofline import attainable_tflops, ridge_point

Result = dict[str, Any]
LINESTYLES = ("-", "--", ":", "-.")
DTYPE_COLORS = {"fp32": "C0", "tf32": "C1", "fp16": "C2", "bf16": "C3"}


def result_label(name: str, result: Result) -> str:
    """Return a legend label: the run's name and its device."""
    return f"{name} ({result['environment']['device_name']})"


def plot_matmul(ax: Axes, results: dict[str, Result]) -> None:
    """Draw matmul TFLOPS against n, one colour per dtype and one line style per result."""
    for index, (name, result) in enumerate(results.items()):
        style = LINESTYLES[index % len(LINESTYLES)]
        for dtype, color in DTYPE_COLORS.items():
            records = sorted(ok_measurements(result, "matmul", dtype=dtype), key=lambda r: r["n"])
            if records:
                ax.plot([r["n"] for r in records], [r["tflops"] for r in records], style, marker="o", ms=3,
                        color=color, label=f"{dtype}, {result_label(name, result)}")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("matrix size n (n×n @ n×n)")
    ax.set_ylabel("throughput (TFLOPS)")
    ax.legend(fontsize=7)


def plot_bandwidth(ax_gbs: Axes, ax_tflops: Axes, results: dict[str, Result]) -> None:
    """Draw GB/s and TFLOPS of ``a * 1.2`` and copy against the bytes moved per call."""
    for index, (name, result) in enumerate(results.items()):
        style = LINESTYLES[index % len(LINESTYLES)]
        for op, color in (("a * 1.2", "C0"), ("copy", "C1")):
            records = sorted(ok_measurements(result, "bandwidth", op=op), key=lambda r: r["numel"])
            if not records:
                continue
            moved = [r["bytes"] for r in records]
            ax_gbs.plot(moved, [r["gbs"] for r in records], style, marker="o", ms=3, color=color, label=f"{op}, {result_label(name, result)}")
            if op == "a * 1.2":
                ax_tflops.plot(moved, [r["tflops"] for r in records], style, marker="o", ms=3, color=color, label=result_label(name, result))
    for ax, unit in ((ax_gbs, "bandwidth (GB/s)"), (ax_tflops, "a * 1.2 throughput (TFLOPS)")):
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("bytes read + written per call")
        ax.set_ylabel(unit)
        ax.legend(fontsize=7)


def plot_roofline(ax: Axes, peak_tflops: float, bandwidth_gbs: float, label: str, color: str = "k") -> None:
    """Draw the roofline min(peak, bandwidth × intensity) over 1/64 to 4096 FLOP/byte and mark the ridge point."""
    intensity = np.logspace(-6, 12, 200, base=2)
    bound = [attainable_tflops(i, peak_tflops, bandwidth_gbs) for i in intensity]
    ax.plot(intensity, bound, color=color, label=label)
    ridge = ridge_point(peak_tflops, bandwidth_gbs)
    ax.axvline(ridge, color=color, ls=":", lw=0.8)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("arithmetic intensity (FLOP/byte)")
    ax.set_ylabel("throughput (TFLOPS)")


def plot_blocks(ax: Axes, result: Result, batch: int, seq_len: int, kind: str = "block") -> None:
    """Draw one bar per block (or part) and pass: measured TFLOPS at one (batch, seq_len)."""
    passes = ("forward", "forward+backward")
    names = list(dict.fromkeys(r["name"] for r in ok_measurements(result, "layers", kind=kind)))
    width = 0.8 / len(passes)
    for offset, pass_ in enumerate(passes):
        heights = []
        for name in names:
            records = ok_measurements(result, "layers", kind=kind, name=name, batch=batch, seq_len=seq_len)
            heights.append(next((r["tflops"] for r in records if r["pass"] == pass_), 0.0))
        if any(heights):
            ax.bar(np.arange(len(names)) + offset * width, heights, width, label=pass_)
    ax.set_xticks(np.arange(len(names)) + width / 2, names, rotation=30, ha="right")
    ax.set_ylabel("throughput (TFLOPS)")
    ax.set_ylim(top=1.3 * ax.get_ylim()[1])  # room for the legend above the bars
    ax.legend(loc="upper center", ncol=2)


def plot_block_scaling(ax: Axes, result: Result) -> None:
    """Draw each block's TFLOPS against its (batch, sequence length) shapes: solid forward, dashed forward+backward."""
    records = ok_measurements(result, "layers", kind="block")
    shapes = sorted({(r["batch"], r["seq_len"]) for r in records}, key=lambda shape: (shape[0] * shape[1], shape[1]))
    position = {shape: index for index, shape in enumerate(shapes)}
    names = list(dict.fromkeys(r["name"] for r in records))
    for color_index, name in enumerate(names):
        for pass_, style in (("forward", "-"), ("forward+backward", "--")):
            points = sorted((position[(r["batch"], r["seq_len"])], r["tflops"]) for r in records if r["name"] == name and r["pass"] == pass_)
            if points:
                ax.plot(*zip(*points), style, marker="o", ms=3, color=f"C{color_index}", label=name if pass_ == "forward" else None)
    ax.set_xticks(range(len(shapes)), [f"{b}×{s}" for b, s in shapes], rotation=30, ha="right")
    ax.set_xlabel("batch × sequence length")
    ax.set_ylabel("throughput (TFLOPS)")
    ax.legend(fontsize=7)
