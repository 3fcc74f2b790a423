"""Tests of the measurements behind notebook 03 (imgsim_helpers.lessons.fsim_study)."""

from __future__ import annotations

import sys

import matplotlib
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from skimage import data

from imgsim_helpers.core.errors import (
    EmptyInputError,
    ImageNotFoundError,
    InvalidParameterError,
    ShapeMismatchError,
    UnknownMethodError,
)
from imgsim_helpers.images.transforms import TRANSFORMS
from imgsim_helpers.lessons import fsim_study as fs
from imgsim_helpers.metrics.feature_similarity import fsim, fsim_phasepack_recipe

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def small_rgb():
    return data.astronaut()[::8, ::8]  # 64 x 64 x 3


@pytest.fixture(scope="module")
def small_gray():
    return data.camera()[::8, ::8]  # 64 x 64


# --------------------------------------------------------------------------- sweeps and baselines


def test_sweeps_cover_notebook_02_and_smoke_is_a_subset():
    assert set(fs.SWEEPS) == {"shift", "rotate", "scale", "brightness", "contrast", "blur", "noise", "jpeg"}
    assert set(fs.SMOKE_SWEEPS) == set(fs.SWEEPS)
    for name, strengths in fs.SMOKE_SWEEPS.items():
        assert name in TRANSFORMS
        assert set(strengths) <= set(fs.SWEEPS[name]), name
        if name != "jpeg":
            assert strengths[0] == TRANSFORMS[name].identity == fs.SWEEPS[name][0], name


def test_explorer_strengths():
    assert fs.explorer_strengths("rotate") == fs.SWEEPS["rotate"]
    assert fs.explorer_strengths("rotate") is not fs.SWEEPS["rotate"], "a copy the caller may change"
    with pytest.raises(UnknownMethodError, match="shift"):
        fs.explorer_strengths("crop")


def test_unrelated_baseline_matches_sizes_and_channels(small_rgb):
    other_gray_bigger = data.coins()  # gray, another size: converted and resized
    seen = []

    def metric(a, b):
        seen.append(b.shape)
        return 0.25

    out = fs.unrelated_baseline(small_rgb, [other_gray_bigger, data.chelsea()], {"m": metric})
    assert out == {"m": 0.25}
    assert seen == [small_rgb.shape, small_rgb.shape]


def test_unrelated_baseline_is_the_mean(small_gray):
    scores = iter([0.2, 0.4])
    out = fs.unrelated_baseline(small_gray, [data.coins(), data.moon()], {"m": lambda a, b: next(scores)})
    assert out["m"] == pytest.approx(0.3)


def test_unrelated_baseline_refuses_empty(small_gray):
    with pytest.raises(EmptyInputError):
        fs.unrelated_baseline(small_gray, [], {"m": fsim})
    with pytest.raises(EmptyInputError):
        fs.unrelated_baseline(small_gray, [small_gray], {})


def test_rescale_to_baseline_endpoints():
    assert fs.rescale_to_baseline([1.0, 0.6], 0.6) == [1.0, 0.0]
    with pytest.raises(InvalidParameterError, match="below"):
        fs.rescale_to_baseline([0.5], 1.0)


@settings(max_examples=50, deadline=None)
@given(
    scores=st.lists(st.floats(-1, 1), min_size=2, max_size=8),
    baseline=st.floats(-0.9, 0.9),
)
def test_rescale_to_baseline_is_increasing_and_affine(scores, baseline):
    out = fs.rescale_to_baseline(scores, baseline)
    order = np.argsort(scores, kind="stable")
    assert np.all(np.diff(np.asarray(out)[order]) >= -1e-12)
    for s, r in zip(scores, out, strict=True):
        assert r * (1 - baseline) + baseline == pytest.approx(s, abs=1e-9)


# --------------------------------------------------------------------------- contrast


def test_edge_profiles_pc_is_contrast_blind_gradient_is_not():
    out = fs.edge_profiles([5, 50, 200], size=48)
    assert len(out["x"]) == 48 and out["x"][24] == 0
    assert max(out["pc_at_edge"]) - min(out["pc_at_edge"]) < 1e-3
    assert out["pc_at_edge"][0] > 0.5
    assert out["gradient_at_edge"] == pytest.approx([5, 50, 200])
    assert all(len(row) == 48 for row in out["pc"] + out["gradient"])


