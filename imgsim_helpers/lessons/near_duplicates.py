"""Near-duplicate detection as a yes/no decision: labelled pairs, curves, a threshold defended by evidence.

Ranking a gallery (notebook 08) only needs the true match to score *highest*;
deduplicating a catalogue needs a **threshold**: every pair scoring above it
is called a copy. This module builds the evidence for choosing one:

* :func:`build_pair_set` — labelled pairs from the course images and the
  transform library. Positives are copies (JPEG, resizing, brightness,
  contrast, blur, noise, crops, rotations, a flip, a caption, format
  conversions); negatives are different images, including hard ones — two
  views of one scene (overlapping windows of a photo), two patches of one
  texture, one web page in two layouts. Pairs are split **by source image**
  into a calibration half and a test half, so no picture helps choose the
  threshold it is then judged with.
* :func:`benchmark_pairs` / :func:`benchmark_scores` — the same evidence from
  notebook 08's retrieval benchmark: each query against each gallery image.
* :func:`pair_scores` — every pair scored by a registered method
  (:mod:`imgsim_helpers.registry`), each image's feature computed once.
* :func:`threshold_at_precision`, :func:`operating_point`,
  :func:`bootstrap_interval`, :func:`threshold_study` — the threshold that
  reaches a target precision on the calibration half, and the precision and
  recall it gives on the test half with bootstrap confidence intervals
  (resampling source images, since pairs of one source are not independent).
* :func:`download_benchmark` / :func:`near_duplicate_benchmark` — a public
  benchmark (INRIA Copydays) fetched by URL and checked against a pinned
  SHA-256, falling back to the course pairs when the host cannot be reached.

Examples
--------
>>> scores = np.array([0.9, 0.8, 0.7, 0.2, 0.1])
>>> same = np.array([True, True, False, True, False])
>>> threshold_at_precision(scores, same, 1.0)
0.8
"""

from __future__ import annotations

import hashlib
import math
import os
import shutil
import tarfile
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from imgsim_helpers.core.checks import check_image
from imgsim_helpers.core.errors import (
    EmptyInputError,
    ImgSimError,
    InvalidParameterError,
    unknown_name,
)
from imgsim_helpers.images.io import fit_within, resize, to_rgb
from imgsim_helpers.images.transforms import apply_transform

# The copies a near-duplicate detector should accept: (label, transform, strength).
# "resize" halves the image's size (io.resize), the rest come from the transform library.
COPY_CHANGES: tuple[tuple[str, str, float], ...] = (
    ("jpeg q30", "jpeg", 30),
    ("resize ½", "resize", 0.5),
    ("brightness +40", "brightness", 40),
    ("contrast ×0.7", "contrast", 0.7),
    ("blur σ1.5", "blur", 1.5),
    ("noise σ10", "noise", 10),
    ("crop 10%", "crop", 0.1),
    ("crop 25%", "crop", 0.25),
    ("rotate 5°", "rotate", 5),
    ("rotate 90°", "rotate", 90),
    ("flip", "flip", 1),
    ("caption 10%", "text_overlay", 0.1),
)
# Course files that hold the same picture in another format: positives of kind "format".
FORMAT_COPIES: tuple[tuple[str, str], ...] = (("chelsea", "chelsea_exif"), ("camera", "camera_16bit"),
                                              ("coins", "coins_palette"))
HARD_NEGATIVE_KINDS = ("same scene", "same texture", "same page")
SPLITS = ("calibration", "test")


def apply_change(image, transform: str, strength: float, *, seed: int = 0) -> np.ndarray:
    """One copy change: ``"resize"`` scales the image size by ``strength``; any other name is a transform.

    Examples
    --------
    >>> apply_change(np.zeros((40, 60, 3), np.uint8), "resize", 0.5).shape
    (20, 30, 3)
    """
    if transform == "resize":
        image = check_image(image)
        if not 0 < strength <= 4:
            raise InvalidParameterError(f"resize strength is a size factor in (0, 4]; got {strength!r}")
        return resize(image, (max(8, round(image.shape[0] * strength)), max(8, round(image.shape[1] * strength))))
    return apply_transform(image, transform, strength, seed=seed)


