from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from dlnotes.bench.plots import plot_bandwidth, plot_block_scaling, plot_blocks, plot_matmul, plot_roofline  # noqa: E402
from dlnotes.bench.results import load_results  # noqa: E402
RESULTS = Path(__file__).resolve().parents[2] / "results" / "bench"


@pytest.fixture(scope="module")
def results() -> dict:
    return load_results(RESULTS)


def test_plot_matmul_draws_dtypes(results):
    fig, ax = plt.subplots()
    plot_matmul(ax, {"cpu-quick": results["cpu-quick"]})
    assert len(ax.lines) == 3  # fp32, fp16, bf16 on the CPU
    plt.close(fig)


def test_plot_bandwidth_draws_ops(results):
    fig, (ax_gbs, ax_tflops) = plt.subplots(1, 2)
    plot_bandwidth(ax_gbs, ax_tflops, {"cpu-quick": results["cpu-quick"]})
    assert len(ax_gbs.lines) == 2
    assert len(ax_tflops.lines) == 1
    plt.close(fig)


def test_plot_roofline_marks_ridge():
    fig, ax = plt.subplots()
    plot_roofline(ax, 100.0, 1000.0, "device")
    line, ridge = ax.lines
    assert max(line.get_ydata()) == pytest.approx(100.0)
    assert ridge.get_xdata()[0] == pytest.approx(100.0)
    plt.close(fig)


def test_plot_blocks_bars(results):
    fig, ax = plt.subplots()
    plot_blocks(ax, results["cpu-quick"], batch=1, seq_len=64)
    assert len(ax.patches) == 2 * 6
    plt.close(fig)


def test_plot_block_scaling_lines(results):
    fig, ax = plt.subplots()
    plot_block_scaling(ax, results["cpu-quick"])
    assert len(ax.lines) == 2 * 6  # forward and forward+backward for each block
    assert [label.get_text() for label in ax.get_xticklabels()] == ["1×32", "1×64"]
    plt.close(fig)
