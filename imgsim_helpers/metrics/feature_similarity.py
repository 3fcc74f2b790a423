"""FSIM and FSIMc, the feature similarity index, exactly as the authors' FeatureSIM.m.

FSIM (Zhang, Zhang, Mou and Zhang, IEEE TIP 2011) compares two images
through two low-level features that the visual system is sensitive to:

* **phase congruency** PC (:mod:`imgsim_helpers.metrics.log_gabor`): where the
  structure is, independent of contrast;
* **gradient magnitude** G (Scharr operator): how strong the contrast is.

Per pixel, each feature pair gives a similarity in (0, 1],

.. math::

    S_{PC} = \\frac{2 PC_1 PC_2 + T_1}{PC_1^2 + PC_2^2 + T_1}, \\quad
    S_G = \\frac{2 G_1 G_2 + T_2}{G_1^2 + G_2^2 + T_2}, \\quad
    S_L = S_{PC} S_G,

and the score is the mean of :math:`S_L` weighted by
:math:`PC_m = \\max(PC_1, PC_2)`, so that pixels on structure count and flat
areas do not: :math:`FSIM = \\sum S_L PC_m / \\sum PC_m`. FSIMc multiplies
:math:`S_L` by a chromatic term :math:`\\mathrm{Re}[(S_I S_Q)^{\\lambda}]` from
the I and Q planes of YIQ.

This module follows FeatureSIM.m line by line — the YIQ coefficients, the
MATLAB-rounded downsampling factor, ``conv2(..., 'same')`` with zero padding,
the ``phasecong2`` constants, a complex (not absolute) power in the chromatic
term — and reproduces the values printed by the MATLAB code to 1e-5 (see the
reference tests). It departs from it in three documented places only:
phase congruency runs in single precision by default (``precision="double"``
for float64 throughout; the scores move by ~1e-8), a constant image has PC 0
instead of NaN, and when no pixel has any PC the weights fall back to uniform
instead of giving 0/0. :func:`fsim_phasepack_recipe` is the different, widely
copied recipe built on ``phasepack``, kept for comparison.

Both indices lie in [0, 1] and FSIMc <= FSIM: S_I and S_Q lie in (-1, 1],
and for a negative product the real part of the complex power is
|S_I S_Q|^0.03 cos(0.03 π) > 0, so the chromatic term lies in [0, 1].

Examples
--------
>>> import numpy as np
>>> from skimage.data import astronaut
>>> img = astronaut()[::2, ::2]
>>> rng = np.random.default_rng(0)
>>> noisy = np.clip(img + rng.normal(0, 20, img.shape), 0, 255).astype(np.uint8)
>>> fsim(img, img)
1.0
>>> round(fsim(img, noisy), 4) < 1.0
True
>>> round(fsim(img, noisy, chromatic=True), 4) <= round(fsim(img, noisy), 4)
True
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from imgsim_helpers.core.checks import check_image, check_same_shape
from imgsim_helpers.core.errors import InvalidParameterError, ShapeMismatchError
from imgsim_helpers.images.io import to_uint8
from imgsim_helpers.metrics.log_gabor import MIN_SIZE, phase_congruency_stack, to_intensity_255, yiq

__all__ = [
    "FSIMFeatures",
    "FSIMResult",
    "T1",
    "T2",
    "T3",
    "T4",
    "LAMBDA",
    "downsample_factor",
    "fsim",
    "fsim_compare",
    "fsim_features",
    "fsim_features_many",
    "fsim_phasepack_recipe",
    "gradient_magnitude",
]

#: Stabilising constant of the phase-congruency similarity (PC in [0, 1]).
T1 = 0.85
#: Stabilising constant of the gradient similarity (gradients of 0-255 images).
T2 = 160.0
#: Stabilising constants of the I and Q chromatic similarities.
T3 = 200.0
T4 = 200.0
#: Exponent of the chromatic term in FSIMc.
LAMBDA = 0.03
# Images per phase-congruency pass in fsim_features_many.
_FEATURE_BATCH = 2


# --------------------------------------------------------------------------- building blocks


def downsample_factor(shape: tuple[int, ...]) -> int:
    """FeatureSIM.m's factor ``max(1, round(min(rows, cols) / 256))`` with MATLAB's ``round``.

    MATLAB rounds halves away from zero, Python's :func:`round` to even: for
    a 640-pixel side MATLAB gives 3 and ``round(2.5)`` gives 2.

    Examples
    --------
    >>> [downsample_factor((n, 1000)) for n in (300, 384, 512, 640, 1000)]
    [1, 2, 2, 3, 4]
    """
    smallest = int(min(shape[:2]))
    # Integer arithmetic: (m + 128) // 256 is m / 256 rounded half up, exactly.
    return max(1, (smallest + 128) // 256)


def _downsample(planes: np.ndarray, factor: int) -> np.ndarray:
    """``conv2(x, ones(F)/F², 'same')`` then ``x(1:F:end, 1:F:end)`` on the last two axes.

    MATLAB's 'same' window for an F-tap kernel covers ``F - 1 - F//2`` pixels
    before and ``F//2`` after (for even F it leans towards the bottom-right);
    zeros lie beyond the border. Keeping every F-th output starting from the
    first means the kept windows tile the zero-padded image without overlap,
    so sums of strided slices compute exactly those windows.
    """
    if factor == 1:
        return planes
    before = factor - 1 - factor // 2
    *lead, rows, cols = planes.shape
    out_rows, out_cols = -(-rows // factor), -(-cols // factor)
    if before == 0 and rows % factor == 0 and cols % factor == 0:
        # The windows tile the image itself (F = 2, even sides: the usual case).
        tiled = planes
    else:
        tiled = np.zeros((*lead, out_rows * factor, out_cols * factor))
        # Rows/columns of the image inside the kept windows (the last
        # ``before`` ones fall outside when the size is a multiple of F).
        r_end = min(rows, out_rows * factor - before)
        c_end = min(cols, out_cols * factor - before)
        tiled[..., before : before + r_end, before : before + c_end] = planes[..., :r_end, :c_end]
    # Sums of F strided slices: faster than a reshape and a two-axis sum.
    rows_summed = sum(tiled[..., i::factor, :] for i in range(factor))
    return sum(rows_summed[..., j::factor] for j in range(factor)) / factor**2


def _gradient_stack(planes: np.ndarray) -> np.ndarray:
    """Scharr/16 gradient magnitude of ``(..., rows, cols)`` planes, ``conv2 'same'``, zero padding."""
    padded = np.pad(planes, [(0, 0)] * (planes.ndim - 2) + [(1, 1), (1, 1)])
    # Sign conventions (convolution flips the kernel) do not affect the magnitude;
    # the zero padding does, on the border pixels.
    across = padded[..., :, 2:] - padded[..., :, :-2]
    gx = (3.0 * across[..., :-2, :] + 10.0 * across[..., 1:-1, :] + 3.0 * across[..., 2:, :]) / 16.0
    down = padded[..., 2:, :] - padded[..., :-2, :]
    gy = (3.0 * down[..., :, :-2] + 10.0 * down[..., :, 1:-1] + 3.0 * down[..., :, 2:]) / 16.0
    return np.sqrt(gx**2 + gy**2)


def gradient_magnitude(image) -> np.ndarray:
    """Gradient magnitude as in FeatureSIM.m: Scharr kernels / 16, ``conv2(..., 'same')``.

    The kernels are ``[3 0 -3; 10 0 -10; 3 0 -3] / 16`` and its transpose;
    pixels beyond the border count as 0, so a constant image has a non-zero
    gradient along its edges, as in the original.

    Parameters
    ----------
    image
        Gray or RGB image (RGB becomes Y = 0.299 R + 0.587 G + 0.114 B),
        put on the 0-255 scale like :func:`fsim` does. Not downsampled.

    Returns
    -------
    numpy.ndarray
        float64 map of the image's size, in gray levels per pixel.

    Examples
    --------
    >>> img = np.zeros((20, 20), np.uint8)
    >>> img[:, 10:] = 160
    >>> g = gradient_magnitude(img)
    >>> float(g[10, 9]), float(g[10, 5])
    (160.0, 0.0)
    """
    check_image(image, name="image", min_size=MIN_SIZE)
    work = to_intensity_255(image, name="image")
    if work.ndim == 3:
        work = yiq(work, luma_only=True)[0]
    return _gradient_stack(work)


def _similarity(a: np.ndarray, b: np.ndarray, constant: float) -> np.ndarray:
    return (2.0 * a * b + constant) / (a**2 + b**2 + constant)


def _real_power(base: np.ndarray, exponent: float) -> np.ndarray:
    """``real(base .^ exponent)`` of MATLAB for real ``base`` of either sign.

    A negative base has the principal complex power |b|^λ e^{iπλ}, whose real
    part is |b|^λ cos(πλ); computing that directly avoids complex arrays.
    """
    magnitude = np.abs(base) ** exponent
    return np.where(base < 0, magnitude * np.cos(np.pi * exponent), magnitude)


# --------------------------------------------------------------------------- FSIM


@dataclass(frozen=True, eq=False)
class FSIMResult:
    """Everything :func:`fsim` computes, returned with ``full=True``, for plots and teaching.

    All maps have the size FSIM works at: the input size divided by
    ``factor`` (rounded up), after FeatureSIM.m's downsampling.

    Attributes
    ----------
    score
        The FSIM (or FSIMc) value, the first item :func:`fsim` returns.
    chromatic
        Whether ``score`` is FSIMc.
    factor
        The downsampling factor F used (1 = none).
    pc1, pc2
        Phase congruency maps of the two images, in [0, 1].
    gradient1, gradient2
        Gradient magnitude maps (gray levels per pixel).
    pc_similarity
        :math:`S_{PC}`, in (0, 1].
    gradient_similarity
        :math:`S_G`, in (0, 1].
    similarity
        :math:`S_L = S_{PC} S_G`, the local similarity FSIM averages.
    pc_max
        :math:`PC_m = \\max(PC_1, PC_2)`, the weight of each pixel.
    chromatic_similarity
        :math:`\\mathrm{Re}[(S_I S_Q)^{0.03}]` in [0, 1] for FSIMc, else ``None``.
    """

    score: float
    chromatic: bool
    factor: int
    pc1: np.ndarray
    pc2: np.ndarray
    gradient1: np.ndarray
    gradient2: np.ndarray
    pc_similarity: np.ndarray
    gradient_similarity: np.ndarray
    similarity: np.ndarray
    pc_max: np.ndarray
    chromatic_similarity: np.ndarray | None = None

    @property
    def local_similarity(self) -> np.ndarray:
        """The map whose ``pc_max``-weighted mean is ``score`` (S_L, times the chromatic term for FSIMc)."""
        if self.chromatic_similarity is None:
            return self.similarity
        return self.similarity * self.chromatic_similarity

    def __float__(self) -> float:
        return self.score


def _check_pair(image1, image2):
    a = check_image(image1, name="image1")
    b = check_image(image2, name="image2")
    check_same_shape(a, b)
    for name, image in (("image1", a), ("image2", b)):
        check_image(image, name=name, min_size=MIN_SIZE)
    return to_intensity_255(a, name="image1"), to_intensity_255(b, name="image2")


def _require_booleans(**flags) -> None:
    for label, flag in flags.items():
        if not isinstance(flag, bool | np.bool_):
            raise InvalidParameterError(f"{label} must be True or False; got {flag!r}")


def _weighted_mean(values: np.ndarray, weights: np.ndarray) -> float:
    total = float(np.sum(weights))
    if total > 0.0:
        return float(np.sum(values * weights) / total)
    # No phase congruency anywhere (for example two constant images): the
    # original divides 0 by 0; every pixel then counts the same instead.
    return float(np.mean(values))


def fsim(
    image1,
    image2,
    *,
    chromatic: bool = False,
    downsample: bool = True,
    full: bool = False,
    precision: str = "single",
):
    """Feature similarity index FSIM (or FSIMc) of two images, as FeatureSIM.m.

    Parameters
    ----------
    image1, image2
        Images of the same shape: both gray (H×W) or both RGB (H×W×3);
        ``uint8``, ``uint16``, ``bool`` or float in [0, 1]; at least
        :data:`~imgsim_helpers.metrics.log_gabor.MIN_SIZE` (16) pixels each way.
        They are put on the 0-255 scale the constants assume (``uint8`` as
        is, ``uint16`` / 257, float × 255), so ``u8 / 255`` scores exactly
        like ``u8``. Gray input is used as is; RGB gives FSIM on the unrounded
        Y = 0.299 R + 0.587 G + 0.114 B.
    chromatic
        ``True`` computes FSIMc, which also compares the I and Q planes of
        YIQ (RGB input only). FSIMc <= FSIM always.
    downsample
        Apply FeatureSIM.m's automatic downsampling: an F×F box filter then
        every F-th pixel, F = max(1, round(min(H, W) / 256)). ``False``
        computes at full size (no longer the published FSIM for large images).
    full
        Also return an :class:`FSIMResult` with every intermediate map (the
        two PC maps, the two gradient maps, S_PC, S_G, S_L, PC_m and the
        chromatic term), as ``ssim(..., full=True)`` returns its map.
    precision
        Phase congruency in ``"single"`` (default: complex64 FFTs, about
        twice as fast, FSIM within about 1e-8 of double) or ``"double"``
        (float64 throughout, like MATLAB). Everything else is float64.

    Returns
    -------
    float or (float, FSIMResult)
        The index in [0, 1]; 1 for identical images. With ``full=True``, the
        pair ``(score, result)``.

    Raises
    ------
    ShapeMismatchError
        Different shapes, including a gray/RGB pair (convert with ``to_gray``).
    InvalidParameterError
        ``chromatic=True`` on gray images (FeatureSIM.m silently returns FSIM
        then; here you choose), or a non-boolean option.
    ImageTooSmallError, EmptyImageError
        Fewer than 16 rows or columns.
    InvalidImageError
        RGBA (composite or drop the alpha first), NaN/inf, floats outside [0, 1].
    ImageTypeError
        Not a NumPy array, or a dtype such as ``int64``.
    UnknownMethodError
        ``precision`` is not ``"single"`` or ``"double"``.

    Notes
    -----
    FSIM is blind to a uniform change of brightness: two different constant
    images have no phase congruency anywhere; FeatureSIM.m returns NaN for
    them (0/0), here every pixel then gets the same weight, which gives the
    plain mean of :math:`S_L` (1 for identical images, close to 1 otherwise).

    Examples
    --------
    >>> from skimage.data import camera
    >>> img = camera()
    >>> blurred = np.round(
    ...     (img[:-2, :-2].astype(float) + img[2:, 2:] + img[1:-1, 1:-1]) / 3).astype(np.uint8)
    >>> score = fsim(img[1:-1, 1:-1], blurred)
    >>> 0.8 < score < 1.0
    True
    >>> score, res = fsim(img, img, full=True)
    >>> score, res.factor, res.pc1.shape
    (1.0, 2, (256, 256))
    """
    _require_booleans(chromatic=chromatic, downsample=downsample, full=full)
    a, b = _check_pair(image1, image2)
    if chromatic and a.ndim == 2:
        raise InvalidParameterError(
            "chromatic=True (FSIMc) needs RGB images (H×W×3), but these are gray; use "
            "chromatic=False (for gray images FeatureSIM.m's FSIMc equals FSIM)"
        )

    factor = downsample_factor(a.shape) if downsample else 1
    # Both images in one array, (2, planes, rows, cols): one batched PC pass.
    planes = np.stack([_working_planes(a, factor, chromatic), _working_planes(b, factor, chromatic)])
    pc = phase_congruency_stack(planes[:, 0], precision=precision)
    gradient = _gradient_stack(planes[:, 0])
    return _score(planes, pc, gradient, chromatic=chromatic, factor=factor, full=full)


def _working_planes(image: np.ndarray, factor: int, chromatic: bool) -> np.ndarray:
    """Y (and I, Q for FSIMc) on the 0-255 scale, downsampled: (planes, rows, cols).

    Downsampled before stacking, so that only the small planes are copied.
    """
    full_size = yiq(image, luma_only=not chromatic) if image.ndim == 3 else image[None]
    return _downsample(full_size, factor)


def _score(planes, pc, gradient, *, chromatic: bool, factor: int, full: bool):
    """FSIM from both images' working planes, PC and gradient maps (first axis: the two images)."""
    s_pc = _similarity(pc[0], pc[1], T1)
    s_g = _similarity(gradient[0], gradient[1], T2)
    s_l = s_g * s_pc
    pc_max = np.maximum(pc[0], pc[1])
    s_c = None
    if chromatic:
        s_i = _similarity(planes[0][1], planes[1][1], T3)
        s_q = _similarity(planes[0][2], planes[1][2], T4)
        s_c = _real_power(s_i * s_q, LAMBDA)
    score = _weighted_mean(s_l if s_c is None else s_l * s_c, pc_max)
    if not full:
        return score
    return score, FSIMResult(
        score=score,
        chromatic=bool(chromatic),
        factor=factor,
        pc1=pc[0],
        pc2=pc[1],
        gradient1=gradient[0],
        gradient2=gradient[1],
        pc_similarity=s_pc,
        gradient_similarity=s_g,
        similarity=s_l,
        pc_max=pc_max,
        chromatic_similarity=s_c,
    )


