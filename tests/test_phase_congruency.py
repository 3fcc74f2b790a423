"""Tests of imgsim_helpers.metrics.log_gabor (phasecong2 of FeatureSIM.m)."""

from __future__ import annotations

import importlib
import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from skimage import data

from imgsim_helpers.core.errors import (
    EmptyImageError,
    ImageTooSmallError,
    ImageTypeError,
    InvalidImageError,
    InvalidParameterError,
)
from imgsim_helpers.metrics.log_gabor import (
    MIN_SIZE,
    log_gabor_filters,
    phase_congruency,
    phase_congruency_reference,
    phase_congruency_stack,
    to_intensity_255,
    yiq,
)


def _matlab_median(values: np.ndarray) -> float:
    ordered = np.sort(values.ravel())
    n = ordered.size
    return float(ordered[n // 2]) if n % 2 else float((ordered[n // 2 - 1] + ordered[n // 2]) / 2)


def _phasecong2_literal(im: np.ndarray) -> np.ndarray:
    """A slow, statement-by-statement transcription of phasecong2, loops and all.

    Independent of the vectorised module: its own grids, filters, noise
    estimate (with an explicit MATLAB median) and accumulation order.
    """
    nscale, norient, min_wl, mult = 4, 4, 6, 2
    sigma_onf, d_theta_on_sigma, k, eps = 0.55, 1.2, 2.0, 1e-4
    theta_sigma = math.pi / norient / d_theta_on_sigma
    rows, cols = im.shape
    imagefft = np.fft.fft2(im)

    def axis(n):
        if n % 2:
            return np.array([(i - (n - 1) / 2) / (n - 1) for i in range(n)])
        return np.array([(i - n / 2) / n for i in range(n)])

    x, y = np.meshgrid(axis(cols), axis(rows))
    radius0 = np.sqrt(x * x + y * y)
    radius = np.fft.ifftshift(radius0).copy()
    theta = np.fft.ifftshift(np.arctan2(-y, x))
    radius[0, 0] = 1
    lp = np.fft.ifftshift(1 / (1 + (radius0 / 0.45) ** 30))
    log_gabor = []
    for s in range(nscale):
        fo = 1.0 / (min_wl * mult**s)
        g = np.exp(-(np.log(radius / fo) ** 2) / (2 * math.log(sigma_onf) ** 2)) * lp
        g[0, 0] = 0
        log_gabor.append(g)
    spread = []
    for o in range(norient):
        angl = o * math.pi / norient
        ds = np.sin(theta) * math.cos(angl) - np.cos(theta) * math.sin(angl)
        dc = np.cos(theta) * math.cos(angl) + np.sin(theta) * math.sin(angl)
        spread.append(np.exp(-(np.abs(np.arctan2(ds, dc)) ** 2) / (2 * theta_sigma**2)))

    energy_all = np.zeros((rows, cols))
    an_all = np.zeros((rows, cols))
    for o in range(norient):
        sum_e = np.zeros((rows, cols))
        sum_o = np.zeros((rows, cols))
        sum_an = np.zeros((rows, cols))
        eo, ifft_filters = [], []
        for s in range(nscale):
            filt = log_gabor[s] * spread[o]
            ifft_filters.append(np.real(np.fft.ifft2(filt)) * math.sqrt(rows * cols))
            eo.append(np.fft.ifft2(imagefft * filt))
            sum_an += np.abs(eo[s])
            sum_e += eo[s].real
            sum_o += eo[s].imag
            if s == 0:
                em_n = np.sum(filt**2)
        x_energy = np.sqrt(sum_e**2 + sum_o**2) + eps
        mean_e, mean_o = sum_e / x_energy, sum_o / x_energy
        energy = np.zeros((rows, cols))
        for s in range(nscale):
            e, od = eo[s].real, eo[s].imag
            energy = energy + e * mean_e + od * mean_o - np.abs(e * mean_o - od * mean_e)
        mean_e2n = -_matlab_median(np.abs(eo[0]) ** 2) / math.log(0.5)
        noise_power = mean_e2n / em_n
        est_sum_an2 = sum(np.sum(f**2) for f in ifft_filters)
        est_sum_aiaj = sum(
            np.sum(ifft_filters[i] * ifft_filters[j])
            for i in range(nscale - 1)
            for j in range(i + 1, nscale)
        )
        est_noise_energy2 = 2 * noise_power * est_sum_an2 + 4 * noise_power * est_sum_aiaj
        tau = math.sqrt(est_noise_energy2 / 2)
        t = (tau * math.sqrt(math.pi / 2) + k * math.sqrt((2 - math.pi / 2) * tau**2)) / 1.7
        energy_all += np.maximum(energy - t, 0)
        an_all += sum_an
    return energy_all / an_all


@pytest.fixture(scope="module")
def camera_small() -> np.ndarray:
    return data.camera()[::4, ::4]


# --------------------------------------------------------------------------- against the literal transcription


@pytest.mark.parametrize("shape", [(32, 32), (33, 40), (45, 31)])
def test_matches_literal_phasecong2_on_odd_and_even_sizes(shape):
    rng = np.random.default_rng(sum(shape))
    # Smooth structure plus noise, so that the threshold is neither 0 nor everything.
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    im = 100 + 60 * np.sin(xx / 3.0) * np.cos(yy / 5.0) + rng.normal(0, 8, shape)
    im[:, shape[1] // 2 :] += 50
    literal = _phasecong2_literal(im)
    double = phase_congruency_stack(im[None], precision="double")[0]
    np.testing.assert_allclose(double, literal, rtol=0, atol=1e-10)
    single = phase_congruency_stack(im[None])[0]
    np.testing.assert_allclose(single, literal, rtol=0, atol=2e-5)


def test_matches_literal_phasecong2_on_a_photo(camera_small):
    crop = camera_small[:48, :56]
    literal = _phasecong2_literal(crop.astype(np.float64))
    np.testing.assert_allclose(phase_congruency(crop, precision="double"), literal, atol=1e-10)
    np.testing.assert_allclose(phase_congruency(crop), literal, atol=2e-5)


@pytest.mark.parametrize("shape", [(32, 32), (33, 40)])
def test_fast_path_equals_the_reference(camera_small, shape):
    photo = camera_small[40 : 40 + shape[0], 30 : 30 + shape[1]].astype(np.float64)
    reference = phase_congruency_reference(photo)
    np.testing.assert_allclose(reference, _phasecong2_literal(photo), rtol=0, atol=1e-10)
    np.testing.assert_allclose(phase_congruency_stack(photo[None], precision="double")[0], reference, rtol=0, atol=1e-10)
    np.testing.assert_allclose(phase_congruency(photo / 255.0, precision="double"), reference, rtol=0, atol=1e-10)


def test_result_does_not_depend_on_threads(camera_small, monkeypatch):
    module = importlib.import_module("imgsim_helpers.metrics.log_gabor")

    threaded = phase_congruency(camera_small)
    monkeypatch.setattr(module, "MAX_THREADS", 1)
    assert module._threads() == 1
    np.testing.assert_array_equal(phase_congruency(camera_small), threaded)


def test_unknown_precision_is_refused(camera_small):
    with pytest.raises(InvalidParameterError, match="precision"):
        phase_congruency(camera_small, precision="half")


def test_stack_equals_one_image_at_a_time(camera_small):
    other = data.moon()[::4, ::4]
    stack = np.stack([camera_small, other]).astype(np.float64)
    both = phase_congruency_stack(stack)
    np.testing.assert_array_equal(both[0], phase_congruency_stack(stack[:1])[0])
    np.testing.assert_array_equal(both[1], phase_congruency_stack(stack[1:])[0])


def test_median_of_even_count_is_mean_of_middle_pair():
    # The literal version's median helper is what the test relies on: check it.
    assert _matlab_median(np.array([4.0, 1.0, 3.0, 2.0])) == 2.5
    assert _matlab_median(np.array([3.0, 1.0, 2.0])) == 2.0


# --------------------------------------------------------------------------- the filter bank


def test_bank_is_cached_read_only_and_shaped():
    bank = log_gabor_filters((40, 50))
    assert log_gabor_filters((40, 50)) is bank
    assert bank.radial.shape == (4, 40, 50) and bank.angular.shape == (4, 40, 50)
    assert bank.noise_gain.shape == (4,) and np.all(bank.noise_gain > 0)
    assert bank.wavelengths == (6.0, 12.0, 24.0, 48.0)
    np.testing.assert_allclose(bank.angles, [0, math.pi / 4, math.pi / 2, 3 * math.pi / 4])
    assert not bank.radial.flags.writeable
    with pytest.raises(ValueError):
        bank.radial[0, 0, 0] = 1.0


def test_bank_zero_frequency_is_zero_and_peaks_near_centre_frequency():
    bank = log_gabor_filters((64, 64))
    assert np.all(bank.radial[:, 0, 0] == 0)
    for s, wavelength in enumerate(bank.wavelengths):
        # On the horizontal frequency axis, bin j is j / 64 cycles per pixel.
        peak = int(np.argmax(bank.radial[s, 0, :32]))
        assert abs(peak / 64 - 1 / wavelength) <= 1 / 64
    # Orientation 0 passes horizontal frequencies, orientation 2 (90°) vertical
    # ones; the angle is measured with -y (rows grow downwards) and each
    # filter is one-sided, which is what makes its response complex.
    assert bank.angular[0, 0, 5] == pytest.approx(1.0)
    assert bank.angular[2, -5, 0] == pytest.approx(1.0) and bank.angular[2, 5, 0] < 1e-3
    # 90° away from its orientation a filter keeps exp(-(1.2 * 2)**2 / 2) of its gain.
    assert bank.angular[0, 5, 0] == pytest.approx(math.exp(-2.88))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"nscale": 0},
        {"norient": 2.5},
        {"nscale": True},
        {"min_wavelength": -1},
        {"mult": float("nan")},
        {"sigma_onf": 1.0},
        {"d_theta_on_sigma": 0},
        {"sigma_onf": "0.5"},
    ],
)
def test_bank_rejects_bad_parameters(kwargs):
    with pytest.raises(InvalidParameterError):
        log_gabor_filters((32, 32), **kwargs)


