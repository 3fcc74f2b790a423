"""Figures for the notebooks: images with scores, grids, histograms, curves, heatmaps, keypoints.

Each returns its matplotlib ``Figure`` or ``Axes`` and never calls ``plt.show()``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from imgsim_helpers.core.checks import (
    check_choice,
    check_flag,
    check_image,
    check_int,
    check_real,
    check_unit_range,
)
from imgsim_helpers.core.errors import EmptyInputError, InvalidParameterError, ShapeMismatchError
from imgsim_helpers.images.io import _rgb, _unit_float

HISTOGRAM_SPACES = ("rgb", "hsv", "lab", "gray")
RANDOM_WEIGHTS_MARK = "random weights — scores mean nothing"
_WHITE = np.array([255.0, 255.0, 255.0])


def _plt():
    import matplotlib.pyplot as plt

    return plt


def _display(image, name: str = "image", *, rgb: bool = False) -> np.ndarray:
    """Float in [0, 1] for imshow (RGB with ``rgb``): the one check of every image a figure shows."""
    image = check_unit_range(check_image(image, name=name), name=name)
    return _unit_float(_rgb(image, _WHITE) if rgb else image)


def _axes(ax, width: float, height: float):
    return _plt().subplots(figsize=(width, height))[1] if ax is None else ax


def _title(ax, title) -> None:
    if title:
        ax.set_title(title, fontsize=10)


def _picture(ax, rgb: np.ndarray) -> None:
    """``rgb`` filling ``ax`` pixel for pixel, no axes, for drawing in pixel coordinates."""
    ax.imshow(rgb, interpolation="nearest")
    ax.set_xlim(-0.5, rgb.shape[1] - 0.5)
    ax.set_ylim(rgb.shape[0] - 0.5, -0.5)
    ax.set_axis_off()


def _draw(ax, shown: np.ndarray, title=None) -> None:
    if shown.ndim == 2:
        ax.imshow(shown, cmap="gray", vmin=0, vmax=1)
    else:
        ax.imshow(shown)
    _no_ticks(ax, title)


def _no_ticks(ax, title) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    _title(ax, title)


def show_image(ax, image, title=None):
    """Draw one image on a matplotlib Axes (gray with a gray colour map), without ticks."""
    _draw(ax, _display(image), title)


def _label(title, score, fmt):
    parts = [t for t in (title, None if score is None else format(score, fmt)) if t]
    return "\n".join(parts) if parts else None


def _grid(cells, ncols: int, size: float, *, ylabels=None, suptitle=None):
    """A figure of ``cells[i][j] = (shown image, title)`` in ``ncols`` columns; empty cells blank."""
    fig, axes = _plt().subplots(len(cells), ncols, figsize=(size * ncols, size * len(cells)), squeeze=False)
    for (i, j), ax in np.ndenumerate(axes):
        if j < len(cells[i]):
            _draw(ax, *cells[i][j])
        else:
            ax.axis("off")
        if j == 0 and ylabels is not None:
            ax.set_ylabel(ylabels[i])
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def show_images(images: Sequence[np.ndarray] | Mapping[str, np.ndarray], titles: Sequence[str] | None = None,
                scores: Sequence[float] | None = None, *, cols: int | None = None, size: float = 3.0,
                score_format: str = ".3f", suptitle: str | None = None):
    """Draw images (a list, or a dict keyed by title) ``cols`` per row, with titles and scores.

    >>> len(show_images([np.zeros((4, 4)), np.ones((4, 4, 3))], titles=["a", "b"], scores=[1.0, 0.5]).axes)
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
    cols = min(n, 6) if cols is None else check_int(cols, "cols", low=1)
    size = check_real(size, "size", low=0, low_open=True, hint="inches per image")
    cells = [(_display(image, f"images[{k}]"), _label(None if titles is None else titles[k],
                                                      None if scores is None else scores[k], score_format))
             for k, image in enumerate(images)]
    return _grid([cells[k : k + cols] for k in range(0, n, cols)], cols, size, suptitle=suptitle)