# --------------------------------------------------------------------------- one image at a time


@dataclass(frozen=True, eq=False)
class FSIMFeatures:
    """What FSIM needs from one image, computed once by :func:`fsim_features`.

    Comparing a query with a gallery of N images by :func:`fsim` computes
    phase congruency 2N times; with features it is computed N + 1 times and
    each comparison is a few array operations (:func:`fsim_compare`).

    Attributes
    ----------
    planes
        ``(1, rows, cols)`` Y, or ``(3, rows, cols)`` Y, I, Q for FSIMc, on
        the 0-255 scale, after downsampling.
    pc, gradient
        Phase congruency and gradient magnitude of Y, ``(rows, cols)``.
    factor
        The downsampling factor used (1 = none).
    shape
        The input image's shape (two features compare only if these match).
    chromatic
        Whether the features can give FSIMc (RGB input with ``chromatic=True``).
    """

    planes: np.ndarray
    pc: np.ndarray
    gradient: np.ndarray
    factor: int
    shape: tuple[int, ...]
    chromatic: bool


def fsim_features(image, *, chromatic: bool = False, downsample: bool = True,
                  precision: str = "single") -> FSIMFeatures:
    """The per-image half of :func:`fsim`: working planes, phase congruency and gradient.

    ``fsim_compare(fsim_features(a), fsim_features(b))`` equals ``fsim(a, b)``
    (within ~1e-12: the phase-congruency FFTs run on one image instead of
    two), with the same options. Inputs and errors as :func:`fsim`.

    Examples
    --------
    >>> from skimage.data import camera
    >>> a, b = camera(), camera()[:, ::-1]
    >>> abs(fsim_compare(fsim_features(a), fsim_features(b)) - fsim(a, b)) < 1e-9
    True
    """
    return fsim_features_many([image], chromatic=chromatic, downsample=downsample, precision=precision)[0]