def test_bank_rejects_bad_shapes():
    with pytest.raises(InvalidParameterError):
        log_gabor_filters((8, 32))
    with pytest.raises(InvalidParameterError):
        log_gabor_filters("big")


# --------------------------------------------------------------------------- behaviour


def test_step_edges_stand_out_from_flat_noisy_areas():
    # Mild noise, as in any real image: without it the noise threshold is 0 and
    # the normalised measure fires on the faint tails of the coarse filters.
    rng = np.random.default_rng(0)
    img = np.full((64, 160), 20.0)
    img[:, 60:100] = 220
    img = np.clip(img + rng.normal(0, 3, img.shape), 0, 255).astype(np.uint8)
    profile = phase_congruency(img).mean(axis=0)
    edges = [59, 60, 99, 100]
    assert profile[edges].min() > 0.7
    away = np.ones(160, bool)
    for c in edges:
        away[c - 2 : c + 3] = False
    assert profile[away].max() < 0.55


def test_values_in_unit_interval_and_finite(camera_small):
    pc = phase_congruency(camera_small)
    assert pc.shape == camera_small.shape and pc.dtype == np.float64
    assert np.isfinite(pc).all() and pc.min() >= 0.0 and pc.max() <= 1.0


def test_contrast_invariance_up_to_epsilon(camera_small):
    base = camera_small.astype(np.float64) / 255.0
    pc = phase_congruency(base)
    half = phase_congruency(base * 0.5)
    assert np.abs(pc - half).max() < 1e-3


