"""Every sentence of notebook 08's decision guide, checked on the executed notebook.

No test here reads a timing: the notebook prints the times it measured "on this run", and the
cost sentences are checked by what does not move with load — feature sizes, the multiply-adds a
comparison needs, a network's counted floating-point operations.
"""

import pytest

from imgsim_helpers.registry import METHOD_NAMES

pytestmark = pytest.mark.notebook

LEARNED = {"mobilenet_v2", "vgg16", "clip", "siamese"}
KEYPOINTS = {"sift", "surf", "orb", "akaze"}
HASHES = {"ahash", "dhash", "phash", "whash"}  # notebook 09's perceptual hashes, when registered
VECTORS = {"histogram_rgb", "histogram_hsv"} | LEARNED | HASHES


@pytest.fixture(scope="module")
def work(claims):
    return {m: c["compare_work"] for m, c in claims["cost"].items()}


def test_every_method_is_in_the_table_unavailable_ones_marked(claims):
    assert set(claims["status"]) == set(METHOD_NAMES)
    for method in claims["unavailable_methods"]:
        assert claims["status"][method].startswith("unavailable")
    assert claims["n_queries"] >= 60 and claims["n_gallery"] >= 8


def test_the_heatmap_keeps_the_unavailable_methods_marked(claims):
    # "Methods that could not run here are kept in the heatmap, marked unavailable"
    expected = [m if claims["status"][m] == "ok" else f"{m} (unavailable)" for m in METHOD_NAMES]
    assert claims["heatmap_rows"] == expected


def test_geometry_changes_favour_keypoints(claims):
    guide = claims["guide"]
    assert guide["geometry_sift"] > guide["geometry_ssim"] + 0.2
    assert guide["geometry_sift"] > guide["geometry_fsim"] + 0.2
    if "geometry_mse" in guide:
        assert guide["geometry_sift"] > guide["geometry_mse"] + 0.2


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


def test_learned_embedding_is_best_overall(claims):
    assert claims["overall_best"] in LEARNED


def test_gray_images_explain_histogram_hsv(claims):
    # "the HSV histograms of all gray images are identical ... a query from a gray source ties"
    assert claims["gray_hsv_histograms_identical"] is True
    gray_sources, n_sources = claims["gray_sources"]
    gray_distractors, n_distractors = claims["gray_distractors"]
    assert gray_sources >= 1 and gray_distractors >= 1
    split = claims["hsv_recall_by_source"]
    # "finds almost none" on gray sources, "far better" on colour ones
    assert split["gray sources"] <= 0.1
    assert split["colour sources"] >= split["gray sources"] + 0.4
    if not claims["_smoke"]:
        # "in the full run 6 of the 16 sources and 3 of the 4 distractors"
        assert (gray_sources, n_sources) == (6, 16)
        assert (gray_distractors, n_distractors) == (3, 4)


def test_networks_do_thousands_of_operations_per_pixel(claims):
    # "a MobileNetV2 forward pass is hundreds of millions of floating-point operations per image —
    #  thousands per pixel of its 224 × 224 input"
    flops = claims["network_flops"]
    if "mobilenet_v2" not in flops:
        pytest.skip("mobilenet_v2 did not run")
    assert 1e8 <= flops["mobilenet_v2"]["flops"] < 1e9
    assert flops["mobilenet_v2"]["input_pixels"] == 224 * 224
    assert flops["mobilenet_v2"]["flops"] / flops["mobilenet_v2"]["input_pixels"] >= 1000


def test_embeddings_compare_with_far_less_work_than_keypoints_and_fsim(claims, work):
    # "one dot product over about a thousand numbers, far less work than matching two sets of
    #  keypoints or comparing two FSIM maps"
    learned = LEARNED & set(work)
    assert learned, "at least one learned method ran"
    for method in learned:
        assert 500 <= claims["cost"][method]["feature_bytes"] / 4 <= 2048, method
        for expensive in KEYPOINTS | {"fsim"}:
            assert work[expensive] >= 10 * work[method], (method, expensive)


def test_histograms_compare_with_hundreds_to_thousands_of_times_less_work(work):
    # "SSIM, MS-SSIM, SIFT, SURF, ORB: hundreds to thousands of times the multiply-adds of a histogram
    #  comparison — AKAZE about a hundred times. FSIM: the same order as AKAZE, several times less than SSIM"
    cheapest = work["histogram_rgb"]
    ratios = {m: work[m] / cheapest for m in ("ssim", "ms_ssim", "sift", "surf", "orb")}
    assert min(ratios.values()) >= 100, ratios
    assert max(ratios.values()) >= 1000, ratios
    assert 50 <= work["akaze"] / cheapest <= 300
    assert work["akaze"] / 3 <= work["fsim"] <= 3 * work["akaze"]
    assert work["fsim"] * 3 <= work["ssim"]
    for pixels in {"mse", "psnr"} & set(work):
        # "MSE and PSNR read every pixel of both images once: more than a histogram, far less than SSIM"
        assert cheapest < work[pixels] <= work["ssim"] / 10, pixels


def test_cost_plot_ranks_by_work_at_a_million_images(claims, work):
    # the plot's right end is decided by the work per comparison: vector comparisons stay lowest
    vectors = VECTORS & set(work)
    for vector in vectors:
        for other in set(work) - VECTORS - {"mse", "psnr"}:
            assert work[other] > 10 * work[vector], (vector, other)
    assert set(claims["query_cost_at_a_million"]) == set(claims["cost"])


def test_siamese_head_does_not_beat_plain_mobilenet(claims):
    # "It finds fewer sources than plain mobilenet_v2 (the difference and its 95 % bootstrap interval)"
    if "siamese_minus_mobilenet" not in claims:
        pytest.skip("siamese or mobilenet_v2 did not run")
    mean, low, high = claims["siamese_minus_mobilenet"]
    assert low <= mean <= high
    assert mean < 0
    assert low < 0
    if not claims["_smoke"]:
        # "in the full run the whole interval lies below 0"
        assert high < 0


def test_best_per_family_is_consistent_with_the_table(claims):
    for family, winners in claims["best_per_family"].items():
        top = max(r[family] for r in claims["recall"].values())
        assert all(claims["recall"][w][family] == top for w in winners)


def test_worked_solutions_ran(claims):
    assert set(claims["exercise_other_sources"]["geometry"]) == {"histogram_rgb", "ssim", "sift"}
    fusion = claims["exercise_fusion"]
    assert set(fusion["improved"]).isdisjoint(fusion["worse"])
    rerank = claims["exercise_rerank"]
    assert 0.0 <= rerank["reranked"] <= 1.0 and rerank["shortlist"] >= 1
