"""The measurements behind notebook 04 (SIFT and SURF), so that the notebook holds no untested logic.

* Scale space: :func:`gaussian_scale_space` builds Lowe's pyramid of blurred
  images and their differences (DoG), :func:`dog_extrema` finds the
  scale-space extrema that SIFT starts from, and :func:`scale_signature`
  follows one point's DoG response across scales — its peak is the point's
  characteristic scale, and it moves with the image's zoom.
* SURF's trick measured: :func:`box_kernels` and :func:`box_hessian_reference` are its box
  filters as the formula reads; :func:`gaussian_second_derivatives` and
  :func:`gaussian_hessian_determinant` are the exact quantities SURF's box
  filters approximate (:mod:`imgsim_helpers.metrics.surf_detector`); :func:`box_filter_costs`
  times box sums from an integral image against direct summation.
* Matching with a known answer: :func:`view_homography` and
  :func:`warp_view` make a second view of an image through a known
  homography; :func:`correct_matches`, :func:`ratio_sweep` and
  :func:`corner_error` grade matches, the ratio test and a RANSAC estimate
  against it.
* The detector comparison: :func:`detector_quality` measures repeatability
  and matching score (Mikolajczyk et al. 2005: :func:`repeatability`,
  :func:`matching_score`) of several methods on the
  same images under the same known changes, :func:`summarise_quality`
  averages them, :func:`detection_times` times detection and description.
* :func:`opencv_has_surf` says whether the installed OpenCV can create SURF.

Examples
--------
>>> from skimage.data import camera
>>> space = gaussian_scale_space(camera()[::2, ::2], n_octaves=2)
>>> [g.shape for g in space.gaussians], space.dogs[0].shape[0]
([(6, 256, 256), (6, 128, 128)], 5)
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from imgsim_helpers.core.checks import check_image, check_real
from imgsim_helpers.core.errors import EmptyInputError, InvalidParameterError, unknown_name
from imgsim_helpers.images.io import to_float, to_gray, to_uint8
from imgsim_helpers.images.transforms import apply_transform
from imgsim_helpers.metrics.keypoints import (
    METHODS,
    Features,
    Matches,
    detect_and_describe,
    match_descriptors,
    project,
)
from imgsim_helpers.metrics.surf_detector import DXY_WEIGHT, _check_size

__all__ = [
    "DETECTOR_OPTIONS",
    "GEOMETRIC_CHANGES",
    "MatchEvaluation",
    "Repeatability",
    "N_FEATURES",
    "PHOTOMETRIC_CHANGES",
    "BoxFilterCosts",
    "ChangedView",
    "ScaleSpace",
    "box_filter_costs",
    "box_hessian_reference",
    "box_kernels",
    "changed_views",
    "complement_colours",
    "corner_error",
    "correct_matches",
    "detection_times",
    "detector_quality",
    "dog_extrema",
    "gaussian_hessian_determinant",
    "gaussian_scale_space",
    "gaussian_second_derivatives",
    "matching_score",
    "opencv_has_surf",
    "ratio_sweep",
    "repeatability",
    "scale_signature",
    "summarise_quality",
    "view_homography",
    "warp_view",
]

#: Keypoints kept per image in the comparison, the strongest by response, so
#: every method is judged at the same density.
N_FEATURES = 500
#: Thresholds lowered so that every detector can reach :data:`N_FEATURES`
#: keypoints on the course images (the same settings as ``benchmarks/bench_keypoints.py``).
DETECTOR_OPTIONS = {
    "sift": {"contrastThreshold": 0.02},
    "surf": {"hessian_threshold": 0.0002},
    "orb": {},
    "akaze": {"threshold": 0.0002},
    "brisk": {"thresh": 15},
}
#: Known geometric changes: name -> (angle in degrees counter-clockwise, zoom factor), about the centre.
GEOMETRIC_CHANGES = {
    "rotate 15°": (15.0, 1.0),
    "rotate 45°": (45.0, 1.0),
    "rotate 90°": (90.0, 1.0),
    "scale 0.5": (0.0, 0.5),
    "scale 0.75": (0.0, 0.75),
    "scale 1.5": (0.0, 1.5),
    "scale 2": (0.0, 2.0),
    "rotate 30° + scale 1.2": (30.0, 1.2),
}
#: Photometric changes (the homography is the identity): name -> (transform, strength)
#: in :data:`imgsim_helpers.images.transforms.TRANSFORMS`.
PHOTOMETRIC_CHANGES = {
    "blur σ=2": ("blur", 2.0),
    "brightness +40": ("brightness", 40.0),
    "contrast ×0.6": ("contrast", 0.6),
    "JPEG q=15": ("jpeg", 15.0),
}


# --------------------------------------------------------------------------- checks


def _positive(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating) or not (
        np.isfinite(value) and value > 0
    ):
        raise InvalidParameterError(f"{name} must be a positive number; got {value!r}")
    return float(value)


def _count(value, name: str, low: int = 1, high: int = 10_000) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or not low <= value <= high:
        raise InvalidParameterError(f"{name} must be an integer in [{low}, {high}]; got {value!r}")
    return int(value)


def _gray01(image, name: str = "image", min_size: int = 1) -> np.ndarray:
    image = check_image(image, name=name, min_size=min_size)
    return to_float(to_gray(image, name=name), name=name).astype(np.float64)


def _methods(methods) -> list[str]:
    if isinstance(methods, str) or not isinstance(methods, Sequence) or not methods:
        raise EmptyInputError(f"methods must be a non-empty list such as ['sift', 'surf']; got {methods!r}")
    out = []
    for m in methods:
        if not isinstance(m, str) or m.lower() not in METHODS:
            raise unknown_name("keypoint method", m, METHODS)
        out.append(m.lower())
    return out


# --------------------------------------------------------------------------- scale space


@dataclass(frozen=True, eq=False)
class ScaleSpace:
    """Lowe's Gaussian pyramid and its differences, from :func:`gaussian_scale_space`.

    Attributes
    ----------
    gaussians
        One array per octave, ``(intervals + 3, h, w)``: the image blurred
        to σ = ``sigma0`` · k^s, k = 2^(1/intervals), in that octave's pixels.
        Octave o is sampled every 2^o pixels of the input.
    dogs
        One array per octave, ``(intervals + 2, h, w)``: differences of
        neighbouring levels, ``gaussians[o][s + 1] - gaussians[o][s]``.
    sigma0, intervals
        The base blur and the number of intervals per octave.
    """

    gaussians: list[np.ndarray]
    dogs: list[np.ndarray]
    sigma0: float
    intervals: int

    def sigma(self, octave: int, level: int) -> float:
        """The blur of ``gaussians[octave][level]`` in input pixels: σ0 · 2^(octave + level / intervals)."""
        return float(self.sigma0 * 2.0 ** (octave + level / self.intervals))


def gaussian_scale_space(
    image, *, sigma0: float = 1.6, intervals: int = 3, n_octaves: int = 4, assumed_blur: float = 0.5
) -> ScaleSpace:
    """Blur the image more and more, halve it every octave, and subtract neighbouring levels.

    Each octave holds ``intervals + 3`` images whose blur grows by the
    factor k = 2^(1/intervals) from one to the next, so that its
    ``intervals + 2`` differences of Gaussians (DoG) leave ``intervals``
    inner levels with a neighbour above and below, as in Lowe (IJCV 2004).
    The next octave starts from the level blurred to 2 σ0, taking every
    second pixel. The input is converted to gray in [0, 1] and assumed to
    carry a blur of ``assumed_blur`` already; unlike OpenCV's SIFT it is not
    doubled in size first.

    Parameters
    ----------
    image
        Gray or RGB image, ``uint8`` or float in [0, 1].
    sigma0
        Blur of each octave's first level, in that octave's pixels.
    intervals
        Scales per octave at which extrema are searched.
    n_octaves
        Octaves wanted; fewer are built if the image gets smaller than 8 pixels.
    assumed_blur
        Blur already present in the input (a camera's own), below ``sigma0``.

    Returns
    -------
    ScaleSpace

    Examples
    --------
    >>> space = gaussian_scale_space(np.zeros((64, 64)), n_octaves=3, intervals=2)
    >>> [d.shape for d in space.dogs], round(space.sigma(1, 2), 2)
    ([(4, 64, 64), (4, 32, 32), (4, 16, 16)], 6.4)
    """
    from scipy.ndimage import gaussian_filter

    gray = _gray01(image)
    sigma0 = _positive(sigma0, "sigma0")
    intervals = _count(intervals, "intervals", 1, 20)
    n_octaves = _count(n_octaves, "n_octaves", 1, 20)
    if isinstance(assumed_blur, bool) or not isinstance(assumed_blur, int | float) or not 0 <= assumed_blur < sigma0:
        raise InvalidParameterError(f"assumed_blur must be a number in [0, sigma0={sigma0}); got {assumed_blur!r}")
    k = 2.0 ** (1.0 / intervals)
    sigmas = sigma0 * k ** np.arange(intervals + 3)
    # Blurring by a then b equals blurring by sqrt(a² + b²): each level adds only what is missing.
    steps = np.sqrt(np.diff(sigmas**2))
    gaussians, dogs = [], []
    base = gaussian_filter(gray, np.sqrt(sigma0**2 - assumed_blur**2), mode="mirror")
    for octave in range(n_octaves):
        if octave and min(base.shape) < 8:
            break
        levels = [base]
        for step in steps:
            levels.append(gaussian_filter(levels[-1], step, mode="mirror"))
        stack = np.stack(levels)
        gaussians.append(stack)
        dogs.append(np.diff(stack, axis=0))
        base = stack[intervals][::2, ::2]
    return ScaleSpace(gaussians, dogs, sigma0, intervals)


_NEIGHBOURS = [(a, b, c) for a in (-1, 0, 1) for b in (-1, 0, 1) for c in (-1, 0, 1) if (a, b, c) != (0, 0, 0)]


def dog_extrema(space: ScaleSpace, *, threshold: float = 0.01) -> np.ndarray:
    """Points that are larger (or smaller) than all 26 neighbours in (x, y, scale) of the DoG.

    Ties with neighbours are kept. Only the inner DoG levels are searched (each needs a level above and
    below) and only extrema with ``|DoG| > threshold`` are kept. This is
    the raw first step of SIFT's detector, without its sub-pixel fit or the
    rejection of edge responses.

    Parameters
    ----------
    space
        From :func:`gaussian_scale_space`.
    threshold
        Smallest absolute DoG value kept (gray in [0, 1]).

    Returns
    -------
    numpy.ndarray
        ``(N, 3)``: x, y and σ of each extremum, in input pixels, strongest
        first — the layout :func:`imgsim_helpers.images.viz.draw_keypoints` draws as circles.

    Examples
    --------
    >>> image = np.zeros((64, 64))
    >>> image[28:36, 28:36] = 1.0
    >>> found = dog_extrema(gaussian_scale_space(image, n_octaves=2))
    >>> bool(np.any(np.hypot(found[:, 0] - 31.5, found[:, 1] - 31.5) < 2))
    True
    """
    if not isinstance(space, ScaleSpace):
        raise InvalidParameterError(f"space must be the ScaleSpace of gaussian_scale_space; got {type(space).__name__}")
    threshold = _positive(threshold, "threshold")
    found, strength = [], []
    for octave, dog in enumerate(space.dogs):
        if dog.shape[1] < 3 or dog.shape[2] < 3:
            continue
        inner = dog[1:-1, 1:-1, 1:-1]
        s, r, c = np.nonzero(np.abs(inner) > threshold)
        s, r, c = s + 1, r + 1, c + 1
        v = dog[s, r, c]
        is_max = np.ones(v.size, bool)
        is_min = np.ones(v.size, bool)
        for ds, dr, dc in _NEIGHBOURS:
            other = dog[s + ds, r + dr, c + dc]
            # Ties count as extrema: a symmetric blob has a plateau of equal centre values.
            is_max &= v >= other
            is_min &= v <= other
        keep = is_max | is_min
        step = 2.0**octave
        sigma = np.array([space.sigma(octave, level) for level in s[keep]])
        found.append(np.stack([c[keep] * step, r[keep] * step, sigma], axis=1))
        strength.append(np.abs(v[keep]))
    if not found:
        return np.zeros((0, 3))
    points, strength = np.concatenate(found), np.concatenate(strength)
    return points[np.argsort(-strength, kind="stable")]


def scale_signature(image, xy, sigmas, *, k: float = 2.0 ** (1.0 / 3.0)) -> np.ndarray:
    """The DoG response at points across scales: ``|G(kσ) * I - G(σ) * I| / (k - 1)`` at each point.

    The difference of Gaussians approximates (k − 1) σ² ∇²G, the
    scale-normalised Laplacian, so dividing by (k − 1) makes responses at
    different σ comparable. Its peak over σ is the point's characteristic
    scale: zoom the image by a factor z and the peak moves to z σ. Each σ
    costs one dot product of the DoG kernel with the patch around each
    point (the image is mirrored beyond its border).

    Parameters
    ----------
    image
        Gray or RGB image, ``uint8`` or float in [0, 1].
    xy
        One (x, y) = (column, row) position or an ``(N, 2)`` array of them;
        rounded to the nearest pixel.
    sigmas
        The scales to evaluate, in pixels.
    k
        Ratio of the two Gaussians' σ (> 1).

    Returns
    -------
    numpy.ndarray
        Non-negative responses: shape ``(len(sigmas),)`` for one point,
        ``(N, len(sigmas))`` for an array of points.

    Examples
    --------
    >>> yy, xx = np.mgrid[:96, :96]
    >>> disc = ((xx - 48) ** 2 + (yy - 48) ** 2 <= 8**2).astype(float)
    >>> sigmas = np.linspace(2, 12, 41)
    >>> peak = sigmas[np.argmax(scale_signature(disc, (48, 48), sigmas))]
    >>> bool(abs(peak - 8 / np.sqrt(2)) < 1.0)   # a disc of radius r peaks near r / √2
    True
    """
    gray = _gray01(image)
    points = np.asarray(xy, dtype=np.float64)
    single = points.shape == (2,)
    if single:
        points = points[None, :]
    if points.ndim != 2 or points.shape[1] != 2 or not np.isfinite(points).all():
        raise InvalidParameterError(f"xy must be one (x, y) position or an (N, 2) array; got shape {np.shape(xy)}")
    cols, rows = np.rint(points[:, 0]).astype(np.int64), np.rint(points[:, 1]).astype(np.int64)
    outside = (cols < 0) | (cols >= gray.shape[1]) | (rows < 0) | (rows >= gray.shape[0])
    if outside.any():
        raise InvalidParameterError(
            f"{int(outside.sum())} point(s) lie outside the {gray.shape[1]}×{gray.shape[0]} image, "
            f"for example {points[outside][0].tolist()}"
        )
    sigmas = np.asarray(sigmas, dtype=np.float64).reshape(-1)
    if sigmas.size == 0 or not np.isfinite(sigmas).all() or (sigmas <= 0).any():
        raise InvalidParameterError("sigmas must be a non-empty list of positive numbers")
    k = _positive(k, "k")
    if k <= 1.0:
        raise InvalidParameterError(f"k must be larger than 1; got {k}")
    radius = int(np.ceil(4.0 * k * sigmas.max())) + 1
    # "reflect" needs the image to be larger than the padding; "symmetric" repeats it as often as needed.
    padded = np.pad(gray, radius, mode="reflect" if radius < min(gray.shape) else "symmetric")
    out = np.empty((len(points), sigmas.size))
    for i, sigma in enumerate(sigmas):
        r = int(np.ceil(4.0 * k * sigma)) + 1
        offsets = np.arange(-r, r + 1)
        d2 = (offsets[:, None] ** 2 + offsets[None, :] ** 2).astype(np.float64)
        narrow = np.exp(-d2 / (2 * sigma**2))
        wide = np.exp(-d2 / (2 * (k * sigma) ** 2))
        kernel = wide / wide.sum() - narrow / narrow.sum()
        patches = padded[(radius + rows)[:, None, None] + offsets[None, :, None],
                         (radius + cols)[:, None, None] + offsets[None, None, :]]
        out[:, i] = np.abs(np.einsum("nij,ij->n", patches, kernel)) / (k - 1.0)
    return out[0] if single else out


# --------------------------------------------------------------------------- SURF's approximation


def box_kernels(size: int = 9) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The box filters ``(Dxx, Dyy, Dxy)`` of size L as dense ``L × L`` arrays, not normalised.

    >>> dxx, dyy, dxy = box_kernels(9)
    >>> dxx[4].tolist()
    [1.0, 1.0, 1.0, -2.0, -2.0, -2.0, 1.0, 1.0, 1.0]
    >>> float(dxx.sum()), float(dxy.sum()), bool((dyy == dxx.T).all())
    (0.0, 0.0, True)
    """
    size = _check_size(size)
    lobe, half = size // 3, (size - 1) // 2
    dxx = np.zeros((size, size))
    dxx[half - lobe + 1 : half + lobe, :] = 1.0  # three lobes side by side, 2 lobe - 1 rows high:
    dxx[half - lobe + 1 : half + lobe, lobe : 2 * lobe] = -2.0  # +1, -2, +1
    dxy = np.zeros((size, size))
    dxy[half - lobe : half, half - lobe : half] = dxy[half + 1 : half + lobe + 1, half + 1 : half + lobe + 1] = 1.0
    dxy[half - lobe : half, half + 1 : half + lobe + 1] = dxy[half + 1 : half + lobe + 1, half - lobe : half] = -1.0
    return dxx, dxx.T.copy(), dxy


def box_hessian_reference(gray: np.ndarray, size: int = 9) -> np.ndarray:
    """det H at every pixel as the formula reads: slide each box filter over the image.

    ``gray`` is a 2-D float image in [0, 1], mirrored at its border; this costs L² products per
    pixel where ``box_hessian`` reads a few integral-image entries, and gives the same map.
    """
    from scipy.ndimage import correlate

    dxx, dyy, dxy = (correlate(gray, kernel, mode="mirror") / size**2 for kernel in box_kernels(size))
    return dxx * dyy - (DXY_WEIGHT * dxy) ** 2


def gaussian_second_derivatives(sigma: float = 1.2, size: int = 9) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sampled second derivatives of a 2-D Gaussian, the kernels SURF's box filters stand for.

    Returns ``(Gxx, Gyy, Gxy)``, each ``size × size`` (rows are y, columns
    x), sampled at integer offsets from the centre; compare with
    :func:`box_kernels` (a 9×9 box filter stands for σ = 1.2).

    Examples
    --------
    >>> gxx, gyy, gxy = gaussian_second_derivatives(1.2, 9)
    >>> gxx.shape, bool(np.allclose(gyy, gxx.T)), bool(gxx[4, 4] < 0 < gxx[4, 0] + 1)
    ((9, 9), True, True)
    """
    sigma = _positive(sigma, "sigma")
    size = _count(size, "size", 1, 1001)
    if size % 2 == 0:
        raise InvalidParameterError(f"size must be odd, so the kernel has a centre pixel; got {size}")
    half = size // 2
    y, x = np.mgrid[-half : half + 1, -half : half + 1].astype(np.float64)
    g = np.exp(-(x**2 + y**2) / (2 * sigma**2)) / (2 * np.pi * sigma**2)
    gxx = (x**2 / sigma**4 - 1 / sigma**2) * g
    gyy = (y**2 / sigma**4 - 1 / sigma**2) * g
    gxy = (x * y / sigma**4) * g
    return gxx, gyy, gxy


def gaussian_hessian_determinant(image, sigma: float = 1.2) -> np.ndarray:
    """σ⁴ (Lxx Lyy − Lxy²) with exact Gaussian derivatives: what SURF's box-filter determinant approximates.

    The image is converted to gray in [0, 1] and mirrored beyond its border
    (as :func:`imgsim_helpers.metrics.surf_detector.box_hessian`). The σ⁴ factor makes the
    response comparable across scales (Lindeberg's normalisation).

    Examples
    --------
    >>> det = gaussian_hessian_determinant(np.zeros((32, 32)), 2.0)
    >>> det.shape, float(np.abs(det).max())
    ((32, 32), 0.0)
    """
    from scipy.ndimage import gaussian_filter

    gray = _gray01(image)
    sigma = _positive(sigma, "sigma")
    lxx = gaussian_filter(gray, sigma, order=(0, 2), mode="mirror")
    lyy = gaussian_filter(gray, sigma, order=(2, 0), mode="mirror")
    lxy = gaussian_filter(gray, sigma, order=(1, 1), mode="mirror")
    return sigma**4 * (lxx * lyy - lxy**2)


@dataclass(frozen=True)
class BoxFilterCosts:
    """The work, and the time, to sum every L×L box of an image two ways (from :func:`box_filter_costs`).

    The counts are what a test can check on any machine; the times are this
    run's, on this machine, and move with its load.

    Attributes
    ----------
    sizes
        The box sides L.
    boxes
        Per size: how many L×L boxes the image holds, (H - L + 1)(W - L + 1).
    lookup_reads
        Per size: values read from the integral image (four per box).
    direct_reads
        Per size: pixel values added by the direct sum (L² per box).
    lookup_seconds
        Per size: four shifted look-ups in the integral image (whole image).
    direct_seconds
        Per size: adding the L² pixels of every box.
    table_seconds
        Building the integral image once (shared by every size).
    max_difference
        Largest absolute difference between the two results over all sizes
        (gray in [0, 1]): rounding only.
    shape
        The image's ``(height, width)``.
    """

    sizes: list[int]
    boxes: list[int]
    lookup_reads: list[int]
    direct_reads: list[int]
    lookup_seconds: list[float]
    direct_seconds: list[float]
    table_seconds: float
    max_difference: float
    shape: tuple[int, int]


def _best_of(function, repeat: int) -> tuple[float, np.ndarray]:
    best, result = np.inf, None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def box_filter_costs(image, sizes: Sequence[int] = (9, 15, 27, 51), *, repeat: int = 3) -> BoxFilterCosts:
    """Sum every L×L box of the image from the integral image and directly; count the values each reads, and time both.

    The integral-image way needs the table once and then four look-ups per
    box whatever L is; the direct way adds L² pixels per box. The counts are
    taken from the arrays each way actually reads (four shifted slices of
    the table; the strided sliding-window view). Both are vectorised NumPy,
    so the difference in time follows the difference in work on a quiet
    machine. Each timing is the best of ``repeat`` runs.

    Parameters
    ----------
    image
        Gray or RGB image; converted to gray in [0, 1].
    sizes
        Box sides, each at least 1 and at most the image's smaller side.
    repeat
        Runs per timing; the fastest counts.

    Returns
    -------
    BoxFilterCosts

    Examples
    --------
    >>> costs = box_filter_costs(np.random.default_rng(0).random((40, 40)), [3, 9], repeat=1)
    >>> costs.sizes, costs.max_difference < 1e-9
    ([3, 9], True)
    >>> [r // b for r, b in zip(costs.direct_reads, costs.boxes)], [r // b for r, b in zip(costs.lookup_reads, costs.boxes)]
    ([9, 81], [4, 4])
    """
    gray = _gray01(image)
    repeat = _count(repeat, "repeat", 1, 100)
    if isinstance(sizes, str) or not isinstance(sizes, Sequence | np.ndarray) or len(sizes) == 0:
        raise EmptyInputError(f"sizes must be a non-empty list of box sides; got {sizes!r}")
    sizes = [_count(s, "each box size", 1, min(gray.shape)) for s in sizes]

    def table():
        t = np.zeros((gray.shape[0] + 1, gray.shape[1] + 1))
        np.cumsum(np.cumsum(gray, axis=0), axis=1, out=t[1:, 1:])
        return t

    table_seconds, t = _best_of(table, repeat)
    view = np.lib.stride_tricks.sliding_window_view
    lookup, direct, worst = [], [], 0.0
    boxes, lookup_reads, direct_reads = [], [], []
    for size in sizes:
        # S(D), S(B), S(C), S(A) for every box at once: four shifted views of the table
        corners = (t[size:, size:], t[:-size, size:], t[size:, :-size], t[:-size, :-size])

        def four(c=corners):
            return c[0] - c[1] - c[2] + c[3]

        seconds, fast = _best_of(four, repeat)
        lookup.append(seconds)
        windows = view(gray, (size, size))
        seconds, slow = _best_of(lambda w=windows: w.sum(axis=(2, 3)), repeat)
        direct.append(seconds)
        worst = max(worst, float(np.abs(fast - slow).max()))
        boxes.append(int(fast.size))
        lookup_reads.append(int(sum(corner.size for corner in corners)))
        direct_reads.append(int(windows.size))
    return BoxFilterCosts(sizes, boxes, lookup_reads, direct_reads, lookup, direct, table_seconds, worst, tuple(gray.shape))


# --------------------------------------------------------------------------- a second view with a known answer


def view_homography(shape, *, angle: float = 0.0, scale: float = 1.0, tilt: float = 0.0) -> np.ndarray:
    """A homography about the image centre: rotate, zoom, then tilt in perspective.

    Parameters
    ----------
    shape
        The image's shape (its first two entries are height and width).
    angle
        Degrees, counter-clockwise on screen (as ``cv2.getRotationMatrix2D``).
    scale
        Zoom factor (> 1 enlarges).
    tilt
        Perspective strength in (-1, 1): with ``tilt > 0`` the right side
        recedes, shrunk by about ``1 + tilt / 2`` at the right edge and
        enlarged by ``1 - tilt / 2`` at the left; 0 gives a similarity.

    Returns
    -------
    numpy.ndarray
        3×3 float64, mapping (x, y, 1) of the image to the view; the centre is fixed.

    Examples
    --------
    >>> H = view_homography((100, 100), angle=90)
    >>> np.round(project(H, [[49.5, 49.5], [99.0, 49.5]]), 6).tolist()
    [[49.5, 49.5], [49.5, 0.0]]
    """
    if not isinstance(shape, Sequence | np.ndarray) or len(shape) < 2:
        raise InvalidParameterError(f"shape must be an image shape (height, width, ...); got {shape!r}")
    height, width = int(shape[0]), int(shape[1])
    if height < 1 or width < 1:
        raise InvalidParameterError(f"shape must have positive height and width; got {shape!r}")
    for value, name in ((angle, "angle"), (scale, "scale"), (tilt, "tilt")):
        if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating) or not np.isfinite(value):
            raise InvalidParameterError(f"{name} must be a finite number; got {value!r}")
    scale = _positive(scale, "scale")
    if not -1.0 < tilt < 1.0:
        raise InvalidParameterError(f"tilt must lie in (-1, 1); got {tilt!r}")
    cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
    theta = np.radians(angle)
    cos, sin = np.cos(theta) * scale, np.sin(theta) * scale
    to_centre = np.array([[1.0, 0.0, -cx], [0.0, 1.0, -cy], [0.0, 0.0, 1.0]])
    back = np.array([[1.0, 0.0, cx], [0.0, 1.0, cy], [0.0, 0.0, 1.0]])
    # Counter-clockwise on screen: rows grow downwards, so y' = -sin x + cos y.
    similarity = np.array([[cos, sin, 0.0], [-sin, cos, 0.0], [0.0, 0.0, 1.0]])
    perspective = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [tilt / width, 0.0, 1.0]])
    return back @ perspective @ similarity @ to_centre


def warp_view(image, homography) -> np.ndarray:
    """The image seen through ``homography``, same size, black outside (``cv2.warpPerspective``).

    The image is converted to ``uint8`` (gray stays gray, RGB stays RGB).

    Examples
    --------
    >>> image = np.arange(16, dtype=np.uint8).reshape(4, 4)
    >>> bool((warp_view(image, np.eye(3)) == image).all())
    True
    """
    import cv2

    image = to_uint8(check_image(image))
    h = np.asarray(homography, dtype=np.float64)
    if h.shape != (3, 3) or not np.isfinite(h).all() or abs(np.linalg.det(h)) < 1e-12:
        raise InvalidParameterError(f"homography must be an invertible, finite 3×3 matrix; got shape {h.shape}")
    return cv2.warpPerspective(image, h, (image.shape[1], image.shape[0]), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def _pairs(matches) -> np.ndarray:
    pairs = np.asarray(getattr(matches, "indices", matches))
    if pairs.size == 0:
        return np.zeros((0, 2), np.int64)
    if pairs.ndim != 2 or pairs.shape[1] != 2 or not np.issubdtype(pairs.dtype, np.integer):
        raise InvalidParameterError(f"matches must be Matches or an (M, 2) integer array; got shape {pairs.shape}")
    return pairs


def correct_matches(features1, features2, matches, homography, *, tolerance: float = 3.0) -> np.ndarray:
    """Which matches are right: the image-2 keypoint lies within ``tolerance`` px of H × (image-1 keypoint).

    Parameters
    ----------
    features1, features2
        :class:`imgsim_helpers.metrics.keypoints.Features` (or ``(N, 2)`` arrays of x, y).
    matches
        :class:`imgsim_helpers.metrics.keypoints.Matches` or an ``(M, 2)`` integer array.
    homography
        The true 3×3 map from image 1 to image 2.
    tolerance
        Largest distance in pixels.

    Returns
    -------
    numpy.ndarray
        ``(M,)`` bool.

    Examples
    --------
    >>> p = np.array([[10.0, 10.0], [20.0, 5.0]])
    >>> correct_matches(p, p + [4.0, 0.0], [[0, 0], [1, 1]], np.diag([1.0, 1.0, 1.0])).tolist()
    [False, False]
    >>> correct_matches(p, p + [4.0, 0.0], [[0, 0], [1, 0]], [[1, 0, 4], [0, 1, 0], [0, 0, 1]]).tolist()
    [True, False]
    """
    tolerance = _positive(tolerance, "tolerance")
    xy1 = np.asarray(getattr(features1, "xy", features1), dtype=np.float64).reshape(-1, 2)
    xy2 = np.asarray(getattr(features2, "xy", features2), dtype=np.float64).reshape(-1, 2)
    pairs = _pairs(matches)
    if len(pairs) == 0:
        return np.zeros(0, bool)
    if pairs.min() < 0 or pairs[:, 0].max() >= len(xy1) or pairs[:, 1].max() >= len(xy2):
        raise InvalidParameterError(f"match indices out of range for {len(xy1)} and {len(xy2)} keypoints")
    h = np.asarray(homography, dtype=np.float64)
    if h.shape != (3, 3) or not np.isfinite(h).all():
        raise InvalidParameterError(f"homography must be a finite 3×3 matrix; got shape {h.shape}")
    mapped = project(h, xy1[pairs[:, 0]])
    return np.linalg.norm(mapped - xy2[pairs[:, 1]], axis=1) <= tolerance


def ratio_sweep(features1: Features, features2: Features, homography, ratios, *, tolerance: float = 3.0) -> dict:
    """How many matches Lowe's ratio test keeps, and how many of them are right, at several thresholds.

    Every keypoint of image 1 is matched to its nearest neighbour in image
    2 once (:func:`imgsim_helpers.metrics.keypoints.match_descriptors` with
    ``ratio=1``); a threshold r keeps the matches whose nearest /
    second-nearest distance is below r (r = 1 keeps them all). A match is
    right when :func:`correct_matches` says so.

    Returns
    -------
    dict
        ``"ratio"``, ``"n_matches"``, ``"n_correct"`` and ``"precision"``
        (correct / kept, 0 when nothing is kept): lists, one entry per threshold.

    Examples
    --------
    >>> from skimage.data import camera
    >>> f = detect_and_describe(camera()[::2, ::2], method="sift")
    >>> out = ratio_sweep(f, f, np.eye(3), [0.8, 1.0])
    >>> out["precision"], out["n_matches"][1] == len(f)
    ([1.0, 1.0], True)
    """
    values = np.asarray(ratios, dtype=np.float64).reshape(-1)
    if values.size == 0 or not np.isfinite(values).all() or (values <= 0).any() or (values > 1).any():
        raise InvalidParameterError(f"ratios must be a non-empty list of numbers in (0, 1]; got {ratios!r}")
    matches: Matches = match_descriptors(features1, features2, ratio=1.0)
    right = correct_matches(features1, features2, matches, homography, tolerance=tolerance)
    out = {"ratio": values.tolist(), "n_matches": [], "n_correct": [], "precision": []}
    for r in values:
        keep = np.ones(len(matches), bool) if r >= 1.0 else matches.ratios < r
        kept, good = int(keep.sum()), int(right[keep].sum())
        out["n_matches"].append(kept)
        out["n_correct"].append(good)
        out["precision"].append(good / kept if kept else 0.0)
    return out


def corner_error(estimated, true, shape) -> float:
    """Mean distance in pixels between the image corners mapped by two homographies.

    Examples
    --------
    >>> shifted = [[1, 0, 3], [0, 1, 4], [0, 0, 1]]
    >>> corner_error(shifted, np.eye(3), (10, 10))
    5.0
    """
    a = np.asarray(estimated, dtype=np.float64)
    b = np.asarray(true, dtype=np.float64)
    if a.shape != (3, 3) or b.shape != (3, 3) or not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise InvalidParameterError(f"both homographies must be finite 3×3 matrices; got {a.shape} and {b.shape}")
    height, width = int(shape[0]), int(shape[1])
    corners = np.array([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]], dtype=np.float64)
    return float(np.linalg.norm(project(a, corners) - project(b, corners), axis=1).mean())


def complement_colours(image) -> np.ndarray:
    """Turn every colour into its complement while keeping its gray level: ``2 Y - (R, G, B)``, clipped.

    Y is the pixel's BT.601 luma (:func:`imgsim_helpers.images.io.to_gray`), and
    the luma of ``2 Y - (R, G, B)`` is again Y, so where nothing is clipped
    the gray image — all that keypoint detectors see — is unchanged, while
    reds turn cyan, blues yellow, and so on. Gray input is returned as is.

    Returns
    -------
    numpy.ndarray
        RGB in the input's dtype (``uint8`` or float in [0, 1]).

    Examples
    --------
    >>> pixel = np.array([[[200, 100, 50]]], np.uint8)
    >>> complement_colours(pixel).tolist(), to_gray(pixel).tolist(), to_gray(complement_colours(pixel)).tolist()
    ([[[48, 148, 198]]], [[124]], [[124]])
    """
    image = check_image(image)
    if image.ndim == 2:
        return image
    rgb = to_float(image[..., :3])
    luma = rgb @ np.array([0.299, 0.587, 0.114])
    out = np.clip(2.0 * luma[..., None] - rgb, 0.0, 1.0)
    return to_uint8(out) if image.dtype == np.uint8 else out.astype(image.dtype if image.dtype.kind == "f" else np.float64)


def opencv_has_surf() -> bool:
    """Whether this OpenCV can create SURF (a contrib build with ``OPENCV_ENABLE_NONFREE``).

    pip's ``opencv-python`` has no ``cv2.xfeatures2d`` at all;
    ``opencv-contrib-python`` has it but refuses SURF, which is patented.

    Examples
    --------
    >>> isinstance(opencv_has_surf(), bool)
    True
    """
    import cv2

    try:
        cv2.xfeatures2d.SURF_create()
    except (AttributeError, cv2.error):
        return False
    return True


# --------------------------------------------------------------------------- the detector comparison


@dataclass(frozen=True, eq=False)
class ChangedView:
    """One changed copy of an image, with the homography that maps the original onto it."""

    kind: str
    name: str
    image: np.ndarray
    homography: np.ndarray


def _kind(angle: float, scale: float) -> str:
    if scale == 1.0:
        return "rotation"
    return "scale" if angle == 0 else "rotation+scale"


def changed_views(
    image,
    *,
    geometric: Mapping[str, tuple[float, float]] = GEOMETRIC_CHANGES,
    photometric: Mapping[str, tuple[str, float]] = PHOTOMETRIC_CHANGES,
    seed: int = 0,
) -> list[ChangedView]:
    """The image under each known change, with its homography.

    Geometric changes (``name -> (angle, zoom)``) warp the image about its
    centre with :func:`view_homography` and :func:`warp_view` (black
    outside); their kind is ``"rotation"``, ``"scale"`` or
    ``"rotation+scale"``. Photometric changes (``name -> (transform,
    strength)`` from :data:`imgsim_helpers.images.transforms.TRANSFORMS`) keep the
    geometry: kind ``"photometric"``, identity homography.

    Examples
    --------
    >>> views = changed_views(np.zeros((32, 32), np.uint8), geometric={"r": (90.0, 1.0)},
    ...                       photometric={"b": ("blur", 1.0)})
    >>> [(v.kind, v.name, v.image.shape) for v in views]
    [('rotation', 'r', (32, 32)), ('photometric', 'b', (32, 32))]
    """
    image = to_uint8(check_image(image))
    if not isinstance(geometric, Mapping) or not isinstance(photometric, Mapping) or not (geometric or photometric):
        raise EmptyInputError("give at least one geometric or photometric change, as mappings name -> parameters")
    views = []
    for name, params in geometric.items():
        if not isinstance(params, Sequence) or len(params) != 2:
            raise InvalidParameterError(f"geometric change {name!r} must be (angle, zoom); got {params!r}")
        angle, scale = float(params[0]), float(params[1])
        h = view_homography(image.shape, angle=angle, scale=scale)
        views.append(ChangedView(_kind(angle, scale), str(name), warp_view(image, h), h))
    for name, params in photometric.items():
        if not isinstance(params, Sequence) or len(params) != 2:
            raise InvalidParameterError(f"photometric change {name!r} must be (transform, strength); got {params!r}")
        changed = apply_transform(image, params[0], params[1], seed=seed)
        views.append(ChangedView("photometric", str(name), changed, np.eye(3)))
    return views


def detector_quality(
    images: Mapping[str, np.ndarray],
    *,
    methods: Sequence[str] = ("sift", "surf", "orb", "akaze"),
    geometric: Mapping[str, tuple[float, float]] = GEOMETRIC_CHANGES,
    photometric: Mapping[str, tuple[str, float]] = PHOTOMETRIC_CHANGES,
    n_features: int = N_FEATURES,
    options: Mapping[str, dict] | None = None,
    progress: bool = False,
) -> list[dict]:
    """Repeatability and matching score of each method on each image under each known change.

    Every image is converted to gray and changed as :func:`changed_views`
    says; each method detects and describes the original and every changed
    copy, keeping its strongest ``n_features`` keypoints (with ``options``,
    by default :data:`DETECTOR_OPTIONS`, so each can reach that many), and
    :func:`matching_score` grades the pair under
    the known homography.

    Returns
    -------
    list of dict
        One row per (method, image, change): ``method``, ``image``,
        ``kind``, ``change``, ``n1``, ``n2`` (keypoints), ``repeatability``,
        ``matching_score``, ``precision``, ``recall``.

    Examples
    --------
    >>> from skimage.data import camera
    >>> rows = detector_quality({"camera": camera()[::2, ::2]}, methods=["orb"],
    ...                         geometric={"rotate 90°": (90.0, 1.0)}, photometric={})
    >>> rows[0]["kind"], bool(rows[0]["repeatability"] > 0.5)
    ('rotation', True)
    """
    if not isinstance(images, Mapping) or not images:
        raise EmptyInputError("images must be a non-empty mapping name -> image")
    methods = _methods(methods)
    n_features = _count(n_features, "n_features", 1, 100_000)
    options = DETECTOR_OPTIONS if options is None else options
    if not isinstance(options, Mapping):
        raise InvalidParameterError(f"options must map a method to its detector settings; got {options!r}")
    from tqdm.auto import tqdm

    rows = []
    with tqdm(total=len(images) * len(methods), desc="detector comparison", disable=not progress) as bar:
        for image_name, image in images.items():
            gray = to_uint8(to_gray(check_image(image, name=str(image_name))))
            views = changed_views(gray, geometric=geometric, photometric=photometric)
            for method in methods:
                settings = dict(options.get(method, {}))
                reference = detect_and_describe(gray, method=method, max_features=n_features, options=settings)
                for view in views:
                    other = detect_and_describe(view.image, method=method, max_features=n_features, options=settings)
                    result = matching_score(reference, other, view.homography)
                    rows.append({
                        "method": method, "image": str(image_name), "kind": view.kind, "change": view.name,
                        "n1": len(reference), "n2": len(other),
                        "repeatability": result.repeatability.value, "matching_score": result.matching_score,
                        "precision": result.precision, "recall": result.recall,
                    })
                bar.update()
    return rows


def summarise_quality(rows: Sequence[Mapping]) -> dict[str, dict[str, float]]:
    """Mean measures per method, overall and per kind of change.

    Returns
    -------
    dict
        ``method -> {"keypoints", "repeatability", "matching_score",
        "precision", "recall", "repeatability <kind>", "matching_score <kind>" ...}``
        in the order the methods first appear.

    Examples
    --------
    >>> rows = [{"method": "sift", "kind": "rotation", "n1": 10, "repeatability": 0.5,
    ...          "matching_score": 0.4, "precision": 0.9, "recall": 0.8},
    ...         {"method": "sift", "kind": "scale", "n1": 10, "repeatability": 0.7,
    ...          "matching_score": 0.2, "precision": 0.7, "recall": 0.6}]
    >>> s = summarise_quality(rows)["sift"]
    >>> round(s["repeatability"], 3), s["matching_score rotation"]
    (0.6, 0.4)
    """
    if isinstance(rows, str) or not isinstance(rows, Sequence) or not rows:
        raise EmptyInputError("rows must be the non-empty list that detector_quality returns")
    measures = ("repeatability", "matching_score", "precision", "recall")
    kinds = list(dict.fromkeys(r["kind"] for r in rows))
    out = {}
    for method in dict.fromkeys(r["method"] for r in rows):
        mine = [r for r in rows if r["method"] == method]
        summary = {"keypoints": float(np.mean([r["n1"] for r in mine]))}
        for m in measures:
            summary[m] = float(np.mean([r[m] for r in mine]))
        for kind in kinds:
            of_kind = [r for r in mine if r["kind"] == kind]
            if of_kind:
                for m in ("repeatability", "matching_score"):
                    summary[f"{m} {kind}"] = float(np.mean([r[m] for r in of_kind]))
        out[method] = summary
    return out


def detection_times(
    image, *, methods: Sequence[str] = ("sift", "surf", "orb", "akaze"), repeat: int = 3,
    options: Mapping[str, dict] | None = None,
) -> dict[str, float]:
    """Milliseconds to detect and describe one image with each method (best of ``repeat``).

    The methods take turns within each round, so a slow moment of a shared
    machine hits them alike. ``options`` (method -> settings) default to
    each method's own defaults.

    Examples
    --------
    >>> from skimage.data import camera
    >>> times = detection_times(camera()[::4, ::4], methods=["orb", "sift"], repeat=1)
    >>> sorted(times), all(t > 0 for t in times.values())
    (['orb', 'sift'], True)
    """
    methods = _methods(methods)
    repeat = _count(repeat, "repeat", 1, 100)
    options = {} if options is None else options
    gray = to_uint8(to_gray(check_image(image)))
    best = dict.fromkeys(methods, np.inf)
    for _ in range(repeat):
        for method in methods:
            start = time.perf_counter()
            detect_and_describe(gray, method=method, options=dict(options.get(method, {})))
            best[method] = min(best[method], time.perf_counter() - start)
    return {m: 1000.0 * s for m, s in best.items()}


# --------------------------------------------------------------------------- detector evaluation
# The protocol of Mikolajczyk et al. (IJCV 2005): repeatability and matching score of keypoints
# on image pairs related by a known homography.


def _local_scale(homography: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """sqrt(|det J|) of the homography at each point: how much it scales lengths there."""
    h = homography
    x, y = xy[:, 0], xy[:, 1]
    w = h[2, 0] * x + h[2, 1] * y + h[2, 2]
    u = h[0, 0] * x + h[0, 1] * y + h[0, 2]
    v = h[1, 0] * x + h[1, 1] * y + h[1, 2]
    j11, j12 = (h[0, 0] * w - u * h[2, 0]) / w**2, (h[0, 1] * w - u * h[2, 1]) / w**2
    j21, j22 = (h[1, 0] * w - v * h[2, 0]) / w**2, (h[1, 1] * w - v * h[2, 1]) / w**2
    return np.sqrt(np.abs(j11 * j22 - j12 * j21))


def _circle_overlap_error(d: np.ndarray, r1: np.ndarray, r2: np.ndarray) -> np.ndarray:
    """1 - intersection / union of circles of radii r1, r2 whose centres are d apart."""
    d, r1, r2 = np.broadcast_arrays(*(np.asarray(a, np.float64) for a in (d, r1, r2)))
    inter = np.zeros(d.shape)
    inside = d <= np.abs(r1 - r2)
    inter[inside] = np.pi * np.minimum(r1, r2)[inside] ** 2
    part = ~inside & (d < r1 + r2)
    if part.any():
        dd, a, b = d[part], r1[part], r2[part]
        alpha = np.arccos(np.clip((dd**2 + a**2 - b**2) / (2 * dd * a), -1, 1))
        beta = np.arccos(np.clip((dd**2 + b**2 - a**2) / (2 * dd * b), -1, 1))
        kite = 0.5 * np.sqrt(np.clip((-dd + a + b) * (dd + a - b) * (dd - a + b) * (dd + a + b), 0, None))
        inter[part] = a**2 * alpha + b**2 * beta - kite
    return 1.0 - inter / (np.pi * (r1**2 + r2**2) - inter)


@dataclass(frozen=True, eq=False)
class Repeatability:
    """Detector repeatability under a known homography: ``value`` = ``n_correspondences / min(n1, n2)``.

    ``n1``, ``n2`` count the keypoints whose circle lies inside both images; ``correspondences``
    ``(K, 2)`` indexes the *full* keypoint sets.
    """

    value: float
    n_correspondences: int
    n1: int
    n2: int
    correspondences: np.ndarray

    def __float__(self) -> float:
        return self.value


def _visible(xy: np.ndarray, radius: np.ndarray, shape) -> np.ndarray:
    height, width = shape
    return ((xy[:, 0] - radius >= -0.5) & (xy[:, 0] + radius <= width - 0.5)
            & (xy[:, 1] - radius >= -0.5) & (xy[:, 1] + radius <= height - 0.5))


def _check_protocol(features1, features2, homography, overlap_error, normalised_radius):
    for name, f in (("features1", features1), ("features2", features2)):
        if not isinstance(f, Features):
            raise InvalidParameterError(f"{name} must be Features; got {type(f).__name__}")
    h = np.asarray(homography, dtype=np.float64)
    if h.shape != (3, 3) or not np.isfinite(h).all() or abs(np.linalg.det(h)) < 1e-12:
        raise InvalidParameterError(f"homography must be an invertible, finite 3×3 matrix; got shape {h.shape}")
    if check_real(overlap_error, "overlap_error", low=0, low_open=True) >= 1:
        raise InvalidParameterError(f"overlap_error must be in (0, 1); got {overlap_error!r}")
    return h, float(overlap_error), check_real(normalised_radius, "normalised_radius", low=0, low_open=True)


def _geometry(features1: Features, features2: Features, h: np.ndarray, overlap_error: float,
              normalised_radius: float):
    """Visible keypoints of both images and every pair whose overlap error is below the limit."""
    from scipy.spatial import cKDTree

    # Image 2's circles seen in image 1: centre through H^-1, radius scaled by the local scale of
    # H^-1 (exact for similarities; the equal-area circle for a perspective map).
    h_inv = np.linalg.inv(h)
    xy2_in1, r2_in1 = project(h_inv, features2.xy), features2.scale * _local_scale(h_inv, features2.xy)
    xy1_in2, r1_in2 = project(h, features1.xy), features1.scale * _local_scale(h, features1.xy)
    vis1 = (_visible(features1.xy, features1.scale, features1.image_shape)
            & _visible(xy1_in2, r1_in2, features2.image_shape))
    vis2 = (_visible(features2.xy, features2.scale, features2.image_shape)
            & _visible(xy2_in1, r2_in1, features1.image_shape))
    idx1, idx2 = np.nonzero(vis1)[0], np.nonzero(vis2)[0]
    if not (len(idx1) and len(idx2)):
        return vis1, vis2, np.zeros((0, 2), np.int64), np.zeros(0)
    # Mikolajczyk et al. only compare regions closer than 4 radii.
    near = cKDTree(xy2_in1[idx2]).query_ball_point(features1.xy[idx1], r=4.0 * features1.scale[idx1])
    counts = np.fromiter((len(n) for n in near), np.int64, len(near))
    if not counts.sum():
        return vis1, vis2, np.zeros((0, 2), np.int64), np.zeros(0)
    a = np.repeat(idx1, counts)
    b = idx2[np.concatenate([np.asarray(n, np.int64) for n in near if n])]
    d = np.linalg.norm(features1.xy[a] - xy2_in1[b], axis=1)
    # The protocol's normalisation: both circles rescaled so that image 1's has radius 30 px
    # (the centres' distance is not), so large and small regions are judged alike.
    factor = normalised_radius / features1.scale[a]
    err = _circle_overlap_error(d, np.full(len(a), normalised_radius), r2_in1[b] * factor)
    good = err < overlap_error
    return vis1, vis2, np.stack([a[good], b[good]], axis=1), err[good]


def _one_to_one(pairs: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """Greedy bipartite matching: pairs in order of increasing cost, each index used once."""
    used1, used2, chosen = set(), set(), []
    for k in np.argsort(cost, kind="stable"):
        a, b = int(pairs[k, 0]), int(pairs[k, 1])
        if a not in used1 and b not in used2:
            used1.add(a)
            used2.add(b)
            chosen.append(k)
    return pairs[np.asarray(chosen, np.int64)] if chosen else np.zeros((0, 2), np.int64)


def _repeatability(vis1, vis2, pairs, errors) -> Repeatability:
    n1, n2 = int(vis1.sum()), int(vis2.sum())
    corr = _one_to_one(pairs, errors)
    return Repeatability(float(len(corr) / min(n1, n2)) if min(n1, n2) else 0.0, len(corr), n1, n2, corr)


def repeatability(features1: Features, features2: Features, homography, *, overlap_error: float = 0.4,
                  normalised_radius: float = 30.0) -> Repeatability:
    """The share of keypoints detected again after a known homography (Mikolajczyk et al. 2005).

    Each keypoint is a circle of radius ``scale``; image 2's circles are mapped into image 1
    through :math:`H^{-1}` (the paper uses ellipses; here the equal-area circle). Only keypoints
    whose circle lies inside both images count. A pair corresponds when the overlap error
    :math:`1 - |A \\cap B| / |A \\cup B|` is below ``overlap_error`` after both circles are
    rescaled so that image 1's has radius ``normalised_radius``; pairs are made one-to-one
    greedily, by increasing error. ``homography`` maps image-1 coordinates to image 2.

    >>> from skimage.data import camera
    >>> f = detect_and_describe(camera(), method="sift", max_features=300)
    >>> r = repeatability(f, f, np.eye(3))
    >>> r.value, r.n1 == r.n_correspondences
    (1.0, True)
    """
    h, overlap_error, radius = _check_protocol(features1, features2, homography, overlap_error, normalised_radius)
    return _repeatability(*_geometry(features1, features2, h, overlap_error, radius))


@dataclass(frozen=True, eq=False)
class MatchEvaluation:
    """Descriptor quality under a known homography, from :func:`matching_score`.

    ``matching_score`` correct mutual nearest neighbours / min(n1, n2); ``precision`` correct /
    ratio-test matches; ``recall`` correct ratio-test matches / correspondences (at most 1);
    the counts behind them, and the :class:`Repeatability`.
    """

    matching_score: float
    precision: float
    recall: float
    repeatability: Repeatability
    n_matches: int
    n_correct: int
    n_mutual: int
    n_mutual_correct: int

    def __float__(self) -> float:
        return self.matching_score


def matching_score(features1: Features, features2: Features, homography, *, ratio: float = 0.8,
                   overlap_error: float = 0.4, normalised_radius: float = 30.0) -> MatchEvaluation:
    """Matching score, precision and recall of descriptor matches under a known homography.

    Only keypoints inside the common region take part (as in :func:`repeatability`); a match is
    *correct* when its two keypoints correspond geometrically. The matching score (Mikolajczyk et
    al. 2005) counts correct mutual nearest neighbours over min(n1, n2): how many regions a
    detector *and* descriptor together let you match. Precision and recall grade the ratio test
    at ``ratio``.

    >>> from skimage.data import camera
    >>> f = detect_and_describe(camera(), method="orb", max_features=300)
    >>> e = matching_score(f, f, np.eye(3))
    >>> e.matching_score, e.precision
    (1.0, 1.0)
    """
    h, overlap_error, radius = _check_protocol(features1, features2, homography, overlap_error, normalised_radius)
    ratio = check_real(ratio, "ratio", low=0, high=1, low_open=True)
    vis1, vis2, pairs, errors = _geometry(features1, features2, h, overlap_error, radius)
    rep = _repeatability(vis1, vis2, pairs, errors)
    idx1, idx2 = np.nonzero(vis1)[0], np.nonzero(vis2)[0]
    good = {(int(a), int(b)) for a, b in pairs}

    def correct(m: Matches) -> int:
        return sum((int(idx1[a]), int(idx2[b])) in good for a, b in m.indices)

    d1, d2 = features1.descriptors[idx1], features2.descriptors[idx2]
    ratio_matches = match_descriptors(d1, d2, ratio=ratio)
    mutual = match_descriptors(d1, d2, ratio=1.0, cross_check=True)
    n_correct, n_mutual_correct = correct(ratio_matches), correct(mutual)
    denominator = min(rep.n1, rep.n2)
    return MatchEvaluation(
        float(n_mutual_correct / denominator) if denominator else 0.0,
        float(n_correct / len(ratio_matches)) if len(ratio_matches) else 0.0,
        float(min(1.0, n_correct / rep.n_correspondences)) if rep.n_correspondences else 0.0,
        rep, len(ratio_matches), n_correct, len(mutual), n_mutual_correct,
    )
