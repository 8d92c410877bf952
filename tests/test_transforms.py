"""``retrograd.data.transforms.RandomShift``: torchvision's RandomCrop(padding) on a whole batch."""

from __future__ import annotations

import numpy as np
import pytest

import retrograd as rg
from retrograd.data.transforms import RandomShift


def _shift_of(original: np.ndarray, shifted: np.ndarray, m: int) -> tuple[int, ...]:
    """The one offset that turns ``original`` (C, *spatial) into ``shifted``, zero fill."""
    spatial = original.shape[1:]
    found = []
    for offset in np.ndindex(*(2 * m + 1,) * len(spatial)):
        padded = np.pad(original, [(0, 0)] + [(m, m)] * len(spatial))
        window = tuple(slice(o, o + n) for o, n in zip(offset, spatial, strict=True))
        if np.array_equal(padded[(slice(None), *window)], shifted):
            found.append(tuple(m - o for o in offset))
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize("shape", [(64, 2, 5, 7), (64, 3, 9)], ids=["images", "sequences"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_each_sample_is_its_own_shift_of_the_input_with_shape_and_dtype_kept(shape, dtype):
    # Distinct positive values, so that every shift of a sample is told apart from the others.
    x = (np.arange(np.prod(shape)).reshape(shape) + 1).astype(dtype)
    out = RandomShift(1, generator=rg.Generator(3))(x)
    assert out.shape == x.shape and out.dtype == dtype
    shifts = [_shift_of(x[i], out[i], 1) for i in range(len(x))]
    assert all(max(abs(s) for s in shift) <= 1 for shift in shifts)
    # 64 draws of 9 (or 3) equally likely offsets: every one appears.
    assert len(set(shifts)) == 3 ** (len(shape) - 2)


def test_the_shifts_are_uniform_like_random_crop_with_padding():
    # torchvision's RandomCrop(size, padding=m): the window's corner uniform in 0..2m per axis.
    x = np.arange(16, dtype=np.float64).reshape(1, 1, 4, 4) + 1
    out = RandomShift(2, generator=rg.Generator(0))(np.repeat(x, 5000, axis=0))
    counts = np.bincount([_shift_of(x[0], o, 2)[0] + 2 for o in out], minlength=5)
    assert counts.sum() == 5000
    np.testing.assert_allclose(counts / 5000, 0.2, atol=0.025)


def test_what_comes_in_is_the_fill_one_value_per_channel():
    x = np.zeros((200, 2, 3, 3), dtype=np.float32)
    out = RandomShift(1, fill=[5.0, -1.0], generator=rg.Generator(0))(x)
    assert set(np.unique(out[:, 0])) <= {0.0, 5.0} and set(np.unique(out[:, 1])) <= {0.0, -1.0}
    # A sample shifted by (0, 0) keeps every zero; the others get one row or column of fill.
    moved = (out[:, 0] == 5.0).any(axis=(1, 2))
    assert 0 < moved.sum() < len(x)
    np.testing.assert_array_equal(out[:, 1] == -1.0, out[:, 0] == 5.0)


def test_a_tensor_gives_a_tensor_and_the_input_is_not_changed():
    x = rg.randn(8, 1, 4, 4)
    before = x.array.copy()
    out = RandomShift(1, generator=rg.Generator(0))(x)
    assert isinstance(out, rg.Tensor) and out.shape == x.shape and out.dtype == x.dtype
    np.testing.assert_array_equal(x.array, before)


def test_the_same_seed_draws_the_same_shifts_and_another_seed_others():
    x = np.random.default_rng(0).normal(size=(32, 1, 8, 8))
    first = RandomShift(1, generator=rg.Generator(7))(x)
    np.testing.assert_array_equal(first, RandomShift(1, generator=rg.Generator(7))(x))
    assert not np.array_equal(first, RandomShift(1, generator=rg.Generator(8))(x))


def test_the_global_generator_is_the_default_and_manual_seed_repeats_it():
    x = np.random.default_rng(0).normal(size=(32, 1, 8, 8))
    shift = RandomShift(1)
    rg.manual_seed(5)
    first = shift(x)
    assert not np.array_equal(first, shift(x))  # the stream moved on
    rg.manual_seed(5)
    np.testing.assert_array_equal(first, shift(x))


def test_max_shift_zero_returns_an_equal_copy():
    x = np.ones((3, 1, 4, 4))
    out = RandomShift(0)(x)
    np.testing.assert_array_equal(out, x)
    assert out is not x


@pytest.mark.parametrize(
    ("kwargs", "error", "fragment"),
    [
        ({"max_shift": -1}, ValueError, "max_shift must be an int >= 0, got -1"),
        ({"max_shift": 1.5}, ValueError, "max_shift must be an int >= 0, got 1.5"),
        ({"fill": float("nan")}, ValueError, "fill must be a finite number"),
        ({"fill": [[1.0]]}, ValueError, "fill must be a finite number"),
        ({"generator": np.random.default_rng(0)}, TypeError, "retrograd.Generator or None"),
    ],
)
def test_bad_arguments_are_refused_naming_the_value(kwargs, error, fragment):
    with pytest.raises(error, match="RandomShift: ") as info:
        RandomShift(**kwargs)
    assert fragment in str(info.value)


@pytest.mark.parametrize("shape", [(8, 64), (2, 1, 1, 8, 8)])
def test_a_batch_without_channels_and_positions_is_refused_naming_its_shape(shape):
    with pytest.raises(ValueError, match=r"\(N, C, L\) or \(N, C, H, W\), got shape"):
        RandomShift(1)(np.zeros(shape))


def test_a_fill_per_channel_must_match_the_channels():
    with pytest.raises(ValueError, match="fill has 2 values but the batch has 3 channels"):
        RandomShift(1, fill=[0.0, 1.0])(np.zeros((4, 3, 8, 8)))
