"""One keypoint API over SIFT, SURF, ORB, AKAZE, BRISK: features, matching, verification, similarity."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from imgsim_helpers.core.errors import (
    EmptyImageError,
    ImageTooSmallError,
    ImageTypeError,
    InvalidImageError,
    InvalidParameterError,
    UnknownMethodError,
)
from imgsim_helpers.lessons.keypoint_study import matching_score, repeatability
from imgsim_helpers.metrics.keypoints import (
    METHODS,
    DescriptorMismatchError,
    Features,
    Matches,
    compare_features,
    detect_and_describe,
    keypoint_similarity,
    match_descriptors,
    project,
    ratio_test_reference,
    verify_matches,
)

DESCRIPTOR_LAYOUT = {
    "sift": (128, np.float32, False),
    "surf": (64, np.float32, False),
    "orb": (32, np.uint8, True),
    "akaze": (61, np.uint8, True),
    "brisk": (64, np.uint8, True),
}


@pytest.fixture(scope="module")
def camera():
    return data.camera()


@pytest.fixture(scope="module")
def astronaut():
    return data.astronaut()


def similarity(shape, angle, scale):
    h, w = shape[:2]
    return np.vstack([cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), angle, scale), [0, 0, 1]])


def warp(image, homography):
    return cv2.warpPerspective(image, homography, (image.shape[1], image.shape[0]), flags=cv2.INTER_LINEAR)


@pytest.fixture(scope="module")
def features_by_method(camera):
    return {m: detect_and_describe(camera, method=m, max_features=400) for m in METHODS}


# --------------------------------------------------------------------------- detect_and_describe


@pytest.mark.parametrize("method", METHODS)
def test_every_method_returns_the_documented_structure(features_by_method, method):
    f = features_by_method[method]
    width, dtype, binary = DESCRIPTOR_LAYOUT[method]
    n = len(f)
    assert 100 <= n <= 400
    assert f.method == method and f.binary is binary and f.norm == ("hamming" if binary else "l2")
    assert f.image_shape == (512, 512)
    assert f.xy.shape == (n, 2) and f.xy.dtype == np.float64
    for name in ("scale", "angle", "response"):
        assert getattr(f, name).shape == (n,) and getattr(f, name).dtype == np.float64
    assert f.descriptors.shape == (n, width) and f.descriptors.dtype == dtype
    assert np.all(f.scale > 0)
    assert np.all((f.angle >= 0) & (f.angle < 360))
    assert np.all(np.diff(f.response) <= 0)
    assert f.xy[:, 0].min() >= -0.5 and f.xy[:, 0].max() <= 511.5
    with pytest.raises(ValueError):
        f.xy[0, 0] = 1.0  # frozen: the arrays are read-only


def test_features_do_not_freeze_the_callers_arrays():
    xy = np.zeros((1, 2))
    f = Features(xy, np.ones(1), np.zeros(1), np.ones(1), np.ones((1, 4), np.float32), "sift", False, (9, 9))
    xy[0, 0] = 3.0
    assert f.xy[0, 0] == 3.0 and not f.xy.flags.writeable
    assert len(f.select([0])) == 1 and f.select(np.array([False])).descriptors.shape == (0, 4)


@pytest.mark.parametrize("method", METHODS)
def test_angles_share_one_convention(camera, features_by_method, method):
    """Angles are measured towards +y (rows down): a counter-clockwise turn on screen lowers them."""
    h = similarity(camera.shape, 30.0, 1.0)
    moved = detect_and_describe(warp(camera, h), method=method, max_features=400)
    pairs = repeatability(features_by_method[method], moved, h).correspondences
    assert len(pairs) > 100
    turn = np.radians(moved.angle[pairs[:, 1]] - features_by_method[method].angle[pairs[:, 0]])
    mean_turn = np.degrees(np.arctan2(np.sin(turn).mean(), np.cos(turn).mean()))
    assert mean_turn == pytest.approx(-30.0, abs=3.0)


@pytest.mark.parametrize("method", ["sift", "surf", "orb"])
def test_gray_rgb_and_float_inputs_are_accepted(astronaut, method):
    gray = cv2.cvtColor(astronaut, cv2.COLOR_RGB2GRAY)
    from_rgb = detect_and_describe(astronaut, method=method, max_features=200)
    from_float = detect_and_describe(astronaut / 255.0, method=method, max_features=200)
    from_gray = detect_and_describe(gray, method=method, max_features=200)
    assert len(from_rgb) == 200 and len(from_float) == 200 and len(from_gray) == 200
    # float [0, 1] and uint8 describe the same gray image up to rounding.
    common = np.isin(np.round(from_rgb.xy, 1).view(complex), np.round(from_float.xy, 1).view(complex)).mean()
    assert common > 0.8


def test_rgb_is_converted_in_rgb_order_not_bgr(astronaut):
    from imgsim_helpers.images.io import to_gray

    f = detect_and_describe(astronaut, method="orb", max_features=300)
    g = detect_and_describe(to_gray(astronaut), method="orb", max_features=300)
    np.testing.assert_array_equal(f.xy, g.xy)
    np.testing.assert_array_equal(f.descriptors, g.descriptors)


@pytest.mark.parametrize("method", ["sift", "surf", "akaze"])
def test_max_features_keeps_the_strongest(camera, method):
    full = detect_and_describe(camera, method=method)
    top = detect_and_describe(camera, method=method, max_features=50)
    assert len(top) == 50
    np.testing.assert_allclose(top.response, full.response[:50])


def test_options_reach_the_detector(camera):
    strict = detect_and_describe(camera, method="surf", options={"hessian_threshold": 0.004})
    loose = detect_and_describe(camera, method="surf")
    assert len(strict) < len(loose)
    extended = detect_and_describe(camera, method="surf", max_features=10, options={"extended": True})
    assert extended.descriptors.shape == (10, 128)
    sift = detect_and_describe(camera, method="sift", options={"contrastThreshold": 0.1})
    assert len(sift) < len(detect_and_describe(camera, method="sift"))
    with pytest.raises(InvalidParameterError, match="unknown SURF option"):
        detect_and_describe(camera, method="surf", options={"threshold": 1})
    with pytest.raises(InvalidParameterError, match="SIFT_create"):
        detect_and_describe(camera, method="sift", options={"bogus": 1})


@pytest.mark.parametrize("method", METHODS)
def test_textureless_image_gives_empty_features_of_the_right_width(method):
    f = detect_and_describe(np.full((80, 80), 127, np.uint8), method=method)
    assert len(f) == 0
    assert f.descriptors.shape == (0, DESCRIPTOR_LAYOUT[method][0])
    assert f.descriptors.dtype == DESCRIPTOR_LAYOUT[method][1]


def test_unknown_method_lists_the_methods(camera):
    with pytest.raises(UnknownMethodError, match="sift, surf, orb, akaze, brisk"):
        detect_and_describe(camera, method="harris")
    with pytest.raises(UnknownMethodError):
        keypoint_similarity(camera, camera, method="kaze")


@pytest.mark.parametrize(
    ("image", "error"),
    [
        (np.zeros((64, 64), np.int64), ImageTypeError),
        (np.full((64, 64), np.nan), InvalidImageError),
        (np.zeros((64, 0), np.uint8), EmptyImageError),
        (np.zeros((10, 10), np.uint8), ImageTooSmallError),
        (np.zeros((64, 64, 2), np.uint8), InvalidImageError),
    ],
)
def test_bad_images_raise_typed_errors(image, error):
    with pytest.raises(error):
        detect_and_describe(image, method="orb")


@pytest.mark.parametrize("max_features", [0, -3, 2.5, True])
def test_bad_max_features(camera, max_features):
    with pytest.raises(InvalidParameterError):
        detect_and_describe(camera, max_features=max_features)


# --------------------------------------------------------------------------- matching


def test_ratio_test_drops_ambiguous_matches():
    d1 = np.array([[0.0, 0.0], [5.0, 5.0]], np.float32)
    d2 = np.array([[0.0, 1.0], [5.0, 4.0], [5.0, 6.0], [9.0, 9.0]], np.float32)
    m = match_descriptors(d1, d2, ratio=0.75)
    # Descriptor 1 has two equally near candidates: ambiguous, dropped.
    assert m.indices.tolist() == [[0, 0]] and m.norm == "l2"
    np.testing.assert_allclose(m.distances, [1.0])
    assert len(match_descriptors(d1, d2, ratio=1.0)) == 2


def test_hamming_distance_for_binary_descriptors():
    rng = np.random.default_rng(0)
    d1 = rng.integers(0, 256, (20, 32), dtype=np.uint8)
    d2 = d1.copy()
    d2[:, 0] ^= 0b111  # three bits differ in every descriptor
    m = match_descriptors(d1, d2)
    assert m.norm == "hamming" and len(m) == 20
    np.testing.assert_array_equal(m.indices, np.stack([np.arange(20)] * 2, axis=1))
    np.testing.assert_array_equal(m.distances, 3.0)


def test_cross_check_keeps_mutual_nearest_neighbours():
    d1 = np.array([[0.0], [1.0], [10.0]], np.float32)
    d2 = np.array([[0.9], [10.2]], np.float32)
    # 0 -> 0 and 1 -> 0, but 0's nearest is 1: only (1, 0) and (2, 1) are mutual.
    m = match_descriptors(d1, d2, ratio=1.0, cross_check=True)
    assert m.indices.tolist() == [[1, 0], [2, 1]]


def test_single_train_descriptor_passes_the_ratio_test():
    m = match_descriptors(np.ones((3, 4), np.float32), np.ones((1, 4), np.float32))
    assert m.indices[:, 1].tolist() == [0, 0, 0]


@pytest.mark.parametrize("empty_first", [True, False])
def test_empty_descriptor_sets_give_empty_matches(empty_first):
    full = np.ones((5, 32), np.uint8)
    empty = np.zeros((0, 32), np.uint8)
    m = match_descriptors(empty, full) if empty_first else match_descriptors(full, empty)
    assert len(m) == 0 and m.indices.shape == (0, 2) and m.norm == "hamming"


@pytest.mark.parametrize(
    ("d1", "d2"),
    [
        (np.ones((3, 64), np.float32), np.ones((3, 128), np.float32)),
        (np.ones((3, 32), np.uint8), np.ones((3, 32), np.float32)),
        (np.ones((3, 32), np.int64), np.ones((3, 32), np.int64)),
        (np.ones(32, np.float32), np.ones((3, 32), np.float32)),
        (np.full((2, 4), np.nan, np.float32), np.ones((3, 4), np.float32)),
        ([[1, 2]], np.ones((3, 2), np.float32)),
    ],
)
def test_mismatched_descriptors_raise(d1, d2):
    with pytest.raises(DescriptorMismatchError):
        match_descriptors(d1, d2)


@pytest.mark.parametrize("ratio", [0.0, 1.5, -0.2, "0.7"])
def test_bad_ratio(ratio):
    with pytest.raises(InvalidParameterError):
        match_descriptors(np.ones((2, 2), np.float32), np.ones((2, 2), np.float32), ratio=ratio)


# --------------------------------------------------------------------------- verification


def _pairs(n):
    return np.stack([np.arange(n)] * 2, axis=1)


def test_verify_recovers_a_homography_with_outliers():
    rng = np.random.default_rng(1)
    h = np.array([[0.9, -0.2, 30.0], [0.25, 1.1, -12.0], [1e-4, -2e-4, 1.0]])
    p1 = rng.uniform(0, 400, (60, 2))
    p2 = project(h, p1)
    p2[:15] = rng.uniform(0, 400, (15, 2))  # a quarter of wrong matches
    v = verify_matches(p1, p2, _pairs(60))
    assert v.ok and v.reason == "ok" and v.model == "homography"
    assert v.inliers[15:].all() and v.n_inliers <= 46
    np.testing.assert_allclose(v.transform / v.transform[2, 2], h, rtol=1e-3, atol=1e-3)
    assert v.mean_inlier_error < 0.01
    again = verify_matches(p1, p2, _pairs(60))
    np.testing.assert_array_equal(again.inliers, v.inliers)


def test_verify_affine_model():
    rng = np.random.default_rng(2)
    a = np.array([[1.2, 0.1, 5.0], [-0.1, 0.8, 7.0], [0.0, 0.0, 1.0]])
    p1 = rng.uniform(0, 100, (20, 2))
    v = verify_matches(p1, project(a, p1), _pairs(20), model="affine")
    assert v.ok and v.n_inliers == 20
    np.testing.assert_allclose(v.transform, a, atol=1e-6)


@pytest.mark.parametrize(("model", "n"), [("homography", 3), ("affine", 2), ("homography", 0)])
def test_too_few_matches_give_a_defined_result(model, n):
    p = np.arange(20, dtype=float).reshape(10, 2) ** 1.5
    v = verify_matches(p, p, _pairs(n), model=model)
    assert not v.ok and "too few matches" in v.reason
    np.testing.assert_array_equal(v.transform, np.eye(3))
    assert v.inliers.shape == (n,) and not v.inliers.any()
    assert v.n_inliers == 0 and v.mean_inlier_error == 0.0


def test_degenerate_points_give_a_defined_result():
    line = np.stack([np.arange(10.0), np.arange(10.0)], axis=1)  # collinear
    v = verify_matches(line, line * 2, _pairs(10))
    assert not v.ok and np.isfinite(v.transform).all() and not v.inliers.any()


def test_verify_rejects_bad_arguments():
    p = np.zeros((5, 2))
    with pytest.raises(UnknownMethodError, match="homography, affine"):
        verify_matches(p, p, _pairs(5), model="similarity")
    with pytest.raises(InvalidParameterError):
        verify_matches(p, p, _pairs(5), ransac_threshold=0)
    with pytest.raises(InvalidParameterError, match="out of range"):
        verify_matches(p, p, [[0, 7]])
    with pytest.raises(InvalidParameterError):
        verify_matches(np.zeros((5, 3)), p, _pairs(5))


def test_surf_recovers_a_known_rotation_and_scale(astronaut):
    """The issue's acceptance test: 30° and ×1.2 recovered within 2 px from SURF matches."""
    truth = similarity(astronaut.shape, 30.0, 1.2)
    moved = warp(astronaut, truth)
    f1 = detect_and_describe(astronaut, method="surf")
    f2 = detect_and_describe(moved, method="surf")
    matches = match_descriptors(f1, f2, ratio=0.75)
    v = verify_matches(f1, f2, matches, model="homography")
    assert v.ok and v.n_inliers >= 50
    # Mean reprojection error over a grid of image-1 points that land inside
    # image 2 (the whole common region, not only where the keypoints are).
    grid = np.stack(np.meshgrid(np.linspace(0, 511, 24), np.linspace(0, 511, 24)), -1).reshape(-1, 2)
    expected = project(truth, grid)
    inside = np.all((expected >= 0) & (expected <= 511), axis=1)
    error = np.linalg.norm(project(v.transform, grid[inside]) - expected[inside], axis=1)
    assert error.mean() < 2.0
    # Angle and scale of the estimate around the image centre: a 60-px step
    # along +x turns by 30° counter-clockwise on screen (towards -y) and grows by 1.2.
    centre = np.array([[255.5, 255.5], [315.5, 255.5]])
    step = np.diff(project(v.transform, centre), axis=0)[0]
    assert np.degrees(np.arctan2(-step[1], step[0])) == pytest.approx(30.0, abs=0.5)
    assert np.hypot(*step) / 60.0 == pytest.approx(1.2, rel=0.01)


