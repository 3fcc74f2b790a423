"""Every number the prose of notebook 03 relies on, checked on the executed notebook."""

import math
import re

import nbformat
import pytest

from imgsim_helpers.core.errors import ImageNotFoundError
from imgsim_helpers.lessons.reference_values import REFERENCE_ENV, readme_values, reference_dir
from tests.notebook_runs import executed_notebook

pytestmark = pytest.mark.notebook

PHOTOMETRIC = [("brightness", 40), ("contrast", 0.6), ("noise", 20)]
SSIMS = ("SSIM", "SSIM, downsampled")


@pytest.fixture(scope="module")
def matlab(claims):
    """FeatureSIM.m's printed values, read from the reference folder's README (never from the notebook).

    Skipped, saying where to get the images, when the notebook ran without them.
    """
    folder = reference_dir(claims["reference_dir"])  # where the notebook looked
    if not claims["reference_available"]:
        pytest.skip(
            f"the notebook ran without the MATLAB reference images (looked in {folder}); set "
            f"{REFERENCE_ENV} to a folder holding goldhill.gif, goldhill_jpeg.gif, I01.BMP and "
            "i01_01_5.bmp (the FSIM test pair and TID2013's I01 with its noisy copy) and its README.md"
        )
    try:
        values = readme_values(folder, metrics=("FSIM", "FSIMc"))
    except ImageNotFoundError as missing:
        pytest.skip(str(missing))
    return {(v.pair, v.metric): v.value for v in values}


def at(scores, claims, transform, strength, metric):
    """A sweep value by strength, so the tests read like the prose."""
    return scores[transform][metric][claims["sweep_strengths"][transform].index(strength)]


