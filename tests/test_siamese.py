"""Siamese networks (learned.siamese) and notebook 07's samplers and statistics (lessons.siamese_study)."""

import functools
import itertools

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from imgsim_helpers.core.errors import (
    EmptyInputError,
    InvalidParameterError,
    ShapeMismatchError,
    UnknownMethodError,
)
from imgsim_helpers.learned import siamese as S
from imgsim_helpers.lessons import siamese_study as study

label_arrays = st.lists(st.integers(0, 5), min_size=4, max_size=40).filter(
    lambda xs: len(set(xs)) >= 2 and max(xs.count(v) for v in set(xs)) >= 2
)


# --------------------------------------------------------------------------- samplers


@settings(max_examples=40, deadline=None)
@given(labels=label_arrays, n=st.integers(1, 50), seed=st.integers(0, 10))
def test_pairs_are_balanced_and_labelled_right(labels, n, seed):
    labels = np.array(labels)
    first, second, same = study.sample_pairs(labels, n, seed=seed)
    assert len(first) == len(second) == len(same) == n
    assert int(same.sum()) == round(n * 0.5)
    np.testing.assert_array_equal(labels[first] == labels[second], same)
    assert (first[same] != second[same]).all()


def test_pairs_are_reproducible_and_cover_classes():
    labels = np.repeat(np.arange(10), 5)
    a = study.sample_pairs(labels, 2000, seed=3)
    b = study.sample_pairs(labels, 2000, seed=3)
    c = study.sample_pairs(labels, 2000, seed=4)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0], c[0])
    assert set(labels[a[0]]) == set(range(10))
    first, _, same = study.sample_pairs(labels, 10, positive_fraction=0.2, seed=0)
    assert same.sum() == 2 and same[:2].all()


@settings(max_examples=30, deadline=None)
@given(labels=label_arrays, n=st.integers(1, 30), seed=st.integers(0, 10))
def test_triplets_are_valid(labels, n, seed):
    labels = np.array(labels)
    a, p, neg = study.sample_triplets(labels, n, seed=seed)
    assert (a != p).all()
    assert (labels[a] == labels[p]).all()
    assert (labels[a] != labels[neg]).all()


def test_hard_negatives_are_harder():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(20), 10)
    emb = rng.normal(size=(200, 8)) + labels[:, None] * 0.05
    a, p, n_rand = study.sample_triplets(labels, 500, seed=1)
    a2, p2, n_hard = study.sample_triplets(labels, 500, negatives="hard", embeddings=emb, seed=1)
    a3, _, n_pool = study.sample_triplets(labels, 500, negatives="hard", embeddings=emb, candidates=8, seed=1)
    np.testing.assert_array_equal(a, a2)
    np.testing.assert_array_equal(a, a3)
    d = lambda i, j: np.linalg.norm(emb[i] - emb[j], axis=1)  # noqa: E731
    assert d(a, n_hard).mean() < d(a, n_pool).mean() < d(a, n_rand).mean()
    assert (labels[a] != labels[n_hard]).all() and (labels[a] != labels[n_pool]).all()
    # the hardest negative is the closest other-class item
    i = 0
    others = np.flatnonzero(labels != labels[a[i]])
    assert n_hard[i] == others[np.argmin(np.linalg.norm(emb[others] - emb[a[i]], axis=1))]


def test_pk_batches():
    labels = np.repeat(np.arange(6), [2, 5, 5, 5, 5, 9])
    batches = list(S.pk_batches(labels, classes_per_batch=4, samples_per_class=3, n_batches=5, seed=0))
    assert len(batches) == 5
    for batch in batches:
        counts = np.bincount(labels[batch], minlength=6)
        assert sorted(counts[counts > 0].tolist()) == [3, 3, 3, 3]
    again = list(S.pk_batches(labels, classes_per_batch=4, samples_per_class=3, n_batches=5, seed=0))
    assert all(np.array_equal(x, y) for x, y in zip(batches, again, strict=True))
    with pytest.raises(InvalidParameterError, match="only 6 classes"):
        next(S.pk_batches(labels, classes_per_batch=7, samples_per_class=2, n_batches=1))


