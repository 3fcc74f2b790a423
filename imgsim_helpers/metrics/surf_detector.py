"""SURF, Speeded-Up Robust Features (Bay, Tuytelaars and Van Gool, ECCV 2006; CVIU 2008), in NumPy.

SURF is patented and missing from every pip build of OpenCV
(``cv2.xfeatures2d.SURF_create`` needs a build with ``OPENCV_ENABLE_NONFREE``),
so the course implements it from the paper. Each step is a public function
the notebook can show on its own:

1. :func:`integral_image` and :func:`box_sum` — after one pass of cumulative
   sums, the sum of *any* axis-aligned box costs four look-ups, whatever its
   size. Everything below is built on this.
2. :func:`box_kernels` and :func:`box_hessian` — the second derivatives of a
   Gaussian, :math:`D_{xx}, D_{yy}, D_{xy}`, approximated by box filters of
   size L (9, 15, 21, 27, ...; the 9×9 filters stand for σ = 1.2). Each
   response is normalised by the filter area :math:`L^2`, and the determinant
   of the Hessian uses the paper's weight 0.9 on :math:`D_{xy}`:
   :math:`\\det H \\approx D_{xx} D_{yy} - (0.9 D_{xy})^2`.
3. :func:`surf_detect` — the Fast-Hessian detector: determinant maps over
   octaves and intervals (filter sizes 9, 15, 21, 27; 15, 27, 39, 51;
   27, 51, 75, 99; ... with the sampling step doubling per octave), a
   threshold, non-maximum suppression in 3×3×3 neighbourhoods of (x, y,
   scale), and a quadratic fit for sub-pixel and sub-scale position;
   candidates whose fitted offset exceeds 0.5 in any direction are dropped.
   A keypoint detected with a filter of size L has scale s = 1.2 L / 9.
4. :func:`surf_orientation` — Haar wavelet responses of size 4s at 109
   points within radius 6s, weighted by a Gaussian of σ = 2s; a window of
   angle π/3 slides around the circle and the longest summed response
   vector gives the orientation.
5. :func:`surf_describe` — a 20s × 20s square window rotated to the
   orientation, 4×4 sub-regions of 5×5 samples, Haar responses of size 2s
   along the keypoint's axes, weighted by a Gaussian of σ = 3.3s; per sub-region
   :math:`(\\sum d_x, \\sum d_y, \\sum |d_x|, \\sum |d_y|)`: 64 values,
   normalised to unit length. ``extended=True`` splits each sum by the sign
   of the other response (128 values); ``upright=True`` skips the
   orientation (U-SURF, orientation 0).
6. :func:`surf` — all of it.

Conventions: images are converted to gray (BT.601) in [0, 1] (``uint8``
divided by 255), so :data:`DEFAULT_HESSIAN_THRESHOLD` is a determinant on
that scale; multiply by 255² = 65025 to compare with OpenCV's
``hessianThreshold`` (0..255 images). Positions are ``(x, y)`` = (column,
row) with pixel centres at integers, as OpenCV's ``KeyPoint.pt``. Angles are
in degrees in [0, 360), measured from the +x axis towards +y (rows grow
downwards, so clockwise on screen), as OpenCV's ``KeyPoint.angle``. Outside
the image, filters see the image mirrored (reflection without repeating the
edge pixel, OpenCV's ``BORDER_REFLECT_101``).

Examples
--------
>>> from skimage.data import camera
>>> features = surf(camera())
>>> features.descriptors.shape[1]
64
>>> bool(400 < len(features) < 3000)
True
>>> bool(np.allclose(np.linalg.norm(features.descriptors, axis=1), 1.0, atol=1e-5))
True
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from imgsim_helpers.core.checks import check_image
from imgsim_helpers.core.device import cpu_threads
from imgsim_helpers.core.errors import InvalidImageError, InvalidParameterError
from imgsim_helpers.images.io import to_float, to_gray

__all__ = [
    "DEFAULT_HESSIAN_THRESHOLD",
    "DXY_WEIGHT",
    "MAX_THREADS",
    "MIN_SIZE",
    "HessianMaps",
    "SurfFeatures",
    "SurfKeypoints",
    "box_hessian",
    "box_kernels",
    "box_sum",
    "filter_sizes",
    "integral_image",
    "surf",
    "surf_describe",
    "surf_detect",
    "surf_orientation",
]

#: Default threshold on the determinant of the box Hessian (gray in [0, 1]).
#: It gives a few hundred to ~2000 keypoints on the 512×512 course images;
#: it equals OpenCV's ``hessianThreshold`` = 0.0008 × 65025 ≈ 52.
DEFAULT_HESSIAN_THRESHOLD = 0.0008
#: The relative weight of :math:`D_{xy}` in the determinant (the paper's 0.9,
#: balancing the box approximation against the Gaussian derivatives).
DXY_WEIGHT = 0.9
#: Smallest accepted image side, in pixels.
MIN_SIZE = 16

# Orientation: sample offsets (units of s) inside radius 6s, Gaussian sigma 2s.
_ORI_J, _ORI_I = np.mgrid[-6:7, -6:7]
_ORI_KEEP = _ORI_I**2 + _ORI_J**2 < 36
_ORI_U = _ORI_I[_ORI_KEEP].astype(np.float64)
_ORI_V = _ORI_J[_ORI_KEEP].astype(np.float64)
_ORI_WEIGHT = np.exp(-(_ORI_U**2 + _ORI_V**2) / (2.0 * 2.0**2))
_ORI_BINS = 360  # 1 degree steps of the sliding window
_ORI_WINDOW = _ORI_BINS // 6  # pi / 3

# Descriptor: a 20 x 20 grid of samples spaced s, centred, Gaussian sigma 3.3s.
_DESC_GRID = np.arange(20, dtype=np.float64) - 9.5
_DESC_V, _DESC_U = np.meshgrid(_DESC_GRID, _DESC_GRID, indexing="ij")
_DESC_U = _DESC_U.ravel()
_DESC_V = _DESC_V.ravel()
_DESC_WEIGHT = np.exp(-(_DESC_U**2 + _DESC_V**2) / (2.0 * 3.3**2))
_CELL_V, _CELL_U = (a.ravel() for a in np.mgrid[-10:11, -10:11].astype(np.float64))
_NEIGHBOURS = [
    (di, dr, dc) for di in (-1, 0, 1) for dr in (-1, 0, 1) for dc in (-1, 0, 1) if (di, dr, dc) != (0, 0, 0)
]
_BATCH = 256  # keypoints per vectorised batch: bounds the temporary arrays

#: Upper bound on the threads that compute the scales' Hessian responses in
#: parallel (``None``: every core available to the process; 1 stays on one
#: core). The keypoints are the same whatever the number.
MAX_THREADS: int | None = None


def _threads() -> int:
    return cpu_threads(MAX_THREADS)


# --------------------------------------------------------------------------- input


def _gray01(image, name: str = "image") -> np.ndarray:
    image = check_image(image, name=name, min_size=MIN_SIZE)
    return to_float(to_gray(image, name=name), name=name)


def _check_int(value, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or not low <= value <= high:
        raise InvalidParameterError(f"{name} must be an integer in [{low}, {high}]; got {value!r}")
    return int(value)


def _check_size(size) -> int:
    size = _check_int(size, "size", 9, 10_000)
    if size % 3 or (size // 3) % 2 == 0:
        raise InvalidParameterError(
            f"a SURF box filter size must be 3 times an odd number (9, 15, 21, 27, ...); got {size}"
        )
    return size


# --------------------------------------------------------------------------- integral image


def integral_image(image) -> np.ndarray:
    """The summed-area table: ``table[r, c]`` is the sum of ``image[:r, :c]``.

    The table has one more row and column than the image (a leading row and
    column of zeros), so that every box sum is four look-ups with no special
    case at the border (see :func:`box_sum`). Values are summed as given
    (``uint8`` in 0..255 stays in those units), in float64. RGB input is
    converted to gray first (BT.601 luma, :func:`imgsim_helpers.images.io.to_gray`).

    Parameters
    ----------
    image
        A gray or RGB image.

    Returns
    -------
    numpy.ndarray
        float64 array of shape ``(H + 1, W + 1)``.

    Examples
    --------
    >>> integral_image(np.ones((2, 3), np.uint8)).tolist()
    [[0.0, 0.0, 0.0, 0.0], [0.0, 1.0, 2.0, 3.0], [0.0, 2.0, 4.0, 6.0]]
    """
    gray = to_gray(check_image(image))
    table = np.zeros((gray.shape[0] + 1, gray.shape[1] + 1), dtype=np.float64)
    np.cumsum(gray, axis=0, dtype=np.float64, out=table[1:, 1:])
    np.cumsum(table[1:, 1:], axis=1, out=table[1:, 1:])
    return table


def box_sum(table, top, left, height, width) -> np.ndarray:
    """Sums of ``image[top:top + height, left:left + width]`` from its integral image.

    Four look-ups per box whatever its size:
    ``S = T[b, r] - T[t, r] - T[b, l] + T[t, l]`` with ``b = top + height``
    and ``r = left + width``. Arguments broadcast, so one call sums many
    boxes. Boxes are clipped to the image: pixels outside count as zero.

    Parameters
    ----------
    table
        An integral image from :func:`integral_image`.
    top, left
        Row and column of each box's first pixel (integers or integer arrays).
    height, width
        Box sizes in pixels (non-negative integers or arrays).

    Returns
    -------
    numpy.ndarray
        The sums, shaped like the broadcast arguments.

    Examples
    --------
    >>> image = np.arange(12).reshape(3, 4).astype(np.uint8)
    >>> float(box_sum(integral_image(image), 1, 1, 2, 2))
    30.0
    >>> int(image[1:3, 1:3].sum())
    30
    """
    table = np.asarray(table, dtype=np.float64)
    if table.ndim != 2 or min(table.shape) < 1:
        raise InvalidParameterError(f"table must be a 2-D integral image; got shape {table.shape}")
    rows, cols = table.shape[0] - 1, table.shape[1] - 1
    top, left, height, width = (np.asarray(a) for a in (top, left, height, width))
    for name, value in (("top", top), ("left", left), ("height", height), ("width", width)):
        if not np.issubdtype(value.dtype, np.integer):
            raise InvalidParameterError(f"{name} must be integers; got dtype {value.dtype}")
    if np.any(height < 0) or np.any(width < 0):
        raise InvalidParameterError("height and width must be non-negative")
    t = np.clip(top, 0, rows)
    b = np.clip(top + height, 0, rows)
    left_ = np.clip(left, 0, cols)
    r = np.clip(left + width, 0, cols)
    return table[b, r] - table[t, r] - table[b, left_] + table[t, left_]


class _Integral:
    """The integral image of the mirrored-padded gray image, addressed in image coordinates."""

    def __init__(self, gray01: np.ndarray, pad: int):
        self.shape = gray01.shape
        self.pad = int(pad)
        padded = np.pad(gray01, self.pad, mode="reflect") if self.pad else gray01
        self.table = np.zeros((padded.shape[0] + 1, padded.shape[1] + 1), dtype=np.float64)
        np.cumsum(padded, axis=0, out=self.table[1:, 1:])
        np.cumsum(self.table[1:, 1:], axis=1, out=self.table[1:, 1:])
        self.flat = self.table.ravel()
        self.stride = s = self.table.shape[1]
        # The four corners of a table cell, as views shifted so that one flat
        # index reads them all (no index arithmetic per lookup).
        self._corners = (self.flat, self.flat[1:], self.flat[s:], self.flat[s + 1 :])

    def _at(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """The table bilinearly interpolated at real (table) coordinates.

        The integral of a piecewise-constant image is bilinear inside each
        pixel, so this is the exact area integral up to a fractional corner.
        """
        return self._lookup(self._row_part(rows), self._col_part(cols))

    def _row_part(self, rows: np.ndarray):
        """Table row offset (index × stride) and fraction of real row coordinates.

        Split from :meth:`_at` so that coordinates shared by several lookups
        (box corners on the same row) are converted once.
        """
        limit = self.table.shape[0] - 2
        rows = np.clip(rows, 0.0, limit + 1.0)
        r = np.minimum(rows.astype(np.int64), limit)
        return r * self.stride, rows - r

    def _col_part(self, cols: np.ndarray):
        limit = self.table.shape[1] - 2
        cols = np.clip(cols, 0.0, limit + 1.0)
        c = np.minimum(cols.astype(np.int64), limit)
        return c, cols - c

    def _lookup(self, row_part, col_part) -> np.ndarray:
        (offset, fr), (c, fc) = row_part, col_part
        i = offset + c
        f00, f01, f10, f11 = (corner[i] for corner in self._corners)
        top = f00 + fc * (f01 - f00)
        bottom = f10 + fc * (f11 - f10)
        return top + fr * (bottom - top)

    def _centre(self, x, y, half):
        """Table coordinates of box centres, kept far enough inside that no box is cut.

        Beyond the mirrored border the box slides along the edge instead of
        losing area, which would bias its sum.
        """
        limit_r, limit_c = self.table.shape[0] - 1.0, self.table.shape[1] - 1.0
        cx = np.clip(x + (0.5 + self.pad), half, np.maximum(limit_c - half, half))
        cy = np.clip(y + (0.5 + self.pad), half, np.maximum(limit_r - half, half))
        return cx, cy

    def box_mean(self, x: np.ndarray, y: np.ndarray, half) -> np.ndarray:
        """Mean of the image over axis-aligned squares of side ``2 * half`` centred at (x, y)."""
        cx, cy = self._centre(x, y, half)
        low_r, high_r = self._row_part(cy - half), self._row_part(cy + half)
        low_c, high_c = self._col_part(cx - half), self._col_part(cx + half)
        total = (
            self._lookup(high_r, high_c) - self._lookup(low_r, high_c)
            - self._lookup(high_r, low_c) + self._lookup(low_r, low_c)
        )
        return total / (4.0 * half * half)

    def haar(self, x: np.ndarray, y: np.ndarray, half) -> tuple[np.ndarray, np.ndarray]:
        """Haar wavelet responses (right minus left, bottom minus top) of side ``2 * half``.

        Centred exactly on the real position ``(x, y)``, with a real
        ``half``: box sums at fractional corners come from the bilinear
        interpolation of the integral image, so no rounding enters.
        """
        # Pixel k covers [k - 0.5, k + 0.5]; table index j is the boundary at j - 0.5.
        cm, rm = self._centre(x, y, half)
        c0, c2 = cm - half, cm + half
        r0, r2 = rm - half, rm + half
        r0, rm, r2 = self._row_part(r0), self._row_part(rm), self._row_part(r2)
        c0, cm, c2 = self._col_part(c0), self._col_part(cm), self._col_part(c2)
        a = self._lookup(r0, c0)
        b = self._lookup(r0, c2)
        c = self._lookup(r2, c0)
        d = self._lookup(r2, c2)
        dx = d - b + c - a - 2.0 * (self._lookup(r2, cm) - self._lookup(r0, cm))
        dy = d - c + b - a - 2.0 * (self._lookup(rm, c2) - self._lookup(rm, c0))
        return dx, dy


# --------------------------------------------------------------------------- box Hessian


def filter_sizes(octave: int, n_intervals: int = 4) -> list[int]:
    """The box filter sizes L of one octave (0-based): 9, 15, 21, 27 for octave 0.

    The size grows by 6, 12, 24, ... within octaves 0, 1, 2, ..., and each
    octave starts at the second size of the previous one:
    ``L = 3 (2^(octave + 1) (interval + 1) + 1)``.

    Examples
    --------
    >>> filter_sizes(0), filter_sizes(1), filter_sizes(2)
    ([9, 15, 21, 27], [15, 27, 39, 51], [27, 51, 75, 99])
    """
    octave = _check_int(octave, "octave", 0, 30)
    n_intervals = _check_int(n_intervals, "n_intervals", 1, 100)
    return [3 * (2 ** (octave + 1) * (i + 1) + 1) for i in range(n_intervals)]


def _boxes(size: int):
    """The boxes of the three filters: (top, left, height, width, weight), relative to the centre."""
    lobe = size // 3
    half = (size - 1) // 2
    mid = (lobe - 1) // 2
    # Dxx: three lobes side by side (+1, -2, +1), written as the whole
    # 3-lobe box minus 3 times the middle lobe: two box sums instead of three.
    dxx = [(-(lobe - 1), -half, 2 * lobe - 1, size, 1.0), (-(lobe - 1), -mid, 2 * lobe - 1, lobe, -3.0)]
    dyy = [(-half, -(lobe - 1), size, 2 * lobe - 1, 1.0), (-mid, -(lobe - 1), lobe, 2 * lobe - 1, -3.0)]
    # Dxy: four lobe x lobe squares around the centre, one pixel apart.
    dxy = [
        (-lobe, -lobe, lobe, lobe, 1.0),
        (1, 1, lobe, lobe, 1.0),
        (-lobe, 1, lobe, lobe, -1.0),
        (1, -lobe, lobe, lobe, -1.0),
    ]
    return dxx, dyy, dxy


def box_kernels(size: int = 9) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The three box filters of size ``size`` as dense arrays, for plots and checks.

    Returns ``(Dxx, Dyy, Dxy)``, each ``size × size`` with weights +1, -2
    (Dxx, Dyy) and ±1 (Dxy), 0 elsewhere; rows are y, columns x. They are
    *not* normalised: :func:`box_hessian` divides the responses by
    ``size ** 2``.

    Examples
    --------
    >>> dxx, dyy, dxy = box_kernels(9)
    >>> dxx[4].tolist()
    [1.0, 1.0, 1.0, -2.0, -2.0, -2.0, 1.0, 1.0, 1.0]
    >>> float(dxx.sum()), float(dxy.sum()), bool((dyy == dxx.T).all())
    (0.0, 0.0, True)
    """
    size = _check_size(size)
    centre = (size - 1) // 2
    kernels = []
    for boxes in _boxes(size):
        kernel = np.zeros((size, size))
        for top, left, height, width, weight in boxes:
            kernel[centre + top : centre + top + height, centre + left : centre + left + width] += weight
        kernels.append(kernel)
    return kernels[0], kernels[1], kernels[2]