# --------------------------------------------------------------------------- similarity score


@pytest.fixture(scope="module")
def surf_camera(camera):
    return detect_and_describe(camera, method="surf")


def test_identical_images_score_high(camera, surf_camera):
    result = compare_features(surf_camera, surf_camera)
    assert result.score > 0.95 and result.reason == "ok"
    assert keypoint_similarity(camera, camera, method="orb").score > 0.95


def test_rotated_and_scaled_copies_stay_high_and_unrelated_images_low(camera, surf_camera):
    unrelated = compare_features(surf_camera, detect_and_describe(data.coffee(), method="surf"))
    assert unrelated.score < 0.02
    for angle, scale in [(30.0, 1.2), (90.0, 1.0), (0.0, 0.7)]:
        moved = detect_and_describe(warp(camera, similarity(camera.shape, angle, scale)), method="surf")
        result = compare_features(surf_camera, moved)
        assert result.score > 0.2, (angle, scale)
        assert result.score > 10 * unrelated.score + 0.1


def test_a_crop_scores_high_because_the_sparser_image_sets_the_denominator(camera):
    crop = camera[100:356, 150:406]
    result = keypoint_similarity(camera, crop, method="sift")
    assert result.score > 0.5


def test_textureless_image_scores_zero_with_a_reason(camera):
    result = keypoint_similarity(camera, np.zeros((100, 100), np.uint8), method="surf")
    assert result.score == 0.0 and "no keypoints in image2" in result.reason
    assert result.n_matches == 0 and not result.verification.ok
    result = keypoint_similarity(np.zeros((50, 50)), np.zeros((60, 60)), method="sift")
    assert result.score == 0.0 and "image1 and image2" in result.reason


