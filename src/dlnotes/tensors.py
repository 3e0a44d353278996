"""Strides, storage sharing and layout drawings for strided tensors (chapter 1).

A strided tensor is a window onto a 1-D storage. Element ``(i_0, ..., i_{n-1})``
lives at storage index ``storage_offset + sum(i_k * stride_k)``, counted in
elements, not bytes. The helpers here compute that map, compare storages and
draw it, so the chapter can check every claim about views and copies.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import torch
from matplotlib.axes import Axes
from matplotlib.colors import Colormap
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

# A drawing with more cells than this cannot be read.
MAX_DRAWN_STORAGE_ELEMENTS = 48
UNUSED_CELL_COLOR = "0.9"


def _check_shape(shape: Sequence[int], name: str = "shape", entry: str = "size") -> tuple[int, ...]:
    """Return ``shape`` as a tuple of Python ints, or raise ValueError naming the bad value.

    ``entry`` is the word for one element ("size" or "stride") used in the message.
    """
    if isinstance(shape, (str, bytes)) or not isinstance(shape, Sequence):
        raise ValueError(f"{name}={shape!r} is invalid; expected a tuple of non-negative ints such as (2, 3, 4)")

    sizes = []
    for size in shape:
        if isinstance(size, bool):
            raise ValueError(f"{name}={shape!r} contains {size!r}; expected non-negative ints, not bools")
        try:
            size = operator.index(size)
        except TypeError:
            raise ValueError(f"{name}={shape!r} contains {size!r}; expected non-negative ints such as (2, 3, 4)") from None
        if size < 0:
            raise ValueError(f"{name}={shape!r} contains the negative {entry} {size}; {entry}s must be >= 0")
        sizes.append(size)
    return tuple(sizes)


def _check_strided(tensor: torch.Tensor, name: str = "tensor") -> None:
    if not isinstance(tensor, torch.Tensor):
        raise ValueError(f"{name} is a {type(tensor).__name__}; expected a torch.Tensor")
    if tensor.layout != torch.strided:
        raise ValueError(f"{name} has layout {tensor.layout}; expected torch.strided (call .to_dense() first)")


def contiguous_strides(shape: Sequence[int]) -> tuple[int, ...]:
    """Return the row-major (C order) strides of ``shape``, in elements.

    The last dimension has stride 1 and each earlier one the product of the
    sizes after it: ``stride_k = prod(max(size_j, 1) for j > k)``. A size of 0
    counts as 1, which is what ``torch.empty(shape).stride()`` returns
    (checked for torch 2.13). Raises ValueError for a negative size or a size
    that is not an int.
    """
    sizes = _check_shape(shape)

    strides = []
    running = 1
    for size in reversed(sizes):
        strides.append(running)
        running *= max(size, 1)
    return tuple(reversed(strides))


def is_contiguous_strides(shape: Sequence[int], strides: Sequence[int]) -> bool:
    """Apply the rule behind ``torch.Tensor.is_contiguous()`` to a shape and its strides.

    A tensor with no elements is contiguous whatever its strides. Otherwise
    dimensions of size 1 are skipped, and every other dimension must have
    the stride of a row-major layout of the dimensions after it. So a
    (2, 1, 3) tensor with strides (3, 99, 1) is contiguous. A negative stride
    raises ValueError, because PyTorch tensors cannot have one (torch 2.13).
    """
    sizes = _check_shape(shape)
    steps = _check_shape(strides, name="strides", entry="stride")
    if len(steps) != len(sizes):
        raise ValueError(f"strides={tuple(strides)!r} has {len(steps)} entries but shape={sizes!r} has {len(sizes)}; pass one stride per dimension")

    if 0 in sizes:
        return True

    expected = 1
    for size, stride in zip(reversed(sizes), reversed(steps)):
        if size == 1:
            continue
        if stride != expected:
            return False
        expected *= size
    return True


def shares_storage(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Return True when ``a`` and ``b`` are windows onto the same storage.

    "Same storage" means the same allocation: both storages start at the
    same address on the same device. It does not mean the two tensors
    overlap: ``x[0]`` and ``x[1]`` share storage but no element. A storage
    whose data pointer is null (a tensor with zero bytes of storage, or a
    meta tensor) owns no memory, so it shares none and the result is False,
    even for a view of such a tensor. A zero-element slice of a non-empty
    tensor still shares that tensor's storage.
    """
    _check_strided(a, "a")
    _check_strided(b, "b")

    if a.device != b.device:
        return False
    pointer_a = a.untyped_storage().data_ptr()
    pointer_b = b.untyped_storage().data_ptr()
    return pointer_a != 0 and pointer_a == pointer_b