# --------------------------------------------------------------------------- losses


def test_contrastive_loss_known_values():
    a = torch.zeros(3, 2)
    b = torch.tensor([[0.3, 0.4], [0.2, 0.0], [0.9, 0.0]])
    # positive at 0.5 -> 0.25; negative at 0.2, margin 0.5 -> 0.09; negative at 0.9 -> 0
    value = S.contrastive_loss(a, b, torch.tensor([1.0, 0.0, 0.0]), margin=0.5)
    assert float(value) == pytest.approx((0.25 + 0.09 + 0.0) / 3, abs=1e-6)
    satisfied = S.contrastive_loss(a[:1], a[:1], [1.0], margin=0.5)
    assert float(satisfied) == pytest.approx(0.0, abs=1e-5)


def test_triplet_loss_known_values_and_zero_when_satisfied():
    a, p, n = torch.zeros(2, 2), torch.tensor([[0.1, 0.0], [0.5, 0.0]]), torch.tensor([[1.0, 0.0], [0.0, 0.6]])
    # first: 0.1 - 1.0 + 0.2 < 0 -> 0; second: 0.5 - 0.6 + 0.2 = 0.1
    assert float(S.triplet_loss(a, p, n, margin=0.2)) == pytest.approx(0.05, abs=1e-6)
    assert float(S.triplet_loss(a[:1], p[:1], n[:1], margin=0.2)) == 0.0


def test_batch_hard_matches_brute_force():
    torch.manual_seed(0)
    emb = torch.nn.functional.normalize(torch.randn(12, 5), dim=1)
    labels = torch.arange(4).repeat_interleave(3)
    expected = []
    for i in range(12):
        pos = [torch.dist(emb[i], emb[j]) for j in range(12) if j != i and labels[j] == labels[i]]
        neg = [torch.dist(emb[i], emb[j]) for j in range(12) if labels[j] != labels[i]]
        expected.append(max(0.0, float(max(pos) - min(neg)) + 0.3))
    got = S.batch_loss(emb, labels, margin=0.3)
    assert float(got) == pytest.approx(np.mean(expected), abs=1e-5)
    hp, hn = None, None
    for i in range(12):
        pos = [float(torch.dist(emb[i], emb[j])) for j in range(12) if j != i and labels[j] == labels[i]]
        neg = [float(torch.dist(emb[i], emb[j])) for j in range(12) if labels[j] != labels[i]]
        hp = (hp or []) + [max(pos)]
        hn = (hn or []) + [min(neg)]
    contrastive = 0.5 * np.mean(np.square(hp)) + 0.5 * np.mean(np.square(np.maximum(0, 0.5 - np.array(hn))))
    assert float(S.batch_loss(emb, labels, loss="contrastive", margin=0.5)) == pytest.approx(contrastive, abs=1e-5)


def test_random_mining_is_between_zero_and_batch_hard_and_reproducible():
    torch.manual_seed(1)
    emb = torch.nn.functional.normalize(torch.randn(16, 4), dim=1)
    labels = torch.arange(4).repeat_interleave(4)
    hard = float(S.batch_loss(emb, labels, margin=0.2))
    r1 = S.batch_loss(emb, labels, mining="random", margin=0.2, generator=torch.Generator().manual_seed(3))
    r2 = S.batch_loss(emb, labels, mining="random", margin=0.2, generator=torch.Generator().manual_seed(3))
    assert 0.0 <= float(r1) <= hard
    assert float(r1) == float(r2)


def test_losses_give_finite_gradients_at_zero_distance():
    x = torch.zeros(4, 3, requires_grad=True)
    S.batch_loss(x + torch.tensor([1.0, 0, 0]), torch.tensor([0, 0, 1, 1])).backward()
    assert torch.isfinite(x.grad).all()


# --------------------------------------------------------------------------- networks


@pytest.mark.parametrize("size", [12, 28, 40])
def test_embedding_net_output_is_unit_length(size):
    net = S.EmbeddingNet(dim=16, width=8)
    out = net(torch.rand(5, 1, size, size))
    assert out.shape == (5, 16)
    torch.testing.assert_close(out.norm(dim=1), torch.ones(5))
    assert net(torch.rand(2, size, size)).shape == (2, 16), "a channel axis is added to gray batches"