def image_grid(rows: Sequence[Sequence[np.ndarray]], *, row_labels=None, col_labels=None, size: float = 2.2):
    """Draw a table of images: ``rows[i][j]`` in row i, column j, with optional labels."""
    cells = [[(_display(image, f"rows[{i}][{j}]"), col_labels[j] if col_labels is not None and i == 0 else None)
              for j, image in enumerate(row)] for i, row in enumerate(rows)]
    if not cells or not cells[0]:
        raise EmptyInputError("image_grid needs at least one row with one image")
    return _grid(cells, max(len(r) for r in cells), size, ylabels=row_labels)


def _bin_colours(shape: tuple[int, ...], space: str) -> np.ndarray:
    """The RGB colour at the centre of each bin, for colouring histogram bars."""
    import cv2

    centres = np.stack(np.meshgrid(*[(np.arange(n) + 0.5) / n for n in shape], indexing="ij"), axis=-1)
    flat = centres.reshape(-1, len(shape))
    if space == "rgb":
        return flat
    scale, code = ((180, 256, 256), cv2.COLOR_HSV2RGB) if space == "hsv" else (256, cv2.COLOR_LAB2RGB)
    pix = np.round(flat * np.array(scale) - 0.5).clip(0, 255).astype(np.uint8)[None]
    return cv2.cvtColor(pix, code)[0] / 255.0


def plot_histogram(histogram, *, space: str = "rgb", ax=None, title: str | None = None, top: int | None = None):
    """Draw a :func:`color_histogram`, bars in their bin's colour (``top``: the fullest bins)."""
    space = check_choice(space, "histogram space", HISTOGRAM_SPACES)
    top = None if top is None else check_int(top, "top", low=0, hint="0 or None draws every bin")
    h = np.asarray(histogram, dtype=np.float64)
    if h.size == 0:
        raise EmptyInputError("the histogram is empty")
    ax = _axes(ax, 6, 2.5)
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
    _title(ax, title)
    return ax


