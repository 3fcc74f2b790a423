"""Every similarity method of the course, named in one place.

A method is two steps: compute a **feature** once per image (a histogram,
a resized gray image, phase-congruency and gradient maps, keypoint
descriptors, an embedding), then **compare**
two features into a score where *higher means more similar*. The retrieval
benchmark, the app and the command line all read this registry, so "ssim"
means the same thing everywhere, and adding a method to the course is one
entry here.

Examples
--------
>>> import imgsim_helpers as h
>>> method = build_method("histogram_rgb")
>>> a = h.course_image("astronaut", max_side=64)
>>> round(method.similarity(a, a), 6)
1.0
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from imgsim_helpers.core.checks import check_image
from imgsim_helpers.core.errors import EmptyInputError, unknown_name
from imgsim_helpers.images.io import fit_within, resize, to_gray, to_rgb, to_uint8


@dataclass
class SimilarityMethod:
    """A ready-to-use method: models loaded, options fixed.

    Attributes
    ----------
    name, family, description
        What the method is (family: "pixel", "hash", "histogram", "structural", "keypoints", "embedding", "learned").
    extract
        image -> feature, for one image.
    compare
        (feature, feature) -> float, higher = more similar.
    extract_many
        Optional batched version of ``extract`` (embeddings run faster in batches).
    compare_many
        Optional (features, features) -> matrix, vectorised.
    weights
        "pretrained", "local", "random" or "none" (methods without weights).
    """

    name: str
    family: str
    description: str
    extract: Callable[[np.ndarray], object]
    compare: Callable[[object, object], float]
    extract_many: Callable[[Sequence[np.ndarray]], list] | None = None
    compare_many: Callable[[list, list], np.ndarray] | None = None
    weights: str = "none"
    options: dict = field(default_factory=dict)

    def features(self, images: Sequence[np.ndarray]) -> list:
        """Features of several images (batched when the method can)."""
        images = list(images)
        if not images:
            raise EmptyInputError(f"{self.name}: no images to extract features from")
        if self.extract_many is not None:
            return list(self.extract_many(images))
        return [self.extract(image) for image in images]

    def matrix(self, queries: list, gallery: list) -> np.ndarray:
        """The queries × gallery score matrix from features (vectorised when the method can)."""
        if not queries or not gallery:
            raise EmptyInputError(f"{self.name}: empty query or gallery feature list")
        if self.compare_many is not None:
            return np.asarray(self.compare_many(queries, gallery), dtype=np.float64)
        return np.array([[self.compare(q, g) for g in gallery] for q in queries], dtype=np.float64)

    def similarity(self, image1, image2) -> float:
        """Score two images directly (extracts both features, then compares)."""
        return float(self.compare(self.extract(image1), self.extract(image2)))


def _square_gray(image, size: int) -> np.ndarray:
    """Pixel metrics need equal shapes: every image becomes a size×size 8-bit gray image (aspect not kept).

    8-bit first, whatever the input dtype: an image and its float copy (``u8 / 255``)
    then give the same array and the same score, and a float image can meet a uint8
    one (SSIM, PSNR and MSE compare on one 0-255 scale; ``similarity`` has no
    ``data_range`` to reconcile two).
    """
    return resize(to_gray(to_rgb(to_uint8(check_image(image)))), (size, size))


# --------------------------------------------------------------------------- builders


def _histogram(space: str, bins, method: str) -> Callable[..., SimilarityMethod]:
    def build(**_) -> SimilarityMethod:
        from imgsim_helpers.metrics.histograms import (
            HISTOGRAM_METHODS,
            color_histogram,
            compare_histograms,
            pairwise_histogram_similarity,
        )

        sign = 1.0 if HISTOGRAM_METHODS[method].higher_is_similar else -1.0
        return SimilarityMethod(
            name=f"histogram_{space}",
            family="histogram",
            description=f"{space.upper()} colour histogram {bins} bins, {method}",
            extract=lambda image: color_histogram(to_rgb(check_image(image)), space=space, bins=bins).ravel(),
            compare=lambda f1, f2: sign * compare_histograms(f1, f2, method=method),
            compare_many=lambda q, g: sign * pairwise_histogram_similarity(q, g, method=method),
            options={"space": space, "bins": bins, "method": method},
        )

    return build


def _structural(name: str, min_size: int, default_size: int, label: str) -> Callable[..., SimilarityMethod]:
    """SSIM, MS-SSIM and FSIM compare pixels in place: every image becomes a size×size gray image."""

    def build(*, size: int = default_size, **_) -> SimilarityMethod:
        from imgsim_helpers.metrics.feature_similarity import (
            fsim_compare,
            fsim_features,
            fsim_features_many,
        )
        from imgsim_helpers.metrics.structural_similarity import ms_ssim, ssim

        side = max(size, min_size)
        extract_many = None
        if name == "fsim":
            # FSIM's expensive half (phase congruency, gradients) belongs to one image:
            # computed once per image, not once per pair.
            def extract(image):
                return fsim_features(_square_gray(image, side))

            def extract_many(images):
                return fsim_features_many([_square_gray(image, side) for image in images])

            metric = fsim_compare
        else:
            def extract(image):
                return _square_gray(image, side)

            metric = {"ssim": ssim, "ms_ssim": ms_ssim}[name]
        return SimilarityMethod(
            name=name,
            family="structural",
            description=f"{label} on {side}×{side} gray",
            extract=extract,
            extract_many=extract_many,
            compare=lambda a, b: float(metric(a, b)),
            options={"size": side},
        )

    return build


def _pixel_error(name: str) -> Callable[..., SimilarityMethod]:
    """MSE and PSNR, the pixel-error baseline, on size×size gray images like SSIM.

    The registry's scores must rise with similarity, so ``mse`` scores **−MSE**
    (0 for identical images, in squared gray levels) and ``psnr`` scores the PSNR
    in dB as is, with the MSE floored at :data:`~imgsim_helpers.metrics.pixel_error.MSE_FLOOR`
    so identical images get a finite ceiling (148.1 dB for 8-bit images) instead of
    ``inf``, which the benchmark would read as a failure. PSNR falls as
    MSE rises, so the two always rank a gallery alike.
    """

    def build(*, size: int = 128, **_) -> SimilarityMethod:
        from imgsim_helpers.core.checks import value_range
        from imgsim_helpers.metrics.pixel_error import MSE_FLOOR, mse, psnr_score

        side = max(size, 1)
        if name == "mse":
            def compare(a, b):
                return 0.0 - mse(a, b)  # 0.0 - 0.0 is 0.0, where -0.0 would print as "-0.0000"

            def rows(difference, peak):  # one query against every gallery image at once
                return 0.0 - (difference * difference).mean(axis=(1, 2))

            description = f"−MSE (mean squared error, negated so higher = more similar) on {side}×{side} gray"
        else:
            def compare(a, b):
                return psnr_score(a, b)

            def rows(difference, peak):
                error = np.maximum((difference * difference).mean(axis=(1, 2)), MSE_FLOOR)
                return 10.0 * np.log10(peak * peak / error)

            description = f"PSNR in dB (identical images get a finite ceiling, not inf) on {side}×{side} gray"

        def compare_many(queries, gallery):
            peak = value_range(np.asarray(gallery[0]))
            stacked = np.stack(gallery).astype(np.float64)
            return np.array([rows(stacked - np.asarray(q, np.float64), peak) for q in queries])

        return SimilarityMethod(
            name=name,
            family="pixel",
            description=description,
            extract=lambda image: _square_gray(image, side),
            compare=lambda a, b: float(compare(a, b)),
            compare_many=compare_many,
            options={"size": side},
        )

    return build


def _perceptual_hash(kind: str) -> Callable[..., SimilarityMethod]:
    """aHash, dHash, pHash, wHash (ImageHash): 64 bits per image, similarity 1 − Hamming / bits."""

    def build(*, hash_size: int = 8, **_) -> SimilarityMethod:
        from imgsim_helpers.metrics.hashing import HASH_KINDS, image_hash, pairwise_hash_similarity

        bits = hash_size * hash_size
        return SimilarityMethod(
            name=kind,
            family="hash",
            description=f"{kind} ({HASH_KINDS[kind][1]}), {bits} bits, 1 − Hamming/{bits}",
            extract=lambda image: image_hash(image, kind, hash_size=hash_size),
            compare=lambda a, b: float(pairwise_hash_similarity([a], [b])[0, 0]),
            compare_many=pairwise_hash_similarity,
            options={"hash_size": hash_size},
        )

    return build


def _keypoints(kind: str) -> Callable[..., SimilarityMethod]:
    def build(*, max_side: int = 256, max_features: int = 500, **_) -> SimilarityMethod:
        from imgsim_helpers.metrics.keypoints import compare_features, detect_and_describe

        return SimilarityMethod(
            name=kind,
            family="keypoints",
            description=f"{kind.upper()} keypoints, ratio test, RANSAC homography; score from verified inliers",
            extract=lambda image: detect_and_describe(fit_within(to_rgb(check_image(image)), max_side), method=kind,
                                                      max_features=max_features),
            compare=lambda a, b: compare_features(a, b).score,
            options={"max_side": max_side, "max_features": max_features},
        )

    return build


def _cosine(a, b) -> float:
    """Cosine of two embeddings in float64, so that identical images score exactly 1."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def _embedding_method(name: str, model, family: str, description: str) -> SimilarityMethod:
    from imgsim_helpers.learned.embeddings import cosine_similarity_matrix, embed_images

    return SimilarityMethod(
        name=name,
        family=family,
        description=description,
        extract=lambda image: embed_images(model, [image], progress=False)[0],
        compare=_cosine,
        extract_many=lambda images: list(embed_images(model, images, progress=False)),
        compare_many=lambda q, g: cosine_similarity_matrix(np.stack(q), np.stack(g)),
        weights=model.weights,
    )


