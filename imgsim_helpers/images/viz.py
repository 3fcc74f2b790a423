"""Pictures for the notebooks: images side by side with scores, grids, histograms, curves, heatmaps.

Every function draws with matplotlib, returns the ``Figure`` (or takes an
``ax``), and never calls ``plt.show()`` itself, so notebooks, tests and the
HTML build all render the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from imgsim_helpers.core.checks import check_image
from imgsim_helpers.core.errors import EmptyInputError, InvalidParameterError, ShapeMismatchError
from imgsim_helpers.images.io import to_float, to_rgb


def _plt():
    import matplotlib.pyplot as plt

    return plt


def show_image(ax, image, title=None):
    """Draw one image on a matplotlib Axes (gray with a gray colour map), without ticks.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> show_image(plt.subplots()[1], np.zeros((4, 4)), "black")
    """
    image = check_image(image)
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
            show_image(ax, images[i], _label(title, score, score_format))
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
                show_image(ax, row[j], col_labels[j] if (col_labels is not None and i == 0) else None)
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
    >>> from imgsim_helpers.metrics.histograms import color_histogram
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
    missing: str | None = None,
):
    """A labelled heatmap of a matrix (similarity matrices, accuracy tables), with values written in.

    ``missing``, when given, is written into every NaN cell (for example
    "unavailable" for a method that could not run), so a row that has no
    values stays visible instead of looking like an empty strip.

    Examples
    --------
    >>> ax = plot_heatmap(np.eye(2), row_labels=["a", "b"], col_labels=["a", "b"])
    >>> ax = plot_heatmap(np.array([[1.0], [np.nan]]), missing="n/a")
    >>> [t.get_text() for t in ax.texts]
    ['1.00', 'n/a']
    """
    plt = _plt()
    m = np.asarray(matrix, dtype=np.float64)
    if m.ndim != 2 or m.size == 0:
        raise InvalidParameterError(f"plot_heatmap needs a non-empty 2-D matrix; got shape {m.shape}")
    if ax is None:
        _, ax = plt.subplots(figsize=(0.6 * m.shape[1] + 2.5, 0.5 * m.shape[0] + 1.5))
    colours = plt.get_cmap(cmap).copy()
    colours.set_bad("0.88")  # NaN cells (a method that did not run) in light gray, not the figure's white
    image = ax.imshow(m, cmap=colours, aspect="auto")
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
    if title:
        ax.set_title(title, fontsize=10)
    return ax


RANDOM_WEIGHTS_MARK = "random weights — scores mean nothing"


def mark_random_weights(figure, weights: str):
    """Stamp "random weights — scores mean nothing" across a figure drawn from random weights.

    A notebook that fell back to random weights still draws every plot; the
    stamp sits on the figure itself, so a picture copied out of the page
    (into slides, a report) keeps saying that its scores are noise.

    Parameters
    ----------
    figure
        A matplotlib ``Figure`` or ``Axes`` (its figure is stamped).
    weights
        The weights the figure's numbers came from, as the loaders record them
        (``"pretrained"``, ``"local"``, ``"random"``, ``"none"``, …). Only
        ``"random"`` stamps.

    Returns
    -------
    matplotlib.text.Text or None
        The stamp, or ``None`` when the weights are not random.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> mark_random_weights(ax, "random").get_text() == RANDOM_WEIGHTS_MARK
    True
    >>> mark_random_weights(fig, "pretrained") is None
    True
    """
    if not isinstance(weights, str):
        raise InvalidParameterError(
            f"weights must be the recorded weights as a string such as 'random' or 'pretrained'; "
            f"got {type(weights).__name__}"
        )
    fig = getattr(figure, "figure", figure)
    if not hasattr(fig, "text") or not hasattr(fig, "get_size_inches"):
        raise InvalidParameterError(f"mark_random_weights needs a matplotlib Figure or Axes; got {type(figure).__name__}")
    if weights != "random":
        return None
    from matplotlib import patheffects

    width, height = fig.get_size_inches()
    # Diagonal and half transparent, with a light outline: readable on dark and light plots alike,
    # and the data stays visible under it.
    return fig.text(0.5, 0.5, RANDOM_WEIGHTS_MARK, transform=fig.transFigure, ha="center", va="center",
                    rotation=np.degrees(np.arctan2(height, width)) * 0.6, fontsize=max(9.0, min(28.0, 2.2 * width)),
                    color="red", alpha=0.55, fontweight="bold", zorder=1000,
                    path_effects=[patheffects.withStroke(linewidth=2.5, foreground="white", alpha=0.7)])


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
            raise InvalidParameterError(
                f"{name} must be Features (with .xy) or an (N, 2) array of (x, y) positions, "
                f"optionally with a third column of radii; got shape {array.shape}"
            )
        xy = array[:, :2]
        radius = array[:, 2] if array.shape[1] > 2 else np.full(len(array), 3.0)
        angle = None
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise InvalidParameterError(f"{name}.xy must have shape (N, 2); got {xy.shape}")
    return xy, radius, angle


def _display_rgb(image, name: str) -> np.ndarray:
    """Float RGB in [0, 1] for imshow, whatever the input (gray, RGB, RGBA, uint8, float)."""
    return to_float(to_rgb(check_image(image, name=name), name=name), name=name)


def _check_limit(value, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        raise InvalidParameterError(f"{name} must be a non-negative integer or None; got {value!r}")
    return int(value)


def _spread(n: int, limit: int | None) -> np.ndarray:
    """Indices of at most ``limit`` items spread evenly over ``n`` (deterministic)."""
    if limit is None or n <= limit:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, limit).round().astype(np.int64))


def draw_keypoints(image, keypoints, *, ax=None, max_points: int | None = 300, color="yellow", title=None):
    """Draw keypoints on an image: a circle of each keypoint's scale and a line showing its angle.

    Parameters
    ----------
    image
        The image the keypoints were found in (gray or RGB, ``uint8`` or float in [0, 1]).
    keypoints
        :class:`imgsim_helpers.metrics.keypoints.Features` (or SURF features): circles
        of radius ``scale`` with a radius drawn at ``angle`` (degrees from +x
        towards +y, rows downwards). An ``(N, 2)`` array of (x, y) draws
        small fixed circles (a third column gives radii).
    ax
        Matplotlib Axes to draw into (a new figure when ``None``).
    max_points
        Draw at most this many keypoints (the first ones: Features are
        sorted strongest first); ``None`` draws all.
    color
        Matplotlib colour of the circles.
    title
        Axes title (default: how many keypoints are shown).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> ax = draw_keypoints(np.zeros((32, 32), np.uint8), np.array([[10.0, 12.0, 4.0]]))
    >>> len(ax.patches)
    1
    """
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection
    from matplotlib.patches import Circle

    rgb = _display_rgb(image, "image")
    xy, radius, angle = _keypoint_arrays(keypoints, "keypoints")
    max_points = _check_limit(max_points, "max_points")
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 6 * rgb.shape[0] / rgb.shape[1]))
    ax.imshow(rgb, interpolation="nearest")
    shown = np.arange(len(xy)) if max_points is None else np.arange(min(len(xy), max_points))
    for k in shown:
        ax.add_patch(Circle(tuple(xy[k]), radius[k], fill=False, color=color, linewidth=1.0))
    if angle is not None and len(shown):
        theta = np.radians(angle[shown])
        tips = xy[shown] + radius[shown, None] * np.stack([np.cos(theta), np.sin(theta)], axis=1)
        ax.add_collection(LineCollection(np.stack([xy[shown], tips], axis=1), colors=color, linewidths=1.0))
    ax.set_xlim(-0.5, rgb.shape[1] - 0.5)
    ax.set_ylim(rgb.shape[0] - 0.5, -0.5)
    ax.set_axis_off()
    ax.set_title(title if title is not None else f"{len(shown)} of {len(xy)} keypoints")
    return ax


def draw_matches(
    image1,
    image2,
    kp1,
    kp2,
    matches,
    *,
    inliers=None,
    ax=None,
    max_lines: int | None = 200,
    title=None,
):
    """Draw two images side by side with a line per match; inliers green, outliers red.

    Parameters
    ----------
    image1, image2
        The two images (gray or RGB, any size: the shorter is padded below).
    kp1, kp2
        Features (``.xy``) or ``(N, 2)`` arrays of (x, y) positions.
    matches
        :class:`imgsim_helpers.metrics.keypoints.Matches` (``.indices``) or an
        ``(M, 2)`` integer array pairing ``kp1`` rows with ``kp2`` rows.
    inliers
        Optional ``(M,)`` boolean mask (for example ``verification.inliers``):
        inliers are drawn green, outliers red; without it every line is cyan.
    ax
        Matplotlib Axes (a new figure when ``None``).
    max_lines
        Draw at most this many lines, inliers and outliers in proportion,
        spread evenly over the matches; ``None`` draws all.
    title
        Axes title (default: counts of matches and inliers).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> a = np.zeros((20, 30), np.uint8)
    >>> ax = draw_matches(a, a, np.array([[5.0, 5.0]]), np.array([[6.0, 7.0]]), np.array([[0, 0]]))
    >>> ax.get_title()
    '1 matches'
    """
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection

    left = _display_rgb(image1, "image1")
    right = _display_rgb(image2, "image2")
    xy1, _, _ = _keypoint_arrays(kp1, "kp1")
    xy2, _, _ = _keypoint_arrays(kp2, "kp2")
    pairs = np.asarray(getattr(matches, "indices", matches))
    if pairs.size == 0:
        pairs = np.zeros((0, 2), np.int64)
    if pairs.ndim != 2 or pairs.shape[1] != 2 or not np.issubdtype(pairs.dtype, np.integer):
        raise InvalidParameterError(f"matches must be Matches or an (M, 2) integer array; got shape {pairs.shape}")
    if len(pairs) and (pairs.min() < 0 or pairs[:, 0].max() >= len(xy1) or pairs[:, 1].max() >= len(xy2)):
        raise InvalidParameterError(
            f"match indices out of range for {len(xy1)} and {len(xy2)} keypoints"
        )
    if inliers is not None:
        inliers = np.asarray(inliers, dtype=bool).reshape(-1)
        if inliers.shape != (len(pairs),):
            raise InvalidParameterError(
                f"inliers must hold one boolean per match ({len(pairs)}); got shape {inliers.shape}"
            )
    max_lines = _check_limit(max_lines, "max_lines")

    height = max(left.shape[0], right.shape[0])
    canvas = np.ones((height, left.shape[1] + right.shape[1], 3))
    canvas[: left.shape[0], : left.shape[1]] = left
    canvas[: right.shape[0], left.shape[1] :] = right
    offset = np.array([left.shape[1], 0.0])

    if ax is None:
        _, ax = plt.subplots(figsize=(10, 10 * height / canvas.shape[1]))
    ax.imshow(canvas, interpolation="nearest")
    ax.axvline(left.shape[1] - 0.5, color="white", linewidth=1.0)
    if inliers is None:
        order = _spread(len(pairs), max_lines)
        colors = ["cyan"] * len(order)
    else:
        good, bad = np.nonzero(inliers)[0], np.nonzero(~inliers)[0]
        # Share the lines in proportion, so a few outliers stay visible.
        good_room = None if max_lines is None else round(max_lines * len(good) / max(len(pairs), 1))
        keep_good = good[_spread(len(good), good_room)]
        bad_room = None if max_lines is None else max_lines - len(keep_good)
        keep_bad = bad[_spread(len(bad), bad_room)]
        order = np.concatenate([keep_good, keep_bad])
        colors = ["lime"] * len(keep_good) + ["red"] * len(keep_bad)
    if len(order):
        start = xy1[pairs[order, 0]]
        end = xy2[pairs[order, 1]] + offset
        ax.add_collection(LineCollection(np.stack([start, end], axis=1), colors=colors, linewidths=0.8))
        ax.scatter(start[:, 0], start[:, 1], s=6, c=colors)
        ax.scatter(end[:, 0], end[:, 1], s=6, c=colors)
    ax.set_xlim(-0.5, canvas.shape[1] - 0.5)
    ax.set_ylim(height - 0.5, -0.5)
    ax.set_axis_off()
    if title is None:
        title = f"{len(pairs)} matches"
        if inliers is not None:
            title += f", {int(inliers.sum())} inliers (green)"
        if len(order) < len(pairs):
            title += f"; {len(order)} drawn"
    ax.set_title(title)
    return ax
