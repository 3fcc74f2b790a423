"""The measurements behind notebook 04: scale space, SURF's approximations, known-homography grading, the comparison."""

from __future__ import annotations

import types

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from skimage import data

from imgsim_helpers.core.errors import EmptyInputError, InvalidParameterError, UnknownMethodError
from imgsim_helpers.images.io import to_gray
from imgsim_helpers.lessons import keypoint_study as ks
from imgsim_helpers.metrics.keypoints import detect_and_describe, project


@pytest.fixture(scope="module")
def camera_small():
    return data.camera()[::4, ::4].copy()  # 128 × 128


def disc(radius: float, size: int = 128) -> np.ndarray:
    yy, xx = np.mgrid[:size, :size]
    centre = (size - 1) / 2
    return ((xx - centre) ** 2 + (yy - centre) ** 2 <= radius**2).astype(np.float64)


# --------------------------------------------------------------------------- scale space


def test_scale_space_shapes_and_sigmas():
    space = ks.gaussian_scale_space(np.zeros((100, 80)), intervals=3, n_octaves=3)
    assert [g.shape for g in space.gaussians] == [(6, 100, 80), (6, 50, 40), (6, 25, 20)]
    assert [d.shape for d in space.dogs] == [(5, 100, 80), (5, 50, 40), (5, 25, 20)]
    assert space.sigma(0, 0) == pytest.approx(1.6)
    assert space.sigma(0, 3) == pytest.approx(3.2)  # one octave up: twice the blur
    assert space.sigma(2, 1) == pytest.approx(1.6 * 2 ** (2 + 1 / 3))
    for g, d in zip(space.gaussians, space.dogs, strict=True):
        np.testing.assert_allclose(d, np.diff(g, axis=0))


def test_scale_space_levels_carry_their_nominal_blur():
    # An impulse blurred to sigma has variance sigma² (plus the assumed blur, here 0).
    impulse = np.zeros((129, 129))
    impulse[64, 64] = 1.0
    space = ks.gaussian_scale_space(impulse, intervals=3, n_octaves=1, assumed_blur=0.0)
    offsets = np.arange(129) - 64.0
    for level in range(6):
        g = space.gaussians[0][level]
        variance = float((g.sum(axis=0) * offsets**2).sum() / g.sum())
        assert variance == pytest.approx(space.sigma(0, level) ** 2, rel=0.02)


def test_scale_space_stops_when_the_image_is_tiny():
    space = ks.gaussian_scale_space(np.zeros((20, 20)), n_octaves=6)
    assert len(space.gaussians) == 2  # 20, 10: a third octave would start at 5 pixels, below 8


@pytest.mark.parametrize("kwargs", [{"sigma0": 0}, {"intervals": 0}, {"n_octaves": 0}, {"assumed_blur": 2.0},
                                    {"sigma0": float("nan")}, {"intervals": 2.5}])
def test_scale_space_rejects_bad_parameters(kwargs):
    with pytest.raises(InvalidParameterError):
        ks.gaussian_scale_space(np.zeros((32, 32)), **kwargs)


def test_dog_extrema_find_a_blob_at_its_centre_and_size():
    image = disc(8.0)
    found = ks.dog_extrema(ks.gaussian_scale_space(image, n_octaves=3), threshold=0.01)
    assert found.shape[1] == 3 and len(found) >= 1
    x, y, sigma = found[0]
    assert np.hypot(x - 63.5, y - 63.5) <= 2.0
    # A disc of radius r is strongest near sigma = r / sqrt(2); the search grid is 2^(1/3) coarse.
    assert 8 / np.sqrt(2) / 1.6 < sigma < 8 / np.sqrt(2) * 1.6


def test_dog_extrema_respects_the_threshold_and_flat_images():
    assert ks.dog_extrema(ks.gaussian_scale_space(np.full((64, 64), 0.5))).shape == (0, 3)
    space = ks.gaussian_scale_space(disc(8.0))
    assert len(ks.dog_extrema(space, threshold=10.0)) == 0
    strengths_sorted = ks.dog_extrema(space, threshold=1e-4)
    assert len(strengths_sorted) >= len(ks.dog_extrema(space, threshold=0.01))


def test_dog_extrema_rejects_bad_input():
    with pytest.raises(InvalidParameterError):
        ks.dog_extrema(np.zeros((3, 8, 8)))
    with pytest.raises(InvalidParameterError):
        ks.dog_extrema(ks.gaussian_scale_space(np.zeros((16, 16))), threshold=0)


