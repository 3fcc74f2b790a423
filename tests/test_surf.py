"""SURF from the paper: integral image, box Hessian, Fast-Hessian detector, orientation, descriptor."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import ndimage
from skimage import data

from imgsim_helpers.core.errors import (
    EmptyImageError,
    ImageTooSmallError,
    ImageTypeError,
    InvalidImageError,
    InvalidParameterError,
)
from imgsim_helpers.lessons.keypoint_study import box_hessian_reference, box_kernels
from imgsim_helpers.metrics.surf_detector import (
    DEFAULT_HESSIAN_THRESHOLD,
    DXY_WEIGHT,
    box_hessian,
    box_sum,
    filter_sizes,
    integral_image,
    surf,
    surf_describe,
    surf_detect,
    surf_orientation,
)


@pytest.fixture(scope="module")
def camera():
    return data.camera()


@pytest.fixture(scope="module")
def camera_features(camera):
    return surf(camera)


def _blob(sigma, size=128, centre=(64.3, 60.6), bright=True):
    yy, xx = np.mgrid[0:size, 0:size]
    blob = np.exp(-((xx - centre[0]) ** 2 + (yy - centre[1]) ** 2) / (2 * sigma**2))
    return blob if bright else 1.0 - blob


# --------------------------------------------------------------------------- integral image


@settings(max_examples=60, deadline=None)
@given(
    image=arrays(np.uint8, st.tuples(st.integers(1, 12), st.integers(1, 12))),
    box=st.tuples(st.integers(-3, 14), st.integers(-3, 14), st.integers(0, 16), st.integers(0, 16)),
)
def test_box_sum_equals_direct_sum(image, box):
    top, left, height, width = box
    table = integral_image(image)
    assert table.shape == (image.shape[0] + 1, image.shape[1] + 1)
    # Pixels outside the image count as zero: the direct sum over the clipped box.
    t, b = max(top, 0), max(min(top + height, image.shape[0]), 0)
    lft, r = max(left, 0), max(min(left + width, image.shape[1]), 0)
    expected = float(image[t:b, lft:r].astype(np.int64).sum()) if b > t and r > lft else 0.0
    assert box_sum(table, top, left, height, width) == expected


@settings(max_examples=30, deadline=None)
@given(image=arrays(np.float64, (9, 7), elements=st.floats(0, 1)))
def test_box_sum_broadcasts_over_many_boxes_of_float_images(image):
    table = integral_image(image)
    tops, lefts = np.meshgrid(np.arange(6), np.arange(4), indexing="ij")
    sums = box_sum(table, tops, lefts, 3, 4)
    direct = np.array([[image[t : t + 3, c : c + 4].sum() for c in range(4)] for t in range(6)])
    np.testing.assert_allclose(sums, direct, atol=1e-9)


def test_integral_image_converts_rgb_to_gray():
    rgb = np.zeros((2, 2, 3), np.uint8)
    rgb[..., 1] = 100
    assert integral_image(rgb)[-1, -1] == 4 * round(0.587 * 100)


def test_box_sum_rejects_fractional_coordinates_and_negative_sizes():
    table = integral_image(np.ones((4, 4), np.uint8))
    with pytest.raises(InvalidParameterError):
        box_sum(table, 0.5, 0, 2, 2)
    with pytest.raises(InvalidParameterError):
        box_sum(table, 0, 0, -1, 2)


# --------------------------------------------------------------------------- box filters


def test_filter_sizes_follow_the_paper():
    assert filter_sizes(0) == [9, 15, 21, 27]
    assert filter_sizes(1) == [15, 27, 39, 51]
    assert filter_sizes(2) == [27, 51, 75, 99]
    assert filter_sizes(3) == [51, 99, 147, 195]


def test_box_kernels_match_the_paper_layout():
    dxx, dyy, dxy = box_kernels(9)
    # Dxx: lobes of 3 columns weighted +1, -2, +1, 5 rows tall, centred.
    assert np.array_equal(dxx[2:7], np.tile([1, 1, 1, -2, -2, -2, 1, 1, 1], (5, 1)))
    assert not dxx[:2].any() and not dxx[7:].any()
    assert np.array_equal(dyy, dxx.T)
    # Dxy: four 3x3 squares of +-1 with a one-pixel cross of zeros.
    assert np.array_equal(dxy[1:4, 1:4], np.ones((3, 3))) and np.array_equal(dxy[5:8, 5:8], np.ones((3, 3)))
    assert np.array_equal(dxy[1:4, 5:8], -np.ones((3, 3))) and not dxy[4].any() and not dxy[:, 4].any()
    for kernel in box_kernels(27):
        assert kernel.sum() == 0


@pytest.mark.parametrize("size", [8, 12, 18, 4])
def test_box_kernels_reject_sizes_that_are_not_three_times_odd(size):
    with pytest.raises(InvalidParameterError):
        box_kernels(size)


@pytest.mark.parametrize(("size", "step"), [(9, 1), (15, 2), (27, 4), (51, 8)])
def test_box_hessian_equals_the_reference_formula(camera, size, step):
    crop = camera[100:260, 150:330]
    gray = crop / 255.0
    maps = box_hessian(crop, size, step=step)
    for kernel, got in zip(box_kernels(size), (maps.dxx, maps.dyy, maps.dxy), strict=True):
        # np.pad "reflect" (OpenCV's BORDER_REFLECT_101) is scipy's "mirror".
        expected = ndimage.correlate(gray, kernel, mode="mirror")[::step, ::step] / size**2
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-10)
    np.testing.assert_allclose(maps.determinant, maps.dxx * maps.dyy - (DXY_WEIGHT * maps.dxy) ** 2)
    reference = box_hessian_reference(gray, size)[::step, ::step]
    np.testing.assert_allclose(maps.determinant, reference, rtol=0, atol=1e-10)
    assert maps.sigma == pytest.approx(1.2 * size / 9)


# --------------------------------------------------------------------------- detector


@pytest.mark.parametrize("bright", [True, False])
def test_a_gaussian_blob_is_found_at_its_centre_with_the_laplacian_sign(bright):
    kp = surf_detect(_blob(4.0, bright=bright), hessian_threshold=1e-4)
    assert len(kp) >= 1
    np.testing.assert_allclose(kp.xy[0], [64.3, 60.6], atol=0.15)
    assert kp.laplacian[0] == (-1 if bright else 1)


def test_detected_scale_is_proportional_to_the_blob_size():
    small = surf_detect(_blob(3.0, size=160, centre=(80.2, 79.7)), hessian_threshold=1e-4)
    large = surf_detect(_blob(6.0, size=160, centre=(80.2, 79.7)), hessian_threshold=1e-4)
    assert large.scale[0] / small.scale[0] == pytest.approx(2.0, rel=0.1)


def test_default_threshold_gives_hundreds_of_keypoints_on_course_images(camera):
    for image in (camera, data.astronaut(), data.brick()):
        assert 300 <= len(surf_detect(image)) <= 2500


def test_uint8_and_float_inputs_give_the_same_keypoints(camera):
    a = surf_detect(camera)
    b = surf_detect(camera / 255.0)
    np.testing.assert_allclose(a.xy, b.xy)
    assert DEFAULT_HESSIAN_THRESHOLD > 0


def test_keypoints_are_sorted_inside_the_image_and_obey_the_threshold(camera):
    kp = surf_detect(camera, hessian_threshold=0.002)
    assert np.all(np.diff(kp.response) <= 0)
    assert kp.response.min() > 0.002 * 0.9  # interpolation may lower a peak slightly
    assert kp.xy.min() >= 0 and kp.xy[:, 0].max() <= 511 and kp.xy[:, 1].max() <= 511
    assert len(kp) < len(surf_detect(camera))
    assert set(np.unique(kp.laplacian)) <= {-1, 1}


def test_max_keypoints_keeps_the_strongest(camera):
    full = surf_detect(camera)
    top = surf_detect(camera, max_keypoints=50)
    np.testing.assert_array_equal(top.xy, full.xy[:50])


def test_textureless_image_has_no_keypoints():
    features = surf(np.full((64, 64), 0.5))
    assert len(features) == 0
    assert features.descriptors.shape == (0, 64) and features.xy.shape == (0, 2)


# --------------------------------------------------------------------------- descriptor


def test_descriptors_have_unit_length(camera_features):
    assert camera_features.descriptors.shape[1] == 64
    assert camera_features.descriptors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(camera_features.descriptors, axis=1), 1.0, atol=1e-5)


def test_extended_descriptor_is_128_dimensional_and_unit_length(camera):
    features = surf(camera, extended=True, max_keypoints=100)
    assert features.descriptors.shape == (100, 128) and features.extended
    np.testing.assert_allclose(np.linalg.norm(features.descriptors, axis=1), 1.0, atol=1e-5)


def test_upright_has_zero_angles_and_different_descriptors(camera, camera_features):
    upright = surf(camera, upright=True)
    assert upright.upright and np.all(upright.angle == 0)
    np.testing.assert_array_equal(upright.xy, camera_features.xy)
    assert np.ptp(camera_features.angle) > 180  # oriented keypoints point everywhere
    differs = np.abs(upright.descriptors - camera_features.descriptors).max(axis=1) > 1e-3
    assert differs.mean() > 0.9


def test_describe_and_orientation_agree_with_the_one_call_pipeline(camera, camera_features):
    kp = surf_detect(camera)
    described = surf_describe(camera, kp)
    np.testing.assert_allclose(described.angle, camera_features.angle, atol=1e-6)
    np.testing.assert_allclose(surf_orientation(camera, kp), camera_features.angle, atol=1e-6)
    close = np.abs(described.descriptors - camera_features.descriptors).max(axis=1) < 1e-5
    assert close.mean() > 0.95  # only windows reaching far outside the image may differ


def _rotated(image, angle, scale=1.0):
    h, w = image.shape[:2]
    matrix = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), angle, scale)
    return cv2.warpAffine(image, matrix, (w, h), flags=cv2.INTER_LINEAR), np.vstack([matrix, [0, 0, 1]])


def _corresponding(f1, f2, homography, tolerance=1.5):
    """Indices of keypoints of f1 and f2 at the same place (through the homography) and scale."""
    from scipy.spatial import cKDTree

    p = np.c_[f1.xy, np.ones(len(f1))] @ homography.T
    p = p[:, :2] / p[:, 2:]
    dist, j = cKDTree(f2.xy).query(p)
    scale = np.sqrt(abs(np.linalg.det(homography[:2, :2])))
    ok = (dist < tolerance) & (np.abs(np.log(f2.scale[j] / (scale * f1.scale))) < 0.15)
    return np.nonzero(ok)[0], j[ok]


def test_orientation_turns_with_the_image(camera, camera_features):
    rotated, h = _rotated(camera, 30.0)
    f2 = surf(rotated)
    i, j = _corresponding(camera_features, f2, h)
    assert len(i) > 100
    # A counter-clockwise turn on screen lowers angles measured towards +y (rows down).
    turn = np.radians(f2.angle[j] - camera_features.angle[i])
    mean_turn = np.degrees(np.arctan2(np.sin(turn).mean(), np.cos(turn).mean()))
    assert mean_turn == pytest.approx(-30.0, abs=2.0)
    error = np.abs((np.degrees(turn) + 30.0 + 180.0) % 360.0 - 180.0)
    # SURF's orientation is coarser than SIFT's (Haar wavelets of side 4s on a
    # grid of spacing s): most, not all, keypoints turn by 30 degrees +- 15.
    assert np.median(error) < 10.0
    assert np.mean(error < 15.0) > 0.65


def test_descriptors_of_corresponding_keypoints_are_close_after_rotation(camera, camera_features):
    rotated, h = _rotated(camera, 30.0)
    f2 = surf(rotated)
    i, j = _corresponding(camera_features, f2, h)
    same = np.linalg.norm(camera_features.descriptors[i] - f2.descriptors[j], axis=1)
    shuffled = np.linalg.norm(camera_features.descriptors[i] - f2.descriptors[np.roll(j, 7)], axis=1)
    assert np.median(same) < 0.5 * np.median(shuffled)


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("image", "error"),
    [
        (np.zeros((64, 64), np.int64), ImageTypeError),
        (np.full((64, 64), np.nan), InvalidImageError),
        (np.zeros((0, 64)), EmptyImageError),
        (np.zeros((8, 8), np.uint8), ImageTooSmallError),
        ([[0, 1], [1, 0]], ImageTypeError),
    ],
)
def test_bad_images_raise_typed_errors(image, error):
    with pytest.raises(error):
        surf(image)
    with pytest.raises(error):
        box_hessian(image)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"hessian_threshold": -1.0},
        {"hessian_threshold": float("nan")},
        {"n_octaves": 0},
        {"n_intervals": 2},
        {"max_keypoints": -5},
        {"n_octaves": 2.5},
    ],
)
def test_bad_options_raise_invalid_parameter(camera, kwargs):
    with pytest.raises(InvalidParameterError):
        surf_detect(camera, **kwargs)


def test_keypoints_from_another_image_are_refused(camera):
    kp = surf_detect(camera, max_keypoints=5)
    with pytest.raises(InvalidImageError, match="detected in an image of shape"):
        surf_describe(camera[:256], kp)
    with pytest.raises(InvalidParameterError):
        surf_describe(camera, kp.xy)


def test_small_images_work_with_fewer_octaves():
    image = data.camera()[200:240, 200:260]
    features = surf(image)
    assert features.descriptors.shape[1] == 64
    assert set(np.unique(features.octave)) <= {0}


def test_integral_lookups_are_the_bilinear_area_integral():
    """The shared-corner lookups behind box means and Haar responses equal the plain formula."""
    from imgsim_helpers.metrics.surf_detector import _Integral

    rng = np.random.default_rng(3)
    image = rng.random((40, 50))
    integral = _Integral(image, pad=4)
    table = integral.table
    rows = rng.uniform(-3.0, table.shape[0] + 3.0, (7, 9))
    cols = rng.uniform(-3.0, table.shape[1] + 3.0, (7, 9))

    def bilinear(r, c):  # clamped to the table, as the lookups are
        r = min(max(r, 0.0), table.shape[0] - 1.0)
        c = min(max(c, 0.0), table.shape[1] - 1.0)
        i, j = min(int(r), table.shape[0] - 2), min(int(c), table.shape[1] - 2)
        fr, fc = r - i, c - j
        top = table[i, j] + fc * (table[i, j + 1] - table[i, j])
        bottom = table[i + 1, j] + fc * (table[i + 1, j + 1] - table[i + 1, j])
        return top + fr * (bottom - top)

    expected = np.vectorize(bilinear)(rows, cols)
    assert np.array_equal(integral._lookup(integral._part(rows, 0), integral._part(cols, 1)), expected)
    # A box on pixel boundaries: its mean is the mean of the pixels it covers.
    mean = integral.box_mean(np.array([[10.5]]), np.array([[20.5]]), 3.0)
    assert mean[0, 0] == pytest.approx(image[18:24, 8:14].mean(), abs=1e-12)