@pytest.mark.parametrize(("heights", "level"), [([0], 128), ([300], 128), ([-10], 128), ([200], 200)])
def test_edge_profiles_refuses_bad_heights(heights, level):
    with pytest.raises(InvalidParameterError):
        fs.edge_profiles(heights, level=level)  # 200 around 200 leaves [0, 255]


@pytest.mark.parametrize("size", [8, 15, True, 32.0])
def test_edge_profiles_refuses_bad_sizes(size):
    with pytest.raises(InvalidParameterError):
        fs.edge_profiles([10], size=size)


def test_edge_profiles_refuses_no_heights():
    with pytest.raises(EmptyInputError):
        fs.edge_profiles([])
    with pytest.raises(InvalidParameterError, match="kind"):
        fs.edge_profiles([10], kind="ramp")


def test_line_profiles_pc_is_contrast_blind_and_the_line_is_one_pixel():
    out = fs.edge_profiles([5, 50, 200], size=48, kind="line")
    assert max(out["pc_at_edge"]) - min(out["pc_at_edge"]) < 1e-3
    assert out["pc_at_edge"][0] > 0.5
    middle = out["x"].index(0)
    assert out["pc"][0][middle] == max(out["pc"][0][2:-2]), "PC peaks on the line itself"


# --------------------------------------------------------------------------- a step's Fourier components


def test_step_fourier_phases_agree_at_the_step_only():
    x = np.linspace(-np.pi, np.pi, 721)
    out = fs.step_fourier_phases(x, n_terms=4)
    paper, featuresim = np.array(out["pc_paper"]), np.array(out["pc_featuresim"])
    step = int(np.argmin(np.abs(x)))
    assert paper[step] == pytest.approx(1.0) and featuresim[step] == pytest.approx(1.0)
    assert paper.max() <= 1 + 1e-12 and featuresim.min() >= 0.0
    assert np.all(featuresim <= paper + 1e-12), "subtracting |sin| never raises the energy"
    assert out["identity_error"] < 1e-12, "Σ A cos(φ - φ̄) is √(F² + H²)"
    # the components add up to the Fourier series of the square wave
    expected = sum(4 / (np.pi * k) * np.sin(k * x) for k in (1, 3, 5, 7))
    assert np.allclose(out["sum"], expected)
    assert out["harmonics"] == [1, 3, 5, 7]
    assert paper[int(np.argmin(np.abs(x - np.pi / 2)))] < 0.5


@pytest.mark.parametrize("bad", [dict(x=[]), dict(x=[np.nan]), dict(x=[0.0], n_terms=0), dict(x=[0.0], n_terms=True)])
def test_step_fourier_phases_bad_input(bad):
    with pytest.raises(InvalidParameterError):
        fs.step_fourier_phases(**bad)


def test_contrast_copy_keeps_mean_and_scales_spread(small_rgb):
    gray = fs.contrast_copy(small_rgb, 1.0)
    half = fs.contrast_copy(small_rgb, 0.5)
    assert half.mean() == pytest.approx(gray.mean(), abs=1e-12)
    assert half.std() == pytest.approx(0.5 * gray.std(), rel=1e-9)
    assert 0.0 <= half.min() and half.max() <= 1.0
    rounded = fs.contrast_copy(small_rgb, 0.05, rounded=True)
    assert np.allclose(rounded * 255, np.round(rounded * 255))
    assert len(np.unique(rounded)) < len(np.unique(gray))


@pytest.mark.parametrize("factor", [0, -0.5, 1.5, True, "0.5", float("nan")])
def test_contrast_copy_refuses_bad_factors(small_gray, factor):
    with pytest.raises(InvalidParameterError, match=r"\(0, 1\]"):
        fs.contrast_copy(small_gray, factor)


def test_contrast_copy_refuses_non_boolean_rounding(small_gray):
    with pytest.raises(InvalidParameterError, match="rounded"):
        fs.contrast_copy(small_gray, 0.5, rounded=1)


def test_contrast_response(small_rgb):
    exact = fs.contrast_response(small_rgb, [1.0, 0.3])
    assert exact["factor"] == [1.0, 0.3]
    assert exact["gradient_ratio"] == pytest.approx([1.0, 0.3], abs=1e-9)
    assert exact["pc_mean_abs_change"][0] == 0.0
    assert exact["pc_mean_abs_change"][1] < 1e-4
    assert exact["pc_mean"][1] == pytest.approx(exact["pc_mean"][0], abs=1e-4)
    rounded = fs.contrast_response(small_rgb, [0.05], rounded=True)
    assert rounded["pc_mean_abs_change"][0] > 10 * exact["pc_mean_abs_change"][1]