def test_float_uint8_uint16_and_rgb_inputs_agree(camera_small):
    u8 = camera_small
    ref = phase_congruency(u8)
    np.testing.assert_allclose(phase_congruency(u8 / 255.0), ref, atol=1e-12)
    np.testing.assert_allclose(phase_congruency(u8.astype(np.uint16) * 257), ref, atol=1e-12)
    np.testing.assert_allclose(phase_congruency(np.dstack([u8, u8, u8])), ref, atol=1e-10)


def test_constant_image_gives_zeros_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for value in (0.0, 0.3, 1.0):
            pc = phase_congruency(np.full((37, 41), value))
            assert np.array_equal(pc, np.zeros((37, 41)))


def test_options_change_the_map(camera_small):
    default = phase_congruency(camera_small)
    six = phase_congruency(camera_small, norient=6, nscale=3, k=3.0)
    assert six.shape == default.shape and not np.allclose(six, default)
    assert phase_congruency(camera_small, k=0.0).mean() > default.mean()


@settings(max_examples=15, deadline=None)
@given(arrays(np.uint8, st.tuples(st.integers(16, 40), st.integers(16, 40))))
def test_any_uint8_image_gives_a_finite_map_in_unit_interval(image):
    pc = phase_congruency(image)
    assert np.isfinite(pc).all() and pc.min() >= 0.0 and pc.max() <= 1.0 + 1e-12


