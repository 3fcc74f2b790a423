"""Learning a similarity: Siamese networks, pair and triplet sampling, and one-shot evaluation.

A Siamese network is one embedding network applied to two (or three) inputs
with the same weights; training moves embeddings of the same class together
and of different classes apart, so a distance between embeddings becomes a
similarity that also works for classes never seen in training.

This module holds every piece the course's notebook 07 uses:

* **samplers** — balanced pairs (:func:`sample_pairs`), triplets with random
  or hard negatives (:func:`sample_triplets`), and class-balanced batches of
  P classes × K samples (:func:`pk_batches`) for mining inside a batch;
* **losses** (torch) — :func:`contrastive_loss`, :func:`triplet_loss`, and
  :func:`batch_loss`, which picks pairs or triplets inside a P×K batch,
  randomly or batch-hard (the hardest positive and the hardest negative of
  each anchor);
* **networks** — :class:`EmbeddingNet`, a small CNN for gray images, and
  :class:`EmbeddingHead`, a residual MLP over precomputed embeddings that
  starts as the identity; both return L2-normalised vectors;
* **training** — :func:`train_siamese`: seeded, reproducible on the CPU, a
  tqdm progress bar, early stopping on a validation metric, best weights
  restored; each batch moves to the device once;
* **evaluation** — :func:`roc_curve`, :func:`roc_auc`,
  :func:`equal_error_rate`, :func:`verification_accuracy`,
  :func:`pair_scores` and :func:`n_way_one_shot_accuracy`, which work on any
  vectors (learned embeddings or raw pixels), plus :func:`pca_project` for
  a 2-D picture of an embedding.

Distances are Euclidean distances between unit vectors, ``d = sqrt(2 - 2 cos)``,
so a margin of 0.5 means the same thing for every network. Scores are
similarities (higher = more alike): cosine, or minus the Euclidean distance.

Examples
--------
>>> labels = np.array([0, 0, 1, 1, 2, 2])
>>> first, second, same = sample_pairs(labels, 4, seed=0)
>>> same.tolist()
[True, True, False, False]
>>> bool((labels[first] == labels[second]).tolist() == same.tolist())
True
"""

from __future__ import annotations

import contextlib
import copy
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from imgsim_helpers.core.device import resolve_device
from imgsim_helpers.core.errors import (
    EmptyInputError,
    InvalidImageError,
    InvalidParameterError,
    ShapeMismatchError,
    unknown_name,
)
from imgsim_helpers.images.io import to_rgb
from imgsim_helpers.images.transforms import TRANSFORMS, apply_transform

LOSSES = ("triplet", "contrastive")
MININGS = ("batch_hard", "random")
METRICS = ("cosine", "euclidean")
VALIDATION_METRICS = ("auc", "one_shot")
NEGATIVES = ("random", "hard")
# the edits a near-duplicate may have gone through (keys of transforms.TRANSFORMS)
NEAR_DUPLICATE_EDITS = (
    "rotate", "scale", "crop", "flip", "blur", "noise", "jpeg", "brightness", "contrast", "text_overlay", "shift",
)


# --------------------------------------------------------------------------- checks