def plot_curves(x: Sequence[float], curves: Mapping[str, Sequence[float]], *, xlabel: str, ylabel: str = "score",
                title: str | None = None, ax=None, marker: str = "o"):
    """Plot several score curves against one parameter (for example similarity vs shift)."""
    for name, values in curves.items():
        if len(values) != len(x):
            raise ShapeMismatchError(f"curve {name!r} has {len(values)} values for {len(x)} x positions")
    ax = _axes(ax, 5, 3.2)
    for name, values in curves.items():
        ax.plot(x, values, marker=marker, label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    _title(ax, title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return ax


def _matrix(values, what: str) -> np.ndarray:
    m = np.asarray(values, dtype=np.float64)
    if m.ndim != 2 or m.size == 0:
        raise InvalidParameterError(f"{what} needs a non-empty 2-D array; got shape {m.shape}")
    return m


def plot_heatmap(matrix, *, row_labels: Sequence[str] | None = None, col_labels: Sequence[str] | None = None,
                 ax=None, cmap: str = "viridis", fmt: str = ".2f", title: str | None = None,
                 annotate: bool = True, missing: str | None = None):
    """A labelled heatmap of a matrix with the values written in; ``missing`` labels NaN cells.

    >>> ax = plot_heatmap(np.array([[1.0], [np.nan]]), missing="n/a")
    >>> [t.get_text() for t in ax.texts]
    ['1.00', 'n/a']
    """
    m = _matrix(matrix, "plot_heatmap")
    annotate = check_flag(annotate, "annotate")
    ax = _axes(ax, 0.6 * m.shape[1] + 2.5, 0.5 * m.shape[0] + 1.5)
    image = ax.imshow(m, cmap=_plt().get_cmap(cmap).with_extremes(bad="0.88"), aspect="auto")
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
            elif missing:
                ax.text(j, i, missing, ha="center", va="center", fontsize=7, color="0.3")
    _title(ax, title)
    return ax


def mark_random_weights(figure, weights: str):
    """Stamp :data:`RANDOM_WEIGHTS_MARK` across a Figure or Axes when ``weights`` is ``"random"``;
    return the stamp or ``None``."""
    if not isinstance(weights, str):
        raise InvalidParameterError(f"weights must be the recorded weights as a string such as 'random' or "
                                    f"'pretrained'; got {type(weights).__name__}")
    fig = getattr(figure, "figure", figure)
    if not hasattr(fig, "text") or not hasattr(fig, "get_size_inches"):
        raise InvalidParameterError(f"mark_random_weights needs a matplotlib Figure or Axes; got {type(figure).__name__}")
    if weights != "random":
        return None
    from matplotlib import patheffects

    width, height = fig.get_size_inches()
    # Diagonal, half transparent, outlined: readable on dark and light plots, and the data shows through.
    return fig.text(0.5, 0.5, RANDOM_WEIGHTS_MARK, transform=fig.transFigure, ha="center", va="center",
                    rotation=np.degrees(np.arctan2(height, width)) * 0.6, fontsize=max(9.0, min(28.0, 2.2 * width)),
                    color="red", alpha=0.55, fontweight="bold", zorder=1000,
                    path_effects=[patheffects.withStroke(linewidth=2.5, foreground="white", alpha=0.7)])


def show_map(image_map, *, ax=None, title: str | None = None, cmap: str = "viridis", vmin=None, vmax=None):
    """Draw a 2-D map (an SSIM map, a phase-congruency map) with a colour bar."""
    m = _matrix(image_map, "show_map")
    ax = _axes(ax, 4, 4)
    ax.figure.colorbar(ax.imshow(m, cmap=cmap, vmin=vmin, vmax=vmax), ax=ax, fraction=0.046, pad=0.04)
    _no_ticks(ax, title)
    return ax


# --------------------------------------------------------------------------- keypoints
# viz sits below keypoints: these read .xy / .scale / .angle / .indices from whatever they are given.


def _keypoint_arrays(keypoints, name: str):
    """(xy, radius, angle-or-None) from Features-like objects or an (N, 2) / (N, >=3) array."""
    if hasattr(keypoints, "xy"):
        xy = np.asarray(keypoints.xy, dtype=np.float64)
        radius = np.asarray(getattr(keypoints, "scale", np.full(len(xy), 3.0)), dtype=np.float64)
        angle = getattr(keypoints, "angle", None)
        angle = None if angle is None else np.asarray(angle, dtype=np.float64)
    else:
        array = np.asarray(keypoints, dtype=np.float64)
        if array.ndim != 2 or array.shape[1] < 2:
            raise InvalidParameterError(f"{name} must be Features (with .xy) or an (N, 2) array of (x, y) "
                                        f"positions, optionally with a third column of radii; got shape {array.shape}")
        xy, angle = array[:, :2], None
        radius = array[:, 2] if array.shape[1] > 2 else np.full(len(array), 3.0)
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise InvalidParameterError(f"{name}.xy must have shape (N, 2); got {xy.shape}")
    return xy, radius, angle


def _check_limit(value, name: str) -> int | None:
    return None if value is None else check_int(value, name, low=0, hint="or None for all")


def _spread(n: int, limit: int | None) -> np.ndarray:
    """Indices of at most ``limit`` items spread evenly over ``n`` (deterministic)."""
    if limit is None or n <= limit:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, limit).round().astype(np.int64))


def draw_keypoints(image, keypoints, *, ax=None, max_points: int | None = 300, color="yellow", title=None):
    """Draw keypoints on an image: a circle of each keypoint's scale and a radius at its angle.

    ``keypoints``: :class:`~imgsim_helpers.metrics.keypoints.Features` or an ``(N, 2)`` array of
    (x, y), with an optional third column of radii; the first ``max_points`` are drawn.
    """
    from matplotlib.collections import LineCollection
    from matplotlib.patches import Circle

    rgb = _display(image, rgb=True)
    xy, radius, angle = _keypoint_arrays(keypoints, "keypoints")
    max_points = _check_limit(max_points, "max_points")
    ax = _axes(ax, 6, 6 * rgb.shape[0] / rgb.shape[1])
    _picture(ax, rgb)
    shown = np.arange(len(xy) if max_points is None else min(len(xy), max_points))
    for k in shown:
        ax.add_patch(Circle(tuple(xy[k]), radius[k], fill=False, color=color, linewidth=1.0))
    if angle is not None and len(shown):
        theta = np.radians(angle[shown])
        tips = xy[shown] + radius[shown, None] * np.stack([np.cos(theta), np.sin(theta)], axis=1)
        ax.add_collection(LineCollection(np.stack([xy[shown], tips], axis=1), colors=color, linewidths=1.0))
    ax.set_title(title if title is not None else f"{len(shown)} of {len(xy)} keypoints")
    return ax