def test_result_holds_what_a_drawing_needs(camera):
    moved = warp(camera, similarity(camera.shape, 10.0, 1.0))
    r = keypoint_similarity(camera, moved, method="akaze", model="affine")
    assert isinstance(r.features1, Features) and isinstance(r.matches, Matches)
    assert r.inliers.shape == (r.n_matches,) and r.transform.shape == (3, 3)
    assert r.n_inliers == int(r.inliers.sum()) and 0.0 <= float(r) <= 1.0
    assert r.method == "akaze" and r.verification.model == "affine"


def test_min_inliers_gates_chance_agreement(surf_camera):
    coffee = detect_and_describe(data.coffee(), method="surf")
    gated = compare_features(surf_camera, coffee, min_inliers=10_000)
    assert gated.score == 0.0 and "min_inliers" in gated.reason
    with pytest.raises(InvalidParameterError):
        compare_features(surf_camera, coffee, min_inliers=0)


def test_features_of_different_methods_cannot_be_compared(features_by_method):
    with pytest.raises(DescriptorMismatchError, match="same method"):
        compare_features(features_by_method["sift"], features_by_method["surf"])


# --------------------------------------------------------------------------- evaluation protocol


def _one(x, y, scale, shape=(200, 200), descriptor=(1.0, 0.0)):
    return Features(
        np.array([[x, y]], float), np.array([scale], float), np.zeros(1), np.ones(1),
        np.array([descriptor], np.float32), "sift", False, shape,
    )


