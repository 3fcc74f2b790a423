"""SSIM and MS-SSIM: structural similarity, as in the authors' MATLAB code.

SSIM (Wang, Bovik, Sheikh & Simoncelli, 2004) compares two images window by
window through three terms computed from local weighted statistics
(means :math:`\\mu`, variances :math:`\\sigma^2`, covariance :math:`\\sigma_{xy}`):

.. math::

    l = \\frac{2\\mu_x\\mu_y + C_1}{\\mu_x^2 + \\mu_y^2 + C_1},\\quad
    c = \\frac{2\\sigma_x\\sigma_y + C_2}{\\sigma_x^2 + \\sigma_y^2 + C_2},\\quad
    s = \\frac{\\sigma_{xy} + C_3}{\\sigma_x\\sigma_y + C_3}

with :math:`C_1 = (K_1 L)^2`, :math:`C_2 = (K_2 L)^2`, :math:`C_3 = C_2 / 2`
and :math:`L` the data range. The product :math:`l\\,c\\,s` simplifies to the
SSIM map

.. math::

    \\mathrm{SSIM} = \\frac{(2\\mu_x\\mu_y + C_1)(2\\sigma_{xy} + C_2)}
                         {(\\mu_x^2 + \\mu_y^2 + C_1)(\\sigma_x^2 + \\sigma_y^2 + C_2)}

and the score is the mean of the map.

What the defaults reproduce:

* :func:`ssim` -- Wang's ``ssim_index.m``: an 11×11 Gaussian window with
  σ = 1.5 (``fspecial('gaussian', 11, 1.5)``, summing to 1), population
  statistics, K1 = 0.01, K2 = 0.03, and only the *valid* region (windows
  that lie wholly inside the image), so the map is (H-10)×(W-10).
  ``downsample=True`` adds the automatic downsampling of the 2009 ``ssim.m``.
* :func:`ms_ssim` -- the authors' ``msssim.m`` (Wang, Simoncelli & Bovik,
  2003): five scales, contrast-structure at every scale, luminance only at
  the coarsest one, a 2×2 average-and-decimate between scales.

Colour images are compared channel by channel and the per-channel scores
averaged. RGBA images are refused (see :func:`ssim`).

Examples
--------
>>> import numpy as np
>>> from skimage import data
>>> camera = data.camera()
>>> ssim(camera, camera)
1.0
>>> noisy = np.clip(camera + 20 * np.random.RandomState(5).randn(512, 512), 0, 255).astype(np.uint8)
>>> round(ssim(camera, noisy), 6)
0.357964

(The IPOL ``imdiff`` program prints 0.357959 for this pair; it works in
single precision. scikit-image's ``structural_similarity`` with the same
settings equals this module's map on the valid region to 1e-12.)
"""

from __future__ import annotations

import math
from typing import NamedTuple

import cv2
import numpy as np

from imgsim_helpers.core.checks import check_image, check_same_shape, value_range
from imgsim_helpers.core.errors import (
    ImageTooSmallError,
    ImageTypeError,
    InvalidImageError,
    InvalidParameterError,
    unknown_name,
)

WINDOWS = ("gaussian", "uniform")
#: Accepted standard deviations of the Gaussian window, in pixels. Below, every
#: tap but the centre is 0 in float64 (the window is one pixel: use a smaller
#: win_size); above, the default 11×11 window is a box to within 2e-5 of its
#: weights (use window="uniform"); far outside, the formula gives NaN or overflows.
SIGMA_RANGE = (0.01, 1000.0)
MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)

__all__ = [
    "MS_SSIM_WEIGHTS",
    "SIGMA_RANGE",
    "SSIMComponents",
    "WINDOWS",
    "ms_ssim",
    "ssim",
    "ssim_components",
    "ssim_map_reference",
    "ssim_window",
]


