"""Tests of imgsim_helpers.metrics.feature_similarity: FeatureSIM.m parity, properties and bad input."""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pytest
import scipy.signal
from PIL import Image
from skimage import data
from skimage.filters import gaussian

from imgsim_helpers.core import checks
from imgsim_helpers.core.errors import (
    EmptyImageError,
    ImageTooSmallError,
    ImageTypeError,
    InvalidImageError,
    InvalidParameterError,
    ShapeMismatchError,
)
from imgsim_helpers.images.io import load_image, to_gray
from imgsim_helpers.metrics.feature_similarity import (
    LAMBDA,
    FSIMResult,
    _downsample,
    _real_power,
    downsample_factor,
    fsim,
    fsim_compare,
    fsim_features,
    fsim_features_many,
    fsim_phasepack_recipe,
    fsim_reference,
    gradient_magnitude,
)
from imgsim_helpers.metrics.log_gabor import to_intensity_255
from imgsim_helpers.metrics.pixel_error import mse, psnr
from imgsim_helpers.metrics.structural_similarity import ms_ssim, ssim

TID_PAIRS = ("I03", "I04", "I06", "I08", "I19")


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return data.astronaut()  # 512×512 RGB: downsampled by 2, as the reference pairs


@pytest.fixture(scope="module")
def camera() -> np.ndarray:
    return data.camera()


