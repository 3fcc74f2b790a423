"""Histograms: agreement with OpenCV, properties, the vectorised matrix, and bad input."""

import cv2
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import imgsim_helpers as h
from imgsim_helpers.core.errors import (
    EmptyInputError,
    InvalidParameterError,
    ShapeMismatchError,
    UnknownMethodError,
)
from imgsim_helpers.metrics import histograms as histograms_module
from imgsim_helpers.metrics.histograms import HISTOGRAM_METHODS

GALLERY = h.course_gallery(max_side=64)
HISTS = [h.color_histogram(image, bins=6) for image in GALLERY.values()]
OPENCV = {name: getattr(cv2, spec.opencv_flag) for name, spec in HISTOGRAM_METHODS.items() if spec.opencv_flag}

histograms = arrays(np.float32, st.integers(2, 40), elements=st.floats(0, 1, width=32)).filter(lambda a: a.sum() > 1e-3)


@pytest.mark.parametrize("space", ["rgb", "hsv", "lab"])
def test_histogram_equals_calchist(space):
    image = GALLERY["coffee"]
    converted = {"rgb": image, "hsv": cv2.cvtColor(image, cv2.COLOR_RGB2HSV), "lab": cv2.cvtColor(image, cv2.COLOR_RGB2LAB)}[space]
    ranges = [0, 180, 0, 256, 0, 256] if space == "hsv" else [0, 256] * 3
    reference = cv2.calcHist([converted], [0, 1, 2], None, [5, 6, 7], ranges)
    assert np.abs(reference / reference.sum() - h.color_histogram(image, space=space, bins=(5, 6, 7))).max() < 1e-7


def test_gray_histogram_and_unnormalised_counts():
    gray = h.course_image("camera", mode="gray", max_side=64)
    counts = h.color_histogram(gray, space="gray", bins=16, normalize=False)
    assert counts.shape == (16,) and counts.sum() == gray.size
    assert np.array_equal(counts, cv2.calcHist([gray], [0], None, [16], [0, 256]).ravel())


@pytest.mark.parametrize("method", sorted(OPENCV))
def test_compare_agrees_with_opencv_compare_hist(method):
    for a in HISTS[:6]:
        for b in HISTS[:6]:
            expected = cv2.compareHist(a.ravel(), b.ravel(), OPENCV[method])
            assert h.compare_histograms(a, b, method=method) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("method", sorted(HISTOGRAM_METHODS))
def test_pairwise_equals_one_by_one(method):
    few = HISTS[:5]
    matrix = h.pairwise_histogram_similarity(few, method=method)
    for i, a in enumerate(few):
        for j, b in enumerate(few):
            assert matrix[i, j] == pytest.approx(h.compare_histograms(a, b, method=method), abs=1e-6)
    rectangular = h.pairwise_histogram_similarity(few[:2], few, method=method)
    assert np.allclose(rectangular, matrix[:2], atol=1e-6)


@pytest.mark.parametrize("method", sorted(OPENCV))
def test_pairwise_matches_an_opencv_loop_on_many_images(method):
    flat = np.stack([x.ravel() for x in HISTS])
    reference = np.array([[cv2.compareHist(a, b, OPENCV[method]) for b in flat] for a in flat])
    assert np.abs(h.pairwise_histogram_similarity(flat, method=method) - reference).max() < 1e-6


def _histogram_sets():
    rng = np.random.default_rng(0)
    photos = list(GALLERY.values())
    sparse = []
    for i in range(40):  # crops of the course photos: a few percent of 512 bins occupied
        image = photos[i % len(photos)]
        top, left = rng.integers(0, image.shape[0] // 2), rng.integers(0, image.shape[1] // 2)
        sparse.append(h.color_histogram(image[top:, left:], bins=8).ravel())
    noise = [h.color_histogram(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8), bins=4).ravel() for _ in range(30)]
    hsv = [h.color_histogram(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8), space="hsv", bins=4).ravel()
           for _ in range(30)]
    return {"sparse": np.stack(sparse), "noise": np.stack(noise), "hsv": np.stack(hsv)}


REFERENCES = histograms_module.REFERENCE_FORMULAS
ELEMENTWISE = ("intersection", "chi_square_alt")


