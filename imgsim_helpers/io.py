"""Loading images safely, checking arrays, converting between dtypes and sizes.

Conventions of the whole package:

* images are NumPy arrays in **RGB** order (never BGR), ``uint8`` in
  [0, 255] or float in [0, 1]; gray images are 2-D;
* nothing returns ``None`` on failure: a missing or unreadable file raises
  an error that names the path and the reason.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .errors import (
    EmptyImageError,
    ImageLoadError,
    ImageNotFoundError,
    ImageTooSmallError,
    ImageTypeError,
    InvalidImageError,
    InvalidParameterError,
    ShapeMismatchError,
    unknown_name,
)

LOAD_MODES = ("rgb", "gray", "rgba")
ALIGN_POLICIES = ("error", "resize", "crop", "pad")
_INT_DTYPES = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}
# ITU-R BT.601 luma, the weights of Pillow's "L" conversion, OpenCV's
# cvtColor(RGB2GRAY) and MATLAB's rgb2gray / the Y of FeatureSIM.m.
LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114])


# --------------------------------------------------------------------------- checks


def validate_image(image, *, name: str = "image", min_size: int = 1) -> np.ndarray:
    """Check that ``image`` is an image array and return it as an ``ndarray``.

    Accepted: 2-D gray or 3-D ``H×W×C`` with C in {1, 3, 4}; dtype ``uint8``,
    ``uint16``, ``bool`` or floating point; float values finite. A trailing
    channel axis of size 1 is dropped.

    Parameters
    ----------
    image
        The array to check.
    name
        How error messages refer to it (``"image1"``, ``"query"`` ...).
    min_size
        The smallest accepted number of rows and of columns.

    Raises
    ------
    ImageTypeError
        Not an array, or an unsupported dtype (for example ``int64``).
    EmptyImageError
        Zero rows or columns.
    ImageTooSmallError
        Fewer than ``min_size`` rows or columns.
    InvalidImageError
        Wrong number of dimensions or channels, or NaN/inf values.

    Examples
    --------
    >>> validate_image(np.zeros((4, 5, 3), np.uint8)).shape
    (4, 5, 3)
    """
    if not isinstance(image, np.ndarray):
        hint = " (convert a PIL image with np.asarray(img))" if hasattr(image, "getpixel") else ""
        raise ImageTypeError(f"{name} must be a NumPy array; got {type(image).__name__}{hint}")
    dtype = image.dtype
    if not (dtype in _INT_DTYPES or dtype == np.bool_ or np.issubdtype(dtype, np.floating)):
        raise ImageTypeError(
            f"{name} has dtype {dtype}; expected uint8, uint16, bool or float "
            "(convert integers in 0..255 with .astype(np.uint8))"
        )
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (3, 4)):
        raise InvalidImageError(
            f"{name} has shape {image.shape}; expected H×W (gray), H×W×3 (RGB) or H×W×4 (RGBA)"
        )
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise EmptyImageError(f"{name} is empty (shape {image.shape})")
    if image.shape[0] < min_size or image.shape[1] < min_size:
        raise ImageTooSmallError(
            f"{name} is {image.shape[0]}×{image.shape[1]} pixels; this needs at least "
            f"{min_size}×{min_size}"
        )
    if np.issubdtype(dtype, np.floating) and not np.isfinite(image).all():
        raise InvalidImageError(f"{name} contains NaN or infinite values; clean or clip it first")
    return image


def check_same_shape(image1: np.ndarray, image2: np.ndarray) -> None:
    """Raise :class:`ShapeMismatchError` unless both arrays have the same shape."""
    if image1.shape != image2.shape:
        raise ShapeMismatchError(
            f"the images have different shapes {image1.shape} and {image2.shape}; this metric "
            "compares pixel by pixel, so make them equal first with "
            "imgsim_helpers.align_pair(a, b, policy='resize' | 'crop' | 'pad')"
            + (" and to_gray() for a gray/RGB pair" if image1.ndim != image2.ndim else "")
        )


def value_range(image: np.ndarray) -> float:
    """The nominal maximum of an image's dtype: 255 (uint8), 65535 (uint16), 1 (float, bool)."""
    return _INT_DTYPES.get(image.dtype, 1.0)