def test_scale_signature_peaks_at_r_over_root2_and_follows_a_zoom():
    sigmas = np.geomspace(1.5, 20, 61)
    small = ks.scale_signature(disc(6.0), (63.5, 63.5), sigmas)
    large = ks.scale_signature(disc(12.0, 160), (79.5, 79.5), sigmas)
    peak_small, peak_large = sigmas[small.argmax()], sigmas[large.argmax()]
    assert peak_small == pytest.approx(6 / np.sqrt(2), rel=0.15)
    assert peak_large / peak_small == pytest.approx(2.0, rel=0.1)
    assert (small >= 0).all()


def test_scale_signature_shapes_and_many_points_agree_with_one():
    image = data.camera()[::4, ::4]
    sigmas = [1.0, 2.0, 4.0]
    points = np.array([[10.0, 20.0], [64.0, 64.0], [0.0, 127.0]])
    many = ks.scale_signature(image, points, sigmas)
    assert many.shape == (3, 3)
    for row, p in zip(many, points, strict=True):
        np.testing.assert_allclose(row, ks.scale_signature(image, p, sigmas))
    # Near the border the image is mirrored, so a large sigma still works.
    assert np.isfinite(ks.scale_signature(image, (0, 0), [40.0])).all()


@pytest.mark.parametrize(("xy", "sigmas", "k"), [((500, 5), [1.0], 1.26), ((5, 5), [], 1.26), ((5, 5), [0.0], 1.26),
                                                 ((5, 5), [1.0], 1.0), ((np.nan, 5), [1.0], 1.26), ((1, 2, 3), [1.0], 1.26)])
def test_scale_signature_rejects_bad_input(xy, sigmas, k):
    with pytest.raises(InvalidParameterError):
        ks.scale_signature(np.zeros((32, 32)), xy, sigmas, k=k)


# --------------------------------------------------------------------------- SURF's approximations


def test_gaussian_second_derivatives_match_finite_differences():
    sigma, size = 2.0, 21
    gxx, gyy, gxy = ks.gaussian_second_derivatives(sigma, size)
    y, x = np.mgrid[-10:11, -10:11].astype(float)

    def g(xx, yy):
        return np.exp(-(xx**2 + yy**2) / (2 * sigma**2)) / (2 * np.pi * sigma**2)

    e = 1e-3
    np.testing.assert_allclose(gxx, (g(x + e, y) - 2 * g(x, y) + g(x - e, y)) / e**2, atol=1e-6)
    np.testing.assert_allclose(gxy, (g(x + e, y + e) - g(x + e, y - e) - g(x - e, y + e) + g(x - e, y - e)) / (4 * e**2),
                               atol=1e-6)
    np.testing.assert_allclose(gyy, gxx.T)


def test_gaussian_second_derivatives_reject_even_sizes():
    with pytest.raises(InvalidParameterError):
        ks.gaussian_second_derivatives(1.2, 8)
    with pytest.raises(InvalidParameterError):
        ks.gaussian_second_derivatives(-1.0, 9)


def test_gaussian_hessian_determinant_peaks_on_a_blob():
    det = ks.gaussian_hessian_determinant(disc(6.0), 6 / np.sqrt(2))
    row, col = np.unravel_index(det.argmax(), det.shape)
    assert abs(row - 63.5) <= 1 and abs(col - 63.5) <= 1
    assert np.abs(ks.gaussian_hessian_determinant(np.zeros((16, 16)), 1.2)).max() == 0.0


