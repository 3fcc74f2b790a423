"""Notebook 07's experiment code: drawing pairs and triplets, and the statistics that judge a model.

The library part — networks, losses, P×K training, pair scores, ROC AUC — is
:mod:`imgsim_helpers.learned.siamese`. This module holds what only the lessons use:

* :func:`sample_pairs` and :func:`sample_triplets` (random or hard negatives), to show what a
  Siamese network is trained on;
* :func:`similarity_matrix`, :func:`score_pairs`, :func:`roc_curve`, :func:`equal_error_rate`,
  :func:`verification_accuracy`, and :func:`n_way_one_shot_accuracy` (also a ``metric`` for
  :func:`~imgsim_helpers.learned.siamese.train_siamese`);
* :func:`per_query_auc`, :func:`bootstrap_interval` and :func:`bootstrap_auc_difference`: is
  a gain larger than a different draw of queries would give?
* :func:`pca_project`, a 2-D picture of an embedding.

>>> labels = np.array([0, 0, 1, 1, 2, 2])
>>> first, second, same = sample_pairs(labels, 4, seed=0)
>>> same.tolist(), bool((labels[first] == labels[second]).tolist() == same.tolist())
([True, True, False, False], True)
"""

from __future__ import annotations

import numpy as np

from imgsim_helpers.core.checks import check_choice, check_int, check_real, check_seed
from imgsim_helpers.core.errors import EmptyInputError, InvalidParameterError, ShapeMismatchError
from imgsim_helpers.learned.embeddings import _unit_rows
from imgsim_helpers.learned.siamese import (
    METRICS,
    _auc,
    _class_index,
    _labelled_vectors,
    _labels,
    _row_pairs,
    _same_length,
    _scored,
    _similarity,
    _vectors,
)

NEGATIVES = ("random", "hard")


# --------------------------------------------------------------------------- samplers