# --------------------------------------------------------------------------- conversions


def to_float(image, *, name: str = "image") -> np.ndarray:
    """Return a float64 copy scaled to [0, 1].

    ``uint8`` is divided by 255, ``uint16`` by 65535, ``bool`` becomes 0/1;
    floats must already lie in [0, 1].

    Examples
    --------
    >>> to_float(np.array([[0, 255]], np.uint8)).tolist()
    [[0.0, 1.0]]
    """
    image = validate_image(image, name=name)
    if image.dtype in _INT_DTYPES:
        return image.astype(np.float64) / _INT_DTYPES[image.dtype]
    out = image.astype(np.float64)
    if image.dtype != np.bool_ and (out.min() < 0.0 or out.max() > 1.0):
        raise InvalidImageError(
            f"{name} is float with values in [{out.min():.4g}, {out.max():.4g}]; float images "
            "must lie in [0, 1] (divide by 255 if they hold 0..255 values)"
        )
    return out


def to_uint8(image, *, name: str = "image") -> np.ndarray:
    """Return a ``uint8`` version: floats in [0, 1] times 255 rounded, uint16 divided by 257.

    Examples
    --------
    >>> to_uint8(np.array([[0.0, 0.5, 1.0]])).tolist()
    [[0, 128, 255]]
    """
    image = validate_image(image, name=name)
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.uint16:
        return np.round(image / 257.0).astype(np.uint8)
    return np.round(to_float(image, name=name) * 255.0).astype(np.uint8)


def to_gray(image, *, name: str = "image") -> np.ndarray:
    """Convert to a 2-D gray image with BT.601 luma (0.299 R + 0.587 G + 0.114 B).

    Gray input is returned unchanged; an alpha channel is ignored (composite
    it first with :func:`composite_alpha` if transparent pixels matter).
    ``uint8`` in gives rounded ``uint8`` out; floats stay float.

    Examples
    --------
    >>> to_gray(np.full((1, 1, 3), 100, np.uint8)).tolist()
    [[100]]
    """
    image = validate_image(image, name=name)
    if image.ndim == 2:
        return image
    luma = image[..., :3].astype(np.float64) @ LUMA_WEIGHTS
    if image.dtype in _INT_DTYPES:
        return np.clip(np.round(luma), 0, _INT_DTYPES[image.dtype]).astype(image.dtype)
    if image.dtype == np.bool_:
        return luma
    return luma.astype(image.dtype)


def to_rgb(image, *, name: str = "image", background=(255, 255, 255)) -> np.ndarray:
    """Return a 3-channel RGB image: gray is repeated, RGBA is composited onto ``background``."""
    image = validate_image(image, name=name)
    if image.ndim == 2:
        return np.repeat(image[:, :, None], 3, axis=2)
    if image.shape[2] == 4:
        return composite_alpha(image, background=background)
    return image


def composite_alpha(image, *, background=(255, 255, 255)) -> np.ndarray:
    """Blend an RGBA image onto a solid RGB ``background`` (0-255 values) and drop alpha.

    Examples
    --------
    >>> px = np.array([[[0, 0, 0, 0], [0, 0, 0, 255]]], np.uint8)
    >>> composite_alpha(px, background=(255, 0, 0))[0].tolist()
    [[255, 0, 0], [0, 0, 0]]
    """
    image = validate_image(image)
    if image.ndim != 3 or image.shape[2] != 4:
        raise InvalidImageError(f"composite_alpha needs an H×W×4 RGBA image; got shape {image.shape}")
    bg = np.asarray(background, dtype=np.float64).reshape(-1)
    if bg.size != 3 or bg.min() < 0 or bg.max() > 255:
        raise InvalidParameterError(f"background must be three values in 0..255; got {background!r}")
    scale = value_range(image)
    rgb = image[..., :3].astype(np.float64) / scale
    alpha = image[..., 3:4].astype(np.float64) / scale
    out = rgb * alpha + (bg / 255.0) * (1.0 - alpha)
    if image.dtype in _INT_DTYPES:
        return np.round(out * scale).astype(image.dtype)
    return out.astype(image.dtype if image.dtype != np.bool_ else np.float64)


