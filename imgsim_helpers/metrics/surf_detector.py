"""SURF (Bay, Tuytelaars and Van Gool, 2006) in NumPy: patented, so missing from pip's OpenCV.

One public function per step: :func:`integral_image`, :func:`box_hessian` (box filters of size
L = 9, 15, 21, ...), :func:`surf_detect`, :func:`surf_orientation`, :func:`surf_describe`;
:func:`surf` does it all. Images are gray in [0, 1] (OpenCV's ``hessianThreshold`` is
:data:`DEFAULT_HESSIAN_THRESHOLD` × 65025); positions and angles follow OpenCV's ``KeyPoint``;
outside the image, filters see it mirrored (``BORDER_REFLECT_101``).

>>> from skimage.data import camera
>>> features = surf(camera())
>>> features.descriptors.shape[1], bool(400 < len(features) < 3000)
(64, True)
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from imgsim_helpers.core.checks import (
    check_flag,
    check_image,
    check_instance,
    check_int,
    check_real,
)
from imgsim_helpers.core.device import cpu_threads
from imgsim_helpers.core.errors import InvalidImageError, InvalidParameterError
from imgsim_helpers.images.io import to_float, to_gray

#: Default threshold on the box Hessian's determinant (gray in [0, 1]): a few hundred to ~2000
#: keypoints on the 512×512 course images; OpenCV's ``hessianThreshold`` 0.0008 × 65025 ≈ 52.
DEFAULT_HESSIAN_THRESHOLD = 0.0008
#: The paper's weight of :math:`D_{xy}` in the determinant, balancing the box approximation.
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
_DESC_V, _DESC_U = (a.ravel() for a in np.meshgrid(np.arange(20) - 9.5, np.arange(20) - 9.5, indexing="ij"))
_DESC_WEIGHT = np.exp(-(_DESC_U**2 + _DESC_V**2) / (2.0 * 3.3**2))
_CELL_V, _CELL_U = (a.ravel() for a in np.mgrid[-10:11, -10:11].astype(np.float64))
_NEIGHBOURS = [(di, dr, dc) for di in (-1, 0, 1) for dr in (-1, 0, 1) for dc in (-1, 0, 1) if (di, dr, dc) != (0, 0, 0)]
_BATCH = 256  # keypoints per vectorised batch: bounds the temporary arrays

#: Upper bound on the threads computing the scales' Hessian responses (``None``: every core
#: available; 1 stays on one core). The keypoints are the same whatever the number.
MAX_THREADS: int | None = None


def _gray01(image, name: str = "image") -> np.ndarray:
    return to_float(to_gray(check_image(image, name=name, min_size=MIN_SIZE), name=name), name=name)


def _check_size(size) -> int:
    size = check_int(size, "size", low=9, high=10_000)
    if size % 3 or (size // 3) % 2 == 0:
        raise InvalidParameterError(
            f"a SURF box filter size must be 3 times an odd number (9, 15, 21, 27, ...); got {size}")
    return size


# --------------------------------------------------------------------------- integral image


def integral_image(image) -> np.ndarray:
    """The summed-area table of the (gray) image: ``table[r, c]`` is the sum of ``image[:r, :c]``.

    >>> integral_image(np.ones((2, 3), np.uint8)).tolist()
    [[0.0, 0.0, 0.0, 0.0], [0.0, 1.0, 2.0, 3.0], [0.0, 2.0, 4.0, 6.0]]
    """
    gray = to_gray(image)
    table = np.zeros((gray.shape[0] + 1, gray.shape[1] + 1), dtype=np.float64)
    np.cumsum(gray, axis=0, dtype=np.float64, out=table[1:, 1:])
    np.cumsum(table[1:, 1:], axis=1, out=table[1:, 1:])
    return table


def box_sum(table, top, left, height, width) -> np.ndarray:
    """Sums of ``image[top:top + height, left:left + width]`` from its integral image, in four
    look-ups whatever the size. Integer arguments broadcast; boxes are clipped to the image.

    >>> image = np.arange(12).reshape(3, 4).astype(np.uint8)
    >>> float(box_sum(integral_image(image), 1, 1, 2, 2)), int(image[1:3, 1:3].sum())
    (30.0, 30)
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
    t, b = np.clip(top, 0, rows), np.clip(top + height, 0, rows)
    left_, r = np.clip(left, 0, cols), np.clip(left + width, 0, cols)
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
        # The four corners of a table cell, as views shifted so that one flat index reads them all.
        self._corners = (self.flat, self.flat[1:], self.flat[s:], self.flat[s + 1 :])

    def _part(self, values: np.ndarray, axis: int):
        """Flat offset (rows: index × stride) and fraction along one axis; shared coordinates
        convert once, then :meth:`_lookup` interpolates the table bilinearly (the exact area
        integral of the piecewise-constant image)."""
        limit = self.table.shape[axis] - 2
        values = np.clip(values, 0.0, limit + 1.0)
        index = np.minimum(values.astype(np.int64), limit)
        return (index * self.stride if axis == 0 else index), values - index

    def _lookup(self, row_part, col_part) -> np.ndarray:
        (offset, fr), (c, fc) = row_part, col_part
        i = offset + c
        f00, f01, f10, f11 = (corner[i] for corner in self._corners)
        top = f00 + fc * (f01 - f00)
        return top + fr * (f10 + fc * (f11 - f10) - top)

    def _centre(self, x, y, half):
        """Table coordinates of box centres, kept inside so that no box is cut (beyond the
        mirrored border a box slides along the edge instead of losing area)."""
        limit_r, limit_c = self.table.shape[0] - 1.0, self.table.shape[1] - 1.0
        cx = np.clip(x + (0.5 + self.pad), half, np.maximum(limit_c - half, half))
        cy = np.clip(y + (0.5 + self.pad), half, np.maximum(limit_r - half, half))
        return cx, cy

    def box_mean(self, x: np.ndarray, y: np.ndarray, half) -> np.ndarray:
        """Mean of the image over axis-aligned squares of side ``2 * half`` centred at (x, y)."""
        cx, cy = self._centre(x, y, half)
        low_r, high_r = self._part(cy - half, 0), self._part(cy + half, 0)
        low_c, high_c = self._part(cx - half, 1), self._part(cx + half, 1)
        total = (self._lookup(high_r, high_c) - self._lookup(low_r, high_c)
                 - self._lookup(high_r, low_c) + self._lookup(low_r, low_c))
        return total / (4.0 * half * half)

    def haar(self, x: np.ndarray, y: np.ndarray, half) -> tuple[np.ndarray, np.ndarray]:
        """Haar responses (right minus left, bottom minus top) of side ``2 * half`` centred exactly
        on real positions: fractional corners come from the bilinear table, so nothing is rounded."""
        cm, rm = self._centre(x, y, half)
        r0, rm, r2 = self._part(rm - half, 0), self._part(rm, 0), self._part(rm + half, 0)
        c0, cm, c2 = self._part(cm - half, 1), self._part(cm, 1), self._part(cm + half, 1)
        a, b = self._lookup(r0, c0), self._lookup(r0, c2)
        c, d = self._lookup(r2, c0), self._lookup(r2, c2)
        dx = d - b + c - a - 2.0 * (self._lookup(r2, cm) - self._lookup(r0, cm))
        dy = d - c + b - a - 2.0 * (self._lookup(rm, c2) - self._lookup(rm, c0))
        return dx, dy


