"""Every similarity method of the course, named in one table.

A method computes a **feature** once per image, then **compares** two features into a score
where *higher means more similar*. The benchmark, the app and the command line all read this
table, so "ssim" means the same thing everywhere. Each method declares its options
(:data:`METHOD_OPTIONS`); any other is an :class:`~imgsim_helpers.core.errors.UnknownOptionError`.

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

from imgsim_helpers.core.checks import check_choice, check_image, check_int, check_seed
from imgsim_helpers.core.device import check_device
from imgsim_helpers.core.errors import (
    EmptyInputError,
    InvalidParameterError,
    UnknownOptionError,
    WeightsUnavailableError,
)
from imgsim_helpers.images.io import fit_within, resize, to_gray, to_rgb, to_uint8

UNAVAILABLE = "unavailable: weights"  # the start of a status line for a method without weights


def first_line(error: BaseException) -> str:
    """The first line of an error's message (its type name when the message is empty)."""
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def unavailable_status(error: WeightsUnavailableError) -> str:
    """The one status line for a method without weights: ``"unavailable: weights (<reason>)"``."""
    return f"{UNAVAILABLE} ({first_line(error)})"


@dataclass
class SimilarityMethod:
    """A ready-to-use method, models loaded: ``extract`` image → feature, ``compare`` two features
    → score (``_many``: optional batched versions); ``family`` "pixel", "hash", "histogram",
    "structural", "keypoints", "embedding" or "learned"; ``weights`` "pretrained", "local",
    "random" or "none"."""

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
        return list(self.extract_many(images)) if self.extract_many else [self.extract(im) for im in images]

    def features_or_none(self, images: Sequence[np.ndarray]) -> tuple[list, list[tuple[int, Exception]]]:
        """Features batched; if the batch fails, one image at a time: ``None`` and ``(position,
        error)`` for each image that fails, so that one image never ends a run."""
        try:
            return self.features(images), []
        except Exception:  # noqa: BLE001 - find the image(s) behind it below, one at a time
            pass
        features, failures = [], []
        for k, image in enumerate(images):
            try:
                features.append(self.extract(image))
            except Exception as error:  # noqa: BLE001 - reported to the caller with its position
                features.append(None)
                failures.append((k, error))
        return features, failures

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
    """A size×size 8-bit gray image (aspect not kept): pixel metrics need equal shapes, and
    8-bit first lets an image and its float copy (``u8 / 255``) give the same score."""
    return resize(to_gray(to_rgb(to_uint8(check_image(image)))), (size, size))


def _cosine_matrix(queries, gallery) -> np.ndarray:
    """The course's one cosine, in float64 so that identical images score exactly 1."""
    from imgsim_helpers.learned.embeddings import cosine_similarity_matrix
    return cosine_similarity_matrix(np.asarray(queries, np.float64), np.asarray(gallery, np.float64))


def _cosine(a, b) -> float:
    return float(_cosine_matrix(a, b)[0, 0])


# --------------------------------------------------------------------------- builders
# Each builder receives every declared option, already checked (see build_method).


def _histogram(space: str, bins, method: str) -> Callable[..., SimilarityMethod]:
    def build() -> SimilarityMethod:
        from imgsim_helpers.metrics.histograms import (
            HISTOGRAM_METHODS,
            color_histogram,
            compare_histograms,
            pairwise_histogram_similarity,
        )
        sign = 1.0 if HISTOGRAM_METHODS[method].higher_is_similar else -1.0
        return SimilarityMethod(
            name=f"histogram_{space}", family="histogram",
            description=f"{space.upper()} colour histogram {bins} bins, {method}",
            extract=lambda image: color_histogram(to_rgb(check_image(image)), space=space, bins=bins).ravel(),
            compare=lambda f1, f2: sign * compare_histograms(f1, f2, method=method),
            compare_many=lambda q, g: sign * pairwise_histogram_similarity(q, g, method=method),
            options={"space": space, "bins": bins, "method": method},
        )

    return build


def _structural(name: str, min_size: int, label: str) -> Callable[..., SimilarityMethod]:
    """SSIM, MS-SSIM and FSIM compare pixels in place: every image becomes a size×size gray image."""

    def build(*, size: int) -> SimilarityMethod:
        from imgsim_helpers.metrics import feature_similarity as fs
        from imgsim_helpers.metrics.structural_similarity import ms_ssim, ssim
        side = max(size, min_size)
        extract_many = None
        if name == "fsim":
            # FSIM's expensive half (phase congruency, gradients) belongs to one image: once per image.
            def extract(image):
                return fs.fsim_features(_square_gray(image, side))

            def extract_many(images):
                return fs.fsim_features_many([_square_gray(image, side) for image in images])

            metric = fs.fsim_compare
        else:
            def extract(image):
                return _square_gray(image, side)

            metric = {"ssim": ssim, "ms_ssim": ms_ssim}[name]
        return SimilarityMethod(name=name, family="structural", description=f"{label} on {side}×{side} gray",
                                extract=extract, extract_many=extract_many,
                                compare=lambda a, b: float(metric(a, b)), options={"size": side})

    return build


