"""Learning a similarity: Siamese networks trained on P×K batches, and the scores that judge them.

Distances are Euclidean between unit vectors (``d = sqrt(2 - 2 cos)``, so a margin means the
same for every network); scores are similarities: cosine, or minus the Euclidean distance.
Notebook 07's statistics are in :mod:`imgsim_helpers.lessons.siamese_study`.

>>> labels = np.repeat(np.arange(10), 5)
>>> batch = next(pk_batches(labels, classes_per_batch=4, samples_per_class=3, n_batches=1))
>>> batch.shape, np.unique(labels[batch]).size
((12,), 4)
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

from imgsim_helpers.core.checks import check_choice, check_flag, check_int, check_real, check_seed
from imgsim_helpers.core.device import resolve_device
from imgsim_helpers.core.errors import (
    EmptyInputError,
    InvalidImageError,
    InvalidParameterError,
    ShapeMismatchError,
)
from imgsim_helpers.images.io import to_rgb
from imgsim_helpers.images.transforms import TRANSFORMS, apply_transform
from imgsim_helpers.learned.embeddings import _unit_rows, cosine_similarity_matrix

LOSSES = ("triplet", "contrastive")
MININGS = ("batch_hard", "random")
METRICS = ("cosine", "euclidean")
# the edits a near-duplicate may have gone through (keys of transforms.TRANSFORMS)
NEAR_DUPLICATE_EDITS = (
    "rotate", "scale", "crop", "flip", "blur", "noise", "jpeg", "brightness", "contrast", "text_overlay", "shift",
)


# --------------------------------------------------------------------------- label and vector checks


def _labels(labels, name: str = "labels", *, min_classes: int = 1) -> np.ndarray:
    array = np.asarray(labels)
    if array.ndim != 1:
        raise InvalidParameterError(f"{name} must be 1-D (one class label per item); got shape {array.shape}")
    if array.size == 0:
        raise EmptyInputError(f"{name} is empty; give at least one labelled item")
    if array.dtype == object or array.dtype.kind not in "iub":
        raise InvalidParameterError(
            f"{name} must hold integer class labels; got dtype {array.dtype} "
            "(map names to integers first, for example with np.unique(..., return_inverse=True))")
    n_classes = np.unique(array).size
    if n_classes < min_classes:
        raise InvalidParameterError(
            f"{name} holds {n_classes} class(es); this needs at least {min_classes} different classes")
    return array.astype(np.int64, copy=False)


def _vectors(x, name: str = "embeddings") -> np.ndarray:
    """Items as float rows (images are flattened into pixel vectors)."""
    array = np.asarray(x)
    if array.dtype == object or array.dtype.kind not in "iuf":
        raise InvalidParameterError(f"{name} must be a numeric array; got dtype {array.dtype}")
    if array.ndim == 0 or array.shape[0] == 0:
        raise EmptyInputError(f"{name} holds no items (shape {array.shape})")
    array = array.reshape(array.shape[0], -1)
    if array.shape[1] == 0:
        raise InvalidParameterError(f"{name} has items of dimension 0 (shape {array.shape})")
    if not np.isfinite(array).all():
        raise InvalidParameterError(f"{name} contains NaN or infinite values")
    return array.astype(np.float64 if array.dtype == np.float64 else np.float32, copy=False)


def _labelled_vectors(embeddings, labels, names=("embeddings", "labels"), min_classes: int = 1):
    vectors, labels = _vectors(embeddings, names[0]), _labels(labels, names[1], min_classes=min_classes)
    _same_length(vectors, labels, names)
    return vectors, labels


def _same_length(a, b, names: tuple[str, str]) -> None:
    if len(a) != len(b):
        raise ShapeMismatchError(f"{names[0]} has {len(a)} items but {names[1]} has {len(b)}; give one label per item")


def _scored(scores, same) -> tuple[np.ndarray, np.ndarray]:
    """Finite scores and boolean same-class flags, with at least one pair of each kind."""
    s, y = np.asarray(scores, dtype=np.float64).ravel(), np.asarray(same)
    if s.size == 0 and y.size == 0:
        raise EmptyInputError("no scores given; evaluate at least one positive and one negative pair")
    if y.dtype == object or y.dtype.kind not in "biu":
        raise InvalidParameterError(f"same must be booleans (or 0/1); got dtype {y.dtype}")
    y = y.ravel()
    _same_length(s, y, ("scores", "same"))
    if not np.isfinite(s).all():
        raise InvalidParameterError("scores contain NaN or infinite values")
    if y.dtype.kind != "b" and not np.isin(y, (0, 1)).all():
        raise InvalidParameterError("same must hold only 0/1 or True/False")
    y = y.astype(bool)
    if y.all() or not y.any():
        raise InvalidParameterError(f"ROC analysis needs both positive and negative pairs; got {int(y.sum())} "
                                    f"positive and {int((~y).sum())} negative")
    return s, y


# --------------------------------------------------------------------------- P×K batches


def _class_index(labels: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """The classes and, for each, the indices of its items."""
    classes, inverse = np.unique(labels, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    return classes, np.split(order, np.cumsum(np.bincount(inverse))[:-1])


def pk_batches(labels, *, classes_per_batch: int, samples_per_class: int, n_batches: int,
               seed: int = 0) -> Iterator[np.ndarray]:
    """Yield index batches of P classes × K items, for mining pairs and triplets inside a batch."""
    labels = _labels(labels, min_classes=2)
    p = check_int(classes_per_batch, "classes_per_batch", low=2)
    k = check_int(samples_per_class, "samples_per_class", low=2)
    n_batches = check_int(n_batches, "n_batches", low=1)
    n_classes = np.unique(labels).size
    if p > n_classes:
        raise InvalidParameterError(f"classes_per_batch={p} but the labels hold only {n_classes} classes; lower it")
    return _pk_batches(labels, p, k, n_batches, check_seed(seed))


def _pk_batches(labels: np.ndarray, p: int, k: int, n_batches: int, seed: int) -> Iterator[np.ndarray]:
    classes, members = _class_index(labels)
    rng = np.random.default_rng(seed)
    for _ in range(n_batches):
        chosen = rng.choice(classes.size, p, replace=False)
        yield np.concatenate([members[c][rng.choice(members[c].size, k, replace=members[c].size < k)]
                              for c in chosen])


# --------------------------------------------------------------------------- losses (torch)


def _distance(a, b):
    """Euclidean distance row by row, with a gradient that stays finite at zero distance."""
    return torch.sqrt(torch.clamp(((a - b) ** 2).sum(dim=-1), min=1e-12))


def _distance_matrix(x):
    squared = (x * x).sum(dim=1)
    return torch.sqrt(torch.clamp(squared[:, None] + squared[None, :] - 2.0 * (x @ x.T), min=1e-12))


def contrastive_loss(first, second, same, *, margin: float = 0.5):
    """Contrastive loss (Hadsell, Chopra & LeCun 2006): ``mean(y·d² + (1−y)·max(0, margin − d)²)``,
    ``d`` a pair's distance and ``y`` 1 for same-class pairs: negatives are pushed ``margin`` apart.

    >>> a, b = torch.zeros(2, 2), torch.tensor([[0.3, 0.4], [0.3, 0.0]])
    >>> round(float(contrastive_loss(a, b, torch.tensor([1.0, 0.0]), margin=0.5)), 4)
    0.145
    """
    margin = check_real(margin, "margin", low=0, low_open=True)
    if first.shape != second.shape or first.shape[0] != len(same):
        raise ShapeMismatchError(f"contrastive_loss needs two (N, D) tensors and N flags; got {tuple(first.shape)}, "
                                 f"{tuple(second.shape)} and {len(same)} flags")
    y = torch.as_tensor(same, dtype=first.dtype, device=first.device)
    d = _distance(first, second)
    return (y * d**2 + (1 - y) * torch.clamp(margin - d, min=0) ** 2).mean()


def triplet_loss(anchor, positive, negative, *, margin: float = 0.2):
    """Triplet loss with plain distances (Hermans, Beyer & Leibe 2017; FaceNet squared them):
    ``mean(max(0, d(a,p) − d(a,n) + margin))``, zero once every negative is ``margin`` further away.

    >>> a, p, n = torch.zeros(1, 2), torch.tensor([[0.1, 0.0]]), torch.tensor([[1.0, 0.0]])
    >>> float(triplet_loss(a, p, n, margin=0.2)), round(float(triplet_loss(a, n, p, margin=0.2)), 4)
    (0.0, 1.1)
    """
    margin = check_real(margin, "margin", low=0, low_open=True)
    if not (anchor.shape == positive.shape == negative.shape):
        raise ShapeMismatchError(f"triplet_loss needs three tensors of one shape; got {tuple(anchor.shape)}, "
                                 f"{tuple(positive.shape)}, {tuple(negative.shape)}")
    return torch.clamp(_distance(anchor, positive) - _distance(anchor, negative) + margin, min=0).mean()


def batch_loss(embeddings, labels, *, loss: str = "triplet", mining: str = "batch_hard", margin: float = 0.2,
               generator=None):
    """The loss of a P×K batch, with the pairs or triplets chosen inside the batch.

    ``mining="batch_hard"`` (Hermans, Beyer & Leibe 2017) takes, for each anchor, its furthest
    positive and its closest negative; ``"random"`` a random one of each (from ``generator``).

    >>> e = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    >>> float(batch_loss(e, torch.tensor([0, 0, 1, 1]), margin=0.5))
    0.0
    """
    loss = check_choice(loss, "loss", LOSSES)
    mining = check_choice(mining, "mining", MININGS)
    margin = check_real(margin, "margin", low=0, low_open=True)
    if embeddings.ndim != 2 or labels.ndim != 1 or embeddings.shape[0] != labels.shape[0]:
        raise ShapeMismatchError(f"batch_loss needs (B, D) embeddings and B labels; got {tuple(embeddings.shape)} "
                                 f"and {tuple(labels.shape)}")
    return _batch_loss(embeddings, labels, loss, mining, margin, generator)


def _batch_loss(embeddings, labels, loss: str, mining: str, margin: float, generator):
    d = _distance_matrix(embeddings)
    same = labels[:, None] == labels[None, :]
    pos_mask = same & ~torch.eye(len(labels), dtype=torch.bool, device=labels.device)
    neg_mask = ~same
    valid = pos_mask.any(dim=1) & neg_mask.any(dim=1)
    if not bool(valid.any()):
        raise InvalidParameterError(
            "the batch has no anchor with both a positive and a negative; use P>=2 classes and K>=2 items per class")
    if mining == "batch_hard":
        d_pos = torch.where(pos_mask, d, torch.full_like(d, -1.0)).max(dim=1).values
        d_neg = torch.where(neg_mask, d, torch.full_like(d, 1e9)).min(dim=1).values
    else:  # a random member of each mask: argmax of uniform noise restricted to the mask
        noise = torch.rand(d.shape, generator=generator, device="cpu").to(d.device)
        rows = torch.arange(len(labels), device=d.device)
        d_pos = d[rows, torch.where(pos_mask, noise, torch.full_like(noise, -1.0)).argmax(dim=1)]
        d_neg = d[rows, torch.where(neg_mask, noise, torch.full_like(noise, -1.0)).argmax(dim=1)]
    d_pos, d_neg = d_pos[valid], d_neg[valid]
    if loss == "triplet":
        return torch.clamp(d_pos - d_neg + margin, min=0).mean()
    # contrastive on the same choice: each anchor gives one positive and one negative pair
    return 0.5 * (d_pos**2).mean() + 0.5 * (torch.clamp(margin - d_neg, min=0) ** 2).mean()


# --------------------------------------------------------------------------- networks


@contextlib.contextmanager
def _seeded(seed: int | None):
    """Draw weight initialisations from ``seed`` without touching the global torch generator."""
    if seed is None:
        yield
        return
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(check_seed(seed))
        yield


class EmbeddingNet(nn.Module):
    """A small CNN (about 170 thousand parameters) mapping a gray or C-channel image to a unit
    vector: three conv-BN-ReLU-maxpool blocks, a pool to 3×3 and a linear layer to ``dim``.

    >>> out = EmbeddingNet(dim=16)(torch.zeros(2, 1, 28, 28))
    >>> tuple(out.shape), bool(torch.allclose(out.norm(dim=1), torch.ones(2)))
    ((2, 16), True)
    """

    def __init__(self, *, in_channels: int = 1, dim: int = 64, width: int = 32, seed: int | None = 0):
        super().__init__()
        channels = check_int(in_channels, "in_channels", low=1)
        self.dim = check_int(dim, "dim", low=1)
        width = check_int(width, "width", low=1)
        layers = []
        with _seeded(seed):
            for out in (width, 2 * width, 4 * width):
                layers += [nn.Conv2d(channels, out, 3, padding=1, bias=False), nn.BatchNorm2d(out),
                           nn.ReLU(inplace=True), nn.MaxPool2d(2, ceil_mode=True)]
                channels = out
            self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(3), nn.Flatten())
            self.project = nn.Linear(channels * 9, self.dim)

    def forward(self, x):
        if x.ndim == 3:
            x = x.unsqueeze(1)
        return nn.functional.normalize(self.project(self.features(x)), dim=1)


class EmbeddingHead(nn.Module):
    """A residual MLP over precomputed embeddings, ``normalise(x + MLP(x))``; starts as identity.

    >>> head = EmbeddingHead(8, hidden=4)
    >>> x = torch.nn.functional.normalize(torch.randn(3, 8), dim=1)
    >>> bool(torch.allclose(head(x), x, atol=1e-6))
    True
    """

    def __init__(self, in_dim: int, *, hidden: int = 256, seed: int | None = 0):
        super().__init__()
        self.dim = check_int(in_dim, "in_dim", low=1)
        hidden = check_int(hidden, "hidden", low=1)
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
    """What :func:`train_siamese` did, epoch by epoch; the model keeps ``best_epoch``'s weights."""

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
    """Run ``model`` over ``inputs`` in evaluation mode; the embeddings as ``float32`` NumPy.

    >>> embed(EmbeddingNet(dim=8), np.zeros((3, 28, 28), np.float32), device="cpu").shape
    (3, 8)
    """
    x = _as_tensor(inputs, "inputs")
    return _embed(model, x, check_int(batch_size, "batch_size", low=1), resolve_device(device))


