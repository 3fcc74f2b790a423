"""The measurements behind notebook 05 (CLIP), so that the notebook holds no untested logic.

* Comparing embeddings: :func:`rowwise_cosine` (image *i* with image *i*),
  :func:`pairwise_cosines` (every distinct pair of a gallery),
  :func:`most_similar_pairs`, :func:`check_top_k` (does a top-k answer agree
  with the full similarity matrix?) and :func:`cosine_percentile` (where a
  cosine ranks among reference pairs — an honest "percentage").
* Near duplicates: :func:`transformed_variants` makes changed copies of
  gallery images with :func:`imgsim_helpers.images.transforms.apply_transform`, and
  :func:`near_duplicate_report` says, for each copy, how similar it is to
  its source and to the best other gallery image.
* Zero-shot labels: :func:`prompts` and :func:`zero_shot` (a softmax over
  ``"a photo of a {label}"`` prompts at the model's own temperature).
* The classic tutorial, broken and fixed: :class:`ClassicScript` rebuilds
  the widely copied ``imageEncoder`` / ``generateScore`` script *with its
  bugs* (``cv2.imread`` without a ``None`` check, BGR arrays fed to a model
  trained on RGB, a function that reads the script's global paths instead
  of its arguments, cosine × 100 called a percentage), so that each bug can
  be shown and measured; :func:`generate_score` is the same job done right.
* :func:`clip_setups` lists what differs between :func:`load_clip` and
  ``SentenceTransformer("clip-ViT-B-32")`` (:func:`load_sentence_clip`).

Examples
--------
>>> e = np.array([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]])
>>> pairwise_cosines(e).round(2).tolist()
[0.6, 0.0, 0.8]
>>> round(cosine_percentile(0.7, [0.6, 0.0, 0.8]), 1)
66.7
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from imgsim_helpers.core.checks import check_image
from imgsim_helpers.core.errors import EmptyInputError, InvalidParameterError, ShapeMismatchError
from imgsim_helpers.images.transforms import TRANSFORMS, apply_transform
from imgsim_helpers.learned.embeddings import (
    CLIP_MODEL,
    CLIP_PRETRAINED,
    SENTENCE_CLIP,
    EmbeddingModel,
    _as_embeddings,
    clip_preprocess,
    cosine_similarity_matrix,
    embed_images,
    embed_texts,
)

__all__ = [
    "DEFAULT_TEMPLATE",
    "ClassicScript",
    "Variants",
    "ZeroShot",
    "check_top_k",
    "clip_setups",
    "colour_names",
    "cosine_percentile",
    "generate_score",
    "image_file",
    "load_any_image",
    "most_similar_pairs",
    "near_duplicate_report",
    "pairwise_cosines",
    "prompts",
    "rowwise_cosine",
    "transformed_variants",
    "zero_shot",
]

#: The prompt of CLIP's zero-shot experiments (Radford et al. 2021): captions
#: on the web rarely consist of a bare label, so a short sentence matches better.
DEFAULT_TEMPLATE = "a photo of a {label}"


# --------------------------------------------------------------------------- comparing embeddings


def rowwise_cosine(a, b) -> np.ndarray:
    """Cosine similarity of row *i* of ``a`` with row *i* of ``b`` (an image and its changed copy).

    Parameters
    ----------
    a, b
        ``N×D`` arrays of embeddings, normalised or not (a 1-D array is one embedding).

    Returns
    -------
    numpy.ndarray
        ``N`` values in [-1, 1].

    Raises
    ------
    ShapeMismatchError
        ``a`` and ``b`` have different shapes.
    InvalidParameterError, EmptyInputError
        Not numeric, not 1-D/2-D, NaN, or no rows.

    Examples
    --------
    >>> rowwise_cosine([[1.0, 0.0], [0.0, 2.0]], [[2.0, 0.0], [1.0, 1.0]]).round(3).tolist()
    [1.0, 0.707]
    """
    a = _as_embeddings(a, "a")
    b = _as_embeddings(b, "b")
    if a.shape != b.shape:
        raise ShapeMismatchError(
            f"rowwise_cosine compares row i with row i, so both arrays need one shape; got {a.shape} and {b.shape}"
        )
    return np.clip(np.einsum("ij,ij->i", a, b), -1.0, 1.0)


def pairwise_cosines(embeddings) -> np.ndarray:
    """The cosine of every distinct pair of rows (the upper triangle of the similarity matrix).

    Row order: (0, 1), (0, 2), ..., (0, N-1), (1, 2), ...; ``N(N-1)/2`` values.

    Raises
    ------
    EmptyInputError
        Fewer than two embeddings (no pair).

    Examples
    --------
    >>> pairwise_cosines(np.eye(3)).tolist()
    [0.0, 0.0, 0.0]
    """
    e = _as_embeddings(embeddings, "embeddings")
    if e.shape[0] < 2:
        raise EmptyInputError(f"pairwise_cosines needs at least two embeddings; got {e.shape[0]}")
    rows, cols = np.triu_indices(e.shape[0], k=1)
    return cosine_similarity_matrix(e, e)[rows, cols]


def most_similar_pairs(embeddings, names: Sequence[str], *, k: int = 5) -> list[tuple[str, str, float]]:
    """The ``k`` most similar distinct pairs as ``(name_i, name_j, cosine)``, best first.

    Examples
    --------
    >>> most_similar_pairs([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]], ["a", "b", "c"], k=1)
    [('a', 'b', 0.9939)]
    """
    e = _as_embeddings(embeddings, "embeddings")
    names = list(names)
    if len(names) != e.shape[0]:
        raise ShapeMismatchError(f"{len(names)} names given for {e.shape[0]} embeddings")
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise InvalidParameterError(f"k must be a positive integer; got {k!r}")
    values = pairwise_cosines(e)
    rows, cols = np.triu_indices(e.shape[0], k=1)
    order = np.argsort(-values, kind="stable")[:k]
    return [(names[rows[i]], names[cols[i]], round(float(values[i]), 4)) for i in order]


def check_top_k(indices, scores, matrix, *, atol: float = 1e-5) -> dict[str, bool]:
    """Check a :func:`~imgsim_helpers.learned.embeddings.top_k` answer against the full similarity matrix.

    Parameters
    ----------
    indices, scores
        ``Q×k`` output of ``top_k(queries, gallery, k)``.
    matrix
        ``Q×N`` ``cosine_similarity_matrix(queries, gallery)``.
    atol
        Tolerance for comparing scores.

    Returns
    -------
    dict
        ``scores_match`` (each score is the matrix entry of its index),
        ``sorted`` (best first), ``best_is_row_max`` (the first score is the
        row's maximum) and ``no_better_left_out`` (no gallery item outside the
        answer scores higher than the answer's last one).

    Examples
    --------
    >>> m = np.array([[0.1, 0.9, 0.5]])
    >>> check_top_k([[1, 2]], [[0.9, 0.5]], m)["no_better_left_out"]
    True
    """
    idx = np.atleast_2d(np.asarray(indices))
    sc = np.atleast_2d(np.asarray(scores, dtype=np.float64))
    m = np.atleast_2d(np.asarray(matrix, dtype=np.float64))
    if idx.shape != sc.shape or idx.shape[0] != m.shape[0]:
        raise ShapeMismatchError(
            f"indices {idx.shape} and scores {sc.shape} must both be Q×k with Q = {m.shape[0]} matrix rows"
        )
    if not np.issubdtype(idx.dtype, np.integer) or idx.min() < 0 or idx.max() >= m.shape[1]:
        raise InvalidParameterError(f"indices must be integers in 0..{m.shape[1] - 1}")
    picked = np.take_along_axis(m, idx, axis=1)
    left_out = np.ones(m.shape, dtype=bool)
    np.put_along_axis(left_out, idx, False, axis=1)
    best_left_out = np.where(left_out, m, -np.inf).max(axis=1)
    return {
        "scores_match": bool(np.allclose(picked, sc, atol=atol)),
        "sorted": bool(np.all(np.diff(sc, axis=1) <= atol)),
        "best_is_row_max": bool(np.allclose(sc[:, 0], m.max(axis=1), atol=atol)),
        "no_better_left_out": bool(np.all(best_left_out <= sc[:, -1] + atol)),
    }


def cosine_percentile(cosine: float, reference) -> float:
    """Where ``cosine`` ranks among ``reference`` cosines, as a percentage in [0, 100].

    This is the number people mean when they call ``cosine × 100`` "percent
    similar": ``90`` says that the pair is more similar than 90 % of the
    reference pairs (for example every pair of a gallery, from
    :func:`pairwise_cosines`). Ties count half (the mid-rank convention),
    so a value equal to every reference value gives 50.

    Parameters
    ----------
    cosine
        A cosine similarity in [-1, 1].
    reference
        Cosines of reference pairs made by the same model.

    Raises
    ------
    InvalidParameterError
        ``cosine`` or a reference value is not finite or outside [-1, 1].
    EmptyInputError
        No reference values.

    Examples
    --------
    >>> cosine_percentile(0.9, [0.5, 0.6, 0.7, 0.95])
    75.0
    """
    value = float(cosine)
    ref = np.asarray(reference, dtype=np.float64).ravel()
    if ref.size == 0:
        raise EmptyInputError("cosine_percentile needs at least one reference cosine")
    if not np.isfinite(value) or abs(value) > 1 + 1e-6:
        raise InvalidParameterError(f"cosine must be a finite number in [-1, 1]; got {cosine!r}")
    if not np.isfinite(ref).all() or np.abs(ref).max() > 1 + 1e-6:
        raise InvalidParameterError("reference cosines must be finite numbers in [-1, 1]")
    below = np.count_nonzero(ref < value)
    ties = np.count_nonzero(ref == value)
    return float(100.0 * (below + 0.5 * ties) / ref.size)


# --------------------------------------------------------------------------- near duplicates


@dataclass(frozen=True)
class Variants:
    """Changed copies of gallery images: ``images[i]`` is ``label[i]`` applied to gallery image ``sources[i]``."""

    images: list[np.ndarray]
    sources: np.ndarray
    labels: list[str]


def transformed_variants(
    gallery: Mapping[str, np.ndarray],
    changes: Mapping[str, tuple[str, float]],
    *,
    only: Sequence[str] | None = None,
    seed: int = 0,
) -> Variants:
    """Apply every change to every gallery image (or to the images named in ``only``).

    Parameters
    ----------
    gallery
        Name -> RGB image, in gallery order.
    changes
        Label -> ``(transform name, strength)``, for example
        ``{"JPEG q=30": ("jpeg", 30)}`` (see :data:`imgsim_helpers.images.transforms.TRANSFORMS`).
    only
        Gallery names to change (default: all).
    seed
        For the random transforms (crop position, noise, text placement).

    Returns
    -------
    Variants
        ``sources`` indexes the gallery's order; labels read ``"chelsea · JPEG q=30"``.

    Examples
    --------
    >>> v = transformed_variants({"a": np.zeros((8, 8, 3), np.uint8)}, {"mirror": ("flip", 1)})
    >>> v.labels, v.sources.tolist()
    (['a · mirror'], [0])
    """
    names = list(gallery)
    if not names:
        raise EmptyInputError("the gallery is empty")
    if not changes:
        raise EmptyInputError("changes is empty; pass at least one {label: (transform, strength)}")
    chosen = names if only is None else list(only)
    for name in chosen:
        if name not in gallery:
            raise InvalidParameterError(f"{name!r} is not in the gallery ({', '.join(names)})")
    for label, spec in changes.items():
        if not (isinstance(spec, tuple | list) and len(spec) == 2 and spec[0] in TRANSFORMS):
            raise InvalidParameterError(
                f"changes[{label!r}] must be (transform name, strength) with a name from "
                f"{', '.join(TRANSFORMS)}; got {spec!r}"
            )
    images, sources, labels = [], [], []
    for name in chosen:
        for label, (transform, strength) in changes.items():
            images.append(apply_transform(gallery[name], transform, strength, seed=seed))
            sources.append(names.index(name))
            labels.append(f"{name} · {label}")
    return Variants(images=images, sources=np.asarray(sources, dtype=np.int64), labels=labels)


def near_duplicate_report(gallery_embeddings, variant_embeddings, sources) -> dict:
    """For each changed copy: its cosine with its source, with the best other image, and its source's rank.

    Parameters
    ----------
    gallery_embeddings
        ``N×D``.
    variant_embeddings
        ``M×D``, the changed copies.
    sources
        ``M`` indices into the gallery: the source of each copy.

    Returns
    -------
    dict
        ``to_source`` and ``best_other`` (``M`` cosines), ``margin``
        (``to_source - best_other``: positive when the source wins), ``rank``
        (1 when the source scores strictly highest; a tie counts against it)
        and ``recall_at_1`` (the fraction of copies whose rank is 1).

    Examples
    --------
    >>> g = np.eye(3)
    >>> r = near_duplicate_report(g, [[0.9, 0.1, 0.0], [0.5, 0.5, 0.0]], [0, 1])
    >>> r["rank"].tolist(), r["recall_at_1"]
    ([1, 2], 0.5)
    """
    g = _as_embeddings(gallery_embeddings, "gallery_embeddings")
    v = _as_embeddings(variant_embeddings, "variant_embeddings")
    src = np.asarray(sources)
    if src.ndim != 1 or src.shape[0] != v.shape[0]:
        raise ShapeMismatchError(f"sources must hold one gallery index per variant ({v.shape[0]}); got shape {src.shape}")
    if not np.issubdtype(src.dtype, np.integer) or src.min() < 0 or src.max() >= g.shape[0]:
        raise InvalidParameterError(f"sources must be integers in 0..{g.shape[0] - 1}")
    sims = cosine_similarity_matrix(v, g).astype(np.float64)
    rows = np.arange(v.shape[0])
    to_source = sims[rows, src]
    others = sims.copy()
    others[rows, src] = -np.inf
    best_other = others.max(axis=1) if g.shape[0] > 1 else np.full(v.shape[0], -1.0)
    # rank = 1 + number of other images scoring at least as high (ties against the source)
    rank = 1 + np.count_nonzero(others >= to_source[:, None], axis=1)
    return {
        "to_source": to_source,
        "best_other": best_other,
        "margin": to_source - best_other,
        "rank": rank.astype(np.int64),
        "recall_at_1": float(np.mean(rank == 1)),
    }


# --------------------------------------------------------------------------- zero-shot labels


def prompts(labels: Sequence[str], template: str = DEFAULT_TEMPLATE) -> list[str]:
    """Turn labels into sentences with ``template`` (which must contain ``{label}``).

    Examples
    --------
    >>> prompts(["cat", "cup of coffee"])
    ['a photo of a cat', 'a photo of a cup of coffee']
    """
    if isinstance(labels, str):
        raise InvalidParameterError(f"labels must be a list of strings; got the single string {labels!r}")
    labels = list(labels)
    if not labels:
        raise EmptyInputError("labels is empty; pass at least one label")
    if not isinstance(template, str) or "{label}" not in template:
        raise InvalidParameterError(f"template must be a string containing '{{label}}'; got {template!r}")
    for i, label in enumerate(labels):
        if not isinstance(label, str) or not label.strip():
            raise InvalidParameterError(f"labels[{i}] must be a non-empty string; got {label!r}")
    return [template.format(label=label) for label in labels]


@dataclass(frozen=True)
class ZeroShot:
    """Zero-shot classification of images among labels.

    ``cosines`` and ``probabilities`` are ``N images × L labels``;
    ``predicted[i]`` is the label with the highest probability (which is the
    highest cosine: the softmax keeps the order).
    """

    labels: list[str]
    prompts: list[str]
    cosines: np.ndarray
    probabilities: np.ndarray
    predicted: list[str]
    logit_scale: float


def _logit_scale(model: EmbeddingModel) -> float:
    scale = getattr(model.module, "logit_scale", None)
    if scale is None:
        # sentence-transformers' CLIP keeps it inside its transformers model;
        # 100 is where OpenAI's training clamps it
        return 100.0
    import torch

    with torch.no_grad():
        return float(min(float(torch.as_tensor(scale).exp()), 100.0))


def zero_shot(
    model: EmbeddingModel,
    image_embeddings,
    labels: Sequence[str],
    *,
    template: str = DEFAULT_TEMPLATE,
    logit_scale: float | None = None,
) -> ZeroShot:
    r"""Label images by the prompt they are most similar to.

    ``p(label | image) = softmax_label(s · cos(image, text(label)))``, with
    ``s`` the temperature the model learned (``exp(logit_scale)``, 100 for
    trained CLIP models; about 14.3 for a randomly initialised one).

    Parameters
    ----------
    model
        A CLIP model (it embeds the prompts).
    image_embeddings
        ``N×D`` from :func:`embed_images` with the same model.
    labels
        Class names, read into ``template``.
    template
        A sentence with ``{label}``.
    logit_scale
        Override the temperature ``s``.

    Raises
    ------
    ShapeMismatchError
        The image embeddings do not come from this model (different ``D``).

    Examples
    --------
    >>> zs = zero_shot(model, embed_images(model, [cat]), ["cat", "dog"])  # doctest: +SKIP
    >>> zs.predicted, zs.probabilities.sum(axis=1)  # doctest: +SKIP
    (['cat'], array([1.]))
    """
    texts = prompts(labels, template)
    text_embeddings = embed_texts(model, texts)
    cos = cosine_similarity_matrix(image_embeddings, text_embeddings).astype(np.float64)
    scale = _logit_scale(model) if logit_scale is None else float(logit_scale)
    if not np.isfinite(scale) or scale <= 0:
        raise InvalidParameterError(f"logit_scale must be a positive number; got {logit_scale!r}")
    logits = scale * cos
    logits -= logits.max(axis=1, keepdims=True)  # stable softmax
    probs = np.exp(logits)
    probs /= probs.sum(axis=1, keepdims=True)
    labels = list(labels)
    return ZeroShot(
        labels=labels,
        prompts=texts,
        cosines=cos,
        probabilities=probs,
        predicted=[labels[i] for i in probs.argmax(axis=1)],
        logit_scale=scale,
    )


# --------------------------------------------------------------------------- the classic tutorial


def _check_image_model(model) -> None:
    if not isinstance(model, EmbeddingModel) or model.kind not in ("clip", "cnn"):
        raise InvalidParameterError(
            "model must be an EmbeddingModel from load_clip() or load_cnn(); got "
            + (f"kind {model.kind!r}" if isinstance(model, EmbeddingModel) else type(model).__name__)
        )


def _as_pil_rgb(img) -> np.ndarray:
    from PIL import Image

    # the tutorial's line: no None check, and a BGR array is taken for RGB
    return np.array(Image.fromarray(img).convert("RGB"))  # a writable copy, for torch


class ClassicScript:
    """The classic CLIP image-similarity script, rebuilt *with its bugs* so that each can be measured.

    The script that circulates in tutorials loads an open_clip model, sets
    two image paths as module-level variables, and defines two functions.
    This class keeps that shape: the attributes ``image1`` and ``image2``
    are the script's globals, and the methods are its functions, line for
    line in behaviour:

    ``imageEncoder(img)``
        ``Image.fromarray(img).convert("RGB")`` → the model's preprocessing
        → ``encode_image``. ``img`` comes from ``cv2.imread``, so it is in
        **BGR** order, and PIL takes it as RGB: red and blue are swapped
        before the model sees them. A ``None`` (a missing file) fails here,
        as ``AttributeError: 'NoneType' object has no attribute
        '__array_interface__'`` — far from the cause.
    ``generateScore(image1, image2)``
        Reads ``self.image1`` and ``self.image2`` — the globals — with
        ``cv2.imread(path, cv2.IMREAD_UNCHANGED)``, **not its arguments**;
        does not check for ``None``; ``IMREAD_UNCHANGED`` also ignores the
        EXIF orientation (phone photos come out sideways) and keeps alpha
        as a fourth channel, which ``convert("RGB")`` then drops (transparent
        pixels show whatever colour they store, often black). It returns
        ``round(cosine * 100, 2)``, which the tutorial prints as a
        percentage although a cosine lies in [-1, 1].

    ``util.pytorch_cos_sim(a, b)[0][0]`` of the original is the plain
    cosine of the two feature rows; it is computed here with torch directly
    so that this module does not import sentence-transformers.

    Use :func:`generate_score` for the correct version.

    Parameters
    ----------
    model
        A model from :func:`load_clip` (or :func:`load_cnn`).
    image1, image2
        The paths the script hard-codes.

    Examples
    --------
    >>> seen = ClassicScript.model_input(image_file("chelsea"))
    >>> bool((seen == load_any_image("chelsea")[..., ::-1]).all())  # red and blue swapped
    True
    >>> script = ClassicScript(load_clip(), "image1.jpg", "image2.jpg")  # doctest: +SKIP
    >>> script.generateScore("a.png", "b.png")  # doctest: +SKIP
    Traceback (most recent call last):
    AttributeError: 'NoneType' object has no attribute '__array_interface__'
    """

    def __init__(self, model: EmbeddingModel, image1: str | os.PathLike, image2: str | os.PathLike):
        _check_image_model(model)
        self.model = model
        self.image1 = image1
        self.image2 = image2

    @staticmethod
    def model_input(path: str | os.PathLike) -> np.ndarray:
        """What the script hands to the model for ``path``: ``cv2.imread(path, IMREAD_UNCHANGED)`` as a PIL RGB image.

        The array is BGR read as RGB, unrotated (EXIF ignored), with alpha
        dropped. A missing file fails inside PIL with the script's
        ``AttributeError``, not with a message naming the file.
        """
        import cv2

        return _as_pil_rgb(cv2.imread(str(path), cv2.IMREAD_UNCHANGED))

    def imageEncoder(self, img):
        """The tutorial's encoder: a cv2 array (BGR, or ``None``) → raw features, no normalisation."""
        import torch

        batch = np.stack([self.model.preprocess.prepare(_as_pil_rgb(img))])
        x = self.model.preprocess.to_tensor(batch, self.model.device, self.model._norm)
        with torch.inference_mode():
            return self.model.image_features(x).float()

    def generateScore(self, image1, image2) -> float:
        """The tutorial's score: reads the *global* paths, returns ``round(cosine * 100, 2)``."""
        import cv2
        import torch

        # the tutorial's bug kept on purpose: the arguments are never used
        test_img = cv2.imread(str(self.image1), cv2.IMREAD_UNCHANGED)
        data_img = cv2.imread(str(self.image2), cv2.IMREAD_UNCHANGED)
        img1 = self.imageEncoder(test_img)
        img2 = self.imageEncoder(data_img)
        cos_scores = torch.nn.functional.cosine_similarity(img1, img2, dim=1)
        return round(float(cos_scores[0]) * 100, 2)


def image_file(ref: str | os.PathLike) -> Path:
    """The file behind a course image name, or ``ref`` itself as a path (for code that reads files).

    Examples
    --------
    >>> image_file("chelsea_exif").name, image_file("my/photo.jpg").name
    ('chelsea_exif.jpg', 'photo.jpg')
    """
    from imgsim_helpers.images.data import course_path, list_course_images

    if isinstance(ref, str) and ref in list_course_images(include_broken=True):
        return course_path(ref)
    if not isinstance(ref, str | os.PathLike):
        raise InvalidParameterError(f"ref must be a course image name or a path; got {type(ref).__name__}")
    return Path(ref)


def colour_names(gallery: Mapping[str, np.ndarray]) -> list[str]:
    """Names of the gallery images that have colour (not every pixel has R = G = B).

    Swapping red and blue changes only these, so the BGR experiment uses them.

    Examples
    --------
    >>> gray = np.full((4, 4, 3), 7, np.uint8)
    >>> colour_names({"gray": gray, "red": np.dstack([gray[..., 0] + 9, gray[..., 1], gray[..., 2]])})
    ['red']
    """
    names = []
    for name, image in gallery.items():
        image = check_image(image, name=name)
        if image.ndim == 3 and image.shape[2] >= 3:
            rgb = image[..., :3]
            if not (np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 1], rgb[..., 2])):
                names.append(name)
    return names