def _assert_equals_reference(method, hists):
    # Hellinger's outer square root turns a 1e-16 rounding of 1 - overlap into 1e-8: compare squares.
    look = np.square if method in ("hellinger", "bhattacharyya") else np.asarray
    reference = look(np.array([[REFERENCES[method](x, y) for y in hists] for x in hists]))
    # chi-square and KL divide by small bins and reach 1e4: the bound is relative there
    tolerance = {"rtol": 1e-10, "atol": 1e-10}
    matrix = h.pairwise_histogram_similarity(hists, method=method)
    np.testing.assert_allclose(look(matrix), reference, **tolerance)
    rectangular = h.pairwise_histogram_similarity(hists[:9], hists[5:], method=method)
    np.testing.assert_allclose(look(rectangular), reference[:9, 5:], **tolerance)
    single = h.compare_histograms(hists[1], hists[2], method=method)
    np.testing.assert_allclose(look(single), reference[1, 2], **tolerance)


@pytest.mark.parametrize("method", ELEMENTWISE)
@pytest.mark.parametrize("route", ["chosen", "all dense", "all sparse"])
def test_fast_elementwise_path_equals_the_reference_formula(method, route, monkeypatch):
    module = histograms_module
    share = {"chosen": module._DENSE_SHARE[method], "all dense": -1.0, "all sparse": 2.0}[route]
    monkeypatch.setitem(module._DENSE_SHARE, method, share)
    monkeypatch.setattr(module, "_CHI2_BLOCK", 7)  # several blocks, one of them short
    for hists in _histogram_sets().values():
        _assert_equals_reference(method, hists.astype(np.float64))


@pytest.mark.parametrize("method", sorted(set(REFERENCES) - set(ELEMENTWISE)))
def test_matrix_forms_equal_the_reference_formula(method):
    for hists in _histogram_sets().values():
        _assert_equals_reference(method, hists.astype(np.float64))


def test_every_method_but_emd_has_a_reference_formula():
    assert set(REFERENCES) == set(HISTOGRAM_METHODS) - {"emd"}


def test_chi_square_threads_do_not_change_the_values(monkeypatch):
    hists = _histogram_sets()["noise"]
    many = h.pairwise_histogram_similarity(hists, method="chi_square_alt")
    monkeypatch.setattr(histograms_module, "MAX_THREADS", 1)
    assert np.array_equal(h.pairwise_histogram_similarity(hists, method="chi_square_alt"), many)


def test_dense_path_of_the_elementwise_methods():
    dense = np.random.default_rng(0).random((6, 30))  # no empty bins: the dense branch runs
    for method in ("intersection", "chi_square_alt"):
        reference = np.array([[cv2.compareHist(a.astype(np.float32), b.astype(np.float32), OPENCV[method]) for b in dense] for a in dense])
        assert np.abs(h.pairwise_histogram_similarity(dense, method=method) - reference).max() < 1e-5


@settings(max_examples=60, deadline=None)
@given(histograms, st.sampled_from(sorted(HISTOGRAM_METHODS)))
def test_identity_gives_the_best_value(hist, method):
    hist = hist / hist.sum()
    spec = HISTOGRAM_METHODS[method]
    assert h.compare_histograms(hist, hist, method=method) == pytest.approx(spec.identical_value, abs=1e-5)


@settings(max_examples=60, deadline=None)
@given(st.data(), st.sampled_from([m for m, s in HISTOGRAM_METHODS.items() if s.symmetric]))
def test_symmetric_methods_are_symmetric(data, method):
    n = data.draw(st.integers(2, 30))
    a = data.draw(arrays(np.float32, n, elements=st.floats(0, 1, width=32)))
    b = data.draw(arrays(np.float32, n, elements=st.floats(0, 1, width=32)))
    assume(a.sum() >= 1e-3 and b.sum() >= 1e-3)  # an all-zero histogram has no distribution
    a, b = a / a.sum(), b / b.sum()
    assert h.compare_histograms(a, b, method=method) == pytest.approx(h.compare_histograms(b, a, method=method), abs=1e-6)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_bounds_on_normalised_histograms(data):
    n = data.draw(st.integers(2, 30))
    a = data.draw(arrays(np.float64, n, elements=st.floats(0, 1)))
    b = data.draw(arrays(np.float64, n, elements=st.floats(0, 1)))
    assume(a.sum() >= 1e-3 and b.sum() >= 1e-3)  # an all-zero histogram has no distribution
    a, b = a / a.sum(), b / b.sum()
    assert -1 - 1e-9 <= h.compare_histograms(a, b, method="correlation") <= 1 + 1e-9
    assert -1e-9 <= h.compare_histograms(a, b, method="intersection") <= 1 + 1e-9
    assert -1e-9 <= h.compare_histograms(a, b, method="hellinger") <= 1 + 1e-9
    assert -1e-9 <= h.compare_histograms(a, b, method="chi_square_alt") <= 4 + 1e-9
    assert h.compare_histograms(a, b, method="emd") >= 0


