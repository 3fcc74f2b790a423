"""Siamese training time and the evaluation helpers against what people would write or import instead.

* training: seconds per epoch of notebook 07's glyph model (250 classes × 20
  drawings, batches of 16 classes × 4) and the time of the notebook's full
  run (10 epochs), with the glyph set's generation time;
* ``batch_loss`` (batch-hard, vectorised) against a Python loop over anchors;
* ``n_way_one_shot_accuracy`` (all episodes in one array) against a loop over episodes;
* ``roc_auc`` (ranks) against scikit-learn's ``roc_auc_score``.

Every pair must give the same value. Run with ``python -m benchmarks siamese``.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from benchmarks.timing import best_time, report
from imgsim_helpers.learned import siamese
from imgsim_helpers.lessons import glyphs, siamese_study

NOTEBOOK_EPOCHS = 10


def loop_batch_hard(emb: torch.Tensor, labels: torch.Tensor, margin: float) -> torch.Tensor:
    losses = []
    for i in range(len(labels)):
        d = torch.linalg.norm(emb - emb[i], dim=1)
        pos = d[(labels == labels[i]) & (torch.arange(len(labels)) != i)].max()
        neg = d[labels != labels[i]].min()
        losses.append(torch.clamp(pos - neg + margin, min=0))
    return torch.stack(losses).mean()


def loop_one_shot(vectors: np.ndarray, labels: np.ndarray, n_way: int, episodes: int, seed: int) -> float:
    rng = np.random.default_rng(seed)
    classes = np.unique(labels)
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    right = 0
    for _ in range(episodes):
        chosen = rng.choice(classes, n_way, replace=False)
        support = [rng.choice(np.flatnonzero(labels == c)) for c in chosen]
        query = rng.choice(np.setdiff1d(np.flatnonzero(labels == chosen[0]), support[0]))
        right += int(np.argmax(unit[support] @ unit[query]) == 0)
    return right / episodes


def main() -> None:
    rows = []

    start = time.perf_counter()
    glyph_set = glyphs.make_glyph_set(per_class=20, seed=0)
    cold = time.perf_counter() - start
    warm = best_time(lambda: glyphs.make_glyph_set(per_class=20, seed=1), repeat=3)
    rows.append({"task": f"make_glyph_set ({len(glyph_set)} images)", "ours s": warm, "note": f"first call {cold:.2f} s"})

    train, val, test = glyphs.split_classes(glyph_set, test=80, validation=40, seed=0)
    net = siamese.EmbeddingNet(dim=64, seed=0)
    history = siamese.train_siamese(net, train.images, train.labels, validation=(val.images, val.labels),
                                    epochs=2, classes_per_batch=16, samples_per_class=4, device="cpu", progress=False)
    per_epoch = history.seconds / history.epochs
    rows.append({
        "task": f"train 1 epoch ({len(train)} images, {torch.get_num_threads()} threads)",
        "ours s": per_epoch,
        "note": f"{len(train) / per_epoch:.0f} images/s; notebook full run ({NOTEBOOK_EPOCHS} epochs) ≈ {per_epoch * NOTEBOOK_EPOCHS:.0f} s",
    })

    emb = torch.nn.functional.normalize(torch.randn(64, 64, generator=torch.Generator().manual_seed(0)), dim=1)
    labels = torch.arange(16).repeat_interleave(4)
    ours = siamese.batch_loss(emb, labels, margin=0.2)
    loop = loop_batch_hard(emb, labels, 0.2)
    t_ours = best_time(lambda: siamese.batch_loss(emb, labels, margin=0.2), repeat=20)
    t_loop = best_time(lambda: loop_batch_hard(emb, labels, 0.2), repeat=5)
    rows.append({"task": "batch-hard loss, batch 64", "ours s": t_ours, "peer s": t_loop, "speed-up": t_loop / t_ours,
                 "max |diff|": abs(float(ours) - float(loop)), "note": "peer: loop over anchors"})

    vectors = siamese.embed(net, test.images, device="cpu")
    t_ours = best_time(lambda: siamese_study.n_way_one_shot_accuracy(vectors, test.labels, n_way=20, episodes=1000), repeat=3)
    t_loop = best_time(lambda: loop_one_shot(vectors, test.labels, 20, 1000, 0), repeat=1)
    acc_ours = siamese_study.n_way_one_shot_accuracy(vectors, test.labels, n_way=20, episodes=1000)
    acc_loop = loop_one_shot(vectors, test.labels, 20, 1000, 0)
    rows.append({"task": "20-way one-shot, 1000 episodes", "ours s": t_ours, "peer s": t_loop, "speed-up": t_loop / t_ours,
                 "max |diff|": abs(acc_ours - acc_loop), "note": "peer: loop over episodes (other draws: values agree within noise)"})

    scores, same = siamese.pair_scores(vectors, test.labels)
    try:
        from sklearn.metrics import roc_auc_score
    except ImportError:  # pragma: no cover - scikit-learn ships with the course
        roc_auc_score = None
    t_ours = best_time(lambda: siamese.roc_auc(scores, same), repeat=3)
    row = {"task": f"ROC AUC of {len(scores):,} pairs", "ours s": t_ours}
    if roc_auc_score is not None:
        t_peer = best_time(lambda: roc_auc_score(same, scores), repeat=3)
        row.update({"peer s": t_peer, "speed-up": t_peer / t_ours,
                    "max |diff|": abs(siamese.roc_auc(scores, same) - roc_auc_score(same, scores)),
                    "note": "peer: sklearn.metrics.roc_auc_score"})
    rows.append(row)
    report("siamese", rows)


if __name__ == "__main__":
    main()