def load_any_image(image, *, name: str = "image") -> np.ndarray:
    """An RGB array from an array, a course image name, or a path (never ``None``).

    Arrays are validated and returned as they are; names and paths go
    through :func:`imgsim_helpers.images.data.get_image` (EXIF applied, alpha
    composited on white, RGB order), which raises ``ImageNotFoundError`` or
    ``ImageLoadError`` naming the path.

    Examples
    --------
    >>> load_any_image("coins").shape
    (303, 384, 3)
    """
    if isinstance(image, np.ndarray):
        return check_image(image, name=name)
    if isinstance(image, str | os.PathLike):
        from imgsim_helpers.images.data import get_image

        return get_image(image)
    raise InvalidParameterError(
        f"{name} must be an RGB array, a course image name or a file path; got {type(image).__name__}"
    )


def generate_score(image1, image2, model: EmbeddingModel) -> float:
    """The classic ``generateScore`` done right: the cosine similarity of two images.

    Differences from :class:`ClassicScript`:

    * it uses its arguments — arrays, course image names or file paths;
    * files are read with :func:`imgsim_helpers.images.io.load_image`: a missing or
      broken file raises an error naming it, EXIF orientation is applied,
      transparency is composited on white, and the pixels are **RGB**;
    * the preprocessing is the model's own, through :func:`embed_images`,
      and both images go through the model in one batch;
    * it returns the **cosine**, a number in [-1, 1], not "percent". To say
      how unusual a score is, rank it among reference pairs with
      :func:`cosine_percentile` (for example all pairs of a gallery from
      :func:`pairwise_cosines`).

    Parameters
    ----------
    image1, image2
        RGB arrays (gray and RGBA are converted), course image names, or paths.
    model
        From :func:`load_clip` (or any image embedding model of the course).

    Returns
    -------
    float
        The cosine similarity of the two embeddings.

    Raises
    ------
    ImageNotFoundError, ImageLoadError
        A path that does not exist or is not a readable image.
    InvalidParameterError
        ``model`` is not an embedding model.

    Examples
    --------
    >>> model = load_clip()  # doctest: +SKIP
    >>> cosine = generate_score("chelsea", "chelsea_exif", model)  # doctest: +SKIP
    >>> cosine_percentile(cosine, pairwise_cosines(gallery_embeddings))  # doctest: +SKIP
    100.0
    """
    if not isinstance(model, EmbeddingModel):
        raise InvalidParameterError(
            f"model must be an EmbeddingModel from load_clip(); got {type(model).__name__} "
            "(the argument order is generate_score(image1, image2, model))"
        )
    a = load_any_image(image1, name="image1")
    b = load_any_image(image2, name="image2")
    e = embed_images(model, [a, b], progress=False)
    return float(np.clip(np.dot(e[0].astype(np.float64), e[1].astype(np.float64)), -1.0, 1.0))


