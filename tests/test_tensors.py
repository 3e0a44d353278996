import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from dlnotes.tensors import (
    MAX_DRAWN_STORAGE_ELEMENTS,
    contiguous_strides,
    draw_layouts,
    draw_logical,
    draw_memory,
    is_contiguous_strides,
    memory_order,
    shares_storage,
    storage_elements,
)

# Sizes 0..4 in up to 5 dimensions: at most 4**5 elements per tensor.
shapes = st.lists(st.integers(min_value=0, max_value=4), min_size=0, max_size=5).map(tuple)


@st.composite
def strided_layouts(draw):
    """Draw (shape, strides, offset): random strides, or row-major ones with size-1 strides scrambled."""
    shape = draw(shapes)
    if draw(st.booleans()):
        strides = tuple(draw(st.integers(min_value=0, max_value=30)) for _ in shape)
    else:
        strides = tuple(draw(st.integers(min_value=0, max_value=30)) if size == 1 else stride for size, stride in zip(shape, contiguous_strides(shape)))
    offset = draw(st.integers(min_value=0, max_value=5))
    return shape, strides, offset


def make_strided(shape, strides, offset):
    """Return arange values viewed through as_strided, with a storage just large enough."""
    span = 1 + sum((size - 1) * stride for size, stride in zip(shape, strides)) if 0 not in shape else 0
    base = torch.arange(offset + span, dtype=torch.int64)
    return base.as_strided(shape, strides, offset)


# contiguous_strides


def test_contiguous_strides_2_3_4():
    assert contiguous_strides((2, 3, 4)) == (12, 4, 1)


@pytest.mark.parametrize("shape, expected", [((), ()), ((0,), (1,)), ((2, 0, 3), (3, 3, 1)), ((0, 4, 5), (20, 5, 1)), ((3, 1, 2), (2, 2, 1))])
def test_contiguous_strides_edge_shapes(shape, expected):
    assert contiguous_strides(shape) == expected


@settings(max_examples=300, deadline=None)
@given(shapes)
def test_contiguous_strides_match_torch_empty(shape):
    assert contiguous_strides(shape) == torch.empty(shape).stride()


def test_contiguous_strides_accept_size_and_numpy():
    assert contiguous_strides(torch.Size([2, 5])) == (5, 1)
    assert contiguous_strides([np.int64(2), np.int64(5)]) == (5, 1)


@pytest.mark.parametrize("bad, fragment", [((2, -1), "-1"), ((2, 3.0), "3.0"), ((True, 2), "True"), (("2", 3), "'2'"), ("23", "'23'"), (5, "5"), (None, "None")])
def test_contiguous_strides_reject_bad_shape(bad, fragment):
    with pytest.raises(ValueError, match=f"shape=.*{fragment.replace('.', '[.]')}"):
        contiguous_strides(bad)


# is_contiguous_strides


@settings(max_examples=400, deadline=None)
@given(strided_layouts())
def test_is_contiguous_strides_matches_torch(layout):
    shape, strides, offset = layout
    assert is_contiguous_strides(shape, strides) == make_strided(shape, strides, offset).is_contiguous()


def test_is_contiguous_ignores_size_one_dims():
    assert is_contiguous_strides((2, 1, 3), (3, 99, 1))
    assert not is_contiguous_strides((2, 2, 3), (3, 99, 1))


def test_is_contiguous_zero_elements():
    assert is_contiguous_strides((0, 3), (5, 7))


def test_is_contiguous_rejects_bad_strides():
    with pytest.raises(ValueError, match="strides=.*2 entries"):
        is_contiguous_strides((2, 3, 4), (4, 1))
    with pytest.raises(ValueError, match="strides=.*-1"):
        is_contiguous_strides((2, 3), (-1, 1))
    with pytest.raises(ValueError, match="shape=.*-2"):
        is_contiguous_strides((-2, 3), (3, 1))


def test_is_contiguous_negative_stride_message():
    with pytest.raises(ValueError) as excinfo:
        is_contiguous_strides((2, 3), (3, -1))
    message = str(excinfo.value)
    assert "negative stride -1" in message
    assert "strides must be >= 0" in message
    assert "size" not in message


def test_is_contiguous_negative_size_message():
    with pytest.raises(ValueError, match="negative size -2; sizes must be >= 0"):
        is_contiguous_strides((-2, 3), (3, 1))


# shares_storage


def test_shares_storage_views():
    x = torch.arange(12.0).view(3, 4)
    assert shares_storage(x, x.T)
    assert shares_storage(x, x[1:, ::2])
    assert shares_storage(x, x.view(4, 3))
    assert shares_storage(x[0], x[1])  # same storage, disjoint elements


def test_shares_storage_copies():
    x = torch.arange(12.0).view(3, 4)
    assert not shares_storage(x, x.clone())
    assert not shares_storage(x, x.T.contiguous())
    assert not shares_storage(x, torch.arange(12.0).view(3, 4))