def test_seeded_networks_start_identical_and_leave_the_global_rng_alone():
    torch.manual_seed(7)
    expected = torch.rand(1)
    torch.manual_seed(7)
    a, b = S.EmbeddingNet(seed=3), S.EmbeddingNet(seed=3)
    assert torch.rand(1) == expected
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(pa, pb)
    c = S.EmbeddingNet(seed=4)
    assert not torch.equal(next(a.parameters()), next(c.parameters()))


def test_head_starts_as_identity_and_learns():
    head = S.EmbeddingHead(6, hidden=4)
    x = torch.randn(3, 6)
    torch.testing.assert_close(head(x), torch.nn.functional.normalize(x, dim=1))
    assert S.embed(head, x.numpy(), device="cpu").shape == (3, 6)


# --------------------------------------------------------------------------- training


def _toy_problem(seed=0):
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(6), 6)
    prototypes = rng.random((6, 16, 16)) > 0.7
    images = prototypes[labels] * 0.8 + rng.random((36, 16, 16)) * 0.3
    return images.astype(np.float32), labels


def test_training_is_reproducible_for_a_seed():
    images, labels = _toy_problem()
    runs = []
    for seed in (0, 0, 1):
        net = S.EmbeddingNet(dim=8, width=4, seed=0)
        history = S.train_siamese(net, images, labels, epochs=2, steps_per_epoch=3, classes_per_batch=3,
                                  samples_per_class=3, mining="random", seed=seed, device="cpu", progress=False)
        runs.append(history.step_losses)
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]
    assert len(runs[0]) == 6


def test_training_learns_and_early_stopping_keeps_the_best_epoch():
    images, labels = _toy_problem()
    val_images, val_labels = _toy_problem(seed=1)
    net = S.EmbeddingNet(dim=8, width=4, seed=0)
    before = S.roc_auc(*S.pair_scores(S.embed(net, val_images, device="cpu"), val_labels))
    history = S.train_siamese(net, images, labels, validation=(val_images, val_labels), epochs=12, patience=2,
                              min_delta=0.5, classes_per_batch=4, samples_per_class=3, lr=1e-2,
                              device="cpu", progress=False)
    # min_delta=0.5 cannot be met after the first epoch: stop after 1 + patience epochs
    assert history.epochs == 3 and history.stopped_early and history.best_epoch == 0
    assert len(history.validation) == 3
    after = S.roc_auc(*S.pair_scores(S.embed(net, val_images, device="cpu"), val_labels))
    assert after == pytest.approx(history.validation[0], abs=1e-9), "the best epoch's weights are restored"
    assert history.validation[0] > before or history.validation[0] > 0.9
    assert not net.training


def test_training_with_contrastive_loss_a_callable_metric_and_augment():
    images, labels = _toy_problem()
    calls = []

    def augment(batch, generator):
        calls.append(batch.shape)
        return batch + 0.01 * torch.rand(batch.shape, generator=generator)

    net = S.EmbeddingNet(dim=8, width=4)
    one_shot = functools.partial(study.n_way_one_shot_accuracy, n_way=5, episodes=500)
    history = S.train_siamese(net, images, labels, validation=_toy_problem(seed=2), loss="contrastive",
                              margin=0.5, metric=one_shot, epochs=2, classes_per_batch=3, samples_per_class=2,
                              augment=augment, device="cpu", progress=False)
    assert history.metric == "n_way_one_shot_accuracy" and all(0 <= v <= 1 for v in history.validation)
    # the callable's score is what history records: the restored weights score it again
    assert one_shot(S.embed(net, _toy_problem(seed=2)[0], device="cpu"), _toy_problem(seed=2)[1]) == pytest.approx(
        history.validation[history.best_epoch])
    assert calls and calls[0][0] == 6


# --------------------------------------------------------------------------- evaluation


def _brute_auc(scores, same):
    pos, neg = scores[same], scores[~same]
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p, n in itertools.product(pos, neg))
    return wins / (len(pos) * len(neg))