def _int(value, name: str, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        raise InvalidParameterError(f"{name} must be an integer >= {low}; got {value!r}")
    return int(value)


def _number(value, name: str, low: float = 0.0, high: float = np.inf, *, open_low: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise InvalidParameterError(f"{name} must be a number; got {value!r}")
    value = float(value)
    if not np.isfinite(value) or value < low or value > high or (open_low and value == low):
        bound = f"({low}, {high}]" if open_low else f"[{low}, {high}]"
        raise InvalidParameterError(f"{name} must lie in {bound}; got {value!r}")
    return value


def _seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise InvalidParameterError(f"seed must be a non-negative integer; got {seed!r}")
    return int(seed)


def _labels(labels, name: str = "labels", *, min_classes: int = 1) -> np.ndarray:
    array = np.asarray(labels)
    if array.ndim != 1:
        raise InvalidParameterError(f"{name} must be 1-D (one class label per item); got shape {array.shape}")
    if array.size == 0:
        raise EmptyInputError(f"{name} is empty; give at least one labelled item")
    if array.dtype == object or array.dtype.kind not in "iub":
        raise InvalidParameterError(
            f"{name} must hold integer class labels; got dtype {array.dtype} "
            "(map names to integers first, for example with np.unique(..., return_inverse=True))"
        )
    n_classes = np.unique(array).size
    if n_classes < min_classes:
        raise InvalidParameterError(
            f"{name} holds {n_classes} class(es); this needs at least {min_classes} different classes"
        )
    return array.astype(np.int64, copy=False)


def _vectors(x, name: str = "embeddings") -> np.ndarray:
    array = np.asarray(x)
    if array.dtype == object or array.dtype.kind not in "iuf":
        raise InvalidParameterError(f"{name} must be a numeric array; got dtype {array.dtype}")
    if array.ndim == 0 or array.shape[0] == 0:
        raise EmptyInputError(f"{name} holds no items (shape {array.shape})")
    array = array.reshape(array.shape[0], -1)  # images become pixel vectors
    if array.shape[1] == 0:
        raise InvalidParameterError(f"{name} has items of dimension 0 (shape {array.shape})")
    if not np.isfinite(array).all():
        raise InvalidParameterError(f"{name} contains NaN or infinite values")
    return array.astype(np.float64 if array.dtype == np.float64 else np.float32, copy=False)


def _same_length(a, b, names: tuple[str, str]) -> None:
    if len(a) != len(b):
        raise ShapeMismatchError(
            f"{names[0]} has {len(a)} items but {names[1]} has {len(b)}; give one label per item"
        )


def _scored(scores, same) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(scores, dtype=np.float64).ravel()
    y = np.asarray(same)
    if s.size == 0 and y.size == 0:
        raise EmptyInputError("no scores given; evaluate at least one positive and one negative pair")
    if y.dtype == object or y.dtype.kind not in "biu":
        raise InvalidParameterError(f"same must be booleans (or 0/1); got dtype {y.dtype}")
    y = y.ravel()
    _same_length(s, y, ("scores", "same"))
    if s.size == 0:
        raise EmptyInputError("no scores given; evaluate at least one positive and one negative pair")
    if not np.isfinite(s).all():
        raise InvalidParameterError("scores contain NaN or infinite values")
    if y.dtype.kind != "b" and not np.isin(y, (0, 1)).all():
        raise InvalidParameterError("same must hold only 0/1 or True/False")
    y = y.astype(bool)
    if y.all() or not y.any():
        raise InvalidParameterError(
            f"ROC analysis needs both positive and negative pairs; got {int(y.sum())} positive "
            f"and {int((~y).sum())} negative"
        )
    return s, y


# --------------------------------------------------------------------------- samplers


def _class_index(labels: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    classes, inverse = np.unique(labels, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    members = np.split(order, np.cumsum(np.bincount(inverse))[:-1])
    return classes, members


def sample_pairs(
    labels, n_pairs: int, *, positive_fraction: float = 0.5, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw index pairs, a chosen fraction from the same class and the rest from different classes.

    Positives are two different items of one class (the class drawn uniformly
    among classes with at least two items); negatives are items of two
    different classes (classes drawn uniformly). The positives come first.

    Parameters
    ----------
    labels
        One integer class label per item.
    n_pairs
        How many pairs.
    positive_fraction
        Share of same-class pairs; 0.5 (default) gives a balanced set.
    seed
        Seed of the generator: the same seed draws the same pairs.

    Returns
    -------
    (first, second, same)
        Two index arrays and a boolean array, each of length ``n_pairs``.

    Raises
    ------
    EmptyInputError
        ``labels`` is empty.
    InvalidParameterError
        Fewer than 2 classes; positives asked for but no class has 2 items.

    Examples
    --------
    >>> first, second, same = sample_pairs([0, 0, 1, 1], 6, seed=1)
    >>> int(same.sum()), bool((first != second).all())
    (3, True)
    """
    labels = _labels(labels, min_classes=2)
    n_pairs = _int(n_pairs, "n_pairs")
    positive_fraction = _number(positive_fraction, "positive_fraction", 0.0, 1.0)
    rng = np.random.default_rng(_seed(seed))
    classes, members = _class_index(labels)
    sizes = np.array([m.size for m in members])
    n_pos = int(round(n_pairs * positive_fraction))
    pairable = np.flatnonzero(sizes >= 2)
    if n_pos and pairable.size == 0:
        raise InvalidParameterError(
            "no class has two items, so no same-class pair exists; give several items per class "
            "or positive_fraction=0"
        )
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    by_class = np.concatenate(members)

    def pick(cls, offset):  # the offset-th member of class cls, vectorised
        return by_class[starts[cls] + offset]

    pos_cls = pairable[rng.integers(0, pairable.size, n_pos)]
    a = (rng.random(n_pos) * sizes[pos_cls]).astype(np.int64)
    # a second, different member: shift by 1..size-1 around the class
    b = (a + 1 + (rng.random(n_pos) * (sizes[pos_cls] - 1)).astype(np.int64)) % sizes[pos_cls]
    n_neg = n_pairs - n_pos
    c1 = rng.integers(0, classes.size, n_neg)
    c2 = (c1 + rng.integers(1, classes.size, n_neg)) % classes.size
    n1 = (rng.random(n_neg) * sizes[c1]).astype(np.int64)
    n2 = (rng.random(n_neg) * sizes[c2]).astype(np.int64)
    first = np.concatenate([pick(pos_cls, a), pick(c1, n1)])
    second = np.concatenate([pick(pos_cls, b), pick(c2, n2)])
    same = np.concatenate([np.ones(n_pos, bool), np.zeros(n_neg, bool)])
    return first, second, same


def sample_triplets(
    labels,
    n_triplets: int,
    *,
    negatives: str = "random",
    embeddings=None,
    candidates: int | None = None,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw (anchor, positive, negative) index triplets.

    Parameters
    ----------
    labels
        One integer class label per item.
    n_triplets
        How many triplets.
    negatives
        ``"random"``: any item of another class. ``"hard"``: the item of
        another class whose embedding is closest to the anchor's — among
        ``candidates`` random ones, or among all when ``candidates`` is
        ``None``. Hard negatives teach more per triplet, but the very hardest
        can be mislabelled or near-duplicates; a few candidates is a common
        middle ground.
    embeddings
        ``(N, D)`` vectors, needed for ``negatives="hard"``.
    candidates
        Pool size for hard negatives (``None``: every other-class item).
    seed
        Seed of the generator.

    Returns
    -------
    (anchor, positive, negative)
        Index arrays of length ``n_triplets``; ``anchor != positive``, the
        positive shares the anchor's class and the negative does not.

    Raises
    ------
    EmptyInputError
        ``labels`` is empty.
    InvalidParameterError
        Fewer than 2 classes, no class with 2 items, ``negatives="hard"``
        without embeddings, an unknown option.
    ShapeMismatchError
        ``embeddings`` and ``labels`` differ in length.

    Examples
    --------
    >>> labels = np.array([0, 0, 1, 1, 2, 2])
    >>> emb = np.array([[0.0], [0.1], [0.2], [5.0], [9.0], [9.5]])
    >>> a, p, n = sample_triplets(labels, 3, negatives="hard", embeddings=emb, seed=0)
    >>> bool((labels[a] == labels[p]).all() and (labels[a] != labels[n]).all())
    True
    """
    if negatives not in NEGATIVES:
        raise unknown_name("negatives", negatives, NEGATIVES)
    labels = _labels(labels, min_classes=2)
    n_triplets = _int(n_triplets, "n_triplets")
    first, second, _ = sample_pairs(labels, n_triplets, positive_fraction=1.0, seed=seed)
    rng = np.random.default_rng([_seed(seed), 1])  # a stream independent of the pairs'
    if negatives == "random":
        pool = 1
    else:
        if embeddings is None:
            raise InvalidParameterError("negatives='hard' needs embeddings=(N, D) vectors to find the closest negatives")
        vectors = _vectors(embeddings)
        _same_length(vectors, labels, ("embeddings", "labels"))
        pool = None if candidates is None else _int(candidates, "candidates")
    anchor_class = labels[first]
    if pool is None:
        d = _euclidean(vectors[first], vectors)
        d[labels[None, :] == anchor_class[:, None]] = np.inf
        negative = d.argmin(axis=1)
        return first, second, negative
    # draw `pool` other-class items per anchor by rejection; a few rounds suffice
    # since at least half of the items lie in other classes for most label sets
    cand = rng.integers(0, labels.size, (n_triplets, pool))
    bad = labels[cand] == anchor_class[:, None]
    for _ in range(64):
        if not bad.any():
            break
        cand[bad] = rng.integers(0, labels.size, int(bad.sum()))
        bad = labels[cand] == anchor_class[:, None]
    if bad.any():  # a dominant class: fall back to an exact draw for what is left
        for row, col in zip(*np.nonzero(bad), strict=True):
            others = np.flatnonzero(labels != anchor_class[row])
            cand[row, col] = others[rng.integers(0, others.size)]
    if pool == 1:
        return first, second, cand[:, 0]
    d = np.linalg.norm(vectors[cand] - vectors[first][:, None, :], axis=2)
    return first, second, cand[np.arange(n_triplets), d.argmin(axis=1)]


def pk_batches(
    labels, *, classes_per_batch: int, samples_per_class: int, n_batches: int, seed: int = 0
) -> Iterator[np.ndarray]:
    """Yield index batches of P classes × K items each, for mining pairs and triplets inside a batch.

    Classes are drawn without replacement within a batch; items without
    replacement within a class when it has K or more, else with replacement.

    Examples
    --------
    >>> labels = np.repeat(np.arange(10), 5)
    >>> batch = next(pk_batches(labels, classes_per_batch=4, samples_per_class=3, n_batches=1))
    >>> batch.shape, np.unique(labels[batch]).size
    ((12,), 4)
    """
    labels = _labels(labels, min_classes=2)
    p = _int(classes_per_batch, "classes_per_batch", 2)
    k = _int(samples_per_class, "samples_per_class", 2)
    n_batches = _int(n_batches, "n_batches")
    classes, members = _class_index(labels)
    if p > classes.size:
        raise InvalidParameterError(
            f"classes_per_batch={p} but the labels hold only {classes.size} classes; lower it"
        )
    rng = np.random.default_rng(_seed(seed))
    for _ in range(n_batches):
        chosen = rng.choice(classes.size, p, replace=False)
        parts = []
        for c in chosen:  # P small draws; the items themselves are indexed in one go
            m = members[c]
            parts.append(m[rng.choice(m.size, k, replace=m.size < k)])
        yield np.concatenate(parts)


# --------------------------------------------------------------------------- losses (torch)


def _distance(a, b):
    """Euclidean distance row by row, with a gradient that stays finite at zero distance."""
    return torch.sqrt(torch.clamp(((a - b) ** 2).sum(dim=-1), min=1e-12))


def _distance_matrix(x):
    squared = (x * x).sum(dim=1)
    d2 = squared[:, None] + squared[None, :] - 2.0 * (x @ x.T)
    return torch.sqrt(torch.clamp(d2, min=1e-12))


def contrastive_loss(first, second, same, *, margin: float = 0.5):
    """Contrastive loss (Hadsell, Chopra & LeCun 2006) of embedding pairs.

    ``mean( y·d² + (1−y)·max(0, margin − d)² )`` with ``d`` the Euclidean
    distance of a pair and ``y`` 1 for same-class pairs: positives are pulled
    together, negatives pushed apart until they are ``margin`` away.

    Examples
    --------
    >>> import torch
    >>> a = torch.tensor([[0.0, 0.0], [0.0, 0.0]])
    >>> b = torch.tensor([[0.3, 0.4], [0.3, 0.0]])
    >>> round(float(contrastive_loss(a, b, torch.tensor([1.0, 0.0]), margin=0.5)), 4)
    0.145
    """
    margin = _number(margin, "margin", 0.0, open_low=True)
    if first.shape != second.shape or first.shape[0] != len(same):
        raise ShapeMismatchError(
            f"contrastive_loss needs two (N, D) tensors and N flags; got {tuple(first.shape)}, "
            f"{tuple(second.shape)} and {len(same)} flags"
        )
    y = torch.as_tensor(same, dtype=first.dtype, device=first.device)
    d = _distance(first, second)
    return (y * d**2 + (1 - y) * torch.clamp(margin - d, min=0) ** 2).mean()


def triplet_loss(anchor, positive, negative, *, margin: float = 0.2):
    """Triplet loss with plain distances: ``mean(max(0, d(a,p) − d(a,n) + margin))``.

    This is the form of Hermans, Beyer & Leibe (2017), with Euclidean
    distances as they are; FaceNet (Schroff, Kalenichenko & Philbin 2015)
    introduced the triplet loss with *squared* distances, ``d² (a,p) − d²(a,n)
    + margin``. Zero once every negative is at least ``margin`` further from
    its anchor than the positive.

    Examples
    --------
    >>> import torch
    >>> a, p, n = torch.zeros(1, 2), torch.tensor([[0.1, 0.0]]), torch.tensor([[1.0, 0.0]])
    >>> float(triplet_loss(a, p, n, margin=0.2)), round(float(triplet_loss(a, n, p, margin=0.2)), 4)
    (0.0, 1.1)
    """
    margin = _number(margin, "margin", 0.0, open_low=True)
    if not (anchor.shape == positive.shape == negative.shape):
        raise ShapeMismatchError(
            f"triplet_loss needs three tensors of one shape; got {tuple(anchor.shape)}, "
            f"{tuple(positive.shape)}, {tuple(negative.shape)}"
        )
    return torch.clamp(_distance(anchor, positive) - _distance(anchor, negative) + margin, min=0).mean()


def batch_loss(
    embeddings, labels, *, loss: str = "triplet", mining: str = "batch_hard", margin: float = 0.2, generator=None
):
    """The loss of a P×K batch, with the pairs or triplets chosen inside the batch.

    Parameters
    ----------
    embeddings
        ``(B, D)`` tensor.
    labels
        ``(B,)`` integer tensor.
    loss
        ``"triplet"`` or ``"contrastive"``.
    mining
        ``"batch_hard"`` (Hermans, Beyer & Leibe 2017): for each anchor, its
        furthest positive and its closest negative in the batch.
        ``"random"``: a random positive and a random negative per anchor.
    margin
        The loss's margin, in Euclidean distance between unit vectors (0..2).
    generator
        A ``torch.Generator`` for ``mining="random"`` (reproducible draws).

    Examples
    --------
    >>> import torch
    >>> e = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    >>> float(batch_loss(e, torch.tensor([0, 0, 1, 1]), margin=0.5))
    0.0
    """
    if loss not in LOSSES:
        raise unknown_name("loss", loss, LOSSES)
    if mining not in MININGS:
        raise unknown_name("mining", mining, MININGS)
    margin = _number(margin, "margin", 0.0, open_low=True)
    if embeddings.ndim != 2 or labels.ndim != 1 or embeddings.shape[0] != labels.shape[0]:
        raise ShapeMismatchError(
            f"batch_loss needs (B, D) embeddings and B labels; got {tuple(embeddings.shape)} "
            f"and {tuple(labels.shape)}"
        )
    d = _distance_matrix(embeddings)
    same = labels[:, None] == labels[None, :]
    eye = torch.eye(len(labels), dtype=torch.bool, device=labels.device)
    pos_mask, neg_mask = same & ~eye, ~same
    valid = pos_mask.any(dim=1) & neg_mask.any(dim=1)
    if not bool(valid.any()):
        raise InvalidParameterError(
            "the batch has no anchor with both a positive and a negative; use P>=2 classes and K>=2 items per class"
        )
    if mining == "batch_hard":
        d_pos = torch.where(pos_mask, d, torch.full_like(d, -1.0)).max(dim=1).values
        d_neg = torch.where(neg_mask, d, torch.full_like(d, 1e9)).min(dim=1).values
    else:
        # a random member of each mask: argmax of uniform noise restricted to the mask
        noise = torch.rand(d.shape, generator=generator, device="cpu").to(d.device)
        pick_pos = torch.where(pos_mask, noise, torch.full_like(noise, -1.0)).argmax(dim=1)
        pick_neg = torch.where(neg_mask, noise, torch.full_like(noise, -1.0)).argmax(dim=1)
        rows = torch.arange(len(labels), device=d.device)
        d_pos, d_neg = d[rows, pick_pos], d[rows, pick_neg]
    d_pos, d_neg = d_pos[valid], d_neg[valid]
    if loss == "triplet":
        return torch.clamp(d_pos - d_neg + margin, min=0).mean()
    # contrastive on the same choice: each anchor contributes one positive and one negative pair
    return 0.5 * (d_pos**2).mean() + 0.5 * (torch.clamp(margin - d_neg, min=0) ** 2).mean()


# --------------------------------------------------------------------------- networks


@contextlib.contextmanager
def _seeded(seed: int | None):
    """Draw weight initialisations from ``seed`` without touching the global torch generator."""
    if seed is None:
        yield
        return
    seed = _seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


class EmbeddingNet(nn.Module):
    """A small CNN that maps a gray (or C-channel) image to a unit vector.

    Three blocks of 3×3 convolution, batch normalisation, ReLU and 2×2 max
    pooling (``width``, 2·``width``, 4·``width`` channels), an adaptive
    pool to 3×3 (so any input of 12 px or more works), and a linear layer
    to ``dim``. About 170 thousand parameters at the defaults: it trains
    on a laptop CPU in a minute or two.

    Parameters
    ----------
    in_channels
        1 for gray images.
    dim
        Length of the embedding.
    width
        Channels of the first block.
    seed
        Seed of the weight initialisation (``None``: torch's global RNG).

    Examples
    --------
    >>> import torch
    >>> net = EmbeddingNet(dim=16)
    >>> out = net(torch.zeros(2, 1, 28, 28))
    >>> tuple(out.shape), bool(torch.allclose(out.norm(dim=1), torch.ones(2)))
    ((2, 16), True)
    """

    def __init__(self, *, in_channels: int = 1, dim: int = 64, width: int = 32, seed: int | None = 0):
        super().__init__()
        in_channels = _int(in_channels, "in_channels")
        self.dim = _int(dim, "dim")
        width = _int(width, "width")
        layers = []
        channels = in_channels
        with _seeded(seed):
            for out in (width, 2 * width, 4 * width):
                layers += [
                    nn.Conv2d(channels, out, 3, padding=1, bias=False),
                    nn.BatchNorm2d(out),
                    nn.ReLU(inplace=True),
                    nn.MaxPool2d(2, ceil_mode=True),
                ]
                channels = out
            self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(3), nn.Flatten())
            self.project = nn.Linear(channels * 9, self.dim)

    def forward(self, x):
        if x.ndim == 3:
            x = x.unsqueeze(1)
        return nn.functional.normalize(self.project(self.features(x)), dim=1)


class EmbeddingHead(nn.Module):
    """A residual MLP over precomputed embeddings: ``normalise(x + MLP(x))``.

    The MLP's last layer starts at zero, so before training the head
    returns its (normalised) input and cosine similarities are exactly
    those of the pretrained embedding; training learns only a correction.

    Examples
    --------
    >>> import torch
    >>> head = EmbeddingHead(8, hidden=4)
    >>> x = torch.nn.functional.normalize(torch.randn(3, 8), dim=1)
    >>> bool(torch.allclose(head(x), x, atol=1e-6))
    True
    """

    def __init__(self, in_dim: int, *, hidden: int = 256, seed: int | None = 0):
        super().__init__()
        self.dim = _int(in_dim, "in_dim")
        hidden = _int(hidden, "hidden")
        with _seeded(seed):
            self.mlp = nn.Sequential(nn.Linear(self.dim, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, self.dim))
        nn.init.zeros_(self.mlp[-1].weight)
        nn.init.zeros_(self.mlp[-1].bias)

    def forward(self, x):
        x = nn.functional.normalize(x.flatten(1), dim=1)
        return nn.functional.normalize(x + self.mlp(x), dim=1)



# --------------------------------------------------------------------------- training


@dataclass
class TrainingHistory:
    """What :func:`train_siamese` did, epoch by epoch.

    Attributes
    ----------
    losses
        Mean training loss of each epoch.
    step_losses
        The loss of every batch.
    validation
        The validation metric after each epoch (empty without validation data).
    metric
        Name of the validation metric.
    best_epoch
        Epoch (0-based) whose weights the model holds at the end.
    stopped_early
        Whether training stopped before ``epochs`` for lack of progress.
    seconds
        Wall time of the training loop.
    """

    losses: list[float] = field(default_factory=list)
    step_losses: list[float] = field(default_factory=list)
    validation: list[float] = field(default_factory=list)
    metric: str = "auc"
    best_epoch: int = -1
    stopped_early: bool = False
    seconds: float = 0.0

    @property
    def epochs(self) -> int:
        return len(self.losses)


def _as_tensor(inputs, name: str):
    array = np.asarray(inputs)
    if array.dtype == object or array.dtype.kind not in "iufb":
        raise InvalidParameterError(f"{name} must be a numeric array; got dtype {array.dtype}")
    if array.ndim < 2 or array.shape[0] == 0:
        raise EmptyInputError(f"{name} must hold at least one item (N, ...); got shape {array.shape}")
    if not np.isfinite(array).all():
        raise InvalidParameterError(f"{name} contains NaN or infinite values")
    return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))


def embed(model, inputs, *, batch_size: int = 512, device: str = "auto") -> np.ndarray:
    """Run ``model`` over ``inputs`` in evaluation mode and return the embeddings as ``float32`` NumPy.

    Examples
    --------
    >>> net = EmbeddingNet(dim=8)
    >>> embed(net, np.zeros((3, 28, 28), np.float32), device="cpu").shape
    (3, 8)
    """
    x = _as_tensor(inputs, "inputs")
    batch_size = _int(batch_size, "batch_size")
    dev = resolve_device(device)
    model.to(dev)
    was_training = model.training
    model.eval()
    out = []
    with torch.inference_mode():
        for start in range(0, len(x), batch_size):
            out.append(model(x[start : start + batch_size].to(dev)).float().cpu())
    model.train(was_training)
    return torch.cat(out).numpy()


def _validation_score(model, inputs, labels, metric: str, device: str, seed: int) -> float:
    vectors = embed(model, inputs, device=device)
    if metric == "auc":
        scores, same = pair_scores(vectors, labels)
        return roc_auc(scores, same)
    n_way = min(5, np.unique(labels).size)
    return n_way_one_shot_accuracy(vectors, labels, n_way=n_way, episodes=500, seed=seed)


def _check_channels_first(model, inputs: torch.Tensor, name: str) -> None:
    """Refuse images laid out (N, H, W, C), the layout of NumPy/PIL images, before the network sees them."""
    conv = next((m for m in model.modules() if isinstance(m, nn.Conv2d)), None)
    if conv is None or inputs.ndim != 4 or inputs.shape[1] == conv.in_channels:
        return
    hint = ""
    if inputs.shape[3] == conv.in_channels or inputs.shape[3] in (1, 3, 4):
        hint = (f"; these look channels-last (N, H, W, C), the layout of NumPy images: convert with "
                f"np.moveaxis({name.split()[0]}, -1, 1), and scale uint8 images to [0, 1] with / 255")
    raise InvalidImageError(
        f"{name} must be (N, C, H, W) with C = {conv.in_channels} (the model's input channels) or (N, H, W) "
        f"gray; got shape {tuple(inputs.shape)}{hint}"
    )


# Training needs autograd whatever the caller's mode: a notebook or benchmark that runs it under
# torch.no_grad() or torch.inference_mode() would otherwise fail at backward(), far from the cause.
@torch.inference_mode(False)
@torch.enable_grad()
def train_siamese(
    model,
    inputs,
    labels,
    *,
    validation: tuple | None = None,
    loss: str = "triplet",
    mining: str = "batch_hard",
    margin: float = 0.2,
    epochs: int = 20,
    steps_per_epoch: int | None = None,
    classes_per_batch: int = 32,
    samples_per_class: int = 4,
    lr: float = 3e-3,
    weight_decay: float = 1e-4,
    patience: int = 3,
    min_delta: float = 1e-4,
    metric: str = "auc",
    augment: Callable | None = None,
    seed: int = 0,
    device: str = "auto",
    progress: bool = True,
) -> TrainingHistory:
    """Train an embedding network on P×K batches, with early stopping on a validation metric.

    Each step draws P classes × K items (:func:`pk_batches`), moves the batch
    to ``device`` in one transfer, embeds it and minimises :func:`batch_loss`.
    Adam with a cosine learning-rate decay over ``epochs``. After each epoch
    the validation set (classes *not* in training, for a one-shot model) is
    embedded and scored; training stops when the score has not improved by
    ``min_delta`` for ``patience`` epochs, and the model ends with the
    weights of its best epoch.

    Parameters
    ----------
    model
        A torch module returning ``(B, D)`` embeddings (:class:`EmbeddingNet`,
        :class:`EmbeddingHead` ...); trained in place.
    inputs
        ``(N, H, W)`` gray images, ``(N, C, H, W)`` images or ``(N, D)`` vectors.
    labels
        ``(N,)`` integer classes.
    validation
        ``(inputs, labels)`` held out, or ``None`` (then no early stopping).
    loss, mining, margin
        As for :func:`batch_loss`.
    epochs
        Most epochs to run.
    steps_per_epoch
        Batches per epoch (default: enough to show every item about once).
    classes_per_batch, samples_per_class
        P and K (clipped to the number of classes available).
    lr, weight_decay
        Adam's settings.
    patience, min_delta
        Early stopping: epochs without an improvement of at least ``min_delta``.
    metric
        ``"auc"`` (verification ROC AUC over all validation pairs) or
        ``"one_shot"`` (5-way one-shot accuracy, 500 fixed episodes).
    augment
        Optional ``augment(batch, generator) -> batch`` applied to each
        training batch on the device (``generator`` is a seeded CPU
        ``torch.Generator``: draw on the CPU, then move the draws).
    seed
        Seeds the batch order, random mining and ``augment``: on the CPU the
        same seed and the same initial weights give the same losses.
    device
        ``"auto"``, ``"cpu"`` or ``"cuda"`` (:func:`imgsim_helpers.core.device.resolve_device`).
    progress
        Show a tqdm progress bar over epochs.

    Returns
    -------
    TrainingHistory

    Raises
    ------
    EmptyInputError, InvalidParameterError, ShapeMismatchError
        Empty data, fewer than 2 classes, lengths that differ, bad options.
    InvalidImageError
        4-D images whose second axis is not the model's input channels, such as
        channels-last (N, H, W, C) arrays (the message says how to convert them).

    Examples
    --------
    >>> labels = np.repeat(np.arange(4), 4)
    >>> images = np.random.default_rng(0).random((16, 16, 16)).astype(np.float32)
    >>> hist = train_siamese(EmbeddingNet(dim=8, width=4), images, labels, epochs=2,
    ...                      classes_per_batch=2, samples_per_class=2, device="cpu", progress=False)
    >>> hist.epochs
    2
    """
    from tqdm.auto import tqdm

    if loss not in LOSSES:
        raise unknown_name("loss", loss, LOSSES)
    if mining not in MININGS:
        raise unknown_name("mining", mining, MININGS)
    if metric not in VALIDATION_METRICS:
        raise unknown_name("validation metric", metric, VALIDATION_METRICS)
    margin = _number(margin, "margin", 0.0, open_low=True)
    epochs = _int(epochs, "epochs")
    patience = _int(patience, "patience")
    lr = _number(lr, "lr", 0.0, open_low=True)
    weight_decay = _number(weight_decay, "weight_decay")
    min_delta = _number(min_delta, "min_delta")
    seed = _seed(seed)
    x = _as_tensor(inputs, "inputs")
    _check_channels_first(model, x, "inputs")
    y_np = _labels(labels, min_classes=2)
    _same_length(x, y_np, ("inputs", "labels"))
    n_classes = np.unique(y_np).size
    p = min(_int(classes_per_batch, "classes_per_batch", 2), n_classes)
    k = _int(samples_per_class, "samples_per_class", 2)
    steps = _int(steps_per_epoch, "steps_per_epoch") if steps_per_epoch is not None else max(1, len(y_np) // (p * k))
    if validation is not None:
        if not isinstance(validation, tuple | list) or len(validation) != 2:
            raise InvalidParameterError("validation must be an (inputs, labels) pair or None")
        val_x = _as_tensor(validation[0], "validation inputs")
        _check_channels_first(model, val_x, "validation inputs")
        val_x = val_x.numpy()
        val_y = _labels(validation[1], "validation labels", min_classes=2)
        _same_length(val_x, val_y, ("validation inputs", "validation labels"))
    dev = resolve_device(device)
    y = torch.from_numpy(y_np)

    model.to(dev)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=epochs * steps)
    generator = torch.Generator().manual_seed(seed)
    batches = pk_batches(y_np, classes_per_batch=p, samples_per_class=k, n_batches=epochs * steps, seed=seed)
    history = TrainingHistory(metric=metric)
    best_score, best_state, waited = -np.inf, None, 0
    start = time.perf_counter()
    bar = tqdm(range(epochs), desc="training", unit="epoch", disable=not progress)
    for epoch in bar:
        model.train()
        epoch_losses = []
        for _ in range(steps):
            index = torch.from_numpy(next(batches))
            xb, yb = x[index].to(dev, non_blocking=True), y[index].to(dev, non_blocking=True)
            if augment is not None:
                xb = augment(xb, generator)
            value = batch_loss(model(xb), yb, loss=loss, mining=mining, margin=margin, generator=generator)
            optimiser.zero_grad(set_to_none=True)
            value.backward()
            optimiser.step()
            schedule.step()
            epoch_losses.append(float(value.detach()))
        history.step_losses += epoch_losses
        history.losses.append(float(np.mean(epoch_losses)))
        status = {"loss": f"{history.losses[-1]:.4f}"}
        if validation is not None:
            score = _validation_score(model, val_x, val_y, metric, dev, seed)
            history.validation.append(score)
            status[metric] = f"{score:.4f}"
            if score > best_score + min_delta:
                best_score, waited, history.best_epoch = score, 0, epoch
                best_state = copy.deepcopy(model.state_dict())
            else:
                waited += 1
        else:
            history.best_epoch = epoch
        bar.set_postfix(status)
        if validation is not None and waited >= patience:
            history.stopped_early = epoch < epochs - 1
            break
    bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    history.seconds = time.perf_counter() - start
    return history


# --------------------------------------------------------------------------- evaluation


def _euclidean(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d2 = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * (a @ b.T)
    return np.sqrt(np.maximum(d2, 0.0))


def similarity_matrix(a, b=None, *, metric: str = "cosine") -> np.ndarray:
    """Similarity of every row of ``a`` with every row of ``b`` (default ``a``): cosine or −Euclidean.

    Images are flattened into pixel vectors, so raw pixels are a baseline.

    Examples
    --------
    >>> similarity_matrix(np.array([[1.0, 0.0], [0.0, 2.0]]), metric="euclidean").tolist()
    [[-0.0, -2.23606797749979], [-2.23606797749979, -0.0]]
    """
    if metric not in METRICS:
        raise unknown_name("metric", metric, METRICS)
    a = _vectors(a, "a").astype(np.float64)
    b = a if b is None else _vectors(b, "b").astype(np.float64)
    if a.shape[1] != b.shape[1]:
        raise ShapeMismatchError(f"a has dimension {a.shape[1]} but b has {b.shape[1]}; compare like with like")
    if metric == "euclidean":
        return -_euclidean(a, b)
    na = np.linalg.norm(a, axis=1, keepdims=True)
    nb = np.linalg.norm(b, axis=1, keepdims=True)
    return (a / np.where(na > 0, na, 1)) @ (b / np.where(nb > 0, nb, 1)).T


def score_pairs(embeddings, first, second, *, metric: str = "cosine") -> np.ndarray:
    """Similarity of the items ``first[i]`` and ``second[i]`` for each i (for pairs from :func:`sample_pairs`).

    Examples
    --------
    >>> score_pairs(np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), [0, 0], [1, 2]).round(3).tolist()
    [0.0, 0.707]
    """
    if metric not in METRICS:
        raise unknown_name("metric", metric, METRICS)
    vectors = _vectors(embeddings).astype(np.float64)
    first, second = np.asarray(first), np.asarray(second)
    _same_length(first, second, ("first", "second"))
    for name, index in (("first", first), ("second", second)):
        if index.ndim != 1 or index.dtype.kind not in "iu":
            raise InvalidParameterError(f"{name} must be a 1-D array of item indices; got {index.dtype} {index.shape}")
        if index.size and (index.min() < -len(vectors) or index.max() >= len(vectors)):
            raise InvalidParameterError(f"{name} holds indices outside 0..{len(vectors) - 1}")
    a, b = vectors[first], vectors[second]
    if metric == "euclidean":
        return -np.linalg.norm(a - b, axis=1)
    na = np.maximum(np.linalg.norm(a, axis=1), 1e-12)
    nb = np.maximum(np.linalg.norm(b, axis=1), 1e-12)
    return np.einsum("ij,ij->i", a, b) / (na * nb)


def pair_scores(
    embeddings, labels, *, metric: str = "cosine", max_pairs: int | None = None, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Scores and same-class flags of every pair ``i < j`` (or a random sample of ``max_pairs``).

    All pairs need the N × N similarity matrix (N = 10,000 takes 800 MB);
    for large sets pass ``max_pairs``.

    Examples
    --------
    >>> scores, same = pair_scores(np.eye(3), [0, 0, 1])
    >>> scores.tolist(), same.tolist()
    ([0.0, 0.0, 0.0], [True, False, False])
    """
    vectors = _vectors(embeddings)
    labels = _labels(labels)
    _same_length(vectors, labels, ("embeddings", "labels"))
    if labels.size < 2:
        raise InvalidParameterError("pair_scores needs at least two items")
    rows, cols = np.triu_indices(labels.size, k=1)
    if max_pairs is not None and _int(max_pairs, "max_pairs") < rows.size:
        keep = np.sort(np.random.default_rng(_seed(seed)).choice(rows.size, max_pairs, replace=False))
        rows, cols = rows[keep], cols[keep]
        # a sample of pairs does not need the whole N x N matrix
        return score_pairs(vectors, rows, cols, metric=metric), labels[rows] == labels[cols]
    sim = similarity_matrix(vectors, metric=metric)
    return sim[rows, cols], labels[rows] == labels[cols]


def roc_curve(scores, same) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """False- and true-positive rates for every threshold (``score >= threshold`` means "same").

    Returns
    -------
    (fpr, tpr, thresholds)
        Starting at (0, 0) with threshold ``+inf``, one point per distinct
        score, in decreasing threshold order, ending at (1, 1).

    Examples
    --------
    >>> fpr, tpr, t = roc_curve([0.9, 0.8, 0.4, 0.1], [True, False, True, False])
    >>> fpr.tolist(), tpr.tolist()
    ([0.0, 0.0, 0.5, 0.5, 1.0], [0.0, 0.5, 0.5, 1.0, 1.0])
    """
    s, y = _scored(scores, same)
    order = np.argsort(-s, kind="stable")
    s, y = s[order], y[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(s)), s.size - 1]
    tp = np.cumsum(y)[last_of_tie]
    fp = (last_of_tie + 1) - tp
    tpr = np.r_[0.0, tp / y.sum()]
    fpr = np.r_[0.0, fp / (~y).sum()]
    return fpr, tpr, np.r_[np.inf, s[last_of_tie]]


def roc_auc(scores, same) -> float:
    """Area under the ROC curve: the chance that a random positive pair outscores a random negative one.

    Computed from ranks (Mann–Whitney U), ties counted as one half.

    Examples
    --------
    >>> roc_auc([0.9, 0.8, 0.4, 0.1], [True, False, True, False])
    0.75
    """
    from scipy.stats import rankdata

    s, y = _scored(scores, same)
    ranks = rankdata(s)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def per_query_auc(embeddings, labels, *, metric: str = "cosine") -> np.ndarray:
    """For every item used as a query: the AUC of its scores against all other items.

    Item ``i``'s value is the chance that another item of its class outscores
    an item of another class, from ``i``'s point of view. Their mean is a
    verification score made of independent-ish units — the queries — that
    :func:`bootstrap_interval` can resample. Items alone in their class (no
    positive) get NaN.

    Examples
    --------
    >>> x = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    >>> per_query_auc(x, [0, 0, 1, 1]).tolist()
    [1.0, 1.0, 1.0, 1.0]
    """
    from scipy.stats import rankdata

    x = _vectors(embeddings)
    y = _labels(labels, min_classes=2)
    _same_length(x, y, ("embeddings", "labels"))
    sim = similarity_matrix(x, metric=metric)
    out = np.full(len(y), np.nan)
    for i in range(len(y)):
        others = np.arange(len(y)) != i
        positive = (y == y[i])[others]
        if not positive.any():
            continue
        ranks = rankdata(sim[i, others])
        n_pos, n_neg = int(positive.sum()), int((~positive).sum())
        out[i] = (ranks[positive].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)
    return out


def bootstrap_interval(values, *, confidence: float = 0.95, resamples: int = 2000, seed: int = 0):
    """The mean of per-query values and its percentile bootstrap interval (queries resampled).

    Use it on per-query differences between two methods (hit − hit, AUC − AUC)
    to say whether a gain is larger than what a different draw of queries
    would give: an interval that contains 0 is a gain within noise.

    Returns
    -------
    (mean, low, high)

    Examples
    --------
    >>> mean, low, high = bootstrap_interval([0.0, 1.0] * 50, seed=0)
    >>> mean, low < 0.5 < high
    (0.5, True)
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    if v.size == 0:
        raise EmptyInputError("bootstrap_interval needs at least one finite value")
    confidence = _number(confidence, "confidence", 0.0, 1.0, open_low=True)
    if confidence >= 1.0:
        raise InvalidParameterError(f"confidence must be below 1 (for example 0.95); got {confidence}")
    resamples = _int(resamples, "resamples")
    rng = np.random.default_rng(_seed(seed))
    means = v[rng.integers(0, v.size, (resamples, v.size))].mean(axis=1)
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return float(v.mean()), float(low), float(high)


def _weighted_auc(sorted_positive: np.ndarray, group_starts: np.ndarray, weights: np.ndarray) -> float:
    """Mann–Whitney AUC of scores already sorted, each with a weight; ties (one group) count one half."""
    w_pos = np.add.reduceat(np.where(sorted_positive, weights, 0.0), group_starts)
    w_neg = np.add.reduceat(np.where(sorted_positive, 0.0, weights), group_starts)
    below = np.concatenate([[0.0], np.cumsum(w_neg)[:-1]])
    return float((w_pos * (below + 0.5 * w_neg)).sum() / (w_pos.sum() * w_neg.sum()))


def bootstrap_auc_difference(embeddings_a, embeddings_b, labels, *, metric: str = "cosine",
                             confidence: float = 0.95, resamples: int = 2000, seed: int = 0):
    """Verification AUC of ``embeddings_b`` minus that of ``embeddings_a``, with a bootstrap interval over queries.

    Both embed the same items. Every item is a query whose row of scores
    against all other items enters the pooled AUC (as :func:`pair_scores`,
    each pair seen from both ends); a resample draws the queries with
    replacement, and the same draw is used for both embeddings, so the
    interval is that of the *difference*.

    Returns
    -------
    (difference, low, high)

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> labels = np.repeat(np.arange(8), 4)
    >>> x = rng.normal(size=(32, 6)) + np.eye(6)[labels % 6] * 3
    >>> difference, low, high = bootstrap_auc_difference(x, x, labels)
    >>> difference, low, high
    (0.0, 0.0, 0.0)
    """
    a, b = _vectors(embeddings_a, "embeddings_a"), _vectors(embeddings_b, "embeddings_b")
    y = _labels(labels, min_classes=2)
    _same_length(a, y, ("embeddings_a", "labels"))
    _same_length(b, y, ("embeddings_b", "labels"))
    confidence = _number(confidence, "confidence", 0.0, 1.0, open_low=True)
    if confidence >= 1.0:
        raise InvalidParameterError(f"confidence must be below 1 (for example 0.95); got {confidence}")
    resamples = _int(resamples, "resamples")
    n = len(y)
    off_diagonal = ~np.eye(n, dtype=bool)
    query = np.broadcast_to(np.arange(n)[:, None], (n, n))[off_diagonal]
    positive = (y[:, None] == y[None, :])[off_diagonal]
    if positive.all() or not positive.any():
        raise InvalidParameterError("labels must give both same-class and different-class pairs")
    prepared = []
    for x in (a, b):
        scores = similarity_matrix(x, metric=metric)[off_diagonal]
        order = np.argsort(scores, kind="stable")
        ordered = scores[order]
        starts = np.flatnonzero(np.concatenate([[True], ordered[1:] != ordered[:-1]]))
        prepared.append((positive[order], starts, query[order]))

    def difference(counts: np.ndarray) -> float:
        auc_a, auc_b = (_weighted_auc(pos, starts, counts[q].astype(np.float64)) for pos, starts, q in prepared)
        return auc_b - auc_a

    observed = difference(np.ones(n))
    rng = np.random.default_rng(_seed(seed))
    draws = np.array([difference(np.bincount(rng.integers(0, n, n), minlength=n)) for _ in range(resamples)])
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(draws, [tail, 1.0 - tail])
    return float(observed), float(low), float(high)


def equal_error_rate(scores, same) -> tuple[float, float]:
    """The error rate where false accepts equal false rejects, and the threshold that gives it.

    Found on the ROC curve where ``fpr`` crosses ``1 − tpr``, interpolated
    linearly between the two neighbouring thresholds.

    Returns
    -------
    (eer, threshold)

    Examples
    --------
    >>> equal_error_rate([0.9, 0.8, 0.7, 0.1], [True, True, False, False])
    (0.0, 0.8)
    """
    fpr, tpr, thresholds = roc_curve(scores, same)
    fnr = 1.0 - tpr
    i = int(np.flatnonzero(fpr >= fnr)[0])  # fpr rises and fnr falls, so they cross once
    if i == 0 or fpr[i] == fnr[i]:
        threshold = thresholds[i] if np.isfinite(thresholds[i]) else thresholds[i + 1]
        return float(fpr[i]), float(threshold)
    # fpr - fnr changes sign between points i-1 and i
    g0, g1 = fpr[i - 1] - fnr[i - 1], fpr[i] - fnr[i]
    w = g0 / (g0 - g1)
    eer = fpr[i - 1] + w * (fpr[i] - fpr[i - 1])
    t0 = thresholds[i - 1] if np.isfinite(thresholds[i - 1]) else thresholds[i]
    return float(eer), float(t0 + w * (thresholds[i] - t0))


def verification_accuracy(scores, same, threshold: float) -> float:
    """Fraction of pairs judged right when ``score >= threshold`` means "same".

    Examples
    --------
    >>> verification_accuracy([0.9, 0.8, 0.4, 0.1], [True, False, True, False], 0.5)
    0.5
    """
    s, y = _scored(scores, same)
    threshold = _number(threshold, "threshold", -np.inf)
    return float(((s >= threshold) == y).mean())


def n_way_one_shot_accuracy(
    embeddings, labels, *, n_way: int = 5, episodes: int = 1000, metric: str = "cosine", seed: int = 0
) -> float:
    """N-way one-shot accuracy: pick the query's class from one example of each of N classes.

    Each episode draws ``n_way`` classes, one support item of each, and a
    query: another item of one of them (the target, placed at a random
    position). The answer is the most similar support item. Chance is
    ``1 / n_way``. Episodes are drawn from ``seed``, so two methods scored
    with the same seed face the same episodes.

    Parameters
    ----------
    embeddings
        ``(N, D)`` vectors (images are flattened, so raw pixels work).
    labels
        ``(N,)`` integer classes.
    n_way
        Classes per episode, 2 .. number of classes.
    episodes
        Number of episodes.
    metric
        ``"cosine"`` or ``"euclidean"``.
    seed
        Seed of the episode draws.

    Raises
    ------
    InvalidParameterError
        ``n_way`` larger than the number of classes, fewer than 2 classes,
        no class with two items (no query possible).

    Examples
    --------
    >>> emb = np.array([[1.0, 0], [1.0, 0.1], [0, 1.0], [0.1, 1.0]])
    >>> n_way_one_shot_accuracy(emb, [0, 0, 1, 1], n_way=2, episodes=20)
    1.0
    """
    if metric not in METRICS:
        raise unknown_name("metric", metric, METRICS)
    vectors = _vectors(embeddings).astype(np.float64)
    labels = _labels(labels, min_classes=2)
    _same_length(vectors, labels, ("embeddings", "labels"))
    n_way = _int(n_way, "n_way", 2)
    episodes = _int(episodes, "episodes")
    classes, members = _class_index(labels)
    if n_way > classes.size:
        raise InvalidParameterError(
            f"n_way={n_way} but the labels hold only {classes.size} classes; lower n_way"
        )
    sizes = np.array([m.size for m in members])
    queryable = np.flatnonzero(sizes >= 2)
    if queryable.size == 0:
        raise InvalidParameterError("every class has one item, so no class can give both a support item and a query")
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    by_class = np.concatenate(members)
    rng = np.random.default_rng(_seed(seed))

    target = queryable[rng.integers(0, queryable.size, episodes)]
    # the other n_way-1 classes: random distinct classes different from the target
    noise = rng.random((episodes, classes.size))
    noise[np.arange(episodes), target] = np.inf
    others = np.argsort(noise, axis=1)[:, : n_way - 1]
    chosen = np.concatenate([target[:, None], others], axis=1)
    position = rng.integers(0, n_way, episodes)  # where the target sits among the supports
    chosen[np.arange(episodes), 0] = chosen[np.arange(episodes), position]
    chosen[np.arange(episodes), position] = target
    offsets = (rng.random((episodes, n_way)) * sizes[chosen]).astype(np.int64)
    support = by_class[starts[chosen] + offsets]
    t_size = sizes[target]
    t_off = offsets[np.arange(episodes), position]
    q_off = (t_off + 1 + (rng.random(episodes) * (t_size - 1)).astype(np.int64)) % t_size
    query = by_class[starts[target] + q_off]

    q, s = vectors[query], vectors[support]  # (E, D), (E, N, D)
    if metric == "cosine":
        qn = q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)
        sn = s / np.maximum(np.linalg.norm(s, axis=2, keepdims=True), 1e-12)
        score = np.einsum("ed,end->en", qn, sn)
    else:
        score = -np.linalg.norm(s - q[:, None, :], axis=2)
    return float((score.argmax(axis=1) == position).mean())


def pca_project(vectors, n_components: int = 2) -> np.ndarray:
    """Project vectors on their first principal components (centred, by SVD), for a scatter plot.

    Each component's sign is fixed (its largest loading is positive), so the
    picture does not flip between runs.

    Examples
    --------
    >>> x = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]])
    >>> np.round(pca_project(x, 1).ravel(), 3).tolist()
    [-1.414, 0.0, 1.414]
    """
    x = _vectors(vectors, "vectors").astype(np.float64)
    n_components = _int(n_components, "n_components")
    if n_components > min(x.shape):
        raise InvalidParameterError(
            f"n_components={n_components} exceeds min(items, dimensions) = {min(x.shape)}"
        )
    centred = x - x.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    axes = vt[:n_components]
    signs = np.sign(axes[np.arange(n_components), np.abs(axes).argmax(axis=1)])
    return centred @ (axes * signs[:, None]).T


# --------------------------------------------------------------------------- near-duplicate data


@dataclass(frozen=True)
class NearDuplicateSet:
    """Images grouped into identities: an original tile and its edited copies share a label.

    Attributes
    ----------
    images
        RGB ``uint8`` images (sizes differ: crops are smaller).
    labels
        ``int64`` identity of each image.
    sources
        Name of the course image each tile was cut from.
    edits
        ``"original"`` or the edits applied, for example ``"blur(4)+jpeg(20)"``.
    """

    images: list
    labels: np.ndarray
    sources: np.ndarray
    edits: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.images)

    def subset(self, keep) -> NearDuplicateSet:
        """The items where the boolean mask ``keep`` is true."""
        keep = np.asarray(keep, dtype=bool)
        _same_length(keep, self.labels, ("keep", "the set"))
        index = np.flatnonzero(keep)
        return NearDuplicateSet(
            [self.images[i] for i in index], self.labels[index], self.sources[index],
            tuple(self.edits[i] for i in index),
        )

    def split(self, *, test: int, seed: int = 0) -> tuple[NearDuplicateSet, NearDuplicateSet]:
        """(train, test) with ``test`` whole source images held out, so no test tile was seen in training."""
        names = np.unique(self.sources)
        test = _int(test, "test")
        if test > names.size - 1:
            raise InvalidParameterError(
                f"test={test} source images leaves none of the {names.size} to train on; hold out fewer"
            )
        held = np.random.default_rng(_seed(seed)).permutation(names)[:test]
        in_test = np.isin(self.sources, held)
        return self.subset(~in_test), self.subset(in_test)


def near_duplicate_set(
    gallery: Mapping[str, np.ndarray],
    *,
    grid: int = 3,
    copies: int = 4,
    edits_per_copy: int = 2,
    edits=NEAR_DUPLICATE_EDITS,
    seed: int = 0,
) -> NearDuplicateSet:
    """Cut images into tiles and make edited copies of each: the course's notion of "near duplicate".

    Each image of ``gallery`` is cut into ``grid`` × ``grid`` non-overlapping
    tiles; every tile is one identity. Each identity holds its original tile
    and ``copies`` edited copies; a copy goes through ``edits_per_copy``
    different edits of :data:`imgsim_helpers.images.transforms.TRANSFORMS`, each at
    a strength drawn from that transform's benchmark sweep (the identity
    value excluded). Two images are near duplicates when they share a label;
    tiles of the same photo are *different* images.

    Parameters
    ----------
    gallery
        Name -> RGB image, for example ``course_gallery(max_side=384)``.
    grid
        Tiles per side (1 keeps whole images).
    copies
        Edited copies per tile.
    edits_per_copy
        Edits chained on each copy.
    edits
        Transform names to draw from.
    seed
        Seed of every draw.

    Returns
    -------
    NearDuplicateSet

    Examples
    --------
    >>> img = np.zeros((64, 64, 3), np.uint8)
    >>> data = near_duplicate_set({"black": img}, grid=2, copies=1, seed=0)
    >>> len(data), data.labels.tolist()
    (8, [0, 0, 1, 1, 2, 2, 3, 3])
    """
    if not isinstance(gallery, Mapping) or not gallery:
        raise EmptyInputError("gallery must be a non-empty dict of name -> image (for example h.course_gallery())")
    grid = _int(grid, "grid")
    copies = _int(copies, "copies", 0)
    edits = tuple(edits)
    if not edits:
        raise EmptyInputError("edits is empty; give transform names such as ('blur', 'jpeg')")
    for name in edits:
        if name not in TRANSFORMS:
            raise unknown_name("transform", name, TRANSFORMS)
    per_copy = _int(edits_per_copy, "edits_per_copy")
    if per_copy > len(edits):
        raise InvalidParameterError(f"edits_per_copy={per_copy} but only {len(edits)} edits are allowed")
    rng = np.random.default_rng(_seed(seed))
    images, labels, sources, notes = [], [], [], []
    identity = 0
    for source, image in gallery.items():
        image = to_rgb(image, name=f"gallery[{source!r}]")
        height, width = image.shape[:2]
        if min(height, width) < 8 * grid:
            raise InvalidParameterError(
                f"gallery[{source!r}] is {height}x{width}: too small for a {grid}x{grid} grid of tiles"
            )
        for row in range(grid):
            for col in range(grid):
                tile = image[row * height // grid : (row + 1) * height // grid, col * width // grid : (col + 1) * width // grid]
                images.append(tile)
                notes.append("original")
                for _ in range(copies):
                    copy_, done = tile, []
                    for name in rng.choice(edits, per_copy, replace=False):
                        spec = TRANSFORMS[str(name)]
                        strengths = [v for v in spec.sweep if v != spec.identity]
                        strength = strengths[int(rng.integers(len(strengths)))]
                        copy_ = apply_transform(copy_, str(name), strength, seed=int(rng.integers(2**31)))
                        done.append(f"{name}({strength:g})")
                    images.append(copy_)
                    notes.append("+".join(done))
                labels += [identity] * (copies + 1)
                sources += [source] * (copies + 1)
                identity += 1
    return NearDuplicateSet(images, np.asarray(labels, np.int64), np.asarray(sources), tuple(notes))