def test_repeatability_of_identical_features_is_one(features_by_method):
    f = features_by_method["sift"]
    r = repeatability(f, f, np.eye(3))
    assert r.value == 1.0 and r.n1 == r.n2 == r.n_correspondences


def test_repeatability_follows_the_overlap_error_rule():
    h = similarity((200, 200), 0.0, 1.0)
    base = _one(100, 100, 5.0)
    # Same place, scale ratio 1.2: overlap error 1 - 1/1.44 = 0.31 < 0.4.
    assert repeatability(base, _one(100, 100, 6.0), h).value == 1.0
    # Scale ratio 1.4: 1 - 1/1.96 = 0.49, no correspondence.
    assert repeatability(base, _one(100, 100, 7.0), h).value == 0.0
    # Radius normalised to 30 px, centre distance not: 5 px apart still overlaps
    # (error 0.2), 12 px apart does not (error 0.45).
    assert repeatability(base, _one(105, 100, 5.0), h).value == 1.0
    assert repeatability(base, _one(112, 100, 5.0), h).value == 0.0


def test_repeatability_uses_the_homography_and_the_common_region():
    h = np.array([[2.0, 0.0, 10.0], [0.0, 2.0, -20.0], [0.0, 0.0, 1.0]])
    f1 = _one(50, 60, 3.0)
    f2 = _one(2 * 50 + 10, 2 * 60 - 20, 6.0)
    assert repeatability(f1, f2, h).value == 1.0
    # A keypoint whose circle leaves image 2 after the map is outside the common region.
    outside = _one(150, 60, 3.0)
    r = repeatability(outside, f2, h)
    assert r.n1 == 0 and r.value == 0.0


