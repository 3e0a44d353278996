"""One figure style for every chapter.

Chapters call :func:`use_book_style` in their set-up cell, draw with plain
matplotlib, label both axes with units, and end the cell with ``plt.show()``.
The caption goes in the cell's ``mystnb.figure`` metadata, so the book
numbers it.
"""

from __future__ import annotations

import matplotlib as mpl

BOOK_STYLE = {
    "figure.figsize": (6.4, 3.6),
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "font.size": 10,
    "image.cmap": "viridis",
}


def use_book_style() -> None:
    """Apply the book's matplotlib settings and PNG inline output to this process."""
    mpl.rcParams.update(BOOK_STYLE)
    try:
        from matplotlib_inline.backend_inline import set_matplotlib_formats
    except ImportError:  # outside IPython there is no inline backend to configure
        return
    set_matplotlib_formats("png")
