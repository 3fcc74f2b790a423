"""Pictures for the notebooks: images side by side with scores, grids, histograms, curves, heatmaps.

Every function draws with matplotlib, returns the ``Figure`` (or takes an
``ax``), and never calls ``plt.show()`` itself, so notebooks, tests and the
HTML build all render the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .errors import EmptyInputError, InvalidParameterError, ShapeMismatchError
from .io import to_float, validate_image


def _plt():
    import matplotlib.pyplot as plt

    return plt


def _show(ax, image, title=None):
    image = validate_image(image)
    shown = to_float(image)
    if shown.ndim == 2:
        ax.imshow(shown, cmap="gray", vmin=0, vmax=1)
    else:
        ax.imshow(shown)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=10)


def _label(title, score, fmt):
    parts = [t for t in (title, None if score is None else format(score, fmt)) if t]
    return "\n".join(parts) if parts else None


def show_images(
    images: Sequence[np.ndarray] | Mapping[str, np.ndarray],
    titles: Sequence[str] | None = None,
    scores: Sequence[float] | None = None,
    *,
    cols: int | None = None,
    size: float = 3.0,
    score_format: str = ".3f",
    suptitle: str | None = None,
):
    """Draw images side by side (wrapping after ``cols``), each with an optional title and score.

    Parameters
    ----------
    images
        A list of images, or a dict whose keys become the titles.
    titles, scores
        Optional per-image title and number shown under it.
    cols
        Images per row (default: all in one row, at most 6).
    size
        Inches per panel.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = show_images([np.zeros((4, 4)), np.ones((4, 4, 3))], titles=["a", "b"], scores=[1.0, 0.5])
    >>> len(fig.axes)
    2
    """
    if isinstance(images, Mapping):
        titles = list(images) if titles is None else titles
        images = list(images.values())
    images = list(images)
    if not images:
        raise EmptyInputError("show_images needs at least one image")
    n = len(images)
    for name, values in (("titles", titles), ("scores", scores)):
        if values is not None and len(values) != n:
            raise ShapeMismatchError(f"{len(values)} {name} given for {n} images")
    cols = min(n, 6) if cols is None else max(1, int(cols))
    rows = -(-n // cols)
    plt = _plt()
    fig, axes = plt.subplots(rows, cols, figsize=(size * cols, size * rows), squeeze=False)
    for i, ax in enumerate(axes.ravel()):
        if i < n:
            title = titles[i] if titles is not None else None
            score = scores[i] if scores is not None else None
            _show(ax, images[i], _label(title, score, score_format))
        else:
            ax.axis("off")
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def image_grid(rows: Sequence[Sequence[np.ndarray]], *, row_labels=None, col_labels=None, size: float = 2.2):
    """Draw a table of images: ``rows[i][j]`` in row i, column j, with optional labels.

    Examples
    --------
    >>> fig = image_grid([[np.zeros((4, 4))] * 3] * 2, col_labels=["a", "b", "c"])
    >>> len(fig.axes)
    6
    """
    rows = [list(r) for r in rows]
    if not rows or not rows[0]:
        raise EmptyInputError("image_grid needs at least one row with one image")
    ncols = max(len(r) for r in rows)
    plt = _plt()
    fig, axes = plt.subplots(len(rows), ncols, figsize=(size * ncols, size * len(rows)), squeeze=False)
    for i, row in enumerate(rows):
        for j in range(ncols):
            ax = axes[i, j]
            if j < len(row):
                _show(ax, row[j], col_labels[j] if (col_labels is not None and i == 0) else None)
            else:
                ax.axis("off")
            if j == 0 and row_labels is not None:
                ax.set_ylabel(row_labels[i])
    fig.tight_layout()
    return fig


def _bin_colours(shape: tuple[int, ...], space: str) -> np.ndarray:
    """The RGB colour at the centre of each bin, for colouring histogram bars."""
    import cv2

    centres = np.stack(np.meshgrid(*[(np.arange(n) + 0.5) / n for n in shape], indexing="ij"), axis=-1)
    flat = centres.reshape(-1, len(shape))
    if space == "rgb":
        return flat
    if space == "hsv":
        pix = np.round(flat * np.array([180, 256, 256]) - 0.5).clip(0, 255).astype(np.uint8)[None]
        return cv2.cvtColor(pix, cv2.COLOR_HSV2RGB)[0] / 255.0
    if space == "lab":
        pix = np.round(flat * 256 - 0.5).clip(0, 255).astype(np.uint8)[None]
        return cv2.cvtColor(pix, cv2.COLOR_LAB2RGB)[0] / 255.0
    raise InvalidParameterError(f"no bin colours for space {space!r}")


def plot_histogram(histogram, *, space: str = "rgb", ax=None, title: str | None = None, top: int | None = None):
    """Draw a histogram from :func:`color_histogram`.

    Gray histograms are drawn as bars over intensity; colour histograms as
    one bar per bin, coloured by the bin's centre colour (``top`` keeps only
    the fullest bins, sorted).

    Examples
    --------
    >>> from imgsim_helpers.histograms import color_histogram
    >>> ax = plot_histogram(color_histogram(np.zeros((4, 4, 3), np.uint8), bins=2))
    """
    plt = _plt()
    h = np.asarray(histogram, dtype=np.float64)
    if h.size == 0:
        raise EmptyInputError("the histogram is empty")
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 2.5))
    if h.ndim == 1 or space == "gray":
        ax.bar(np.arange(h.size), h.ravel(), width=1.0, color="0.4")
        ax.set_xlabel("bin (dark → bright)")
    else:
        colours = _bin_colours(h.shape, space)
        values = h.ravel()
        order = np.argsort(values)[::-1][:top] if top else np.arange(values.size)
        ax.bar(np.arange(order.size), values[order], width=1.0, color=colours[order], edgecolor="none")
        ax.set_xlabel(f"{space.upper()} bin" + (" (fullest first)" if top else ""))
    ax.set_ylabel("fraction of pixels")
    if title:
        ax.set_title(title, fontsize=10)
    return ax


def plot_curves(
    x: Sequence[float],
    curves: Mapping[str, Sequence[float]],
    *,
    xlabel: str,
    ylabel: str = "score",
    title: str | None = None,
    ax=None,
    marker: str = "o",
):
    """Plot several score curves against one parameter (for example similarity vs shift).

    Examples
    --------
    >>> ax = plot_curves([0, 1, 2], {"ssim": [1, 0.8, 0.5]}, xlabel="shift (px)")
    """
    plt = _plt()
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.2))
    for name, values in curves.items():
        if len(values) != len(x):
            raise ShapeMismatchError(f"curve {name!r} has {len(values)} values for {len(x)} x positions")
        ax.plot(x, values, marker=marker, label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return ax


def plot_heatmap(
    matrix,
    *,
    row_labels: Sequence[str] | None = None,
    col_labels: Sequence[str] | None = None,
    ax=None,
    cmap: str = "viridis",
    fmt: str = ".2f",
    title: str | None = None,
    annotate: bool = True,
):
    """A labelled heatmap of a matrix (similarity matrices, accuracy tables), with values written in.

    Examples
    --------
    >>> ax = plot_heatmap(np.eye(2), row_labels=["a", "b"], col_labels=["a", "b"])
    """
    plt = _plt()
    m = np.asarray(matrix, dtype=np.float64)
    if m.ndim != 2 or m.size == 0:
        raise InvalidParameterError(f"plot_heatmap needs a non-empty 2-D matrix; got shape {m.shape}")
    if ax is None:
        _, ax = plt.subplots(figsize=(0.6 * m.shape[1] + 2.5, 0.5 * m.shape[0] + 1.5))
    image = ax.imshow(m, cmap=cmap, aspect="auto")
    ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    if row_labels is not None:
        ax.set_yticks(range(m.shape[0]), row_labels, fontsize=8)
    if col_labels is not None:
        ax.set_xticks(range(m.shape[1]), col_labels, fontsize=8, rotation=45, ha="right")
    if annotate and m.size <= 400:
        middle = np.nanmean(m)
        for (i, j), value in np.ndenumerate(m):
            if np.isfinite(value):
                ax.text(j, i, format(value, fmt), ha="center", va="center", fontsize=7,
                        color="white" if value < middle else "black")
    if title:
        ax.set_title(title, fontsize=10)
    return ax


def show_map(image_map, *, ax=None, title: str | None = None, cmap: str = "viridis", vmin=None, vmax=None):
    """Draw a 2-D map (an SSIM map, a phase-congruency map) with a colour bar.

    Examples
    --------
    >>> ax = show_map(np.random.default_rng(0).random((8, 8)), title="map")
    """
    plt = _plt()
    m = np.asarray(image_map, dtype=np.float64)
    if m.ndim != 2 or m.size == 0:
        raise InvalidParameterError(f"show_map needs a non-empty 2-D array; got shape {m.shape}")
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 4))
    shown = ax.imshow(m, cmap=cmap, vmin=vmin, vmax=vmax)
    ax.figure.colorbar(shown, ax=ax, fraction=0.046, pad=0.04)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=10)
    return ax