def sample_pairs(labels, n_pairs: int, *, positive_fraction: float = 0.5,
                 seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw ``(first, second, same)`` index pairs: a ``positive_fraction`` from one class, positives first.

    Positives are two different items of one class (drawn uniformly among classes with two or
    more items); negatives are items of two different classes. The same seed draws the same pairs.

    >>> first, second, same = sample_pairs([0, 0, 1, 1], 6, seed=1)
    >>> int(same.sum()), bool((first != second).all())
    (3, True)
    """
    labels = _labels(labels, min_classes=2)
    n_pairs = check_int(n_pairs, "n_pairs", low=1)
    positive_fraction = check_real(positive_fraction, "positive_fraction", low=0, high=1)
    return _sample_pairs(labels, n_pairs, positive_fraction, np.random.default_rng(check_seed(seed)))


def _sample_pairs(labels: np.ndarray, n_pairs: int, positive_fraction: float, rng):
    classes, members = _class_index(labels)
    sizes = np.array([m.size for m in members])
    n_pos = int(round(n_pairs * positive_fraction))
    pairable = np.flatnonzero(sizes >= 2)
    if n_pos and pairable.size == 0:
        raise InvalidParameterError("no class has two items, so no same-class pair exists; give several items "
                                    "per class or positive_fraction=0")
    starts, by_class = np.concatenate([[0], np.cumsum(sizes)[:-1]]), np.concatenate(members)

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
    return first, second, np.concatenate([np.ones(n_pos, bool), np.zeros(n_neg, bool)])


def sample_triplets(labels, n_triplets: int, *, negatives: str = "random", embeddings=None,
                    candidates: int | None = None, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw ``(anchor, positive, negative)`` index triplets.

    ``negatives="random"``: any item of another class. ``"hard"``: the other-class item whose
    ``embeddings`` row is closest to the anchor's — among ``candidates`` random ones, or among
    all when ``candidates`` is ``None``. Hard negatives teach more per triplet, but the very
    hardest can be mislabelled or near-duplicates; a few candidates is a common middle ground.

    >>> labels = np.array([0, 0, 1, 1, 2, 2])
    >>> emb = np.array([[0.0], [0.1], [0.2], [5.0], [9.0], [9.5]])
    >>> a, p, n = sample_triplets(labels, 3, negatives="hard", embeddings=emb, seed=0)
    >>> bool((labels[a] == labels[p]).all() and (labels[a] != labels[n]).all())
    True
    """
    negatives = check_choice(negatives, "negatives", NEGATIVES)
    labels = _labels(labels, min_classes=2)
    n_triplets, seed = check_int(n_triplets, "n_triplets", low=1), check_seed(seed)
    vectors, pool = None, 1
    if negatives == "hard":
        if embeddings is None:
            raise InvalidParameterError(
                "negatives='hard' needs embeddings=(N, D) vectors to find the closest negatives")
        vectors, _ = _labelled_vectors(embeddings, labels)
        pool = None if candidates is None else check_int(candidates, "candidates", low=1)
    first, second, _ = _sample_pairs(labels, n_triplets, 1.0, np.random.default_rng(seed))
    rng = np.random.default_rng([seed, 1])  # a stream independent of the pairs'
    anchor_class = labels[first]
    if pool is None:
        d = -_similarity(vectors[first], vectors, "euclidean")
        d[labels[None, :] == anchor_class[:, None]] = np.inf
        return first, second, d.argmin(axis=1)
    cand = _other_class_draws(labels, anchor_class, pool, rng)
    if pool == 1:
        return first, second, cand[:, 0]
    d = np.linalg.norm(vectors[cand] - vectors[first][:, None, :], axis=2)
    return first, second, cand[np.arange(n_triplets), d.argmin(axis=1)]


def _other_class_draws(labels: np.ndarray, anchor_class: np.ndarray, pool: int, rng) -> np.ndarray:
    """``pool`` random items of another class per anchor, by rejection (a few rounds suffice)."""
    cand = rng.integers(0, labels.size, (anchor_class.size, pool))
    bad = labels[cand] == anchor_class[:, None]
    for _ in range(64):
        if not bad.any():
            break
        cand[bad] = rng.integers(0, labels.size, int(bad.sum()))
        bad = labels[cand] == anchor_class[:, None]
    for row, col in zip(*np.nonzero(bad), strict=True):  # a dominant class: draw what is left exactly
        others = np.flatnonzero(labels != anchor_class[row])
        cand[row, col] = others[rng.integers(0, others.size)]
    return cand


# --------------------------------------------------------------------------- verification statistics


def similarity_matrix(a, b=None, *, metric: str = "cosine") -> np.ndarray:
    """Similarity of every row of ``a`` with every row of ``b`` (default ``a``): cosine or −Euclidean.

    Images are flattened into pixel vectors, so raw pixels are a baseline.

    >>> similarity_matrix(np.array([[1.0, 0.0], [0.0, 2.0]]), metric="euclidean").tolist()
    [[-0.0, -2.23606797749979], [-2.23606797749979, -0.0]]
    """
    metric = check_choice(metric, "metric", METRICS)
    a = _vectors(a, "a").astype(np.float64)
    b = a if b is None else _vectors(b, "b").astype(np.float64)
    if a.shape[1] != b.shape[1]:
        raise ShapeMismatchError(f"a has dimension {a.shape[1]} but b has {b.shape[1]}; compare like with like")
    return _similarity(a, b, metric)


def score_pairs(embeddings, first, second, *, metric: str = "cosine") -> np.ndarray:
    """Similarity of items ``first[i]`` and ``second[i]`` for each i (pairs from :func:`sample_pairs`).

    >>> score_pairs(np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), [0, 0], [1, 2]).round(3).tolist()
    [0.0, 0.707]
    """
    metric = check_choice(metric, "metric", METRICS)
    vectors = _vectors(embeddings).astype(np.float64)
    first, second = np.asarray(first), np.asarray(second)
    _same_length(first, second, ("first", "second"))
    for name, index in (("first", first), ("second", second)):
        if index.ndim != 1 or index.dtype.kind not in "iu":
            raise InvalidParameterError(f"{name} must be a 1-D array of item indices; got {index.dtype} {index.shape}")
        if index.size and (index.min() < -len(vectors) or index.max() >= len(vectors)):
            raise InvalidParameterError(f"{name} holds indices outside 0..{len(vectors) - 1}")
    return _row_pairs(vectors, first, second, metric)


def roc_curve(scores, same) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(fpr, tpr, thresholds)`` for every threshold (``score >= threshold`` means "same").

    From (0, 0) at threshold ``+inf``, one point per distinct score, to (1, 1).

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
    return np.r_[0.0, fp / (~y).sum()], np.r_[0.0, tp / y.sum()], np.r_[np.inf, s[last_of_tie]]


def equal_error_rate(scores, same) -> tuple[float, float]:
    """``(eer, threshold)``: where false accepts equal false rejects, interpolated on the ROC curve.

    >>> equal_error_rate([0.9, 0.8, 0.7, 0.1], [True, True, False, False])
    (0.0, 0.8)
    """
    fpr, tpr, thresholds = roc_curve(scores, same)
    fnr = 1.0 - tpr
    i = int(np.flatnonzero(fpr >= fnr)[0])  # fpr rises and fnr falls, so they cross once
    if i == 0 or fpr[i] == fnr[i]:
        threshold = thresholds[i] if np.isfinite(thresholds[i]) else thresholds[i + 1]
        return float(fpr[i]), float(threshold)
    g0, g1 = fpr[i - 1] - fnr[i - 1], fpr[i] - fnr[i]  # changes sign between points i-1 and i
    w = g0 / (g0 - g1)
    t0 = thresholds[i - 1] if np.isfinite(thresholds[i - 1]) else thresholds[i]
    return float(fpr[i - 1] + w * (fpr[i] - fpr[i - 1])), float(t0 + w * (thresholds[i] - t0))


def verification_accuracy(scores, same, threshold: float) -> float:
    """Fraction of pairs judged right when ``score >= threshold`` means "same".

    >>> verification_accuracy([0.9, 0.8, 0.4, 0.1], [True, False, True, False], 0.5)
    0.5
    """
    s, y = _scored(scores, same)
    return float(((s >= check_real(threshold, "threshold")) == y).mean())


# --------------------------------------------------------------------------- one-shot accuracy


def _one_shot_episodes(labels: np.ndarray, n_way: int, episodes: int, rng):
    """(query, support, position) of each episode: the query's class sits at ``position``."""
    classes, members = _class_index(labels)
    sizes = np.array([m.size for m in members])
    queryable = np.flatnonzero(sizes >= 2)
    if queryable.size == 0:
        raise InvalidParameterError("every class has one item, so no class can give both a support item and a query")
    starts, by_class = np.concatenate([[0], np.cumsum(sizes)[:-1]]), np.concatenate(members)
    target = queryable[rng.integers(0, queryable.size, episodes)]
    noise = rng.random((episodes, classes.size))  # the other classes: distinct, not the target
    noise[np.arange(episodes), target] = np.inf
    chosen = np.concatenate([target[:, None], np.argsort(noise, axis=1)[:, : n_way - 1]], axis=1)
    position = rng.integers(0, n_way, episodes)
    episode = np.arange(episodes)
    chosen[episode, 0] = chosen[episode, position]
    chosen[episode, position] = target
    offsets = (rng.random((episodes, n_way)) * sizes[chosen]).astype(np.int64)
    support = by_class[starts[chosen] + offsets]
    t_size, t_off = sizes[target], offsets[episode, position]
    # the query: another member of the target class than its support item
    q_off = (t_off + 1 + (rng.random(episodes) * (t_size - 1)).astype(np.int64)) % t_size
    return by_class[starts[target] + q_off], support, position


def _one_shot(vectors: np.ndarray, labels: np.ndarray, n_way: int, episodes: int, metric: str, seed: int) -> float:
    query, support, position = _one_shot_episodes(labels, n_way, episodes, np.random.default_rng(seed))
    if metric == "cosine":
        unit = _unit_rows(vectors.astype(np.float64))
        score = np.einsum("ed,end->en", unit[query], unit[support])
    else:
        score = -np.linalg.norm(vectors[support] - vectors[query][:, None, :], axis=2)
    return float((score.argmax(axis=1) == position).mean())


def n_way_one_shot_accuracy(embeddings, labels, *, n_way: int = 5, episodes: int = 1000, metric: str = "cosine",
                            seed: int = 0) -> float:
    """N-way one-shot accuracy: pick the query's class from one example of each of N classes.

    Each episode draws ``n_way`` classes, one support item of each, and a query: another item
    of one of them, the target placed at a random position. The answer is the most similar
    support item; chance is ``1 / n_way``. The same ``seed`` gives the same episodes, so two
    methods face the same tests. Images are flattened, so raw pixels work.

    >>> emb = np.array([[1.0, 0], [1.0, 0.1], [0, 1.0], [0.1, 1.0]])
    >>> n_way_one_shot_accuracy(emb, [0, 0, 1, 1], n_way=2, episodes=20)
    1.0
    """
    metric = check_choice(metric, "metric", METRICS)
    vectors, labels = _labelled_vectors(embeddings, labels, min_classes=2)
    n_way, episodes = check_int(n_way, "n_way", low=2), check_int(episodes, "episodes", low=1)
    n_classes = np.unique(labels).size
    if n_way > n_classes:
        raise InvalidParameterError(f"n_way={n_way} but the labels hold only {n_classes} classes; lower n_way")
    return _one_shot(vectors.astype(np.float64), labels, n_way, episodes, metric, check_seed(seed))


# --------------------------------------------------------------------------- is a gain real?


def per_query_auc(embeddings, labels, *, metric: str = "cosine") -> np.ndarray:
    """For each item as a query: the AUC of its scores against all other items (NaN when alone in its class).

    Their mean is a verification score made of independent-ish units — the queries — that
    :func:`bootstrap_interval` can resample.

    >>> x = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    >>> per_query_auc(x, [0, 0, 1, 1]).tolist()
    [1.0, 1.0, 1.0, 1.0]
    """
    metric = check_choice(metric, "metric", METRICS)
    x, y = _labelled_vectors(embeddings, labels, min_classes=2)
    sim = _similarity(x.astype(np.float64), x.astype(np.float64), metric)
    out = np.full(len(y), np.nan)
    for i in range(len(y)):
        others = np.arange(len(y)) != i
        positive = (y == y[i])[others]
        if positive.any():
            out[i] = _auc(sim[i, others], positive)
    return out


def _confidence(confidence) -> float:
    confidence = check_real(confidence, "confidence", low=0, high=1, low_open=True)
    if confidence >= 1.0:
        raise InvalidParameterError(f"confidence must be below 1 (for example 0.95); got {confidence}")
    return confidence


def bootstrap_interval(values, *, confidence: float = 0.95, resamples: int = 2000, seed: int = 0):
    """``(mean, low, high)``: the mean of per-query values and its percentile bootstrap interval.

    Use it on per-query differences between two methods (hit − hit, AUC − AUC): an interval
    that contains 0 is a gain within what a different draw of queries would give.

    >>> mean, low, high = bootstrap_interval([0.0, 1.0] * 50, seed=0)
    >>> mean, low < 0.5 < high
    (0.5, True)
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    if v.size == 0:
        raise EmptyInputError("bootstrap_interval needs at least one finite value")
    confidence, resamples = _confidence(confidence), check_int(resamples, "resamples", low=1)
    rng = np.random.default_rng(check_seed(seed))
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
    """``(difference, low, high)``: verification AUC of ``embeddings_b`` minus ``embeddings_a``, bootstrapped over queries.

    Both embed the same items. Every item is a query whose row of scores against all other
    items enters the pooled AUC (as :func:`~imgsim_helpers.learned.siamese.pair_scores`, each
    pair seen from both ends); a resample draws the queries with replacement, the same draw for
    both embeddings, so the interval is that of the *difference*.

    >>> rng = np.random.default_rng(0)
    >>> labels = np.repeat(np.arange(8), 4)
    >>> x = rng.normal(size=(32, 6)) + np.eye(6)[labels % 6] * 3
    >>> bootstrap_auc_difference(x, x, labels)
    (0.0, 0.0, 0.0)
    """
    metric = check_choice(metric, "metric", METRICS)
    a, y = _labelled_vectors(embeddings_a, labels, ("embeddings_a", "labels"), min_classes=2)
    b, _ = _labelled_vectors(embeddings_b, labels, ("embeddings_b", "labels"), min_classes=2)
    confidence, resamples = _confidence(confidence), check_int(resamples, "resamples", low=1)
    n = len(y)
    off_diagonal = ~np.eye(n, dtype=bool)
    query = np.broadcast_to(np.arange(n)[:, None], (n, n))[off_diagonal]
    positive = (y[:, None] == y[None, :])[off_diagonal]
    prepared = []
    for x in (a, b):
        scores = _similarity(x.astype(np.float64), x.astype(np.float64), metric)[off_diagonal]
        order = np.argsort(scores, kind="stable")
        ordered = scores[order]
        starts = np.flatnonzero(np.concatenate([[True], ordered[1:] != ordered[:-1]]))
        prepared.append((positive[order], starts, query[order]))

    def difference(counts: np.ndarray) -> float:
        auc_a, auc_b = (_weighted_auc(pos, starts, counts[q].astype(np.float64)) for pos, starts, q in prepared)
        return auc_b - auc_a

    rng = np.random.default_rng(check_seed(seed))
    draws = np.array([difference(np.bincount(rng.integers(0, n, n), minlength=n)) for _ in range(resamples)])
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(draws, [tail, 1.0 - tail])
    return float(difference(np.ones(n))), float(low), float(high)


# --------------------------------------------------------------------------- pictures


def pca_project(vectors, n_components: int = 2) -> np.ndarray:
    """Project vectors on their first principal components (centred, by SVD), for a scatter plot.

    Each component's largest loading is made positive, so the picture does not flip between runs.

    >>> np.round(pca_project(np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]]), 1).ravel(), 3).tolist()
    [-1.414, 0.0, 1.414]
    """
    x = _vectors(vectors, "vectors").astype(np.float64)
    n_components = check_int(n_components, "n_components", low=1)
    if n_components > min(x.shape):
        raise InvalidParameterError(f"n_components={n_components} exceeds min(items, dimensions) = {min(x.shape)}")
    centred = x - x.mean(axis=0)
    axes = np.linalg.svd(centred, full_matrices=False)[2][:n_components]
    signs = np.sign(axes[np.arange(n_components), np.abs(axes).argmax(axis=1)])
    return centred @ (axes * signs[:, None]).T