@settings(max_examples=60, deadline=None)
@given(
    scores=st.lists(st.integers(0, 6), min_size=2, max_size=25),
    flags=st.lists(st.booleans(), min_size=2, max_size=25),
)
def test_roc_auc_equals_the_pair_count(scores, flags):
    n = min(len(scores), len(flags))
    s, y = np.array(scores[:n], float), np.array(flags[:n])
    assume(y.any() and not y.all())  # both classes, or AUC is undefined: discard, not pass
    assert S.roc_auc(s, y) == pytest.approx(_brute_auc(s, y), abs=1e-12)
    fpr, tpr, thresholds = study.roc_curve(s, y)
    assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0.0, 0.0, 1.0, 1.0)
    assert (np.diff(fpr) >= 0).all() and (np.diff(tpr) >= 0).all() and (np.diff(thresholds) < 0).all()
    assert np.trapezoid(tpr, fpr) == pytest.approx(S.roc_auc(s, y), abs=1e-12)


def test_equal_error_rate_hand_computed():
    assert study.equal_error_rate([0.9, 0.8, 0.7, 0.1], [True, True, False, False]) == (0.0, 0.8)
    # scores 4 3 2 1 with labels + - + -: fpr/fnr cross halfway between thresholds 3 and 2 at 0.5
    eer, threshold = study.equal_error_rate([4, 3, 2, 1], [True, False, True, False])
    assert eer == pytest.approx(0.5) and 2 <= threshold <= 3
    # perfectly inverted scores: every threshold errs
    assert study.equal_error_rate([0.1, 0.2, 0.8, 0.9], [True, True, False, False])[0] == pytest.approx(1.0)


def test_verification_accuracy_hand_computed():
    scores, same = [0.9, 0.8, 0.4, 0.1], [True, False, True, False]
    assert study.verification_accuracy(scores, same, 0.5) == 0.5
    assert study.verification_accuracy(scores, same, 0.85) == 0.75
    assert study.verification_accuracy(scores, same, 0.0) == 0.5


def test_n_way_accuracy_on_constructed_embeddings():
    labels = np.repeat(np.arange(30), 3)
    separated = np.eye(30)[labels] + 0.01 * np.random.default_rng(0).random((90, 30))
    assert study.n_way_one_shot_accuracy(separated, labels, n_way=20, episodes=300) == 1.0
    # identical embeddings tie everywhere: argmax picks the first support, right 1/N of the time
    tied = np.ones((90, 4))
    acc = study.n_way_one_shot_accuracy(tied, labels, n_way=5, episodes=4000, seed=1)
    assert acc == pytest.approx(0.2, abs=0.03)
    noise = np.random.default_rng(2).normal(size=(90, 16))
    assert study.n_way_one_shot_accuracy(noise, labels, n_way=10, episodes=4000, metric="euclidean") == pytest.approx(0.1, abs=0.03)
    # the same seed gives the same episodes, so two embeddings are compared fairly
    assert study.n_way_one_shot_accuracy(noise, labels, n_way=5, seed=9) == study.n_way_one_shot_accuracy(noise, labels, n_way=5, seed=9)


def test_n_way_uses_a_different_item_as_the_query():
    # class mates point in opposite directions (cosine -1), other classes are orthogonal (0):
    # the query is always wrong unless it were compared with itself (cosine 1)
    labels = np.array([0, 0, 1, 1])
    emb = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    assert study.n_way_one_shot_accuracy(emb, labels, n_way=2, episodes=200) == 0.0