def storage_elements(tensor: torch.Tensor) -> torch.Tensor:
    """Return a 1-D view of every element of ``tensor``'s storage, from storage index 0.

    Shape (storage_bytes // element_size,), same dtype and device as
    ``tensor``. Elements outside ``tensor``'s window are included.
    """
    _check_strided(tensor)

    length = tensor.untyped_storage().nbytes() // tensor.element_size()
    return tensor.as_strided((length,), (1,), 0)


def memory_order(tensor: torch.Tensor) -> torch.Tensor:
    """Return the storage index of each element of ``tensor``.

    The result has ``tensor``'s shape, dtype int64, and lives on the CPU:
    ``storage_offset + sum_k(i_k * stride_k)`` at position ``(i_0, ..., i_{n-1})``.
    Two elements with the same index are one memory location, as under a
    stride of 0 or in overlapping ``as_strided`` windows.
    """
    _check_strided(tensor)

    index = torch.full(tensor.shape, tensor.storage_offset(), dtype=torch.int64)
    for dim, (size, stride) in enumerate(zip(tensor.shape, tensor.stride())):
        broadcast_shape = [1] * tensor.dim()
        broadcast_shape[dim] = size
        steps = torch.arange(size, dtype=torch.int64) * stride  # (size,)
        index += steps.view(broadcast_shape)
    return index


def _format_value(value: torch.Tensor) -> str:
    if value.is_floating_point() or value.is_complex():
        return f"{value.item():.3g}"
    return str(value.item())


def _check_drawable(tensor: torch.Tensor) -> None:
    _check_strided(tensor)
    if tensor.dim() not in (1, 2):
        raise ValueError(f"tensor has shape {tuple(tensor.shape)}; the drawings handle 1-D and 2-D tensors only, so index or reshape it first")
    storage_length = storage_elements(tensor).numel()
    if storage_length > MAX_DRAWN_STORAGE_ELEMENTS:
        raise ValueError(f"tensor's storage has {storage_length} elements; the drawings handle at most {MAX_DRAWN_STORAGE_ELEMENTS}, so draw a smaller tensor")


def _rank_colors(numel: int, cmap: Colormap) -> list[tuple[float, float, float, float]]:
    """Return one colour per logical position 0..numel-1, light to dark."""
    return [cmap(0.95 - 0.6 * rank / max(numel - 1, 1)) for rank in range(numel)]


def draw_logical(tensor: torch.Tensor, ax: Axes, cmap: str = "viridis") -> None:
    """Draw a 1-D or 2-D tensor as a grid of its values in logical (row-major) order.

    Each cell is coloured by its logical position, the order in which
    ``tensor.flatten()`` visits it, so :func:`draw_memory` can use the same
    colours. One text per cell, row by row.
    """
    _check_drawable(tensor)

    grid = tensor.detach().cpu()
    if grid.dim() == 1:
        grid = grid.unsqueeze(0)  # (1, n)
    rows, cols = grid.shape
    colors = _rank_colors(grid.numel(), plt.get_cmap(cmap))

    for i in range(rows):
        for j in range(cols):
            rank = i * cols + j
            ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, facecolor=colors[rank], edgecolor="black"))
            ax.text(j, i, _format_value(grid[i, j]), ha="center", va="center")

    ax.set_xlim(-0.5, max(cols, 1) - 0.5)
    ax.set_ylim(max(rows, 1) - 0.5, -0.5)
    ax.set_aspect("equal")
    ax.grid(False)
    ax.set_xticks(range(cols))
    ax.set_yticks(range(rows))
    ax.set_xlabel("dim 1 index" if tensor.dim() == 2 else "dim 0 index")
    ax.set_ylabel("dim 0 index" if tensor.dim() == 2 else "")


