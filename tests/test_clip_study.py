"""The measurements behind notebook 05: comparing embeddings, near duplicates, zero-shot, the classic script."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image
from skimage import data

from imgsim_helpers.core.errors import (
    EmptyInputError,
    ImageNotFoundError,
    ImageTypeError,
    InvalidImageError,
    InvalidParameterError,
    ShapeMismatchError,
    UnknownMethodError,
)
from imgsim_helpers.learned import embeddings as emb
from imgsim_helpers.lessons import clip_study as cs


@pytest.fixture(scope="module")
def tiny(tiny_clip_name):
    """A randomly initialised tiny open_clip model: every code path, in milliseconds."""
    return emb.load_clip(tiny_clip_name, None, device="cpu")


@pytest.fixture(scope="module")
def photos():
    return {"chelsea": data.chelsea()[::4, ::4], "coffee": data.coffee()[::4, ::4], "rocket": data.rocket()[::4, ::4]}


unit_rows = arrays(np.float64, st.tuples(st.integers(2, 6), st.integers(2, 5)),
                   elements=st.floats(-1, 1, allow_nan=False)).filter(lambda a: (np.abs(a).sum(axis=1) > 1e-3).all())


# --------------------------------------------------------------------------- comparing embeddings


@settings(max_examples=40, deadline=None)
@given(unit_rows)
def test_rowwise_and_pairwise_agree_with_the_matrix(a):
    matrix = emb.cosine_similarity_matrix(a, a)
    np.testing.assert_allclose(cs.rowwise_cosine(a, a), np.ones(len(a)), atol=1e-9)
    b = a[::-1]
    np.testing.assert_allclose(cs.rowwise_cosine(a, b), np.diag(emb.cosine_similarity_matrix(a, b)), atol=1e-9)
    pairs = cs.pairwise_cosines(a)
    assert pairs.shape == (len(a) * (len(a) - 1) // 2,)
    rows, cols = np.triu_indices(len(a), k=1)
    np.testing.assert_allclose(pairs, matrix[rows, cols])
    assert np.all(np.abs(pairs) <= 1.0)


def test_comparison_errors():
    with pytest.raises(ShapeMismatchError, match="one shape"):
        cs.rowwise_cosine(np.ones((2, 3)), np.ones((3, 3)))
    with pytest.raises(InvalidParameterError, match="NaN"):
        cs.rowwise_cosine([[np.nan, 1.0]], [[1.0, 1.0]])
    with pytest.raises(EmptyInputError, match="at least two"):
        cs.pairwise_cosines(np.ones((1, 4)))
    with pytest.raises(ShapeMismatchError, match="names"):
        cs.most_similar_pairs(np.eye(3), ["a", "b"])
    with pytest.raises(InvalidParameterError, match="k must"):
        cs.most_similar_pairs(np.eye(3), ["a", "b", "c"], k=0)


def test_most_similar_pairs_best_first():
    e = np.array([[1.0, 0.0, 0.0], [0.6, 0.8, 0.0], [0.0, 0.0, 1.0], [0.0, 0.6, 0.8]])
    pairs = cs.most_similar_pairs(e, ["a", "b", "c", "d"], k=3)
    assert [p[:2] for p in pairs] == [("c", "d"), ("a", "b"), ("b", "d")]
    assert [p[2] for p in pairs] == sorted((p[2] for p in pairs), reverse=True)
    assert len(cs.most_similar_pairs(e, "abcd", k=100)) == 6


@settings(max_examples=30, deadline=None)
@given(unit_rows, unit_rows, st.integers(1, 4))
def test_check_top_k_accepts_top_k_and_catches_tampering(queries, gallery, k):
    if queries.shape[1] != gallery.shape[1]:
        gallery = np.resize(gallery, (gallery.shape[0], queries.shape[1])) + 0.01
    idx, scores = emb.top_k(queries, gallery, k=k)
    matrix = emb.cosine_similarity_matrix(queries, gallery)
    assert all(cs.check_top_k(idx, scores, matrix).values())
    if idx.shape[1] >= 2 and not np.isclose(scores[0, 0], scores[0, 1]):
        swapped = idx.copy()
        swapped[0, [0, 1]] = swapped[0, [1, 0]]
        assert not cs.check_top_k(swapped, scores, matrix)["scores_match"]
        assert not cs.check_top_k(idx, scores[:, ::-1], matrix)["sorted"]


def test_check_top_k_finds_a_better_item_left_out():
    m = np.array([[0.1, 0.9, 0.5, 0.95]])
    result = cs.check_top_k([[1, 2]], [[0.9, 0.5]], m)
    assert result["scores_match"] and result["sorted"]
    assert not result["no_better_left_out"] and not result["best_is_row_max"]
    with pytest.raises(ShapeMismatchError):
        cs.check_top_k([[1, 2]], [[0.9]], m)
    with pytest.raises(InvalidParameterError):
        cs.check_top_k([[1, 7]], [[0.9, 0.5]], m)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-1, 1, allow_nan=False), min_size=1, max_size=30), st.floats(-1, 1), st.floats(-1, 1))
def test_percentile_is_bounded_and_monotone(reference, x, y):
    px, py = cs.cosine_percentile(x, reference), cs.cosine_percentile(y, reference)
    assert 0.0 <= px <= 100.0
    if x < y:
        assert px <= py


def test_percentile_values_and_errors():
    assert cs.cosine_percentile(1.0, [0.2, 0.5]) == 100.0
    assert cs.cosine_percentile(-1.0, [0.2, 0.5]) == 0.0
    assert cs.cosine_percentile(0.5, [0.5, 0.5]) == 50.0  # ties count half
    with pytest.raises(EmptyInputError):
        cs.cosine_percentile(0.5, [])
    for bad in (1.5, float("nan")):
        with pytest.raises(InvalidParameterError, match="cosine"):
            cs.cosine_percentile(bad, [0.1])
    with pytest.raises(InvalidParameterError, match="reference"):
        cs.cosine_percentile(0.5, [0.1, 2.0])


# --------------------------------------------------------------------------- near duplicates


def test_transformed_variants(photos):
    changes = {"mirror": ("flip", 1), "JPEG q=30": ("jpeg", 30)}
    v = cs.transformed_variants(photos, changes, only=["coffee", "chelsea"])
    assert v.labels == ["coffee · mirror", "coffee · JPEG q=30", "chelsea · mirror", "chelsea · JPEG q=30"]
    assert v.sources.tolist() == [1, 1, 0, 0]
    np.testing.assert_array_equal(v.images[0], photos["coffee"][:, ::-1])
    assert len(cs.transformed_variants(photos, changes).images) == 6
    with pytest.raises(InvalidParameterError, match="not in the gallery"):
        cs.transformed_variants(photos, changes, only=["horse"])
    with pytest.raises(InvalidParameterError, match="transform name"):
        cs.transformed_variants(photos, {"x": ("warp", 1)})
    with pytest.raises(EmptyInputError):
        cs.transformed_variants(photos, {})
    with pytest.raises(EmptyInputError):
        cs.transformed_variants({}, changes)


def test_near_duplicate_report():
    g = np.eye(4)
    variants = np.array([[1.0, 0.2, 0.0, 0.0], [0.0, 0.5, 0.5, 0.0], [0.0, 0.0, 0.0, 1.0]])
    r = cs.near_duplicate_report(g, variants, [0, 1, 2])
    assert r["rank"].tolist() == [1, 2, 4]  # ties count against the source
    assert r["recall_at_1"] == pytest.approx(1 / 3)
    np.testing.assert_allclose(r["margin"], r["to_source"] - r["best_other"])
    assert r["to_source"][2] == pytest.approx(0.0) and r["best_other"][2] == pytest.approx(1.0)
    same = cs.near_duplicate_report(g, g, np.arange(4))
    np.testing.assert_allclose(same["to_source"], 1.0)
    assert same["recall_at_1"] == 1.0
    with pytest.raises(ShapeMismatchError):
        cs.near_duplicate_report(g, variants, [0, 1])
    with pytest.raises(InvalidParameterError):
        cs.near_duplicate_report(g, variants, [0, 1, 9])
    with pytest.raises(ShapeMismatchError):
        cs.near_duplicate_report(g, np.ones((3, 5)), [0, 1, 2])


# --------------------------------------------------------------------------- zero-shot


def test_prompts():
    assert cs.prompts(["cat"]) == ["a photo of a cat"]
    assert cs.prompts(["cat"], "{label}, blurry") == ["cat, blurry"]
    for bad in ("cat", [], [""], [3]):
        with pytest.raises((InvalidParameterError, EmptyInputError)):
            cs.prompts(bad)
    with pytest.raises(InvalidParameterError, match="label"):
        cs.prompts(["cat"], "a photo")


def test_zero_shot_probabilities(tiny, photos):
    e = emb.embed_images(tiny, list(photos.values()), progress=False)
    labels = ["cat", "cup of coffee", "rocket", "dog"]
    zs = cs.zero_shot(tiny, e, labels)
    assert zs.probabilities.shape == zs.cosines.shape == (3, 4)
    np.testing.assert_allclose(zs.probabilities.sum(axis=1), 1.0, atol=1e-12)
    assert np.array_equal(zs.probabilities.argmax(axis=1), zs.cosines.argmax(axis=1))
    assert zs.predicted == [labels[i] for i in zs.cosines.argmax(axis=1)]
    assert zs.logit_scale == pytest.approx(1 / 0.07, rel=1e-4)  # open_clip's initial temperature
    text = emb.embed_texts(tiny, zs.prompts)
    np.testing.assert_allclose(zs.cosines, emb.cosine_similarity_matrix(e, text), atol=1e-6)
    sharper = cs.zero_shot(tiny, e, labels, logit_scale=1000.0)
    assert sharper.probabilities.max(axis=1).min() >= zs.probabilities.max(axis=1).min()
    with pytest.raises(InvalidParameterError, match="logit_scale"):
        cs.zero_shot(tiny, e, labels, logit_scale=-1.0)
    with pytest.raises(ShapeMismatchError):
        cs.zero_shot(tiny, np.ones((2, 7)), labels)


# --------------------------------------------------------------------------- the classic script and the fix


@pytest.fixture(scope="module")
def files(tmp_path_factory, photos):
    """The photos as PNG files (correct RGB on disk), a sideways JPEG with an EXIF tag, an RGBA PNG."""
    folder = tmp_path_factory.mktemp("classic")
    paths = {}
    for name, image in photos.items():
        paths[name] = folder / f"{name}.png"
        Image.fromarray(image).save(paths[name])
    exif = Image.Exif()
    exif[0x0112] = 6
    paths["sideways"] = folder / "sideways.jpg"
    Image.fromarray(np.ascontiguousarray(np.rot90(photos["chelsea"]))).save(paths["sideways"], exif=exif.tobytes())
    rgba = np.dstack([photos["coffee"], np.where(np.arange(photos["coffee"].shape[1]) < 40, 0, 255)[None, :]
                      .repeat(photos["coffee"].shape[0], 0).astype(np.uint8)])
    rgba[rgba[..., 3] == 0, :3] = 0
    paths["rgba"] = folder / "rgba.png"
    Image.fromarray(rgba).save(paths["rgba"])
    return paths


def test_classic_crashes_far_from_a_missing_file(tiny, tmp_path):
    script = cs.ClassicScript(tiny, tmp_path / "image1.jpg", tmp_path / "image2.jpg")
    with pytest.raises(AttributeError, match="__array_interface__"):
        script.generateScore("anything", "at all")
    with pytest.raises(AttributeError):
        cs.ClassicScript.model_input(tmp_path / "image1.jpg")


def test_classic_ignores_its_arguments(tiny, files):
    script = cs.ClassicScript(tiny, files["chelsea"], files["coffee"])
    first = script.generateScore(files["chelsea"], files["coffee"])
    assert script.generateScore(files["rocket"], files["rocket"]) == first  # not 100: the globals are read
    assert script.generateScore("no/such/file.png", 42) == first
    script.image2 = files["rocket"]  # changing the "global" changes the result
    assert script.generateScore(files["chelsea"], files["coffee"]) != first


def test_classic_score_is_100_times_the_cosine_of_bgr_input(tiny, files, photos):
    script = cs.ClassicScript(tiny, files["chelsea"], files["coffee"])
    score = script.generateScore(None, None)
    bgr = emb.embed_images(tiny, [photos["chelsea"][..., ::-1], photos["coffee"][..., ::-1]], progress=False)
    rgb = emb.embed_images(tiny, [photos["chelsea"], photos["coffee"]], progress=False)
    assert score == pytest.approx(100 * float(bgr[0] @ bgr[1]), abs=0.006)
    assert abs(score / 100 - float(rgb[0] @ rgb[1])) > 1e-4  # the channel swap changes the score
    assert score == round(score, 2)
    # the same number through util.pytorch_cos_sim, as the tutorial computes it
    from sentence_transformers import util

    feats = [script.imageEncoder(cv2.imread(str(files[n]), cv2.IMREAD_UNCHANGED)) for n in ("chelsea", "coffee")]
    assert score == round(float(util.pytorch_cos_sim(*feats)[0][0]) * 100, 2)


def test_classic_model_input_is_bgr_unrotated_and_drops_alpha(files, photos):
    np.testing.assert_array_equal(cs.ClassicScript.model_input(files["chelsea"]), photos["chelsea"][..., ::-1])
    sideways = cs.ClassicScript.model_input(files["sideways"])
    assert sideways.shape[:2] == photos["chelsea"].shape[1::-1]  # EXIF ignored
    assert cs.load_any_image(files["sideways"]).shape == photos["chelsea"].shape  # EXIF applied
    classic = cs.ClassicScript.model_input(files["rgba"])
    ours = cs.load_any_image(files["rgba"])
    assert classic.shape == ours.shape == photos["coffee"].shape
    assert classic[:, :40].max() == 0 and ours[:, :40].min() == 255  # black vs composited on white


def test_classic_script_needs_an_image_model(tiny):
    with pytest.raises(InvalidParameterError, match="load_clip"):
        cs.ClassicScript("ViT-B-16-plus-240", "a.jpg", "b.jpg")


def test_generate_score_uses_its_arguments_and_returns_the_cosine(tiny, files, photos):
    e = emb.embed_images(tiny, list(photos.values()), progress=False)
    m = emb.cosine_similarity_matrix(e, e)
    assert cs.generate_score(photos["chelsea"], photos["coffee"], tiny) == pytest.approx(float(m[0, 1]), abs=1e-5)
    assert cs.generate_score(files["chelsea"], str(files["rocket"]), tiny) == pytest.approx(float(m[0, 2]), abs=1e-5)
    assert cs.generate_score(files["coffee"], files["chelsea"], tiny) == pytest.approx(float(m[0, 1]), abs=1e-5)
    assert cs.generate_score(photos["rocket"], photos["rocket"], tiny) == pytest.approx(1.0, abs=1e-5)
    assert -1.0 <= cs.generate_score("coins", "camera", tiny) <= 1.0  # course names, gray photos
    # the EXIF-tagged file is the same photo once it is read correctly
    assert cs.generate_score(files["sideways"], photos["chelsea"], tiny) > cs.generate_score(
        cs.ClassicScript.model_input(files["sideways"]), photos["chelsea"], tiny)


def test_generate_score_errors(tiny, tmp_path, photos):
    with pytest.raises(ImageNotFoundError, match="missing.jpg"):
        cs.generate_score(tmp_path / "missing.jpg", photos["chelsea"], tiny)
    with pytest.raises(InvalidParameterError, match="argument order"):
        cs.generate_score(photos["chelsea"], tiny, photos["coffee"])
    with pytest.raises(InvalidParameterError, match="image1"):
        cs.generate_score(None, photos["chelsea"], tiny)
    with pytest.raises((ImageTypeError, InvalidImageError)):
        cs.generate_score(np.full((8, 8, 3), np.nan), photos["chelsea"], tiny)


def test_image_file_and_colour_names(photos):
    assert cs.image_file("chelsea").is_file()
    assert cs.image_file("horse_transparent").name == "horse_transparent.png"
    assert str(cs.image_file("some/where.png")) == "some/where.png"
    with pytest.raises(InvalidParameterError):
        cs.image_file(3)
    gray = np.repeat(data.camera()[:8, :8, None], 3, axis=2)
    assert cs.colour_names({**photos, "gray": gray, "flat": data.camera()[:8, :8]}) == list(photos)


def test_clip_setups():
    rows = cs.clip_setups()
    assert rows["embedding size"] == {"open_clip": "640", "sentence-transformers": "512"}
    assert "LAION-400M" in rows["training pairs"]["open_clip"]
    assert rows["input"]["open_clip"].startswith("240×240")
    assert cs.clip_setups("ViT-B-32", "openai")["embedding size"]["open_clip"] == "512"
    with pytest.raises(UnknownMethodError):
        cs.clip_setups("ViT-Z-99")


def test_classic_features_are_not_normalised_but_the_cosine_does_not_care(tiny, photos):
    feats = cs.ClassicScript(tiny, "a", "b").imageEncoder(photos["chelsea"])
    assert feats.shape == (1, tiny.dim) and feats.dtype == torch.float32
    unit = emb.embed_images(tiny, [photos["chelsea"]], progress=False)
    np.testing.assert_allclose(torch.nn.functional.normalize(feats, dim=1).numpy(), unit, atol=1e-5)