def test_pair_scores_similarity_and_pca():
    emb = np.random.default_rng(0).normal(size=(7, 3))
    labels = np.array([0, 0, 1, 1, 2, 2, 2])
    scores, same = S.pair_scores(emb, labels)
    assert len(scores) == 21 and same.sum() == 1 + 1 + 3
    sim = study.similarity_matrix(emb)
    i, j = np.triu_indices(7, 1)
    np.testing.assert_allclose(scores, sim[i, j])
    np.testing.assert_allclose(study.score_pairs(emb, i, j), sim[i, j])
    np.testing.assert_allclose(study.score_pairs(emb, i, j, metric="euclidean"), study.similarity_matrix(emb, metric="euclidean")[i, j])
    sampled, sampled_same = S.pair_scores(emb, labels, max_pairs=5, seed=3)
    assert len(sampled) == 5 and set(np.round(sampled, 12)) <= set(np.round(scores, 12))
    assert sampled_same.sum() <= same.sum()
    xy = study.pca_project(emb, 2)
    assert xy.shape == (7, 2) and xy[:, 0].var() >= xy[:, 1].var()
    np.testing.assert_allclose(xy.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(study.pca_project(emb * 1.0, 2), xy)
    images = np.random.default_rng(1).random((4, 5, 5))
    assert study.similarity_matrix(images).shape == (4, 4), "images are flattened into pixel vectors"


def test_siamese_scores_use_the_one_cosine_and_a_zero_vector_scores_zero():
    from imgsim_helpers.learned.embeddings import cosine_similarity_matrix

    emb = np.array([[0.0, 0.0], [3.0, 4.0], [4.0, 3.0]])
    scores, _ = S.pair_scores(emb, [0, 0, 1])
    np.testing.assert_array_equal(scores, cosine_similarity_matrix(emb, emb)[np.triu_indices(3, 1)])
    assert scores.tolist()[:2] == [0.0, 0.0] and np.isfinite(scores).all()
    sampled, _ = S.pair_scores(emb, [0, 0, 1], max_pairs=2, seed=0)
    assert set(np.round(sampled, 12)) <= set(np.round(scores, 12))


def test_near_duplicate_set_and_split():
    rng = np.random.default_rng(0)
    gallery = {name: (rng.random((48, 64, 3)) * 255).astype(np.uint8) for name in "abcd"}
    data = S.near_duplicate_set(gallery, grid=2, copies=2, seed=0)
    assert len(data) == 4 * 4 * 3
    assert data.labels.tolist() == np.repeat(np.arange(16), 3).tolist()
    assert data.edits[0] == "original" and data.edits[1].count("+") == 1
    assert all(im.dtype == np.uint8 and im.ndim == 3 for im in data.images)
    again = S.near_duplicate_set(gallery, grid=2, copies=2, seed=0)
    assert again.edits == data.edits
    train, test = data.split(test=1, seed=0)
    assert len(set(test.sources)) == 1 and not set(train.sources) & set(test.sources)
    assert len(train) + len(test) == len(data)
    with pytest.raises(InvalidParameterError):
        data.split(test=4)
    with pytest.raises(UnknownMethodError):
        S.near_duplicate_set(gallery, edits=("warp",))
    with pytest.raises(EmptyInputError):
        S.near_duplicate_set({})
    with pytest.raises(InvalidParameterError, match="too small"):
        S.near_duplicate_set({"tiny": np.zeros((10, 10, 3), np.uint8)}, grid=3)


# --------------------------------------------------------------------------- bad input


def test_bad_labels_and_embeddings_raise_typed_errors():
    emb = np.zeros((4, 2))
    with pytest.raises(EmptyInputError):
        study.sample_pairs([], 3)
    with pytest.raises(InvalidParameterError, match="at least 2 different classes"):
        study.sample_pairs([1, 1, 1], 3)
    with pytest.raises(InvalidParameterError, match="integer class labels"):
        study.sample_pairs(["a", "b"], 3)
    with pytest.raises(InvalidParameterError, match="no class has two items"):
        study.sample_pairs([0, 1, 2], 3)
    with pytest.raises(InvalidParameterError, match="needs embeddings"):
        study.sample_triplets([0, 0, 1, 1], 2, negatives="hard")
    with pytest.raises(ShapeMismatchError):
        study.sample_triplets([0, 0, 1, 1], 2, negatives="hard", embeddings=emb[:3])
    with pytest.raises(UnknownMethodError):
        study.sample_triplets([0, 0, 1, 1], 2, negatives="semi")
    with pytest.raises(ShapeMismatchError):
        S.pair_scores(emb, [0, 1, 1])
    with pytest.raises(InvalidParameterError, match="NaN"):
        S.pair_scores(np.full((2, 2), np.nan), [0, 1])
    with pytest.raises(EmptyInputError):
        S.pair_scores(np.zeros((0, 2)), [])
    with pytest.raises(InvalidParameterError, match="n_way=5"):
        study.n_way_one_shot_accuracy(emb, [0, 0, 1, 1], n_way=5)
    with pytest.raises(InvalidParameterError, match="one item"):
        study.n_way_one_shot_accuracy(emb[:3], [0, 1, 2], n_way=2)
    with pytest.raises(InvalidParameterError):
        study.n_way_one_shot_accuracy(emb, [0, 0, 1, 1], n_way=1)
    with pytest.raises(UnknownMethodError):
        study.similarity_matrix(emb, metric="manhattan")
    with pytest.raises(ShapeMismatchError):
        study.similarity_matrix(emb, np.zeros((2, 3)))
    with pytest.raises(InvalidParameterError):
        study.pca_project(emb, 3)
    with pytest.raises(InvalidParameterError, match="outside"):
        study.score_pairs(emb, [0], [9])


def test_bad_scores_raise_typed_errors():
    with pytest.raises(InvalidParameterError, match="both positive and negative"):
        S.roc_auc([0.1, 0.2], [True, True])
    with pytest.raises(ShapeMismatchError):
        S.roc_auc([0.1, 0.2], [True])
    with pytest.raises(EmptyInputError):
        study.roc_curve([], [])
    with pytest.raises(InvalidParameterError):
        study.equal_error_rate([0.1, np.inf], [True, False])
    with pytest.raises(InvalidParameterError):
        study.verification_accuracy([0.1, 0.2], [2, 0], 0.5)


def test_bad_losses_and_training_options_raise_typed_errors():
    emb = torch.zeros(4, 2)
    with pytest.raises(UnknownMethodError):
        S.batch_loss(emb, torch.tensor([0, 0, 1, 1]), loss="arcface")
    with pytest.raises(UnknownMethodError):
        S.batch_loss(emb, torch.tensor([0, 0, 1, 1]), mining="semi_hard")
    with pytest.raises(InvalidParameterError, match="margin"):
        S.triplet_loss(emb, emb, emb, margin=0)
    with pytest.raises(InvalidParameterError, match="no anchor"):
        S.batch_loss(emb, torch.tensor([0, 1, 2, 3]))
    with pytest.raises(ShapeMismatchError):
        S.contrastive_loss(emb, emb[:3], [1, 0, 1])
    with pytest.raises(ShapeMismatchError):
        S.triplet_loss(emb, emb[:3], emb)
    images, labels = _toy_problem()
    net = S.EmbeddingNet(dim=4, width=2)
    with pytest.raises(ShapeMismatchError):
        S.train_siamese(net, images, labels[:-1], progress=False)
    with pytest.raises(InvalidParameterError, match="at least 2 different classes"):
        S.train_siamese(net, images, np.zeros(len(images), int), progress=False)
    with pytest.raises(EmptyInputError):
        S.train_siamese(net, np.zeros((0, 8, 8)), np.zeros(0, int), progress=False)
    with pytest.raises(UnknownMethodError):
        S.train_siamese(net, images, labels, loss="hinge", progress=False)
    with pytest.raises(UnknownMethodError):
        S.train_siamese(net, images, labels, metric="f1", progress=False)
    with pytest.raises(InvalidParameterError):
        S.train_siamese(net, images, labels, epochs=0, progress=False)
    with pytest.raises(InvalidParameterError, match="validation"):
        S.train_siamese(net, images, labels, validation=images, progress=False)
    with pytest.raises(InvalidParameterError, match="augment"):
        S.train_siamese(net, images, labels, augment="flip", progress=False)
    with pytest.raises(InvalidParameterError, match="progress"):
        S.train_siamese(net, images, labels, progress="no")
    with pytest.raises(InvalidParameterError, match="NaN"):
        S.train_siamese(net, np.full_like(images, np.nan), labels, progress=False)
    with pytest.raises(InvalidParameterError):
        S.EmbeddingNet(dim=0)


# --------------------------------------------------------------------------- per-query AUC and the bootstrap


def test_per_query_auc_mean_tracks_the_pair_auc_and_marks_lonely_items():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(6), 5)
    x = rng.normal(size=(30, 8)) + 2.0 * np.eye(8)[labels]
    per_query = study.per_query_auc(x, labels)
    assert per_query.shape == (30,) and np.all((per_query >= 0) & (per_query <= 1))
    assert per_query.mean() == pytest.approx(S.roc_auc(*S.pair_scores(x, labels)), abs=0.05)
    lonely = study.per_query_auc(x[:6], [0, 0, 1, 1, 2, 3])
    assert np.isnan(lonely[4]) and np.isnan(lonely[5]) and np.isfinite(lonely[:4]).all()


