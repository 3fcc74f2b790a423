"""Every number the prose of notebook 02 relies on, checked on the executed notebook."""

import pytest

pytestmark = pytest.mark.notebook


def at(claims, transform, strength, metric):
    """A sweep score by strength, so the tests read like the prose."""
    return claims["sweep_scores"][transform][metric][claims["sweep_strengths"][transform].index(strength)]


def test_helper_call_basics(claims):
    assert claims["identity_score"] == 1.0
    assert claims["map_shape_offset"] == [10, 10], "an 11x11 window keeps only the valid region"
    assert claims["map_mean_minus_score"] == pytest.approx(0.0, abs=1e-12)
    assert claims["reference_map_difference"] < 1e-10, "ssim's map is ssim_reference's"


def test_each_distortion_hits_its_term(claims):
    means = claims["component_means"]
    bright = means["brightness +40"]
    assert bright["contrast"] > 0.99 and bright["structure"] > 0.99
    assert bright["luminance"] < min(bright["contrast"], bright["structure"])
    flat = means["contrast × 0.5"]
    assert flat["structure"] > 0.99
    assert flat["contrast"] < 0.95
    assert flat["luminance"] < 0.99, "stretching about the global mean moves local means too"
    noise = means["noise σ=20"]
    assert noise["contrast"] < 0.9 and noise["structure"] < 0.9
    shifted = means["shift 2 px"]
    assert shifted["luminance"] > 0.9 and shifted["contrast"] > 0.9
    assert shifted["structure"] < 0.8
    assert claims["product_equals_map_max_error"] < 1e-10


def test_caption_mean_hides_local_damage(claims):
    assert claims["caption_global_ssim"] > 0.9
    assert claims["caption_local_ssim"] < 0.15


def test_library_disagreement_is_the_window(claims):
    table = claims["library_table"]
    assert len(table) == 4
    for pair, row in table.items():
        assert row["skimage, paper settings"] == pytest.approx(row["ours (Gaussian 11)"], abs=1e-9), pair
        assert abs(row["ours, uniform 7"] - row["skimage default"]) < 0.003, pair
        # the window accounts for more of the gap than the sample covariance
        assert abs(row["ours (Gaussian 11)"] - row["ours, uniform 7"]) > abs(row["ours, uniform 7"] - row["skimage default"]), pair
        assert row["skimage default"] > row["ours (Gaussian 11)"], pair
    assert max(abs(r["skimage default"] - r["ours (Gaussian 11)"]) for r in table.values()) > 0.01


def test_ssim_m_downsampling(claims):
    plain_shape, shrunk_shape = claims["downsample_map_shapes"]
    assert plain_shape == [502, 502], "the default image is 512 px"
    assert shrunk_shape == [246, 246], "f = 2: 256 px, minus the window"
    assert claims["downsample_ssim_m"] > claims["downsample_plain"] + 0.1


def test_ms_ssim_scales(claims):
    for label, row in claims["ms_ssim_rows"].items():
        first, second, third = row["per_scale"][:3]
        assert first < second < third, f"{label}: coarser scales forgive more"
    noise = claims["ms_ssim_rows"]["noise σ=20"]
    assert noise["ms_ssim"] > noise["ssim"] + 0.2
    assert claims["ms_ssim_small_error"] == "ImageTooSmallError"
    assert claims["ms_ssim_small_error_names_176"] is True


def test_sizes_and_policies(claims):
    assert claims["different_sizes_error"] == "ShapeMismatchError"
    assert claims["screenshot_shapes"] == [[600, 960, 3], [480, 640, 3]]
    assert claims["resize_stretch"] == pytest.approx(1.2)
    scores = claims["size_policy_scores"]
    assert scores["resize"] > 0.9
    assert scores["crop"] < 0.7 and scores["pad"] < 0.7
    assert scores["blank white page"] > max(scores["crop"], scores["pad"])
    assert max(scores["crop"], scores["pad"]) < scores["letterbox"] < scores["resize"]


def test_geometry_ruins_ssim_but_not_histograms(claims):
    hist = "histogram correlation"
    assert at(claims, "shift", 1, "SSIM") < 0.85
    assert at(claims, "shift", 4, "SSIM") < 0.6
    assert at(claims, "rotate", 2, "SSIM") < 0.6
    assert at(claims, "scale", 1.1, "SSIM") < 0.45
    for transform, strength in [("shift", 1), ("shift", 4), ("rotate", 2), ("scale", 1.1)]:
        assert at(claims, transform, strength, hist) > 0.99, (transform, strength)


def test_photometry_ruins_histograms_but_not_ssim(claims):
    hist = "histogram correlation"
    assert at(claims, "brightness", 40, "SSIM") > 0.75
    assert at(claims, "brightness", 40, hist) < 0.35
    assert at(claims, "contrast", 0.6, "SSIM") > 0.7
    assert at(claims, "contrast", 0.6, hist) < 0.3