def fsim_features_many(images, *, chromatic: bool = False, downsample: bool = True,
                       precision: str = "single") -> list[FSIMFeatures]:
    """:func:`fsim_features` of several images; same-shape images go through PC two at a time.

    Two per FFT pass is what :func:`fsim` does; larger batches measured slower here (the
    filter bank of many images no longer fits the CPU caches).
    """
    _require_booleans(chromatic=chromatic, downsample=downsample)
    prepared = []
    for i, image in enumerate(images):
        name = f"images[{i}]"
        checked = check_image(image, name=name, min_size=MIN_SIZE)
        if chromatic and checked.ndim == 2:
            raise InvalidParameterError(
                f"chromatic=True (FSIMc) needs RGB images (H×W×3), but {name} is gray; use chromatic=False")
        intensity = to_intensity_255(checked, name=name)
        factor = downsample_factor(intensity.shape) if downsample else 1
        prepared.append((intensity.shape, factor, _working_planes(intensity, factor, chromatic)))
    features: list[FSIMFeatures | None] = [None] * len(prepared)
    for shape in dict.fromkeys(p[0] for p in prepared):
        same_shape = [i for i, p in enumerate(prepared) if p[0] == shape]
        for start in range(0, len(same_shape), _FEATURE_BATCH):
            members = same_shape[start:start + _FEATURE_BATCH]
            planes = np.stack([prepared[i][2] for i in members])
            pc = phase_congruency_stack(planes[:, 0], precision=precision)
            gradient = _gradient_stack(planes[:, 0])
            for j, i in enumerate(members):
                features[i] = FSIMFeatures(planes=planes[j], pc=pc[j], gradient=gradient[j],
                                           factor=prepared[i][1], shape=shape, chromatic=bool(chromatic))
    return features