def test_helper_call_and_maps(claims):
    side = min(claims["image_shape"][:2])
    assert claims["factor"] == max(1, (side + 128) // 256), "FeatureSIM.m's factor with MATLAB rounding"
    assert claims["map_shape"] == [math.ceil(n / claims["factor"]) for n in claims["image_shape"][:2]]
    low, high = claims["pc_range"]
    assert 0.0 <= low <= high <= 1.0
    by_gradient = claims["pc_by_gradient"]
    assert by_gradient["strong"] > 2 * by_gradient["weak"], "more than twice as high on strong gradients"
    assert by_gradient["weak"] > 0.1, "far from zero on weak structure"


def test_fast_path_equals_the_reference(claims):
    assert claims["reference_difference"]["double"] < 1e-10, "the two agree to rounding"
    assert claims["reference_difference"]["single"] < 1e-6, "far below the 1e-5 of the MATLAB values"


def test_step_edge_pc_ignores_height(claims):
    assert claims["edge_heights"] == [10, 40, 160]
    assert max(claims["edge_pc"]) - min(claims["edge_pc"]) < 1e-3
    for height, gradient in zip(claims["edge_heights"], claims["edge_gradient"], strict=True):
        assert gradient == pytest.approx(height, rel=1e-9)


def test_contrast_response(claims):
    exact = claims["contrast_response"]
    assert exact["factor"] == [1.0, 0.5, 0.2, 0.1, 0.05]
    assert max(exact["pc_mean_abs_change"]) < 1e-4
    for factor, ratio in zip(exact["factor"], exact["gradient_ratio"], strict=True):
        assert ratio == pytest.approx(factor, abs=1e-9)
    rounded = claims["contrast_response_rounded"]["pc_mean_abs_change"]
    assert rounded == sorted(rounded), "the rounding matters more as the contrast drops"
    assert rounded[-1] > 0.02
    assert claims["levels_at_0_05"] < 20


def test_similarity_maps(claims):
    assert abs(claims["weighted_mean_minus_score"]) < 1e-12
    means = claims["noise_map_means"]
    assert means["S_G"] < means["S_PC"], "noise hits the gradient term harder"
    assert means["S_PC"] > 0.99
    assert claims["noise_fsim"] > means["S_L"], "the PC weighting raises the score above the plain mean"


def test_fsim_above_ssim_everywhere(claims):
    for transform, curves in claims["sweep_scores"].items():
        for i, value in enumerate(curves["FSIM"]):
            for ssim_name in SSIMS:
                assert value >= curves[ssim_name][i], (transform, i, ssim_name)
            assert curves["FSIMc"][i] <= value + 1e-12, (transform, i)


def test_unrelated_baseline(claims):
    baseline = claims["unrelated_baseline"]
    assert 0.5 < baseline["FSIM"] < 0.6, "about 0.55"
    assert baseline["SSIM"] < 0.25 and baseline["SSIM, downsampled"] < 0.25


def test_rescaled_photometry_fsim_wins(claims):
    rescaled = claims["rescaled_scores"]
    for transform, strength in PHOTOMETRIC:
        fsim_value = at(rescaled, claims, transform, strength, "FSIM")
        for ssim_name in SSIMS:
            assert fsim_value > at(rescaled, claims, transform, strength, ssim_name), (transform, ssim_name)


def test_rescaled_geometry_no_better(claims):
    rescaled = claims["rescaled_scores"]
    for metric in ("FSIM", "FSIMc", *SSIMS):
        assert at(rescaled, claims, "rotate", 2, metric) < 0.45, metric
        assert at(rescaled, claims, "scale", 1.1, metric) < 0.25, metric


def test_noise_versus_blur_disagreement(claims):
    scores = claims["sweep_scores"]
    for ssim_name in SSIMS:
        assert at(scores, claims, "noise", 20, ssim_name) < at(scores, claims, "blur", 2, ssim_name), ssim_name
    assert at(scores, claims, "noise", 20, "FSIM") > at(scores, claims, "blur", 2, "FSIM")


def test_sweeps_start_at_identity(claims):
    for transform, curves in claims["sweep_scores"].items():
        if transform == "jpeg":
            continue  # the first JPEG quality is already a change
        for metric, values in curves.items():
            assert values[0] == pytest.approx(1.0, abs=1e-9), (transform, metric)


def test_skipped_check_leaves_no_agreement_claim(claims):
    # "Without the four files the check below is skipped, and the cell says so"
    if claims["reference_available"]:
        pytest.skip("the reference images were present: test_matlab_agreement checks this run")
    assert "matlab_agreement" not in claims and "goldhill_no_downsampling" not in claims


def test_section_7_quotes_the_recorded_values(matlab):
    # "FeatureSIM.m prints 0.89691 ... and 0.93674 (FSIM) and 0.92587 (FSIMc)": the prose quotes, to the
    # printed five decimals, exactly the values the reference folder's README records
    cells = nbformat.read(executed_notebook("03_fsim"), as_version=4).cells
    section = next(c.source for c in cells if c.cell_type == "markdown" and "Agreement with the original MATLAB" in c.source)
    quoted = sorted(float(number) for number in re.findall(r"\b0\.\d{5}\b", section))
    assert quoted == sorted(matlab.values())


def test_matlab_agreement(claims, matlab):
    # "all three values agree with MATLAB to better than 1e-5"
    rows = claims["matlab_agreement"]
    assert {(r["pair"], r["metric"]) for r in rows} == set(matlab)
    for row in rows:
        assert row["ours"] == pytest.approx(matlab[(row["pair"], row["metric"])], abs=1e-5), row
    # "Skipping just the downsampling moves goldhill by more than 0.05"
    assert abs(claims["goldhill_no_downsampling"] - matlab[("goldhill", "FSIM")]) > 0.05


def test_recipe_starts_at_featuresim_m(claims, matlab):
    assert claims["recipe_pair"] == "I01 vs i01_01_5"
    assert claims["recipe_steps"][0]["score"] == pytest.approx(matlab[("I01", "FSIM")], abs=1e-5)


def test_recipe_steps(claims):
    if claims["reference_available"]:
        assert claims["recipe_pair"] == "I01 vs i01_01_5"
    else:
        assert claims["recipe_pair"].endswith("vs noise σ=10")
    values = [row["score"] for row in claims["recipe_steps"]]
    assert [row["step"] for row in claims["recipe_steps"]] == [
        "FeatureSIM.m",
        "no downsampling",
        "each RGB channel, then the mean",
        "unsigned uint16 gradients",
        "phasepack PC (6 orientations, summed)",
    ]
    changes = [after - before for before, after in zip(values, values[1:], strict=False)]
    assert all(change < 0 for change in changes[:3]), "each of the first three changes lowers the score"
    assert values[0] - values[-1] > 0.15
    assert abs(changes[2]) == max(abs(c) for c in changes), "unsigned gradients: the largest step"
    assert abs(changes[2]) > abs(changes[3])


def test_recipe_gradients_and_pc(claims):
    errors = claims["recipe_gradient_errors"]
    assert errors["clipped"] > 0.5
    assert errors["wrapped"] > 0.1
    assert claims["summed_pc_max"] > 2.0
    assert claims["pc_range"][1] <= 1.0


def test_explorer_ran(claims):
    default = claims["explorer_default"]
    assert default["fsim"] == pytest.approx(claims["noise_fsim"], abs=1e-12), "same image, noise σ=20, same seed"
    assert default["ssim"] == pytest.approx(at(claims["sweep_scores"], claims, "noise", 20, "SSIM"), abs=1e-12)
    assert default["fsimc"] <= default["fsim"]


def test_pitfalls(claims):
    assert claims["fsimc_gray_error"] == "InvalidParameterError"
    assert claims["tiny_image_error"] == "ImageTooSmallError"
    sizes = claims["factor_by_side"]
    assert sizes["256"] == 1 and sizes["383"] == 1
    assert sizes["384"] == 2 and sizes["512"] == 2 and sizes["639"] == 2
    assert sizes["640"] == 3, "MATLAB rounds 2.5 up"
    assert claims["python_round_of_640_over_256"] == 2


def test_gallery_features_give_the_same_score_with_fewer_phase_congruency_maps(claims):
    gallery = claims["gallery_fsim"]
    n = gallery["n_gallery"]
    # "which gives the same score"
    assert gallery["max_difference"] < 1e-9
    # "computes it 2N times" per pair; "N + 1 phase-congruency maps" through features (counted, not timed)
    assert gallery["pc_maps_per_pair"] == 2 * n
    assert gallery["pc_maps_via_features"] == n + 1


def test_step_phase_congruency(claims):
    step = claims["step_pc"]
    # "At the step ... phase congruency is 1. In the middle of the plateau it falls below 0.5"
    assert step["step"] == pytest.approx(1.0, abs=1e-9)
    assert step["plateau"] < 0.5
    # "the plot above checks it to rounding": Σ A cos(φ - φ̄) = √(F² + H²)
    assert step["identity_error"] < 1e-12
    # "Both give 1 at the step; away from it FeatureSIM.m's falls faster"
    assert step["featuresim_never_above_paper"] is True
    assert step["near_featuresim"] < step["near_paper"] - 0.2


def test_worked_solutions(claims):
    # exercise 1: "noise changes most (by about 0.1), then blur; brightness hardly at all"
    drop = claims["solution_no_downsampling"]
    order = sorted(drop, key=drop.get, reverse=True)
    assert order[:2] == ["noise", "blur"]
    assert 0.07 < drop["noise"] < 0.15
    assert abs(drop["brightness"]) < 0.01
    # exercise 2: "the line's peak is the same for every brightness (and higher than the step's) ...
    # the step keeps shoulders above 0.3 two columns away where the line's has dropped below 0.1"
    line = claims["solution_line"]
    assert max(line["pc_at_line"]) - min(line["pc_at_line"]) < 1e-3
    assert min(line["pc_at_line"]) > max(claims["edge_pc"])
    assert max(line["line_widths"] + line["step_widths"]) <= 5, "a few columns wide"
    assert line["two_away"]["step"] > 0.3 and line["two_away"]["line"] < 0.1
    # exercise 3: "brightest where both are flat ... almost no weight ... a score near 0.6"
    unrelated = claims["solution_unrelated_map"]
    assert unrelated["flat_similarity"] > unrelated["structured_similarity"] + 0.05
    assert unrelated["flat_weight_share"] < 0.02
    assert 0.5 < unrelated["fsim"] < 0.65