@dataclass
class PairSet:
    """Labelled image pairs; images are stored once and pairs refer to them by index.

    Attributes
    ----------
    images, image_names
        The images and a readable name for each (``"astronaut · jpeg q30"``).
    first, second
        Index arrays: pair ``k`` is ``images[first[k]]`` against ``images[second[k]]``.
    same
        True for copies (positives), False for different images.
    kind
        The change that made a positive (``"jpeg q30"``), or the negative's kind:
        ``"different"``, ``"same scene"``, ``"same texture"``, ``"same page"``.
    group
        The source image a pair belongs to (bootstrap resamples these).
    split
        ``"calibration"`` or ``"test"``; all pairs of one source share a split.
    origin
        Where the pairs come from (``"course images"`` or a benchmark's name).
    """

    images: list[np.ndarray]
    image_names: list[str]
    first: np.ndarray
    second: np.ndarray
    same: np.ndarray
    kind: np.ndarray
    group: np.ndarray
    split: np.ndarray
    origin: str = "course images"
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.first)

    def mask(self, split: str) -> np.ndarray:
        """Boolean mask of the pairs in one split."""
        if split not in SPLITS:
            raise unknown_name("split", split, SPLITS)
        return self.split == split

    def counts(self) -> dict:
        """Positives and negatives per split, and pairs per kind."""
        out = {s: {"positives": int((self.same & self.mask(s)).sum()), "negatives": int((~self.same & self.mask(s)).sum())}
               for s in SPLITS}
        out["kinds"] = {str(k): int((self.kind == k).sum()) for k in dict.fromkeys(self.kind.tolist())}
        return out


def _windows(image: np.ndarray, fraction: float) -> list[tuple[str, np.ndarray]]:
    """Two views of one scene: left and right windows, each ``fraction`` of the width, overlapping in the middle."""
    h, w = image.shape[:2]
    width = round(w * fraction)
    return [("left view", image[:, :width].copy()), ("right view", image[:, w - width:].copy())]