def fsim_compare(features1: FSIMFeatures, features2: FSIMFeatures, *, full: bool = False):
    """FSIM (or FSIMc, when both features are chromatic) from two :func:`fsim_features` results.

    Returns
    -------
    float or (float, FSIMResult)
        As :func:`fsim`: the index, and with ``full=True`` every intermediate map.

    Raises
    ------
    ShapeMismatchError
        The features come from images of different shapes.
    InvalidParameterError
        Not :class:`FSIMFeatures`, or computed with different options.
    """
    for label, f in (("features1", features1), ("features2", features2)):
        if not isinstance(f, FSIMFeatures):
            raise InvalidParameterError(f"{label} must come from fsim_features(); got {type(f).__name__}")
    if features1.shape != features2.shape:
        raise ShapeMismatchError(
            f"FSIM compares images of one shape; the features come from {features1.shape} and "
            f"{features2.shape} (resize or align the images before fsim_features)")
    if (features1.chromatic, features1.factor) != (features2.chromatic, features2.factor):
        raise InvalidParameterError(
            "the two features were computed with different options (chromatic / downsample); "
            "use the same for both")
    return _score(
        (features1.planes, features2.planes),
        (features1.pc, features2.pc),
        (features1.gradient, features2.gradient),
        chromatic=features1.chromatic,
        factor=features1.factor,
        full=full,
    )