def _match_pairs(matches, n1: int, n2: int) -> np.ndarray:
    """Matches (``.indices``) or an (M, 2) integer array, every index inside its keypoint list."""
    pairs = np.asarray(getattr(matches, "indices", matches))
    pairs = np.zeros((0, 2), np.int64) if pairs.size == 0 else pairs
    if pairs.ndim != 2 or pairs.shape[1] != 2 or not np.issubdtype(pairs.dtype, np.integer):
        raise InvalidParameterError(f"matches must be Matches or an (M, 2) integer array; got shape {pairs.shape}")
    if len(pairs) and (pairs.min() < 0 or pairs[:, 0].max() >= n1 or pairs[:, 1].max() >= n2):
        raise InvalidParameterError(f"match indices out of range for {n1} and {n2} keypoints")
    return pairs


def _lines_to_draw(inliers, n: int, max_lines: int | None) -> tuple[np.ndarray, list[str]]:
    """Which matches get a line, and its colour: inliers and outliers share ``max_lines`` in proportion."""
    if inliers is None:
        order = _spread(n, max_lines)
        return order, ["cyan"] * len(order)
    good, bad = np.nonzero(inliers)[0], np.nonzero(~inliers)[0]
    good_room = None if max_lines is None else round(max_lines * len(good) / max(n, 1))
    keep_good = good[_spread(len(good), good_room)]
    keep_bad = bad[_spread(len(bad), None if max_lines is None else max_lines - len(keep_good))]
    return np.concatenate([keep_good, keep_bad]), ["lime"] * len(keep_good) + ["red"] * len(keep_bad)


def draw_matches(image1, image2, kp1, kp2, matches, *, inliers=None, ax=None, max_lines: int | None = 200,
                 title=None):
    """Two images side by side, a line per match (inliers green, outliers red), ``max_lines`` max.

    >>> a = np.zeros((20, 30), np.uint8)
    >>> draw_matches(a, a, np.array([[5.0, 5.0]]), np.array([[6.0, 7.0]]), np.array([[0, 0]])).get_title()
    '1 matches'
    """
    from matplotlib.collections import LineCollection

    left, right = _display(image1, "image1", rgb=True), _display(image2, "image2", rgb=True)
    xy1, xy2 = _keypoint_arrays(kp1, "kp1")[0], _keypoint_arrays(kp2, "kp2")[0]
    pairs = _match_pairs(matches, len(xy1), len(xy2))
    if inliers is not None:
        inliers = np.asarray(inliers, dtype=bool).reshape(-1)
        if inliers.shape != (len(pairs),):
            raise InvalidParameterError(f"inliers must hold one boolean per match ({len(pairs)}); "
                                        f"got shape {inliers.shape}")
    order, colors = _lines_to_draw(inliers, len(pairs), _check_limit(max_lines, "max_lines"))
    height = max(left.shape[0], right.shape[0])
    canvas = np.ones((height, left.shape[1] + right.shape[1], 3))
    canvas[: left.shape[0], : left.shape[1]] = left
    canvas[: right.shape[0], left.shape[1] :] = right
    ax = _axes(ax, 10, 10 * height / canvas.shape[1])
    _picture(ax, canvas)
    ax.axvline(left.shape[1] - 0.5, color="white", linewidth=1.0)
    if len(order):
        start, end = xy1[pairs[order, 0]], xy2[pairs[order, 1]] + np.array([left.shape[1], 0.0])
        ax.add_collection(LineCollection(np.stack([start, end], axis=1), colors=colors, linewidths=0.8))
        ax.scatter(start[:, 0], start[:, 1], s=6, c=colors)
        ax.scatter(end[:, 0], end[:, 1], s=6, c=colors)
    if title is None:
        title = f"{len(pairs)} matches" + ("" if inliers is None else f", {int(inliers.sum())} inliers (green)")
        title += f"; {len(order)} drawn" if len(order) < len(pairs) else ""
    ax.set_title(title)
    return ax