class SSIMComponents(NamedTuple):
    """The three maps whose product is the SSIM map (see :func:`ssim_components`)."""

    luminance: np.ndarray
    contrast: np.ndarray
    structure: np.ndarray


# --------------------------------------------------------------------------- windows


def _check_window_options(window: str, win_size, sigma) -> None:
    if window not in WINDOWS:
        raise unknown_name("window", window, WINDOWS)
    if (
        isinstance(win_size, bool)
        or not isinstance(win_size, int | np.integer)
        or win_size < 3
        or win_size % 2 == 0
    ):
        raise InvalidParameterError(
            f"win_size must be an odd integer of at least 3 (the window needs a centre pixel and "
            f"neighbours to have a variance); got {win_size!r}"
        )
    low, high = SIGMA_RANGE
    if window == "gaussian" and not (_is_real(sigma) and math.isfinite(sigma) and low <= sigma <= high):
        raise InvalidParameterError(
            f"sigma must lie in [{low:g}, {high:g}] pixels for the Gaussian window (1.5 as the SSIM "
            f"paper); got {sigma!r}. For a narrower window use a smaller win_size, for a flat one "
            "window='uniform'"
        )


def _require_booleans(**flags) -> None:
    for label, flag in flags.items():
        # bool only: "no" or None would be read as True or False without a word.
        if not isinstance(flag, bool | np.bool_):
            raise InvalidParameterError(f"{label} must be True or False; got {flag!r}")


def _window_1d(window: str, win_size: int, sigma: float) -> np.ndarray:
    """The 1-D factor of the separable window, summing to 1."""
    if window == "uniform":
        return np.full(int(win_size), 1.0 / win_size)
    x = np.arange(win_size, dtype=np.float64) - (win_size - 1) / 2.0
    g = np.exp(-(x * x) / (2.0 * float(sigma) ** 2))
    # fspecial also zeroes taps below eps * max of the 2-D kernel; for any
    # window where that happens the zeroed taps weigh less than 1e-16, so the
    # separable form is kept (it is what makes the filtering fast).
    return g / g.sum()


def ssim_window(*, window: str = "gaussian", win_size: int = 11, sigma: float = 1.5) -> np.ndarray:
    """The 2-D weighting window SSIM uses for its local statistics.

    The Gaussian window equals MATLAB's ``fspecial('gaussian', win_size, sigma)``:
    ``exp(-(x² + y²) / (2 σ²))`` on a ``win_size``×``win_size`` grid centred
    on the middle pixel, normalised to sum 1. The uniform window is a box with
    every weight ``1 / win_size²``.

    Parameters
    ----------
    window
        ``"gaussian"`` or ``"uniform"``.
    win_size
        Odd side length, at least 3.
    sigma
        Standard deviation of the Gaussian, in pixels, within :data:`SIGMA_RANGE`
        (ignored for ``"uniform"``).

    Returns
    -------
    numpy.ndarray
        A float64 ``win_size``×``win_size`` array summing to 1.

    Examples
    --------
    >>> w = ssim_window()
    >>> w.shape, round(float(w.sum()), 12), round(float(w[5, 5]), 4)
    ((11, 11), 1.0, 0.0708)
    >>> float(ssim_window(window="uniform", win_size=3)[0, 0]) == 1 / 9
    True
    """
    _check_window_options(window, win_size, sigma)
    g = _window_1d(window, win_size, sigma)
    return np.outer(g, g)


# --------------------------------------------------------------------------- inputs


def _is_real(value) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)


def _check_constants(k1, k2) -> None:
    for name, k in (("k1", k1), ("k2", k2)):
        if not (_is_real(k) and math.isfinite(k) and k > 0):
            raise InvalidParameterError(
                f"{name} must be a positive number (the stabilising constant C = ({name}·L)² "
                f"keeps flat regions from dividing by zero); got {k!r}. Use 0.01 and 0.03 as in "
                "the SSIM paper"
            )