# --------------------------------------------------------------------------- the copied recipe


def fsim_phasepack_recipe(image1, image2) -> float:
    """The FSIM recipe widely copied in Python, built on ``phasepack`` — not FeatureSIM.m.

    Kept so that the course can show, side by side, why values from this
    recipe differ from published FSIM values. It reproduces the recipe of
    the ``image-similarity-measures`` package and its many copies:

    * for each colour channel separately (R, G, B, not luminance), then the
      mean of the per-channel scores;
    * ``phasepack.phasecong`` (Kovesi's later *phasecong3*) with nscale 4,
      minWaveLength 6, mult 2, sigmaOnf 0.5978 and its default **6
      orientations**; the 6 per-orientation PC maps are **summed**, so "PC"
      reaches up to 6 while T1 = 0.85 was tuned for [0, 1];
    * **no downsampling** (FeatureSIM.m halves a 512-pixel image first);
    * gradients from ``cv2.Scharr`` into an **unsigned** 16-bit image: negative
      derivatives are clipped to 0, the kernel is not divided by 16, and the
      squares are taken in ``uint16`` arithmetic, so they wrap around
      modulo 65536 for strong edges.

    Parameters
    ----------
    image1, image2
        Same-shape gray or RGB images; converted to ``uint8`` first (the
        recipe assumes what ``cv2.imread`` returns).

    Returns
    -------
    float
        The recipe's score (not bounded by 1 in general). Where a channel has
        no phase congruency at all (a flat channel), the copied recipe divides
        0 by 0 and returns NaN; here, as in :func:`fsim`, every pixel then
        weighs the same: two identical flat images score 1.0, and two
        different flat ones also score 1.0, since both features it compares
        (PC and the gradient) are 0 everywhere — the recipe cannot see a
        change of uniform brightness.

    Examples
    --------
    >>> from skimage.data import camera
    >>> img = camera()[::4, ::4]
    >>> round(fsim_phasepack_recipe(img, img), 6)
    1.0
    """
    import cv2

    with warnings.catch_warnings():
        # phasepack warns on import when pyfftw is missing; the message starts
        # with a newline, hence (?s) so that ".*" can cross it.
        warnings.filterwarnings("ignore", message=r"(?s).*pyfftw", category=UserWarning)
        from phasepack import phasecong

    a = to_uint8(check_image(image1, name="image1"), name="image1")
    b = to_uint8(check_image(image2, name="image2"), name="image2")
    _check_pair(a, b)
    if a.ndim == 2:
        a, b = a[..., None], b[..., None]

    scores = []
    for channel in range(a.shape[2]):
        pcs, grads = [], []
        for image in (a, b):
            plane = np.ascontiguousarray(image[..., channel])
            with np.errstate(invalid="ignore", divide="ignore"):
                pc_per_orientation = phasecong(
                    plane, nscale=4, minWaveLength=6, mult=2, sigmaOnf=0.5978
                )[4]
            # phasepack divides 0 energy by 0 amplitude where a plane is flat: no
            # structure there, so PC 0 (as fsim() gives a constant image), not NaN.
            pcs.append(np.nan_to_num(np.sum(pc_per_orientation, axis=0), nan=0.0))
            gx = cv2.Scharr(plane, cv2.CV_16U, 1, 0)
            gy = cv2.Scharr(plane, cv2.CV_16U, 0, 1)
            # uint16 squares and sum, wrapping around like the original recipe.
            grads.append(np.sqrt(gx**2 + gy**2))
        s_l = _similarity(pcs[0], pcs[1], T1) * _similarity(grads[0], grads[1], T2)
        pc_max = np.maximum(pcs[0], pcs[1])
        # The copied recipe divides by sum(PC_m) and gives NaN (0/0) for a flat channel;
        # like fsim(), every pixel then weighs the same, so identical flat images score 1.
        scores.append(_weighted_mean(s_l, pc_max))
    return float(np.mean(scores))
