"""Bad input to the metrics (histograms, SSIM, FSIM, the registry, Siamese training): issue 15's Low items.

Each test reproduces one case a hostile but fair user found: an untyped
error, a silently accepted value, a NaN or overflow from an extreme option,
or a declared property (EMD's symmetry) that did not hold.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from skimage import data

from imgsim_helpers.core.errors import (
    EmptyInputError,
    ImageTypeError,
    InvalidImageError,
    InvalidParameterError,
)
from imgsim_helpers.metrics.feature_similarity import fsim_phasepack_recipe
from imgsim_helpers.metrics.histograms import (
    HISTOGRAM_METHODS,
    color_histogram,
    compare_histograms,
    pairwise_histogram_similarity,
)
from imgsim_helpers.metrics.structural_similarity import ms_ssim, ssim, ssim_components, ssim_window
from imgsim_helpers.registry import similarity

RNG = np.random.default_rng(15)
SMALL = RNG.integers(0, 256, (16, 16, 3), dtype=np.uint8)
GRAY = data.camera()[::4, ::4]  # 128×128 uint8


# --------------------------------------------------------------------------- histograms


@pytest.mark.parametrize("bins", [None, "8", 8.0, [8, None, 8], object()])
def test_color_histogram_bins_of_the_wrong_type_is_a_typed_error(bins):
    with pytest.raises(InvalidParameterError, match="bins must be an integer"):
        color_histogram(SMALL, bins=bins)


@pytest.mark.parametrize("empty", [np.zeros((0, 8)), np.zeros((0, 4, 4, 4)), []])
def test_pairwise_histograms_of_nothing_is_a_typed_error(empty):
    with pytest.raises(EmptyInputError, match="holds no histograms"):
        pairwise_histogram_similarity(empty)
    with pytest.raises(EmptyInputError, match="holds no histograms"):
        pairwise_histogram_similarity(np.ones((2, 8)), empty)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_a_mask_with_nan_or_infinity_is_refused(bad):
    mask = np.ones(SMALL.shape[:2])
    mask[3, 4] = bad
    with pytest.raises(InvalidParameterError, match="mask"):
        color_histogram(SMALL, mask=mask)


def test_a_mask_of_text_is_refused():
    with pytest.raises(InvalidParameterError, match="mask"):
        color_histogram(SMALL, mask=np.full(SMALL.shape[:2], "yes"))


@pytest.mark.parametrize("on", [True, 1, 1.0, 255])
def test_numeric_masks_count_their_non_zero_pixels_as_opencv_does(on):
    mask = np.zeros(SMALL.shape[:2], type(on) if not isinstance(on, bool) else bool)
    mask[:8] = on
    np.testing.assert_array_equal(color_histogram(SMALL, mask=mask), color_histogram(SMALL[:8]))


@pytest.mark.parametrize("tolerance", [math.nan, math.inf, -1.0, "3", None])
def test_ignore_tolerance_must_be_a_finite_non_negative_number(tolerance):
    with pytest.raises(InvalidParameterError, match="ignore_tolerance"):
        color_histogram(SMALL, ignore=(255, 255, 255), ignore_tolerance=tolerance)


def test_emd_is_exactly_symmetric_as_declared():
    assert HISTOGRAM_METHODS["emd"].symmetric
    images = [data.astronaut(), data.chelsea(), data.coffee(), data.rocket()]
    hists = [color_histogram(image, bins=8) for image in images]
    for i, first in enumerate(hists):
        for second in hists[i + 1 :]:
            assert compare_histograms(first, second, method="emd") == compare_histograms(second, first, method="emd")
    matrix = pairwise_histogram_similarity(hists, method="emd")
    np.testing.assert_array_equal(matrix, matrix.T)
    # The matrix holds the same values as one comparison at a time.
    assert matrix[0, 1] == compare_histograms(hists[0], hists[1], method="emd")


# --------------------------------------------------------------------------- SSIM and the registry


def test_similarity_with_mixed_dtypes_does_not_ask_for_an_option_it_cannot_take():
    """similarity() has no data_range: it compares a float image with a uint8 one like two uint8 images."""
    a, b = data.astronaut()[::4, ::4], data.coffee()[:128, :128]
    for method in ("ssim", "ms_ssim", "psnr", "mse", "fsim"):
        assert similarity(a / 255.0, b, method=method) == similarity(a, b, method=method)


def test_ssim_message_for_mixed_dtypes_says_what_to_do_with_and_without_data_range():
    with pytest.raises(ImageTypeError) as caught:
        ssim(GRAY / 255.0, GRAY)
    message = str(caught.value)
    # data_range is offered only to callers of ssim() itself: similarity() cannot pass it.
    assert "to_float()" in message and "to_uint8()" in message and "calling ssim()/ms_ssim() directly" in message


@pytest.mark.parametrize("flag", ["no", 0, 1, None, "False"])
@pytest.mark.parametrize("function", [ssim, ssim_components])
def test_downsample_must_be_a_bool(function, flag):
    with pytest.raises(InvalidParameterError, match="downsample must be True or False"):
        function(GRAY, GRAY, downsample=flag)


@pytest.mark.parametrize("flag", ["no", 1, None])
@pytest.mark.parametrize("function", [ssim, ms_ssim])
def test_full_must_be_a_bool(function, flag):
    image = data.camera()[:192, :192]
    with pytest.raises(InvalidParameterError, match="full must be True or False"):
        function(image, image, full=flag)


@pytest.mark.parametrize("sigma", [1e-300, 1e-5, 1e300, 1e7])
@pytest.mark.parametrize("function", [ssim, ssim_components, ssim_window])
def test_extreme_sigma_is_a_typed_error_not_nan_or_overflow(function, sigma):
    args = () if function is ssim_window else (GRAY, GRAY)
    with pytest.raises(InvalidParameterError, match="sigma must lie in"):
        function(*args, sigma=sigma)


@pytest.mark.parametrize("sigma", [0.01, 0.3, 1.5, 100.0, 1000.0])
def test_sigma_over_the_whole_accepted_range_gives_a_finite_score(sigma):
    noisy = np.clip(GRAY + RNG.normal(0, 10, GRAY.shape), 0, 255).astype(np.uint8)
    assert ssim(GRAY, GRAY, sigma=sigma) == pytest.approx(1.0, abs=1e-12)
    assert 0.0 < ssim(GRAY, noisy, sigma=sigma) < 1.0


# --------------------------------------------------------------------------- FSIM


def test_fsim_through_the_registry_scores_uint8_and_its_float_copy_alike():
    a, b = data.astronaut()[::2, ::2], data.chelsea()[:256, :256]
    assert similarity(a / 255.0, b / 255.0, method="fsim") == similarity(a, b, method="fsim")


@pytest.mark.parametrize("value", [0, 128, 255])
def test_phasepack_recipe_on_identical_flat_images_is_one(value):
    flat = np.full((64, 64), value, np.uint8)
    assert fsim_phasepack_recipe(flat, flat) == 1.0
    assert fsim_phasepack_recipe(np.dstack([flat] * 3), np.dstack([flat] * 3)) == 1.0


def test_phasepack_recipe_on_two_different_flat_images_is_finite():
    score = fsim_phasepack_recipe(np.full((64, 64), 40, np.uint8), np.full((64, 64), 200, np.uint8))
    assert math.isfinite(score)


# --------------------------------------------------------------------------- Siamese training


def test_train_siamese_names_the_layout_for_channels_last_images():
    pytest.importorskip("torch")
    from imgsim_helpers.learned.siamese import EmbeddingNet, train_siamese

    labels = np.repeat(np.arange(4), 4)
    images = RNG.integers(0, 256, (16, 16, 16, 3), dtype=np.uint8)
    for net in (EmbeddingNet(dim=8, width=4), EmbeddingNet(in_channels=3, dim=8, width=4)):
        with pytest.raises(InvalidImageError) as caught:
            train_siamese(net, images, labels, epochs=1, classes_per_batch=2, samples_per_class=2,
                          device="cpu", progress=False)
        message = str(caught.value)
        assert "(N, C, H, W)" in message and "np.moveaxis" in message and "/ 255" in message
    # Validation inputs are checked the same way.
    channels_first = np.moveaxis(images, -1, 1) / 255.0
    with pytest.raises(InvalidImageError, match="np.moveaxis"):
        train_siamese(EmbeddingNet(in_channels=3, dim=8, width=4), channels_first, labels,
                      validation=(images, labels), epochs=1, classes_per_batch=2, samples_per_class=2,
                      device="cpu", progress=False)