def _prepare_pair(image1, image2, data_range) -> tuple[np.ndarray, np.ndarray, float]:
    """Validate a pair and return them (dtype unchanged) with the data range L."""
    a = check_image(image1, name="image1")
    b = check_image(image2, name="image2")
    for name, image in (("image1", a), ("image2", b)):
        if image.ndim == 3 and image.shape[2] == 4:
            raise InvalidImageError(
                f"{name} is RGBA (shape {image.shape}); SSIM compares colour values and has no "
                "rule for transparency. Composite it onto a background first with "
                "imgsim_helpers.images.io.to_rgb(image, background=(255, 255, 255)), or drop the alpha "
                "channel with image[..., :3] if it carries no information"
            )
    check_same_shape(a, b)
    if data_range is None:
        ranges = value_range(a), value_range(b)
        if ranges[0] != ranges[1]:
            raise ImageTypeError(
                f"image1 is {a.dtype} (nominal range {ranges[0]:g}) but image2 is {b.dtype} "
                f"(nominal range {ranges[1]:g}); convert both with to_float() or to_uint8() "
                "(imgsim_helpers.images.io), or, calling ssim()/ms_ssim() directly, pass data_range "
                "explicitly"
            )
        L = ranges[0]
        for name, image in (("image1", a), ("image2", b)):
            if np.issubdtype(image.dtype, np.floating):
                lo, hi = float(image.min()), float(image.max())
                if lo < 0.0 or hi > 1.0:
                    raise InvalidImageError(
                        f"{name} is float with values in [{lo:.4g}, {hi:.4g}], so its data range "
                        "cannot be assumed to be 1; pass data_range (for example "
                        "data_range=255 for floats holding 0..255 values), or scale it to [0, 1]"
                    )
    else:
        if not (_is_real(data_range) and math.isfinite(data_range) and data_range > 0):
            raise InvalidParameterError(
                f"data_range must be a positive number (the span of possible values, such as 255 "
                f"for 8-bit images or 1 for floats in [0, 1]); got {data_range!r}"
            )
        L = float(data_range)
    return a, b, L


def _downsample_factor(shape: tuple[int, ...]) -> int:
    """``ssim.m``'s f = max(1, round(min(M, N) / 256)) with MATLAB's round (halves up)."""
    # min/256 is exact in binary, so adding 0.5 and flooring is exactly MATLAB's
    # round for these non-negative values (Python's round would send 1.5 to 2
    # but 2.5 to 2).
    return max(1, math.floor(min(shape[0], shape[1]) / 256 + 0.5))


