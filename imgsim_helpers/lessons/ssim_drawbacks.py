"""Measuring where SSIM fails: transform sweeps, foreground-only SSIM, aspect-preserving resizing.

Notebook 02 measures SSIM's drawbacks rather than asserting them. The
helpers here do the measuring, so the notebook holds no logic that the tests
cannot reach:

* :func:`sweep_transforms` applies each transform of
  :mod:`imgsim_helpers.images.transforms` at a range of strengths and scores every
  transformed copy against the original with several metrics;
  :func:`plot_sweeps` draws the result, one panel per transform.
* :func:`masked_ssim` averages the SSIM map over a region only (the
  foreground of an object photographed or composited on different
  backgrounds); :func:`window_mask` says which map entries that region covers.
* :func:`letterbox` resizes an image to fit a size *without* changing its
  aspect ratio, padding the rest -- the alternative to ``align_pair``'s
  stretching ``"resize"`` policy.
* :func:`match_mse` finds the strength at which a transform reaches a given
  mean squared error, so that distortions of equal MSE (and equal PSNR) can be
  compared by eye and by SSIM -- the baseline that opens notebook 02.

Examples
--------
>>> import numpy as np
>>> from skimage import data
>>> from imgsim_helpers.metrics.structural_similarity import ssim
>>> image = data.camera()[::4, ::4]
>>> scores = sweep_transforms(image, {"shift": [0, 4]}, {"SSIM": ssim})
>>> scores["shift"]["SSIM"][0], scores["shift"]["SSIM"][1] < 0.8
(1.0, True)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from imgsim_helpers.core.checks import check_image
from imgsim_helpers.core.errors import (
    EmptyInputError,
    ImageTooSmallError,
    InvalidParameterError,
    ShapeMismatchError,
    unknown_name,
)
from imgsim_helpers.images.io import resize
from imgsim_helpers.images.transforms import TRANSFORMS, apply_transform
from imgsim_helpers.metrics.pixel_error import mse
from imgsim_helpers.metrics.structural_similarity import ssim

__all__ = ["MatchedDistortion", "letterbox", "masked_ssim", "match_mse", "plot_sweeps", "sweep_transforms", "window_mask"]


# --------------------------------------------------------------------------- sweeps


#: Notebook 02's distortions and strengths (identity first), for the full run.
SWEEPS: dict[str, list[float]] = {
    "shift": [0, 1, 2, 4, 8, 16],
    "rotate": [0, 1, 2, 5, 10],
    "scale": [1.0, 1.05, 1.1, 1.25, 1.5],
    "brightness": [0, 20, 40, 80],
    "contrast": [1.0, 0.8, 0.6, 0.4],
    "blur": [0, 1, 2, 4, 8],
    "noise": [0, 5, 10, 20, 40],
    "jpeg": [95, 75, 50, 20, 5],
}

#: A subset of :data:`SWEEPS` for smoke runs: every distortion, three or four strengths.
SMOKE_SWEEPS: dict[str, list[float]] = {
    "shift": [0, 1, 4, 16],
    "rotate": [0, 2, 10],
    "scale": [1.0, 1.1, 1.5],
    "brightness": [0, 40, 80],
    "contrast": [1.0, 0.6, 0.4],
    "blur": [0, 2, 8],
    "noise": [0, 20, 40],
    "jpeg": [75, 20, 5],
}


def _check_sweeps(sweeps) -> dict[str, list[float]]:
    if not isinstance(sweeps, Mapping) or not sweeps:
        raise EmptyInputError(
            "sweeps must be a non-empty mapping from a transform name to its strengths, "
            f"such as {{'shift': [0, 2, 4]}}; got {sweeps!r}"
        )
    checked = {}
    for name, strengths in sweeps.items():
        if name not in TRANSFORMS:
            raise unknown_name("transform", name, TRANSFORMS)
        if isinstance(strengths, str | bytes) or not isinstance(strengths, Sequence | np.ndarray):
            raise InvalidParameterError(
                f"the strengths of {name!r} must be a list of numbers, such as [0, 2, 4]; got {strengths!r}"
            )
        values = [s.item() if isinstance(s, np.generic) else s for s in strengths]
        if not values:
            raise EmptyInputError(f"the sweep of {name!r} has no strengths; give at least one value")
        checked[name] = values
    return checked


def _check_metrics(metrics) -> dict[str, Callable]:
    if not isinstance(metrics, Mapping) or not metrics:
        raise EmptyInputError(
            "metrics must be a non-empty mapping from a label to a function f(image1, image2) "
            f"-> float, such as {{'SSIM': ssim}}; got {metrics!r}"
        )
    for label, metric in metrics.items():
        if not callable(metric):
            raise InvalidParameterError(
                f"metric {label!r} must be callable as f(image1, image2) -> float; "
                f"got {type(metric).__name__}"
            )
    return dict(metrics)


def sweep_transforms(
    image,
    sweeps: Mapping[str, Sequence[float]],
    metrics: Mapping[str, Callable],
    *,
    seed: int = 0,
) -> dict[str, dict[str, list[float]]]:
    """Score transformed copies of an image against the original, for several metrics.

    For every transform ``name`` in ``sweeps`` and every strength ``s`` in
    ``sweeps[name]``, the copy ``apply_transform(image, name, s, seed=seed)``
    is compared with ``image`` by each metric, in that argument order.

    Parameters
    ----------
    image
        The original image (any image :func:`imgsim_helpers.core.checks.check_image` accepts).
    sweeps
        Transform name (a key of :data:`imgsim_helpers.images.transforms.TRANSFORMS`)
        -> the strengths to try, in plotting order.
    metrics
        Label -> function ``f(original, transformed) -> float``. A metric that
        needs equal sizes will raise on a size-changing transform (``crop``);
        leave such pairs out of the sweep.
    seed
        Passed to every transform (noise, crop position, overlay position).

    Returns
    -------
    dict
        ``result[transform][metric]`` is the list of scores, one per strength,
        as plain floats (ready for a JSON record).

    Raises
    ------
    EmptyInputError
        No transform, a transform without strengths, or no metric.
    UnknownMethodError
        A transform name that :data:`TRANSFORMS` does not know (checked before
        any work is done).
    InvalidParameterError
        A metric that is not callable, or a strength outside the transform's range.

    Examples
    --------
    >>> import numpy as np
    >>> from imgsim_helpers.metrics.histograms import histogram_similarity
    >>> image = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    >>> out = sweep_transforms(image, {"brightness": [0, 40]}, {"hist": histogram_similarity})
    >>> [round(v, 3) for v in out["brightness"]["hist"]][0]
    1.0
    """
    image = check_image(image)
    plan = _check_sweeps(sweeps)
    functions = _check_metrics(metrics)
    result: dict[str, dict[str, list[float]]] = {}
    for name, strengths in plan.items():
        scores: dict[str, list[float]] = {label: [] for label in functions}
        for strength in strengths:
            changed = apply_transform(image, name, strength, seed=seed)
            for label, metric in functions.items():
                scores[label].append(float(metric(image, changed)))
        result[name] = scores
    return result


def plot_sweeps(
    results: Mapping[str, Mapping[str, Sequence[float]]],
    sweeps: Mapping[str, Sequence[float]],
    *,
    cols: int = 4,
    size: float = 3.0,
    ylabel: str = "score",
):
    """Draw :func:`sweep_transforms` output: one panel per transform, one curve per metric.

    Panels whose transform gets stronger as the value *decreases* (JPEG
    quality, a contrast factor below 1) have their x-axis reversed, so in
    every panel the change grows to the right. Only the first panel carries
    a legend, since every panel has the same curves.

    Parameters
    ----------
    results
        ``results[transform][metric]`` -> scores, as returned by :func:`sweep_transforms`.
    sweeps
        The strengths the results were measured at (the x positions).
    cols
        Panels per row.
    size
        Inches per panel.
    ylabel
        The y-axis label of the first panel of each row.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    EmptyInputError
        ``results`` is empty.
    ShapeMismatchError
        A transform in ``results`` is missing from ``sweeps``, or a curve's
        length differs from its number of strengths.

    Examples
    --------
    >>> fig = plot_sweeps({"blur": {"SSIM": [1.0, 0.7]}}, {"blur": [0, 2]})
    >>> len(fig.axes)
    1
    """
    import matplotlib.pyplot as plt

    from imgsim_helpers.images.viz import plot_curves

    if not results:
        raise EmptyInputError("plot_sweeps needs at least one transform's results")
    missing = [name for name in results if name not in sweeps]
    if missing:
        raise ShapeMismatchError(f"no strengths given for {missing}; pass the sweeps the results came from")
    cols = max(1, min(int(cols), len(results)))
    rows = -(-len(results) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(size * cols, size * 0.8 * rows), squeeze=False)
    for i, (ax, (name, curves)) in enumerate(zip(axes.ravel(), results.items(), strict=False)):
        strengths = list(sweeps[name])
        spec = TRANSFORMS.get(name)
        unit = f": {spec.unit}" if spec is not None else ""
        plot_curves(strengths, curves, xlabel=f"{name}{unit}", ylabel=ylabel if i % cols == 0 else "", ax=ax)
        ax.set_ylim(min(-0.05, ax.get_ylim()[0]), 1.05)
        if spec is not None and spec.identity >= max(strengths) > min(strengths):
            ax.invert_xaxis()
        if i > 0 and ax.get_legend() is not None:
            ax.get_legend().remove()
        ax.xaxis.label.set_fontsize(8)
    for ax in axes.ravel()[len(results) :]:
        ax.axis("off")
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- masks


def window_mask(mask, *, win_size: int = 11, whole_window: bool = True) -> np.ndarray:
    """Which entries of an SSIM map (valid region) belong to a region of the image.

    SSIM's map entry ``(i, j)`` comes from the window whose top-left pixel is
    ``(i, j)`` and whose centre is ``(i + r, j + r)``, ``r = win_size // 2``
    (:func:`imgsim_helpers.metrics.structural_similarity.ssim` keeps only windows wholly inside the
    image). A window *centred* on the region can still reach outside it; with
    ``whole_window=True`` only windows lying entirely inside the region are kept.

    Parameters
    ----------
    mask
        Boolean H×W array over the image, True inside the region.
    win_size
        The SSIM window's odd side.
    whole_window
        True: keep windows with every pixel in the region. False: keep windows
        whose centre is in the region.

    Returns
    -------
    numpy.ndarray
        Boolean (H - win_size + 1)×(W - win_size + 1) array aligned with the SSIM map.

    Raises
    ------
    InvalidParameterError
        ``mask`` is not a 2-D boolean array, or ``win_size`` is not an odd integer ≥ 3.
    ImageTooSmallError
        The mask is smaller than the window.

    Examples
    --------
    >>> import numpy as np
    >>> region = np.zeros((6, 6), bool); region[1:5, 1:5] = True
    >>> window_mask(region, win_size=3).astype(int).tolist()
    [[0, 0, 0, 0], [0, 1, 1, 0], [0, 1, 1, 0], [0, 0, 0, 0]]
    >>> int(window_mask(region, win_size=3, whole_window=False).sum())
    16
    """
    mask = _check_mask(mask)
    if isinstance(win_size, bool) or not isinstance(win_size, int | np.integer) or win_size < 3 or win_size % 2 == 0:
        raise InvalidParameterError(f"win_size must be an odd integer of at least 3; got {win_size!r}")
    h, w = mask.shape
    if h < win_size or w < win_size:
        raise ImageTooSmallError(f"the mask is {h}×{w}, smaller than the {win_size}×{win_size} window")
    r = win_size // 2
    if not whole_window:
        return mask[r : h - r, r : w - r].copy()
    # A summed-area table counts the region's pixels in every window at once.
    table = np.zeros((h + 1, w + 1), dtype=np.int64)
    table[1:, 1:] = mask.astype(np.int64).cumsum(axis=0).cumsum(axis=1)
    k = win_size
    counts = table[k:, k:] - table[:-k, k:] - table[k:, :-k] + table[:-k, :-k]
    return counts == k * k


def _check_mask(mask) -> np.ndarray:
    if not isinstance(mask, np.ndarray) or mask.dtype != np.bool_ or mask.ndim != 2:
        described = f"{mask.dtype} array of shape {mask.shape}" if isinstance(mask, np.ndarray) else type(mask).__name__
        raise InvalidParameterError(
            f"mask must be a 2-D boolean array (True on the region to keep); got {described}. "
            "Build one with a comparison, such as image[..., 3] > 0 or transforms.foreground_mask(image)"
        )
    return mask


def masked_ssim(
    image1,
    image2,
    mask,
    *,
    whole_window: bool = True,
    full: bool = False,
    data_range: float | None = None,
    window: str = "gaussian",
    win_size: int = 11,
    sigma: float = 1.5,
    k1: float = 0.01,
    k2: float = 0.03,
):
    """SSIM averaged over a region only, such as an object's foreground.

    The SSIM map of :func:`imgsim_helpers.metrics.structural_similarity.ssim` is computed as usual and
    averaged over the entries :func:`window_mask` selects. With the default
    ``whole_window=True`` a window that straddles the region's outline does
    not count: it still sees the two different backgrounds around the object.

    Parameters
    ----------
    image1, image2
        Images of equal shape, as for :func:`imgsim_helpers.metrics.structural_similarity.ssim` (RGBA is refused there:
        composite first, and build the mask from the alpha channel).
    mask
        Boolean H×W array, True on the region to compare (the same region in both images).
    whole_window
        Count only windows wholly inside the region (True), or every window whose centre is in it.
    full
        Also return the SSIM map and the boolean selection of its entries.
    data_range, window, win_size, sigma, k1, k2
        As in :func:`imgsim_helpers.metrics.structural_similarity.ssim` (the map is never downsampled here,
        so that it stays aligned with the mask).

    Returns
    -------
    score : float
        Mean of the SSIM map over the selected windows.
    ssim_map, selected : numpy.ndarray, only if ``full``
        The whole map and the boolean array of the entries that were averaged.

    Raises
    ------
    ShapeMismatchError
        The mask's shape is not the images' height × width.
    EmptyInputError
        No window qualifies (the region is empty, or too thin for a whole window:
        use ``whole_window=False`` or a smaller ``win_size``).
    InvalidParameterError, InvalidImageError, ImageTypeError
        As in :func:`imgsim_helpers.metrics.structural_similarity.ssim` and :func:`window_mask`.

    Examples
    --------
    >>> import numpy as np
    >>> from skimage import data
    >>> image = data.camera()[200:264, 200:264]
    >>> other = image.copy(); other[:, 32:] = 255 - other[:, 32:]  # the right half is inverted
    >>> left = np.zeros(image.shape, bool); left[:, :32] = True
    >>> masked_ssim(image, other, left)
    1.0
    >>> round(masked_ssim(image, other, left, whole_window=False), 2)  # windows reach across the cut
    0.86
    >>> masked_ssim(image, other, ~left) < 0
    True
    """
    a = check_image(image1, name="image1")
    mask = _check_mask(mask)
    if mask.shape != a.shape[:2]:
        raise ShapeMismatchError(
            f"the mask is {mask.shape[0]}×{mask.shape[1]} but the images are {a.shape[0]}×{a.shape[1]}; "
            "build the mask from the images being compared"
        )
    _, ssim_map = ssim(
        image1, image2, data_range=data_range, window=window, win_size=win_size, sigma=sigma,
        k1=k1, k2=k2, full=True,
    )
    selected = window_mask(mask, win_size=win_size, whole_window=whole_window)
    if not selected.any():
        where = "lies wholly inside" if whole_window else "is centred in"
        raise EmptyInputError(
            f"no {win_size}×{win_size} SSIM window {where} the mask ({int(mask.sum())} pixels); "
            "use whole_window=False, a smaller win_size, or a larger region"
        )
    score = float(ssim_map[selected].mean())
    return (score, ssim_map, selected) if full else score


# --------------------------------------------------------------------------- sizes


def letterbox(image, size: tuple[int, int], *, fill=255) -> np.ndarray:
    """Resize to fit inside ``size = (height, width)`` keeping the aspect ratio, then pad centred.

    ``align_pair(a, b, policy="resize")`` stretches ``b`` to ``a``'s height and
    width, so a 4:3 picture compared with a 16:10 one becomes 20 % wider than
    it should be. ``letterbox`` scales both sides by the same factor instead
    and fills the rest with ``fill`` (the bars of a widescreen film on a TV).

    Parameters
    ----------
    image
        Gray, RGB or RGBA image.
    size
        Target (height, width), positive integers.
    fill
        Padding value: one number, or one per channel (0-255 for ``uint8``).

    Returns
    -------
    numpy.ndarray
        An image of exactly ``size`` and the input's dtype and channels.

    Raises
    ------
    InvalidParameterError
        ``size`` is not two positive integers.

    Examples
    --------
    >>> import numpy as np
    >>> out = letterbox(np.zeros((30, 40), np.uint8), (60, 100), fill=255)
    >>> out.shape, int(out[30, 50]), int(out[30, 0])
    ((60, 100), 0, 255)
    """
    image = check_image(image)
    try:
        height, width = (int(s) for s in size)
    except (TypeError, ValueError):
        height = width = 0
    if height < 1 or width < 1:
        raise InvalidParameterError(f"size must be two positive integers (height, width); got {size!r}")
    factor = min(height / image.shape[0], width / image.shape[1])
    inner_h = min(height, max(1, round(image.shape[0] * factor)))
    inner_w = min(width, max(1, round(image.shape[1] * factor)))
    scaled = resize(image, (inner_h, inner_w))
    out = np.empty((height, width) + image.shape[2:], dtype=image.dtype)
    out[...] = np.asarray(fill, dtype=image.dtype)
    top, left = (height - inner_h) // 2, (width - inner_w) // 2
    out[top : top + inner_h, left : left + inner_w] = scaled
    return out


# --------------------------------------------------------------------------- equal MSE


@dataclass(frozen=True)
class MatchedDistortion:
    """A transformed copy whose MSE against the original is close to a target (from :func:`match_mse`)."""

    transform: str
    strength: float
    image: np.ndarray
    mse: float


def match_mse(image, transform: str, target: float, *, low: float, high: float, seed: int = 0,
              steps: int = 40) -> MatchedDistortion:
    """The strength of ``transform`` between ``low`` and ``high`` whose MSE against ``image`` is closest to ``target``.

    A bisection: it assumes the MSE changes monotonically from ``low`` to
    ``high`` (brightness, contrast, noise and blur do). Transforms that round
    their strength or their pixels (a brightness offset is whole gray levels)
    land near the target, not on it; the returned ``mse`` says where.

    Parameters
    ----------
    image
        The original (any image :func:`~imgsim_helpers.images.transforms.apply_transform` accepts).
    transform
        A name in :data:`~imgsim_helpers.images.transforms.TRANSFORMS`.
    target
        The wanted mean squared error, on the image's own scale (squared gray levels for uint8).
    low, high
        The strengths that bracket the target: one's MSE below it, the other's above.
        ``low`` may be the larger number (contrast: 1.0 is no change).
    seed
        Passed to the transform (noise).
    steps
        Bisection steps.

    Raises
    ------
    UnknownMethodError
        For an unknown transform.
    InvalidParameterError
        ``target`` is not positive, or ``low`` and ``high`` do not bracket it.

    Examples
    --------
    >>> from skimage import data
    >>> matched = match_mse(data.camera()[::4, ::4], "noise", 100.0, low=0, high=40)
    >>> matched.transform, round(matched.mse)
    ('noise', 100)
    """
    image = check_image(image)
    if transform not in TRANSFORMS:
        raise unknown_name("transform", transform, TRANSFORMS)
    if isinstance(target, bool) or not isinstance(target, int | float | np.integer | np.floating) or not target > 0:
        raise InvalidParameterError(f"target must be a positive mean squared error; got {target!r}")
    steps = int(steps)
    if steps < 1:
        raise InvalidParameterError(f"steps must be at least 1; got {steps}")

    def error_at(strength: float) -> tuple[float, np.ndarray]:
        changed = apply_transform(image, transform, strength, seed=seed)
        return mse(image, changed), changed

    below, above = float(low), float(high)
    error_low, error_high = error_at(below)[0], error_at(above)[0]
    if not error_low <= target <= error_high:
        raise InvalidParameterError(
            f"{transform}: strengths {low!r} and {high!r} give MSE {error_low:.4g} and {error_high:.4g}, which do "
            f"not bracket the target {target!r}; pass a low with MSE below the target and a high with MSE above it"
        )
    best = (abs(error_low - target), below)
    for _ in range(steps):
        middle = (below + above) / 2
        error, _ = error_at(middle)
        best = min(best, (abs(error - target), middle))
        if error < target:
            below = middle
        else:
            above = middle
    strength = best[1]
    error, changed = error_at(strength)
    return MatchedDistortion(transform, strength, changed, error)