def test_bootstrap_interval_holds_the_mean_and_narrows_with_more_queries():
    rng = np.random.default_rng(1)
    few, many = rng.normal(0.3, 1.0, 20), rng.normal(0.3, 1.0, 2000)
    for values in (few, many):
        mean, low, high = study.bootstrap_interval(values, seed=0)
        assert low < mean < high and mean == pytest.approx(values.mean())
    width = lambda v: np.subtract(*study.bootstrap_interval(v, seed=0)[2:0:-1])  # noqa: E731
    assert width(many) < width(few) / 4
    assert study.bootstrap_interval([1.0, 1.0, 1.0]) == (1.0, 1.0, 1.0)
    assert study.bootstrap_interval(few, seed=3) == study.bootstrap_interval(few, seed=3)


@pytest.mark.parametrize("kwargs", [dict(values=[]), dict(values=[np.nan]), dict(values=[1.0], confidence=1.0),
                                    dict(values=[1.0], confidence=0), dict(values=[1.0], resamples=0)])
def test_bootstrap_interval_bad_input(kwargs):
    with pytest.raises((EmptyInputError, InvalidParameterError)):
        study.bootstrap_interval(**kwargs)


@pytest.mark.parametrize("mode", ["no_grad", "inference_mode"])
def test_training_enables_gradients_itself_under_a_callers_no_grad_or_inference_mode(mode):
    images, labels = _toy_problem()
    expected = S.train_siamese(S.EmbeddingNet(dim=8, width=4, seed=0), images, labels, epochs=1,
                               steps_per_epoch=2, classes_per_batch=3, samples_per_class=3,
                               device="cpu", progress=False).step_losses
    net = S.EmbeddingNet(dim=8, width=4, seed=0)  # built outside: inference-mode parameters cannot train
    context = torch.no_grad() if mode == "no_grad" else torch.inference_mode()
    with context:
        history = S.train_siamese(net, images, labels, epochs=1,
                                  steps_per_epoch=2, classes_per_batch=3, samples_per_class=3,
                                  device="cpu", progress=False)
        assert not torch.is_grad_enabled(), "the caller's mode is back after training"
    assert history.step_losses == expected