def test_box_filter_costs_agree_and_report_every_size(camera_small):
    costs = ks.box_filter_costs(camera_small, [3, 9, 27], repeat=1)
    assert costs.sizes == [3, 9, 27]
    assert len(costs.lookup_seconds) == len(costs.direct_seconds) == 3
    assert all(t > 0 for t in costs.lookup_seconds + costs.direct_seconds)
    assert costs.max_difference < 1e-9
    assert costs.shape == (128, 128)
    # the work, counted from the arrays read: L² values per box directly, 4 from the integral image
    assert costs.boxes == [(128 - n + 1) ** 2 for n in (3, 9, 27)]
    assert [r // b for r, b in zip(costs.direct_reads, costs.boxes, strict=True)] == [9, 81, 729]
    assert costs.lookup_reads == [4 * b for b in costs.boxes]


@pytest.mark.parametrize("sizes", [[], [0], [200], "9", [9.5]])
def test_box_filter_costs_reject_bad_sizes(camera_small, sizes):
    with pytest.raises((InvalidParameterError, EmptyInputError)):
        ks.box_filter_costs(camera_small, sizes)


# --------------------------------------------------------------------------- known homographies


def test_view_homography_without_tilt_is_opencvs_similarity():
    for angle, scale in [(0.0, 1.0), (25.0, 0.8), (-90.0, 2.0)]:
        expected = np.vstack([cv2.getRotationMatrix2D((49.5, 29.5), angle, scale), [0, 0, 1]])
        np.testing.assert_allclose(ks.view_homography((60, 100), angle=angle, scale=scale), expected, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(st.floats(-180, 180), st.floats(0.2, 5), st.floats(-0.9, 0.9))
def test_view_homography_keeps_the_centre(angle, scale, tilt):
    h = ks.view_homography((64, 96), angle=angle, scale=scale, tilt=tilt)
    np.testing.assert_allclose(project(h, [[47.5, 31.5]]), [[47.5, 31.5]], atol=1e-9)


def test_view_homography_tilt_shrinks_the_right_side():
    h = ks.view_homography((100, 100), tilt=0.5)
    right = project(h, [[99.0, 0.0], [99.0, 99.0]])
    left = project(h, [[0.0, 0.0], [0.0, 99.0]])
    assert np.ptp(right[:, 1]) < 99 < np.ptp(left[:, 1])


@pytest.mark.parametrize("kwargs", [{"tilt": 1.0}, {"scale": 0.0}, {"angle": float("inf")}, {"angle": True}])
def test_view_homography_rejects_bad_parameters(kwargs):
    with pytest.raises(InvalidParameterError):
        ks.view_homography((10, 10), **kwargs)


def test_warp_view_identity_keeps_image_and_channels():
    rgb = data.astronaut()[::8, ::8]
    np.testing.assert_array_equal(ks.warp_view(rgb, np.eye(3)), rgb)
    shifted = ks.warp_view(rgb, [[1, 0, 5], [0, 1, 0], [0, 0, 1]])
    assert shifted.shape == rgb.shape and (shifted[:, :5] == 0).all()
    with pytest.raises(InvalidParameterError):
        ks.warp_view(rgb, np.zeros((3, 3)))


def test_correct_matches_and_corner_error():
    p1 = np.array([[0.0, 0.0], [10.0, 10.0], [20.0, 5.0]])
    h = np.array([[1, 0, 2.0], [0, 1, -1.0], [0, 0, 1]])
    p2 = project(h, p1)
    pairs = np.array([[0, 0], [1, 1], [2, 0]])
    assert ks.correct_matches(p1, p2, pairs, h).tolist() == [True, True, False]
    assert ks.correct_matches(p1, p2, np.zeros((0, 2), np.int64), h).shape == (0,)
    with pytest.raises(InvalidParameterError):
        ks.correct_matches(p1, p2, [[0, 7]], h)
    assert ks.corner_error(h, h, (50, 80)) == 0.0
    assert ks.corner_error(h, np.eye(3), (50, 80)) == pytest.approx(np.sqrt(5))


def test_ratio_sweep_on_a_known_rotation(camera_small):
    image = data.camera()[::2, ::2]
    h = ks.view_homography(image.shape, angle=30, scale=0.9)
    f1 = detect_and_describe(image, method="sift")
    f2 = detect_and_describe(ks.warp_view(image, h), method="sift")
    out = ks.ratio_sweep(f1, f2, h, [0.6, 0.8, 1.0])
    assert out["ratio"] == [0.6, 0.8, 1.0]
    assert out["n_matches"] == sorted(out["n_matches"]) and out["n_matches"][-1] == len(f1)
    assert all(c <= n for c, n in zip(out["n_correct"], out["n_matches"], strict=True))
    assert out["precision"][0] > 0.9 > out["precision"][-1]
    with pytest.raises(InvalidParameterError):
        ks.ratio_sweep(f1, f2, h, [1.5])


# --------------------------------------------------------------------------- colours and OpenCV


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(60, 190), min_size=3, max_size=3))
def test_complement_colours_keeps_gray_when_nothing_clips(rgb):
    pixel = np.array([[rgb]], np.uint8)
    out = ks.complement_colours(pixel)
    luma = float(pixel[0, 0] @ [0.299, 0.587, 0.114])
    if np.all((2 * luma - pixel[0, 0] >= 0) & (2 * luma - pixel[0, 0] <= 255)):
        assert abs(int(to_gray(out)[0, 0]) - int(to_gray(pixel)[0, 0])) <= 1
        # Complementing twice gives the colour back (up to rounding).
        assert np.abs(ks.complement_colours(out).astype(int) - pixel.astype(int)).max() <= 2


