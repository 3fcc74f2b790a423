"""The comparison app's plain functions: uploads, scores, figures, the page's handler (no browser)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from matplotlib.figure import Figure
from PIL import Image

import imgsim_helpers as h
import imgsim_helpers.registry as methods
from imgsim_helpers.apps import web_app as app

MODELS = ("mobilenet_v2", "vgg16", "clip")


@pytest.fixture(autouse=True)
def fresh_cache():
    app.clear_method_cache()
    yield
    app.clear_method_cache()


@pytest.fixture
def offline_models(monkeypatch):
    """Every model method fails as it does without cached weights and without network."""
    calls = []

    def unavailable(**_):
        calls.append(1)
        raise h.WeightsUnavailableError("weights unavailable: not cached and no network (test)")

    for name in MODELS:
        monkeypatch.setitem(methods.BUILDERS, name, unavailable)
    return calls


@pytest.fixture(scope="module")
def camera():
    return h.course_image("camera", max_side=128)


@pytest.fixture
def png(tmp_path):
    def write(name: str, array: np.ndarray):
        path = tmp_path / name
        Image.fromarray(array).save(path)
        return path

    return write


# --------------------------------------------------------------------------- compare_images


def test_identical_course_images_get_top_scores_and_unavailable_models_are_marked(camera, offline_models):
    rows, figures = app.compare_images(camera, camera.copy())
    assert [row.method for row in rows] == list(methods.METHOD_NAMES)
    for row in rows:
        if row.method in MODELS:
            assert row.score is None and row.note.startswith("unavailable: weights")
            assert row.family == "embedding" and "no network" in row.detail
            assert row.as_cells()[2] == "n/a"
        elif row.family == "pixel":  # their maximum is not 1: -MSE is 0, PSNR is its floored 148 dB
            assert row.score == pytest.approx(0.0, abs=1e-9) if row.method == "mse" else row.score > 100, row
        else:
            # embeddings: float32 unit vectors, whose self-cosine may miss 1 by a float32 rounding
            tolerance = 1e-6 if row.family in ("embedding", "learned") else 1e-9
            assert row.score == pytest.approx(1.0, abs=tolerance), row
            assert row.as_cells()[2] == "1.0000"
    assert set(figures) == {"ssim_map", "phase_congruency", "matches"}
    assert all(isinstance(fig, Figure) for fig in figures.values())
    summary = app.embedding_summary(rows)
    assert summary.count("unavailable: weights") == len(MODELS)


def test_a_noisy_copy_scores_lower_and_the_figures_show_the_same_numbers(camera, offline_models):
    noisy = h.apply_transform(camera, "noise", 25)
    rows, figures = app.compare_images(camera, noisy, methods=["ssim", "fsim", "histogram_rgb", "orb"])
    score = {row.method: row.score for row in rows}
    assert 0.0 < score["ssim"] < 0.95 and 0.0 < score["fsim"] < 1.0 and score["histogram_rgb"] < 1.0
    # Each figure is drawn from the features its score came from.
    assert f"{score['ssim']:.4f}" in figures["ssim_map"].axes[0].get_title()
    assert f"{score['fsim']:.4f}" in figures["phase_congruency"].axes[2].get_title()
    assert f"{score['orb']:.4f}" in figures["matches"].axes[0].get_title()
    for fig in figures.values():
        pixels = app.figure_to_image(fig)
        assert pixels.dtype == np.uint8 and pixels.ndim == 3 and pixels.shape[2] == 3
        assert pixels.std() > 0, "the rendered figure is not blank"


def test_figures_follow_the_methods_that_ran(camera):
    rows, figures = app.compare_images(camera, camera, methods=["histogram_rgb"])
    assert [row.method for row in rows] == ["histogram_rgb"] and figures == {}
    _, figures = app.compare_images(camera, camera, methods=["ssim"], figures=False)
    assert figures == {}


def test_progress_is_reported_from_zero_to_one(camera):
    seen = []
    app.compare_images(camera, camera, methods=["ssim", "histogram_rgb"],
                       progress=lambda fraction, desc: seen.append((fraction, desc)))
    fractions = [f for f, _ in seen]
    assert fractions[0] == 0.0 and fractions[-1] == 1.0 and fractions == sorted(fractions)
    assert any("ssim" in desc for _, desc in seen)


def test_a_failing_method_is_listed_not_dropped(camera, monkeypatch):
    def broken(**_):
        method = methods.build_method("ssim")
        method.name, method.family = "orb", "keypoints"

        def explode(image):
            raise RuntimeError("detector crashed")

        method.extract = explode
        return method

    monkeypatch.setitem(methods.BUILDERS, "orb", broken)
    rows, figures = app.compare_images(camera, camera, methods=["orb", "ssim"])
    assert rows[0].method == "orb" and rows[0].score is None
    assert rows[0].note.startswith("failed: RuntimeError") and "matches" not in figures
    assert rows[1].score == pytest.approx(1.0)


def test_models_are_built_once_and_unavailability_is_remembered(camera, offline_models, monkeypatch):
    built = []
    original = methods.BUILDERS["histogram_rgb"]

    def counting(**options):
        built.append(1)
        return original(**options)

    monkeypatch.setitem(methods.BUILDERS, "histogram_rgb", counting)
    for _ in range(2):
        app.compare_images(camera, camera, methods=["histogram_rgb", "clip"], figures=False)
    assert len(built) == 1 and len(offline_models) == 1
    app.clear_method_cache()
    app.compare_images(camera, camera, methods=["histogram_rgb"], figures=False)
    assert len(built) == 2


def test_large_inputs_are_shrunk_and_odd_inputs_converted():
    assert app.prepare(np.zeros((1000, 500, 3), np.uint8)).shape == (256, 128, 3)
    assert app.prepare(np.zeros((40, 30), np.uint8)).shape == (40, 30, 3)
    rgba = np.zeros((32, 32, 4), np.uint8)  # fully transparent: composited onto white
    assert (app.prepare(rgba) == 255).all()
    assert app.prepare(np.ones((20, 20)), max_side=16).dtype == np.uint8


def test_bad_arguments_raise_typed_errors(camera):
    with pytest.raises(h.UnknownMethodError, match="choose one of"):
        app.compare_images(camera, camera, methods=["ssim", "sharpness"])
    with pytest.raises(h.InvalidParameterError, match="at least one"):
        app.compare_images(camera, camera, methods=[])
    with pytest.raises(h.ImageTooSmallError):
        app.compare_images(camera, np.zeros((8, 8), np.uint8))
    with pytest.raises(h.ImageTypeError):
        app.compare_images("camera.png", camera)


def test_embedding_summary():
    rows = [
        app.ScoreRow("ssim", "structural", 0.5, "SSIM"),
        app.ScoreRow("mobilenet_v2", "embedding", 0.91234, "cosine; pretrained weights"),
        app.ScoreRow("clip", "embedding", None, methods.unavailable_status(h.WeightsUnavailableError("offline")),
                     detail="download it from X"),
    ]
    text = app.embedding_summary(rows)
    assert "0.9123" in text and "unavailable: weights" in text and "download it from X" in text
    assert "ssim" not in text
    assert app.embedding_summary(rows[:1]) == "No embedding method was computed."


# --------------------------------------------------------------------------- uploads


def test_load_upload_reads_a_good_image(png, camera):
    image = app.load_upload(png("camera.png", camera))
    assert isinstance(image, np.ndarray) and np.array_equal(image, camera)
    rgba = np.dstack([camera, np.full(camera.shape[:2], 255, np.uint8)])
    assert app.load_upload(png("camera_rgba.png", rgba)).shape == camera.shape


def _missing(folder):
    return folder / "missing.png"


def _text(folder):
    path = folder / "notes.png"
    path.write_text("hello")
    return path


def _empty(folder):
    path = folder / "empty.png"
    path.write_bytes(b"")
    return path


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (_missing, "no longer there"),
        (_text, "not an image file"),
        (_empty, "the file is empty (0 bytes)"),
        (lambda folder: folder, "no longer there"),
    ],
    ids=["missing", "text", "empty", "folder"],
)
def test_load_upload_explains_bad_files(tmp_path, make, expected):
    message = app.load_upload(make(tmp_path), label="image 1")
    assert isinstance(message, str) and message.startswith("image 1")
    assert expected in message and "Traceback" not in message


def test_load_upload_enforces_the_documented_limits(png, camera):
    path = png("camera.png", camera)
    too_many_bytes = app.load_upload(path, max_bytes=1000)
    assert "too large" in too_many_bytes and "MiB" in too_many_bytes
    too_many_pixels = app.load_upload(path, max_pixels=100 * 100)
    assert "too large" in too_many_pixels and "megapixels" in too_many_pixels
    assert isinstance(app.load_upload(path, max_pixels=camera.shape[0] * camera.shape[1]), np.ndarray)
    assert app.MAX_UPLOAD_BYTES == 20 * 2**20 and app.MAX_UPLOAD_PIXELS == 40_000_000
    assert "20 MiB" in app.__doc__ and "40 megapixels" in app.__doc__


def test_load_upload_refuses_tiny_and_truncated_images(png, camera, tmp_path):
    assert "too small" in app.load_upload(png("tiny.png", camera[:8, :8]))
    data = png("whole.png", camera).read_bytes()
    cut = tmp_path / "cut.png"
    cut.write_bytes(data[: len(data) // 3])
    assert "truncated or corrupt" in app.load_upload(cut)
    assert "no file" in app.load_upload(None) and "no file" in app.load_upload("")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.binary(max_size=300))
def test_load_upload_never_raises(tmp_path, content):
    path = tmp_path / "upload.png"
    path.write_bytes(content)
    result = app.load_upload(path)
    assert isinstance(result, str | np.ndarray)


def test_an_upload_wins_over_the_picked_course_image(png, camera):
    path = png("mine.png", camera[:64, :64])
    assert app.resolve_input("astronaut", str(path)).shape == (64, 64, 3)
    assert app.resolve_input("astronaut", None).shape == (512, 512, 3)
    assert app.resolve_input(None, None, label="image 2") == "image 2: choose a course image or upload a file."
    assert "cannot be used" in app.load_choice("no_such_image")


# --------------------------------------------------------------------------- the page's handler


def test_page_outputs_for_a_good_pair(png):
    upload = png("a.png", h.course_image("camera"))
    out = app.comparison_outputs(None, str(upload), "camera", None, methods=["ssim", "fsim", "orb"])
    shrunk = "(512×512, shrunk to 256×256)"
    assert out.status.startswith(f"Compared **a.png** {shrunk} with **camera** {shrunk} in ")
    assert [cells[0] for cells in out.table] == ["ssim", "fsim", "orb"]
    assert [cells[2] for cells in out.table] == ["1.0000"] * 3
    for image in (out.ssim_map, out.phase_congruency, out.matches):
        assert isinstance(image, np.ndarray) and image.dtype == np.uint8
    assert out.embeddings.startswith("### Embedding similarity")


def test_page_outputs_for_bad_uploads_are_a_message(tmp_path):
    bad = tmp_path / "notes.png"
    bad.write_text("not a picture")
    out = app.comparison_outputs(None, str(bad), None, str(tmp_path / "gone.png"))
    assert out.status.startswith("⚠ image 1 (notes.png) cannot be used: it is not an image file")
    assert "image 2 (gone.png)" in out.status
    assert out.table == [] and out.ssim_map is None and out.matches is None


def test_page_outputs_hide_unexpected_failures(monkeypatch):
    def crash(*args, **kwargs):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(app, "compare_images", crash)
    out = app.comparison_outputs("camera", None, "coins", None)
    assert "failed (RuntimeError: out of memory)" in out.status and "Traceback" not in out.status
    assert out.table == []


def test_preview():
    image, problem = app.preview("astronaut", None)
    assert image.shape == (512, 512, 3) and problem == ""
    image, problem = app.preview(None, None, label="image 1")
    assert image is None and problem.startswith("⚠ image 1")


# --------------------------------------------------------------------------- command line and wiring


def test_command_line_defaults_are_local_and_private():
    args = app.build_parser().parse_args([])
    assert (args.host, args.port, args.share, args.max_side) == ("127.0.0.1", 7860, False, 256)
    with pytest.raises(SystemExit):
        app.main(["--port", "0"])
    with pytest.raises(SystemExit):
        app.main(["--max-side", "4"])


def test_build_app_wires_the_documented_elements(monkeypatch):
    gr = pytest.importorskip("gradio")
    monkeypatch.delenv("GRADIO_ANALYTICS_ENABLED", raising=False)
    blocks = app.build_app()
    assert isinstance(blocks, gr.Blocks) and blocks.analytics_enabled is False
    assert app.os.environ["GRADIO_ANALYTICS_ENABLED"] == "False"
    ids = {getattr(block, "elem_id", None) for block in blocks.blocks.values()}
    expected = {"choice1", "choice2", "upload1", "upload2", "compare", "status", "scores",
                "ssim_map", "phase_congruency", "matches", "embeddings", "problem1", "problem2"}
    assert expected <= ids
    theme = app.theme()
    assert not any(isinstance(font, gr.themes.GoogleFont) for font in theme._font + theme._font_mono)
