"""Tests of imgsim_helpers.metrics.structural_similarity: MATLAB reference values, parity with scikit-image
and piq, bad input, and properties (identity, symmetry, bounds, monotonicity)."""

from __future__ import annotations

import importlib
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from skimage import data
from skimage.metrics import structural_similarity

from imgsim_helpers.core.errors import (
    EmptyImageError,
    ImageTooSmallError,
    ImageTypeError,
    InvalidImageError,
    InvalidParameterError,
    ShapeMismatchError,
    UnknownMethodError,
)
from imgsim_helpers.images.io import load_image
from imgsim_helpers.metrics.structural_similarity import (
    MS_SSIM_WEIGHTS,
    ms_ssim,
    ms_ssim_reference,
    ssim,
    ssim_components,
    ssim_reference,
    ssim_window,
)

ssim_module = importlib.import_module("imgsim_helpers.metrics.structural_similarity")

# The IPOL imdiff value scikit-image tests against (only to 1.5e-3 there).
IPOL_CAMERA = 0.357959091663361
# ssim_index.m's definition (valid region, float64), which scikit-image's
# interior also gives; IPOL's imdiff sits 5.1e-6 below it.
MATLAB_DEFINITION_CAMERA = 0.35796423623658


@pytest.fixture(scope="module")
def camera_pair():
    camera = data.camera()
    noise = 20 * np.random.RandomState(5).randn(512, 512)
    return camera, np.clip(camera + noise, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def astronaut_pair():
    image = data.astronaut()
    noise = 15 * np.random.RandomState(1).randn(*image.shape)
    return image, np.clip(image + noise, 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------- references


@pytest.mark.reference
def test_goldhill_matches_matlab_ssim_m(reference_images, matlab_values):
    a = load_image(reference_images / "goldhill.gif", mode="gray")
    b = load_image(reference_images / "goldhill_jpeg.gif", mode="gray")
    score = ssim(a, b, downsample=True)
    assert round(score, 4) == matlab_values["SSIM", "goldhill"]
    assert abs(score - matlab_values["SSIM", "goldhill"]) < 5e-5


@pytest.mark.reference
def test_tid2013_i01_matches_matlab_ssim_m_per_channel(reference_images, matlab_values):
    a = load_image(reference_images / "I01.BMP", mode="rgb")
    b = load_image(reference_images / "i01_01_5.bmp", mode="rgb")
    score, smap = ssim(a, b, downsample=True, full=True)
    assert round(score, 4) == matlab_values["SSIM", "I01"]
    # 384 rows: f = round(1.5) = 2 with MATLAB rounding -> 192×256, valid map 182×246.
    assert smap.shape == (182, 246)
    channels = [ssim(a[..., c], b[..., c], downsample=True) for c in range(3)]
    assert score == pytest.approx(np.mean(channels), abs=1e-14)


def test_camera_matches_ipol_within_its_float_gap(camera_pair):
    score = ssim(*camera_pair)
    assert score == pytest.approx(MATLAB_DEFINITION_CAMERA, abs=1e-13)
    assert abs(score - IPOL_CAMERA) < 1e-5


def test_equals_skimage_on_the_valid_region(camera_pair):
    a, b = camera_pair
    score, smap = ssim(a, b, full=True)
    ref_score, ref_map = structural_similarity(
        a,
        b,
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
        data_range=255,
        full=True,
    )
    interior = ref_map[5:-5, 5:-5]
    assert smap.shape == interior.shape == (502, 502)
    assert np.abs(smap - interior).max() < 1e-9
    assert abs(score - interior.mean()) < 1e-12
    assert abs(score - ref_score) < 1e-6


def test_uniform_window_equals_skimage_box_on_the_valid_region(astronaut_pair):
    a, b = astronaut_pair
    _, smap = ssim(a, b, window="uniform", win_size=7, full=True)
    _, ref_map = structural_similarity(
        a, b, win_size=7, use_sample_covariance=False, data_range=255, channel_axis=2, full=True
    )
    assert np.abs(smap - ref_map[3:-3, 3:-3].mean(axis=2)).max() < 1e-9


@pytest.mark.parametrize(
    "shape, dtype, window",
    [
        ((512, 512), np.uint8, "gaussian"),  # many strips
        ((37, 300, 3), np.uint8, "gaussian"),  # RGB, one short strip
        ((203, 61), np.float64, "uniform"),  # height not a multiple of the strip
        ((11, 11), np.uint16, "gaussian"),  # a single valid pixel
    ],
)
def test_fast_path_equals_the_reference(shape, dtype, window):
    rng = np.random.default_rng(sum(shape))
    top = 1.0 if dtype == np.float64 else np.iinfo(dtype).max
    a = rng.random(shape) * top
    b = np.clip(a + rng.normal(0.0, 0.2 * top, shape), 0, top)
    a, b = a.astype(dtype), b.astype(dtype)
    w = ssim_window(window=window)
    channels = [(a, b)] if a.ndim == 2 else [(a[..., c], b[..., c]) for c in range(3)]
    reference = np.mean([ssim_reference(x.astype(float), y.astype(float), data_range=top, window=w)
                         for x, y in channels], axis=0)
    score, full_map = ssim(a, b, window=window, full=True)
    np.testing.assert_allclose(full_map, reference, rtol=0, atol=1e-10)
    assert score == pytest.approx(float(reference.mean()), abs=1e-10)
    cs_reference = ssim_reference(*(x.astype(float) for x in channels[0]), data_range=top, window=w, luminance=False)
    k = ssim_module._window_1d(window, 11, 1.5)
    c1, c2 = (0.01 * top) ** 2, (0.03 * top) ** 2
    _, cs_map = ssim_module._ssim_and_cs(*channels[0], k, c1, c2, need_cs=True)
    np.testing.assert_allclose(cs_map, cs_reference, rtol=0, atol=1e-10)


@pytest.mark.parametrize("weights", [MS_SSIM_WEIGHTS, (0.3, 0.3, 0.4)])
def test_ms_ssim_equals_the_reference(camera_pair, weights):
    a, b = (x[:181, :203] for x in camera_pair)  # odd sizes: the mirrored edge of msssim.m
    reference = ms_ssim_reference(a.astype(float), b.astype(float), weights=weights)
    assert ms_ssim(a, b, weights=weights) == pytest.approx(reference, abs=1e-10)
    assert ms_ssim(a, 255 - a) == ms_ssim_reference(a.astype(float), 255.0 - a) == 0.0


def test_gaussian_window_is_matlab_fspecial():
    w = ssim_window()
    grid = np.arange(11) - 5.0
    direct = np.exp(-(grid[:, None] ** 2 + grid[None, :] ** 2) / (2 * 1.5**2))
    direct /= direct.sum()
    assert np.abs(w - direct).max() < 1e-16
    assert round(float(w[5, 5]), 4) == 0.0708
    assert np.allclose(ssim_window(window="uniform", win_size=5), 1 / 25)


def test_ms_ssim_equals_piq_on_even_sizes(camera_pair, astronaut_pair):
    torch = pytest.importorskip("torch")
    piq = pytest.importorskip("piq")

    def tensor(a):
        t = torch.from_numpy(a.astype(np.float64))
        return t[None, None] if a.ndim == 2 else t.permute(2, 0, 1)[None]

    # Even sizes at every scale (256 -> 16): piq pads odd sizes with zeros
    # where msssim.m mirrors, so only even sizes are comparable.
    crops = [(a[128:384, 128:384], b[128:384, 128:384]) for a, b in (camera_pair, astronaut_pair)]
    for a, b in crops:
        ours = ms_ssim(a, b)
        theirs = piq.multi_scale_ssim(tensor(a), tensor(b), data_range=255.0).item()
        assert ours == pytest.approx(theirs, abs=1e-12)
        # piq.ssim downsamples like ssim.m by default.
        theirs = piq.ssim(tensor(a), tensor(b), data_range=255.0).item()
        assert ssim(a, b, downsample=True) == pytest.approx(theirs, abs=1e-12)


def test_ms_ssim_per_scale_values(camera_pair):
    score, per_scale = ms_ssim(*camera_pair, full=True)
    assert per_scale.shape == (5,)
    assert score == pytest.approx(np.prod(per_scale ** np.array(MS_SSIM_WEIGHTS)), abs=1e-15)
    # The finest scale's cs is below the full-resolution SSIM's structure-heavy
    # value only through luminance; noise hurts fine scales most.
    assert np.all(np.diff(per_scale) > 0)


# --------------------------------------------------------------------------- downsampling


@pytest.mark.parametrize(
    ("shape", "map_shape"),
    [
        ((383, 400), (373, 390)),  # 383/256 = 1.496 -> f = 1
        ((384, 400), (182, 190)),  # 1.5 -> 2 (MATLAB rounds halves up)
        ((640, 640), (204, 204)),  # 2.5 -> 3 (Python's round would give 2)
    ],
)
def test_downsample_factor_uses_matlab_rounding(shape, map_shape):
    a = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    _, smap = ssim(a, a, downsample=True, full=True)
    assert smap.shape == map_shape


def test_box_downsample_is_imfilter_symmetric_then_decimate():
    x = np.arange(7 * 9, dtype=np.float64).reshape(7, 9)
    out = ssim_module._box_downsample(x, 2)
    # Even f: the imfilter anchor is the first element, so the block reaches
    # forward; the odd last row/column mirrors the edge pixel onto itself.
    assert out.shape == (4, 5)
    assert out[0, 0] == x[:2, :2].mean()
    assert out[3, 4] == x[6, 8]
    assert out[3, 0] == x[6, :2].mean()
    out3 = ssim_module._box_downsample(x, 3)
    padded = np.pad(x, 1, mode="symmetric")
    assert out3.shape == (3, 3)
    assert out3[0, 0] == pytest.approx(padded[:3, :3].mean(), abs=1e-12)
    assert out3[2, 2] == pytest.approx(padded[6:9, 6:9].mean(), abs=1e-12)


# --------------------------------------------------------------------------- components


def test_components_multiply_to_the_ssim_map(astronaut_pair):
    a, b = astronaut_pair
    lum, c, s = ssim_components(a, b)
    _, smap = ssim(a, b, full=True)
    assert lum.shape == c.shape == s.shape == smap.shape + (3,)
    assert np.abs((lum * c * s).mean(axis=2) - smap).max() < 1e-12
    assert lum.max() <= 1 + 1e-12 and c.max() <= 1 + 1e-12
    assert np.abs(s).max() <= 1 + 1e-12


def test_components_separate_brightness_from_structure():
    image = data.camera()[200:328, 200:328]
    brighter = np.clip(image.astype(int) + 40, 0, 255).astype(np.uint8)
    lum, c, s = ssim_components(image, brighter)
    assert lum.mean() < 0.99 < s.mean()
    lum, c, s = ssim_components(image, 255 - image)
    # Inversion keeps every local spread (contrast exactly 1) and flips structure.
    assert np.abs(c - 1).max() < 1e-12
    assert s.mean() < 0 and s.min() < -0.9


# --------------------------------------------------------------------------- bad input


def test_different_shapes_name_both_and_point_to_align_pair():
    a, b = np.zeros((20, 30), np.uint8), np.zeros((20, 31), np.uint8)
    with pytest.raises(ShapeMismatchError, match=r"\(20, 30\).*\(20, 31\)") as info:
        ssim(a, b)
    assert "align_pair" in str(info.value)
    with pytest.raises(ShapeMismatchError):
        ms_ssim(a, b)


def test_gray_against_rgb_is_a_shape_error():
    with pytest.raises(ShapeMismatchError, match="to_gray"):
        ssim(np.zeros((20, 20), np.uint8), np.zeros((20, 20, 3), np.uint8))


def test_images_smaller_than_the_window_say_the_minimum():
    small = np.zeros((10, 40), np.uint8)
    with pytest.raises(ImageTooSmallError, match="11×11"):
        ssim(small, small)
    assert ssim(small, small, win_size=7) == 1.0
    with pytest.raises(ImageTooSmallError, match="176×176"):
        ms_ssim(np.zeros((175, 300), np.uint8), np.zeros((175, 300), np.uint8))
    with pytest.raises(ImageTooSmallError, match="44×44"):
        ms_ssim(np.zeros((43, 60)), np.zeros((43, 60)), weights=(0.3, 0.3, 0.4))
    assert ms_ssim(np.zeros((176, 176)), np.zeros((176, 176))) == 1.0


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_and_infinite_values_are_refused(bad):
    a = np.full((16, 16), 0.5)
    b = a.copy()
    b[3, 4] = bad
    with pytest.raises(InvalidImageError, match="NaN or infinite"):
        ssim(a, b)
    with pytest.raises(InvalidImageError, match="NaN or infinite"):
        ssim(b, a, data_range=1.0)


def test_constant_images_give_defined_values_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        flat = np.full((32, 32), 100, np.uint8)
        other = np.full((32, 32), 50, np.uint8)
        assert ssim(flat, flat) == 1.0
        c1 = (0.01 * 255) ** 2
        expected = (2 * 100 * 50 + c1) / (100**2 + 50**2 + c1)
        assert ssim(flat, other) == pytest.approx(expected, abs=1e-12)
        zeros = np.zeros((200, 200))
        assert ssim(zeros, zeros) == 1.0
        assert ms_ssim(zeros, zeros) == 1.0
        assert np.isfinite(ms_ssim(zeros, np.ones((200, 200))))
        lum, c, s = ssim_components(flat, other)
        assert np.isfinite(lum).all() and np.isfinite(c).all() and np.isfinite(s).all()
        textured = data.camera()[:64, :64]
        assert np.isfinite(ssim(textured, np.full_like(textured, 128)))


@pytest.mark.parametrize(
    ("a", "error", "pattern"),
    [
        (np.zeros((16, 16), np.int64), ImageTypeError, "int64"),
        ([[0] * 16] * 16, ImageTypeError, "NumPy array"),
        (np.zeros((0, 16), np.uint8), EmptyImageError, "empty"),
        (np.zeros((16, 16, 4), np.uint8), InvalidImageError, "RGBA.*to_rgb"),
        (np.zeros((16, 16, 2), np.uint8), InvalidImageError, "shape"),
        (np.zeros((4, 16, 16, 3), np.uint8), InvalidImageError, "shape"),
    ],
)
def test_bad_images_raise_typed_errors(a, error, pattern):
    with pytest.raises(error, match=pattern):
        ssim(a, a)
    with pytest.raises(error, match=pattern):
        ms_ssim(a, a)


def test_float_outside_unit_range_needs_data_range():
    a = data.camera()[:64, :64]
    b = np.clip(a.astype(int) + 30, 0, 255).astype(np.uint8)
    with pytest.raises(InvalidImageError, match="data_range"):
        ssim(a.astype(np.float64), b.astype(np.float64))
    explicit = ssim(a.astype(np.float32), b.astype(np.float32), data_range=255)
    assert explicit == pytest.approx(ssim(a, b), abs=1e-12)
    assert ssim(a / 255.0, b / 255.0) == pytest.approx(ssim(a, b), abs=1e-12)


def test_mixed_dtypes_need_data_range():
    a = data.camera()[:64, :64]
    with pytest.raises(ImageTypeError, match="to_float"):
        ssim(a, a / 255.0)
    assert ssim(a, a.astype(np.float64), data_range=255) == 1.0


def test_16_bit_and_bool_input():
    a = data.camera()[:64, :64]
    b = np.clip(a.astype(int) + 25, 0, 255).astype(np.uint8)
    a16, b16 = a.astype(np.uint16) * 257, b.astype(np.uint16) * 257
    assert ssim(a16, b16) == pytest.approx(ssim(a, b), abs=1e-12)
    mask = data.camera()[200:264, 200:264] > 100
    assert ssim(mask, mask) == 1.0
    assert ssim(mask, ~mask) < 0


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"window": "box"}, UnknownMethodError),
        ({"win_size": 10}, InvalidParameterError),
        ({"win_size": 1}, InvalidParameterError),
        ({"win_size": 7.0}, InvalidParameterError),
        ({"win_size": True}, InvalidParameterError),
        ({"sigma": 0}, InvalidParameterError),
        ({"sigma": -1.5}, InvalidParameterError),
        ({"k1": 0}, InvalidParameterError),
        ({"k2": float("nan")}, InvalidParameterError),
        ({"data_range": 0}, InvalidParameterError),
        ({"data_range": -255}, InvalidParameterError),
        ({"data_range": "255"}, InvalidParameterError),
        ({"data_range": float("inf")}, InvalidParameterError),
    ],
)
def test_bad_options(options, error):
    a = data.camera()[:200, :200]
    with pytest.raises(error):
        ssim(a, a, **options)
    with pytest.raises(error):
        ms_ssim(a, a, **options)