# --------------------------------------------------------------------------- sizes


def _resize(image: np.ndarray, height: int, width: int) -> np.ndarray:
    import cv2

    if image.shape[:2] == (height, width):
        return image
    shrinking = height * width < image.shape[0] * image.shape[1]
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    work = image.astype(np.float32) if image.dtype == np.bool_ else image
    return cv2.resize(work, (width, height), interpolation=interpolation)


def resize(image, size: tuple[int, int]) -> np.ndarray:
    """Resize to ``size = (height, width)``; area averaging when shrinking, bilinear when growing."""
    image = validate_image(image)
    height, width = (int(s) for s in size)
    if height < 1 or width < 1:
        raise InvalidParameterError(f"size must be two positive integers (height, width); got {size!r}")
    return _resize(image, height, width)


def fit_within(image, max_side: int) -> np.ndarray:
    """Shrink (area averaging) so the longer side is at most ``max_side``; smaller images are returned as they are.

    Examples
    --------
    >>> fit_within(np.zeros((100, 50), np.uint8), 40).shape
    (40, 20)
    """
    image = validate_image(image)
    if isinstance(max_side, bool) or not isinstance(max_side, int | np.integer) or max_side < 8:
        raise InvalidParameterError(f"max_side must be an integer of at least 8 pixels; got {max_side!r}")
    longest = max(image.shape[:2])
    if longest <= max_side:
        return image
    factor = max_side / longest
    return _resize(image, max(1, round(image.shape[0] * factor)), max(1, round(image.shape[1] * factor)))


def align_pair(a, b, *, policy: str = "error", fill=0) -> tuple[np.ndarray, np.ndarray]:
    """Make two images the same height and width, by an explicit policy.

    Parameters
    ----------
    a, b
        Images with the same number of channels.
    policy
        ``"error"``: raise :class:`ShapeMismatchError` if the sizes differ;
        ``"resize"``: resize ``b`` to ``a``'s size (changes ``b``'s aspect ratio
        when the ratios differ); ``"crop"``: crop both, centred, to the common
        smallest size; ``"pad"``: pad both, centred, to the largest size with ``fill``.
    fill
        Pad value for ``policy="pad"`` (a number or one value per channel).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        The two images, now of equal shape.

    Examples
    --------
    >>> a, b = np.zeros((4, 6), np.uint8), np.zeros((2, 8), np.uint8)
    >>> [x.shape for x in align_pair(a, b, policy="crop")]
    [(2, 6), (2, 6)]
    >>> [x.shape for x in align_pair(a, b, policy="pad")]
    [(4, 8), (4, 8)]
    """
    a = validate_image(a, name="a")
    b = validate_image(b, name="b")
    if policy not in ALIGN_POLICIES:
        raise unknown_name("align policy", policy, ALIGN_POLICIES)
    if a.shape[2:] != b.shape[2:]:
        raise ShapeMismatchError(
            f"the images have different channel layouts {a.shape} and {b.shape}; convert both "
            "with to_gray() or to_rgb() first"
        )
    if a.shape[:2] == b.shape[:2]:
        return a, b
    if policy == "error":
        check_same_shape(a, b)
    if policy == "resize":
        return a, _resize(b, a.shape[0], a.shape[1])
    if policy == "crop":
        h, w = min(a.shape[0], b.shape[0]), min(a.shape[1], b.shape[1])
        return _center_crop(a, h, w), _center_crop(b, h, w)
    h, w = max(a.shape[0], b.shape[0]), max(a.shape[1], b.shape[1])
    return _center_pad(a, h, w, fill), _center_pad(b, h, w, fill)


def _center_crop(image: np.ndarray, h: int, w: int) -> np.ndarray:
    top = (image.shape[0] - h) // 2
    left = (image.shape[1] - w) // 2
    return image[top : top + h, left : left + w]