def _embed(model, x, batch_size: int, device: str) -> np.ndarray:
    model.to(device)
    was_training = model.training
    model.eval()
    with torch.inference_mode():
        out = [model(x[start : start + batch_size].to(device)).float().cpu() for start in range(0, len(x), batch_size)]
    model.train(was_training)
    return torch.cat(out).numpy()


def _check_channels_first(model, inputs: torch.Tensor, name: str) -> None:
    """Refuse images laid out (N, H, W, C), the layout of NumPy/PIL images, before the network sees them."""
    conv = next((m for m in model.modules() if isinstance(m, nn.Conv2d)), None)
    if conv is None or inputs.ndim != 4 or inputs.shape[1] == conv.in_channels:
        return
    hint = ""
    if inputs.shape[3] == conv.in_channels or inputs.shape[3] in (1, 3, 4):
        hint = (f"; these look channels-last (N, H, W, C), the layout of NumPy images: convert with "
                f"np.moveaxis({name.split()[0]}, -1, 1), and scale uint8 images to [0, 1] with / 255")
    raise InvalidImageError(f"{name} must be (N, C, H, W) with C = {conv.in_channels} (the model's input channels) "
                            f"or (N, H, W) gray; got shape {tuple(inputs.shape)}{hint}")


def _training_set(model, inputs, labels, names: tuple[str, str]):
    x = _as_tensor(inputs, names[0])
    _check_channels_first(model, x, names[0])
    y = _labels(labels, names[1], min_classes=2)
    _same_length(x, y, names)
    return x, y


