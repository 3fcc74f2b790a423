"""Every number the prose of notebook 05 relies on, checked on the executed notebook.

Without the real CLIP weights the notebook runs on random weights (and says
so); the tests then check only what holds for any weights. Assertions about
what CLIP *understands* (search, labels, near duplicates, the scale of its
cosines) run only on a record made with the pretrained weights.
"""

import pytest

from tests.notebook_runs import smoke_claims

pytestmark = pytest.mark.notebook


@pytest.fixture(scope="module")
def claims():
    return smoke_claims("05_clip")


@pytest.fixture(scope="module")
def pretrained(claims):
    return claims["weights"] == "pretrained"


def test_weights_are_flagged(claims):
    assert claims["weights"] in ("pretrained", "local", "random")
    if claims["weights"] == "random":
        # the loader failed fast and said why, and the notebook fell back
        assert "random initialisation" in claims["weights_source"]
        assert "weights unavailable" in claims["weights_source"]
        assert claims["load_seconds"] < 60


def test_embeddings_are_unit_vectors_of_the_model_size(claims):
    assert claims["embedding_dim"] == 640  # ViT-B-16-plus-240
    n, d = claims["gallery_shape"]
    assert d == 640 and n >= 5
    assert claims["max_norm_error"] < 1e-5
    assert claims["text_shape"][1] == 640
    assert claims["text_max_norm_error"] < 1e-5


def test_similarity_matrix_is_symmetric_with_unit_diagonal(claims):
    assert claims["diagonal_max_error"] < 1e-5
    assert claims["symmetry_max_error"] < 1e-6
    low, high = claims["cosine_range"]
    assert -1.0 <= low <= high <= 1.0
    n = claims["gallery_shape"][0]
    assert len(claims["pair_cosines"]) == n * (n - 1) // 2
    best = max(claims["pair_cosines"])
    assert claims["top_pairs"][0][2] == pytest.approx(best, abs=1e-4)
    assert [p[2] for p in claims["top_pairs"]] == sorted((p[2] for p in claims["top_pairs"]), reverse=True)


def test_near_duplicate_record_is_consistent(claims, pretrained):
    nd = claims["near_duplicate"]
    assert len(nd["labels"]) == len(nd["to_source"]) == len(nd["best_other"]) == len(nd["rank"]) >= 2
    found = [r == 1 for r in nd["rank"]]
    assert claims["near_duplicate_recall"] == pytest.approx(sum(found) / len(found))
    for to_source, best_other, rank in zip(nd["to_source"], nd["best_other"], nd["rank"], strict=True):
        assert (rank == 1) == (to_source > best_other)
    if pretrained:
        # "a changed copy is far closer to its source than to any other course image, for every kind of change"
        assert claims["near_duplicate_recall"] >= 0.9
        assert min(claims["near_duplicate_recall_per_change"].values()) >= 0.8


def test_text_search_agrees_with_the_matrix(claims, pretrained):
    assert claims["top_k_check"] == {"scores_match": True, "sorted": True, "best_is_row_max": True,
                                     "no_better_left_out": True}
    assert 0.0 <= claims["text_recall_at_1"] <= 1.0
    if pretrained:
        # "the intended image comes first for most sentences"
        assert claims["text_recall_at_1"] >= 0.7
        assert claims["text_top1"].get("a cat", "chelsea") == "chelsea"


def test_zero_shot_softmax_keeps_the_cosine_order(claims, pretrained):
    assert claims["zero_shot_probability_sum_error"] < 1e-9
    assert claims["zero_shot_argmax_is_cosine_argmax"] is True
    assert 0.0 <= claims["zero_shot_accuracy"] <= 1.0
    if claims["weights"] == "random":
        assert claims["zero_shot_logit_scale"] == pytest.approx(1 / 0.07, rel=1e-3)
    if pretrained:
        assert claims["zero_shot_logit_scale"] == pytest.approx(100.0, rel=0.01)
        assert claims["zero_shot_accuracy"] >= 0.7


def test_cos_sim_is_the_cosine_matrix(claims):
    # "on the same embeddings it gives the same numbers as h.cosine_similarity_matrix"
    assert claims["cos_sim_max_difference"] < 1e-5


def test_sentence_clip_fails_fast_or_loads(claims):
    assert claims["sentence_clip_status"] in ("pretrained", "unavailable")
    if claims["sentence_clip_status"] == "unavailable":
        assert claims["sentence_clip_error"].startswith("WeightsUnavailableError")
        assert "hf download sentence-transformers/clip-ViT-B-32" in claims["sentence_clip_error"]
        assert claims["sentence_clip_seconds"] < 10  # no minute-long retries
    elif claims["weights"] == "pretrained":
        assert claims["sentence_clip_text_recall_at_1"] >= 0.5


def test_missing_file_crash_versus_a_named_error(claims):
    assert claims["classic_missing_file_error"] == "AttributeError"
    assert claims["our_missing_file_error"] == "ImageNotFoundError"
    assert claims["our_error_names_the_file"] is True


def test_classic_reading_bugs(claims):
    # IMREAD_UNCHANGED ignores the EXIF rotation: the sideways-stored photo arrives sideways
    assert claims["classic_shape_image2"] == [451, 300, 3]
    assert claims["course_shape_image2"] == [300, 451, 3]
    # alpha dropped: the transparent background is black for the script, white for the course loader
    assert claims["classic_transparent_mean"] < 10
    assert claims["course_transparent_mean"] > 245


def test_channel_swap_moves_the_embedding(claims, pretrained):
    assert claims["bgr_names"], "at least one colour image"
    assert len(claims["rgb_vs_bgr"]) == len(claims["rgb_vs_jpeg30"]) == len(claims["bgr_names"])
    # for any weights: BGR input gives a different embedding (nearly gray images move least)
    assert all(c < 1 - 1e-6 for c in claims["rgb_vs_bgr"])
    if pretrained:
        # "it moves it further, on average, than heavy JPEG compression does"
        mean = lambda values: sum(values) / len(values)  # noqa: E731
        assert mean(claims["rgb_vs_bgr"]) < mean(claims["rgb_vs_jpeg30"])


def test_classic_score_ignores_its_arguments(claims):
    assert claims["classic_score"] == claims["classic_score_other_arguments"]
    assert -100.0 <= claims["classic_score"] <= 100.0
    assert claims["classic_score"] == round(claims["classic_score"], 2)


def test_cosine_is_not_a_percentage(claims, pretrained):
    assert -1.0 <= claims["pair_cosine_min"] <= claims["pair_cosine_median"] <= 1.0
    assert 0.0 <= claims["correct_score_percentile"] <= 100.0
    assert 0.0 <= claims["classic_score_percentile"] <= 100.0
    if pretrained:
        # "even unrelated images score far above 0"
        assert claims["pair_cosine_median"] > 0.2


def test_generate_score_done_right(claims, pretrained):
    # it uses its arguments: on two gallery images it reproduces the similarity matrix
    assert claims["generate_score_vs_matrix"] < 1e-5
    assert -1.0 <= claims["correct_score"] <= 1.0
    if pretrained:
        # the EXIF-tagged copy, read correctly, is the same photo: close to 1, above every gallery pair,
        # and above the classic script's "percentage" for the same two files
        assert claims["correct_score"] > 0.95
        assert claims["correct_score_percentile"] == 100.0
        assert claims["correct_score"] > claims["classic_score"] / 100