def test_emd_in_one_dimension_is_the_transport_cost():
    a, b = np.array([1.0, 0, 0, 0]), np.array([0, 0, 0, 1.0])
    assert h.compare_histograms(a, b, method="emd") == pytest.approx(3.0)
    sig = lambda x: np.column_stack([x, np.arange(x.size)]).astype(np.float32)  # noqa: E731
    a, b = HISTS[0].sum(axis=(1, 2)), HISTS[1].sum(axis=(1, 2))
    expected = cv2.EMD(sig(a / a.sum()), sig(b / b.sum()), cv2.DIST_L1)[0]
    assert h.compare_histograms(a, b, method="emd") == pytest.approx(expected, abs=1e-4)


def test_ignore_white_background_and_masks():
    image = np.full((10, 10, 3), 255, np.uint8)
    image[:2] = (10, 200, 30)
    kept = h.color_histogram(image, bins=4, ignore=(255, 255, 255))
    assert kept.sum() == pytest.approx(1.0) and kept.max() == pytest.approx(1.0)
    near = image.copy()
    near[5] = (250, 252, 255)
    assert h.color_histogram(near, bins=4, ignore=(255, 255, 255), ignore_tolerance=6).max() == pytest.approx(1.0)
    mask = np.zeros((10, 10), bool)
    mask[:2] = True
    assert np.array_equal(h.color_histogram(image, bins=4, mask=mask), kept)


def test_transparent_pixels_are_left_out():
    rgba = h.course_image("horse_transparent", mode="rgba", max_side=80)
    opaque = h.color_histogram(rgba[..., :3], mask=rgba[..., 3] > 0)
    assert np.allclose(h.color_histogram(rgba), opaque)


def test_geometry_is_ignored():
    image = GALLERY["astronaut"]
    shuffled = np.random.default_rng(0).permutation(image.reshape(-1, 3)).reshape(image.shape)
    assert h.histogram_similarity(image, shuffled) == pytest.approx(1.0)
    assert h.histogram_similarity(image, image[::-1, ::-1]) == pytest.approx(1.0)


def test_float_and_uint16_inputs_bin_like_uint8():
    image = GALLERY["coffee"]
    assert np.array_equal(h.color_histogram(image.astype(np.float64) / 255), h.color_histogram(image))
    assert np.array_equal(h.color_histogram(image.astype(np.uint16) * 257), h.color_histogram(image))


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda: h.color_histogram(np.zeros((0, 3, 3), np.uint8)), h.EmptyImageError),
        (lambda: h.color_histogram(np.full((3, 3, 3), np.nan)), h.InvalidImageError),
        (lambda: h.color_histogram(np.zeros((3, 3, 3), np.int64)), h.ImageTypeError),
        (lambda: h.color_histogram(np.zeros((3, 3, 5), np.uint8)), h.InvalidImageError),
        (lambda: h.color_histogram(np.zeros((3, 3, 3), np.uint8), space="xyz"), UnknownMethodError),
        (lambda: h.color_histogram(np.zeros((3, 3, 3), np.uint8), bins=0), InvalidParameterError),
        (lambda: h.color_histogram(np.zeros((3, 3, 3), np.uint8), bins=(4, 4)), InvalidParameterError),
        (lambda: h.color_histogram(np.zeros((3, 3, 3), np.uint8), mask=np.ones((2, 2), bool)), ShapeMismatchError),
        (lambda: h.color_histogram(np.full((3, 3, 3), 255, np.uint8), ignore=(255, 255, 255)), EmptyInputError),
        (lambda: h.color_histogram(np.zeros((3, 3, 3), np.uint8), ignore=(1, 2)), InvalidParameterError),
        (lambda: h.compare_histograms(np.ones(4), np.ones(5)), ShapeMismatchError),
        (lambda: h.compare_histograms(np.ones(4), np.ones(4), method="cosine"), UnknownMethodError),
        (lambda: h.compare_histograms(np.array([1.0, -1.0]), np.ones(2)), InvalidParameterError),
        (lambda: h.compare_histograms(np.array([1.0, np.nan]), np.ones(2)), InvalidParameterError),
        (lambda: h.compare_histograms(np.array([]), np.array([])), EmptyInputError),
        (lambda: h.compare_histograms(np.zeros(3), np.ones(3), method="emd"), EmptyInputError),
        (lambda: h.pairwise_histogram_similarity([]), EmptyInputError),
        (lambda: h.pairwise_histogram_similarity([np.ones(3), np.ones(4)]), ShapeMismatchError),
        (lambda: h.pairwise_histogram_similarity([np.ones(3)], [np.ones(4)]), ShapeMismatchError),
    ],
)
def test_bad_input_gets_a_typed_error(call, error):
    with pytest.raises(error):
        call()
