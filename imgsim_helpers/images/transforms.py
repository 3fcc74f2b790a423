"""The transform library: the changes an image goes through between two copies.

Every transform has the same signature, ``transform(image, strength, *, seed=0)``,
returns a new image of the same dtype (``crop`` also changes the size,
``transparency`` adds an alpha channel), and is deterministic for a given
seed (a non-negative integer). Inputs are ``uint8``, ``uint16``, floats in
[0, 1] (floats outside it are refused, not clipped: divide 0..255 values by
255) or ``bool``; ``float16`` input is computed and returned as ``float32``.
A ``bool`` mask is read as 0/1: ``crop`` and ``flip``, which only move
pixels, return ``bool``; every other transform computes new values and
returns ``float64`` in [0, 1]. :data:`TRANSFORMS` describes each one — its strength's unit, the
strength that changes nothing, and the range the benchmark sweeps — so the
notebooks and the retrieval benchmark read the same definitions.

Examples
--------
>>> import numpy as np
>>> img = np.zeros((32, 32, 3), np.uint8)
>>> apply_transform(img, "rotate", 10).shape
(32, 32, 3)
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from imgsim_helpers.core.checks import check_image, check_unit_range, value_range
from imgsim_helpers.core.errors import InvalidParameterError, unknown_name


@dataclass(frozen=True)
class TransformSpec:
    """What a transform's strength means and which values make sense."""

    name: str
    function: Callable
    unit: str
    identity: float
    low: float
    high: float
    sweep: tuple[float, ...]
    description: str


# --------------------------------------------------------------------------- helpers


def _check(image, strength, low, high, name, seed=0):
    image = check_unit_range(check_image(image))
    if isinstance(strength, bool | np.bool_) or not isinstance(strength, numbers.Real) or not math.isfinite(strength):
        raise InvalidParameterError(f"{name} strength must be a finite number; got {strength!r}")
    if isinstance(seed, bool | np.bool_) or not isinstance(seed, int | np.integer) or seed < 0:
        raise InvalidParameterError(f"{name}: seed must be a non-negative integer; got {seed!r}")
    if not low <= strength <= high:
        raise InvalidParameterError(
            f"{name} strength {strength!r} is outside [{low}, {high}] ({TRANSFORMS[name].unit})"
        )
    return image


def _to_work(image: np.ndarray) -> np.ndarray:
    """float32 in 0..255 whatever the input dtype, so every transform uses one scale."""
    return image.astype(np.float32) * np.float32(255.0 / value_range(image))


def _from_work(work: np.ndarray, like: np.ndarray) -> np.ndarray:
    work = np.clip(work, 0.0, 255.0)
    if like.dtype == np.uint8:
        return np.round(work).astype(np.uint8)
    if like.dtype == np.uint16:
        return np.round(work * 257.0).astype(np.uint16)
    return (work / 255.0).astype(like.dtype if like.dtype != np.bool_ else np.float64)


