"""Tests of imgsim_helpers.lessons.ssim_drawbacks: sweeps, foreground-only SSIM, letterboxing."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from numpy.lib.stride_tricks import sliding_window_view
from skimage import data

import imgsim_helpers.lessons.ssim_drawbacks as drawbacks_module
from imgsim_helpers.core.errors import (
    EmptyInputError,
    ImageTooSmallError,
    InvalidImageError,
    InvalidParameterError,
    ShapeMismatchError,
    UnknownMethodError,
)
from imgsim_helpers.images.io import composite_alpha
from imgsim_helpers.lessons.ssim_drawbacks import (
    letterbox,
    masked_ssim,
    plot_sweeps,
    sweep_transforms,
    window_mask,
)
from imgsim_helpers.metrics.histograms import histogram_similarity
from imgsim_helpers.metrics.structural_similarity import ssim

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def small_rgb():
    return data.astronaut()[::4, ::4].copy()  # 128×128×3


@pytest.fixture(scope="module")
def camera():
    return data.camera()[128:256, 128:256].copy()


# --------------------------------------------------------------------------- sweeps


def test_sweep_shape_identity_and_order(small_rgb):
    sweeps = {"shift": [0, 2, 4], "brightness": [0, 40]}
    out = sweep_transforms(small_rgb, sweeps, {"SSIM": ssim, "hist": histogram_similarity})
    assert list(out) == ["shift", "brightness"]
    for name, strengths in sweeps.items():
        assert list(out[name]) == ["SSIM", "hist"]
        for values in out[name].values():
            assert len(values) == len(strengths)
            assert all(type(v) is float for v in values)
            assert values[0] == pytest.approx(1.0, abs=1e-9)
    shift = out["shift"]["SSIM"]
    assert shift[0] > shift[1] > shift[2], "SSIM falls as the shift grows"
    assert out["brightness"]["hist"][1] < out["brightness"]["SSIM"][1], "brightness moves every histogram bin"


def test_sweep_calls_metric_with_original_first(camera):
    calls = []

    def spy(a, b):
        calls.append((a is camera, b.shape))
        return 0.5

    sweep_transforms(camera, {"crop": [0.0, 0.5]}, {"spy": spy})
    assert [first for first, _ in calls] == [True, True]
    assert calls[1][1] == (64, 64), "the transformed copy is the second argument"


def test_sweep_passes_the_seed(camera):
    def mean_abs(a, b):
        return float(np.abs(a.astype(int) - b.astype(int)).mean())

    once = sweep_transforms(camera, {"noise": [20]}, {"d": mean_abs}, seed=3)
    again = sweep_transforms(camera, {"noise": [20]}, {"d": mean_abs}, seed=3)
    other = sweep_transforms(camera, {"noise": [20]}, {"d": mean_abs}, seed=4)
    assert once == again
    assert once != other


def test_sweep_accepts_numpy_strengths(camera):
    out = sweep_transforms(camera, {"blur": np.array([0.0, 1.0])}, {"SSIM": ssim})
    assert out["blur"]["SSIM"][0] == 1.0


def test_sweep_checks_names_before_working(camera):
    calls = []

    def spy(a, b):
        calls.append(1)
        return 1.0

    with pytest.raises(UnknownMethodError, match="shear"):
        sweep_transforms(camera, {"shift": [1], "shear": [1]}, {"spy": spy})
    assert calls == []


@pytest.mark.parametrize(
    "sweeps, metrics, error",
    [
        ({}, {"SSIM": ssim}, EmptyInputError),
        ({"shift": []}, {"SSIM": ssim}, EmptyInputError),
        ({"shift": [1]}, {}, EmptyInputError),
        ({"shift": [1]}, {"SSIM": "ssim"}, InvalidParameterError),
        ({"shift": "12"}, {"SSIM": ssim}, InvalidParameterError),
        ({"shift": 4}, {"SSIM": ssim}, InvalidParameterError),
        ({"jpeg": [0]}, {"SSIM": ssim}, InvalidParameterError),  # quality below 1
        ([("shift", [1])], {"SSIM": ssim}, EmptyInputError),
    ],
)
def test_sweep_bad_input(camera, sweeps, metrics, error):
    with pytest.raises(error):
        sweep_transforms(camera, sweeps, metrics)


def test_sweep_bad_image():
    with pytest.raises(InvalidImageError):
        sweep_transforms(np.zeros((4, 4, 5), np.uint8), {"shift": [1]}, {"SSIM": ssim})


# --------------------------------------------------------------------------- plotting


def test_plot_sweeps_panels_legend_and_direction():
    import matplotlib.pyplot as plt

    sweeps = {"shift": [0, 2], "jpeg": [95, 20], "contrast": [1.0, 0.5]}
    results = {name: {"a": [1.0, 0.5], "b": [1.0, 0.9]} for name in sweeps}
    fig = plot_sweeps(results, sweeps, cols=2)
    visible = [ax for ax in fig.axes if ax.axison]
    assert len(visible) == 3
    assert visible[0].get_legend() is not None
    assert all(ax.get_legend() is None for ax in visible[1:])
    assert not visible[0].xaxis_inverted()
    assert visible[1].xaxis_inverted() and visible[2].xaxis_inverted(), "stronger is to the right"
    assert "shift" in visible[0].get_xlabel()
    plt.close(fig)


def test_plot_sweeps_errors():
    with pytest.raises(EmptyInputError):
        plot_sweeps({}, {})
    with pytest.raises(ShapeMismatchError, match="blur"):
        plot_sweeps({"blur": {"a": [1.0]}}, {"shift": [0]})
    with pytest.raises(ShapeMismatchError):
        plot_sweeps({"blur": {"a": [1.0, 0.5, 0.2]}}, {"blur": [0, 1]})


# --------------------------------------------------------------------------- window_mask


def test_window_mask_small_example():
    region = np.zeros((7, 7), bool)
    region[1:6, 1:6] = True
    whole = window_mask(region, win_size=3)
    centred = window_mask(region, win_size=3, whole_window=False)
    assert whole.shape == centred.shape == (5, 5)
    assert whole.sum() == 9 and centred.sum() == 25
    assert whole[1:4, 1:4].all()


@settings(max_examples=40, deadline=None)
@given(
    arrays(np.bool_, st.tuples(st.integers(3, 14), st.integers(3, 14))),
    st.sampled_from([3, 5]),
)
def test_window_mask_matches_brute_force(mask, win_size):
    if min(mask.shape) < win_size:
        with pytest.raises(ImageTooSmallError):
            window_mask(mask, win_size=win_size)
        return
    whole = window_mask(mask, win_size=win_size)
    brute = sliding_window_view(mask, (win_size, win_size)).all(axis=(-2, -1))
    np.testing.assert_array_equal(whole, brute)
    centred = window_mask(mask, win_size=win_size, whole_window=False)
    r = win_size // 2
    np.testing.assert_array_equal(centred, mask[r : mask.shape[0] - r, r : mask.shape[1] - r])
    assert not (whole & ~centred).any(), "a window wholly inside the region is centred in it"


@pytest.mark.parametrize(
    "mask, win_size",
    [
        (np.ones((8, 8), np.uint8), 3),
        (np.ones((8, 8, 1), bool), 3),
        ([[True] * 8] * 8, 3),
        (np.ones((8, 8), bool), 4),
        (np.ones((8, 8), bool), True),
        (np.ones((8, 8), bool), 1),
    ],
)
def test_window_mask_bad_input(mask, win_size):
    with pytest.raises(InvalidParameterError):
        window_mask(mask, win_size=win_size)


# --------------------------------------------------------------------------- masked_ssim


def test_masked_ssim_everything_equals_ssim(small_rgb):
    noisy = np.clip(small_rgb + np.random.default_rng(0).normal(0, 15, small_rgb.shape), 0, 255).astype(np.uint8)
    everything = np.ones(small_rgb.shape[:2], bool)
    assert masked_ssim(small_rgb, noisy, everything) == pytest.approx(ssim(small_rgb, noisy), abs=1e-12)
    uniform = masked_ssim(small_rgb, noisy, everything, window="uniform", win_size=7)
    assert uniform == pytest.approx(ssim(small_rgb, noisy, window="uniform", win_size=7), abs=1e-12)


def test_masked_ssim_ignores_a_different_background():
    rgba = np.zeros((80, 90, 4), np.uint8)
    rgba[20:60, 25:70, :3] = data.astronaut()[100:140, 200:245]
    rgba[20:60, 25:70, 3] = 255
    on_white = composite_alpha(rgba, background=(255, 255, 255))
    on_black = composite_alpha(rgba, background=(0, 0, 0))
    foreground = rgba[..., 3] > 0
    assert ssim(on_white, on_black) < 0.6
    assert masked_ssim(on_white, on_black, foreground) == pytest.approx(1.0, abs=1e-12)
    centred = masked_ssim(on_white, on_black, foreground, whole_window=False)
    assert ssim(on_white, on_black) < centred < 1.0, "windows at the outline still see both backgrounds"


def test_masked_ssim_full_and_symmetry(camera):
    other = np.clip(camera.astype(int) + 30, 0, 255).astype(np.uint8)
    mask = np.zeros(camera.shape, bool)
    mask[30:100, 10:90] = True
    score, smap, used = masked_ssim(camera, other, mask, full=True)
    assert smap.shape == used.shape == (118, 118)
    assert score == pytest.approx(float(smap[used].mean()))
    assert score == pytest.approx(masked_ssim(other, camera, mask), abs=1e-12)
    assert -1.0 <= score <= 1.0


def test_masked_ssim_errors(camera):
    mask = np.ones(camera.shape, bool)
    with pytest.raises(ShapeMismatchError):
        masked_ssim(camera, camera, mask[:-1])
    with pytest.raises(EmptyInputError):
        masked_ssim(camera, camera, np.zeros(camera.shape, bool))
    thin = np.zeros(camera.shape, bool)
    thin[:, 50:55] = True  # 5 columns: no 11×11 window fits
    with pytest.raises(EmptyInputError, match="whole_window=False"):
        masked_ssim(camera, camera, thin)
    assert masked_ssim(camera, camera, thin, whole_window=False) == 1.0
    with pytest.raises(InvalidParameterError):
        masked_ssim(camera, camera, mask.astype(np.uint8))
    with pytest.raises(ShapeMismatchError):
        masked_ssim(camera, camera[:-1], mask)
    rgba = np.zeros(camera.shape + (4,), np.uint8)
    with pytest.raises(InvalidImageError, match="RGBA"):
        masked_ssim(rgba, rgba, mask)


# --------------------------------------------------------------------------- letterbox


def test_letterbox_keeps_aspect_and_fills():
    image = np.zeros((30, 40, 3), np.uint8)  # 4:3
    out = letterbox(image, (60, 100), fill=(255, 0, 0))  # fits to 60×80, bars of 10 px left and right
    assert out.shape == (60, 100, 3) and out.dtype == np.uint8
    content = (out != [255, 0, 0]).any(axis=2)
    rows, cols = np.nonzero(content)
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (0, 59, 10, 89)
    assert out[0, 0].tolist() == [255, 0, 0]


def test_letterbox_same_aspect_is_a_resize():
    image = data.camera()[::8, ::8]  # 64×64
    out = letterbox(image, (32, 32))
    assert out.shape == (32, 32)
    assert (out != 255).mean() > 0.5, "no padding when the aspect ratios agree"


@settings(max_examples=40, deadline=None)
@given(st.integers(8, 60), st.integers(8, 60), st.integers(8, 80), st.integers(8, 80))
def test_letterbox_property(h, w, th, tw):
    image = np.zeros((h, w), np.uint8)
    out = letterbox(image, (th, tw), fill=255)
    assert out.shape == (th, tw)
    rows, cols = np.nonzero(out == 0)
    inner_h, inner_w = rows.max() - rows.min() + 1, cols.max() - cols.min() + 1
    assert inner_h == th or inner_w == tw, "one side fills the target"
    assert abs(inner_h / inner_w - h / w) <= (h / w) * (1 / inner_h + 1 / inner_w) + 1e-9, "aspect kept to a pixel"


def test_letterbox_rgba_and_errors():
    rgba = np.zeros((10, 20, 4), np.uint8)
    assert letterbox(rgba, (20, 20)).shape == (20, 20, 4)
    for size in [(0, 10), (10,), "10x10", (10, -1), None]:
        with pytest.raises(InvalidParameterError):
            letterbox(rgba, size)
    with pytest.raises(InvalidImageError):
        letterbox(np.zeros((4, 4, 2), np.uint8), (8, 8))


# --------------------------------------------------------------------------- equal MSE


@pytest.mark.parametrize("transform, low, high", [("noise", 0, 60), ("blur", 0, 20), ("contrast", 1.0, 0.3), ("brightness", 0, 100)])
def test_match_mse_lands_near_the_target(camera, transform, low, high):
    from imgsim_helpers.images.transforms import apply_transform
    from imgsim_helpers.metrics.pixel_error import mse

    matched = drawbacks_module.match_mse(camera, transform, 400.0, low=low, high=high, seed=3)
    assert matched.transform == transform
    assert matched.mse == pytest.approx(400.0, rel=0.05)
    assert matched.mse == mse(camera, matched.image)
    assert np.array_equal(matched.image, apply_transform(camera, transform, matched.strength, seed=3))
    assert min(low, high) <= matched.strength <= max(low, high)


def test_match_mse_bad_input(camera):
    with pytest.raises(UnknownMethodError):
        drawbacks_module.match_mse(camera, "sharpen", 100.0, low=0, high=1)
    for target in (0, -5, "100", True):
        with pytest.raises(InvalidParameterError, match="target"):
            drawbacks_module.match_mse(camera, "noise", target, low=0, high=40)
    with pytest.raises(InvalidParameterError, match="bracket"):
        drawbacks_module.match_mse(camera, "noise", 1e6, low=0, high=5)
    with pytest.raises(InvalidParameterError, match="steps"):
        drawbacks_module.match_mse(camera, "noise", 100.0, low=0, high=40, steps=0)