def test_matching_score_counts_correct_matches():
    h = np.eye(3)
    f1 = Features(
        np.array([[50.0, 50.0], [150.0, 150.0]]), np.array([4.0, 4.0]), np.zeros(2), np.ones(2),
        np.array([[1, 0], [0, 1]], np.float32), "sift", False, (200, 200),
    )
    swapped = Features(
        f1.xy.copy(), f1.scale.copy(), np.zeros(2), np.ones(2),
        np.array([[0, 1], [1, 0]], np.float32), "sift", False, (200, 200),
    )
    good = matching_score(f1, f1, h)
    assert good.matching_score == 1.0 and good.precision == 1.0 and good.recall == 1.0
    bad = matching_score(f1, swapped, h)
    assert bad.repeatability.value == 1.0 and bad.matching_score == 0.0 and bad.precision == 0.0


def test_sift_and_surf_measured_under_a_known_rotation(camera, features_by_method):
    h = similarity(camera.shape, 30.0, 1.2)
    moved = warp(camera, h)
    scores = {}
    for method in ("sift", "surf"):
        f2 = detect_and_describe(moved, method=method, max_features=400)
        scores[method] = matching_score(features_by_method[method], f2, h)
    for result in scores.values():
        assert 0.3 < result.repeatability.value <= 1.0
        assert 0.1 < result.matching_score <= result.repeatability.value + 1e-9
        assert result.precision > 0.5


def test_evaluation_rejects_bad_arguments(features_by_method):
    f = features_by_method["orb"]
    with pytest.raises(InvalidParameterError):
        repeatability(f, f, np.zeros((3, 3)))
    with pytest.raises(InvalidParameterError):
        repeatability(f, f, np.eye(3), overlap_error=1.5)
    with pytest.raises(InvalidParameterError):
        matching_score(f.xy, f, np.eye(3))


@pytest.mark.parametrize("method", ["sift", "orb", "akaze"])
@pytest.mark.parametrize("ratio", [0.6, 0.75, 0.9])
def test_match_descriptors_equals_the_reference_ratio_test(camera, method, ratio):
    f1 = detect_and_describe(camera, method=method, max_features=300)
    f2 = detect_and_describe(warp(camera, similarity(camera.shape, 20, 0.9)), method=method, max_features=300)
    fast = match_descriptors(f1, f2, ratio=ratio)
    reference = ratio_test_reference(f1.descriptors, f2.descriptors, ratio)
    assert len(fast) > 20
    assert np.array_equal(fast.indices, reference)