def test_degradations_lower_ssim_more(claims):
    for transform, strength in [("blur", 2), ("noise", 20), ("jpeg", 20)]:
        assert at(claims, transform, strength, "SSIM") < at(claims, transform, strength, "histogram correlation")


def test_ms_ssim_forgives_one_pixel_only(claims):
    assert at(claims, "shift", 1, "MS-SSIM") > 0.9
    assert at(claims, "shift", 16, "MS-SSIM") < 0.35
    assert at(claims, "rotate", 10, "MS-SSIM") < 0.35
    assert at(claims, "scale", 1.5, "MS-SSIM") < 0.2


def test_sweeps_start_at_identity(claims):
    for transform, curves in claims["sweep_scores"].items():
        if transform == "jpeg":
            continue  # quality 95 is already a change
        for metric, values in curves.items():
            assert values[0] == pytest.approx(1.0, abs=1e-9), (transform, metric)


def test_transparency_fixes(claims):
    assert claims["rgba_error"] == "InvalidImageError"
    scores = claims["transparency_scores"]
    assert scores["white vs black"] < 0.3
    assert scores["both on white"] == 1.0
    assert scores["white vs black"] < scores["foreground, window centres"] < 0.9
    assert scores["foreground, whole windows"] > 0.999


def test_noisy_export_fixes(claims):
    scores = claims["noisy_export_scores"]
    assert scores["both on white"] > scores["white vs black"] + 0.3
    assert scores["foreground, whole windows"] > scores["white vs black"] + 0.3
    assert scores["both on white"] > scores["foreground, whole windows"]


def test_backdrop_change(claims):
    scores = claims["backdrop_scores"]
    assert len(scores["plain SSIM"]) == 4
    assert min(scores["plain SSIM"]) < 0.7
    assert min(scores["foreground SSIM"]) > 0.999


def test_pitfalls(claims):
    ranges = claims["data_range_scores"]
    assert ranges["float in [0, 1]"] == pytest.approx(ranges["uint8"], abs=1e-9)
    assert ranges["float, data_range=255 (wrong)"] > 0.999
    assert claims["skimage_float_needs_data_range"] is True
    colour = claims["gray_vs_rgb_noise"]
    assert colour["gray"] > colour["rgb"] + 0.05


def test_equal_mse_copies_look_different_to_ssim(claims):
    rows = claims["equal_mse_rows"]
    target = claims["equal_mse_target"]
    assert set(rows) == {"brightness", "contrast", "noise", "blur"}
    # "All four copies sit within 2 % of the same MSE — the same PSNR to within 0.1 dB"
    for name, row in rows.items():
        assert row["mse"] == pytest.approx(target, rel=0.02), name
    psnrs = [row["psnr"] for row in rows.values()]
    assert max(psnrs) - min(psnrs) < 0.1
    # "SSIM rates the noisy copy lowest and the brighter copy highest of the four, more than 0.3 apart"
    ssims = {name: row["ssim"] for name, row in rows.items()}
    assert min(ssims, key=ssims.get) == "noise"
    assert max(ssims, key=ssims.get) == "brightness"
    assert ssims["brightness"] - ssims["noise"] > 0.3
    # "h.mse and h.psnr agree with scikit-image's"
    assert claims["pixel_error_vs_skimage"] < 1e-9


def test_two_backdrops_fall_below_0_7(claims):
    # "two of the four fall below 0.7"
    assert claims["backdrop_below_0_7"] == 2
    assert claims["backdrop_below_0_7"] == sum(s < 0.7 for s in claims["backdrop_scores"]["plain SSIM"])


def test_worked_solutions(claims):
    # exercise 1: "more tolerant of noise (by far the most), JPEG, blur and 1-2 pixel shifts; not of rotation"
    sweep = claims["solution_downsampled_sweep"]
    strengths, scores = sweep["strengths"], sweep["scores"]

    def gain(transform, strength):
        column = strengths[transform].index(strength)
        curves = scores[transform]
        return curves["SSIM, downsampled"][column] - curves["SSIM"][column]

    gains = {"noise": gain("noise", 20), "jpeg": gain("jpeg", 20), "blur": gain("blur", 2), "shift 1": gain("shift", 1),
             "shift 2": gain("shift", 2)}
    assert all(g > 0.03 for g in gains.values()), gains
    assert max(gains, key=gains.get) == "noise"
    assert gain("rotate", 2) < 0.02
    # exercise 2: "close to 'both on white' and far above the foreground-only score"
    on_gray, noisy = claims["solution_on_gray"], claims["noisy_export_scores"]
    assert abs(on_gray - noisy["both on white"]) < 0.05
    assert on_gray > noisy["foreground, whole windows"] + 0.2
    # exercise 3: "grass at 1 px, astronaut at 3, camera much later and rocket not within 16 px"
    first = claims["solution_first_shift_below_half"]
    assert first["grass"] == 1 and first["astronaut"] == 3
    assert first["camera"] >= 6
    assert first["rocket"] is None