@pytest.mark.parametrize("weights", [(), (0.5, -0.5), [[0.5, 0.5]], ("a", "b"), (np.nan,)])
def test_bad_ms_ssim_weights(weights):
    a = data.camera()[:200, :200]
    with pytest.raises(InvalidParameterError, match="weights"):
        ms_ssim(a, a, weights=weights)


def test_ms_ssim_clips_anti_correlated_scales_to_zero():
    image = data.camera()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        score, per_scale = ms_ssim(image, 255 - image, full=True)
    assert per_scale.min() < 0
    assert score == 0.0


def test_options_are_keyword_only():
    a = data.camera()[:32, :32]
    with pytest.raises(TypeError):
        ssim(a, a, 255)  # type: ignore[misc]


# --------------------------------------------------------------------------- properties

small_images = st.tuples(
    st.integers(11, 24), st.integers(11, 24), st.sampled_from([(), (3,)])
).flatmap(lambda s: st.tuples(arrays(np.uint8, s[:2] + s[2]), arrays(np.uint8, s[:2] + s[2])))


@settings(max_examples=40, deadline=None)
@given(small_images)
def test_identity_symmetry_and_bounds(pair):
    a, b = pair
    assert ssim(a, a) == 1.0
    ab, ba = ssim(a, b), ssim(b, a)
    assert ab == ba
    assert -1.0 <= ab <= 1.0
    _, smap = ssim(a, b, full=True)
    assert np.all(np.abs(smap) <= 1.0 + 1e-12)
    lum, c, s = ssim_components(a, b)
    product = lum * c * s if a.ndim == 2 else (lum * c * s).mean(axis=2)
    assert np.abs(product - smap).max() < 1e-10


@settings(max_examples=15, deadline=None)
@given(
    st.integers(0, 2**16),
    st.tuples(st.integers(44, 60), st.integers(44, 60)),
    st.floats(0.0, 80.0),
)
def test_ms_ssim_identity_symmetry_and_bounds(seed, shape, sigma):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 256, shape, dtype=np.uint8)
    b = np.clip(a + sigma * rng.standard_normal(shape), 0, 255).astype(np.uint8)
    weights = (0.3, 0.3, 0.4)
    assert ms_ssim(a, a, weights=weights) == 1.0
    ab = ms_ssim(a, b, weights=weights)
    assert ab == ms_ssim(b, a, weights=weights)
    assert 0.0 <= ab <= 1.0


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**16), st.floats(1.0, 50.0), st.floats(3.0, 30.0))
def test_ssim_decreases_as_noise_grows(seed, sigma, extra):
    image = data.camera()[200:328, 200:328].astype(np.float64)
    noise = np.random.default_rng(seed).standard_normal(image.shape)
    low = ssim(image, image + sigma * noise, data_range=255)
    high = ssim(image, image + (sigma + extra) * noise, data_range=255)
    assert high < low < 1.0
