"""FSIM and FSIMc, the feature similarity index, exactly as the authors' FeatureSIM.m.

FSIM (Zhang, Zhang, Mou & Zhang, IEEE TIP 2011) compares two features per pixel: phase congruency
PC (:mod:`imgsim_helpers.metrics.log_gabor`; where the structure is, whatever its contrast) and the
gradient magnitude G (Scharr; how strong it is). :func:`fsim_reference` is the definition, written
as FeatureSIM.m reads; :func:`fsim` is the fast path, tested equal to it. In short,

    S_L = (2 PC1 PC2 + T1) / (PC1² + PC2² + T1) · (2 G1 G2 + T2) / (G1² + G2² + T2)
    FSIM = Σ S_L PC_m / Σ PC_m,   PC_m = max(PC1, PC2)

and FSIMc multiplies S_L by Re[(S_I S_Q)^λ] from the I and Q planes of YIQ. Both reproduce the
values FeatureSIM.m prints to 1e-5 (the reference tests). Three documented departures: PC in single
precision by default (``precision="double"``: scores move by ~1e-8), a constant image has PC 0
instead of NaN, and when no pixel has any PC the pixels weigh the same instead of 0/0. Both indices
lie in [0, 1], and FSIMc <= FSIM (the chromatic term lies in [0, 1]).
:func:`fsim_phasepack_recipe` is the different, widely copied recipe, kept for comparison.

>>> from skimage.data import astronaut
>>> img = astronaut()[::2, ::2]
>>> noisy = np.clip(img + np.random.default_rng(0).normal(0, 20, img.shape), 0, 255).astype(np.uint8)
>>> fsim(img, img), 0.0 < fsim(img, noisy, chromatic=True) <= fsim(img, noisy) < 1.0
(1.0, True)
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from imgsim_helpers.core.checks import check_choice, check_flag, check_instance, check_pixel_pair
from imgsim_helpers.core.errors import InvalidParameterError, ShapeMismatchError
from imgsim_helpers.images.io import to_uint8
from imgsim_helpers.metrics.log_gabor import (
    PRECISIONS,
    checked_intensity,
    phase_congruency_reference,
    phase_congruency_stack,
    require_size,
    to_intensity_255,
    yiq,
)

__all__ = [
    "LAMBDA",
    "T1",
    "T2",
    "T3",
    "T4",
    "FSIMFeatures",
    "FSIMResult",
    "downsample_factor",
    "fsim",
    "fsim_compare",
    "fsim_features",
    "fsim_features_many",
    "fsim_phasepack_recipe",
    "fsim_reference",
    "gradient_magnitude",
]

T1 = 0.85  #: stabilising constant of the phase-congruency similarity (PC in [0, 1])
T2 = 160.0  #: stabilising constant of the gradient similarity (gradients of 0-255 images)
T3 = T4 = 200.0  #: stabilising constants of the I and Q similarities
LAMBDA = 0.03  #: exponent of the chromatic term of FSIMc
_FEATURE_BATCH = 2  # images per phase-congruency pass; larger batches measured slower (CPU caches)


# --------------------------------------------------------------------------- the definition


def fsim_reference(image1, image2, *, chromatic: bool = False) -> float:
    """FSIM (FSIMc) of two gray or RGB float images on the 0-255 scale, as FeatureSIM.m reads.

    >>> from skimage.data import camera
    >>> fsim_reference(camera() * 1.0, camera() * 1.0)
    1.0
    """
    factor = downsample_factor(image1.shape)  # MATLAB's round(min(rows, cols) / 256), at least 1
    # The Y, I, Q planes (gray input: the image is Y), averaged over F×F blocks, every F-th pixel kept.
    planes1 = _downsample(yiq(image1) if image1.ndim == 3 else image1[None], factor)
    planes2 = _downsample(yiq(image2) if image2.ndim == 3 else image2[None], factor)
    y1, y2 = planes1[0], planes2[0]
    pc1, pc2 = phase_congruency_reference(y1), phase_congruency_reference(y2)
    g1, g2 = _gradient_stack(y1), _gradient_stack(y2)  # Scharr / 16, zero padding
    s_l = _similarity(pc1, pc2, T1) * _similarity(g1, g2, T2)
    if chromatic:  # I and Q: planes 1 and 2 of YIQ; MATLAB's real(complex power)
        s_iq = _similarity(planes1[1], planes2[1], T3) * _similarity(planes1[2], planes2[2], T4)
        s_l = s_l * np.real(s_iq.astype(complex) ** LAMBDA)
    pc_m = np.maximum(pc1, pc2)
    return float(np.sum(s_l * pc_m) / np.sum(pc_m))


# --------------------------------------------------------------------------- building blocks


def downsample_factor(shape: tuple[int, ...]) -> int:
    """FeatureSIM.m's ``max(1, round(min(rows, cols) / 256))`` with MATLAB's round (halves up).

    >>> [downsample_factor((n, 1000)) for n in (300, 384, 512, 640, 1000)]
    [1, 2, 2, 3, 4]
    """
    return max(1, (int(min(shape[:2])) + 128) // 256)  # integers: exactly m / 256 rounded half up


def _downsample(planes: np.ndarray, factor: int) -> np.ndarray:
    """``conv2(x, ones(F)/F², 'same')`` then ``x(1:F:end, 1:F:end)`` on the last two axes.

    MATLAB's 'same' window covers ``F - 1 - F//2`` pixels before and ``F//2`` after, zeros beyond
    the border; the kept windows tile the zero-padded image, so strided sums compute exactly them.
    """
    if factor == 1:
        return planes
    before = factor - 1 - factor // 2
    *lead, rows, cols = planes.shape
    out_rows, out_cols = -(-rows // factor), -(-cols // factor)
    tiled = planes  # the windows tile the image itself (F = 2, even sides: the usual case)
    if before or rows % factor or cols % factor:
        tiled = np.zeros((*lead, out_rows * factor, out_cols * factor))
        r_end, c_end = min(rows, out_rows * factor - before), min(cols, out_cols * factor - before)
        tiled[..., before : before + r_end, before : before + c_end] = planes[..., :r_end, :c_end]
    rows_summed = sum(tiled[..., i::factor, :] for i in range(factor))
    return sum(rows_summed[..., j::factor] for j in range(factor)) / factor**2


def _gradient_stack(planes: np.ndarray) -> np.ndarray:
    """Scharr/16 gradient magnitude of ``(..., rows, cols)`` planes, ``conv2 'same'``, zero padding."""
    padded = np.pad(planes, [(0, 0)] * (planes.ndim - 2) + [(1, 1), (1, 1)])
    across = padded[..., :, 2:] - padded[..., :, :-2]  # the kernel's sign does not change the magnitude
    gx = (3.0 * across[..., :-2, :] + 10.0 * across[..., 1:-1, :] + 3.0 * across[..., 2:, :]) / 16.0
    down = padded[..., 2:, :] - padded[..., :-2, :]
    gy = (3.0 * down[..., :, :-2] + 10.0 * down[..., :, 1:-1] + 3.0 * down[..., :, 2:]) / 16.0
    return np.sqrt(gx**2 + gy**2)


def gradient_magnitude(image) -> np.ndarray:
    """FeatureSIM.m's gradient magnitude (Scharr / 16, zero padding) of a gray or RGB (Y) image, 0-255 scale.

    Not downsampled; a constant image has a gradient along its border, as in the original.

    >>> img = np.zeros((20, 20), np.uint8)
    >>> img[:, 10:] = 160
    >>> float(gradient_magnitude(img)[10, 9]), float(gradient_magnitude(img)[10, 5])
    (160.0, 0.0)
    """
    work = checked_intensity(image, "image")
    return _gradient_stack(yiq(work, luma_only=True)[0] if work.ndim == 3 else work)


def _similarity(a: np.ndarray, b: np.ndarray, constant: float) -> np.ndarray:
    return (2.0 * a * b + constant) / (a**2 + b**2 + constant)


def _real_power(base: np.ndarray, exponent: float) -> np.ndarray:
    """MATLAB's ``real(base .^ exponent)`` for real ``base``: |b|^λ cos(πλ) where b < 0, no complex arrays."""
    magnitude = np.abs(base) ** exponent
    return np.where(base < 0, magnitude * np.cos(np.pi * exponent), magnitude)