def _hessian_grid(integral: _Integral, size: int, step: int, n_rows: int, n_cols: int):
    """Dxx, Dyy, Dxy / size² on the sampling grid, sharing row and column differences.

    Every box of Dxx spans the same rows, so one difference of table rows
    serves all of them (and likewise columns for Dyy); this is the
    arithmetic of :func:`box_sum`, reorganised.
    """
    t, p = integral.table, integral.pad
    lobe = size // 3
    half = (size - 1) // 2
    mid = (lobe - 1) // 2
    span_r, span_c = step * (n_rows - 1) + 1, step * (n_cols - 1) + 1

    def rows(m, offset):  # table rows at grid row + offset (a boundary offset)
        return m[p + offset : p + offset + span_r : step]

    def cols(m, offset):
        return m[:, p + offset : p + offset + span_c : step]

    band = rows(t, lobe) - rows(t, 1 - lobe)  # rows -(lobe-1) .. lobe-1
    dxx = cols(band, half + 1) - cols(band, -half) - 3.0 * (cols(band, mid + 1) - cols(band, -mid))
    band = cols(t, lobe) - cols(t, 1 - lobe)
    dyy = rows(band, half + 1) - rows(band, -half) - 3.0 * (rows(band, mid + 1) - rows(band, -mid))
    # Dxy = top-left + bottom-right - top-right - bottom-left = left(D) - right(D)
    # with D = top band - bottom band.
    band = (rows(t, 0) - rows(t, -lobe)) - (rows(t, lobe + 1) - rows(t, 1))
    dxy = (cols(band, 0) - cols(band, -lobe)) - (cols(band, lobe + 1) - cols(band, 1))
    norm = 1.0 / (size * size)
    return dxx * norm, dyy * norm, dxy * norm