def _metric_name(metric) -> str:  # a functools.partial is named after its function
    return metric if isinstance(metric, str) else getattr(getattr(metric, "func", metric), "__name__", "score")


def _validation_score(model, val_x, val_y, metric, device: str) -> float:
    vectors = _embed(model, val_x, 512, device)  # scored in float64, as pair_scores scores them
    return _auc(*_all_pairs(vectors.astype(np.float64), val_y, "cosine")) if metric == "auc" else float(metric(vectors, val_y))


# Training needs autograd whatever the caller's mode: a notebook or benchmark that runs it under
# torch.no_grad() or torch.inference_mode() would otherwise fail at backward(), far from the cause.
@torch.inference_mode(False)
@torch.enable_grad()
def train_siamese(
    model, inputs, labels, *, validation: tuple | None = None, loss: str = "triplet", mining: str = "batch_hard",
    margin: float = 0.2, epochs: int = 20, steps_per_epoch: int | None = None, classes_per_batch: int = 32,
    samples_per_class: int = 4, lr: float = 3e-3, weight_decay: float = 1e-4, patience: int = 3,
    min_delta: float = 1e-4, metric: str | Callable = "auc", augment: Callable | None = None, seed: int = 0,
    device: str = "auto", progress: bool = True,
) -> TrainingHistory:
    """Train an embedding network in place on P×K batches, with early stopping on a validation metric.

    Each step minimises :func:`batch_loss` with Adam and a cosine learning-rate decay. After each
    epoch ``validation`` (``(inputs, labels)``) is scored with ``metric``: ``"auc"`` or any
    ``metric(vectors, labels) -> float``, higher is better; training stops after ``patience``
    epochs without a gain of ``min_delta`` and keeps the best epoch's weights. ``inputs``:
    ``(N, H, W)``, ``(N, C, H, W)`` or ``(N, D)``. ``augment(batch, generator)`` runs on each
    batch on the device.

    >>> labels = np.repeat(np.arange(4), 4)
    >>> images = np.random.default_rng(0).random((16, 16, 16)).astype(np.float32)
    >>> hist = train_siamese(EmbeddingNet(dim=8, width=4), images, labels, epochs=2,
    ...                      classes_per_batch=2, samples_per_class=2, device="cpu", progress=False)
    >>> hist.epochs
    2
    """
    options = dict(loss=check_choice(loss, "loss", LOSSES), mining=check_choice(mining, "mining", MININGS),
                   margin=check_real(margin, "margin", low=0, low_open=True))
    metric = metric if callable(metric) else check_choice(metric, "validation metric", ("auc", "<a callable>"))
    epochs, patience = check_int(epochs, "epochs", low=1), check_int(patience, "patience", low=1)
    lr = check_real(lr, "lr", low=0, low_open=True)
    weight_decay, min_delta = check_real(weight_decay, "weight_decay", low=0), check_real(min_delta, "min_delta", low=0)
    seed, progress = check_seed(seed), check_flag(progress, "progress")
    if augment is not None and not callable(augment):
        raise InvalidParameterError(f"augment must be None or a function (batch, generator) -> batch; got {augment!r}")
    x, y = _training_set(model, inputs, labels, ("inputs", "labels"))
    if validation is not None and (not isinstance(validation, tuple | list) or len(validation) != 2):
        raise InvalidParameterError("validation must be an (inputs, labels) pair or None")
    val = None if validation is None else _training_set(model, *validation, ("validation inputs", "validation labels"))
    p = min(check_int(classes_per_batch, "classes_per_batch", low=2), np.unique(y).size)
    k = check_int(samples_per_class, "samples_per_class", low=2)
    steps = max(1, len(y) // (p * k)) if steps_per_epoch is None else check_int(steps_per_epoch, "steps_per_epoch", low=1)
    dev = resolve_device(device)

    model.to(dev)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=epochs * steps)
    generator = torch.Generator().manual_seed(seed)
    batches = _pk_batches(y, p, k, epochs * steps, seed)
    y = torch.from_numpy(y)

    def train_step():
        index = torch.from_numpy(next(batches))
        xb, yb = x[index].to(dev, non_blocking=True), y[index].to(dev, non_blocking=True)
        if augment is not None:
            xb = augment(xb, generator)
        value = _batch_loss(model(xb), yb, generator=generator, **options)
        optimiser.zero_grad(set_to_none=True)
        value.backward()
        optimiser.step()
        schedule.step()
        return float(value.detach())

    def validate():
        return _validation_score(model, val[0], val[1], metric, dev)

    return _fit(model, train_step, steps, epochs, None if val is None else validate,
                patience, min_delta, TrainingHistory(metric=_metric_name(metric)), progress)