def _pixel_error(name: str) -> Callable[..., SimilarityMethod]:
    """MSE and PSNR on size×size gray images. Scores rise with similarity: ``mse`` scores −MSE;
    ``psnr`` floors the MSE at ``MSE_FLOOR`` so identical images get a finite 148.1 dB, not inf."""

    def build(*, size: int) -> SimilarityMethod:
        from imgsim_helpers.core.checks import value_range
        from imgsim_helpers.metrics.pixel_error import MSE_FLOOR, mse, psnr_score
        if name == "mse":
            def compare(a, b):
                return 0.0 - mse(a, b)  # 0.0 - 0.0 is 0.0, where -0.0 would print as "-0.0000"

            def rows(difference, peak):  # one query against every gallery image at once
                return 0.0 - (difference * difference).mean(axis=(1, 2))

            description = f"−MSE (mean squared error, negated so higher = more similar) on {size}×{size} gray"
        else:
            compare = psnr_score

            def rows(difference, peak):
                error = np.maximum((difference * difference).mean(axis=(1, 2)), MSE_FLOOR)
                return 10.0 * np.log10(peak * peak / error)

            description = f"PSNR in dB (identical images get a finite ceiling, not inf) on {size}×{size} gray"

        def compare_many(queries, gallery):
            peak = value_range(np.asarray(gallery[0]))
            stacked = np.stack(gallery).astype(np.float64)
            return np.array([rows(stacked - np.asarray(q, np.float64), peak) for q in queries])

        return SimilarityMethod(name=name, family="pixel", description=description,
                                extract=lambda image: _square_gray(image, size),
                                compare=lambda a, b: float(compare(a, b)), compare_many=compare_many,
                                options={"size": size})

    return build


def _perceptual_hash(kind: str) -> Callable[..., SimilarityMethod]:
    """aHash, dHash, pHash, wHash (ImageHash): hash_size² bits per image, similarity 1 − Hamming / bits."""

    def build(*, hash_size: int) -> SimilarityMethod:
        from imgsim_helpers.metrics.hashing import HASH_KINDS, image_hash, pairwise_hash_similarity
        bits = hash_size * hash_size
        return SimilarityMethod(
            name=kind, family="hash", description=f"{kind} ({HASH_KINDS[kind][1]}), {bits} bits, 1 − Hamming/{bits}",
            extract=lambda image: image_hash(image, kind, hash_size=hash_size),
            compare=lambda a, b: float(pairwise_hash_similarity([a], [b])[0, 0]),
            compare_many=pairwise_hash_similarity, options={"hash_size": hash_size},
        )

    return build


def _keypoints(kind: str) -> Callable[..., SimilarityMethod]:
    def build(*, max_side: int, max_features: int) -> SimilarityMethod:
        from imgsim_helpers.metrics.keypoints import compare_features, detect_and_describe
        def extract(image):
            return detect_and_describe(fit_within(to_rgb(check_image(image)), max_side), method=kind,
                                       max_features=max_features)

        return SimilarityMethod(
            name=kind, family="keypoints",
            description=f"{kind.upper()} keypoints, ratio test, RANSAC homography; score from verified inliers",
            extract=extract, compare=lambda a, b: compare_features(a, b).score,
            options={"max_side": max_side, "max_features": max_features},
        )

    return build


def _embedding_method(name: str, model, description: str) -> SimilarityMethod:
    from imgsim_helpers.learned.embeddings import embed_images
    return SimilarityMethod(
        name=name, family="embedding", description=description,
        extract=lambda image: embed_images(model, [image], progress=False)[0], compare=_cosine,
        extract_many=lambda images: list(embed_images(model, images, progress=False)),
        compare_many=_cosine_matrix, weights=model.weights,
    )


def _cnn(name: str) -> Callable[..., SimilarityMethod]:
    def build(*, device: str, fallback: str | None) -> SimilarityMethod:
        from imgsim_helpers.learned.embeddings import load_cnn
        model = load_cnn(name, device=device, fallback=fallback)
        return _embedding_method(name, model, f"{name} ImageNet features, cosine")

    return build


def _clip(*, device: str, fallback: str | None) -> SimilarityMethod:
    from imgsim_helpers.learned.embeddings import load_clip
    model = load_clip(device=device, fallback=fallback)
    return _embedding_method("clip", model, "CLIP ViT-B-16-plus-240 (laion400m_e32) image embedding, cosine")


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


