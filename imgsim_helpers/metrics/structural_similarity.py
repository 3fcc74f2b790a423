"""SSIM and MS-SSIM: structural similarity, as in the authors' MATLAB code.

:func:`ssim_reference` and :func:`ms_ssim_reference` are the definitions, written as the formulas
read; :func:`ssim` and :func:`ms_ssim` are the fast paths, tested equal to them.

* :func:`ssim` is Wang's ``ssim_index.m``: an 11×11 Gaussian window (σ = 1.5), population
  statistics, K1 = 0.01, K2 = 0.03 and only the *valid* region (windows wholly inside the image),
  so the map is (H-10)×(W-10). ``downsample=True`` adds the 2009 ``ssim.m``'s downsampling.
* :func:`ms_ssim` is ``msssim.m``: five scales, contrast-structure at each, luminance only at the
  coarsest, a 2×2 average-and-decimate between scales.

Colour images are compared channel by channel and the channel scores averaged; RGBA is refused.

>>> import numpy as np
>>> from skimage import data
>>> camera = data.camera()
>>> noisy = np.clip(camera + 20 * np.random.RandomState(5).randn(512, 512), 0, 255).astype(np.uint8)
>>> ssim(camera, camera), round(ssim(camera, noisy), 6)
(1.0, 0.357964)

(IPOL's ``imdiff``, in single precision, prints 0.357959 for this pair.)
"""

from __future__ import annotations

import math
from typing import NamedTuple

import cv2
import numpy as np

from imgsim_helpers.core.checks import (
    check_choice,
    check_flag,
    check_int,
    check_pixel_pair,
    check_real,
)
from imgsim_helpers.core.errors import ImageTooSmallError, InvalidParameterError
from imgsim_helpers.metrics.pixel_error import nominal_data_range

WINDOWS = ("gaussian", "uniform")
#: Accepted standard deviations of the Gaussian window, in pixels. Below, every tap but the centre
#: is 0 in float64 (use a smaller win_size); above, the 11×11 window is a box to within 2e-5 of its
#: weights (use window="uniform"); far outside, the formula gives NaN or overflows.
SIGMA_RANGE = (0.01, 1000.0)
MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)

__all__ = [
    "MS_SSIM_WEIGHTS",
    "SIGMA_RANGE",
    "SSIMComponents",
    "WINDOWS",
    "ms_ssim",
    "ms_ssim_reference",
    "ssim",
    "ssim_components",
    "ssim_reference",
    "ssim_window",
]


class SSIMComponents(NamedTuple):
    """The three maps whose product is the SSIM map (see :func:`ssim_components`)."""

    luminance: np.ndarray
    contrast: np.ndarray
    structure: np.ndarray


# --------------------------------------------------------------------------- the definitions


def ssim_reference(x, y, *, data_range: float = 255.0, window=None, k1: float = 0.01, k2: float = 0.03,
                   luminance: bool = True) -> np.ndarray:
    """The SSIM map of two gray float images, as the formula reads; its mean is the score.

    ``window`` defaults to :func:`ssim_window`'s 11×11 Gaussian. ``luminance=False`` returns the
    contrast-structure map ``cs`` that MS-SSIM keeps at its finer scales.

    >>> image = np.arange(36.0).reshape(6, 6)
    >>> bool(np.all(ssim_reference(image, image, window=np.full((3, 3), 1 / 9)) == 1.0))
    True
    """
    w = ssim_window() if window is None else window
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2

    def local_mean(image):  # the w-weighted mean of every window lying wholly inside the image
        windows = np.lib.stride_tricks.sliding_window_view(image, w.shape)
        return np.einsum("ijkl,kl->ij", windows, w)

    mu_x, mu_y = local_mean(x), local_mean(y)
    var_x = local_mean(x * x) - mu_x**2
    var_y = local_mean(y * y) - mu_y**2
    cov_xy = local_mean(x * y) - mu_x * mu_y
    contrast_structure = (2 * cov_xy + c2) / (var_x + var_y + c2)
    if not luminance:
        return contrast_structure
    return (2 * mu_x * mu_y + c1) / (mu_x**2 + mu_y**2 + c1) * contrast_structure