# --------------------------------------------------------------------------- box Hessian


def filter_sizes(octave: int, n_intervals: int = 4) -> list[int]:
    """The box filter sizes L of one octave (0-based): ``L = 3 (2^(octave + 1) (interval + 1) + 1)``.

    >>> filter_sizes(0), filter_sizes(1), filter_sizes(2)
    ([9, 15, 21, 27], [15, 27, 39, 51], [27, 51, 75, 99])
    """
    octave = check_int(octave, "octave", low=0, high=30)
    n_intervals = check_int(n_intervals, "n_intervals", low=1, high=100)
    return _filter_sizes(octave, n_intervals)


def _filter_sizes(octave: int, n_intervals: int) -> list[int]:
    return [3 * (2 ** (octave + 1) * (i + 1) + 1) for i in range(n_intervals)]


def _hessian_grid(integral: _Integral, size: int, step: int, n_rows: int, n_cols: int):
    """Dxx, Dyy, Dxy / size² on the sampling grid: every box of Dxx spans the same rows, so one
    difference of table rows serves all of them (likewise columns for Dyy)."""
    t, p = integral.table, integral.pad
    lobe, half = size // 3, (size - 1) // 2
    mid = (lobe - 1) // 2
    span_r, span_c = step * (n_rows - 1) + 1, step * (n_cols - 1) + 1

    def rows(m, offset):  # table rows at grid row + offset (a boundary offset)
        return m[p + offset : p + offset + span_r : step]

    def cols(m, offset):
        return m[:, p + offset : p + offset + span_c : step]

    # Dxx: the whole 3-lobe box minus 3 times the middle lobe (two box sums instead of three).
    band = rows(t, lobe) - rows(t, 1 - lobe)  # rows -(lobe-1) .. lobe-1
    dxx = cols(band, half + 1) - cols(band, -half) - 3.0 * (cols(band, mid + 1) - cols(band, -mid))
    band = cols(t, lobe) - cols(t, 1 - lobe)
    dyy = rows(band, half + 1) - rows(band, -half) - 3.0 * (rows(band, mid + 1) - rows(band, -mid))
    # Dxy = top-left + bottom-right - top-right - bottom-left = left(D) - right(D), D = top band - bottom band.
    band = (rows(t, 0) - rows(t, -lobe)) - (rows(t, lobe + 1) - rows(t, 1))
    dxy = (cols(band, 0) - cols(band, -lobe)) - (cols(band, lobe + 1) - cols(band, 1))
    norm = 1.0 / (size * size)
    return dxx * norm, dyy * norm, dxy * norm