def test_bootstrap_auc_difference_matches_the_pooled_auc_and_brackets_it():
    rng = np.random.default_rng(2)
    labels = np.repeat(np.arange(10), 4)
    base = rng.normal(size=(40, 8))
    weak, strong = base + 1.0 * np.eye(8)[labels % 8], base + 3.0 * np.eye(8)[labels % 8]
    difference, low, high = study.bootstrap_auc_difference(weak, strong, labels, resamples=300, seed=0)
    expected = S.roc_auc(*S.pair_scores(strong, labels)) - S.roc_auc(*S.pair_scores(weak, labels))
    assert difference == pytest.approx(expected, abs=1e-12)
    assert 0 < low <= difference <= high, "a clear gain: the interval excludes 0"
    # swapping the two negates the difference and mirrors the interval (same resamples)
    swapped = study.bootstrap_auc_difference(strong, weak, labels, resamples=300, seed=0)
    assert swapped == pytest.approx((-difference, -high, -low), abs=1e-9)


def test_bootstrap_auc_difference_bad_input():
    x = np.eye(4)
    with pytest.raises(InvalidParameterError):
        study.bootstrap_auc_difference(x, x, [0, 0, 0, 0])
    with pytest.raises(ShapeMismatchError):
        study.bootstrap_auc_difference(x, x[:3], [0, 0, 1, 1])
