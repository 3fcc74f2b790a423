"""Colour histograms and the ways to compare them: OpenCV's ``compareHist`` formulas (to 1e-6)
and the Earth mover's distance. :data:`REFERENCE_FORMULAS` are the formulas as they read; the
vectorised :func:`pairwise_histogram_similarity` is tested equal to them.

>>> h = color_histogram(np.zeros((8, 8, 3), np.uint8), bins=4)
>>> h.shape, float(h.sum()), compare_histograms(h, h, method="intersection")
((4, 4, 4), 1.0, 1.0)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from imgsim_helpers.core.checks import check_choice, check_flag, check_int, check_real
from imgsim_helpers.core.device import cpu_threads
from imgsim_helpers.core.errors import EmptyInputError, InvalidParameterError, ShapeMismatchError
from imgsim_helpers.images.io import to_uint8

# OpenCV's 8-bit conventions: hue in [0, 180), everything else in [0, 256).
_SPACES = {
    "rgb": ((0, 256), (0, 256), (0, 256)),
    "hsv": ((0, 180), (0, 256), (0, 256)),
    "lab": ((0, 256), (0, 256), (0, 256)),
    "gray": ((0, 256),),
}
COLOR_SPACES = tuple(_SPACES)
_EPS = np.finfo(np.float64).eps  # OpenCV skips bins at or below DBL_EPSILON


@dataclass(frozen=True)
class HistogramMethod:
    """How a comparison method reads: its range and which direction means "more similar"."""

    name: str
    higher_is_similar: bool
    identical_value: float
    symmetric: bool
    opencv_flag: str | None
    description: str


HISTOGRAM_METHODS: dict[str, HistogramMethod] = {
    m.name: m
    for m in [
        HistogramMethod("correlation", True, 1.0, True, "HISTCMP_CORREL", "Pearson correlation of the bin counts, in [-1, 1]"),
        HistogramMethod("intersection", True, 1.0, True, "HISTCMP_INTERSECT", "sum of bin-wise minima; 1 for identical normalised histograms"),
        HistogramMethod("chi_square", False, 0.0, False, "HISTCMP_CHISQR", "sum (h1 - h2)^2 / h1 over bins with h1 > 0 (not symmetric)"),
        HistogramMethod("chi_square_alt", False, 0.0, True, "HISTCMP_CHISQR_ALT", "2 * sum (h1 - h2)^2 / (h1 + h2), the symmetric chi-square"),
        HistogramMethod("bhattacharyya", False, 0.0, True, "HISTCMP_BHATTACHARYYA", "OpenCV's Bhattacharyya: sqrt(1 - BC), which is the Hellinger distance"),
        HistogramMethod("hellinger", False, 0.0, True, "HISTCMP_HELLINGER", "sqrt(1 - sum sqrt(h1 h2) / sqrt(sum h1 sum h2)), in [0, 1]"),
        HistogramMethod("kl", False, 0.0, False, "HISTCMP_KL_DIV", "Kullback-Leibler divergence sum h1 log(h1 / h2) (not symmetric)"),
        HistogramMethod("emd", False, 0.0, True, None, "Earth mover's distance in bin units (cost of moving mass between bins)"),
    ]
}


# --------------------------------------------------------------------------- the formulas, as they read


def correlation_reference(h1: np.ndarray, h2: np.ndarray) -> float:
    """Pearson correlation of the bins; 1 when a histogram is constant (OpenCV's convention)."""
    d1, d2 = h1 - h1.mean(), h2 - h2.mean()
    variances = np.sum(d1 * d1) * np.sum(d2 * d2)
    return float(np.sum(d1 * d2) / np.sqrt(variances)) if variances > _EPS else 1.0


def intersection_reference(h1: np.ndarray, h2: np.ndarray) -> float:
    """``sum_k min(h1_k, h2_k)``: 1 for identical normalised histograms."""
    return float(np.sum(np.minimum(h1, h2)))


def chi_square_reference(h1: np.ndarray, h2: np.ndarray) -> float:
    """``sum_k (h1_k - h2_k)^2 / h1_k`` over the bins where h1 is not empty (not symmetric)."""
    counted = h1 > _EPS
    return float(np.sum((h1[counted] - h2[counted]) ** 2 / h1[counted]))


def chi_square_alt_reference(h1: np.ndarray, h2: np.ndarray) -> float:
    """``2 sum_k (h1_k - h2_k)^2 / (h1_k + h2_k)`` over the bins not empty in both."""
    total = h1 + h2
    used = total > _EPS
    return float(2.0 * np.sum((h1[used] - h2[used]) ** 2 / total[used]))


def hellinger_reference(h1: np.ndarray, h2: np.ndarray) -> float:
    """``sqrt(1 - sum_k sqrt(h1_k h2_k) / sqrt(sum h1 sum h2))``: OpenCV's "Bhattacharyya" too."""
    overlap = np.sum(np.sqrt(h1 * h2)) / np.sqrt(h1.sum() * h2.sum())
    return float(np.sqrt(max(1.0 - overlap, 0.0)))


def kl_reference(h1: np.ndarray, h2: np.ndarray) -> float:
    """``sum_k h1_k log(h1_k / h2_k)`` over the bins where h1 is not empty; an empty h2 bin counts as 1e-10."""
    counted = h1 > _EPS
    q = np.where(h2 > _EPS, h2, 1e-10)[counted]
    return float(np.sum(h1[counted] * np.log(h1[counted] / q)))


#: The reference function of each method with a closed form (the Earth mover's distance has none).
REFERENCE_FORMULAS = {
    "correlation": correlation_reference,
    "intersection": intersection_reference,
    "chi_square": chi_square_reference,
    "chi_square_alt": chi_square_alt_reference,
    "bhattacharyya": hellinger_reference,
    "hellinger": hellinger_reference,
    "kl": kl_reference,
}


# --------------------------------------------------------------------------- histograms


def _check_bins(bins, channels: int) -> tuple[int, ...]:
    try:
        values = (bins,) * channels if np.isscalar(bins) else tuple(bins)
    except TypeError:  # None or another object that is neither a number nor a sequence
        values = ()
    if len(values) != channels:
        raise InvalidParameterError(f"bins must be an integer in 1..256 or {channels} of them (one per channel); "
                                    f"got {bins!r}")
    return tuple(check_int(b, "bins", low=1, high=256, hint=f"one per channel, or one for all {channels}")
                 for b in values)


def _check_mask(mask, shape: tuple[int, ...]) -> np.ndarray:
    """A boolean H×W mask; numeric masks keep their non-zero pixels, as OpenCV's ``calcHist`` does."""
    mask = np.asarray(mask)
    if mask.dtype != bool and (not np.issubdtype(mask.dtype, np.number) or np.iscomplexobj(mask)):
        raise InvalidParameterError(f"mask must be a boolean (or 0/non-zero numeric) H×W array; got dtype {mask.dtype}")
    if mask.shape != shape:
        raise ShapeMismatchError(f"mask has shape {mask.shape}; it must be the image's height×width {shape}")
    if mask.dtype != bool and not np.isfinite(mask).all():
        # NaN would count as "keep" (it is non-zero), which is never what a NaN in a mask means.
        raise InvalidParameterError("mask holds NaN or infinite values; use a boolean array "
                                    "(for example np.isfinite(values) & ...)")
    return mask.astype(bool)


def _check_colours(ignore, channels: int) -> np.ndarray:
    colours = np.atleast_2d(np.asarray(ignore, dtype=np.float64))
    if colours.shape[-1] != channels and not (channels == 1 and colours.shape[0] == 1):
        raise InvalidParameterError(
            f"ignore must be a colour with {channels} value(s) (0-255) or a list of them; got {ignore!r}"
        )
    return colours.reshape(-1, channels)


def _near_colours(image: np.ndarray, colours: np.ndarray, tolerance: float) -> np.ndarray:
    """True where a pixel is within ``tolerance`` (max over channels) of one of ``colours``."""
    pixels = image[..., :3].astype(np.float64) if image.ndim == 3 else image[..., None].astype(np.float64)
    hit = np.zeros(image.shape[:2], bool)
    for colour in colours:
        hit |= np.abs(pixels - colour).max(axis=-1) <= tolerance
    return hit


def _convert(uint8: np.ndarray, space: str) -> np.ndarray:
    """The image in ``space`` with OpenCV's 8-bit conventions (hue 0-179, Lab scaled to 0-255)."""
    import cv2

    if uint8.ndim == 3 and uint8.shape[2] == 4:
        uint8 = uint8[..., :3]
    if space == "gray":
        return uint8 if uint8.ndim == 2 else cv2.cvtColor(np.ascontiguousarray(uint8), cv2.COLOR_RGB2GRAY)
    rgb = np.ascontiguousarray(uint8 if uint8.ndim == 3 else np.repeat(uint8[..., None], 3, axis=2))
    codes = {"hsv": cv2.COLOR_RGB2HSV, "lab": cv2.COLOR_RGB2LAB}
    return cv2.cvtColor(rgb, codes[space]) if space in codes else rgb


def color_histogram(image, *, space: str = "rgb", bins=8, mask=None, ignore=None,
                    ignore_tolerance: float = 0.0, normalize: bool = True) -> np.ndarray:
    """The colour histogram of an image: the share of its pixels in each bin, binned as ``cv2.calcHist``.

    ``bins``: one integer in 1..256 or one per channel; ``mask``: H×W, its True (non-zero) pixels
    are counted; ``ignore``: a colour (0-255) or a list of them to leave out, within
    ``ignore_tolerance`` (max over channels). Fully transparent pixels are left out.

    >>> white = np.full((4, 4, 3), 255, np.uint8)
    >>> white[0, 0] = (255, 0, 0)
    >>> float(color_histogram(white, bins=2, ignore=(255, 255, 255))[1, 0, 0])
    1.0
    """
    image = to_uint8(image)  # checks the image
    space = check_choice(space, "colour space", COLOR_SPACES)
    nbins = _check_bins(bins, len(_SPACES[space]))
    tolerance = check_real(ignore_tolerance, "ignore_tolerance", low=0, hint=(
        "how far, on the 0-255 scale, a pixel may be from an ignore colour and still be left out"))
    normalize = check_flag(normalize, "normalize")
    keep = np.ones(image.shape[:2], bool) if mask is None else _check_mask(mask, image.shape[:2])
    if image.ndim == 3 and image.shape[2] == 4:
        keep &= image[..., 3] > 0
    if ignore is not None:
        keep &= ~_near_colours(image, _check_colours(ignore, 1 if image.ndim == 2 else 3), tolerance)
    if not keep.any():
        raise EmptyInputError("no pixel is left to count: the mask and ignore colours removed every pixel")
    pixels = _convert(image, space).reshape(keep.size, -1)  # one row per pixel, one column per channel
    return _count(pixels if keep.all() else pixels[keep.ravel()], _SPACES[space], nbins, normalize)


def _count(pixels: np.ndarray, ranges, nbins: tuple[int, ...], normalize: bool) -> np.ndarray:
    """Bin the kept ``(N, C)`` pixels and count them with one ``bincount``."""
    index = np.zeros(len(pixels), np.int64)
    for c, ((low, high), n) in enumerate(zip(ranges, nbins, strict=True)):
        # Uniform bins as in calcHist: bin = floor((v - low) * n / (high - low)).
        index = index * n + np.clip((pixels[:, c].astype(np.int64) - low) * n // (high - low), 0, n - 1)
    counts = np.bincount(index, minlength=int(np.prod(nbins))).astype(np.float64)
    if normalize:
        counts /= counts.sum()
    return counts.reshape(nbins).astype(np.float32)


# --------------------------------------------------------------------------- comparisons


def _check_histograms(h, name: str) -> np.ndarray:
    h = np.asarray(h)
    if h.size == 0:
        raise EmptyInputError(f"{name} is empty")
    if not np.issubdtype(h.dtype, np.number) or np.issubdtype(h.dtype, np.complexfloating):
        raise InvalidParameterError(f"{name} must hold real numbers; got dtype {h.dtype}")
    h = h.astype(np.float64)
    if not np.isfinite(h).all() or (h < 0).any():
        raise InvalidParameterError(f"{name} must hold finite, non-negative bin values")
    return h


def _stack(histograms, name: str) -> tuple[np.ndarray, tuple[int, ...]]:
    """Rows of flattened, checked histograms, and the shape of one histogram (which EMD needs)."""
    if isinstance(histograms, np.ndarray) and histograms.ndim >= 2:
        shape = histograms.shape[1:]
        rows = histograms.reshape(histograms.shape[0], int(np.prod(shape)))
    else:
        histograms = list(histograms)
        shapes = {np.shape(h) for h in histograms}
        if len(shapes) > 1:
            raise ShapeMismatchError(f"{name} mixes histogram shapes {sorted(shapes)}; use one space and bin count")
        shape = shapes.pop() if shapes else ()
        rows = np.stack([np.ravel(h) for h in histograms]) if histograms else np.zeros((0, 0))
    if rows.shape[0] == 0:
        raise EmptyInputError(f"{name} holds no histograms (shape {np.shape(histograms)})")
    return _check_histograms(rows, name), shape


def compare_histograms(h1, h2, *, method: str = "correlation") -> float:
    """Compare two histograms with one of :data:`HISTOGRAM_METHODS` (``"bhattacharyya"`` is the
    Hellinger distance, as in OpenCV).

    >>> a = np.array([0.5, 0.5, 0.0]); b = np.array([0.0, 0.5, 0.5])
    >>> compare_histograms(a, b, method="intersection"), compare_histograms(a, b, method="emd")
    (0.5, 1.0)
    """
    method = check_choice(method, "histogram method", HISTOGRAM_METHODS)
    a, b = _check_histograms(h1, "h1"), _check_histograms(h2, "h2")
    if a.shape != b.shape:
        raise ShapeMismatchError(f"histograms of shapes {a.shape} and {b.shape} cannot be compared; "
                                 "compute both with the same space and bins")
    return _compare(a, b, method)


def _compare(a: np.ndarray, b: np.ndarray, method: str) -> float:
    if method == "emd":
        return _emd(a, b)
    return float(_matrix(a.reshape(1, -1), b.reshape(1, -1), method, a.shape, same=False)[0, 0])


def histogram_similarity(image1, image2, *, method: str = "correlation", space: str = "rgb", bins=8,
                         mask1=None, mask2=None, ignore=None, ignore_tolerance: float = 0.0) -> float:
    """:func:`color_histogram` of both images (sizes may differ), then :func:`compare_histograms`.

    >>> img = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    >>> round(histogram_similarity(img, img[::-1]), 6)
    1.0
    """
    method = check_choice(method, "histogram method", HISTOGRAM_METHODS)
    options = dict(space=space, bins=bins, ignore=ignore, ignore_tolerance=ignore_tolerance)
    h1 = color_histogram(image1, mask=mask1, **options)
    h2 = color_histogram(image2, mask=mask2, **options)
    return _compare(h1.astype(np.float64), h2.astype(np.float64), method)


def pairwise_histogram_similarity(histograms, others=None, *, method: str = "correlation") -> np.ndarray:
    """``result[i, j] = compare_histograms(histograms[i], others[j])`` for all pairs at once.

    ``others=None`` compares the histograms with each other; for ``"emd"`` keep their 3-D shape.

    >>> hs = np.array([[1.0, 0.0], [0.5, 0.5]])
    >>> pairwise_histogram_similarity(hs, method="intersection").tolist()
    [[1.0, 0.5], [0.5, 1.0]]
    """
    method = check_choice(method, "histogram method", HISTOGRAM_METHODS)
    a, shape = _stack(histograms, "histograms")
    b, other_shape = (a, shape) if others is None else _stack(others, "others")
    if a.shape[1] != b.shape[1] or (method == "emd" and shape != other_shape):
        raise ShapeMismatchError(f"histograms have {a.shape[1]} bins but others have {b.shape[1]}")
    return _matrix(a, b, method, shape, same=others is None)


def _matrix(a: np.ndarray, b: np.ndarray, method: str, shape, *, same: bool) -> np.ndarray:
    if method == "emd":
        return _emd_matrix(a, b, shape, same=same)
    if method in ("intersection", "chi_square_alt"):
        return _pairwise_elementwise(a, b, method, symmetric=same)
    return _MATRIX_FORMS[method](a, b)


def _correlation_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    da, db = a - a.mean(axis=1, keepdims=True), b - b.mean(axis=1, keepdims=True)
    variances = np.einsum("ij,ij->i", da, da)[:, None] * np.einsum("ij,ij->i", db, db)[None, :]
    defined = variances > _EPS
    return np.where(defined, (da @ db.T) / np.sqrt(np.where(defined, variances, 1.0)), 1.0)


def _hellinger_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    overlap = np.sqrt(a) @ np.sqrt(b).T
    mass = np.outer(a.sum(axis=1), b.sum(axis=1))
    # OpenCV skips the normalisation when the masses' product is below float32 epsilon.
    usable = mass > np.finfo(np.float32).eps
    ratio = np.where(usable, overlap / np.sqrt(np.where(usable, mass, 1.0)), overlap)
    return np.sqrt(np.maximum(1.0 - ratio, 0.0))


def _chi_square_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    # sum over counted bins of (h1-h2)^2/h1 = sum h1 - 2 sum_{h1>0} h2 + sum_{h1>0} h2^2/h1
    counted = a > _EPS
    inverse = np.divide(1.0, a, out=np.zeros_like(a), where=counted)
    out = np.where(counted, a, 0.0).sum(axis=1)[:, None] - 2.0 * (counted.astype(np.float64) @ b.T)
    return np.maximum(out + inverse @ (b * b).T, 0.0)


def _kl_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    p = np.where(a > _EPS, a, 0.0)
    plogp = np.einsum("ij,ij->i", p, np.log(np.where(p > 0, p, 1.0)))
    return plogp[:, None] - p @ np.log(np.where(b > _EPS, b, 1e-10)).T


_MATRIX_FORMS = {
    "correlation": _correlation_matrix,
    "bhattacharyya": _hellinger_matrix,
    "hellinger": _hellinger_matrix,
    "chi_square": _chi_square_matrix,
    "kl": _kl_matrix,
}


def _emd(a: np.ndarray, b: np.ndarray) -> float:
    """Earth mover's distance between two histograms; ground distance = Euclidean distance in bins."""
    sa, sb = a.sum(), b.sum()
    if sa == 0 or sb == 0:
        raise EmptyInputError("the Earth mover's distance needs histograms with some mass")
    a, b = a / sa, b / sb
    # OpenCV's float32 transport solver can end a few 1e-6 apart when the two signatures swap
    # roles; solving every pair in one fixed order makes the distance exactly symmetric.
    if a.tobytes() > b.tobytes():
        a, b = b, a
    if a.ndim == 1:
        # In one dimension the optimal transport cost is the L1 distance between the CDFs.
        return float(np.abs(np.cumsum(a - b)).sum())
    import cv2

    coords = np.indices(a.shape).reshape(a.ndim, -1).T.astype(np.float32)
    sig1 = np.column_stack([a.ravel().astype(np.float32), coords])
    sig2 = np.column_stack([b.ravel().astype(np.float32), coords])
    distance, _, _ = cv2.EMD(sig1[sig1[:, 0] > 0], sig2[sig2[:, 0] > 0], cv2.DIST_L2)
    return float(distance)


def _emd_matrix(a: np.ndarray, b: np.ndarray, shape, *, same: bool) -> np.ndarray:
    out = np.zeros((a.shape[0], b.shape[0]))
    for i, x in enumerate(a):
        # EMD is symmetric (see _emd): with one set, solve the upper triangle and mirror it.
        for j in range(i if same else 0, b.shape[0]):
            out[i, j] = _emd(x.reshape(shape), b[j].reshape(shape))
            if same:
                out[j, i] = out[i, j]
    return out


# A bin goes to the dense kernels when more than this share of all pairs both occupy it: below
# it, visiting only those pairs (10-20 ns each) beats a dense pass (0.4-1 ns per pair), measured.
_DENSE_SHARE = {"intersection": 0.03, "chi_square_alt": 0.08}
_CHI2_BLOCK = 64  # rows per block of the dense chi-square kernel
#: Upper bound on the threads of the dense chi-square kernel (``None``: every core; same result).
MAX_THREADS: int | None = None


def _pairwise_elementwise(a: np.ndarray, b: np.ndarray, method: str, *, symmetric: bool) -> np.ndarray:
    """Intersection and symmetric chi-square, which have no matrix-product form.

    Bins many pairs occupy go to compiled kernels (``sum min(x, y) = (sum x + sum y - L1) / 2``;
    scikit-learn's additive chi-square); the others visit only the pairs occupying them, since
    ``min(x, y)`` and the last term of ``(x - y)^2 / (x + y) = x + y - 4xy / (x + y)`` are 0 elsewhere.
    """
    from scipy.spatial.distance import cdist, pdist, squareform

    pairs = (a > 0).sum(axis=0).astype(np.float64) * (b > 0).sum(axis=0)
    dense = pairs > _DENSE_SHARE[method] * a.shape[0] * b.shape[0]
    sparse = np.flatnonzero(~dense)  # bins only one side occupies still count in chi-square's sums
    a_dense, b_dense, a_sparse, b_sparse = a[:, dense], b[:, dense], a[:, sparse], b[:, sparse]
    out = np.zeros((a.shape[0], b.shape[0]))
    for k in np.flatnonzero(pairs[sparse] > 0):
        rows = np.flatnonzero(a_sparse[:, k] > 0)
        cols = rows if symmetric else np.flatnonzero(b_sparse[:, k] > 0)
        x, y = a_sparse[rows, k][:, None], b_sparse[cols, k][None, :]
        out[np.ix_(rows, cols)] += np.minimum(x, y) if method == "intersection" else x * y / (x + y)
    if method == "intersection":
        if a_dense.shape[1]:
            l1 = squareform(pdist(a_dense, "cityblock")) if symmetric else cdist(a_dense, b_dense, "cityblock")
            out += (a_dense.sum(axis=1)[:, None] + b_dense.sum(axis=1)[None, :] - l1) / 2.0
        return out
    chi = a_sparse.sum(axis=1)[:, None] + b_sparse.sum(axis=1)[None, :] - 4.0 * out
    if a_dense.shape[1]:
        chi -= _additive_chi2(a_dense, b_dense, symmetric=symmetric)
    return np.maximum(2.0 * chi, 0.0)


def _additive_chi2(a: np.ndarray, b: np.ndarray, *, symmetric: bool) -> np.ndarray:
    """scikit-learn's ``-sum (x - y)^2 / (x + y)`` for every pair; the upper triangle only when symmetric."""
    from concurrent.futures import ThreadPoolExecutor

    from sklearn.metrics.pairwise import additive_chi2_kernel

    out = np.empty((a.shape[0], b.shape[0]))
    starts = range(0, a.shape[0], _CHI2_BLOCK)

    def block(start):
        stop, first = min(start + _CHI2_BLOCK, a.shape[0]), start if symmetric else 0
        values = additive_chi2_kernel(a[start:stop], b[first:])
        out[start:stop, first:] = values
        if symmetric:
            out[start:, start:stop] = values.T

    # scikit-learn's kernel releases the GIL: blocks run on parallel threads.
    with ThreadPoolExecutor(max_workers=min(len(starts), kernel_threads())) as pool:
        list(pool.map(block, starts))
    return out


def kernel_threads() -> int:
    """Threads the chi-square kernel uses: the cores available to the process, at most :data:`MAX_THREADS`."""
    return cpu_threads(MAX_THREADS)