@dataclass(frozen=True, eq=False)
class HessianMaps:
    """The box-filter Hessian of one scale, from :func:`box_hessian`.

    Attributes
    ----------
    dxx, dyy, dxy
        Filter responses normalised by the filter area ``size ** 2``, on the
        sampling grid (rows ``0, step, 2 step, ...``).
    determinant
        :math:`D_{xx} D_{yy} - (0.9 D_{xy})^2`, the blob strength SURF thresholds.
    trace
        :math:`D_{xx} + D_{yy}` (the Laplacian); its sign tells bright blobs
        on dark background from the opposite.
    size, step
        The filter size L and the sampling step in pixels.
    sigma
        The Gaussian scale the filter stands for, 1.2 L / 9.
    """

    dxx: np.ndarray
    dyy: np.ndarray
    dxy: np.ndarray
    determinant: np.ndarray
    trace: np.ndarray
    size: int
    step: int
    sigma: float


def box_hessian(image, size: int = 9, *, step: int = 1) -> HessianMaps:
    """The box-filter approximations of Dxx, Dyy, Dxy and det H at one scale.

    The image is converted to gray in [0, 1] and mirrored outside its border.
    Every response costs a handful of :func:`box_sum` look-ups, whatever
    ``size`` is: that is SURF's speed trick — the image is never smoothed or
    resized, the filter grows instead.

    Parameters
    ----------
    image
        Gray or RGB image, ``uint8`` or float in [0, 1].
    size
        Filter size L: 3 times an odd number (9, 15, 21, 27, 39, 51, ...).
    step
        Sampling step in pixels (SURF uses 1 in the first octave, then 2, 4, 8).

    Returns
    -------
    HessianMaps

    Examples
    --------
    >>> from skimage.data import camera
    >>> maps = box_hessian(camera(), 15, step=2)
    >>> maps.determinant.shape, maps.sigma
    ((256, 256), 2.0)
    """
    gray = _gray01(image)
    size = _check_size(size)
    step = _check_int(step, "step", 1, 1024)
    integral = _Integral(gray, size // 2 + 2)
    n_rows = (gray.shape[0] - 1) // step + 1
    n_cols = (gray.shape[1] - 1) // step + 1
    dxx, dyy, dxy = _hessian_grid(integral, size, step, n_rows, n_cols)
    det = dxx * dyy - (DXY_WEIGHT * dxy) ** 2
    return HessianMaps(dxx, dyy, dxy, det, dxx + dyy, size, step, 1.2 * size / 9.0)


# --------------------------------------------------------------------------- detector


@dataclass(frozen=True, eq=False)
class SurfKeypoints:
    """Keypoints of the Fast-Hessian detector (:func:`surf_detect`).

    Attributes
    ----------
    xy
        ``(N, 2)`` float64 positions ``(x, y)`` = (column, row), pixel centres at integers.
    scale
        ``(N,)`` the scale s = 1.2 L / 9 in pixels (σ of the Gaussian the
        interpolated filter size L stands for).
    response
        ``(N,)`` the interpolated determinant of the Hessian (gray in [0, 1]).
    laplacian
        ``(N,)`` int8, the sign of the trace: +1 dark blob on bright
        background, -1 bright blob on dark background.
    octave
        ``(N,)`` the 0-based octave of the detection.
    image_shape
        ``(height, width)`` of the image the keypoints were found in.
    """

    xy: np.ndarray
    scale: np.ndarray
    response: np.ndarray
    laplacian: np.ndarray
    octave: np.ndarray
    image_shape: tuple[int, int]

    def __len__(self) -> int:
        return int(self.xy.shape[0])

    def select(self, index) -> SurfKeypoints:
        """The keypoints at ``index`` (a boolean mask or integer indices)."""
        return SurfKeypoints(
            self.xy[index], self.scale[index], self.response[index], self.laplacian[index],
            self.octave[index], self.image_shape,
        )


def _empty_keypoints(shape) -> SurfKeypoints:
    return SurfKeypoints(
        np.zeros((0, 2)), np.zeros(0), np.zeros(0), np.zeros(0, np.int8), np.zeros(0, np.int64),
        tuple(shape),
    )


def _octaves(shape, n_octaves: int, n_intervals: int) -> list[int]:
    """Octaves whose largest filter still fits in the image (as OpenCV's SURF)."""
    return [o for o in range(n_octaves) if filter_sizes(o, n_intervals)[-1] <= min(shape)]


def _responses(integral: _Integral, octaves: list[int], n_intervals: int) -> dict:
    """Determinant and trace of the box Hessian at every scale of every octave, ``{octave: (det, trace)}``.

    The scales are independent, so they are computed on parallel threads
    (NumPy releases the GIL), each into its own slice of the octave's arrays.
    """
    height, width = integral.shape
    grids, jobs = {}, []
    for octave in octaves:
        step = 2**octave
        n_rows, n_cols = (height - 1) // step + 1, (width - 1) // step + 1
        if n_rows < 3 or n_cols < 3:
            break
        sizes = filter_sizes(octave, n_intervals)
        det, trace = (np.empty((len(sizes), n_rows, n_cols)) for _ in range(2))
        grids[octave] = (det, trace)
        jobs += [(size, step, det[k], trace[k]) for k, size in enumerate(sizes)]

    def one_scale(job):
        size, step, det, trace = job
        dxx, dyy, dxy = _hessian_grid(integral, size, step, *det.shape)
        np.multiply(dxx, dyy, out=det)
        det -= (DXY_WEIGHT * dxy) ** 2
        np.add(dxx, dyy, out=trace)

    threads = min(len(jobs), _threads())
    if threads > 1:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(one_scale, jobs))
    else:
        for job in jobs:
            one_scale(job)
    return grids