def test_contrast_response_validates_before_working(small_gray):
    with pytest.raises(EmptyInputError):
        fs.contrast_response(small_gray, [])
    with pytest.raises(InvalidParameterError):
        fs.contrast_response(small_gray, [0.5, 2.0])


def test_pc_by_gradient():
    gradient = np.arange(100.0).reshape(10, 10)
    pc = (gradient >= 90).astype(float)  # PC only on the strongest tenth
    out = fs.pc_by_gradient(pc, gradient)
    assert out == {"strong": 1.0, "weak": 0.0, "overall": 0.1}
    assert fs.pc_by_gradient(pc, gradient, top=0.5)["strong"] == pytest.approx(0.2)


def test_pc_by_gradient_refuses_bad_input():
    with pytest.raises(ShapeMismatchError):
        fs.pc_by_gradient(np.zeros((4, 4)), np.zeros((4, 5)))
    with pytest.raises(ShapeMismatchError):
        fs.pc_by_gradient(np.zeros((0, 4)), np.zeros((0, 4)))
    for top in (0, 0.6):
        with pytest.raises(InvalidParameterError):
            fs.pc_by_gradient(np.zeros((4, 4)), np.zeros((4, 4)), top=top)


# --------------------------------------------------------------------------- reference values


def _fake_reference_folder(folder, rgb, gray):
    Image.fromarray(gray).save(folder / "goldhill.gif")
    Image.fromarray(np.clip(gray.astype(int) + 8, 0, 255).astype(np.uint8)).save(folder / "goldhill_jpeg.gif")
    Image.fromarray(rgb).save(folder / "I01.BMP")
    Image.fromarray(rgb[::-1].copy()).save(folder / "i01_01_5.bmp")
    (folder / "README.md").write_text(  # the reference README's rows, with made-up values
        "| FSIM, `FeatureSIM.m` first output | goldhill.gif vs goldhill_jpeg.gif | 0.50000 |\n"
        "| FSIM, `FeatureSIM.m` first output | I01.BMP vs i01_01_5.bmp | 0.60000 |\n"
        "| FSIMc, `FeatureSIM.m` second output | I01.BMP vs i01_01_5.bmp | 0.70000 |\n"
        "| SSIM, Wang's `ssim.m` | I01.BMP vs i01_01_5.bmp | 0.8000 |\n"
    )


def test_missing_files_and_a_complete_folder(tmp_path, small_rgb, small_gray):
    assert fs.missing_reference_files(tmp_path) == ["I01.BMP", "goldhill.gif", "goldhill_jpeg.gif", "i01_01_5.bmp"]
    with pytest.raises(ImageNotFoundError, match=fs.REFERENCE_ENV):
        fs.load_reference_pair(tmp_path, "I01")
    _fake_reference_folder(tmp_path, small_rgb, small_gray)
    assert fs.missing_reference_files(tmp_path) == []
    a, b = fs.load_reference_pair(tmp_path, "goldhill")
    assert a.ndim == 2 and np.array_equal(a, small_gray)
    rows = fs.matlab_agreement(tmp_path)
    assert [(r["pair"], r["metric"], r["matlab"]) for r in rows] == [
        ("goldhill", "FSIM", 0.5), ("I01", "FSIM", 0.6), ("I01", "FSIMc", 0.7)]  # the README's FSIM rows only
    for row in rows:
        assert row["abs_error"] == pytest.approx(abs(row["ours"] - row["matlab"]))
    assert rows[0]["ours"] == pytest.approx(fsim(small_gray, b))


def test_unknown_reference_pair(tmp_path):
    with pytest.raises(UnknownMethodError, match="goldhill"):
        fs.load_reference_pair(tmp_path, "lena")


def test_matlab_agreement_on_the_real_images(reference_images):
    for row in fs.matlab_agreement(reference_images):
        assert row["abs_error"] < 1e-5, row


# --------------------------------------------------------------------------- the copied recipe


def test_unsigned_scharr_clips_and_wraps():
    ramp = np.tile(np.arange(0, 64, 4, dtype=np.uint8), (16, 1))
    assert fs.unsigned_scharr_magnitude(ramp)[8, 8] == pytest.approx(16 * 4 * 2)  # Scharr x16, step 2 px
    assert fs.unsigned_scharr_magnitude(ramp[:, ::-1].copy())[8, 8] == 0.0  # falling: clipped to 0
    step = np.zeros((16, 16), np.uint8)
    step[:, 8:] = 255
    true_gx = 16 * 255  # 4080: its square wraps in 16 bits
    assert fs.unsigned_scharr_magnitude(step)[8, 7] == pytest.approx(np.sqrt(true_gx**2 % 65536))
    with pytest.raises(InvalidParameterError, match="2-D"):
        fs.unsigned_scharr_magnitude(np.zeros((16, 16, 3), np.uint8))