def _fit(model, train_step, steps: int, epochs: int, validate, patience: int, min_delta: float,
         history: TrainingHistory, progress: bool) -> TrainingHistory:
    """The epoch loop: train, validate, keep the best weights, stop when the score stalls."""
    from tqdm.auto import tqdm

    best_score, best_state, waited = -np.inf, None, 0
    start = time.perf_counter()
    bar = tqdm(range(epochs), desc="training", unit="epoch", disable=not progress)
    for epoch in bar:
        model.train()
        epoch_losses = [train_step() for _ in range(steps)]
        history.step_losses += epoch_losses
        history.losses.append(float(np.mean(epoch_losses)))
        status = {"loss": f"{history.losses[-1]:.4f}"}
        if validate is None:
            history.best_epoch = epoch
        else:
            score = validate()
            history.validation.append(score)
            status[history.metric] = f"{score:.4f}"
            if score > best_score + min_delta:
                best_score, waited, history.best_epoch = score, 0, epoch
                best_state = copy.deepcopy(model.state_dict())
            else:
                waited += 1
        bar.set_postfix(status)
        if validate is not None and waited >= patience:
            history.stopped_early = epoch < epochs - 1
            break
    bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    history.seconds = time.perf_counter() - start
    return history


# --------------------------------------------------------------------------- evaluation