def _detect(integral: _Integral, threshold: float, octaves: list[int], n_intervals: int) -> SurfKeypoints:
    found = []
    for octave, (det, traces) in _responses(integral, octaves, n_intervals).items():
        step = 2**octave
        sizes = filter_sizes(octave, n_intervals)
        # Candidates: above threshold, in an inner interval (maxima need a
        # neighbour scale on both sides) and off the grid's outer ring (the
        # 3x3x3 test and the quadratic fit need all 26 neighbours).
        inner = det[1:-1, 1:-1, 1:-1]
        i, r, c = np.nonzero(inner > threshold)
        i, r, c = i + 1, r + 1, c + 1
        v = det[i, r, c]
        is_max = np.ones(i.size, dtype=bool)
        for di, dr, dc in _NEIGHBOURS:
            is_max &= v >= det[i + di, r + dr, c + dc]
        i, r, c = i[is_max], r[is_max], c[is_max]
        if i.size == 0:
            continue
        v = det[i, r, c]
        gx = (det[i, r, c + 1] - det[i, r, c - 1]) / 2.0
        gy = (det[i, r + 1, c] - det[i, r - 1, c]) / 2.0
        gs = (det[i + 1, r, c] - det[i - 1, r, c]) / 2.0
        hxx = det[i, r, c + 1] + det[i, r, c - 1] - 2.0 * v
        hyy = det[i, r + 1, c] + det[i, r - 1, c] - 2.0 * v
        hss = det[i + 1, r, c] + det[i - 1, r, c] - 2.0 * v
        hxy = (det[i, r + 1, c + 1] - det[i, r + 1, c - 1] - det[i, r - 1, c + 1] + det[i, r - 1, c - 1]) / 4.0
        hxs = (det[i + 1, r, c + 1] - det[i + 1, r, c - 1] - det[i - 1, r, c + 1] + det[i - 1, r, c - 1]) / 4.0
        hys = (det[i + 1, r + 1, c] - det[i + 1, r - 1, c] - det[i - 1, r + 1, c] + det[i - 1, r - 1, c]) / 4.0
        hess = np.stack(
            [np.stack([hxx, hxy, hxs], -1), np.stack([hxy, hyy, hys], -1), np.stack([hxs, hys, hss], -1)],
            axis=-2,
        )
        grad = np.stack([gx, gy, gs], -1)
        solvable = np.abs(np.linalg.det(hess)) > 1e-30
        offset = np.full(grad.shape, np.inf)
        if solvable.any():
            offset[solvable] = -np.linalg.solve(hess[solvable], grad[solvable][..., None])[..., 0]
        # The paper keeps a maximum only if the fitted peak lies within half
        # a sample of it; otherwise the quadratic model is not trusted.
        keep = np.all(np.abs(offset) < 0.5, axis=1)
        if not keep.any():
            continue
        offset, grad, v = offset[keep], grad[keep], v[keep]
        i, r, c = i[keep], r[keep], c[keep]
        x = (c + offset[:, 0]) * step
        y = (r + offset[:, 1]) * step
        size = np.asarray(sizes, np.float64)[i] + offset[:, 2] * (sizes[1] - sizes[0])
        response = v + 0.5 * np.sum(grad * offset, axis=1)
        trace = traces[i, r, c]
        found.append((x, y, 1.2 * size / 9.0, response, np.where(trace > 0, 1, -1), np.full(x.size, octave)))
    if not found:
        return _empty_keypoints(integral.shape)
    x, y, scale, response, laplacian, octave_ = (np.concatenate(parts) for parts in zip(*found, strict=True))
    order = np.argsort(-response, kind="stable")
    return SurfKeypoints(
        np.stack([x, y], axis=1)[order], scale[order], response[order],
        laplacian[order].astype(np.int8), octave_[order].astype(np.int64), tuple(integral.shape),
    )