def test_complement_colours_types():
    gray = data.camera()[:8, :8]
    assert ks.complement_colours(gray) is not None and ks.complement_colours(gray).shape == (8, 8)
    floats = data.astronaut()[:4, :4] / 255.0
    out = ks.complement_colours(floats)
    assert out.dtype == np.float64 and out.min() >= 0 and out.max() <= 1
    rgba = np.dstack([data.astronaut()[:4, :4], np.full((4, 4), 255, np.uint8)])
    assert ks.complement_colours(rgba).shape == (4, 4, 3)


def test_opencv_has_surf_reads_the_build(monkeypatch):
    real = ks.opencv_has_surf()
    assert real == (hasattr(cv2, "xfeatures2d") and real)

    def refuse():
        raise cv2.error("SURF is patented; set OPENCV_ENABLE_NONFREE")

    monkeypatch.setattr(cv2, "xfeatures2d", types.SimpleNamespace(SURF_create=refuse), raising=False)
    assert ks.opencv_has_surf() is False
    monkeypatch.setattr(cv2, "xfeatures2d", types.SimpleNamespace(SURF_create=lambda: object()), raising=False)
    assert ks.opencv_has_surf() is True
    monkeypatch.delattr(cv2, "xfeatures2d")
    assert ks.opencv_has_surf() is False


# --------------------------------------------------------------------------- the comparison


def test_changed_views_kinds_and_homographies(camera_small):
    views = ks.changed_views(camera_small, geometric={"r": (90.0, 1.0), "s": (0.0, 2.0), "rs": (30.0, 1.2)},
                             photometric={"b": ("blur", 2.0)})
    assert [v.kind for v in views] == ["rotation", "scale", "rotation+scale", "photometric"]
    np.testing.assert_array_equal(views[-1].homography, np.eye(3))
    # A 90° turn of a square image is exact: the warped image is np.rot90.
    np.testing.assert_array_equal(views[0].image, np.rot90(camera_small))
    with pytest.raises(EmptyInputError):
        ks.changed_views(camera_small, geometric={}, photometric={})
    with pytest.raises(InvalidParameterError):
        ks.changed_views(camera_small, geometric={"bad": (1.0,)}, photometric={})
    with pytest.raises(UnknownMethodError):
        ks.changed_views(camera_small, geometric={}, photometric={"x": ("sharpen", 1.0)})


def test_detector_quality_rows_and_summary(camera_small):
    rows = ks.detector_quality({"camera": camera_small}, methods=["orb", "sift"],
                               geometric={"rotate 90°": (90.0, 1.0)}, photometric={"blur": ("blur", 1.0)},
                               n_features=200)
    assert [(r["method"], r["kind"]) for r in rows] == [
        ("orb", "rotation"), ("orb", "photometric"), ("sift", "rotation"), ("sift", "photometric")]
    for r in rows:
        assert 0 <= r["matching_score"] <= r["repeatability"] + 1e-9 <= 1 + 1e-9
        assert r["n1"] <= 200
    sift_rotation = next(r for r in rows if r["method"] == "sift" and r["kind"] == "rotation")
    assert sift_rotation["repeatability"] > 0.8  # a 90° turn is an exact rearrangement of pixels
    summary = ks.summarise_quality(rows)
    assert list(summary) == ["orb", "sift"]
    assert summary["sift"]["matching_score rotation"] == pytest.approx(sift_rotation["matching_score"])
    assert summary["orb"]["repeatability"] == pytest.approx(np.mean([r["repeatability"] for r in rows[:2]]))


def test_detector_quality_and_times_reject_bad_input(camera_small):
    with pytest.raises(EmptyInputError):
        ks.detector_quality({})
    with pytest.raises(UnknownMethodError):
        ks.detector_quality({"c": camera_small}, methods=["harris"])
    with pytest.raises(EmptyInputError):
        ks.detector_quality({"c": camera_small}, methods=[])
    with pytest.raises(InvalidParameterError):
        ks.detector_quality({"c": camera_small}, n_features=0)
    with pytest.raises(EmptyInputError):
        ks.summarise_quality([])
    with pytest.raises(UnknownMethodError):
        ks.detection_times(camera_small, methods=["nope"])


def test_detection_times_covers_each_method(camera_small):
    times = ks.detection_times(camera_small, methods=["orb", "akaze"], repeat=1)
    assert list(times) == ["orb", "akaze"] and all(t > 0 for t in times.values())