def test_shares_storage_reshape_view_or_copy():
    x = torch.arange(12.0).view(3, 4)
    assert shares_storage(x, x.reshape(2, 6))
    assert not shares_storage(x, x.T.reshape(12))


def test_shares_storage_zero_elements():
    x = torch.arange(6.0)
    assert shares_storage(x, x[:0])  # a zero-element slice of a non-empty storage
    empty = torch.empty(0)
    assert not shares_storage(empty, empty.view(0, 3))  # null storage pointer shares nothing
    assert not shares_storage(torch.empty(0), torch.empty(2, 0))


def test_shares_storage_meta_is_false():
    meta = torch.empty(3, device="meta")
    assert not shares_storage(meta, meta)


def test_shares_storage_rejects_non_tensors():
    with pytest.raises(ValueError, match="b is a list"):
        shares_storage(torch.zeros(2), [0.0, 0.0])
    with pytest.raises(ValueError, match="a has layout torch.sparse_coo"):
        shares_storage(torch.zeros(2).to_sparse(), torch.zeros(2))


# memory_order and storage_elements


def test_memory_order_transpose():
    x = torch.arange(12).view(3, 4)
    assert memory_order(x).tolist() == x.tolist()
    assert memory_order(x.T).tolist() == x.T.tolist()


def test_memory_order_offset_and_expand():
    x = torch.arange(12).view(3, 4)
    assert memory_order(x[1:, 1]).tolist() == [5, 9]
    assert memory_order(torch.arange(3).expand(2, 3)).tolist() == [[0, 1, 2], [0, 1, 2]]
    assert memory_order(torch.tensor(7.0)).item() == 0


@settings(max_examples=300, deadline=None)
@given(strided_layouts())
def test_memory_order_matches_as_strided(layout):
    shape, strides, offset = layout
    tensor = make_strided(shape, strides, offset)  # values equal storage indices
    order = memory_order(tensor)
    assert order.shape == tensor.shape
    assert order.dtype == torch.int64
    assert torch.equal(order, tensor)


def test_storage_elements_of_slice():
    x = torch.arange(10.0)
    window = x[3:6]
    assert storage_elements(window).tolist() == x.tolist()
    assert torch.equal(storage_elements(window)[memory_order(window)], window)


def test_helpers_reject_non_tensor():
    with pytest.raises(ValueError, match="tensor is a ndarray"):
        memory_order(np.zeros(3))
    with pytest.raises(ValueError, match="tensor is a list"):
        storage_elements([1, 2])


# drawings


def texts(ax):
    return [t.get_text() for t in ax.texts]


def test_draw_logical_labels_row_major():
    x = torch.arange(6).view(2, 3)
    fig, ax = plt.subplots()
    draw_logical(x.T, ax)
    assert texts(ax) == ["0", "3", "1", "4", "2", "5"]
    assert ax.get_xlabel() == "dim 1 index"
    plt.close(fig)


def test_draw_memory_transpose_positions():
    x = torch.arange(6).view(2, 3)
    fig, ax = plt.subplots()
    draw_memory(x.T, ax)
    values, positions = texts(ax)[:6], texts(ax)[6:]
    assert values == ["0", "1", "2", "3", "4", "5"]  # memory is unchanged by the transpose
    assert positions == ["0", "2", "4", "1", "3", "5"]
    assert ax.get_xlabel() == "storage index (elements of 8 bytes)"
    plt.close(fig)


def test_draw_memory_expand_and_step():
    fig, ax = plt.subplots()
    draw_memory(torch.arange(3.0).expand(2, 3), ax)
    assert texts(ax) == ["0", "1", "2", "0,3", "1,4", "2,5"]
    ax.clear()
    draw_memory(torch.arange(5)[1::2], ax)
    assert texts(ax) == ["0", "1", "2", "3", "4", "", "0", "", "1", ""]
    plt.close(fig)


def test_draw_layouts_panels():
    x = torch.arange(6).view(2, 3)
    fig = draw_layouts({"x": x, "x.T": x.T})
    axes = fig.get_axes()
    assert len(axes) == 4
    assert axes[0].get_title() == "x\nshape (2, 3), stride (3, 1)"
    assert axes[3].get_title() == "storage of x.T\noffset 0, is_contiguous() = False"
    plt.close(fig)


def test_draw_rejects_bad_tensors():
    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match=r"shape \(2, 2, 2\)"):
        draw_logical(torch.zeros(2, 2, 2), ax)
    with pytest.raises(ValueError, match=f"at most {MAX_DRAWN_STORAGE_ELEMENTS}"):
        draw_memory(torch.zeros(10, 10), ax)
    with pytest.raises(ValueError, match="non-empty dict"):
        draw_layouts({})
    plt.close(fig)
