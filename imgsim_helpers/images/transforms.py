"""The transform library: the changes an image goes through between two copies.

Every transform is ``transform(image, strength, *, seed=0)``, deterministic for a seed, and
returns a new image of the input's dtype (float64 for bool, unless it only moves pixels).
:data:`TRANSFORMS` gives each strength's unit, its no-change value and the benchmark's sweep.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from imgsim_helpers.core.checks import (
    check_choice,
    check_image,
    check_real,
    check_seed,
    check_unit_range,
    value_range,
)
from imgsim_helpers.core.errors import InvalidParameterError
from imgsim_helpers.images.io import LUMA_WEIGHTS


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


def _check(image, strength, name: str, seed) -> np.ndarray:
    """The one check of every transform: image in range, strength within the spec, seed."""
    spec = TRANSFORMS[name]
    image = check_unit_range(check_image(image))
    check_real(strength, f"{name} strength", low=spec.low, high=spec.high, hint=spec.unit)
    check_seed(seed)
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


def _warp(image: np.ndarray, matrix=None, *, degrees: float = 0.0, zoom: float = 1.0) -> np.ndarray:
    """Apply an affine ``matrix`` (default: turn by ``degrees`` and zoom about the centre), edges mirrored."""
    import cv2

    h, w = image.shape[:2]
    if matrix is None:
        matrix = cv2.getRotationMatrix2D(((w - 1) / 2.0, (h - 1) / 2.0), float(degrees), float(zoom))
    out = cv2.warpAffine(_to_work(image), matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
    return _from_work(out, image)


# --------------------------------------------------------------------------- geometry


def shift(image, strength: float, *, seed: int = 0) -> np.ndarray:
    """Translate right by ``strength`` pixels (negative: left), edges mirrored.

    >>> shift(np.arange(16, dtype=np.uint8).reshape(4, 4), 1)[0].tolist()
    [1, 0, 1, 2]
    """
    return _warp(_check(image, strength, "shift", seed), np.array([[1.0, 0.0, strength], [0.0, 1.0, 0.0]]))


def rotate(image, strength: float, *, seed: int = 0) -> np.ndarray:
    """Rotate by ``strength`` degrees counter-clockwise about the centre, same size, edges mirrored."""
    return _warp(_check(image, strength, "rotate", seed), degrees=strength)


def scale(image, strength: float, *, seed: int = 0) -> np.ndarray:
    """Zoom by the factor ``strength`` about the centre, keeping the size (> 1 zooms in)."""
    return _warp(_check(image, strength, "scale", seed), zoom=strength)


def crop(image, strength: float, *, seed: int = 0) -> np.ndarray:
    """Cut away the fraction ``strength`` of the width and of the height, at a seeded position."""
    image = _check(image, strength, "crop", seed)
    h, w = image.shape[:2]
    new_h, new_w = max(1, round(h * (1 - strength))), max(1, round(w * (1 - strength)))
    rng = np.random.default_rng(seed)
    top = int(rng.integers(0, h - new_h + 1))
    left = int(rng.integers(0, w - new_w + 1))
    return image[top : top + new_h, left : left + new_w].copy()


def flip(image, strength: float = 1, *, seed: int = 0) -> np.ndarray:
    """Mirror: strength 0 keeps, 1 flips left-right, 2 flips up-down, 3 both (a 180° turn)."""
    image = _check(image, strength, "flip", seed)
    if strength not in (0, 1, 2, 3):
        raise InvalidParameterError(f"flip strength must be 0, 1, 2 or 3; got {strength!r}")
    out = image[:, ::-1] if int(strength) & 1 else image
    out = out[::-1] if int(strength) & 2 else out
    return out.copy()  # a new image even for strength 0, as every transform returns


# --------------------------------------------------------------------------- photometric


def blur(image, strength: float, *, seed: int = 0) -> np.ndarray:
    """Gaussian blur with standard deviation ``strength`` pixels (0 changes nothing)."""
    import cv2

    image = _check(image, strength, "blur", seed)
    if strength == 0:
        return image.copy()
    out = cv2.GaussianBlur(_to_work(image), (0, 0), sigmaX=float(strength), borderType=cv2.BORDER_REFLECT_101)
    return _from_work(out, image)


def noise(image, strength: float, *, seed: int = 0) -> np.ndarray:
    """Add Gaussian noise of standard deviation ``strength`` gray levels (0-255 scale), clipped."""
    image = _check(image, strength, "noise", seed)
    rng = np.random.default_rng(seed)
    return _from_work(_to_work(image) + rng.normal(0.0, float(strength), image.shape).astype(np.float32), image)


def jpeg(image, strength: float, *, seed: int = 0) -> np.ndarray:
    """Encode as JPEG at quality ``strength`` (1-100; lower is stronger) and decode again."""
    import cv2

    image = _check(image, strength, "jpeg", seed)
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
    image = _check(image, strength, "brightness", seed)
    return _from_work(_to_work(image) + np.float32(strength), image)


def contrast(image, strength: float, *, seed: int = 0) -> np.ndarray:
    """Scale deviations from the image mean by the factor ``strength`` (1 changes nothing), clipped."""
    image = _check(image, strength, "contrast", seed)
    work = _to_work(image)
    mean = work.mean(axis=(0, 1), keepdims=True)
    return _from_work(mean + (work - mean) * np.float32(strength), image)


# --------------------------------------------------------------------------- overlays and backgrounds


def text_overlay(image, strength: float, *, seed: int = 0, text: str = "SAMPLE") -> np.ndarray:
    """Stamp white text with a dark outline, ``strength`` of the image height tall, at a seeded place."""
    import cv2

    image = _check(image, strength, "text_overlay", seed)
    if strength == 0:
        return image.copy()
    h, w = image.shape[:2]
    font = cv2.FONT_HERSHEY_SIMPLEX
    (tw, th), _ = cv2.getTextSize(text, font, 1.0, 2)
    font_scale = min(max(0.2, strength * h / th), 0.95 * w / tw)  # the whole word stays inside
    thickness = max(1, round(font_scale * 2))
    (tw, th), base = cv2.getTextSize(text, font, font_scale, thickness)
    rng = np.random.default_rng(seed)
    x = int(rng.integers(0, max(1, w - tw)))
    y = int(rng.integers(min(th, h - 1), max(th + 1, h - base)))
    work = _to_work(image)
    if work.ndim == 2:
        canvas, light, dark = work.copy(), 255.0, 0.0
    else:
        canvas, light, dark = np.ascontiguousarray(work[..., :3]), (255.0,) * 3, (0.0,) * 3
    cv2.putText(canvas, text, (x, y), font, font_scale, dark, thickness + 2, cv2.LINE_AA)
    cv2.putText(canvas, text, (x, y), font, font_scale, light, thickness, cv2.LINE_AA)
    if work.ndim == 3 and work.shape[2] == 4:
        canvas = np.dstack([canvas, work[..., 3]])
    return _from_work(canvas, image)


def _check_tolerance(tolerance) -> float:
    return check_real(tolerance, "tolerance", low=0, high=255, hint="gray levels")


def foreground_mask(image, *, tolerance: float = 12.0) -> np.ndarray:
    """Boolean H×W mask, True off the background: alpha > 0 for RGBA, otherwise the pixels not
    connected to the border within ``tolerance`` gray levels (0-255) of its median colour."""
    return _foreground(check_unit_range(check_image(image)), _check_tolerance(tolerance))


def _foreground(image: np.ndarray, tolerance: float) -> np.ndarray:
    from scipy import ndimage

    if image.ndim == 3 and image.shape[2] == 4:
        return image[..., 3] > 0
    work = _to_work(image)
    work = work[..., None] if work.ndim == 2 else work
    border = np.concatenate([work[0], work[-1], work[:, 0], work[:, -1]])
    near = np.abs(work - np.median(border, axis=0)).max(axis=2) <= tolerance
    labels, _ = ndimage.label(near)
    edge_labels = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    return ~np.isin(labels, edge_labels[edge_labels > 0])


def change_background(image, strength: float, *, seed: int = 0, tolerance: float = 12.0) -> np.ndarray:
    """Move the background (:func:`foreground_mask`) towards a seeded colour by the fraction
    ``strength``; RGBA input comes back RGB, composited on the new colour."""
    image = _check(image, strength, "background", seed)
    mask = _foreground(image, _check_tolerance(tolerance))
    colour = np.random.default_rng(seed).integers(0, 256, size=3).astype(np.float32)
    work = _to_work(image)
    if image.ndim == 3 and image.shape[2] == 4:
        alpha, rgb = work[..., 3:4] / 255.0, work[..., :3]
        backdrop = rgb * (1 - strength) + colour * strength
        return _from_work(rgb * alpha + backdrop * (1 - alpha), image[..., :3])
    if work.ndim == 2:
        colour = np.float32(colour @ LUMA_WEIGHTS.astype(np.float32))
    keep = mask if work.ndim == 2 else mask[..., None]
    return _from_work(np.where(keep, work, work * (1 - strength) + colour * strength), image)


def transparency(image, strength: float, *, seed: int = 0, tolerance: float = 12.0) -> np.ndarray:
    """Make the background (:func:`foreground_mask`) transparent: its alpha becomes ``1 - strength``
    (returns RGBA; gray input is expanded to RGB first)."""
    image = _check(image, strength, "transparency", seed)
    mask = _foreground(image, _check_tolerance(tolerance))
    work = _to_work(image)
    work = np.repeat(work[..., None], 3, axis=2) if work.ndim == 2 else work
    alpha = work[..., 3] if work.shape[2] == 4 else np.full(mask.shape, 255.0, np.float32)
    alpha = np.where(mask, alpha, alpha * (1 - strength))
    like = image if image.dtype != np.bool_ else image.astype(np.float64)
    return _from_work(np.dstack([work[..., :3], alpha]), like)


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
    """Apply the transform called ``name`` (a key of :data:`TRANSFORMS`)."""
    return TRANSFORMS[check_choice(name, "transform", TRANSFORMS)].function(image, strength, seed=seed)