def draw_memory(tensor: torch.Tensor, ax: Axes, cmap: str = "viridis") -> None:
    """Draw ``tensor``'s whole storage as a strip of cells in address order.

    Top row: the stored value, coloured like the logical position that reads
    it (grey when ``tensor`` does not read it). Bottom row: the logical
    position(s) that read each cell, comma-separated when a stride of 0 makes
    several positions read one cell. Texts are added value row first, then
    position row, each left to right.
    """
    _check_drawable(tensor)

    values = storage_elements(tensor).detach().cpu()
    order = memory_order(tensor).flatten().tolist()  # storage index of logical position k
    colors = _rank_colors(len(order), plt.get_cmap(cmap))
    readers: dict[int, list[int]] = {}
    for rank, address in enumerate(order):
        readers.setdefault(address, []).append(rank)

    for address in range(values.numel()):
        ranks = readers.get(address)
        color = colors[ranks[0]] if ranks else UNUSED_CELL_COLOR
        ax.add_patch(Rectangle((address - 0.5, -0.5), 1, 1, facecolor=color, edgecolor="black"))
        ax.text(address, 0, _format_value(values[address]), ha="center", va="center")
    for address in range(values.numel()):
        label = ",".join(str(rank) for rank in readers.get(address, []))
        ax.text(address, 1, label, ha="center", va="center", fontsize=8)

    ax.set_xlim(-0.5, max(values.numel(), 1) - 0.5)
    ax.set_ylim(1.5, -0.5)
    ax.set_aspect("equal")
    ax.grid(False)
    ax.set_xticks(range(values.numel()))
    ax.set_yticks([0, 1], ["value", "position"])
    ax.set_xlabel(f"storage index (elements of {tensor.element_size()} bytes)")


def draw_layouts(tensors: Mapping[str, torch.Tensor], cmap: str = "viridis") -> Figure:
    """Draw each tensor's logical grid beside its storage, one row per tensor.

    ``tensors`` maps a label to a 1-D or 2-D tensor whose storage has at most
    ``MAX_DRAWN_STORAGE_ELEMENTS`` elements. Panel titles give the shape,
    strides, storage offset and ``is_contiguous()``. Returns the figure; the
    caller shows or saves it.
    """
    if not isinstance(tensors, Mapping) or len(tensors) == 0:
        raise ValueError(f"tensors={tensors!r} is invalid; expected a non-empty dict of label -> tensor")
    for tensor in tensors.values():
        _check_drawable(tensor)

    widest_grid = max(max(t.shape[-1], 1) for t in tensors.values())
    tallest_grid = max(t.shape[0] if t.dim() == 2 else 1 for t in tensors.values())
    longest_storage = max(max(storage_elements(t).numel(), 1) for t in tensors.values())
    fig, axes = plt.subplots(
        len(tensors),
        2,
        figsize=(0.5 * (widest_grid + longest_storage) + 3.5, (0.45 * tallest_grid + 1.3) * len(tensors)),
        gridspec_kw={"width_ratios": [widest_grid + 2, longest_storage]},
        squeeze=False,
        layout="constrained",
    )

    for (label, tensor), (ax_logical, ax_memory) in zip(tensors.items(), axes):
        draw_logical(tensor, ax_logical, cmap)
        draw_memory(tensor, ax_memory, cmap)
        ax_logical.set_title(f"{label}\nshape {tuple(tensor.shape)}, stride {tensor.stride()}")
        ax_memory.set_title(f"storage of {label}\noffset {tensor.storage_offset()}, is_contiguous() = {tensor.is_contiguous()}")
    fig.get_layout_engine().set(h_pad=0.15)  # inches between rows, so a row's x-label stays clear of the next title
    return fig