# --------------------------------------------------------------------------- conversions and bad input


def test_to_intensity_255_scales():
    assert to_intensity_255(np.array([[0, 255]], np.uint8)).tolist() == [[0.0, 255.0]]
    assert to_intensity_255(np.array([[257, 65535]], np.uint16)).tolist() == [[1.0, 255.0]]
    assert to_intensity_255(np.array([[False, True]])).tolist() == [[0.0, 255.0]]
    assert to_intensity_255(np.array([[0.5]], np.float32)).tolist() == [[127.5]]


def test_yiq_matches_featuresim_coefficients():
    rgb = np.array([[[10.0, 200.0, 30.0]]])
    y, i, q = yiq(rgb)[:, 0, 0]
    assert y == pytest.approx(0.299 * 10 + 0.587 * 200 + 0.114 * 30, abs=1e-12)
    assert i == pytest.approx(0.596 * 10 - 0.274 * 200 - 0.322 * 30, abs=1e-12)
    assert q == pytest.approx(0.211 * 10 - 0.523 * 200 + 0.312 * 30, abs=1e-12)


@pytest.mark.parametrize(
    ("image", "error"),
    [
        (np.zeros((32, 32), np.int64), ImageTypeError),
        ([[0, 1], [1, 0]], ImageTypeError),
        (np.zeros((0, 32)), EmptyImageError),
        (np.zeros((MIN_SIZE - 1, 64)), ImageTooSmallError),
        (np.zeros((32, 32, 4), np.uint8), InvalidImageError),
        (np.full((32, 32), np.nan), InvalidImageError),
        (np.full((32, 32), np.inf), InvalidImageError),
        (np.full((32, 32), 2.0), InvalidImageError),
        (np.zeros((4, 32, 32)), InvalidImageError),
    ],
)
def test_bad_input_raises_typed_errors(image, error):
    with pytest.raises(error):
        phase_congruency(image)


def test_stack_rejects_bad_arrays():
    with pytest.raises(InvalidImageError):
        phase_congruency_stack(np.zeros((32, 32)))
    with pytest.raises(InvalidImageError):
        phase_congruency_stack(np.zeros((0, 32, 32)))
    with pytest.raises(ImageTooSmallError):
        phase_congruency_stack(np.zeros((1, 8, 32)))
    with pytest.raises(InvalidImageError):
        phase_congruency_stack(np.full((1, 32, 32), np.nan))