def test_recipe_gradient_errors():
    flat = np.full((32, 32), 100, np.uint8)
    assert fs.recipe_gradient_errors(flat) == {"clipped": 0.0, "wrapped": 0.0, "wrong": 0.0}
    falling = np.tile(np.arange(255, 127, -4, dtype=np.uint8), (32, 1))
    errors = fs.recipe_gradient_errors(falling)
    # Every column but the two border ones (mirrored by OpenCV: derivative 0) falls.
    assert errors == {"clipped": 30 / 32, "wrapped": 0.0, "wrong": 30 / 32}


def test_phasepack_summed_pc_goes_above_one(small_rgb):
    pc = fs.phasepack_summed_pc(small_rgb)
    assert pc.shape == small_rgb.shape[:2]
    assert 1.0 < pc.max() <= 6.0 and pc.min() >= 0.0


def test_recipe_steps_identity_and_order(small_gray):
    steps = fs.recipe_steps(small_gray, small_gray)
    assert list(steps) == list(fs.RECIPE_STEPS)
    assert all(v == pytest.approx(1.0, abs=1e-9) for v in steps.values())


def test_recipe_steps_end_at_the_recipe(small_rgb):
    rng = np.random.default_rng(1)
    noisy = np.clip(small_rgb + rng.normal(0, 12, small_rgb.shape), 0, 255).astype(np.uint8)
    steps = fs.recipe_steps(small_rgb, noisy)
    values = list(steps.values())
    assert values[0] == fsim(small_rgb, noisy)
    assert values[1] == fsim(small_rgb, noisy, downsample=False)
    assert values[2] == pytest.approx(np.mean([fsim(small_rgb[..., c], noisy[..., c]) for c in range(3)]))
    assert values[4] == fsim_phasepack_recipe(small_rgb, noisy)


def test_unsigned_step_reproduces_the_recipes_internals(small_rgb):
    """With phasepack's PC in place of ours, the step-4 pooling gives the recipe exactly."""
    noisy = np.clip(small_rgb.astype(int) + 20, 0, 255).astype(np.uint8)
    rebuilt = np.mean(
        [
            fs._channel_score(
                fs.phasepack_summed_pc(small_rgb[..., c]),
                fs.phasepack_summed_pc(noisy[..., c]),
                fs.unsigned_scharr_magnitude(small_rgb[..., c]),
                fs.unsigned_scharr_magnitude(noisy[..., c]),
            )
            for c in range(3)
        ]
    )
    assert rebuilt == pytest.approx(fsim_phasepack_recipe(small_rgb, noisy), abs=1e-10)


def test_recipe_steps_gray_skips_the_channel_step(small_gray):
    blurred = np.round((small_gray[:-1, :-1].astype(float) + small_gray[1:, 1:]) / 2).astype(np.uint8)
    steps = fs.recipe_steps(small_gray[:-1, :-1], blurred)
    assert steps["each RGB channel, then the mean"] == steps["no downsampling"]


# --------------------------------------------------------------------------- the explorer


def test_explore_pair_same_image(small_rgb):
    res = fs.explore_pair(small_rgb, small_rgb, "noise", 20, seed=3)
    assert res.image2.shape == small_rgb.shape and not np.array_equal(res.image2, small_rgb)
    assert res.fsim == fsim(small_rgb, res.image2)
    assert res.fsimc == fsim(small_rgb, res.image2, chromatic=True) <= res.fsim
    assert res.ssim_map.shape == (54, 54)
    assert res.fsim_result.pc1.shape == (64, 64)
    assert (res.transform, res.strength) == ("noise", 20)
    again = fs.explore_pair(small_rgb, small_rgb, "noise", 20, seed=3)
    assert again.fsim == res.fsim, "seeded"


def test_explore_pair_identity_scores_one(small_gray):
    res = fs.explore_pair(small_gray, small_gray, "shift", 0)
    assert res.ssim == 1.0 and res.fsim == 1.0 and res.fsimc is None


def test_explore_pair_matches_another_image(small_rgb):
    res = fs.explore_pair(small_rgb, data.camera(), "blur", 1)  # gray and larger: converted, resized
    assert res.image2.shape == small_rgb.shape
    assert res.fsim < 0.9