def ms_ssim_reference(x, y, *, data_range: float = 255.0, weights=MS_SSIM_WEIGHTS) -> float:
    """MS-SSIM of two gray float images, as ``msssim.m`` reads.

    The mean ``cs`` at each finer scale and the mean SSIM at the coarsest, each clipped at 0 and
    raised to its weight; between scales, 2×2 block means (the edge mirrored for odd sizes).
    """
    score = 1.0
    for scale, weight in enumerate(weights, start=1):
        if scale > 1:
            x, y = _box_downsample(x, 2), _box_downsample(y, 2)
        value = ssim_reference(x, y, data_range=data_range, luminance=scale == len(weights)).mean()
        score *= max(value, 0.0) ** weight
    return float(score)


# --------------------------------------------------------------------------- windows and options


def _window_1d(window: str, win_size: int, sigma) -> np.ndarray:
    """The 1-D factor of the separable window, summing to 1."""
    if window == "uniform":
        return np.full(win_size, 1.0 / win_size)
    x = np.arange(win_size, dtype=np.float64) - (win_size - 1) / 2.0
    # fspecial also zeroes taps below eps * max; those weigh < 1e-16, so the separable form stays.
    g = np.exp(-(x * x) / (2.0 * float(sigma) ** 2))
    return g / g.sum()


def _check_window(window, win_size, sigma) -> np.ndarray:
    """The 1-D window factor, after checking the options that define it."""
    check_choice(window, "window", WINDOWS)
    win_size = check_int(win_size, "win_size", low=3, hint="odd: the window needs a centre pixel")
    if win_size % 2 == 0:
        raise InvalidParameterError(f"win_size must be odd (the window needs a centre pixel); got {win_size}")
    low, high = SIGMA_RANGE
    if window == "gaussian" and not low <= check_real(sigma, "sigma") <= high:
        raise InvalidParameterError(
            f"sigma must lie in [{low:g}, {high:g}] pixels for the Gaussian window (1.5 as the SSIM paper); "
            f"got {sigma!r}. For a narrower window use a smaller win_size, for a flat one window='uniform'")
    return _window_1d(window, win_size, sigma)


def ssim_window(*, window: str = "gaussian", win_size: int = 11, sigma: float = 1.5) -> np.ndarray:
    """The 2-D weighting window (summing to 1): MATLAB's ``fspecial('gaussian', win_size, sigma)`` or a box.

    >>> w = ssim_window()
    >>> w.shape, round(float(w.sum()), 12), round(float(w[5, 5]), 4)
    ((11, 11), 1.0, 0.0708)
    """
    g = _check_window(window, win_size, sigma)
    return np.outer(g, g)


def _setup(image1, image2, data_range, window, win_size, sigma, k1, k2, downsample):
    """Check everything once; return the (downsampled) pair, the window factor and C1, C2."""
    check_flag(downsample, "downsample")
    k = _check_window(window, win_size, sigma)
    hint = "use 0.01 and 0.03 as the SSIM paper; C = (k·L)² keeps flat regions from dividing by zero"
    k1, k2 = (check_real(v, name, low=0, low_open=True, hint=hint) for name, v in (("k1", k1), ("k2", k2)))
    x, y = check_pixel_pair(image1, image2, metric="SSIM")
    L = nominal_data_range(x, y, data_range, caller="ssim()/ms_ssim()")
    f = _downsample_factor(x.shape) if downsample else 1
    if f > 1:
        x, y = _box_downsample(x, f), _box_downsample(y, f)
    if min(x.shape[:2]) < k.size:
        where = f"after downsampling by {f}, the image" if f > 1 else "the image"
        raise ImageTooSmallError(
            f"{where} is {x.shape[0]}×{x.shape[1]} pixels, but SSIM with a {k.size}×{k.size} window needs "
            f"at least {k.size}×{k.size}; use larger images or a smaller win_size")
    return x, y, k, (k1 * L) ** 2, (k2 * L) ** 2