def _noisy(image: np.ndarray, sigma: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(image + rng.normal(0.0, sigma, image.shape), 0, 255).astype(np.uint8)


def _blurred(image: np.ndarray, sigma: float) -> np.ndarray:
    out = gaussian(
        image, sigma=sigma, channel_axis=-1 if image.ndim == 3 else None, preserve_range=True
    )
    return np.round(out).astype(np.uint8)


# --------------------------------------------------------------------------- MATLAB parity


@pytest.mark.reference
def test_goldhill_gif_palette_index_is_gray_level(reference_images):
    for name in ("goldhill.gif", "goldhill_jpeg.gif"):
        raw = (reference_images / name).read_bytes()
        assert raw[10] & 0x80, "a global colour table is expected"
        size = 2 ** ((raw[10] & 7) + 1)
        palette = np.frombuffer(raw[13 : 13 + 3 * size], np.uint8).reshape(-1, 3)
        # The file's own palette is the identity gray ramp, so index = gray level ...
        assert np.array_equal(palette, np.repeat(np.arange(size, dtype=np.uint8)[:, None], 3, 1))
        # ... and the loader returns those indices unchanged (Pillow decodes it as "L").
        with Image.open(reference_images / name) as img:
            assert img.mode in ("L", "P")
            indices = np.asarray(img if img.mode == "L" else img.convert("L"))
        assert np.array_equal(load_image(reference_images / name, mode="gray"), indices)


@pytest.mark.reference
@pytest.mark.parametrize("precision", ["single", "double"])
def test_goldhill_fsim_matches_featuresim_m(reference_images, matlab_values, precision):
    ref = load_image(reference_images / "goldhill.gif", mode="gray")
    dist = load_image(reference_images / "goldhill_jpeg.gif", mode="gray")
    assert ref.shape == (512, 512)
    assert fsim(ref, dist, precision=precision) == pytest.approx(matlab_values["FSIM", "goldhill"], abs=1e-5)


@pytest.mark.reference
@pytest.mark.parametrize("precision", ["single", "double"])
def test_tid2013_i01_fsim_and_fsimc_match_featuresim_m(reference_images, matlab_values, precision):
    ref = load_image(reference_images / "I01.BMP", mode="rgb")
    dist = load_image(reference_images / "i01_01_5.bmp", mode="rgb")
    assert ref.shape == (384, 512, 3)
    assert fsim(ref, dist, precision=precision) == pytest.approx(matlab_values["FSIM", "I01"], abs=1e-5)
    fsimc = fsim(ref, dist, chromatic=True, precision=precision)
    assert fsimc == pytest.approx(matlab_values["FSIMc", "I01"], abs=1e-5)


@pytest.mark.reference
@pytest.mark.parametrize("name", TID_PAIRS)
def test_tid2013_pairs_run_and_are_ordered(reference_images, name):
    ref = load_image(reference_images / "tid2013-pairs" / "ref" / f"{name}.bmp")
    dist = load_image(reference_images / "tid2013-pairs" / "dist" / f"{name}.bmp")
    gray_score = fsim(ref, dist)
    colour_score = fsim(ref, dist, chromatic=True)
    assert 0.0 < colour_score <= gray_score <= 1.0
    assert fsim(dist, ref) == pytest.approx(gray_score, abs=1e-12)


# --------------------------------------------------------------------------- the reference definition


@pytest.mark.parametrize(("chromatic", "crop"), [(False, np.s_[:400, :300]), (True, np.s_[:200, :216])])
def test_fast_path_equals_the_reference(astronaut, chromatic, crop):
    a = astronaut[crop]  # 400 rows: downsampled by 2; 200: not at all
    b = _blurred(_noisy(a, 12), 1.0)
    reference = fsim_reference(to_intensity_255(a), to_intensity_255(b), chromatic=chromatic)
    assert fsim(a, b, chromatic=chromatic, precision="double") == pytest.approx(reference, abs=1e-10)
    assert fsim(a, b, chromatic=chromatic) == pytest.approx(reference, abs=1e-6)


def test_each_image_is_checked_once(astronaut, monkeypatch):
    calls = []
    original = checks.check_image

    def counting(*args, **kwargs):
        calls.append(kwargs.get("name"))
        return original(*args, **kwargs)

    for module in list(sys.modules.values()):  # every module that imported the name
        if getattr(module, "__name__", "").startswith("imgsim_helpers") and getattr(module, "check_image", None) is original:
            monkeypatch.setattr(module, "check_image", counting)
    a = astronaut[:192, :192]
    b = _noisy(a, 10)
    for metric in (fsim, ssim, ms_ssim, mse, psnr, lambda x, y: fsim(x, y, chromatic=True, full=True)):
        calls.clear()
        metric(a, b)
        assert sorted(calls) == ["image1", "image2"], metric


# --------------------------------------------------------------------------- MATLAB building blocks


def test_downsample_factor_uses_matlab_round():
    # 384 / 256 = 1.5 and 640 / 256 = 2.5: halves go up, unlike Python's round.
    sides = (16, 383, 384, 511, 640, 767, 768)
    assert [downsample_factor((n, 4000)) for n in sides] == [1, 1, 2, 2, 3, 3, 3]
    assert downsample_factor((4000, 640, 3)) == 3


def _conv2_same(a: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """MATLAB conv2(a, kernel, 'same'): the full convolution cropped from ceil((m-1)/2)."""
    full = scipy.signal.convolve2d(a, kernel, mode="full")
    r0, c0 = (kernel.shape[0] - 1 + 1) // 2, (kernel.shape[1] - 1 + 1) // 2
    return full[r0 : r0 + a.shape[0], c0 : c0 + a.shape[1]]


@pytest.mark.parametrize("factor", [2, 3, 4, 5])
@pytest.mark.parametrize("shape", [(20, 24), (21, 23), (17, 30)])
def test_downsample_is_matlab_conv2_same_then_every_fth_pixel(factor, shape):
    rng = np.random.default_rng(factor)
    a = rng.uniform(0, 255, shape)
    kernel = np.full((factor, factor), 1.0 / factor**2)
    expected = _conv2_same(a, kernel)[::factor, ::factor]
    np.testing.assert_allclose(_downsample(a, factor), expected, rtol=0, atol=1e-10)
    np.testing.assert_allclose(
        _downsample(np.stack([a, a])[None], factor)[0, 1], expected, atol=1e-10
    )


def test_gradient_magnitude_is_scharr_over_16_with_zero_padding():
    rng = np.random.default_rng(1)
    a = rng.uniform(0, 255, (19, 22))
    dx = np.array([[3, 0, -3], [10, 0, -10], [3, 0, -3]]) / 16
    expected = np.hypot(_conv2_same(a, dx), _conv2_same(a, dx.T))
    np.testing.assert_allclose(gradient_magnitude(a / 255.0), expected, rtol=1e-12, atol=1e-9)
    # A constant image has gradient only on its border, from the zero padding.
    g = gradient_magnitude(np.full((20, 20), 100, np.uint8))
    assert g[1:-1, 1:-1].max() == 0 and g[0, 5] > 0


def test_real_power_is_matlab_real_of_complex_power():
    base = np.array([-0.9, -0.5, -1e-3, 0.0, 1e-3, 0.5, 1.0])
    expected = np.real(base.astype(complex) ** LAMBDA)
    np.testing.assert_allclose(_real_power(base, LAMBDA), expected, rtol=1e-14, atol=1e-15)
    # Not the absolute value: a negative product is damped by cos(0.03 π).
    assert _real_power(np.array([-0.5]), LAMBDA)[0] < _real_power(np.array([0.5]), LAMBDA)[0]


# --------------------------------------------------------------------------- properties


def test_identical_images_give_one(astronaut, camera):
    small = astronaut[::2, ::2]
    assert fsim(camera, camera) == pytest.approx(1.0, abs=1e-12)
    assert fsim(small, small) == pytest.approx(1.0, abs=1e-12)
    assert fsim(small, small.copy(), chromatic=True) == pytest.approx(1.0, abs=1e-12)


def test_symmetric(astronaut):
    a = astronaut[::2, ::2]
    b = _noisy(a, 15)
    assert fsim(a, b) == pytest.approx(fsim(b, a), abs=1e-12)
    assert fsim(a, b, chromatic=True) == pytest.approx(fsim(b, a, chromatic=True), abs=1e-12)


def test_bounds_and_fsimc_never_above_fsim(astronaut):
    a = astronaut[::2, ::2]
    shifted_colour = a.copy()
    shifted_colour[..., 0] = 255 - shifted_colour[..., 0]  # flips the sign of much of I and Q
    for b in (_noisy(a, 40), _blurred(a, 3), shifted_colour, 255 - a):
        score, result = fsim(a, b, chromatic=True, full=True)
        gray = fsim(a, b)
        assert 0.0 <= score <= gray <= 1.0
        assert 0.0 <= result.chromatic_similarity.min() and result.chromatic_similarity.max() <= 1.0


@pytest.mark.parametrize("image_name", ["astronaut", "camera"])
def test_decreases_with_growing_noise(image_name, request):
    image = request.getfixturevalue(image_name)
    scores = [fsim(image, _noisy(image, s)) for s in (3, 10, 25, 60)]
    assert all(x > y for x, y in zip(scores, scores[1:], strict=False)), scores
    if image.ndim == 3:
        colour = [fsim(image, _noisy(image, s), chromatic=True) for s in (3, 25, 60)]
        assert colour[0] > colour[1] > colour[2], colour


@pytest.mark.parametrize("image_name", ["astronaut", "camera"])
def test_decreases_with_growing_blur(image_name, request):
    image = request.getfixturevalue(image_name)
    scores = [fsim(image, _blurred(image, s)) for s in (0.7, 1.5, 3.0, 6.0)]
    assert all(x > y for x, y in zip(scores, scores[1:], strict=False)), scores


def test_float_uint16_and_uint8_versions_agree(astronaut):
    a = astronaut[::2, ::2]
    b = _noisy(a, 20)
    ref = fsim(a, b, chromatic=True)
    assert fsim(a / 255.0, b / 255.0, chromatic=True) == pytest.approx(ref, abs=1e-12)
    assert fsim(a.astype(np.float32) / 255, b.astype(np.float32) / 255, chromatic=True) == (
        pytest.approx(ref, abs=1e-6)
    )
    a16, b16 = a.astype(np.uint16) * 257, b.astype(np.uint16) * 257
    assert fsim(a16, b16, chromatic=True) == pytest.approx(ref, abs=1e-12)


def test_rgb_fsim_uses_unrounded_luma(astronaut):
    a = astronaut[::2, ::2]
    b = _noisy(a, 20)
    luma = [x.astype(np.float64) @ np.array([0.299, 0.587, 0.114]) / 255.0 for x in (a, b)]
    assert fsim(a, b) == pytest.approx(fsim(*luma), abs=1e-12)


def test_constant_images_are_defined_and_quiet():
    shape = (40, 48)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        same = fsim(np.full(shape, 90, np.uint8), np.full(shape, 90, np.uint8))
        different = fsim(np.zeros(shape, np.uint8), np.full(shape, 255, np.uint8))
        colour = fsim(
            np.zeros(shape + (3,), np.uint8), np.full(shape + (3,), 200, np.uint8), chromatic=True
        )
        one_flat = fsim(np.zeros(shape), data.camera()[:40, :48])
    assert same == 1.0
    for value in (different, colour, one_flat):
        assert np.isfinite(value) and 0.0 <= value <= 1.0
    assert different < 1.0  # the zero-padded border gradients differ


def test_full_result_holds_the_maps(astronaut):
    a = astronaut[::2, ::2]  # 256×256: factor 1
    b = _noisy(a, 20)
    score, res = fsim(a, b, chromatic=True, full=True)
    assert isinstance(res, FSIMResult) and res.chromatic and res.factor == 1
    maps = "pc1 pc2 gradient1 gradient2 pc_similarity gradient_similarity similarity pc_max"
    for field in [*maps.split(), "chromatic_similarity"]:
        assert getattr(res, field).shape == (256, 256), field
    np.testing.assert_allclose(res.similarity, res.pc_similarity * res.gradient_similarity)
    np.testing.assert_array_equal(res.pc_max, np.maximum(res.pc1, res.pc2))
    weighted = np.sum(res.local_similarity * res.pc_max) / np.sum(res.pc_max)
    assert res.score == pytest.approx(weighted, abs=1e-12)
    assert float(res) == res.score == score == fsim(a, b, chromatic=True)
    _, gray = fsim(a, b, full=True)
    assert gray.chromatic_similarity is None and gray.local_similarity is gray.similarity


def test_downsampling_switch(astronaut):
    b = _noisy(astronaut, 20)
    _, res = fsim(astronaut, b, full=True)
    assert res.factor == 2 and res.pc1.shape == (256, 256)
    _, full_size = fsim(astronaut, b, downsample=False, full=True)
    assert full_size.factor == 1 and full_size.pc1.shape == (512, 512)
    assert full_size.score != pytest.approx(res.score, abs=1e-3)


def test_single_precision_matches_double_closely(astronaut):
    a = astronaut[::2, ::2]
    b = _noisy(a, 20)
    for chromatic in (False, True):
        single = fsim(a, b, chromatic=chromatic)
        double = fsim(a, b, chromatic=chromatic, precision="double")
        assert single == pytest.approx(double, abs=1e-6)
    with pytest.raises(InvalidParameterError, match="precision"):
        fsim(a, b, precision="float16")


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("image1", "image2", "error"),
    [
        (np.zeros((32, 32), np.uint8), np.zeros((32, 40), np.uint8), ShapeMismatchError),
        (np.zeros((32, 32), np.uint8), np.zeros((32, 32, 3), np.uint8), ShapeMismatchError),
        (np.zeros((15, 64), np.uint8), np.zeros((15, 64), np.uint8), ImageTooSmallError),
        (np.zeros((0, 64), np.uint8), np.zeros((0, 64), np.uint8), EmptyImageError),
        (np.zeros((32, 32)), np.full((32, 32), np.nan), InvalidImageError),
        (np.full((32, 32), np.inf), np.zeros((32, 32)), InvalidImageError),
        (np.zeros((32, 32)), np.full((32, 32), 200.0), InvalidImageError),
        (np.zeros((32, 32), np.int64), np.zeros((32, 32), np.int64), ImageTypeError),
        ([[0] * 32] * 32, [[0] * 32] * 32, ImageTypeError),
        (np.zeros((32, 32, 4), np.uint8), np.zeros((32, 32, 4), np.uint8), InvalidImageError),
    ],
)
def test_bad_input_raises_typed_errors(image1, image2, error):
    with pytest.raises(error):
        fsim(image1, image2)


def test_gray_vs_rgb_message_says_how_to_fix():
    with pytest.raises(ShapeMismatchError, match="to_gray"):
        fsim(np.zeros((32, 32), np.uint8), np.zeros((32, 32, 3), np.uint8))


def test_chromatic_on_gray_is_refused():
    with pytest.raises(InvalidParameterError, match="RGB"):
        fsim(np.zeros((32, 32), np.uint8), np.zeros((32, 32), np.uint8), chromatic=True)


@pytest.mark.parametrize("option", ["chromatic", "downsample", "full"])
def test_non_boolean_options_are_refused(option):
    img = np.zeros((32, 32, 3), np.uint8)
    with pytest.raises(InvalidParameterError):
        fsim(img, img, **{option: "yes"})
    with pytest.raises(TypeError):
        fsim(img, img, True)  # options are keyword-only


# --------------------------------------------------------------------------- the copied phasepack recipe


def test_phasepack_recipe_runs_and_disagrees_with_featuresim(camera):
    a = camera[::4, ::4]
    b = _noisy(a, 20)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        same = fsim_phasepack_recipe(a, a)
        recipe = fsim_phasepack_recipe(a, b)
    assert same == pytest.approx(1.0, abs=1e-12)
    assert np.isfinite(recipe) and abs(recipe - fsim(a, b)) > 0.01
    rgb = np.dstack([a, a, a])
    assert fsim_phasepack_recipe(rgb, np.dstack([b, b, b])) == pytest.approx(recipe, abs=1e-12)
    with pytest.raises(ShapeMismatchError):
        fsim_phasepack_recipe(a, rgb)


# --------------------------------------------------------------------------- per-image features


@pytest.mark.parametrize("chromatic", [False, True])
@pytest.mark.parametrize("downsample", [False, True])
def test_features_then_compare_equals_fsim(astronaut, chromatic, downsample):
    other = _noisy(astronaut, 15)
    expected = fsim(astronaut, other, chromatic=chromatic, downsample=downsample)
    f1 = fsim_features(astronaut, chromatic=chromatic, downsample=downsample)
    f2 = fsim_features(other, chromatic=chromatic, downsample=downsample)
    assert fsim_compare(f1, f2) == pytest.approx(expected, abs=1e-12)


def test_batched_features_equal_single_ones_and_group_by_shape(camera):
    images = [camera, _blurred(camera, 2.0), camera[:200, :300], _noisy(camera, 10)]
    batched = fsim_features_many(images)
    for image, features in zip(images, batched, strict=True):
        single = fsim_features(image)
        assert features.shape == image.shape
        np.testing.assert_allclose(features.pc, single.pc, atol=1e-12)
        np.testing.assert_array_equal(features.gradient, single.gradient)
    assert fsim_compare(batched[0], batched[1]) == pytest.approx(fsim(images[0], images[1]), abs=1e-12)


def test_full_compare_returns_the_maps_fsim_returns(camera):
    other = _blurred(camera, 1.5)
    score, result = fsim_compare(fsim_features(camera), fsim_features(other), full=True)
    expected, reference = fsim(camera, other, full=True)
    assert score == pytest.approx(expected, abs=1e-12) and result.factor == reference.factor
    np.testing.assert_allclose(result.local_similarity, reference.local_similarity, atol=1e-12)


def test_features_refuse_mismatched_pairs(astronaut, camera):
    with pytest.raises(ShapeMismatchError):
        fsim_compare(fsim_features(camera), fsim_features(camera[:256, :256]))
    gray = to_gray(astronaut)
    with pytest.raises(InvalidParameterError, match="different options"):
        fsim_compare(fsim_features(gray), fsim_features(gray, downsample=False))
    with pytest.raises(InvalidParameterError, match="different options"):
        fsim_compare(fsim_features(astronaut), fsim_features(astronaut, chromatic=True))
    with pytest.raises(InvalidParameterError, match="fsim_features"):
        fsim_compare(camera, camera)
    with pytest.raises(InvalidParameterError, match="gray"):
        fsim_features(camera, chromatic=True)
    with pytest.raises(ImageTooSmallError):
        fsim_features(camera[:10, :10])
