"""Every sentence of notebook 08's decision guide, checked on the executed notebook."""

import pytest

from imgsim_helpers.methods import METHOD_NAMES
from tests.notebook_runs import smoke_claims

pytestmark = pytest.mark.notebook


@pytest.fixture(scope="module")
def claims():
    return smoke_claims("08_which_method_when")


def test_every_method_is_in_the_table_unavailable_ones_marked(claims):
    assert set(claims["status"]) == set(METHOD_NAMES)
    for method in claims["unavailable_methods"]:
        assert claims["status"][method].startswith("unavailable")
    assert claims["n_queries"] >= 60 and claims["n_gallery"] >= 8


def test_geometry_changes_favour_keypoints(claims):
    guide = claims["guide"]
    assert guide["geometry_sift"] > guide["geometry_ssim"] + 0.2
    assert guide["geometry_sift"] > guide["geometry_fsim"] + 0.2


def test_lighting_changes_favour_structure_over_histograms(claims):
    guide = claims["guide"]
    assert guide["brightness_ssim"] >= 0.9 and guide["brightness_fsim"] >= 0.9
    assert guide["brightness_histogram"] <= 0.5


def test_blur_favours_ms_ssim_over_keypoints(claims):
    assert claims["guide"]["blur_ms_ssim"] >= 0.9
    assert claims["guide"]["blur_sift"] <= 0.5


def test_mirrors(claims):
    guide = claims["guide"]
    assert guide["flip_histogram"] == 1.0
    assert guide["flip_orb"] == 0.0
    assert guide["flip_sift"] <= 0.5


LEARNED = {"mobilenet_v2", "vgg16", "clip", "siamese"}


KEYPOINTS = {"sift", "surf", "orb", "akaze"}
# FSIM is not here: its per-image feature is phase congruency, in the range of a CNN forward pass.
CHEAP_TO_EXTRACT = {"histogram_rgb", "histogram_hsv", "ssim", "ms_ssim"}


def test_learned_embedding_is_best_overall(claims):
    assert claims["overall_best"] in LEARNED


def test_embeddings_cost_more_per_image_than_histograms_and_pixel_metrics(claims):
    # Only the ordering against cheap methods is claimed: against keypoint detection the
    # order flips between machines (SURF on 2 cores vs a multi-threaded CNN), so the prose
    # says "about as much" there.
    cost = claims["cost"]
    for learned in LEARNED & set(cost):
        for cheap in CHEAP_TO_EXTRACT:
            assert cost[learned]["extract_ms"] >= 5 * cost[cheap]["extract_ms"], (learned, cheap)


def test_embeddings_compare_far_cheaper_than_keypoint_matching_and_fsim(claims):
    cost = claims["cost"]
    for learned in LEARNED & set(cost):
        assert cost[learned]["compare_us"] < 100, learned
        for keypoints in KEYPOINTS:
            assert cost[keypoints]["compare_us"] >= 20 * cost[learned]["compare_us"], (learned, keypoints)
        assert cost["fsim"]["compare_us"] >= 10 * cost[learned]["compare_us"], learned


def test_histograms_compare_a_hundred_times_cheaper(claims):
    cost = claims["cost"]
    for expensive in ("ssim", "ms_ssim", "sift", "surf"):
        assert cost[expensive]["compare_us"] >= 100 * cost["histogram_rgb"]["compare_us"], expensive
    for tens in ("fsim", "orb", "akaze"):
        assert cost[tens]["compare_us"] >= 20 * cost["histogram_rgb"]["compare_us"], tens
    assert cost["histogram_rgb"]["compare_us"] < 20


def test_best_per_family_is_consistent_with_the_table(claims):
    for family, winners in claims["best_per_family"].items():
        top = max(r[family] for r in claims["recall"].values())
        assert all(claims["recall"][w][family] == top for w in winners)