def _siamese(*, device: str, fallback: str | None, seed: int) -> SimilarityMethod:
    from imgsim_helpers.learned import siamese
    from imgsim_helpers.learned.embeddings import embed_images, load_cnn
    base = load_cnn("mobilenet_v2", device=device, fallback=fallback)
    near = siamese.near_duplicate_set(_siamese_training_pool(), grid=3, copies=4, seed=seed)
    vectors = embed_images(base, near.images, progress=False)
    head = siamese.EmbeddingHead(vectors.shape[1], hidden=256, seed=seed)
    siamese.train_siamese(head, vectors, near.labels, epochs=20, lr=1e-3, margin=0.2, classes_per_batch=16,
                  samples_per_class=4, seed=seed, device=device, progress=False)

    def extract_many(images):
        return list(siamese.embed(head, embed_images(base, images, progress=False), device=device))

    return SimilarityMethod(
        name="siamese", family="learned",
        description="MobileNetV2 features through a Siamese head trained (triplet loss) on edited tiles of "
                    "images outside the benchmark",
        extract=lambda image: extract_many([image])[0], compare=_cosine, extract_many=extract_many,
        compare_many=_cosine_matrix, weights=base.weights,
    )


# --------------------------------------------------------------------------- the table


@dataclass(frozen=True)
class Option:
    """One option a method takes: its default and the check a given value goes through."""

    default: object
    check: Callable[[object, str], object]


def _fallback(value, name: str):
    return None if value is None else check_choice(value, name, ("random",))


def _size(default: int) -> dict[str, Option]:
    return {"size": Option(default, lambda v, n: check_int(v, n, low=1))}


HASH_OPTIONS = {"hash_size": Option(8, lambda v, n: check_int(v, n, low=2))}
KEYPOINT_OPTIONS = {"max_side": Option(256, lambda v, n: check_int(v, n, low=16)),
                    "max_features": Option(500, lambda v, n: check_int(v, n, low=1))}
MODEL_OPTIONS = {"device": Option("auto", lambda v, n: check_device(v)), "fallback": Option(None, _fallback)}

_TABLE: tuple[tuple[str, Callable[..., SimilarityMethod], dict[str, Option]], ...] = (
    ("mse", _pixel_error("mse"), _size(128)),
    ("psnr", _pixel_error("psnr"), _size(128)),
    *((kind, _perceptual_hash(kind), HASH_OPTIONS) for kind in ("ahash", "dhash", "phash", "whash")),
    ("histogram_rgb", _histogram("rgb", 8, "correlation"), {}),
    ("histogram_hsv", _histogram("hsv", (16, 8, 1), "correlation"), {}),
    ("ssim", _structural("ssim", 11, "SSIM (Gaussian 11×11, σ 1.5)"), _size(128)),
    ("ms_ssim", _structural("ms_ssim", 176, "MS-SSIM (five scales)"), _size(192)),  # 5 scales of 11×11 need 176
    ("fsim", _structural("fsim", 32, "FSIM (FeatureSIM.m)"), _size(128)),
    *((kind, _keypoints(kind), KEYPOINT_OPTIONS) for kind in ("sift", "surf", "orb", "akaze")),
    ("mobilenet_v2", _cnn("mobilenet_v2"), MODEL_OPTIONS),
    ("vgg16", _cnn("vgg16"), MODEL_OPTIONS),
    ("clip", _clip, MODEL_OPTIONS),
    ("siamese", _siamese, {**MODEL_OPTIONS, "seed": Option(0, lambda v, n: check_seed(v, n))}),
)
BUILDERS: dict[str, Callable[..., SimilarityMethod]] = {name: build for name, build, _ in _TABLE}
METHOD_OPTIONS: dict[str, dict[str, Option]] = {name: options for name, _, options in _TABLE}
METHOD_NAMES = tuple(BUILDERS)


def check_method_names(methods) -> list[str]:
    """``methods`` as a list of registered names: one name, several, or None for every method."""
    names = list(METHOD_NAMES) if methods is None else [methods] if isinstance(methods, str) else list(methods)
    if not names:
        raise InvalidParameterError("methods must name at least one method; choose among "
                                    + ", ".join(METHOD_NAMES))
    return [check_choice(name, "similarity method", METHOD_NAMES) for name in names]


def options_for(name: str, **settings) -> dict:
    """The ``settings`` that method ``name`` declares (the faces pass ``device`` to every method).

    >>> options_for("ssim", device="cpu", size=96)
    {'size': 96}
    """
    declared = METHOD_OPTIONS[check_choice(name, "similarity method", METHOD_NAMES)]
    return {key: value for key, value in settings.items() if key in declared}


def build_method(name: str, **options) -> SimilarityMethod:
    """Create a method by name with its declared options, checked before any model loads.

    >>> build_method("ssim", sise=64)
    Traceback (most recent call last):
    ...
    imgsim_helpers.core.errors.UnknownOptionError: ssim takes no option 'sise'; its options are: size
    """
    declared = METHOD_OPTIONS[check_choice(name, "similarity method", METHOD_NAMES)]
    unknown = [key for key in options if key not in declared]
    if unknown:
        raise UnknownOptionError(name, unknown, declared)
    values = {key: option.check(options[key], key) if key in options else option.default
              for key, option in declared.items()}
    return BUILDERS[name](**values)


def similarity(image1, image2, *, method: str = "ssim", **options) -> float:
    """Score two images with a registered method (higher = more similar)."""
    return build_method(method, **options).similarity(image1, image2)