@dataclass(frozen=True, eq=False)
class HessianMaps:
    """The box-filter Hessian of one scale: responses / L² on the sampling grid, ``determinant``
    :math:`D_{xx} D_{yy} - (0.9 D_{xy})^2`, ``trace`` and ``sigma`` = 1.2 L / 9."""

    dxx: np.ndarray
    dyy: np.ndarray
    dxy: np.ndarray
    determinant: np.ndarray
    trace: np.ndarray
    size: int
    step: int
    sigma: float


def box_hessian(image, size: int = 9, *, step: int = 1) -> HessianMaps:
    """Dxx, Dyy, Dxy and det H at filter size L every ``step`` pixels, from a few integral-image
    look-ups per response whatever L.

    >>> from skimage.data import camera
    >>> maps = box_hessian(camera(), 15, step=2)
    >>> maps.determinant.shape, maps.sigma
    ((256, 256), 2.0)
    """
    gray = _gray01(image)
    size = _check_size(size)
    step = check_int(step, "step", low=1, high=1024)
    integral = _Integral(gray, size // 2 + 2)
    dxx, dyy, dxy = _hessian_grid(integral, size, step, (gray.shape[0] - 1) // step + 1,
                                  (gray.shape[1] - 1) // step + 1)
    det = dxx * dyy - (DXY_WEIGHT * dxy) ** 2
    return HessianMaps(dxx, dyy, dxy, det, dxx + dyy, size, step, 1.2 * size / 9.0)


# --------------------------------------------------------------------------- detector


@dataclass(frozen=True, eq=False)
class SurfKeypoints:
    """Keypoints of :func:`surf_detect`, strongest first: ``scale`` s = 1.2 L / 9, ``response`` the
    fitted det H, ``laplacian`` the trace's sign (+1: dark blob on bright background)."""

    xy: np.ndarray
    scale: np.ndarray
    response: np.ndarray
    laplacian: np.ndarray
    octave: np.ndarray
    image_shape: tuple[int, int]

    def __len__(self) -> int:
        return int(self.xy.shape[0])

    def select(self, index) -> SurfKeypoints:
        """The keypoints at ``index`` (a boolean mask, integer indices or a slice)."""
        return SurfKeypoints(self.xy[index], self.scale[index], self.response[index], self.laplacian[index],
                             self.octave[index], self.image_shape)


def _octaves(shape, n_octaves: int, n_intervals: int) -> list[int]:
    """Octaves whose largest filter still fits in the image (as OpenCV's SURF)."""
    return [o for o in range(n_octaves) if _filter_sizes(o, n_intervals)[-1] <= min(shape)]


def _responses(integral: _Integral, octaves: list[int], n_intervals: int) -> dict:
    """``{octave: (det, trace)}`` of the box Hessian at every scale, the scales on parallel threads
    (NumPy releases the GIL), each into its own slice of the octave's arrays."""
    height, width = integral.shape
    grids, jobs = {}, []
    for octave in octaves:
        step = 2**octave
        n_rows, n_cols = (height - 1) // step + 1, (width - 1) // step + 1
        if n_rows < 3 or n_cols < 3:
            break
        sizes = _filter_sizes(octave, n_intervals)
        det, trace = (np.empty((len(sizes), n_rows, n_cols)) for _ in range(2))
        grids[octave] = (det, trace)
        jobs += [(size, step, det[k], trace[k]) for k, size in enumerate(sizes)]

    def one_scale(job):
        size, step, det, trace = job
        dxx, dyy, dxy = _hessian_grid(integral, size, step, *det.shape)
        np.multiply(dxx, dyy, out=det)
        det -= (DXY_WEIGHT * dxy) ** 2
        np.add(dxx, dyy, out=trace)

    with ThreadPoolExecutor(max_workers=max(1, min(len(jobs), cpu_threads(MAX_THREADS)))) as pool:
        list(pool.map(one_scale, jobs))
    return grids


def _local_maxima(det: np.ndarray, threshold: float):
    """(interval, row, col) of the points above threshold that beat their 26 neighbours.

    Only inner intervals and off the grid's outer ring: the test and the fit need all neighbours.
    """
    i, r, c = (k + 1 for k in np.nonzero(det[1:-1, 1:-1, 1:-1] > threshold))
    v = det[i, r, c]
    is_max = np.ones(i.size, dtype=bool)
    for di, dr, dc in _NEIGHBOURS:
        is_max &= v >= det[i + di, r + dr, c + dc]
    return i[is_max], r[is_max], c[is_max]


def _quadratic_fit(det: np.ndarray, i, r, c):
    """Offsets (x, y, interval) of the fitted peak of det around each maximum, and the gradient."""
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
    hess = np.stack([np.stack([hxx, hxy, hxs], -1), np.stack([hxy, hyy, hys], -1),
                     np.stack([hxs, hys, hss], -1)], axis=-2)
    grad = np.stack([gx, gy, gs], -1)
    solvable = np.abs(np.linalg.det(hess)) > 1e-30
    offset = np.full(grad.shape, np.inf)
    if solvable.any():
        offset[solvable] = -np.linalg.solve(hess[solvable], grad[solvable][..., None])[..., 0]
    return offset, grad


def _detect(integral: _Integral, threshold: float, octaves: list[int], n_intervals: int) -> SurfKeypoints:
    found = []
    for octave, (det, traces) in _responses(integral, octaves, n_intervals).items():
        i, r, c = _local_maxima(det, threshold)
        if i.size == 0:
            continue
        offset, grad = _quadratic_fit(det, i, r, c)
        # The paper keeps a maximum only if the fitted peak lies within half a sample of it.
        keep = np.all(np.abs(offset) < 0.5, axis=1)
        offset, grad, i, r, c = offset[keep], grad[keep], i[keep], r[keep], c[keep]
        step, sizes = 2**octave, _filter_sizes(octave, n_intervals)
        size = np.asarray(sizes, np.float64)[i] + offset[:, 2] * (sizes[1] - sizes[0])
        found.append(((c + offset[:, 0]) * step, (r + offset[:, 1]) * step, 1.2 * size / 9.0,
                      det[i, r, c] + 0.5 * np.sum(grad * offset, axis=1),
                      np.where(traces[i, r, c] > 0, 1, -1), np.full(i.size, octave)))
    if not found:
        return SurfKeypoints(np.zeros((0, 2)), np.zeros(0), np.zeros(0), np.zeros(0, np.int8),
                             np.zeros(0, np.int64), tuple(integral.shape))
    x, y, scale, response, laplacian, octave_ = (np.concatenate(parts) for parts in zip(*found, strict=True))
    order = np.argsort(-response, kind="stable")
    return SurfKeypoints(np.stack([x, y], axis=1)[order], scale[order], response[order],
                         laplacian[order].astype(np.int8), octave_[order].astype(np.int64), tuple(integral.shape))


def _pad_for(octaves: list[int], n_intervals: int) -> int:
    return max((_filter_sizes(o, n_intervals)[-1] for o in octaves), default=9) // 2 + 2


def _check_detector_options(hessian_threshold, n_octaves, n_intervals, max_keypoints):
    threshold = check_real(hessian_threshold, "hessian_threshold", low=0,
                           hint="gray scale [0, 1]: OpenCV's value divided by 65025")
    n_octaves = check_int(n_octaves, "n_octaves", low=1, high=8)
    n_intervals = check_int(n_intervals, "n_intervals", low=3, high=8)
    if max_keypoints is not None:
        max_keypoints = check_int(max_keypoints, "max_keypoints", low=0, hint="or None for all")
    return threshold, n_octaves, n_intervals, max_keypoints


def surf_detect(image, *, hessian_threshold: float = DEFAULT_HESSIAN_THRESHOLD, n_octaves: int = 4,
                n_intervals: int = 4, max_keypoints: int | None = None) -> SurfKeypoints:
    """Find SURF keypoints with the Fast-Hessian detector, strongest first (none on a flat image).

    ``hessian_threshold``: the smallest determinant kept (OpenCV's ``hessianThreshold`` / 65025);
    octaves whose largest filter exceeds the image are skipped; ``n_intervals`` >= 3 per octave.

    >>> from skimage.data import camera
    >>> kp = surf_detect(camera(), max_keypoints=100)
    >>> len(kp), kp.xy.shape, bool(kp.scale.min() >= 1.2 * 9 / 9)
    (100, (100, 2), True)
    """
    threshold, n_octaves, n_intervals, max_keypoints = _check_detector_options(
        hessian_threshold, n_octaves, n_intervals, max_keypoints)
    gray = _gray01(image)
    octaves = _octaves(gray.shape, n_octaves, n_intervals)
    keypoints = _detect(_Integral(gray, _pad_for(octaves, n_intervals)), threshold, octaves, n_intervals)
    return keypoints.select(slice(max_keypoints))


# --------------------------------------------------------------------------- orientation and descriptor


def _check_keypoints(keypoints, shape) -> SurfKeypoints:
    check_instance(keypoints, "keypoints", SurfKeypoints, "surf_detect")
    if tuple(keypoints.image_shape) != tuple(shape):
        raise InvalidImageError(
            f"the keypoints were detected in an image of shape {keypoints.image_shape}, but this image "
            f"is {tuple(shape)}; describe the image they were found in")
    return keypoints


def _orientation(integral: _Integral, xy: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Orientation in radians, in [0, 2 pi), of each keypoint (batched)."""
    out = np.zeros(len(xy))
    for start in range(0, len(xy), _BATCH):
        stop = min(start + _BATCH, len(xy))
        n, s = stop - start, scale[start:stop, None]
        dx, dy = integral.haar(xy[start:stop, 0:1] + _ORI_U * s, xy[start:stop, 1:2] + _ORI_V * s, 2.0 * s)
        wx, wy = dx * _ORI_WEIGHT, dy * _ORI_WEIGHT
        angle = np.mod(np.arctan2(wy, wx), 2.0 * np.pi)
        bins = np.minimum((angle * (_ORI_BINS / (2.0 * np.pi))).astype(np.int64), _ORI_BINS - 1)
        flat = (np.arange(n)[:, None] * _ORI_BINS + bins).ravel()
        hx = np.bincount(flat, wx.ravel(), n * _ORI_BINS).reshape(n, _ORI_BINS)
        hy = np.bincount(flat, wy.ravel(), n * _ORI_BINS).reshape(n, _ORI_BINS)
        # Sums over every window of pi/3 (wrapping around), by cumulative sums.
        wrap = _ORI_WINDOW - 1
        cx = np.cumsum(np.concatenate([np.zeros((n, 1)), hx, hx[:, :wrap]], axis=1), axis=1)
        cy = np.cumsum(np.concatenate([np.zeros((n, 1)), hy, hy[:, :wrap]], axis=1), axis=1)
        sx, sy = cx[:, _ORI_WINDOW:] - cx[:, :-_ORI_WINDOW], cy[:, _ORI_WINDOW:] - cy[:, :-_ORI_WINDOW]
        best, rows = np.argmax(sx**2 + sy**2, axis=1), np.arange(n)
        out[start:stop] = np.mod(np.arctan2(sy[rows, best], sx[rows, best]), 2.0 * np.pi)
    return out


def _descriptors(integral: _Integral, xy: np.ndarray, scale: np.ndarray, theta: np.ndarray,
                 extended: bool) -> np.ndarray:
    out = np.zeros((len(xy), 128 if extended else 64), dtype=np.float32)
    for start in range(0, len(xy), _BATCH):
        stop = min(start + _BATCH, len(xy))
        n, s = stop - start, scale[start:stop, None]
        cos, sin = np.cos(theta[start:stop, None]), np.sin(theta[start:stop, None])
        # Cell means on a 21 x 21 grid of spacing s turned to the orientation; 2 x 2 cells form a
        # Haar wavelet of side 2s in the keypoint's frame, centred on each of the 20 x 20 samples.
        px = xy[start:stop, 0:1] + s * (_CELL_U * cos - _CELL_V * sin)
        py = xy[start:stop, 1:2] + s * (_CELL_U * sin + _CELL_V * cos)
        cells = integral.box_mean(px, py, 0.5 * s).reshape(n, 21, 21)
        left, right = cells[:, :-1, :-1] + cells[:, 1:, :-1], cells[:, :-1, 1:] + cells[:, 1:, 1:]
        top, bottom = cells[:, :-1, :-1] + cells[:, :-1, 1:], cells[:, 1:, :-1] + cells[:, 1:, 1:]
        ru = ((right - left).reshape(n, 400) * _DESC_WEIGHT).reshape(n, 4, 5, 4, 5)
        rv = ((bottom - top).reshape(n, 400) * _DESC_WEIGHT).reshape(n, 4, 5, 4, 5)
        if extended:  # each sum split by the sign of the other response
            split = ((ru, rv < 0), (np.abs(ru), rv < 0), (rv, ru < 0), (np.abs(rv), ru < 0))
            parts = [np.where(side, values, 0.0) for values, negative in split for side in (negative, ~negative)]
        else:
            parts = [ru, rv, np.abs(ru), np.abs(rv)]
        desc = np.stack([p.sum(axis=(2, 4)) for p in parts], axis=-1).reshape(n, -1)  # (n, 4, 4, k)
        norm = np.linalg.norm(desc, axis=1, keepdims=True)
        out[start:stop] = desc / np.where(norm > 0, norm, 1.0)
    return out


def _haar_pad(keypoints: SurfKeypoints) -> int:
    # Enough mirrored border for most windows (radius ~ 15 s); farther samples are clipped.
    largest = float(keypoints.scale.max()) if len(keypoints) else 1.0
    return int(min(15.0 * largest, 256)) + 2


def surf_orientation(image, keypoints: SurfKeypoints) -> np.ndarray:
    """The dominant orientation of each keypoint, in degrees in [0, 360) from +x towards +y: the
    longest sum of Haar responses (side 4s, within 6s, σ = 2s) in a sliding π/3 window.

    >>> from skimage.data import camera
    >>> angles = surf_orientation(camera(), surf_detect(camera(), max_keypoints=20))
    >>> angles.shape, bool(((angles >= 0) & (angles < 360)).all())
    ((20,), True)
    """
    gray = _gray01(image)
    keypoints = _check_keypoints(keypoints, gray.shape)
    integral = _Integral(gray, _haar_pad(keypoints))
    return np.degrees(_orientation(integral, keypoints.xy, keypoints.scale)) % 360.0


@dataclass(frozen=True, eq=False)
class SurfFeatures:
    """:class:`SurfKeypoints` with ``angle`` (degrees; 0 for upright SURF) and ``descriptors``
    (float32 rows of unit length, 64 or 128 wide), from :func:`surf` or :func:`surf_describe`."""

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
    theta = np.zeros(len(keypoints)) if upright else _orientation(integral, keypoints.xy, keypoints.scale)
    desc = _descriptors(integral, keypoints.xy, keypoints.scale, theta, extended)
    return SurfFeatures(keypoints.xy, keypoints.scale, keypoints.response, keypoints.laplacian, keypoints.octave,
                        np.degrees(theta) % 360.0, desc, upright, extended, keypoints.image_shape)


def surf_describe(image, keypoints: SurfKeypoints, *, upright: bool = False, extended: bool = False) -> SurfFeatures:
    """Orientation (unless ``upright``, U-SURF) and the SURF descriptor of each keypoint: per 4×4
    sub-region of a turned 20s window, :math:`(\\sum d_x, \\sum d_y, \\sum |d_x|, \\sum |d_y|)`
    (``extended`` splits the sums by the other response's sign: 128 values); unit length.

    >>> from skimage.data import camera
    >>> kp = surf_detect(camera(), max_keypoints=10)
    >>> surf_describe(camera(), kp, extended=True).descriptors.shape
    (10, 128)
    """
    gray = _gray01(image)
    keypoints = _check_keypoints(keypoints, gray.shape)
    upright, extended = check_flag(upright, "upright"), check_flag(extended, "extended")
    return _describe(_Integral(gray, _haar_pad(keypoints)), keypoints, upright, extended)


def surf(image, *, hessian_threshold: float = DEFAULT_HESSIAN_THRESHOLD, n_octaves: int = 4, n_intervals: int = 4,
         upright: bool = False, extended: bool = False, max_keypoints: int | None = None) -> SurfFeatures:
    """Detect and describe: :func:`surf_detect` then :func:`surf_describe` on one integral image.

    >>> from skimage.data import astronaut
    >>> features = surf(astronaut(), max_keypoints=50, upright=True)
    >>> len(features), features.descriptors.dtype.name, float(features.angle.max())
    (50, 'float32', 0.0)
    """
    threshold, n_octaves, n_intervals, max_keypoints = _check_detector_options(
        hessian_threshold, n_octaves, n_intervals, max_keypoints)
    upright, extended = check_flag(upright, "upright"), check_flag(extended, "extended")
    gray = _gray01(image)
    octaves = _octaves(gray.shape, n_octaves, n_intervals)
    integral = _Integral(gray, max(_pad_for(octaves, n_intervals), 64))
    keypoints = _detect(integral, threshold, octaves, n_intervals).select(slice(max_keypoints))
    return _describe(integral, keypoints, upright, extended)
