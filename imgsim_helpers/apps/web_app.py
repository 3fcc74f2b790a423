"""A live comparison page: two images, every similarity method, side by side.

``python -m imgsim_helpers.apps.web_app``, then open http://127.0.0.1:7860. The page lists every
registry method (one without weights as ``unavailable: weights``) and draws the SSIM map, FSIM's
phase congruency, the keypoint matches and the embedding similarities; its work is in plain
functions the tests call without a browser. Uploads up to 20 MiB and 40 megapixels; images are
shrunk to 256 pixels a side. No telemetry, no web fonts.

>>> import imgsim_helpers as h
>>> a = h.course_image("camera", max_side=64)
>>> result = compare_images(a, a, methods=["ssim", "histogram_rgb"], figures=False)
>>> [(row.method, row.score) for row in result.rows]
[('ssim', 1.0), ('histogram_rgb', 1.0)]
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from imgsim_helpers import registry
from imgsim_helpers.core.checks import check_image, check_int
from imgsim_helpers.core.errors import (
    ImageLoadError,
    ImgSimError,
    WeightsUnavailableError,
)
from imgsim_helpers.images.io import fit_within, to_rgb, to_uint8
from imgsim_helpers.registry import (
    build_method,
    first_line,
    options_for,
    unavailable_status,
)
from imgsim_helpers.scale.pipeline import IMAGE_SUFFIXES

log = logging.getLogger(__name__)

WORK_SIDE = 256  # inputs are shrunk so that their longer side is at most this
MIN_SIDE = 16  # the smallest accepted side (phase congruency and keypoints need 16)
MAX_UPLOAD_BYTES = 20 * 2**20
MAX_UPLOAD_PIXELS = 40_000_000  # checked in the header, before decoding
TABLE_HEADERS = ("method", "family", "score", "note")
KEYPOINT_DRAW_ORDER = ("sift", "orb", "akaze", "surf")
DEFAULT_PORT = 7860
_UPLOAD_HINT = "Upload a PNG, JPEG, BMP, GIF, TIFF or WebP image."


# --------------------------------------------------------------------------- inputs


def _mib(n: float) -> str:
    return f"{n / 2**20:.1f} MiB"


def _header_pixels(path: Path) -> float | None:
    """Pixels according to the file header (no decoding); None when Pillow cannot identify it."""
    from PIL import Image
    try:
        with Image.open(path) as img:
            width, height = img.size
    except Image.DecompressionBombError:
        return math.inf
    except Exception:  # noqa: BLE001 - load_image names the reason precisely
        return None
    return float(width) * float(height)


def _size_problem(p: Path, who: str, max_bytes: int, max_pixels: int) -> str | None:
    """Why a file is too large to decode (bytes first, then the header's pixels), or None."""
    size = p.stat().st_size
    if size > max_bytes:
        return f"{who} is too large: {_mib(size)}, the limit is {_mib(max_bytes)}. Shrink or recompress it first."
    pixels = _header_pixels(p)
    if pixels is not None and pixels > max_pixels:
        shown = "more than Pillow will decode" if math.isinf(pixels) else f"{pixels / 1e6:.1f} megapixels"
        return (f"{who} is too large: {shown}, the limit is {max_pixels / 1e6:g} megapixels. "
                f"Resize it first (the app works at {WORK_SIDE} pixels anyway).")
    return None


def load_upload(path, *, label: str = "image", max_bytes: int = MAX_UPLOAD_BYTES,
                max_pixels: int = MAX_UPLOAD_PIXELS) -> np.ndarray | str:
    """Read an uploaded file as ``uint8`` RGB, or say in one sentence (starting with ``label``)
    why it cannot be used; never raises. Size limits are checked before decoding.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "notes.png"
    >>> _ = p.write_text("hello")
    >>> load_upload(p, label="image 1")
    'image 1 (notes.png) cannot be used: it is not an image file in a format Pillow can read. Upload a PNG, JPEG, BMP, GIF, TIFF or WebP image.'
    """
    from imgsim_helpers.images.io import load_image
    if path is None or str(path).strip() == "":
        return f"{label}: no file was uploaded. {_UPLOAD_HINT}"
    p = Path(path)
    who = f"{label} ({p.name})"
    try:
        if not p.is_file():
            return f"{who} cannot be used: the uploaded file is no longer there; upload it again."
        problem = _size_problem(p, who, max_bytes, max_pixels)
        if problem:
            return problem
        image = load_image(p)
    except ImageLoadError as error:
        return f"{who} cannot be used: {error.reason}. {_UPLOAD_HINT}"
    except ImgSimError as error:
        return f"{who} cannot be used: {error}"
    except Exception as error:  # noqa: BLE001 - a page shows a sentence, never a traceback
        log.exception("unexpected error while reading %s", p)
        return f"{who} cannot be used: it could not be read ({type(error).__name__}: {error})."
    height, width = image.shape[:2]
    if min(height, width) < MIN_SIDE:
        return f"{who} is too small: {width}×{height} pixels; the methods need at least {MIN_SIDE}×{MIN_SIDE}."
    return image


def load_choice(name, *, label: str = "image") -> np.ndarray | str:
    """A course image by name, or a message (as :func:`load_upload`)."""
    from imgsim_helpers.images.data import course_image
    if not name:
        return f"{label}: choose a course image or upload a file."
    try:
        return course_image(str(name))
    except ImgSimError as error:
        return f"{label} ({name}) cannot be used: {error}"


def resolve_input(choice, upload, *, label: str = "image") -> np.ndarray | str:
    """The image for one side of the page: the upload if there is one, else the picked course image."""
    return load_upload(upload, label=label) if upload else load_choice(choice, label=label)


def prepare(image, *, max_side: int = WORK_SIDE) -> np.ndarray:
    """``uint8`` RGB, shrunk so that the longer side is at most ``max_side`` (what every method receives).

    >>> prepare(np.zeros((600, 300), np.uint8)).shape
    (256, 128, 3)
    """
    return fit_within(to_uint8(to_rgb(check_image(image, min_size=MIN_SIDE))), max_side)


# --------------------------------------------------------------------------- methods


class _Unavailable(NamedTuple):
    reason: str  # why the weights could not be loaded (what get_method remembers)


_CACHE: dict[tuple[str, str], object] = {}
_CACHE_LOCK = threading.Lock()


def get_method(name: str, *, device: str = "auto"):
    """The registry's method ``name``, built once per device and cached; missing weights are
    remembered too, so later calls fail at once instead of probing the network again."""
    key = (name, device)
    with _CACHE_LOCK:  # two clicks must not load the same model twice
        if key not in _CACHE:
            try:
                _CACHE[key] = build_method(name, **options_for(name, device=device))
            except WeightsUnavailableError as error:
                # Keep the reason, not the error: a stored exception re-raised grows its traceback,
                # which keeps each caller's frame (images, figures) alive, about 17 MB a comparison.
                _CACHE[key] = _Unavailable(str(error))
        found = _CACHE[key]
    if isinstance(found, _Unavailable):
        raise WeightsUnavailableError(found.reason)
    return found


def clear_method_cache() -> None:
    """Forget every loaded model and every remembered unavailability (for tests, or after a download)."""
    with _CACHE_LOCK:
        _CACHE.clear()


@dataclass(frozen=True)
class ScoreRow:
    """One line of the score table; ``detail`` is the full error behind a missing score."""

    method: str
    family: str
    score: float | None
    note: str
    detail: str = ""

    def as_cells(self) -> list[str]:
        """The row as the page shows it: the score with four decimals, ``n/a`` when there is none."""
        return [self.method, self.family, "n/a" if self.score is None else f"{self.score:.4f}", self.note]


class Comparison(NamedTuple):
    """What :func:`compare_images` returns: a :class:`ScoreRow` per method, and the figures
    (``"ssim_map"``, ``"phase_congruency"``, ``"matches"``: each when its method ran)."""

    rows: list[ScoreRow]
    figures: dict


def _keypoint_note(features1, features2, default: str) -> str:
    """Counts behind a keypoint score, and why it is 0 when it is (the registry's score is only a number)."""
    from imgsim_helpers.metrics.keypoints import compare_features
    try:
        result = compare_features(features1, features2)
    except ImgSimError:
        return default
    counts = (f"{len(features1)}/{len(features2)} keypoints, {result.n_matches} matches, "
              f"{result.n_distinct_inliers} inliers")
    return counts if result.reason == "ok" else f"{counts}; {result.reason}"


def _score_one(name: str, work1, work2, device: str):
    """(row, features) for one method; a failure becomes a row, so the table never loses a method."""
    try:
        method = get_method(name, device=device)
    except WeightsUnavailableError as error:
        # Only methods with weights can be unavailable: embeddings, apart from the learned Siamese head.
        family = "learned" if "siamese" in name else "embedding"
        return ScoreRow(name, family, None, unavailable_status(error), detail=str(error)), None
    try:
        features = method.features([work1, work2])
        score = float(method.compare(features[0], features[1]))
        note = method.description
        if method.family == "keypoints":
            note = _keypoint_note(features[0], features[1], method.description)
        elif method.weights not in ("none", ""):
            note = f"{method.description}; {method.weights} weights"
    except Exception as error:  # noqa: BLE001 - one broken method must not blank the whole table
        log.exception("method %s failed", name)
        note = f"failed: {type(error).__name__}: {first_line(error)}"
        return ScoreRow(name, method.family, None, note, detail=str(error)), None
    return ScoreRow(name, method.family, score, note), (method, features)


# --------------------------------------------------------------------------- figures


def _new_figure(width: float, height: float):
    # A bare Figure (no pyplot): nothing to close, safe in Gradio's worker threads, and no
    # window opens whatever matplotlib backend the user has configured.
    from matplotlib.figure import Figure
    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def ssim_figure(gray1, gray2):
    """The SSIM map of two equal-size images (dark = where they differ), titled with its mean.

    >>> a = np.random.default_rng(0).integers(0, 256, (32, 32), dtype=np.uint8)
    >>> ssim_figure(a, a).axes[0].get_title()
    'SSIM map, mean 1.0000'
    """
    from imgsim_helpers.images.viz import show_map
    from imgsim_helpers.metrics.structural_similarity import ssim
    score, ssim_map = ssim(gray1, gray2, full=True)
    fig = _new_figure(4.6, 4.0)
    show_map(ssim_map, ax=fig.subplots(), title=f"SSIM map, mean {score:.4f}", vmin=0.0, vmax=1.0)
    return fig


def phase_congruency_figure(gray1, gray2):
    """Phase congruency of both images and FSIM's local similarity, from two gray images or the
    two ``FSIMFeatures`` the registry's ``fsim`` extracted (then nothing is computed twice)."""
    from imgsim_helpers.images.viz import show_map
    from imgsim_helpers.metrics.feature_similarity import FSIMFeatures, fsim, fsim_compare
    compare = fsim_compare if isinstance(gray1, FSIMFeatures) else fsim
    score, result = compare(gray1, gray2, full=True)
    fig = _new_figure(11.0, 3.8)
    axes = fig.subplots(1, 3)
    for ax, pc, k in ((axes[0], result.pc1, 1), (axes[1], result.pc2, 2)):
        show_map(pc, ax=ax, title=f"phase congruency, image {k}", cmap="magma", vmin=0.0, vmax=1.0)
    show_map(result.local_similarity, ax=axes[2], title=f"FSIM local similarity (FSIM {score:.4f})",
             vmin=0.0, vmax=1.0)
    return fig


def matches_figure(image1, image2, features1, features2, *, method: str):
    """Keypoint matches between the two images (from ``detect_and_describe`` on each): inliers
    green, rejected matches red."""
    from imgsim_helpers.images.viz import draw_matches
    from imgsim_helpers.metrics.keypoints import compare_features
    result = compare_features(features1, features2)
    height, width = max(image1.shape[0], image2.shape[0]), image1.shape[1] + image2.shape[1]
    fig = _new_figure(10.0, max(3.0, 10.0 * height / width + 0.6))
    title = (f"{method.upper()}: {result.n_matches} matches, {result.n_distinct_inliers} inliers "
             f"(green), score {result.score:.4f}")
    draw_matches(image1, image2, features1, features2, result.matches, inliers=result.inliers,
                 ax=fig.subplots(), max_lines=150, title=title)
    return fig


def figure_to_image(fig) -> np.ndarray:
    """Render a matplotlib Figure to a ``uint8`` RGB array (what the page displays).

    >>> from matplotlib.figure import Figure
    >>> figure_to_image(Figure(figsize=(2, 1), dpi=50)).shape
    (50, 100, 3)
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[:, :, :3].copy()


def _draw_figures(computed: dict, work1, work2, max_side: int, tell: Callable[[int, str], None]) -> dict:
    """Each figure from the features its score came from, so the map's mean and the table agree."""
    drawn = {}
    tell(0, "drawing the SSIM map")
    if "ssim" in computed:
        drawn["ssim_map"] = ssim_figure(*computed["ssim"][1])
    tell(1, "drawing the phase-congruency maps")
    if "fsim" in computed:
        drawn["phase_congruency"] = phase_congruency_figure(*computed["fsim"][1])
    tell(2, "drawing the keypoint matches")
    name = next((name for name in KEYPOINT_DRAW_ORDER if name in computed), None)
    if name is not None:
        method, (f1, f2) = computed[name]
        side = int(method.options.get("max_side", max_side))
        drawn["matches"] = matches_figure(fit_within(work1, side), fit_within(work2, side), f1, f2, method=name)
    return drawn


def compare_images(image1, image2, *, methods: Sequence[str] | None = None, max_side: int = WORK_SIDE,
                   device: str = "auto", figures: bool = True,
                   progress: Callable[..., object] | None = None) -> Comparison:
    """Score two images (shrunk by :func:`prepare`) with registry methods (default all) and draw
    what the scores look at. A method without weights or that fails has ``score=None`` and a
    note saying why; ``progress(fraction, desc=...)`` is called before each step (``gr.Progress``)."""
    max_side = check_int(max_side, "max_side", low=MIN_SIDE)
    work1, work2 = prepare(image1, max_side=max_side), prepare(image2, max_side=max_side)
    names = registry.check_method_names(methods)
    steps = len(names) + (3 if figures else 0)

    def tell(done: int, what: str) -> None:
        if progress is not None:
            progress(done / steps, desc=what)

    rows, computed = [], {}
    for i, name in enumerate(names):
        tell(i, f"computing {name}")
        row, result = _score_one(name, work1, work2, device)
        rows.append(row)
        if result is not None:
            computed[name] = result
    drawn = {}
    if figures:
        drawn = _draw_figures(computed, work1, work2, max_side, lambda k, what: tell(len(names) + k, what))
    tell(steps, "done")
    return Comparison(rows, drawn)


def embedding_summary(rows: Sequence[ScoreRow]) -> str:
    """Markdown lines for the embedding methods: their cosine similarity, or why there is none.

    >>> print(embedding_summary([ScoreRow("clip", "embedding", None, "unavailable: weights (offline)")]))
    - **clip**: unavailable: weights (offline)
    """
    lines = []
    for row in rows:
        if row.family not in ("embedding", "learned"):
            continue
        if row.score is None:
            lines.append(f"- **{row.method}**: {row.note}" + (f" — {row.detail}" if row.detail else ""))
        else:
            lines.append(f"- **{row.method}**: cosine similarity {row.score:.4f} ({row.note})")
    return "\n".join(lines) if lines else "No embedding method was computed."


# --------------------------------------------------------------------------- the page's handler


class PageOutputs(NamedTuple):
    """Everything one click on *Compare* puts on the page, in the order :func:`build_app` wires it."""

    status: str
    table: list[list[str]]
    ssim_map: np.ndarray | None
    phase_congruency: np.ndarray | None
    matches: np.ndarray | None
    embeddings: str


def _describe(choice, upload, image: np.ndarray, max_side: int) -> str:
    name = Path(str(upload)).name if upload else str(choice)
    height, width = image.shape[:2]
    size = f"{width}×{height}"
    if max(height, width) > max_side:
        small = fit_within(image, max_side).shape
        size += f", shrunk to {small[1]}×{small[0]}"
    return f"**{name}** ({size})"


def comparison_outputs(choice1, upload1, choice2, upload2, *, max_side: int = WORK_SIDE, device: str = "auto",
                       methods: Sequence[str] | None = None,
                       progress: Callable[..., object] | None = None) -> PageOutputs:
    """The page's *Compare* button, from and to the widgets; never raises (a problem is a ``⚠`` status).

    >>> comparison_outputs("camera", None, "", None).status
    '⚠ image 2: choose a course image or upload a file.'
    """
    empty = PageOutputs("", [], None, None, None, "")
    image1 = resolve_input(choice1, upload1, label="image 1")
    image2 = resolve_input(choice2, upload2, label="image 2")
    problems = [x for x in (image1, image2) if isinstance(x, str)]
    if problems:
        return empty._replace(status="\n\n".join(f"⚠ {p}" for p in problems))
    start = time.perf_counter()
    try:
        rows, figures = compare_images(image1, image2, methods=methods, max_side=max_side, device=device,
                                       progress=progress)
        shown = {key: figure_to_image(fig) for key, fig in figures.items()}
    except ImgSimError as error:
        return empty._replace(status=f"⚠ The images cannot be compared: {error}")
    except Exception as error:  # noqa: BLE001 - the page shows a sentence; the traceback goes to the log
        log.exception("comparison failed")
        reason = f"{type(error).__name__}: {first_line(error)}"
        return empty._replace(status=f"⚠ The comparison failed ({reason}); see the server log for details.")
    status = (f"Compared {_describe(choice1, upload1, image1, max_side)} with "
              f"{_describe(choice2, upload2, image2, max_side)} in {time.perf_counter() - start:.1f} s. "
              "Higher scores mean more similar.")
    return PageOutputs(status, [row.as_cells() for row in rows], shown.get("ssim_map"),
                       shown.get("phase_congruency"), shown.get("matches"),
                       "### Embedding similarity\n" + embedding_summary(rows))


def preview(choice, upload, *, label: str = "image") -> tuple[np.ndarray | None, str]:
    """What the page shows under a picker/upload as soon as it changes: the image, or the problem."""
    image = resolve_input(choice, upload, label=label)
    if isinstance(image, str):
        return None, f"⚠ {image}"
    return fit_within(image, 512), ""


# --------------------------------------------------------------------------- Gradio wiring


def _gradio():
    # Telemetry off before Gradio is imported: it reads the variable at import and launch.
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import gradio as gr
    return gr


def theme():
    """Gradio's default look with the system's fonts, so the page fetches no web fonts."""
    gr = _gradio()
    return gr.themes.Default(font=["system-ui", "Segoe UI", "Helvetica", "Arial", "sans-serif"],
                             font_mono=["ui-monospace", "Menlo", "Consolas", "monospace"])


def _input_column(gr, app, k: int, default: str | None, choices: list[str]) -> tuple:
    """One image's picker, upload and preview, the preview wired to both; returns (picker, upload)."""
    choice = gr.Dropdown(choices, value=default, label=f"image {k}: course image", elem_id=f"choice{k}")
    upload = gr.File(label=f"image {k}: or upload a file", file_types=list(IMAGE_SUFFIXES), type="filepath",
                     elem_id=f"upload{k}")
    shown = gr.Image(label=f"image {k}", interactive=False, height=220, elem_id=f"preview{k}",
                     buttons=["fullscreen"])
    problem = gr.Markdown(elem_id=f"problem{k}")

    def on_change(choice, upload):
        return preview(choice, upload, label=f"image {k}")

    # A dropdown's starting value fires no change event: the first previews come on page load.
    for event in (choice.change, upload.change, app.load):
        event(on_change, inputs=[choice, upload], outputs=[shown, problem])
    return choice, upload


def build_app(*, max_side: int = WORK_SIDE, device: str = "auto"):
    """The Gradio page (a ``gr.Blocks``) wired to :func:`preview` and :func:`comparison_outputs`;
    the browser test relies on its ``elem_id`` values."""
    from imgsim_helpers.images.data import list_course_images
    gr = _gradio()
    choices = list_course_images()  # the deliberately broken files left out

    def on_compare(choice1, upload1, choice2, upload2, progress=gr.Progress()):  # noqa: B008 - Gradio's idiom
        return tuple(comparison_outputs(choice1, upload1, choice2, upload2, max_side=max_side, device=device,
                                        progress=progress))

    with gr.Blocks(title="Image similarity, hands-on", analytics_enabled=False) as app:
        gr.Markdown(
            "# Image similarity, hands-on — live comparison\n"
            "Pick two course images or upload your own (an upload replaces the picked image; clear it "
            f"to use the picker again), then press **Compare**. Images are shrunk to at most {max_side} px "
            f"per side; uploads up to {_mib(MAX_UPLOAD_BYTES)} and {MAX_UPLOAD_PIXELS / 1e6:g} megapixels."
        )
        sides = []
        with gr.Row():
            for k, default in ((1, "astronaut"), (2, "chelsea")):
                with gr.Column():
                    sides += _input_column(gr, app, k, default if default in choices else None, choices)
        button = gr.Button("Compare", variant="primary", elem_id="compare")
        status = gr.Markdown(elem_id="status")
        # Tall enough that the table never virtualises rows away: every method stays on screen.
        table = gr.Dataframe(headers=list(TABLE_HEADERS), datatype=["str"] * 4, interactive=False, wrap=True,
                             max_height=2000, label="scores (higher = more similar)", elem_id="scores")
        embeddings = gr.Markdown(elem_id="embeddings")
        figure = {"interactive": False, "show_label": False, "buttons": ["download", "fullscreen"]}
        with gr.Row():
            ssim_map = gr.Image(label="SSIM map", elem_id="ssim_map", **figure)
            matches = gr.Image(label="keypoint matches", elem_id="matches", **figure)
        phase = gr.Image(label="phase congruency (FSIM)", elem_id="phase_congruency", **figure)
        button.click(on_compare, inputs=sides, outputs=[status, table, ssim_map, phase, matches, embeddings])
    return app


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m imgsim_helpers.apps.web_app", description="Compare two "
                                     "images with every similarity method of the course, in the browser.")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default: this machine only; 0.0.0.0: the network)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    parser.add_argument("--share", action="store_true",
                        help="also create a temporary public gradio.live link (needs internet)")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda, for the embedding models")
    parser.add_argument("--max-side", type=int, default=WORK_SIDE,
                        help=f"shrink inputs so their longer side is at most this (default {WORK_SIDE})")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Serve the page until interrupted (Ctrl+C)."""
    args = build_parser().parse_args(argv)
    if not 0 < args.port < 65536:
        build_parser().error(f"--port must be in 1..65535; got {args.port}")
    if args.max_side < MIN_SIDE:
        build_parser().error(f"--max-side must be at least {MIN_SIDE}; got {args.max_side}")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    app = build_app(max_side=args.max_side, device=args.device)
    app.queue(default_concurrency_limit=1)  # one comparison at a time: the models are shared
    # Gradio refuses absurd uploads itself (a toast); below that, load_upload explains the limit.
    app.launch(server_name=args.host, server_port=args.port, share=args.share, inbrowser=False, show_error=False,
               max_file_size=4 * MAX_UPLOAD_BYTES, theme=theme())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