def _pad_for(octaves: list[int], n_intervals: int) -> int:
    largest = max((filter_sizes(o, n_intervals)[-1] for o in octaves), default=9)
    return largest // 2 + 2


def _check_detector_options(hessian_threshold, n_octaves, n_intervals, max_keypoints):
    if (
        isinstance(hessian_threshold, bool | np.bool_)
        or not isinstance(hessian_threshold, int | float | np.integer | np.floating)
        or not (np.isfinite(hessian_threshold) and hessian_threshold >= 0)
    ):
        raise InvalidParameterError(
            f"hessian_threshold must be a finite number >= 0 (gray scale [0, 1]; OpenCV's value "
            f"divided by 65025); got {hessian_threshold!r}"
        )
    n_octaves = _check_int(n_octaves, "n_octaves", 1, 8)
    n_intervals = _check_int(n_intervals, "n_intervals", 3, 8)
    if max_keypoints is not None:
        max_keypoints = _check_int(max_keypoints, "max_keypoints", 0, 10**9)
    return float(hessian_threshold), n_octaves, n_intervals, max_keypoints


def surf_detect(
    image,
    *,
    hessian_threshold: float = DEFAULT_HESSIAN_THRESHOLD,
    n_octaves: int = 4,
    n_intervals: int = 4,
    max_keypoints: int | None = None,
) -> SurfKeypoints:
    """Find SURF keypoints with the Fast-Hessian detector.

    Parameters
    ----------
    image
        Gray or RGB image, ``uint8`` or float in [0, 1], at least 16×16.
    hessian_threshold
        Smallest determinant of the Hessian kept, for gray in [0, 1]
        (OpenCV's ``hessianThreshold`` / 65025). Lower finds more, weaker blobs.
    n_octaves
        Number of octaves (filter sizes double per octave); octaves whose
        largest filter exceeds the image's smaller side are skipped.
    n_intervals
        Filter sizes per octave (at least 3: maxima are searched in the
        inner ones).
    max_keypoints
        Keep only this many, the strongest by response (``None``: all).

    Returns
    -------
    SurfKeypoints
        Sorted by decreasing response. A textureless image gives zero keypoints.

    Examples
    --------
    >>> from skimage.data import camera
    >>> kp = surf_detect(camera(), max_keypoints=100)
    >>> len(kp), kp.xy.shape, bool(kp.scale.min() >= 1.2 * 9 / 9)
    (100, (100, 2), True)
    """
    threshold, n_octaves, n_intervals, max_keypoints = _check_detector_options(
        hessian_threshold, n_octaves, n_intervals, max_keypoints
    )
    gray = _gray01(image)
    octaves = _octaves(gray.shape, n_octaves, n_intervals)
    keypoints = _detect(_Integral(gray, _pad_for(octaves, n_intervals)), threshold, octaves, n_intervals)
    if max_keypoints is not None and len(keypoints) > max_keypoints:
        keypoints = keypoints.select(slice(0, max_keypoints))
    return keypoints