def _downsample_factor(shape) -> int:
    """``ssim.m``'s f = max(1, round(min(M, N) / 256)), MATLAB's round (halves up; exact in binary)."""
    return max(1, math.floor(min(shape[0], shape[1]) / 256 + 0.5))


def _box_downsample(image: np.ndarray, f: int) -> np.ndarray:
    """``imfilter(img, ones(f)/f², 'symmetric')`` then ``img(1:f:end, 1:f:end)``, only the kept outputs.

    imfilter anchors the kernel at element ``floor((f+1)/2)``: the block reaches ``(f-1)//2`` back
    and ``f//2`` forward; MATLAB's 'symmetric' padding is NumPy's.
    """
    before, after = (f - 1) // 2, f // 2
    padded = np.pad(image, [(before, after), (before, after)] + [(0, 0)] * (image.ndim - 2), mode="symmetric")
    rows, cols = -(-image.shape[0] // f), -(-image.shape[1] // f)
    out = np.zeros((rows, cols) + image.shape[2:], dtype=np.float64)
    for i in range(f):
        for j in range(f):
            out += padded[i : i + rows * f : f, j : j + cols * f : f]
    return out / (f * f)


# --------------------------------------------------------------------------- the fast path


def _moments(x: np.ndarray, y: np.ndarray, k: np.ndarray):
    """Windowed means, second moments and cross moment over the valid region, in float64."""
    r = k.size // 2
    h, w = x.shape[:2]
    x, y = x.astype(np.float64), y.astype(np.float64)

    def filt(a):  # the border OpenCV invents is cut off: exactly filter2(window, a, 'valid')
        return cv2.sepFilter2D(a, cv2.CV_64F, k, k, borderType=cv2.BORDER_REFLECT)[r : h - r, r : w - r]

    return filt(x), filt(y), filt(x * x), filt(y * y), filt(x * y)


# Input values per strip: a strip's four filtered images stay in the CPU cache, and no image-sized
# temporary is allocated (fresh large arrays cost page faults).
_BLOCK_VALUES = 16384


def _ssim_and_cs(x, y, k, c1, c2, *, need_cs: bool = False):
    """The SSIM map and, when asked, the cs map: :func:`ssim_reference`, fast.

    A strip of rows at a time, four filtered images instead of five (σx² + σy² needs only the
    filtered x² + y²), every operation in place.
    """
    r = k.size // 2
    h, w = x.shape[:2]
    rows, extra = h - 2 * r, x.shape[2:]
    ssim_map = np.empty((rows, w - 2 * r) + extra)
    cs_map = np.empty_like(ssim_map) if need_cs else None
    step = max(8, _BLOCK_VALUES // (w * (extra[0] if extra else 1)) - 2 * r)
    mu1, mu2, sq, xy = (np.empty((min(step, rows) + 2 * r, w) + extra) for _ in range(4))

    def filt(src, dst):
        cv2.sepFilter2D(src, cv2.CV_64F, k, k, dst=dst, borderType=cv2.BORDER_REFLECT)

    for top in range(0, rows, step):
        bottom = min(top + step, rows)
        n = bottom - top + 2 * r
        xs = x[top : bottom + 2 * r].astype(np.float64)
        ys = y[top : bottom + 2 * r].astype(np.float64)
        m1, m2, s, e12 = mu1[:n], mu2[:n], sq[:n], xy[:n]
        filt(xs, m1)
        filt(ys, m2)
        np.multiply(ys, ys, out=s)
        np.multiply(xs, ys, out=ys)
        np.multiply(xs, xs, out=xs)
        xs += s
        filt(xs, s)
        filt(ys, e12)
        # Whole rows of the valid band (contiguous, hence fast); columns are cut at the end.
        m1, m2, s, e12 = m1[r : n - r], m2[r : n - r], s[r : n - r], e12[r : n - r]
        mu12 = np.multiply(m1, m2, out=xs[r : n - r])
        np.multiply(m1, m1, out=m1)
        np.multiply(m2, m2, out=m2)
        squares = np.add(m1, m2, out=m1)  # μx² + μy²
        cs_den = np.subtract(s, squares, out=s)  # σx² + σy²
        cs_den += c2
        cs_num = np.subtract(e12, mu12, out=e12)  # σxy
        cs_num *= 2.0
        cs_num += c2
        lum_den = np.add(squares, c1, out=squares)
        lum_num = np.multiply(mu12, 2.0, out=mu12)
        lum_num += c1
        if need_cs:
            np.divide(cs_num[:, r : w - r], cs_den[:, r : w - r], out=cs_map[top:bottom])
        np.multiply(lum_num, cs_num, out=lum_num)
        np.multiply(lum_den, cs_den, out=lum_den)
        np.divide(lum_num[:, r : w - r], lum_den[:, r : w - r], out=ssim_map[top:bottom])
    return ssim_map, cs_map


# --------------------------------------------------------------------------- public


def ssim(image1, image2, *, data_range: float | None = None, window: str = "gaussian", win_size: int = 11,
         sigma: float = 1.5, k1: float = 0.01, k2: float = 0.03, downsample: bool = False, full: bool = False):
    """Structural similarity of two images, as Wang's MATLAB ``ssim_index.m`` / ``ssim.m``.

    Parameters
    ----------
    image1, image2
        Same-shape gray or RGB images (``uint8``, ``uint16``, ``bool`` or float); RGBA is refused.
    data_range
        L. Default: from the dtype (255, 65535, or 1 for bool and floats, which must then lie in
        [0, 1]). Give the nominal range (255 for floats holding 0..255), never ``max - min``.
    window, win_size, sigma
        ``"gaussian"`` (the paper's) or ``"uniform"``; odd side (11); σ in :data:`SIGMA_RANGE` (1.5).
    k1, k2
        Positive constants of C1 = (k1 L)² and C2 = (k2 L)².
    downsample
        The 2009 ``ssim.m``: average f×f blocks and keep every f-th pixel first,
        f = max(1, round(min(H, W) / 256)) with MATLAB's rounding (384 rows give f = 2).
    full
        Also return the map: (H'-win_size+1)×(W'-win_size+1), entry ``[i, j]`` for the window
        centred on pixel ``(i + win_size // 2, j + win_size // 2)``; for RGB the mean of the channels'.

    Two flat images are fine: C1 and C2 keep every denominator positive.

    >>> from skimage import data
    >>> image = data.camera()[:64, :64]
    >>> score, smap = ssim(image, (image * 0.8).astype(np.uint8), full=True)
    >>> smap.shape, 0.0 < score < 1.0
    ((54, 54), True)
    """
    check_flag(full, "full")
    x, y, k, c1, c2 = _setup(image1, image2, data_range, window, win_size, sigma, k1, k2, downsample)
    ssim_map, _ = _ssim_and_cs(x, y, k, c1, c2)
    if ssim_map.ndim == 3:
        ssim_map = ssim_map.mean(axis=2)
    score = float(ssim_map.mean())
    return (score, ssim_map) if full else score


def ssim_components(image1, image2, *, data_range: float | None = None, window: str = "gaussian",
                    win_size: int = 11, sigma: float = 1.5, k1: float = 0.01, k2: float = 0.03,
                    downsample: bool = False) -> SSIMComponents:
    """The luminance, contrast and structure maps whose product is :func:`ssim`'s map (C3 = C2 / 2).

    Options as :func:`ssim`. Maps over the valid region, one per channel for RGB (H'×W'×3);
    luminance and contrast lie in (0, 1], structure in [-1, 1].

    >>> from skimage import data
    >>> image = data.camera()[200:264, 200:264]
    >>> l, c, s = ssim_components(image, 255 - image)
    >>> bool(s.mean() < 0 < c.mean()), l.shape
    (True, (54, 54))
    """
    x, y, k, c1, c2 = _setup(image1, image2, data_range, window, win_size, sigma, k1, k2, downsample)
    mu1, mu2, e11, e22, e12 = _moments(x, y, k)
    mu12 = mu1 * mu2
    luminance = (2.0 * mu12 + c1) / (mu1 * mu1 + mu2 * mu2 + c1)
    # E[x²] - μ² can come out a hair below zero in flat regions: clamp before the square root.
    var1 = np.maximum(e11 - mu1 * mu1, 0.0)
    var2 = np.maximum(e22 - mu2 * mu2, 0.0)
    sd12 = np.sqrt(var1 * var2)
    contrast = (2.0 * sd12 + c2) / (var1 + var2 + c2)
    structure = (e12 - mu12 + c2 / 2.0) / (sd12 + c2 / 2.0)
    return SSIMComponents(luminance, contrast, structure)


def ms_ssim(image1, image2, *, data_range: float | None = None, weights=MS_SSIM_WEIGHTS, window: str = "gaussian",
            win_size: int = 11, sigma: float = 1.5, k1: float = 0.01, k2: float = 0.03, full: bool = False):
    """Multi-scale SSIM (Wang, Simoncelli & Bovik 2003), as the authors' ``msssim.m``.

    Options as :func:`ssim`. ``weights``: one exponent per scale, finest first (the paper's five,
    not renormalised). A scale's value below 0 (anti-correlated structure) is clipped to 0 before
    its power, as piq and pytorch-msssim do, so MS-SSIM lies in [0, 1]. Images need at least
    ``win_size · 2^(M-1)`` pixels a side (176 by default). ``full`` also returns the per-scale
    values before clipping (for RGB averaged over channels).

    >>> from skimage import data
    >>> image = data.camera()
    >>> ms_ssim(image, image), ms_ssim(image, 255 - image)
    (1.0, 0.0)
    """
    check_flag(full, "full")
    w = _check_weights(weights)
    x, y, k, c1, c2 = _setup(image1, image2, data_range, window, win_size, sigma, k1, k2, False)
    levels, need = w.size, k.size * 2 ** (w.size - 1)
    if min(x.shape[:2]) < need:
        raise ImageTooSmallError(
            f"MS-SSIM with {levels} scales and a {k.size}×{k.size} window needs images of at least "
            f"{need}×{need} pixels ({k.size} × 2^{levels - 1}), so that the coarsest scale still holds a "
            f"window; got {x.shape[0]}×{x.shape[1]}. Use fewer scales (a shorter weights tuple), a "
            "smaller win_size, larger images, or ssim()")
    values = np.empty((levels,) + x.shape[2:])
    for level in range(levels):
        last = level == levels - 1
        ssim_map, cs_map = _ssim_and_cs(x, y, k, c1, c2, need_cs=not last)
        values[level] = (ssim_map if last else cs_map).mean(axis=(0, 1))
        if not last:
            x, y = _box_downsample(x, 2), _box_downsample(y, 2)
    per_channel = np.prod(np.maximum(values, 0.0) ** w.reshape((levels,) + (1,) * (values.ndim - 1)), axis=0)
    score = float(np.mean(per_channel))
    return (score, values.mean(axis=1) if values.ndim == 2 else values) if full else score


def _check_weights(weights) -> np.ndarray:
    try:
        w = np.asarray(weights, dtype=np.float64)
    except (TypeError, ValueError):
        w = None
    if w is None or w.ndim != 1 or w.size == 0 or not np.isfinite(w).all() or (w < 0).any():
        raise InvalidParameterError(
            "weights must be a non-empty 1-D sequence of non-negative numbers, one per scale (finest "
            f"first), such as {MS_SSIM_WEIGHTS}; got {weights!r}")
    return w