def _cnn(name: str) -> Callable[..., SimilarityMethod]:
    def build(*, device: str = "auto", fallback: str | None = None, **_) -> SimilarityMethod:
        from imgsim_helpers.learned.embeddings import load_cnn

        model = load_cnn(name, device=device, fallback=fallback)
        return _embedding_method(name, model, "embedding", f"{name} ImageNet features, cosine")

    return build


def _clip(*, device: str = "auto", fallback: str | None = None, **_) -> SimilarityMethod:
    from imgsim_helpers.learned.embeddings import load_clip

    model = load_clip(device=device, fallback=fallback)
    return _embedding_method("clip", model, "embedding", "CLIP ViT-B-16-plus-240 (laion400m_e32) image embedding, cosine")


# scikit-image samples the course never compares: the Siamese head learns "near duplicate" from
# edited tiles of these, so no benchmark image is seen in training.
SIAMESE_TRAINING_IMAGES = ("cell", "clock", "microaneurysms", "stereo_motorcycle")


def _siamese_training_pool(max_side: int = 384) -> dict[str, np.ndarray]:
    import skimage.data

    pool = {}
    for name in SIAMESE_TRAINING_IMAGES:
        image = getattr(skimage.data, name)()
        image = image[0] if isinstance(image, tuple) else image  # the stereo pair: left view
        pool[name] = fit_within(to_rgb(image), max_side)
    return pool