# --------------------------------------------------------------------------- orientation and descriptor


def _check_keypoints(keypoints, shape) -> SurfKeypoints:
    if not isinstance(keypoints, SurfKeypoints):
        raise InvalidParameterError(
            f"keypoints must be the SurfKeypoints that surf_detect returns; got {type(keypoints).__name__}"
        )
    if tuple(keypoints.image_shape) != tuple(shape):
        raise InvalidImageError(
            f"the keypoints were detected in an image of shape {keypoints.image_shape}, but this image "
            f"is {tuple(shape)}; describe the image they were found in"
        )
    return keypoints


def _orientation(integral: _Integral, xy: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Orientation in radians, in [0, 2 pi), of each keypoint (batched)."""
    out = np.zeros(len(xy))
    for start in range(0, len(xy), _BATCH):
        stop = min(start + _BATCH, len(xy))
        x, y, s = xy[start:stop, 0:1], xy[start:stop, 1:2], scale[start:stop, None]
        half = 2.0 * s  # wavelet side 4s
        dx, dy = integral.haar(x + _ORI_U * s, y + _ORI_V * s, half)
        wx, wy = dx * _ORI_WEIGHT, dy * _ORI_WEIGHT
        n = stop - start
        angle = np.mod(np.arctan2(wy, wx), 2.0 * np.pi)
        bins = np.minimum((angle * (_ORI_BINS / (2.0 * np.pi))).astype(np.int64), _ORI_BINS - 1)
        flat = (np.arange(n)[:, None] * _ORI_BINS + bins).ravel()
        hx = np.bincount(flat, wx.ravel(), n * _ORI_BINS).reshape(n, _ORI_BINS)
        hy = np.bincount(flat, wy.ravel(), n * _ORI_BINS).reshape(n, _ORI_BINS)
        # Sums over every window of pi/3 (wrapping around), by cumulative sums.
        wrap = _ORI_WINDOW - 1
        cx = np.cumsum(np.concatenate([np.zeros((n, 1)), hx, hx[:, :wrap]], axis=1), axis=1)
        cy = np.cumsum(np.concatenate([np.zeros((n, 1)), hy, hy[:, :wrap]], axis=1), axis=1)
        sx = cx[:, _ORI_WINDOW:] - cx[:, :-_ORI_WINDOW]
        sy = cy[:, _ORI_WINDOW:] - cy[:, :-_ORI_WINDOW]
        best = np.argmax(sx**2 + sy**2, axis=1)
        rows = np.arange(n)
        out[start:stop] = np.mod(np.arctan2(sy[rows, best], sx[rows, best]), 2.0 * np.pi)
    return out


def _descriptors(
    integral: _Integral, xy: np.ndarray, scale: np.ndarray, theta: np.ndarray, extended: bool
) -> np.ndarray:
    n_total = len(xy)
    out = np.zeros((n_total, 128 if extended else 64), dtype=np.float32)
    for start in range(0, n_total, _BATCH):
        stop = min(start + _BATCH, n_total)
        n = stop - start
        x, y, s = xy[start:stop, 0:1], xy[start:stop, 1:2], scale[start:stop, None]
        cos, sin = np.cos(theta[start:stop, None]), np.sin(theta[start:stop, None])
        # Cell means on a 21 x 21 grid of spacing s turned to the orientation;
        # 2 x 2 cells form a Haar wavelet of side 2s in the keypoint's frame,
        # centred on each of the 20 x 20 samples.
        px = x + s * (_CELL_U * cos - _CELL_V * sin)
        py = y + s * (_CELL_U * sin + _CELL_V * cos)
        cells = integral.box_mean(px, py, 0.5 * s).reshape(n, 21, 21)
        left = cells[:, :-1, :-1] + cells[:, 1:, :-1]
        right = cells[:, :-1, 1:] + cells[:, 1:, 1:]
        top = cells[:, :-1, :-1] + cells[:, :-1, 1:]
        bottom = cells[:, 1:, :-1] + cells[:, 1:, 1:]
        ru = (right - left).reshape(n, 400) * _DESC_WEIGHT
        rv = (bottom - top).reshape(n, 400) * _DESC_WEIGHT
        ru = ru.reshape(n, 4, 5, 4, 5)
        rv = rv.reshape(n, 4, 5, 4, 5)
        if extended:
            neg_v, neg_u = rv < 0, ru < 0
            parts = [
                np.where(neg_v, ru, 0.0), np.where(neg_v, 0.0, ru),
                np.where(neg_v, np.abs(ru), 0.0), np.where(neg_v, 0.0, np.abs(ru)),
                np.where(neg_u, rv, 0.0), np.where(neg_u, 0.0, rv),
                np.where(neg_u, np.abs(rv), 0.0), np.where(neg_u, 0.0, np.abs(rv)),
            ]
        else:
            parts = [ru, rv, np.abs(ru), np.abs(rv)]
        sums = np.stack([p.sum(axis=(2, 4)) for p in parts], axis=-1)  # (n, 4, 4, k)
        desc = sums.reshape(n, -1)
        norm = np.linalg.norm(desc, axis=1, keepdims=True)
        out[start:stop] = desc / np.where(norm > 0, norm, 1.0)
    return out


def surf_orientation(image, keypoints: SurfKeypoints) -> np.ndarray:
    """The dominant orientation of each keypoint, in degrees in [0, 360).

    Haar wavelet responses of side 4s are taken at the 109 points of a grid
    of spacing s inside a circle of radius 6s, weighted by a Gaussian of
    σ = 2s; a window of angle π/3 slides around the circle in 1° steps, and
    the angle of the longest sum of responses within a window is the
    orientation. The angle is measured from +x towards +y (image axes, rows
    downwards), as OpenCV's ``KeyPoint.angle``.

    Examples
    --------
    >>> from skimage.data import camera
    >>> image = camera()
    >>> angles = surf_orientation(image, surf_detect(image, max_keypoints=20))
    >>> angles.shape, bool(((angles >= 0) & (angles < 360)).all())
    ((20,), True)
    """
    gray = _gray01(image)
    keypoints = _check_keypoints(keypoints, gray.shape)
    integral = _Integral(gray, _haar_pad(keypoints))
    return np.degrees(_orientation(integral, keypoints.xy, keypoints.scale)) % 360.0


def _haar_pad(keypoints: SurfKeypoints) -> int:
    # Enough mirrored border for most windows (radius ~ 15 s); farther samples are clipped.
    largest = float(keypoints.scale.max()) if len(keypoints) else 1.0
    return int(min(15.0 * largest, 256)) + 2


@dataclass(frozen=True, eq=False)
class SurfFeatures:
    """SURF keypoints with their orientation and descriptors (:func:`surf`, :func:`surf_describe`).

    Attributes
    ----------
    xy, scale, response, laplacian, octave, image_shape
        As in :class:`SurfKeypoints`.
    angle
        ``(N,)`` orientation in degrees in [0, 360), from +x towards +y
        (OpenCV's convention); all 0 for upright SURF.
    descriptors
        ``(N, 64)`` or ``(N, 128)`` float32 rows of unit length.
    upright, extended
        The options the descriptors were computed with.
    """

    xy: np.ndarray
    scale: np.ndarray
    response: np.ndarray
    laplacian: np.ndarray
    octave: np.ndarray
    angle: np.ndarray
    descriptors: np.ndarray
    upright: bool
    extended: bool
    image_shape: tuple[int, int]

    def __len__(self) -> int:
        return int(self.xy.shape[0])

    @property
    def keypoints(self) -> SurfKeypoints:
        """The detector's part, without orientation and descriptors."""
        return SurfKeypoints(self.xy, self.scale, self.response, self.laplacian, self.octave, self.image_shape)


def _describe(integral: _Integral, keypoints: SurfKeypoints, upright: bool, extended: bool) -> SurfFeatures:
    if upright:
        theta = np.zeros(len(keypoints))
    else:
        theta = _orientation(integral, keypoints.xy, keypoints.scale)
    desc = _descriptors(integral, keypoints.xy, keypoints.scale, theta, extended)
    return SurfFeatures(
        keypoints.xy, keypoints.scale, keypoints.response, keypoints.laplacian, keypoints.octave,
        np.degrees(theta) % 360.0, desc, bool(upright), bool(extended), keypoints.image_shape,
    )


def surf_describe(
    image, keypoints: SurfKeypoints, *, upright: bool = False, extended: bool = False
) -> SurfFeatures:
    """Orientation (unless ``upright``) and the SURF descriptor of each keypoint.

    The descriptor window is a square of side 20s centred on the keypoint
    and turned to its orientation, cut into 4×4 sub-regions of 5×5 samples
    spaced s. At each sample, Haar responses of side 2s are taken along the
    keypoint's own axes (its "horizontal" :math:`d_x` and "vertical"
    :math:`d_y`) and weighted by a Gaussian of σ = 3.3s centred on the
    keypoint. Each Haar wavelet is made of 2×2 cells of side s on the
    rotated grid; a cell's mean is the exact mean over the axis-aligned
    square of the same area centred on it (four look-ups in the integral
    image, bilinearly interpolated at fractional corners) — like OpenCV's
    SURF, which resamples the rotated window. Each sub-region
    contributes :math:`(\\sum d_x, \\sum d_y, \\sum |d_x|, \\sum |d_y|)`;
    ``extended`` sums :math:`d_x, |d_x|` separately for :math:`d_y < 0` and
    :math:`d_y \\ge 0` (and :math:`d_y, |d_y|` by the sign of :math:`d_x`).
    The vector is normalised to unit length, which makes it invariant to
    contrast changes; using differences makes it invariant to brightness.

    Parameters
    ----------
    image
        The image the keypoints were detected in.
    keypoints
        From :func:`surf_detect`.
    upright
        U-SURF: no orientation (angle 0), faster and more distinctive when
        the images are known to be upright.
    extended
        128-dimensional descriptor instead of 64.

    Returns
    -------
    SurfFeatures

    Examples
    --------
    >>> from skimage.data import camera
    >>> image = camera()
    >>> kp = surf_detect(image, max_keypoints=10)
    >>> surf_describe(image, kp, extended=True).descriptors.shape
    (10, 128)
    """
    gray = _gray01(image)
    keypoints = _check_keypoints(keypoints, gray.shape)
    return _describe(_Integral(gray, _haar_pad(keypoints)), keypoints, bool(upright), bool(extended))


def surf(
    image,
    *,
    hessian_threshold: float = DEFAULT_HESSIAN_THRESHOLD,
    n_octaves: int = 4,
    n_intervals: int = 4,
    upright: bool = False,
    extended: bool = False,
    max_keypoints: int | None = None,
) -> SurfFeatures:
    """Detect and describe SURF features: :func:`surf_detect` then :func:`surf_describe`.

    One integral image serves both steps. Parameters are those of the two
    functions.

    Returns
    -------
    SurfFeatures
        Sorted by decreasing response; zero rows for a textureless image.

    Examples
    --------
    >>> from skimage.data import astronaut
    >>> features = surf(astronaut(), max_keypoints=50, upright=True)
    >>> len(features), features.descriptors.dtype.name, float(features.angle.max())
    (50, 'float32', 0.0)
    """
    threshold, n_octaves, n_intervals, max_keypoints = _check_detector_options(
        hessian_threshold, n_octaves, n_intervals, max_keypoints
    )
    gray = _gray01(image)
    octaves = _octaves(gray.shape, n_octaves, n_intervals)
    pad = max(_pad_for(octaves, n_intervals), 64)
    integral = _Integral(gray, pad)
    keypoints = _detect(integral, threshold, octaves, n_intervals)
    if max_keypoints is not None and len(keypoints) > max_keypoints:
        keypoints = keypoints.select(slice(0, max_keypoints))
    return _describe(integral, keypoints, bool(upright), bool(extended))