def test_explore_pair_refuses_bad_choices(small_rgb):
    with pytest.raises(UnknownMethodError):
        fs.explore_pair(small_rgb, small_rgb, "crop", 0.1)
    with pytest.raises(InvalidParameterError):
        fs.explore_pair(small_rgb, small_rgb, "contrast", 20)


def test_plot_explorer(small_rgb):
    import matplotlib.pyplot as plt

    fig = fs.plot_explorer(fs.explore_pair(small_rgb, small_rgb, "jpeg", 20))
    titles = [ax.get_title() for ax in fig.axes]
    assert any(t.startswith("SSIM map") for t in titles)
    assert any("FSIMc" in t for t in titles)
    plt.close(fig)
    with pytest.raises(InvalidParameterError, match="ExplorerResult"):
        fs.plot_explorer({"fsim": 1.0})


def _recording_explorer(**options):
    calls = []
    images = {"a": np.zeros((16, 16), np.uint8), "b": np.ones((16, 16), np.uint8)}
    box = fs.explorer_widget(images, lambda **kwargs: calls.append(kwargs), **options)
    return box, calls


def test_explorer_widget_builds_without_drawing():
    box, calls = _recording_explorer(image_2="b", distortion="blur", strength=2)
    assert calls == [], "the notebook draws the first figure itself"
    assert {name: c.value for name, c in box.controls.items()} == {
        "image_1": "a", "image_2": "b", "distortion": "blur", "strength": 2
    }
    assert list(box.controls["strength"].options) == fs.SWEEPS["blur"]
    assert box.output in box.children


def test_explorer_widget_redraws_on_every_change():
    box, calls = _recording_explorer()
    box.controls["strength"].value = 40
    box.controls["image_2"].value = "b"
    assert calls == [
        {"image_1": "a", "image_2": "a", "distortion": "noise", "strength": 40},
        {"image_1": "a", "image_2": "b", "distortion": "noise", "strength": 40},
    ]


@pytest.mark.parametrize("new", ["rotate", "shift", "jpeg"])
def test_explorer_widget_new_distortion_offers_its_strengths_and_draws_once(new):
    box, calls = _recording_explorer(distortion="scale", strength=1.1)
    box.controls["distortion"].value = new
    assert list(box.controls["strength"].options) == fs.SWEEPS[new]
    assert calls == [{"image_1": "a", "image_2": "a", "distortion": new, "strength": fs.SWEEPS[new][0]}]


def test_explorer_widget_refuses_bad_setup():
    with pytest.raises(EmptyInputError):
        fs.explorer_widget({}, lambda **kw: None)
    with pytest.raises(InvalidParameterError, match="callable"):
        fs.explorer_widget({"a": np.zeros((16, 16))}, None)
    with pytest.raises(InvalidParameterError, match="image_2"):
        fs.explorer_widget({"a": np.zeros((16, 16))}, lambda **kw: None, image_2="z")
    with pytest.raises(InvalidParameterError, match="offered"):
        fs.explorer_widget({"a": np.zeros((16, 16))}, lambda **kw: None, distortion="noise", strength=7)
    with pytest.raises(UnknownMethodError):
        fs.explorer_widget({"a": np.zeros((16, 16))}, lambda **kw: None, distortion="crop", strength=0.1)


def test_gallery_saving_scores_both_ways_equally_and_counts_phase_congruency():
    query = data.camera()[::4, ::4]
    gallery = [query[::-1], np.roll(query, 3, axis=1), query[:, ::-1]]
    saving = fs.gallery_saving(query, gallery)
    assert saving["max_difference"] < 1e-9
    assert set(saving) == {"n_gallery", "max_difference", "pc_maps_per_pair", "pc_maps_via_features",
                           "direct_ms_per_pair", "extract_ms_per_image", "compare_ms_per_pair"}
    # per pair: both images of every pair; via features: each image once
    assert saving["n_gallery"] == 3
    assert saving["pc_maps_per_pair"] == 6
    assert saving["pc_maps_via_features"] == 4
    assert all(saving[k] > 0 for k in saving if k.endswith("_ms_per_pair"))
    import imgsim_helpers.metrics.feature_similarity  # noqa: F401  (the counter restores the routine it wrapped)

    assert sys.modules["imgsim_helpers.metrics.feature_similarity"].phase_congruency_stack.__module__ == "imgsim_helpers.metrics.log_gabor"
    with pytest.raises(EmptyInputError):
        fs.gallery_saving(query, [])