def _center_pad(image: np.ndarray, h: int, w: int, fill) -> np.ndarray:
    out = np.empty((h, w) + image.shape[2:], dtype=image.dtype)
    out[...] = np.asarray(fill, dtype=image.dtype)
    top = (h - image.shape[0]) // 2
    left = (w - image.shape[1]) // 2
    out[top : top + image.shape[0], left : left + image.shape[1]] = image
    return out


# --------------------------------------------------------------------------- files


def load_image(
    path: str | os.PathLike, *, mode: str = "rgb", background=(255, 255, 255)
) -> np.ndarray:
    """Read an image file into a ``uint8`` NumPy array in RGB order.

    What is converted, and how:

    * EXIF orientation is applied (a phone photo comes out upright);
    * palette (GIF, 8-bit PNG), 1-bit, CMYK and YCbCr files become RGB;
    * 16-bit files become 8-bit by dividing by 257 (65535 -> 255), rounded;
    * gray files are repeated into three channels for ``mode="rgb"``;
    * transparency (RGBA, LA, a palette with a transparent colour) is
      composited onto ``background`` for ``"rgb"`` and ``"gray"``, and kept
      for ``"rgba"`` (opaque files then get alpha 255).

    Parameters
    ----------
    path
        File to read.
    mode
        ``"rgb"`` (H×W×3), ``"gray"`` (H×W, BT.601 luma) or ``"rgba"`` (H×W×4).
    background
        RGB colour (0-255) behind transparent pixels for ``"rgb"`` and ``"gray"``.

    Raises
    ------
    ImageNotFoundError
        The path does not exist (a ``FileNotFoundError``).
    ImageLoadError
        The path is a directory, an empty file, not an image, or truncated.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from PIL import Image
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "red.png"
    >>> Image.new("RGB", (3, 2), (255, 0, 0)).save(p)
    >>> load_image(p)[0, 0].tolist()
    [255, 0, 0]
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    if mode not in LOAD_MODES:
        raise unknown_name("load mode", mode, LOAD_MODES)
    p = Path(path)
    if not p.exists():
        raise ImageNotFoundError(f"no such image file: {str(path)!r} (absolute: {p.resolve()})")
    if p.is_dir():
        raise ImageLoadError(path, "it is a directory, not an image file")
    if p.stat().st_size == 0:
        raise ImageLoadError(path, "the file is empty (0 bytes)")
    try:
        with Image.open(p) as img:
            img.load()
            img = ImageOps.exif_transpose(img)
            array = _pil_to_rgba_or_rgb(img)
    except UnidentifiedImageError:
        raise ImageLoadError(path, "it is not an image file in a format Pillow can read") from None
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageLoadError(path, f"the image data is truncated or corrupt ({error})") from None

    if mode == "rgba":
        if array.shape[2] == 3:
            array = np.dstack([array, np.full(array.shape[:2], 255, np.uint8)])
        return array
    if array.shape[2] == 4:
        array = composite_alpha(array, background=background)
    return to_gray(array) if mode == "gray" else array


def _pil_to_rgba_or_rgb(img) -> np.ndarray:
    """A Pillow image as uint8 RGB or RGBA, keeping alpha if the file has any."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        raw = np.asarray(img, dtype=np.float64)
        scale = 257.0 if raw.max(initial=0) > 255 or img.mode.startswith("I;16") else 1.0
        gray = np.clip(np.round(raw / scale), 0, 255).astype(np.uint8)
        return np.repeat(gray[:, :, None], 3, axis=2)
    if img.mode == "F":
        raw = np.asarray(img, dtype=np.float64)
        if not np.isfinite(raw).all() or raw.min() < 0 or raw.max() > 1:
            raise ValueError("floating-point pixels outside [0, 1] cannot be mapped to 0..255")
        gray = np.round(raw * 255).astype(np.uint8)
        return np.repeat(gray[:, :, None], 3, axis=2)
    has_alpha = img.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in img.info
    return np.asarray(img.convert("RGBA" if has_alpha else "RGB"))