def _similarity(a: np.ndarray, b: np.ndarray, metric: str) -> np.ndarray:
    """Every row of ``a`` against every row of ``b``: cosine, or minus the Euclidean distance."""
    if metric == "cosine":
        return cosine_similarity_matrix(a, b)
    d2 = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * (a @ b.T)
    return -np.sqrt(np.maximum(d2, 0.0))


def _row_pairs(vectors: np.ndarray, first, second, metric: str) -> np.ndarray:
    """Similarity of ``vectors[first[i]]`` and ``vectors[second[i]]`` for each i."""
    if metric == "euclidean":
        return -np.linalg.norm(vectors[first] - vectors[second], axis=1)
    unit = _unit_rows(vectors.astype(np.float64))
    return np.clip(np.einsum("ij,ij->i", unit[first], unit[second]), -1.0, 1.0)


def _all_pairs(vectors: np.ndarray, labels: np.ndarray, metric: str):
    rows, cols = np.triu_indices(labels.size, k=1)
    return _similarity(vectors, vectors, metric)[rows, cols], labels[rows] == labels[cols]


def pair_scores(embeddings, labels, *, metric: str = "cosine", max_pairs: int | None = None,
                seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Scores and same-class flags of every pair ``i < j``, or of a random sample of ``max_pairs``.

    >>> scores, same = pair_scores(np.eye(3), [0, 0, 1])
    >>> scores.tolist(), same.tolist()
    ([0.0, 0.0, 0.0], [True, False, False])
    """
    metric = check_choice(metric, "metric", METRICS)
    vectors, labels = _labelled_vectors(embeddings, labels)
    if labels.size < 2:
        raise InvalidParameterError("pair_scores needs at least two items")
    vectors = vectors.astype(np.float64)
    if max_pairs is None or check_int(max_pairs, "max_pairs", low=1) >= labels.size * (labels.size - 1) // 2:
        return _all_pairs(vectors, labels, metric)
    rows, cols = np.triu_indices(labels.size, k=1)
    keep = np.sort(np.random.default_rng(check_seed(seed)).choice(rows.size, max_pairs, replace=False))
    rows, cols = rows[keep], cols[keep]
    return _row_pairs(vectors, rows, cols, metric), labels[rows] == labels[cols]


def _auc(s: np.ndarray, y: np.ndarray) -> float:
    from scipy.stats import rankdata

    ranks = rankdata(s)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def roc_auc(scores, same) -> float:
    """Area under the ROC curve: the chance that a random positive pair outscores a random negative
    one (from ranks, ties counted as one half).

    >>> roc_auc([0.9, 0.8, 0.4, 0.1], [True, False, True, False])
    0.75
    """
    return _auc(*_scored(scores, same))


# --------------------------------------------------------------------------- near-duplicate data


@dataclass(frozen=True)
class NearDuplicateSet:
    """Images grouped into identities (``labels``), the image each was cut from and its edits."""

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
        return NearDuplicateSet([self.images[i] for i in index], self.labels[index], self.sources[index],
                                tuple(self.edits[i] for i in index))

    def split(self, *, test: int, seed: int = 0) -> tuple[NearDuplicateSet, NearDuplicateSet]:
        """(train, test) with ``test`` whole source images held out, so no test tile was seen in training."""
        names = np.unique(self.sources)
        test = check_int(test, "test", low=1)
        if test > names.size - 1:
            raise InvalidParameterError(
                f"test={test} source images leaves none of the {names.size} to train on; hold out fewer")
        held = np.random.default_rng(check_seed(seed)).permutation(names)[:test]
        in_test = np.isin(self.sources, held)
        return self.subset(~in_test), self.subset(in_test)


def _edited_copy(tile: np.ndarray, edits: tuple[str, ...], per_copy: int, rng) -> tuple[np.ndarray, str]:
    """``tile`` through ``per_copy`` different edits, each at a strength from its benchmark sweep."""
    done = []
    for name in rng.choice(edits, per_copy, replace=False):
        spec = TRANSFORMS[str(name)]
        strengths = [v for v in spec.sweep if v != spec.identity]
        strength = strengths[int(rng.integers(len(strengths)))]
        tile = apply_transform(tile, str(name), strength, seed=int(rng.integers(2**31)))
        done.append(f"{name}({strength:g})")
    return tile, "+".join(done)


def near_duplicate_set(gallery: Mapping[str, np.ndarray], *, grid: int = 3, copies: int = 4, edits_per_copy: int = 2,
                       edits=NEAR_DUPLICATE_EDITS, seed: int = 0) -> NearDuplicateSet:
    """Cut images into ``grid`` × ``grid`` tiles, each an identity with ``copies`` edited copies
    (``edits_per_copy`` different ``edits`` at strengths from their benchmark sweeps).

    >>> data = near_duplicate_set({"black": np.zeros((64, 64, 3), np.uint8)}, grid=2, copies=1, seed=0)
    >>> len(data), data.labels.tolist()
    (8, [0, 0, 1, 1, 2, 2, 3, 3])
    """
    if not isinstance(gallery, Mapping) or not gallery:
        raise EmptyInputError("gallery must be a non-empty dict of name -> image (for example h.course_gallery())")
    grid, copies = check_int(grid, "grid", low=1), check_int(copies, "copies", low=0)
    edits = tuple(check_choice(name, "transform", TRANSFORMS) for name in edits)
    if not edits:
        raise EmptyInputError("edits is empty; give transform names such as ('blur', 'jpeg')")
    per_copy = check_int(edits_per_copy, "edits_per_copy", low=1)
    if per_copy > len(edits):
        raise InvalidParameterError(f"edits_per_copy={per_copy} but only {len(edits)} edits are allowed")
    rng = np.random.default_rng(check_seed(seed))
    images, sources, notes = [], [], []
    for source, image in gallery.items():
        image = to_rgb(image, name=f"gallery[{source!r}]")
        height, width = image.shape[:2]
        if min(height, width) < 8 * grid:
            raise InvalidParameterError(f"gallery[{source!r}] is {height}x{width}: too small for a {grid}x{grid} grid of tiles")
        for row in range(grid):
            for col in range(grid):
                tile = image[row * height // grid : (row + 1) * height // grid,
                             col * width // grid : (col + 1) * width // grid]
                edited = [_edited_copy(tile, edits, per_copy, rng) for _ in range(copies)]
                images += [tile, *(im for im, _ in edited)]
                notes += ["original", *(note for _, note in edited)]
                sources += [source] * (copies + 1)
    labels = np.repeat(np.arange(len(images) // (copies + 1)), copies + 1)
    return NearDuplicateSet(images, labels.astype(np.int64), np.asarray(sources), tuple(notes))