def _weighted_mean(values: np.ndarray, weights: np.ndarray) -> float:
    total = float(np.sum(weights))
    # No phase congruency anywhere (two constant images): FeatureSIM.m gives 0/0; here all count alike.
    return float(np.sum(values * weights) / total) if total > 0.0 else float(np.mean(values))


# --------------------------------------------------------------------------- FSIM


@dataclass(frozen=True, eq=False)
class FSIMResult:
    """Everything :func:`fsim` computes (``full=True``), at the size FSIM works at (after downsampling).

    ``pc1, pc2``: PC maps; ``gradient1, gradient2``: gradient maps; ``pc_similarity`` S_PC,
    ``gradient_similarity`` S_G, ``similarity`` S_L = S_PC S_G; ``pc_max`` PC_m, each pixel's
    weight; ``chromatic_similarity`` Re[(S_I S_Q)^0.03] for FSIMc, else ``None``.
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
        return self.similarity if self.chromatic_similarity is None else self.similarity * self.chromatic_similarity

    def __float__(self) -> float:
        return self.score


@dataclass(frozen=True, eq=False)
class FSIMFeatures:
    """What FSIM needs from one image (:func:`fsim_features`): a gallery search computes it once per image.

    ``planes``: Y (or Y, I, Q for FSIMc) on the 0-255 scale after downsampling, ``(planes, rows,
    cols)``; ``pc`` and ``gradient`` of Y; ``factor`` the downsampling used; ``shape`` the input's.
    """

    planes: np.ndarray
    pc: np.ndarray
    gradient: np.ndarray
    factor: int
    shape: tuple[int, ...]
    chromatic: bool


def fsim(image1, image2, *, chromatic: bool = False, downsample: bool = True, full: bool = False,
         precision: str = "single"):
    """Feature similarity index FSIM (or FSIMc) of two images, as FeatureSIM.m.

    Parameters
    ----------
    image1, image2
        Same-shape gray or RGB images, uint8, uint16, bool or float in [0, 1], at least 16 pixels
        each way; put on the 0-255 scale the constants assume (so ``u8 / 255`` scores like ``u8``).
        RGB gives FSIM of the unrounded Y = 0.299 R + 0.587 G + 0.114 B.
    chromatic
        FSIMc: also compare the I and Q planes (RGB only; FeatureSIM.m silently returns FSIM for gray).
    downsample
        FeatureSIM.m's F×F box filter and every F-th pixel, F = max(1, round(min(H, W) / 256)).
    full
        Also return an :class:`FSIMResult` with every intermediate map.
    precision
        Phase congruency in ``"single"`` (about twice as fast, within ~1e-8) or ``"double"``.

    >>> from skimage.data import camera
    >>> score, res = fsim(camera(), camera(), full=True)
    >>> score, res.factor, res.pc1.shape
    (1.0, 2, (256, 256))
    """
    options = _check_options(chromatic, downsample, precision)
    check_flag(full, "full")
    a, b = check_pixel_pair(image1, image2, metric="FSIM")
    require_size(*a.shape[:2])
    if chromatic and a.ndim == 2:
        raise InvalidParameterError("chromatic=True (FSIMc) needs RGB images (H×W×3), but these are gray; use "
                                    "chromatic=False (for gray images FeatureSIM.m's FSIMc equals FSIM)")
    intensities = [to_intensity_255(a, name="image1"), to_intensity_255(b, name="image2")]
    return _compare(*_features(intensities, *options), full)


def _check_options(chromatic, downsample, precision) -> tuple[bool, bool, str]:
    return check_flag(chromatic, "chromatic"), check_flag(downsample, "downsample"), \
        check_choice(precision, "precision", PRECISIONS)


def _features(intensities, chromatic: bool, downsample: bool, precision: str) -> list[FSIMFeatures]:
    """Features of checked images on the 0-255 scale; same-shape ones go through PC two at a time."""
    prepared = []
    for intensity in intensities:
        factor = downsample_factor(intensity.shape) if downsample else 1
        # Downsampled before stacking, so that only the small planes are copied.
        planes = yiq(intensity, luma_only=not chromatic) if intensity.ndim == 3 else intensity[None]
        prepared.append((intensity.shape, factor, _downsample(planes, factor)))
    features: list = [None] * len(prepared)
    for shape in dict.fromkeys(p[0] for p in prepared):
        same_shape = [i for i, p in enumerate(prepared) if p[0] == shape]
        for start in range(0, len(same_shape), _FEATURE_BATCH):
            members = same_shape[start : start + _FEATURE_BATCH]
            planes = np.stack([prepared[i][2] for i in members])
            pc = phase_congruency_stack(planes[:, 0], precision=precision)
            gradient = _gradient_stack(planes[:, 0])
            for j, i in enumerate(members):
                features[i] = FSIMFeatures(planes[j], pc[j], gradient[j], prepared[i][1], shape, chromatic)
    return features


def _compare(f1: FSIMFeatures, f2: FSIMFeatures, full: bool):
    """FSIM from two images' features: :func:`fsim_reference`'s formula on the precomputed maps."""
    s_pc, s_g = _similarity(f1.pc, f2.pc, T1), _similarity(f1.gradient, f2.gradient, T2)
    s_l = s_g * s_pc
    pc_max = np.maximum(f1.pc, f2.pc)
    s_c = None
    if f1.chromatic:
        s_c = _real_power(_similarity(f1.planes[1], f2.planes[1], T3) * _similarity(f1.planes[2], f2.planes[2], T4),
                          LAMBDA)
    score = _weighted_mean(s_l if s_c is None else s_l * s_c, pc_max)
    if not full:
        return score
    return score, FSIMResult(score, f1.chromatic, f1.factor, f1.pc, f2.pc, f1.gradient, f2.gradient, s_pc, s_g,
                             s_l, pc_max, s_c)


def fsim_features(image, *, chromatic: bool = False, downsample: bool = True,
                  precision: str = "single") -> FSIMFeatures:
    """The per-image half of :func:`fsim`; ``fsim_compare(fsim_features(a), fsim_features(b))`` equals
    ``fsim(a, b)`` within ~1e-12 (the FFTs run on one image instead of two). Options as :func:`fsim`.

    >>> from skimage.data import camera
    >>> a, b = camera(), camera()[:, ::-1]
    >>> abs(fsim_compare(fsim_features(a), fsim_features(b)) - fsim(a, b)) < 1e-9
    True
    """
    return fsim_features_many([image], chromatic=chromatic, downsample=downsample, precision=precision)[0]


def fsim_features_many(images, *, chromatic: bool = False, downsample: bool = True,
                       precision: str = "single") -> list[FSIMFeatures]:
    """:func:`fsim_features` of several images, each checked once; same-shape ones are batched."""
    options = _check_options(chromatic, downsample, precision)
    intensities = [checked_intensity(image, f"images[{i}]") for i, image in enumerate(images)]
    for i, intensity in enumerate(intensities):
        if chromatic and intensity.ndim == 2:
            raise InvalidParameterError(
                f"chromatic=True (FSIMc) needs RGB images (H×W×3), but images[{i}] is gray; use chromatic=False")
    return _features(intensities, *options)


def fsim_compare(features1: FSIMFeatures, features2: FSIMFeatures, *, full: bool = False):
    """FSIM (FSIMc when both features are chromatic) from two :func:`fsim_features` results; returns as :func:`fsim`."""
    check_flag(full, "full")
    for label, f in (("features1", features1), ("features2", features2)):
        check_instance(f, label, FSIMFeatures, "fsim_features")
    if features1.shape != features2.shape:
        raise ShapeMismatchError(f"FSIM compares images of one shape; the features come from {features1.shape} and "
                                 f"{features2.shape} (resize or align the images before fsim_features)")
    if (features1.chromatic, features1.factor) != (features2.chromatic, features2.factor):
        raise InvalidParameterError("the two features were computed with different options (chromatic / "
                                    "downsample); use the same for both")
    return _compare(features1, features2, full)


# --------------------------------------------------------------------------- the copied recipe


def fsim_phasepack_recipe(image1, image2) -> float:
    """The FSIM recipe widely copied in Python (``image-similarity-measures``), built on ``phasepack``.

    Not FeatureSIM.m: each of R, G, B separately, then the mean; ``phasepack.phasecong`` (Kovesi's
    *phasecong3*, 6 orientations) with its 6 orientation maps **summed**, so "PC" reaches 6 while
    T1 was tuned for [0, 1]; **no downsampling**; gradients from ``cv2.Scharr`` into **unsigned**
    16-bit (negative derivatives clipped to 0, not divided by 16, squares wrapping modulo 65536).
    Inputs become uint8 first. Where a channel has no PC at all the copied recipe gives NaN (0/0);
    here, as in :func:`fsim`, the pixels then weigh the same, so two flat images score 1.0.

    >>> from skimage.data import camera
    >>> round(fsim_phasepack_recipe(camera()[::4, ::4], camera()[::4, ::4]), 6)
    1.0
    """
    import cv2

    with warnings.catch_warnings():
        # phasepack warns on import without pyfftw; the message starts with a newline, hence (?s).
        warnings.filterwarnings("ignore", message=r"(?s).*pyfftw", category=UserWarning)
        from phasepack import phasecong

    a, b = (to_uint8(image) for image in check_pixel_pair(image1, image2, metric="FSIM"))
    require_size(*a.shape[:2])
    if a.ndim == 2:
        a, b = a[..., None], b[..., None]
    scores = []
    for channel in range(a.shape[2]):
        pcs, grads = [], []
        for image in (a, b):
            plane = np.ascontiguousarray(image[..., channel])
            with np.errstate(invalid="ignore", divide="ignore"):
                per_orientation = phasecong(plane, nscale=4, minWaveLength=6, mult=2, sigmaOnf=0.5978)[4]
            # phasepack divides 0 by 0 where a plane is flat: no structure there, so PC 0, not NaN.
            pcs.append(np.nan_to_num(np.sum(per_orientation, axis=0), nan=0.0))
            gx, gy = cv2.Scharr(plane, cv2.CV_16U, 1, 0), cv2.Scharr(plane, cv2.CV_16U, 0, 1)
            grads.append(np.sqrt(gx**2 + gy**2))  # uint16 squares, wrapping like the original
        s_l = _similarity(pcs[0], pcs[1], T1) * _similarity(grads[0], grads[1], T2)
        scores.append(_weighted_mean(s_l, np.maximum(pcs[0], pcs[1])))
    return float(np.mean(scores))