def _warp(image: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    import cv2

    h, w = image.shape[:2]
    work = _to_work(image)
    out = cv2.warpAffine(
        work, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101
    )
    return _from_work(out, image)


# --------------------------------------------------------------------------- geometry


def shift(image, strength: float, *, seed: int = 0) -> np.ndarray:
    """Translate right by ``strength`` pixels (negative: left), edges mirrored.

    Examples
    --------
    >>> img = np.arange(16, dtype=np.uint8).reshape(4, 4)
    >>> shift(img, 1)[0].tolist()
    [1, 0, 1, 2]
    """
    image = _check(image, strength, -4096, 4096, "shift", seed)
    matrix = np.array([[1.0, 0.0, strength], [0.0, 1.0, 0.0]])
    return _warp(image, matrix)


def rotate(image, strength: float, *, seed: int = 0) -> np.ndarray:
    """Rotate by ``strength`` degrees counter-clockwise about the centre, same size, edges mirrored."""
    import cv2

    image = _check(image, strength, -360, 360, "rotate", seed)
    h, w = image.shape[:2]
    matrix = cv2.getRotationMatrix2D(((w - 1) / 2.0, (h - 1) / 2.0), float(strength), 1.0)
    return _warp(image, matrix)


def scale(image, strength: float, *, seed: int = 0) -> np.ndarray:
    """Zoom by the factor ``strength`` about the centre, keeping the size (> 1 zooms in)."""
    import cv2

    image = _check(image, strength, 0.1, 10.0, "scale", seed)
    h, w = image.shape[:2]
    matrix = cv2.getRotationMatrix2D(((w - 1) / 2.0, (h - 1) / 2.0), 0.0, float(strength))
    return _warp(image, matrix)


def crop(image, strength: float, *, seed: int = 0) -> np.ndarray:
    """Cut away the fraction ``strength`` of the width and of the height, at a seeded position.

    The result is smaller than the input: ``crop(img, 0.2)`` keeps 80 % of each side.
    """
    image = _check(image, strength, 0.0, 0.9, "crop", seed)
    h, w = image.shape[:2]
    new_h, new_w = max(1, round(h * (1 - strength))), max(1, round(w * (1 - strength)))
    rng = np.random.default_rng(seed)
    top = int(rng.integers(0, h - new_h + 1))
    left = int(rng.integers(0, w - new_w + 1))
    return image[top : top + new_h, left : left + new_w].copy()


def flip(image, strength: float = 1, *, seed: int = 0) -> np.ndarray:
    """Mirror: strength 0 keeps, 1 flips left-right, 2 flips up-down, 3 both (a 180° turn)."""
    image = _check(image, strength, 0, 3, "flip", seed)
    if strength not in (0, 1, 2, 3):
        raise InvalidParameterError(f"flip strength must be 0, 1, 2 or 3; got {strength!r}")
    out = image
    if int(strength) & 1:
        out = out[:, ::-1]
    if int(strength) & 2:
        out = out[::-1]
    return out.copy()  # a new image even for strength 0, as every transform returns


# --------------------------------------------------------------------------- photometric


def blur(image, strength: float, *, seed: int = 0) -> np.ndarray:
    """Gaussian blur with standard deviation ``strength`` pixels (0 changes nothing)."""
    import cv2

    image = _check(image, strength, 0.0, 100.0, "blur", seed)
    if strength == 0:
        return image.copy()
    out = cv2.GaussianBlur(_to_work(image), (0, 0), sigmaX=float(strength), borderType=cv2.BORDER_REFLECT_101)
    return _from_work(out, image)


def noise(image, strength: float, *, seed: int = 0) -> np.ndarray:
    """Add Gaussian noise of standard deviation ``strength`` gray levels (0-255 scale), clipped."""
    image = _check(image, strength, 0.0, 255.0, "noise", seed)
    rng = np.random.default_rng(seed)
    work = _to_work(image) + rng.normal(0.0, float(strength), image.shape).astype(np.float32)
    return _from_work(work, image)


def jpeg(image, strength: float, *, seed: int = 0) -> np.ndarray:
    """Encode as JPEG at quality ``strength`` (1-100; lower is stronger) and decode again."""
    import cv2

    image = _check(image, strength, 1, 100, "jpeg", seed)
    pixels = _from_work(_to_work(image), np.zeros(1, np.uint8))
    if pixels.ndim == 3 and pixels.shape[2] == 4:
        raise InvalidParameterError("JPEG has no alpha channel; composite RGBA images first (io.to_rgb)")
    # OpenCV encodes BGR; reversing the channels on the way in and out keeps RGB order.
    bgr = pixels[..., ::-1] if pixels.ndim == 3 else pixels
    ok, buffer = cv2.imencode(".jpg", np.ascontiguousarray(bgr), [cv2.IMWRITE_JPEG_QUALITY, int(round(strength))])
    if not ok:
        raise InvalidParameterError("OpenCV could not encode this image as JPEG")
    decoded = cv2.imdecode(buffer, cv2.IMREAD_UNCHANGED)
    decoded = decoded[..., ::-1] if decoded.ndim == 3 else decoded
    return _from_work(decoded.astype(np.float32), image)


def brightness(image, strength: float, *, seed: int = 0) -> np.ndarray:
    """Add ``strength`` gray levels (0-255 scale, negative darkens) to every pixel, clipped."""
    image = _check(image, strength, -255.0, 255.0, "brightness", seed)
    return _from_work(_to_work(image) + np.float32(strength), image)


def contrast(image, strength: float, *, seed: int = 0) -> np.ndarray:
    """Scale deviations from the image mean by the factor ``strength`` (1 changes nothing), clipped."""
    image = _check(image, strength, 0.0, 10.0, "contrast", seed)
    work = _to_work(image)
    mean = work.mean(axis=(0, 1), keepdims=True)
    return _from_work(mean + (work - mean) * np.float32(strength), image)


# --------------------------------------------------------------------------- overlays and backgrounds


def text_overlay(image, strength: float, *, seed: int = 0, text: str = "SAMPLE") -> np.ndarray:
    """Stamp white text with a dark outline; its height is the fraction ``strength`` of the image height.

    The position is drawn from ``seed``; 0 changes nothing.
    """
    import cv2

    image = _check(image, strength, 0.0, 1.0, "text_overlay", seed)
    if strength == 0:
        return image.copy()
    h, w = image.shape[:2]
    font = cv2.FONT_HERSHEY_SIMPLEX
    (tw, th), _ = cv2.getTextSize(text, font, 1.0, 2)
    font_scale = max(0.2, strength * h / th)
    font_scale = min(font_scale, 0.95 * w / tw)  # keep the whole word inside the image
    thickness = max(1, round(font_scale * 2))
    (tw, th), base = cv2.getTextSize(text, font, font_scale, thickness)
    rng = np.random.default_rng(seed)
    x = int(rng.integers(0, max(1, w - tw)))
    y = int(rng.integers(min(th, h - 1), max(th + 1, h - base)))
    work = _to_work(image)
    if work.ndim == 2:
        canvas, light, dark = work.copy(), 255.0, 0.0
    else:
        canvas = np.ascontiguousarray(work[..., :3])
        light, dark = (255.0, 255.0, 255.0), (0.0, 0.0, 0.0)
    cv2.putText(canvas, text, (x, y), font, font_scale, dark, thickness + 2, cv2.LINE_AA)
    cv2.putText(canvas, text, (x, y), font, font_scale, light, thickness, cv2.LINE_AA)
    if work.ndim == 3 and work.shape[2] == 4:
        canvas = np.dstack([canvas, work[..., 3]])
    return _from_work(canvas, image)


def foreground_mask(image, *, tolerance: float = 12.0) -> np.ndarray:
    """Estimate which pixels are not background.

    RGBA images: pixels with alpha > 0. Otherwise the background is the
    region connected to the image border whose colour lies within
    ``tolerance`` gray levels (0-255 scale) of the border's median colour —
    the plain backdrop of a screenshot, a product photo or a logo.

    Returns
    -------
    numpy.ndarray
        Boolean H×W mask, True on the foreground.
    """
    from scipy import ndimage

    image = check_unit_range(check_image(image))
    if isinstance(tolerance, bool | np.bool_) or not isinstance(tolerance, numbers.Real) or not 0 <= tolerance <= 255:
        raise InvalidParameterError(f"tolerance must be a number of gray levels in 0..255; got {tolerance!r}")
    if image.ndim == 3 and image.shape[2] == 4:
        return image[..., 3] > 0
    work = _to_work(image)
    if work.ndim == 2:
        work = work[..., None]
    border = np.concatenate([work[0], work[-1], work[:, 0], work[:, -1]])
    backdrop = np.median(border, axis=0)
    near = np.abs(work - backdrop).max(axis=2) <= tolerance
    labels, _ = ndimage.label(near)
    edge_labels = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    edge_labels = edge_labels[edge_labels > 0]
    return ~np.isin(labels, edge_labels)


def change_background(image, strength: float, *, seed: int = 0, tolerance: float = 12.0) -> np.ndarray:
    """Move the background (see :func:`foreground_mask`) towards a seeded colour by the fraction ``strength``.

    0 changes nothing, 1 replaces the background with the new colour
    entirely; foreground pixels are untouched. RGBA input is returned as RGB
    composited on the new colour.
    """
    image = _check(image, strength, 0.0, 1.0, "background", seed)
    mask = foreground_mask(image, tolerance=tolerance)
    rng = np.random.default_rng(seed)
    colour = rng.integers(0, 256, size=3).astype(np.float32)
    work = _to_work(image)
    if image.ndim == 3 and image.shape[2] == 4:
        alpha = work[..., 3:4] / 255.0
        rgb = work[..., :3]
        backdrop = rgb * (1 - strength) + colour * strength
        out = rgb * alpha + backdrop * (1 - alpha)
        return _from_work(out, image[..., :3])
    if work.ndim == 2:
        colour = np.float32(colour @ np.array([0.299, 0.587, 0.114], np.float32))
        out = np.where(mask, work, work * (1 - strength) + colour * strength)
    else:
        out = np.where(mask[..., None], work, work * (1 - strength) + colour * strength)
    return _from_work(out, image)


def transparency(image, strength: float, *, seed: int = 0, tolerance: float = 12.0) -> np.ndarray:
    """Make the background (see :func:`foreground_mask`) transparent: its alpha becomes ``1 - strength``.

    Returns an RGBA image (gray input is expanded to RGB first).
    """
    image = _check(image, strength, 0.0, 1.0, "transparency", seed)
    mask = foreground_mask(image, tolerance=tolerance)
    work = _to_work(image)
    if work.ndim == 2:
        work = np.repeat(work[..., None], 3, axis=2)
    rgb = work[..., :3]
    alpha = work[..., 3] if work.shape[2] == 4 else np.full(mask.shape, 255.0, np.float32)
    alpha = np.where(mask, alpha, alpha * (1 - strength))
    like = image if image.dtype != np.bool_ else image.astype(np.float64)
    return _from_work(np.dstack([rgb, alpha]), like)


TRANSFORMS: dict[str, TransformSpec] = {
    spec.name: spec
    for spec in [
        TransformSpec("shift", shift, "pixels", 0, -4096, 4096, (0, 1, 2, 4, 8, 16), "translation, edges mirrored"),
        TransformSpec("rotate", rotate, "degrees", 0, -360, 360, (0, 2, 5, 10, 30, 90), "rotation about the centre"),
        TransformSpec("scale", scale, "zoom factor", 1, 0.1, 10, (1.0, 1.1, 1.25, 1.5, 2.0), "zoom about the centre, same size"),
        TransformSpec("crop", crop, "fraction cut from each side length", 0, 0, 0.9, (0.0, 0.1, 0.2, 0.3, 0.5), "a seeded sub-window"),
        TransformSpec("flip", flip, "0 none, 1 left-right, 2 up-down, 3 both", 0, 0, 3, (0, 1, 2), "mirror"),
        TransformSpec("blur", blur, "Gaussian sigma in pixels", 0, 0, 100, (0, 1, 2, 4, 8), "Gaussian blur"),
        TransformSpec("noise", noise, "noise sigma in gray levels", 0, 0, 255, (0, 5, 10, 20, 40), "additive Gaussian noise"),
        TransformSpec("jpeg", jpeg, "JPEG quality (lower is stronger)", 100, 1, 100, (95, 75, 50, 20, 5), "JPEG compression"),
        TransformSpec("brightness", brightness, "gray levels added", 0, -255, 255, (0, 20, 40, 80), "brightness offset"),
        TransformSpec("contrast", contrast, "contrast factor", 1, 0, 10, (1.0, 0.8, 0.6, 1.4), "contrast stretch about the mean"),
        TransformSpec("text_overlay", text_overlay, "text height / image height", 0, 0, 1, (0.0, 0.05, 0.1, 0.2), "stamped caption"),
        TransformSpec("background", change_background, "fraction of the new background colour", 0, 0, 1, (0.0, 0.25, 0.5, 1.0), "background colour change"),
        TransformSpec("transparency", transparency, "background transparency", 0, 0, 1, (0.0, 0.5, 1.0), "transparent background (RGBA)"),
    ]
}


def apply_transform(image, name: str, strength: float, *, seed: int = 0) -> np.ndarray:
    """Apply the transform called ``name`` (a key of :data:`TRANSFORMS`).

    Raises
    ------
    UnknownMethodError
        If ``name`` is not a known transform (the message lists them).
    InvalidParameterError
        If ``strength`` is outside the transform's range.
    """
    if name not in TRANSFORMS:
        raise unknown_name("transform", name, TRANSFORMS)
    return TRANSFORMS[name].function(image, strength, seed=seed)