# --------------------------------------------------------------------------- two CLIP set-ups


def clip_setups(model: str = CLIP_MODEL, pretrained: str = CLIP_PRETRAINED) -> dict[str, dict[str, str]]:
    """What differs between ``load_clip(model, pretrained)`` and ``SentenceTransformer("clip-ViT-B-32")``.

    Read without loading either model (the open_clip side from open_clip's
    own configuration, the sentence-transformers side from its published
    model card and preprocessor configuration).

    Examples
    --------
    >>> rows = clip_setups()
    >>> rows["input"]["open_clip"], rows["embedding size"]["sentence-transformers"]
    ('240×240 (shorter side to 240, bicubic, centre crop)', '512')
    """
    import open_clip

    config = open_clip.get_model_config(model)
    if config is None:
        from imgsim_helpers.core.errors import unknown_name

        raise unknown_name("open_clip model", model, open_clip.list_models())
    pp = clip_preprocess(model, pretrained)
    resize = "shorter side to" if pp.mode == "shortest" else "squashed to"
    return {
        "library": {"open_clip": "open_clip (load_clip)", "sentence-transformers": f"sentence-transformers ({SENTENCE_CLIP})"},
        "architecture": {"open_clip": model, "sentence-transformers": "ViT-B/32"},
        "weights": {
            "open_clip": f"{pretrained} (OpenCLIP)",
            "sentence-transformers": "OpenAI CLIP (openai/clip-vit-base-patch32)",
        },
        "training pairs": {
            "open_clip": "LAION-400M" if pretrained.startswith("laion400m") else pretrained,
            "sentence-transformers": "OpenAI's 400M web image-text pairs (WIT)",
        },
        "input": {
            "open_clip": f"{pp.crop}×{pp.crop} ({resize} {pp.size}, {pp.interpolation}, centre crop)",
            "sentence-transformers": "224×224 (shorter side to 224, bicubic, centre crop)",
        },
        "embedding size": {"open_clip": str(int(config["embed_dim"])), "sentence-transformers": "512"},
        "images given as": {
            "open_clip": "RGB NumPy arrays (embed_images)",
            "sentence-transformers": "PIL images to model.encode (RGB only if you made them RGB)",
        },
    }