def _box_downsample(image: np.ndarray, f: int) -> np.ndarray:
    """``imfilter(img, ones(f)/f², 'symmetric', 'same')`` then ``img(1:f:end, 1:f:end)``.

    imfilter anchors an f×f kernel at its element ``floor((f+1)/2)`` (for even f
    not the middle), so the averaged block reaches ``(f-1)//2`` pixels back
    and ``f//2`` forward; MATLAB's 'symmetric' padding repeats the edge pixel, which is
    NumPy's ``mode="symmetric"``. Only the kept outputs are computed.
    """
    before, after = (f - 1) // 2, f // 2
    pad = [(before, after), (before, after)] + [(0, 0)] * (image.ndim - 2)
    padded = np.pad(image, pad, mode="symmetric")
    rows, cols = -(-image.shape[0] // f), -(-image.shape[1] // f)
    out = np.zeros((rows, cols) + image.shape[2:], dtype=np.float64)
    for i in range(f):
        for j in range(f):
            out += padded[i : i + rows * f : f, j : j + cols * f : f]
    return out / (f * f)


def _check_size(shape, win_size: int, what: str) -> None:
    if shape[0] < win_size or shape[1] < win_size:
        raise ImageTooSmallError(
            f"{what} is {shape[0]}×{shape[1]} pixels, but SSIM with a {win_size}×{win_size} "
            f"window needs at least {win_size}×{win_size}; use larger images or a smaller "
            "win_size"
        )


# --------------------------------------------------------------------------- core


def _moments(x: np.ndarray, y: np.ndarray, k: np.ndarray):
    """Windowed means, second moments and cross moment, valid region only, in float64."""
    r = k.size // 2
    h, w = x.shape[:2]
    x = x.astype(np.float64)
    y = y.astype(np.float64)

    def filt(a: np.ndarray) -> np.ndarray:
        # Separable correlation in float64; the border OpenCV invents is cut off,
        # which leaves exactly filter2(window, a, 'valid').
        return cv2.sepFilter2D(a, cv2.CV_64F, k, k, borderType=cv2.BORDER_REFLECT)[
            r : h - r, r : w - r
        ]

    return filt(x), filt(y), filt(x * x), filt(y * y), filt(x * y)


def ssim_map_reference(x: np.ndarray, y: np.ndarray, k: np.ndarray, c1: float, c2: float):
    """The SSIM map as the formula reads: the readable version :func:`ssim`'s fast path equals.

    ``x``, ``y``: float images; ``k``: the 1-D window factor (see
    :func:`ssim_window`); ``c1``, ``c2``: the constants. Returns the map over
    the valid region (per channel for RGB). Tests check that :func:`ssim`
    gives this map to 1e-10.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.arange(36.0).reshape(6, 6)
    >>> box = np.full(3, 1 / 3)  # a 3×3 uniform window
    >>> ssim_map_reference(image, image, box, 6.5025, 58.5225).tolist() == np.ones((4, 4)).tolist()
    True
    """
    mu_x, mu_y, e_xx, e_yy, e_xy = _moments(x, y, k)
    var_x = e_xx - mu_x * mu_x
    var_y = e_yy - mu_y * mu_y
    cov_xy = e_xy - mu_x * mu_y
    return ((2 * mu_x * mu_y + c1) * (2 * cov_xy + c2)) / (
        (mu_x * mu_x + mu_y * mu_y + c1) * (var_x + var_y + c2)
    )


# Input rows × columns × channels per strip: the four filtered images of a strip
# (and the strip's float copy) stay in the CPU cache, and no image-sized
# temporary is allocated (fresh large arrays cost page faults).
_BLOCK_VALUES = 16384


def _ssim_and_cs(x, y, k, c1, c2, *, need_cs: bool = False):
    """The SSIM map and, when asked, the contrast-structure map, over the valid region.

    The fast path of :func:`ssim_map_reference` (equal to it to rounding): a
    strip of rows at a time, four filtered images instead of five (σx² + σy²
    needs only the filtered x² + y²), every operation in place.
    """
    r = k.size // 2
    h, w = x.shape[:2]
    rows, cols = h - 2 * r, w - 2 * r
    extra = x.shape[2:]
    ssim_map = np.empty((rows, cols) + extra)
    cs_map = np.empty((rows, cols) + extra) if need_cs else None
    step = max(8, _BLOCK_VALUES // (w * (extra[0] if extra else 1)) - 2 * r)
    shape = (min(step, rows) + 2 * r, w) + extra
    mu1, mu2, sq, xy = (np.empty(shape) for _ in range(4))

    def filt(src, dst):
        # Separable correlation in float64; the border rows and columns OpenCV
        # invents are cut off below, which leaves exactly filter2(window, a, 'valid').
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
        # Whole rows (contiguous, hence fast) of the valid band; columns are cut at the end.
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


def _setup(image1, image2, data_range, window, win_size, sigma, k1, k2, downsample):
    _require_booleans(downsample=downsample)
    _check_window_options(window, win_size, sigma)
    _check_constants(k1, k2)
    x, y, L = _prepare_pair(image1, image2, data_range)
    if downsample:
        f = _downsample_factor(x.shape)
        if f > 1:
            x, y = _box_downsample(x, f), _box_downsample(y, f)
            _check_size(x.shape, win_size, f"after downsampling by {f}, the image")
    _check_size(x.shape, win_size, "the image")
    k = _window_1d(window, win_size, sigma)
    return x, y, k, (k1 * L) ** 2, (k2 * L) ** 2


# --------------------------------------------------------------------------- public


def ssim(
    image1,
    image2,
    *,
    data_range: float | None = None,
    window: str = "gaussian",
    win_size: int = 11,
    sigma: float = 1.5,
    k1: float = 0.01,
    k2: float = 0.03,
    downsample: bool = False,
    full: bool = False,
):
    """Structural similarity of two images, as Wang's MATLAB ``ssim_index.m`` / ``ssim.m``.

    Parameters
    ----------
    image1, image2
        Images of the same shape: gray (H×W) or RGB (H×W×3); ``uint8``,
        ``uint16``, ``bool`` or float. RGBA is refused (composite or drop
        the alpha channel first, see Raises). Computation is in float64.
    data_range
        L, the span of possible pixel values. Default: from the dtype --
        255 for ``uint8``, 65535 for ``uint16``, 1 for ``bool`` and for
        floats, which must then lie in [0, 1]. Give the nominal range of the
        data (255 for floats holding 0..255), not ``max - min`` of one image,
        which would make the score depend on the image's contrast.
    window
        ``"gaussian"`` (default, as the paper) or ``"uniform"`` (a box).
    win_size
        Odd side of the window; 11 as the paper.
    sigma
        Standard deviation of the Gaussian window in pixels; 1.5 as the paper.
        Must lie in :data:`SIGMA_RANGE` (0.01 to 1000).
    k1, k2
        Positive constants of C1 = (k1 L)² and C2 = (k2 L)².
    downsample
        ``True`` or ``False`` (other values are refused). Reproduce the 2009 ``ssim.m``: first average f×f blocks and keep every
        f-th pixel, f = max(1, round(min(H, W) / 256)) (MATLAB rounding, so
        384 rows give f = 2), which mimics viewing the image from a typical
        distance. ``False`` (default) is ``ssim_index.m``.
    full
        Also return the SSIM map.

    Returns
    -------
    score : float
        Mean of the SSIM map, in [-1, 1]; 1 only for identical images. For RGB
        the mean of the three per-channel scores.
    ssim_map : numpy.ndarray, only if ``full``
        (H'-win_size+1)×(W'-win_size+1) float64 map over the *valid* region
        (H', W' after downsampling); for RGB the mean of the channel maps.
        ``ssim_map[i, j]`` belongs to the window centred on pixel
        ``(i + win_size // 2, j + win_size // 2)`` of the (downsampled) image.

    Raises
    ------
    ShapeMismatchError
        The shapes differ (also a gray image against an RGB one); make them
        equal with :func:`imgsim_helpers.images.io.align_pair` or ``to_gray``.
    ImageTooSmallError
        An image is smaller than the window.
    InvalidImageError
        RGBA input, NaN or infinite values, or floats outside [0, 1] without
        ``data_range``.
    ImageTypeError
        Not an array, an unsupported dtype (``int64`` ...), or two dtypes with
        different nominal ranges and no ``data_range``.
    InvalidParameterError
        A bad option value: ``sigma`` outside :data:`SIGMA_RANGE`, a
        ``downsample`` or ``full`` that is not a bool, ...

    Notes
    -----
    Constant images are fine: C1 and C2 keep every denominator positive, so
    two identical flat images score 1 and two different flat images score
    their luminance term.

    Examples
    --------
    >>> import numpy as np
    >>> from skimage import data
    >>> image = data.camera()[:64, :64]
    >>> ssim(image, image)
    1.0
    >>> darker = (image * 0.8).astype(np.uint8)
    >>> score, smap = ssim(image, darker, full=True)
    >>> smap.shape, 0.0 < score < 1.0
    ((54, 54), True)
    """
    _require_booleans(full=full)
    x, y, k, c1, c2 = _setup(
        image1, image2, data_range, window, win_size, sigma, k1, k2, downsample
    )
    ssim_map, _ = _ssim_and_cs(x, y, k, c1, c2)
    if ssim_map.ndim == 3:
        ssim_map = ssim_map.mean(axis=2)
    score = float(ssim_map.mean())
    return (score, ssim_map) if full else score


def ssim_components(
    image1,
    image2,
    *,
    data_range: float | None = None,
    window: str = "gaussian",
    win_size: int = 11,
    sigma: float = 1.5,
    k1: float = 0.01,
    k2: float = 0.03,
    downsample: bool = False,
) -> SSIMComponents:
    """The luminance, contrast and structure maps whose product is the SSIM map.

    With C3 = C2 / 2 (the paper's choice),

    * luminance ``l = (2 μx μy + C1) / (μx² + μy² + C1)`` -- are the local means alike?
    * contrast ``c = (2 σx σy + C2) / (σx² + σy² + C2)`` -- are the local spreads alike?
    * structure ``s = (σxy + C3) / (σx σy + C3)`` -- a correlation: do the
      patterns line up once mean and spread are removed?

    and ``l * c * s`` equals the SSIM map of :func:`ssim` (to rounding).

    Parameters
    ----------
    image1, image2, data_range, window, win_size, sigma, k1, k2, downsample
        As in :func:`ssim`.

    Returns
    -------
    SSIMComponents
        Named tuple ``(luminance, contrast, structure)`` of float64 maps over
        the valid region: H'×W' for gray, H'×W'×3 for RGB (one map per
        channel; average ``l*c*s`` over the last axis to get :func:`ssim`'s
        map). luminance and contrast lie in (0, 1], structure in [-1, 1].

    Examples
    --------
    >>> import numpy as np
    >>> from skimage import data
    >>> image = data.camera()[200:264, 200:264]
    >>> l, c, s = ssim_components(image, 255 - image)
    >>> bool(s.mean() < 0 < c.mean()), l.shape
    (True, (54, 54))
    >>> _, smap = ssim(image, 255 - image, full=True)
    >>> bool(np.allclose(l * c * s, smap))
    True
    """
    x, y, k, c1, c2 = _setup(
        image1, image2, data_range, window, win_size, sigma, k1, k2, downsample
    )
    mu1, mu2, e11, e22, e12 = _moments(x, y, k)
    mu12 = mu1 * mu2
    luminance = (2.0 * mu12 + c1) / (mu1 * mu1 + mu2 * mu2 + c1)
    # E[x²] - μ² can come out a hair below zero in flat regions; clamp before
    # the square root rather than produce NaN.
    var1 = np.maximum(e11 - mu1 * mu1, 0.0)
    var2 = np.maximum(e22 - mu2 * mu2, 0.0)
    sd12 = np.sqrt(var1 * var2)
    contrast = (2.0 * sd12 + c2) / (var1 + var2 + c2)
    c3 = c2 / 2.0
    structure = (e12 - mu12 + c3) / (sd12 + c3)
    return SSIMComponents(luminance, contrast, structure)


def ms_ssim(
    image1,
    image2,
    *,
    data_range: float | None = None,
    weights=MS_SSIM_WEIGHTS,
    window: str = "gaussian",
    win_size: int = 11,
    sigma: float = 1.5,
    k1: float = 0.01,
    k2: float = 0.03,
    full: bool = False,
):
    """Multi-scale SSIM (Wang, Simoncelli & Bovik 2003), as the authors' ``msssim.m``.

    At scale j = 1 … M (M = ``len(weights)``) the mean contrast-structure
    term ``cs_j`` of the SSIM map is taken; at the coarsest scale the mean
    SSIM (luminance included) instead. Between scales both images are
    averaged over 2×2 blocks and decimated by 2 (MATLAB ``imfilter`` with
    ``ones(2)/4`` and 'symmetric' padding, then every second pixel). The score is

    .. math:: \\mathrm{MS\\text{-}SSIM} = \\mathrm{SSIM}_M^{w_M} \\prod_{j<M} cs_j^{w_j}.

    A per-scale value below zero (anti-correlated structure, as for a
    negative image) would give NaN under a fractional power; such values are
    clipped to 0 first -- as piq and pytorch-msssim do -- so MS-SSIM lies in
    [0, 1] and is 0 when any weighted scale is anti-correlated.

    Parameters
    ----------
    image1, image2, data_range, window, win_size, sigma, k1, k2
        As in :func:`ssim` (no downsampling option: the pyramid is the
        multi-scale part).
    weights
        Exponent of each scale, finest first; the default is the paper's
        five weights, not renormalised (they sum to 1.0001 as in ``msssim.m``).
    full
        Also return the per-scale values.

    Returns
    -------
    score : float
        MS-SSIM in [0, 1]; for RGB the mean of the per-channel MS-SSIM.
    per_scale : numpy.ndarray, only if ``full``
        Length-M array: mean cs at scales 1 … M-1 and mean SSIM at scale M,
        before clipping (for RGB averaged over channels). For gray input
        ``score == prod(clip(per_scale, 0, None) ** weights)``.

    Raises
    ------
    ImageTooSmallError
        Fewer than ``win_size · 2^(M-1)`` rows or columns (176 with the
        defaults), the size ``msssim.m`` requires so that the coarsest scale
        still holds one window.
    ShapeMismatchError, InvalidImageError, ImageTypeError, InvalidParameterError
        As in :func:`ssim`.

    Examples
    --------
    >>> import numpy as np
    >>> from skimage import data
    >>> image = data.camera()
    >>> ms_ssim(image, image)
    1.0
    >>> score, per_scale = ms_ssim(image, 255 - image, full=True)
    >>> score, bool(per_scale.min() < 0)
    (0.0, True)
    """
    _require_booleans(full=full)
    w = _check_weights(weights)
    x, y, k, c1, c2 = _setup(image1, image2, data_range, window, win_size, sigma, k1, k2, False)
    levels = w.size
    need = win_size * 2 ** (levels - 1)
    if min(x.shape[0], x.shape[1]) < need:
        raise ImageTooSmallError(
            f"MS-SSIM with {levels} scales and a {win_size}×{win_size} window needs images of at "
            f"least {need}×{need} pixels ({win_size} × 2^{levels - 1}), so that the coarsest "
            f"scale still holds a window; got {x.shape[0]}×{x.shape[1]}. Use fewer scales "
            "(a shorter weights tuple), a smaller win_size, larger images, or ssim()"
        )
    values = np.empty((levels,) + x.shape[2:], dtype=np.float64)
    for level in range(levels):
        last = level == levels - 1
        ssim_map, cs_map = _ssim_and_cs(x, y, k, c1, c2, need_cs=not last)
        values[level] = (ssim_map if last else cs_map).mean(axis=(0, 1))
        if not last:
            x, y = _box_downsample(x, 2), _box_downsample(y, 2)
    w_shape = (levels,) + (1,) * (values.ndim - 1)
    per_channel = np.prod(np.maximum(values, 0.0) ** w.reshape(w_shape), axis=0)
    score = float(np.mean(per_channel))
    if full:
        per_scale = values.mean(axis=1) if values.ndim == 2 else values
        return score, per_scale
    return score


def _check_weights(weights) -> np.ndarray:
    try:
        w = np.asarray(weights, dtype=np.float64)
    except (TypeError, ValueError):
        w = None
    if w is None or w.ndim != 1 or w.size == 0 or not np.isfinite(w).all() or (w < 0).any():
        raise InvalidParameterError(
            f"weights must be a non-empty 1-D sequence of non-negative numbers, one per scale "
            f"(finest first), such as {MS_SSIM_WEIGHTS}; got {weights!r}"
        )
    return w
