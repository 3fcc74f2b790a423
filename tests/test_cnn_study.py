"""The measurements behind notebook 06: choosing the backbone, feature maps and pooling, cosine vs Euclidean."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.spatial.distance import cdist
from skimage import data

from imgsim_helpers.core.errors import (
    EmptyInputError,
    InvalidImageError,
    InvalidParameterError,
    ShapeMismatchError,
    UnknownMethodError,
    WeightsUnavailableError,
)
from imgsim_helpers.learned import embeddings
from imgsim_helpers.learned.embeddings import embed_images, load_cnn
from imgsim_helpers.lessons import cnn_study as cs


@pytest.fixture(scope="module")
def mobilenet():
    return load_cnn("mobilenet_v2", device="cpu")


@pytest.fixture(scope="module")
def cat():
    return data.chelsea()[::3, ::3].copy()  # 100 × 151


# --------------------------------------------------------------------------- load_backbone


def _offline_for(monkeypatch, *unavailable):
    """Make load_cnn report the ImageNet weights of ``unavailable`` networks missing, whatever is cached here."""
    real = embeddings.load_cnn

    def fake(name, *, weights="imagenet", fallback=None, **options):
        if name in unavailable and weights == "imagenet":
            if fallback == "random":
                return real(name, weights=None, **options)
            raise WeightsUnavailableError(f"weights unavailable: {name} is not cached (test)")
        return real(name, weights=weights, fallback=fallback, **options)

    monkeypatch.setattr(cs, "load_cnn", fake)


def test_missing_vgg16_weights_bring_in_the_real_mobilenet(monkeypatch, capsys):
    _offline_for(monkeypatch, "vgg16")
    backbone = cs.load_backbone("vgg16", layer="fc7", device="cpu")
    assert (backbone.requested, backbone.name, backbone.layer, backbone.weights) == (
        "vgg16", "mobilenet_v2", "gap", "pretrained")
    assert backbone.substituted and backbone.layers == ("gap",)
    assert "SUBSTITUTE NETWORK" in capsys.readouterr().out
    assert backbone.notes[0].startswith("vgg16 weights unavailable")
    assert any("using 'gap' instead of 'fc7'" in note for note in backbone.notes)
    summary = backbone.summary()
    assert summary == {"backbone_requested": "vgg16", "backbone_used": "mobilenet_v2", "layer_requested": "fc7",
                       "layer_used": "gap", "weights": "pretrained", "dim": 1280}


def test_no_real_weights_anywhere_gives_random_weights_or_an_error(monkeypatch, capsys):
    _offline_for(monkeypatch, "mobilenet_v2")
    backbone = cs.load_backbone("mobilenet_v2", device="cpu", substitute=None)
    assert backbone.weights == "random" and not backbone.substituted
    assert "RANDOM WEIGHTS" in capsys.readouterr().out
    with pytest.raises(WeightsUnavailableError, match="allow_random=True"):
        cs.load_backbone("mobilenet_v2", device="cpu", substitute=None, allow_random=False)


def test_stand_in_unavailable_too_is_noted(monkeypatch):
    _offline_for(monkeypatch, "vgg16", "mobilenet_v2")
    with pytest.raises(WeightsUnavailableError, match="no real weights for vgg16 or mobilenet_v2"):
        cs.load_backbone("vgg16", device="cpu", allow_random=False)


def test_random_weights_on_request_are_not_substituted(capsys):
    backbone = cs.load_backbone("mobilenet_v2", weights=None, device="cpu")
    assert backbone.weights == "random" and backbone.name == "mobilenet_v2"
    assert "RANDOM WEIGHTS" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("options", "error"),
    [({"name": "resnet50"}, UnknownMethodError), ({"layer": "fc8"}, UnknownMethodError),
     ({"substitute": "alexnet"}, UnknownMethodError)],
)
def test_load_backbone_rejects_unknown_names(options, error):
    with pytest.raises(error):
        cs.load_backbone(**{"name": "mobilenet_v2", **options}, device="cpu")


# --------------------------------------------------------------------------- feature maps and pooling


def test_mean_pooled_maps_are_the_embedding(mobilenet, cat):
    images = [cat, data.coffee()[::4, ::4]]
    maps = cs.conv_feature_maps(mobilenet, images)
    assert maps.shape == (2, 1280, 7, 7) and maps.dtype == np.float32
    pooled = cs.pool_feature_maps(maps, how="mean")
    raw = cs.raw_features(mobilenet, images)
    np.testing.assert_allclose(pooled, raw, rtol=1e-4, atol=1e-5)
    unit = raw / np.linalg.norm(raw, axis=1, keepdims=True)
    np.testing.assert_allclose(unit, embed_images(mobilenet, images, progress=False), atol=1e-5)
    assert np.all(np.abs(np.linalg.norm(raw, axis=1) - 1) > 0.1), "raw features are not unit length"


def test_moving_an_object_keeps_pooled_features_and_breaks_the_grid(mobilenet, cat):
    views, offsets = cs.moved_object_views(cat, positions=3)
    maps = cs.conv_feature_maps(mobilenet, views, batch_size=2)
    for how in ("mean", "max"):
        v = cs.pool_feature_maps(maps, how=how)
        flat = cs.pool_feature_maps(maps, how="flatten")
        cos = lambda x: (x[0] @ x[-1]) / np.linalg.norm(x[0]) / np.linalg.norm(x[-1])  # noqa: E731
        assert cos(v) > 0.9 > 0.5 > cos(flat), how
    energy = cs.activation_energy(maps)
    # the strongest response follows the object from left to right
    columns = [np.unravel_index(e.argmax(), e.shape)[1] for e in energy]
    assert columns[0] < columns[-1]


def test_feature_map_functions_reject_bad_input(mobilenet):
    with pytest.raises(InvalidParameterError, match="CNN"):
        cs.conv_feature_maps(object(), [np.zeros((8, 8, 3), np.uint8)])
    with pytest.raises(EmptyInputError):
        cs.raw_features(mobilenet, [])
    with pytest.raises(InvalidParameterError, match="list"):
        cs.conv_feature_maps(mobilenet, np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(InvalidParameterError, match="list"):
        cs.raw_features(mobilenet, "cat.png")
    with pytest.raises(InvalidImageError):
        cs.raw_features(mobilenet, [np.full((8, 8, 3), np.nan)])
    with pytest.raises(InvalidParameterError, match="batch_size"):
        cs.raw_features(mobilenet, [np.zeros((8, 8, 3), np.uint8)], batch_size=0)


maps_strategy = arrays(np.float64, st.tuples(st.integers(1, 3), st.integers(1, 4), st.integers(1, 4), st.integers(1, 4)),
                       elements=st.floats(-10, 10, allow_nan=False))


@settings(max_examples=50, deadline=None)
@given(maps=maps_strategy, seed=st.integers(0, 2**16))
def test_mean_and_max_pooling_ignore_where_flatten_does_not(maps, seed):
    n, c, h, w = maps.shape
    order = np.random.default_rng(seed).permutation(h * w)
    moved = maps.reshape(n, c, h * w)[:, :, order].reshape(n, c, h, w)
    for how in ("mean", "max"):
        np.testing.assert_allclose(cs.pool_feature_maps(moved, how=how), cs.pool_feature_maps(maps, how=how), atol=1e-9)
    flat = cs.pool_feature_maps(moved, how="flatten")
    assert flat.shape == (n, c * h * w)
    assert sorted(flat.ravel()) == sorted(maps.ravel())
    energy = cs.activation_energy(maps)
    assert energy.shape == (n, h, w) and np.all(energy >= 0)
    np.testing.assert_allclose(energy, np.linalg.norm(maps, axis=1))


@pytest.mark.parametrize("maps", [np.zeros((2, 3, 4)), np.zeros((1, 0, 2, 2)), np.full((1, 1, 2, 2), np.nan)])
def test_pooling_rejects_bad_maps(maps):
    with pytest.raises(InvalidParameterError):
        cs.pool_feature_maps(maps)
    with pytest.raises(InvalidParameterError):
        cs.activation_energy(maps)


def test_pooling_rejects_unknown_method():
    with pytest.raises(UnknownMethodError, match="mean"):
        cs.pool_feature_maps(np.zeros((1, 1, 2, 2)), how="median")


# --------------------------------------------------------------------------- moved_object_views


def test_moved_object_views_differ_only_by_position(cat):
    views, offsets = cs.moved_object_views(cat, canvas=128, object_side=48, positions=4, margin=8, fill=100)
    assert len(views) == 4 and all(v.shape == (128, 128, 3) and v.dtype == np.uint8 for v in views)
    assert offsets[0] == 8 and offsets[-1] == 128 - 8 - 48 and offsets == sorted(offsets)
    changed = [np.any(v != 100, axis=2) for v in views]
    cols = [np.flatnonzero(c.any(axis=0)) for c in changed]
    assert [c[0] for c in cols] == offsets  # the object's left edge is where it was put
    height = np.flatnonzero(changed[0].any(axis=1))
    assert all(np.array_equal(np.flatnonzero(c.any(axis=1)), height) for c in changed)  # same rows everywhere
    first = views[0][:, offsets[0] : offsets[0] + 48]
    last = views[-1][:, offsets[-1] : offsets[-1] + 48]
    assert np.array_equal(first, last)


def test_moved_object_views_accepts_gray_and_rgba_and_enlarges_small_objects():
    gray = np.full((10, 20), 7, np.uint8)
    views, _ = cs.moved_object_views(gray, canvas=64, object_side=40, positions=2, margin=4)
    assert views[0].shape == (64, 64, 3) and (views[0] == 7).all(axis=2).sum() == 40 * 20
    rgba = np.zeros((16, 16, 4), np.uint8)  # fully transparent: only the fill remains
    views, _ = cs.moved_object_views(rgba, canvas=32, object_side=16, positions=2, margin=0, fill=50)
    assert (views[0] == 50).all()


@pytest.mark.parametrize(
    "options",
    [{"object_side": 250}, {"positions": 1}, {"fill": 300}, {"canvas": 4}, {"margin": -1}, {"positions": 2.5},
     {"object_side": True}],
)
def test_moved_object_views_rejects_impossible_sizes(options, cat):
    with pytest.raises(InvalidParameterError):
        cs.moved_object_views(cat, **options)


# --------------------------------------------------------------------------- cosine and Euclidean


def test_squared_euclidean_matches_scipy():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(5, 7)), rng.normal(size=(3, 7))
    np.testing.assert_allclose(cs.squared_euclidean_matrix(a, b), cdist(a, b, "sqeuclidean"), rtol=1e-12)
    with pytest.raises(ShapeMismatchError):
        cs.squared_euclidean_matrix(a, b[:, :6])
    with pytest.raises(InvalidParameterError):
        cs.squared_euclidean_matrix(np.zeros((0, 3)), b[:, :3])
    with pytest.raises(InvalidParameterError, match="NaN"):
        cs.squared_euclidean_matrix([[np.nan, 1.0]], [[1.0, 1.0]])


vectors = arrays(np.float64, st.tuples(st.integers(1, 5), st.just(6)), elements=st.floats(-5, 5, allow_nan=False))


@settings(max_examples=60, deadline=None)
@given(q=vectors, g=arrays(np.float64, st.tuples(st.integers(2, 6), st.just(6)), elements=st.floats(-5, 5)))
def test_on_unit_vectors_distance_is_two_minus_two_cosine(q, g):
    q = q[np.linalg.norm(q, axis=1) > 1e-3]
    g = g[np.linalg.norm(g, axis=1) > 1e-3]
    assume(len(q) and len(g))  # hypothesis discards the example (a `return` would count it as passed)
    q = q / np.linalg.norm(q, axis=1, keepdims=True)
    g = g / np.linalg.norm(g, axis=1, keepdims=True)
    result = cs.cosine_vs_euclidean(q, g)
    assert result.unit_rows and result.identity_error < 1e-9
    # the ranking by distance follows the ranking by cosine, up to rounding-level ties
    for cos_row, dist_row in zip(result.cosine, result.squared_distance, strict=True):
        along = dist_row[np.argsort(-cos_row, kind="stable")]
        assert np.all(np.diff(along) >= -1e-9)


def test_scaling_a_vector_keeps_the_cosine_and_moves_the_distance():
    q = np.array([[1.0, 0.2]])
    g = np.array([[1.0, 0.0], [0.0, 1.0]])
    base = cs.cosine_vs_euclidean(q, g)
    scaled = cs.cosine_vs_euclidean(q, g * np.array([[10.0], [1.0]]))
    np.testing.assert_allclose(scaled.cosine, base.cosine)
    assert base.same_top1 == 1.0 and scaled.same_top1 == 0.0 and not scaled.unit_rows
    assert scaled.identity_error > 1.0


def test_ranking_agreement_checks_shapes():
    assert cs.ranking_agreement([[1.0, 0.0]], [[0.0, 2.0]]) == {"same_top1": 1.0, "same_ranking": 1.0}
    with pytest.raises(ShapeMismatchError):
        cs.ranking_agreement([[1.0, 0.0]], [[0.0, 2.0, 1.0]])


# --------------------------------------------------------------------------- retrieval helpers


def test_make_queries_cycles_through_the_changes():
    images = {name: np.full((20, 24, 3), 40 * k, np.uint8) for k, name in enumerate("abcde")}
    changes = [("flip", 1), ("crop", 0.5), ("transparency", 1.0)]
    queries, source, labels = cs.make_queries(images, changes, seed=3)
    assert source.tolist() == [0, 1, 2, 3, 4]
    assert labels == ["a · flip 1", "b · crop 0.5", "c · transparency 1", "d · flip 1", "e · crop 0.5"]
    assert queries[1].shape == (10, 12, 3)
    assert all(q.ndim == 3 and q.shape[2] == 3 and q.dtype == np.uint8 for q in queries)
    with pytest.raises(EmptyInputError):
        cs.make_queries({}, changes)
    with pytest.raises(EmptyInputError):
        cs.make_queries(images, [])
    with pytest.raises(UnknownMethodError):
        cs.make_queries(images, [("swirl", 1)])


def test_family_verdict_reads_the_table():
    table = {
        "cnn": {"crop": 1.0, "blur": 0.5, "jpeg": 0.5, "all": 0.9},
        "ssim": {"crop": 0.3, "blur": 0.9, "jpeg": 0.5, "all": 0.9},
    }
    verdict = cs.family_verdict(table, "cnn")
    assert verdict == {"kept": ["crop"], "weakest": ["blur", "jpeg"], "beaten_on": ["blur"], "best_overall": True}
    assert cs.family_verdict(table, "ssim", kept=0.9)["kept"] == ["blur"]
    with pytest.raises(UnknownMethodError):
        cs.family_verdict(table, "sift")
    with pytest.raises(EmptyInputError):
        cs.family_verdict({"cnn": {"all": 1.0}}, "cnn")