def _siamese(*, device: str = "auto", fallback: str | None = None, seed: int = 0, **_) -> SimilarityMethod:
    from imgsim_helpers.learned.embeddings import cosine_similarity_matrix, embed_images, load_cnn
    from imgsim_helpers.learned.siamese import (
        EmbeddingHead,
        embed,
        near_duplicate_set,
        train_siamese,
    )

    base = load_cnn("mobilenet_v2", device=device, fallback=fallback)
    near = near_duplicate_set(_siamese_training_pool(), grid=3, copies=4, seed=seed)
    vectors = embed_images(base, near.images, progress=False)
    head = EmbeddingHead(vectors.shape[1], hidden=256, seed=seed)
    train_siamese(head, vectors, near.labels, epochs=20, lr=1e-3, margin=0.2, classes_per_batch=16,
                  samples_per_class=4, seed=seed, device=device, progress=False)

    def extract_many(images):
        return list(embed(head, embed_images(base, images, progress=False), device=device))

    return SimilarityMethod(
        name="siamese",
        family="learned",
        description="MobileNetV2 features through a Siamese head trained (triplet loss) on edited tiles of images outside the benchmark",
        extract=lambda image: extract_many([image])[0],
        compare=_cosine,
        extract_many=extract_many,
        compare_many=lambda q, g: cosine_similarity_matrix(np.stack(q), np.stack(g)),
        weights=base.weights,
    )


BUILDERS: dict[str, Callable[..., SimilarityMethod]] = {
    "mse": _pixel_error("mse"),
    "psnr": _pixel_error("psnr"),
    "ahash": _perceptual_hash("ahash"),
    "dhash": _perceptual_hash("dhash"),
    "phash": _perceptual_hash("phash"),
    "whash": _perceptual_hash("whash"),
    "histogram_rgb": _histogram("rgb", 8, "correlation"),
    "histogram_hsv": _histogram("hsv", (16, 8, 1), "correlation"),
    "ssim": _structural("ssim", 11, 128, "SSIM (Gaussian 11×11, σ 1.5)"),
    # five scales of an 11×11 window need 176 pixels
    "ms_ssim": _structural("ms_ssim", 176, 192, "MS-SSIM (five scales)"),
    "fsim": _structural("fsim", 32, 128, "FSIM (FeatureSIM.m)"),
    "sift": _keypoints("sift"),
    "surf": _keypoints("surf"),
    "orb": _keypoints("orb"),
    "akaze": _keypoints("akaze"),
    "mobilenet_v2": _cnn("mobilenet_v2"),
    "vgg16": _cnn("vgg16"),
    "clip": _clip,
    "siamese": _siamese,
}
METHOD_NAMES = tuple(BUILDERS)


def build_method(name: str, **options) -> SimilarityMethod:
    """Create a method by name, loading its model if it has one.

    Parameters
    ----------
    name
        One of :data:`METHOD_NAMES`.
    **options
        Passed to the builder: ``size`` (structural methods), ``hash_size`` (hashes), ``max_side`` /
        ``max_features`` (keypoints), ``device`` and ``fallback`` (models).

    Raises
    ------
    UnknownMethodError
        For a name that is not registered (the message lists them).
    WeightsUnavailableError
        When a model's weights are neither cached nor downloadable.
    """
    if name not in BUILDERS:
        raise unknown_name("similarity method", name, METHOD_NAMES)
    return BUILDERS[name](**options)


def similarity(image1, image2, *, method: str = "ssim", **options) -> float:
    """Score two images with a registered method (higher = more similar).

    Examples
    --------
    >>> import imgsim_helpers as h
    >>> a = h.course_image("camera", max_side=64)
    >>> similarity(a, a, method="ssim") == 1.0
    True
    """
    return build_method(method, **options).similarity(image1, image2)
