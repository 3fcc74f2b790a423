"""MSE and PSNR against scikit-image, their properties, bad input, and their registry entries."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from skimage.metrics import mean_squared_error, peak_signal_noise_ratio

import imgsim_helpers as h
from imgsim_helpers.core.errors import (
    ImageTypeError,
    InvalidImageError,
    InvalidParameterError,
    ShapeMismatchError,
)
from imgsim_helpers.metrics.pixel_error import MSE_FLOOR, mse, psnr, psnr_score
from imgsim_helpers.registry import build_method

ASTRONAUT = h.course_image("astronaut", max_side=96)
NOISY = h.apply_transform(ASTRONAUT, "noise", 20, seed=0)
COFFEE = h.resize(h.course_image("coffee", max_side=96), ASTRONAUT.shape[:2])


@pytest.mark.parametrize("other", [NOISY, COFFEE, h.apply_transform(ASTRONAUT, "brightness", 40)])
def test_equal_to_scikit_image_on_uint8(other):
    assert mse(ASTRONAUT, other) == pytest.approx(mean_squared_error(ASTRONAUT, other), rel=1e-12)
    assert psnr(ASTRONAUT, other) == pytest.approx(peak_signal_noise_ratio(ASTRONAUT, other), rel=1e-12)


def test_equal_to_scikit_image_on_floats_and_gray():
    a, b = h.to_float(h.to_gray(ASTRONAUT)), h.to_float(h.to_gray(NOISY))
    assert mse(a, b) == pytest.approx(mean_squared_error(a, b), rel=1e-12)
    assert psnr(a, b) == pytest.approx(peak_signal_noise_ratio(a, b, data_range=1.0), rel=1e-12)
    assert psnr(a * 255, b * 255, data_range=255) == pytest.approx(psnr(h.to_gray(ASTRONAUT), h.to_gray(NOISY)), abs=0.01)


def test_known_values():
    zeros = np.zeros((4, 4), np.uint8)
    assert mse(zeros, zeros + 10) == 100.0
    assert psnr(zeros, zeros + 10) == pytest.approx(10 * math.log10(255**2 / 100))
    # a brightness offset of c gray levels (no clipping) is an MSE of exactly c²
    mid = np.full((8, 8, 3), 100, np.uint8)
    assert mse(mid, mid + 40) == 1600.0


def test_identical_images():
    assert mse(ASTRONAUT, ASTRONAUT) == 0.0
    assert psnr(ASTRONAUT, ASTRONAUT) == math.inf
    assert psnr_score(ASTRONAUT, ASTRONAUT) == pytest.approx(10 * math.log10(255**2 / MSE_FLOOR))
    assert math.isfinite(psnr_score(ASTRONAUT, ASTRONAUT))


def test_psnr_score_equals_psnr_for_different_images():
    one_off = ASTRONAUT.copy()
    one_off[0, 0, 0] ^= 1  # the smallest possible change
    assert psnr_score(ASTRONAUT, one_off) == psnr(ASTRONAUT, one_off)
    assert psnr_score(ASTRONAUT, one_off) < psnr_score(ASTRONAUT, ASTRONAUT)


pairs = st.tuples(st.integers(2, 12), st.integers(2, 12)).flatmap(
    lambda shape: st.tuples(arrays(np.uint8, shape), arrays(np.uint8, shape))
)


@settings(max_examples=60, deadline=None)
@given(pairs)
def test_symmetric_non_negative_and_psnr_falls_as_mse_rises(pair):
    a, b = pair
    assert mse(a, b) == mse(b, a) >= 0.0
    assert psnr(a, b) == psnr(b, a)
    assert (mse(a, b) == 0.0) == np.array_equal(a, b)
    if not np.array_equal(a, b):
        assert psnr(a, b) == pytest.approx(10 * math.log10(255**2 / mse(a, b)))


def test_bad_input():
    with pytest.raises(ShapeMismatchError, match="align_pair"):
        mse(ASTRONAUT, ASTRONAUT[:-1])
    with pytest.raises(ShapeMismatchError):
        psnr(ASTRONAUT, h.to_gray(ASTRONAUT))
    rgba = np.dstack([ASTRONAUT, np.full(ASTRONAUT.shape[:2], 255, np.uint8)])
    with pytest.raises(InvalidImageError, match="RGBA"):
        mse(rgba, rgba)
    with pytest.raises(ImageTypeError, match="to_float"):
        psnr(ASTRONAUT, h.to_float(ASTRONAUT))
    with pytest.raises(InvalidImageError, match="data_range"):
        psnr(h.to_float(ASTRONAUT) * 255, h.to_float(NOISY) * 255)
    for bad in (0, -1, float("nan"), True, "255"):
        with pytest.raises(InvalidParameterError, match="data_range"):
            psnr(ASTRONAUT, NOISY, data_range=bad)
    with pytest.raises(ImageTypeError):
        mse(ASTRONAUT.astype(np.int64), NOISY.astype(np.int64))
    nan = h.to_float(ASTRONAUT)
    nan[0, 0, 0] = np.nan
    with pytest.raises(InvalidImageError):
        mse(nan, nan)


def test_sixteen_bit_uses_its_own_range():
    a = ASTRONAUT.astype(np.uint16) * 257
    b = NOISY.astype(np.uint16) * 257
    assert psnr(a, b) == pytest.approx(peak_signal_noise_ratio(a, b), rel=1e-12)
    assert psnr(a, b) == pytest.approx(psnr(ASTRONAUT, NOISY), rel=1e-12)


@pytest.mark.parametrize("name", ["mse", "psnr"])
def test_registry_scores_rise_with_similarity(name):
    method = build_method(name)
    assert method.family == "pixel"
    identical = method.similarity(ASTRONAUT, ASTRONAUT)
    assert math.isfinite(identical)
    assert identical > method.similarity(ASTRONAUT, NOISY) > method.similarity(ASTRONAUT, COFFEE)


@pytest.mark.parametrize("name", ["mse", "psnr"])
def test_registry_matrix_equals_pairwise_compare(name):
    method = build_method(name, size=64)
    feats = method.features([ASTRONAUT, NOISY, COFFEE])
    matrix = method.matrix(feats, feats)
    for i in range(3):
        for j in range(3):
            assert matrix[i, j] == pytest.approx(method.compare(feats[i], feats[j]), abs=1e-9)


def test_registry_mapping_documented_values():
    a, b = h.to_gray(ASTRONAUT), h.to_gray(NOISY)
    mse_method, psnr_method = build_method("mse", size=96), build_method("psnr", size=96)
    assert mse_method.similarity(a, b) == pytest.approx(-mse(a, b))
    assert psnr_method.similarity(a, b) == pytest.approx(psnr(a, b))


def test_mse_and_psnr_rank_a_gallery_alike():
    gallery = [ASTRONAUT, NOISY, COFFEE, h.apply_transform(ASTRONAUT, "blur", 2), h.apply_transform(ASTRONAUT, "shift", 4)]
    queries = [h.apply_transform(ASTRONAUT, "jpeg", 20), h.apply_transform(COFFEE, "noise", 10)]
    by_mse, by_psnr = (build_method(n) for n in ("mse", "psnr"))
    order_mse = np.argsort(-by_mse.matrix(by_mse.features(queries), by_mse.features(gallery)), axis=1)
    order_psnr = np.argsort(-by_psnr.matrix(by_psnr.features(queries), by_psnr.features(gallery)), axis=1)
    assert np.array_equal(order_mse, order_psnr)


def test_registry_mse_of_identical_images_is_plain_zero():
    method = build_method("mse", size=32)
    score = method.similarity(ASTRONAUT, ASTRONAUT)
    assert score == 0.0 and math.copysign(1.0, score) == 1.0, "not -0.0, which prints as '-0.0000'"
    feats = method.features([ASTRONAUT])
    assert math.copysign(1.0, method.matrix(feats, feats)[0, 0]) == 1.0