def _texture_patches(image: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """Two patches of one texture that share no pixel: the top-left and bottom-right quarters."""
    h, w = image.shape[:2]
    return [("top-left patch", image[: h // 2, : w // 2].copy()), ("bottom-right patch", image[h - h // 2:, w - w // 2:].copy())]


def build_pair_set(
    names: Sequence[str] | None = None,
    *,
    max_side: int = 256,
    changes: Sequence[tuple[str, str, float]] = COPY_CHANGES,
    negatives_per_pair: int = 3,
    seed: int = 0,
) -> PairSet:
    """Labelled copy / not-copy pairs from the course images, split by source into calibration and test.

    Parameters
    ----------
    names
        Course image names to use as sources (default: every photo, texture and graphic).
    max_side
        Every source is first shrunk to fit this size.
    changes
        ``(label, transform, strength)`` copy changes; each source gets each one.
    negatives_per_pair
        For every two sources in the same split, this many negative pairs, each
        between a seeded choice of their copies (so negatives are as edited as positives).
    seed
        Fixes the split, the crops' positions, the noise and the negative choices.

    Examples
    --------
    >>> pairs = build_pair_set(["astronaut", "camera", "brick", "coffee"], max_side=64, negatives_per_pair=1)
    >>> sorted(set(pairs.split.tolist()))
    ['calibration', 'test']
    """
    from imgsim_helpers.images.data import course_image, list_course_images

    if names is None:
        names = [n for kind in ("photo", "texture", "graphic") for n in list_course_images(kind=kind)]
    names = list(dict.fromkeys(names))
    if len(names) < 4:
        raise EmptyInputError(f"build_pair_set needs at least 4 source images (two per split); got {len(names)}")
    if negatives_per_pair < 1:
        raise InvalidParameterError(f"negatives_per_pair must be at least 1; got {negatives_per_pair!r}")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(names))
    split_of = {names[i]: SPLITS[rank % 2] for rank, i in enumerate(order)}

    images: list[np.ndarray] = []
    image_names: list[str] = []
    rows: list[tuple[int, int, bool, str, str]] = []

    def add(image: np.ndarray, label: str) -> int:
        images.append(image)
        image_names.append(label)
        return len(images) - 1

    copies: dict[str, list[int]] = {}
    for s, name in enumerate(names):
        source = fit_within(to_rgb(course_image(name)), max_side)
        original = add(source, name)
        copies[name] = [original]
        for c, (label, transform, strength) in enumerate(changes):
            copy = add(apply_change(source, transform, strength, seed=seed + 31 * s + c), f"{name} · {label}")
            copies[name].append(copy)
            rows.append((original, copy, True, label, name))
        kind = _kind_of(name)
        hard = _windows(source, 0.6) if kind in ("photo", "graphic") else _texture_patches(source)
        a, b = (add(view, f"{name} · {view_label}") for view_label, view in hard)
        rows.append((a, b, False, "same scene" if kind in ("photo", "graphic") else "same texture", name))
    for name, copy_name in FORMAT_COPIES:
        if name in copies:
            copy = add(fit_within(to_rgb(course_image(copy_name)), max_side), copy_name)
            rows.append((copies[name][0], copy, True, "format", name))
    for split in SPLITS:
        members = [n for n in names if split_of[n] == split]
        for i, a in enumerate(members):
            for b in members[i + 1:]:
                for _ in range(negatives_per_pair):
                    rows.append((int(rng.choice(copies[a])), int(rng.choice(copies[b])), False, "different", a))
    # one web page in two layouts: the same content, not a copy
    page = "screenshot"
    desktop = add(fit_within(to_rgb(course_image("screenshot_desktop")), max_side), "screenshot_desktop")
    mobile = add(fit_within(to_rgb(course_image("screenshot_mobile")), max_side), "screenshot_mobile")
    rows.append((desktop, mobile, False, "same page", page))
    split_of[page] = SPLITS[int(rng.integers(2))]

    first, second, same, kind, group = (np.array(column) for column in zip(*rows, strict=True))
    return PairSet(images, image_names, first.astype(int), second.astype(int), same.astype(bool),
                   kind.astype(str), group.astype(str), np.array([split_of[g] for g in group]))


def benchmark_pairs(bench, *, seed: int = 0) -> PairSet:
    """Notebook 08's retrieval benchmark as labelled pairs: every query against every gallery image.

    A query and its source are a copy (kind: the query's transform family); a query and any other
    gallery image are not (kind ``"same page"`` for the two screenshots of one web page, else
    ``"different"``). Pairs are grouped by the query's source and split by source, as in
    :func:`build_pair_set`; the scores are the rows of a method's queries × gallery matrix
    (:func:`benchmark_scores`). Images are not copied.
    """
    n_queries, n_gallery = len(bench.queries), len(bench.gallery)
    sources = np.asarray(bench.query_source)
    names = [bench.gallery_names[i] for i in dict.fromkeys(sources.tolist())]
    order = np.random.default_rng(seed).permutation(len(names))
    split_of = {names[i]: SPLITS[rank % 2] for rank, i in enumerate(order)}
    first = np.repeat(np.arange(n_queries), n_gallery)
    second = np.tile(np.arange(n_gallery), n_queries)
    same = second == sources[first]
    source_name = np.array(bench.gallery_names)[sources[first]]
    gallery_name = np.array(bench.gallery_names)[second]
    page = np.isin(source_name, ["screenshot_desktop", "screenshot_mobile"]) & np.isin(
        gallery_name, ["screenshot_desktop", "screenshot_mobile"])
    kind = np.where(same, np.array(bench.query_family)[first], np.where(page, "same page", "different"))
    return PairSet(list(bench.queries) + list(bench.gallery),
                   [f"query {k}" for k in range(n_queries)] + list(bench.gallery_names),
                   first, n_queries + second, same, kind.astype(str), source_name,
                   np.array([split_of[n] for n in source_name]), origin="notebook 08's retrieval benchmark")


def benchmark_scores(score_matrix) -> np.ndarray:
    """A queries × gallery score matrix in :func:`benchmark_pairs`' order; a failed score (NaN) is never a copy."""
    return np.nan_to_num(np.asarray(score_matrix, np.float64).ravel(), nan=-math.inf)


def _kind_of(name: str) -> str:
    from imgsim_helpers.images.data import manifest

    return next((row.kind for row in manifest() if row.name == name), "photo")


# --------------------------------------------------------------------------- scoring


def pair_features(method, pairs: PairSet) -> list:
    """Each image's feature under a built registry method (``None`` where it cannot be computed)."""
    try:
        features = list(method.features(pairs.images))
    except ImgSimError:
        features = []
    if len(features) == len(pairs.images):
        return features
    features = []
    for image in pairs.images:
        try:
            features.append(method.extract(image))
        except ImgSimError:
            features.append(None)
    return features


def pair_scores(method, pairs: PairSet, features: list | None = None) -> np.ndarray:
    """Score every pair with a built registry method; each image's feature is computed once.

    ``features`` (from :func:`pair_features`) skips the extraction. A pair
    whose feature cannot be computed scores ``-inf``: it is never called a copy.
    """
    features = pair_features(method, pairs) if features is None else features
    scores = np.empty(len(pairs), dtype=np.float64)
    for k, (i, j) in enumerate(zip(pairs.first, pairs.second, strict=True)):
        if features[i] is None or features[j] is None:
            scores[k] = -math.inf
            continue
        try:
            scores[k] = method.compare(features[i], features[j])
        except ImgSimError:
            scores[k] = -math.inf
    return scores


def colorhash_method():
    """ImageHash's colour hash as a method object, to measure it beside the registry's hashes.

    It is not in the registry: on the course pairs no threshold reaches a useful
    precision (notebook 09 measures it), because it keeps colour shares and no layout.
    """
    from imgsim_helpers.metrics.hashing import hash_similarity, image_hash
    from imgsim_helpers.registry import SimilarityMethod

    return SimilarityMethod(name="colorhash", family="hash", description="ImageHash colour hash (42 bits), 1 − Hamming/42",
                            extract=lambda image: image_hash(image, "colorhash"), compare=hash_similarity)


def retrieve_then_verify(query_vectors, gallery_vectors, verify, *, candidates: int = 100) -> dict:
    """An exact index proposes ``candidates`` per query; ``verify(query, gallery_position)`` re-ranks them.

    Parameters
    ----------
    query_vectors, gallery_vectors
        Embeddings (cosine); the index is FAISS's exact ``IndexFlatIP``.
    verify
        ``verify(query_number, gallery_position) -> float``, higher = more
        certainly the same picture (for example a keypoint inlier score).
    candidates
        How many the index proposes per query (at most the gallery's size).

    Returns
    -------
    dict
        ``"before"`` and ``"after"``: ``queries × candidates`` arrays of
        gallery positions, best first — by embedding score, and by
        verification score with the embedding order breaking ties.
        ``"verified"``: the verification scores, in the ``before`` order.
    """
    from imgsim_helpers.scale.index import build_index

    index = build_index(gallery_vectors, "flat")
    count = int(min(candidates, index.count))
    if count < 1:
        raise InvalidParameterError(f"candidates must be at least 1; got {candidates!r}")
    _, before = index.search(query_vectors, count)
    verified = np.array([[verify(q, int(g)) for g in row] for q, row in enumerate(before)], dtype=np.float64)
    order = np.argsort(-verified, axis=1, kind="stable")  # stable: the index's order breaks ties
    after = np.take_along_axis(before, order, axis=1)
    return {"before": before, "after": after, "verified": verified}


def _check_scores(scores, same) -> tuple[np.ndarray, np.ndarray]:
    scores, same = np.asarray(scores, np.float64), np.asarray(same, bool)
    if scores.ndim != 1 or scores.shape != same.shape:
        raise InvalidParameterError(f"scores and labels must be 1-D and of one length; got {scores.shape} and {same.shape}")
    if not same.any() or same.all():
        raise EmptyInputError("the pairs need both positives and negatives to choose a threshold")
    if np.isnan(scores).any():
        raise InvalidParameterError("scores hold NaN; score failures as -inf (never a copy)")
    return scores, same


def operating_point(scores, same, threshold: float) -> dict:
    """Counts and rates when every pair scoring ``>= threshold`` is called a copy.

    Precision is ``None`` when nothing is called a copy (it is undefined, not 0 or 1).

    Examples
    --------
    >>> operating_point([0.9, 0.5, 0.4], [True, False, True], 0.45)["recall"]
    0.5
    """
    scores, same = np.asarray(scores, np.float64), np.asarray(same, bool)
    called = scores >= threshold
    tp, fp = int((called & same).sum()), int((called & ~same).sum())
    fn, tn = int((~called & same).sum()), int((~called & ~same).sum())
    return {
        "threshold": float(threshold), "true_positives": tp, "false_positives": fp, "false_negatives": fn,
        "true_negatives": tn, "precision": tp / (tp + fp) if tp + fp else None,
        "recall": tp / (tp + fn) if tp + fn else None, "false_positive_rate": fp / (fp + tn) if fp + tn else None,
    }


def threshold_at_precision(scores, same, target: float) -> float:
    """The lowest threshold whose precision on these pairs reaches ``target`` (the most recall at that precision).

    Returns ``inf`` when no threshold reaches it (call nothing a copy).
    """
    scores, same = _check_scores(scores, same)
    if not 0 < target <= 1:
        raise InvalidParameterError(f"target precision must be in (0, 1]; got {target!r}")
    finite = np.unique(scores[np.isfinite(scores)])
    order = np.argsort(-scores, kind="stable")
    ranked, labels = scores[order], same[order]
    true_above = np.cumsum(labels)
    best = math.inf
    for threshold in finite[::-1]:  # highest first; keep lowering while precision holds
        called = np.searchsorted(-ranked, -threshold, side="right")  # pairs with score >= threshold
        if true_above[called - 1] / called >= target:
            best = float(threshold)
    return best


def bootstrap_interval(scores, same, groups, threshold: float, *, resamples: int = 1000, level: float = 0.95,
                       seed: int = 0) -> dict:
    """Percentile bootstrap intervals of precision and recall at a fixed threshold, resampling groups.

    Pairs of one source image are not independent, so whole sources are drawn
    with replacement. Resamples in which a rate is undefined are left out of
    its interval. Returns ``{"precision": (low, high), "recall": (low, high)}``
    (``None`` where no resample defines the rate).
    """
    scores, same, groups = np.asarray(scores, np.float64), np.asarray(same, bool), np.asarray(groups)
    if not 0 < level < 1:
        raise InvalidParameterError(f"level must be in (0, 1); got {level!r}")
    names, index = np.unique(groups, return_inverse=True)
    called = scores >= threshold
    # per group: true positives, called, positives
    tp = np.bincount(index, weights=called & same, minlength=len(names))
    n_called = np.bincount(index, weights=called, minlength=len(names))
    n_positive = np.bincount(index, weights=same, minlength=len(names))
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(names), size=(resamples, len(names)))
    counts = np.stack([np.bincount(row, minlength=len(names)) for row in draws])
    sums = {name: counts @ values for name, values in (("tp", tp), ("called", n_called), ("positive", n_positive))}
    out = {}
    for rate, denominator in (("precision", "called"), ("recall", "positive")):
        valid = sums[denominator] > 0
        values = sums["tp"][valid] / sums[denominator][valid]
        tail = (1 - level) / 2 * 100
        out[rate] = tuple(float(v) for v in np.percentile(values, [tail, 100 - tail])) if values.size else None
    return out


def threshold_study(scores_by_method: dict[str, np.ndarray], pairs: PairSet, *, target_precision: float = 0.95,
                    resamples: int = 1000, seed: int = 0) -> list[dict]:
    """Per method: threshold chosen on the calibration split at ``target_precision``, judged on the test split.

    Each row holds the method, average precision and ROC AUC on the test split,
    the threshold, the test precision and recall with bootstrap intervals, and
    recall per kind of copy on the test split.
    """
    from sklearn.metrics import average_precision_score, roc_auc_score

    calibration, test = pairs.mask("calibration"), pairs.mask("test")
    rows = []
    for name, scores in scores_by_method.items():
        scores = np.asarray(scores, np.float64)
        threshold = threshold_at_precision(scores[calibration], pairs.same[calibration], target_precision)
        point = operating_point(scores[test], pairs.same[test], threshold)
        interval = bootstrap_interval(scores[test], pairs.same[test], pairs.group[test], threshold,
                                      resamples=resamples, seed=seed)
        ranked = np.nan_to_num(scores[test], neginf=np.min(scores[np.isfinite(scores)]) - 1)
        by_kind = {}
        for kind in dict.fromkeys(pairs.kind[test & pairs.same].tolist()):
            chosen = test & pairs.same & (pairs.kind == kind)
            by_kind[kind] = float((scores[chosen] >= threshold).mean())
        hard_negatives = test & np.isin(pairs.kind, HARD_NEGATIVE_KINDS)
        rows.append({
            "method": name, "threshold": threshold,
            "average_precision": float(average_precision_score(pairs.same[test], ranked)),
            "roc_auc": float(roc_auc_score(pairs.same[test], ranked)),
            "precision": point["precision"], "precision_ci": interval["precision"],
            "recall": point["recall"], "recall_ci": interval["recall"],
            "false_positives": point["false_positives"], "called": point["true_positives"] + point["false_positives"],
            "hard_negatives_called": int((scores[hard_negatives] >= threshold).sum()),
            "recall_by_kind": by_kind,
        })
    return rows


def format_threshold_table(rows: list[dict]) -> str:
    """The precision-at-threshold table as Markdown-style text (intervals in brackets)."""
    def rate(value, interval):
        if value is None:
            return "— (nothing called)"
        text = f"{value:.2f}"
        return text + (f" [{interval[0]:.2f}, {interval[1]:.2f}]" if interval else "")

    lines = ["| method | threshold | test precision [95% CI] | test recall [95% CI] | AP | ROC AUC |",
             "|---|---|---|---|---|---|"]
    for row in rows:
        threshold = "none reaches it" if math.isinf(row["threshold"]) else f"{row['threshold']:.4g}"
        lines.append(f"| {row['method']} | {threshold} | {rate(row['precision'], row['precision_ci'])} | "
                     f"{rate(row['recall'], row['recall_ci'])} | {row['average_precision']:.3f} | {row['roc_auc']:.3f} |")
    return "\n".join(lines)


def plot_curves(scores_by_method: dict[str, np.ndarray], pairs: PairSet, *, split: str = "test", axes=None):
    """Precision–recall (left) and ROC (right) curves of each method on one split; returns the figure."""
    import matplotlib.pyplot as plt
    from sklearn.metrics import precision_recall_curve, roc_curve

    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(12, 4.8))
    else:
        fig = axes[0].figure
    chosen = pairs.mask(split)
    same = pairs.same[chosen]
    colours = plt.get_cmap("tab20")(np.linspace(0, 1, max(len(scores_by_method), 2)))
    for (name, scores), colour in zip(scores_by_method.items(), colours, strict=False):
        scores = np.asarray(scores, np.float64)
        finite_min = np.min(scores[np.isfinite(scores)])
        s = np.nan_to_num(scores[chosen], neginf=finite_min - 1)
        precision, recall, _ = precision_recall_curve(same, s)
        fpr, tpr, _ = roc_curve(same, s)
        axes[0].plot(recall, precision, label=name, drawstyle="steps-post", color=colour)
        axes[1].plot(fpr, tpr, label=name, color=colour)
    axes[0].set(xlabel="recall", ylabel="precision", title=f"precision–recall ({split} pairs)", ylim=(0, 1.02))
    axes[1].plot([0, 1], [0, 1], color="0.7", linestyle=":")
    axes[1].set(xlabel="false positive rate", ylabel="true positive rate", title=f"ROC ({split} pairs)")
    axes[1].legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- hash invariance


def hash_invariance(images: Sequence[np.ndarray], changes: Sequence[tuple[str, str, float]] = COPY_CHANGES,
                    kinds: Sequence[str] = ("ahash", "dhash", "phash", "whash"), *, seed: int = 0) -> dict:
    """Mean bits that change, per hash and per copy change, over ``images`` (64-bit hashes).

    Returns ``{kind: {change label: mean Hamming distance}}`` plus, under
    ``"_unrelated"``, each hash's mean distance between two different images —
    the level at which a hash has learned nothing.
    """
    from imgsim_helpers.metrics.hashing import hamming_distance, image_hash

    images = list(images)
    if len(images) < 2:
        raise EmptyInputError("hash_invariance needs at least two images (the unrelated level compares different ones)")
    table: dict = {kind: {} for kind in kinds}
    originals = {kind: [image_hash(image, kind) for image in images] for kind in kinds}
    for c, (label, transform, strength) in enumerate(changes):
        changed = [apply_change(image, transform, strength, seed=seed + c) for image in images]
        for kind in kinds:
            distances = [hamming_distance(h, image_hash(x, kind)) for h, x in zip(originals[kind], changed, strict=True)]
            table[kind][label] = float(np.mean(distances))
    table["_unrelated"] = {}
    for kind in kinds:
        hashes = originals[kind]
        distances = [hamming_distance(hashes[i], hashes[j]) for i in range(len(hashes)) for j in range(i + 1, len(hashes))]
        table["_unrelated"][kind] = float(np.mean(distances))
    return table


# --------------------------------------------------------------------------- a public benchmark


class ChecksumMismatchError(ImgSimError, ValueError):
    """A downloaded file's SHA-256 is not the pinned one (a changed mirror or a corrupt download)."""


class DownloadUnavailableError(ImgSimError, OSError):
    """The host of a dataset cannot be reached (offline, DNS, refused, timed out)."""


@dataclass(frozen=True)
class RemoteFile:
    """A file to download and the SHA-256 it must have."""

    url: str
    sha256: str
    filename: str


# INRIA Copydays (Jégou, Douze & Schmid, 2008; copyright INRIA, research use, cite the paper), as
# re-hosted by Meta AI for copy-detection research (the original INRIA host no longer answers).
# The checksums are as recorded by another project that downloaded these files; this course's
# machines have no network, so they were not re-verified here: a mismatch raises, it never passes.
COPYDAYS: tuple[RemoteFile, ...] = (
    RemoteFile("https://dl.fbaipublicfiles.com/vissl/datasets/copydays_original.tar.gz",
               "8b85b7914fd0145bc258bde3440f6a622243ca91ee085fe2025ce7bdeb0bfb8e", "copydays_original.tar.gz"),
    RemoteFile("https://dl.fbaipublicfiles.com/vissl/datasets/copydays_strong.tar.gz",
               "7852c64aa4a37e8329ce08159fc947c16f09c66737db0a2479a90fc9ae40760c", "copydays_strong.tar.gz"),
)


def file_sha256(path: str | os.PathLike) -> str:
    """The SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download_file(remote: RemoteFile, folder: str | os.PathLike, *, timeout: float = 20.0) -> Path:
    """Download ``remote`` into ``folder`` (skipped when a file with the pinned checksum is there).

    Raises
    ------
    DownloadUnavailableError
        When the host cannot be reached or answers with an HTTP error.
    ChecksumMismatchError
        When the bytes do not have the pinned SHA-256; the bad file is deleted.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / remote.filename
    if target.is_file() and file_sha256(target) == remote.sha256:
        return target
    partial = target.with_name(target.name + ".part")
    try:
        with urllib.request.urlopen(remote.url, timeout=timeout) as response, open(partial, "wb") as out:  # noqa: S310
            shutil.copyfileobj(response, out)
    except (urllib.error.URLError, OSError) as error:
        partial.unlink(missing_ok=True)
        raise DownloadUnavailableError(f"cannot download {remote.url}: {error}; check the network, or put "
                                       f"{remote.filename} into {folder} yourself") from error
    actual = file_sha256(partial)
    if actual != remote.sha256:
        partial.unlink(missing_ok=True)
        raise ChecksumMismatchError(f"{remote.url} has SHA-256 {actual}, expected {remote.sha256}; the file was "
                                    "deleted. The mirror changed or the download broke: retry, or pin the new "
                                    "checksum after checking the file by hand")
    partial.replace(target)
    return target


def download_benchmark(files: Sequence[RemoteFile], folder: str | os.PathLike, *, timeout: float = 20.0) -> Path:
    """Download and unpack every archive of a benchmark into ``folder``; the folder it was unpacked into."""
    folder = Path(folder)
    unpacked = folder / "unpacked"
    for remote in files:
        archive = download_file(remote, folder, timeout=timeout)
        destination = unpacked / remote.filename.split(".")[0]
        if not destination.is_dir():
            with tarfile.open(archive) as tar:
                tar.extractall(destination, filter="data")
    return unpacked


def copydays_pairs(folder: str | os.PathLike, *, max_side: int = 256, negatives_per_image: int = 3,
                   seed: int = 0) -> PairSet:
    """Pairs from unpacked Copydays archives: each strong attack against its original, and different originals.

    Copydays names images by a 6-digit number; the first four digits are the
    scene (``200000.jpg`` is an original, ``200001.jpg`` an attacked copy of it).
    """
    from imgsim_helpers.images.io import load_image

    folder = Path(folder)
    originals = {p.stem[:4]: p for p in sorted((folder / "copydays_original").rglob("*.jpg"))}
    attacked = sorted((folder / "copydays_strong").rglob("*.jpg"))
    if not originals or not attacked:
        raise EmptyInputError(f"no Copydays images under {folder}; expected copydays_original/ and copydays_strong/")
    rng = np.random.default_rng(seed)
    scenes = sorted(originals)
    split_of = {scene: SPLITS[rank % 2] for rank, scene in enumerate(rng.permutation(scenes))}
    images, image_names, rows, index_of = [], [], [], {}
    for scene in scenes:
        index_of[scene] = len(images)
        images.append(fit_within(load_image(originals[scene]), max_side))
        image_names.append(originals[scene].name)
    for path in attacked:
        if path.stem[:4] in index_of:
            images.append(fit_within(load_image(path), max_side))
            image_names.append(path.name)
            rows.append((index_of[path.stem[:4]], len(images) - 1, True, "strong attack", path.stem[:4]))
    for scene in scenes:
        others = [s for s in scenes if s != scene and split_of[s] == split_of[scene]]
        for other in rng.choice(others, size=min(negatives_per_image, len(others)), replace=False):
            rows.append((index_of[scene], index_of[str(other)], False, "different", scene))
    first, second, same, kind, group = (np.array(column) for column in zip(*rows, strict=True))
    return PairSet(images, image_names, first.astype(int), second.astype(int), same.astype(bool), kind.astype(str),
                   group.astype(str), np.array([split_of[g] for g in group]), origin="INRIA Copydays (strong)")


def near_duplicate_benchmark(*, download: bool = False, folder: str | os.PathLike | None = None,
                             files: Sequence[RemoteFile] = COPYDAYS, timeout: float = 20.0, **course_options) -> PairSet:
    """Copydays pairs when ``download`` is asked for and the host answers, else the course pairs.

    A host that cannot be reached falls back to :func:`build_pair_set` and says
    so in ``notes``; a checksum mismatch is raised (:class:`ChecksumMismatchError`),
    never silently replaced.
    """
    if download:
        folder = Path(folder) if folder is not None else Path.home() / ".cache" / "imgsim" / "copydays"
        try:
            unpacked = download_benchmark(files, folder, timeout=timeout)
        except DownloadUnavailableError as error:
            pairs = build_pair_set(**course_options)
            pairs.notes.append(f"benchmark not downloaded ({error}); using the course pairs")
            return pairs
        return copydays_pairs(unpacked, max_side=course_options.get("max_side", 256), seed=course_options.get("seed", 0))
    return build_pair_set(**course_options)
