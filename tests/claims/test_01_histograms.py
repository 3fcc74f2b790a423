"""Every number the prose of notebook 01 relies on, checked on the executed notebook."""

import pytest

from tests.notebook_runs import smoke_claims

pytestmark = pytest.mark.notebook


@pytest.fixture(scope="module")
def claims():
    return smoke_claims("01_histograms")


def test_histogram_equals_calchist(claims):
    assert claims["calchist_max_difference"] == 0.0


def test_hue_saturation_histogram_ignores_brightness(claims):
    # "With +40 gray levels the RGB correlation collapses while hue-saturation keeps most of it"
    assert claims["brightness40_rgb_correlation"] < 0.5
    assert claims["brightness40_hs_correlation"] > 0.85


def test_more_bins_lower_both_curves(claims):
    noise, other = claims["bins_noise_correlation"], claims["bins_other_correlation"]
    assert all(a > b for a, b in zip(noise, noise[1:], strict=False))
    assert all(a > b for a, b in zip(other, other[1:], strict=False))
    assert all(n > o for n, o in zip(noise, other, strict=True)), "different images stay further apart"


def test_white_background_dominates_until_ignored(claims):
    assert claims["white_included_horse_coins"] > 0.95
    assert abs(claims["white_ignored_horse_coins"]) < 0.2
    assert claims["white_ignored_horse_horse"] > 0.99


def test_mirror_is_a_perfect_match_and_brightness_is_not(claims):
    table = claims["method_table"]
    assert table["flipped"]["correlation"] == pytest.approx(1.0, abs=1e-9)
    assert table["flipped"]["hellinger"] == pytest.approx(0.0, abs=1e-6)
    for small in ("rotated 10°", "cropped 30%", "noise σ=20"):
        assert table[small]["correlation"] > 0.8, small
        assert table[small]["correlation"] > table["brightness +40"]["correlation"]
    other = [k for k in table if k not in {"itself", "flipped", "rotated 10°", "cropped 30%", "noise σ=20",
                                          "blur σ=4", "JPEG q=20", "brightness +40", "text overlay"}]
    assert table[other[0]]["correlation"] < 0.5


def test_shuffled_pixels_score_as_identical(claims):
    scores = claims["shuffle_scores"]
    assert scores["correlation"] == pytest.approx(1.0, abs=1e-9)
    assert scores["intersection"] == pytest.approx(1.0, abs=1e-6)
    for distance in ("chi_square_alt", "hellinger", "emd"):
        assert scores[distance] == pytest.approx(0.0, abs=1e-6)


def test_opencv_3d_correlation_trap(claims):
    assert claims["ours_correlation"] == pytest.approx(claims["opencv_flat_correlation"], abs=1e-6)
    assert claims["ours_correlation"] == pytest.approx(claims["numpy_pearson"], abs=1e-6)
    assert abs(claims["opencv_3d_correlation"] - claims["opencv_flat_correlation"]) > 0.05


def test_retrieval_keeps_colour_preserving_changes_and_loses_brightness(claims):
    accuracy = claims["retrieval_accuracy"]
    for method, per_family in accuracy.items():
        for kept in ("crop", "rotate", "jpeg", "text_overlay"):
            if kept in per_family:  # smoke runs sweep fewer families
                assert per_family[kept] == 1.0, (method, kept)
        assert per_family["noise"] < 1.0 or per_family.get("blur", 0.0) < 1.0, method
        assert per_family["brightness"] == min(per_family.values()), method
    mean = {f: sum(a[f] for a in accuracy.values()) / len(accuracy) for f in next(iter(accuracy.values()))}
    assert mean["brightness"] < mean["noise"]
    assert claims["retrieval_best_method"] in accuracy
