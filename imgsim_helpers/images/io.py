"""Loading images safely, checking arrays, converting between dtypes and sizes.

Conventions of the whole package:

* images are NumPy arrays in **RGB** order (never BGR), ``uint8`` in
  [0, 255] or float in [0, 1]; gray images are 2-D;
* nothing returns ``None`` on failure: a missing or unreadable file raises
  an error that names the path and the reason.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import warnings
from pathlib import Path

import numpy as np

from imgsim_helpers.core.checks import (
    INTEGER_RANGES,
    check_image,
    check_same_shape,
    check_unit_range,
    value_range,
)
from imgsim_helpers.core.errors import (
    ImageLoadError,
    ImageNotFoundError,
    ImageTypeError,
    InvalidImageError,
    InvalidParameterError,
    ShapeMismatchError,
    unknown_name,
)

LOAD_MODES = ("rgb", "gray", "rgba")
MAX_IMAGE_PIXELS = 64_000_000
"""The largest width × height :func:`load_image` accepts by default (64 megapixels, e.g. 8000×8000).

Above what full-frame cameras (61 MP) and phones (48-50 MP) write, and read from
the file's header before decoding: a small PNG can hold a huge image.
"""
ALIGN_POLICIES = ("error", "resize", "crop", "pad")
# ITU-R BT.601 luma, the weights of Pillow's "L" conversion, OpenCV's
# cvtColor(RGB2GRAY) and MATLAB's rgb2gray / the Y of FeatureSIM.m.
LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114])


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
    image = check_image(image, name=name)
    if image.dtype in INTEGER_RANGES:
        return image.astype(np.float64) / INTEGER_RANGES[image.dtype]
    return check_unit_range(image, name=name).astype(np.float64)


def to_uint8(image, *, name: str = "image") -> np.ndarray:
    """Return a ``uint8`` version: floats in [0, 1] times 255 rounded, uint16 divided by 257.

    Examples
    --------
    >>> to_uint8(np.array([[0.0, 0.5, 1.0]])).tolist()
    [[0, 128, 255]]
    """
    image = check_image(image, name=name)
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.uint16:
        return np.round(image / 257.0).astype(np.uint8)
    return np.round(to_float(image, name=name) * 255.0).astype(np.uint8)


def to_gray(image, *, name: str = "image") -> np.ndarray:
    """Convert to a 2-D gray image with BT.601 luma (0.299 R + 0.587 G + 0.114 B).

    Gray input is returned unchanged; an alpha channel is ignored (composite
    it first with :func:`composite_alpha` if transparent pixels matter).
    ``uint8`` in gives rounded ``uint8`` out; floats stay float; ``bool`` (0/1)
    gives ``float64`` luma in [0, 1].

    Examples
    --------
    >>> to_gray(np.full((1, 1, 3), 100, np.uint8)).tolist()
    [[100]]
    """
    image = check_image(image, name=name)
    if image.ndim == 2:
        return image
    luma = image[..., :3].astype(np.float64) @ LUMA_WEIGHTS
    if image.dtype in INTEGER_RANGES:
        return np.clip(np.round(luma), 0, INTEGER_RANGES[image.dtype]).astype(image.dtype)
    if image.dtype == np.bool_:
        return luma
    return luma.astype(image.dtype)


def to_rgb(image, *, name: str = "image", background=(255, 255, 255)) -> np.ndarray:
    """Return a 3-channel RGB image: gray is repeated, RGBA is composited onto ``background``."""
    image = check_image(image, name=name)
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
    image = check_unit_range(check_image(image))
    if image.ndim != 3 or image.shape[2] != 4:
        raise InvalidImageError(f"composite_alpha needs an H×W×4 RGBA image; got shape {image.shape}")
    try:
        bg = np.asarray(background, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        bg = np.array([np.nan])
    if bg.size != 3 or not np.isfinite(bg).all() or bg.min() < 0 or bg.max() > 255:
        raise InvalidParameterError(
            f"background must be three values in 0..255 (an RGB colour such as (255, 255, 255)); "
            f"got {background!r}"
        )
    scale = value_range(image)
    rgb = image[..., :3].astype(np.float64) / scale
    alpha = image[..., 3:4].astype(np.float64) / scale
    out = rgb * alpha + (bg / 255.0) * (1.0 - alpha)
    if image.dtype in INTEGER_RANGES:
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
    image = check_image(image)
    height, width = _size_pair(size)
    return _resize(image, height, width)


def _whole_number(value) -> int | None:
    """``value`` as an int when it is a whole number (``3``, ``np.int64(3)``, ``3.0``), else None."""
    if isinstance(value, bool | np.bool_):
        return None
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return int(value)
    return None


def _size_pair(size) -> tuple[int, int]:
    problem = f"size must be two positive whole numbers (height, width), such as (128, 128); got {size!r}"
    try:
        values = list(size)
    except TypeError:
        raise InvalidParameterError(problem) from None
    if len(values) != 2:
        raise InvalidParameterError(problem)
    numbers = [_whole_number(v) for v in values]
    if any(n is None or n < 1 for n in numbers):
        raise InvalidParameterError(problem)
    return numbers[0], numbers[1]


def fit_within(image, max_side: int) -> np.ndarray:
    """Shrink (area averaging) so the longer side is at most ``max_side``; smaller images are returned as they are.

    Examples
    --------
    >>> fit_within(np.zeros((100, 50), np.uint8), 40).shape
    (40, 20)
    """
    image = check_image(image)
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
    a = check_image(a, name="a")
    b = check_image(b, name="b")
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
    fill_values = _check_fill(fill, a)
    h, w = max(a.shape[0], b.shape[0]), max(a.shape[1], b.shape[1])
    return _center_pad(a, h, w, fill_values), _center_pad(b, h, w, fill_values)


def _check_fill(fill, like: np.ndarray) -> np.ndarray:
    """``fill`` as one value or one per channel, inside the value range of ``like``'s dtype."""
    channels = like.shape[2] if like.ndim == 3 else 1
    top = 1.0 if like.dtype == np.bool_ else value_range(like)
    problem = (f"fill must be one number, or {channels} (one per channel), in 0..{top:g} for "
               f"{like.dtype} images; got {fill!r}")
    if isinstance(fill, str | bytes):
        raise InvalidParameterError(problem)
    try:
        values = np.asarray(fill, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise InvalidParameterError(problem) from None
    if values.size not in (1, channels) or not np.isfinite(values).all() or values.min() < 0 or values.max() > top:
        raise InvalidParameterError(problem)
    return values.astype(like.dtype) if values.size == 1 else values.astype(like.dtype).reshape(channels)


def _center_crop(image: np.ndarray, h: int, w: int) -> np.ndarray:
    top = (image.shape[0] - h) // 2
    left = (image.shape[1] - w) // 2
    return image[top : top + h, left : left + w]


def _center_pad(image: np.ndarray, h: int, w: int, fill) -> np.ndarray:
    out = np.empty((h, w) + image.shape[2:], dtype=image.dtype)
    out[...] = fill
    top = (h - image.shape[0]) // 2
    left = (w - image.shape[1]) // 2
    out[top : top + image.shape[0], left : left + image.shape[1]] = image
    return out


# --------------------------------------------------------------------------- files


def load_image(
    path: str | os.PathLike,
    *,
    mode: str = "rgb",
    background=(255, 255, 255),
    max_pixels: int | None = MAX_IMAGE_PIXELS,
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

    What is refused (:class:`ImageLoadError`): images larger than
    ``max_pixels`` — width × height read from the file's header, before any
    pixel is decoded, since a 100 kB PNG can hold 900 megapixels (a
    "decompression bomb"); 32-bit integer pixels outside 0..65535 and
    floating-point pixels outside [0, 1], which have no faithful 8-bit
    version.

    Parameters
    ----------
    path
        File to read: a ``str`` or ``pathlib.Path``.
    mode
        ``"rgb"`` (H×W×3), ``"gray"`` (H×W, BT.601 luma) or ``"rgba"`` (H×W×4).
    background
        RGB colour (0-255) behind transparent pixels for ``"rgb"`` and ``"gray"``.
    max_pixels
        The largest accepted width × height (default :data:`MAX_IMAGE_PIXELS`,
        64 megapixels). Raise it for a trusted larger file; ``None`` leaves
        only Pillow's own limit (``2 * PIL.Image.MAX_IMAGE_PIXELS``, about 179
        megapixels), above which Pillow refuses to open any file.

    Raises
    ------
    ImageNotFoundError
        The path does not exist (a ``FileNotFoundError``).
    ImageLoadError
        The path is a directory, a pipe or device, a symbolic-link loop, a
        name too long or holding a NUL character, an empty or unreadable
        file, not an image, truncated, or larger than ``max_pixels``.
    ImageTypeError
        ``path`` is not a ``str`` or path (an array, a list, ``None`` ...);
        the message says what to pass instead.

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
    if max_pixels is not None and (_whole_number(max_pixels) is None or max_pixels < 1
                                   or isinstance(max_pixels, float)):
        raise InvalidParameterError(
            f"max_pixels must be a positive integer (width × height) or None; got {max_pixels!r}"
        )
    p = _check_path(path)
    try:
        with warnings.catch_warnings():
            # The size is checked below against max_pixels, with a message; Pillow's warning
            # for large images (above ~89 megapixels) would only repeat it.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(p) as img:
                _check_pixels(path, img.size, max_pixels)
                img.load()
                img = ImageOps.exif_transpose(img)
                array = _pil_to_rgba_or_rgb(img)
    except Image.DecompressionBombError as error:
        found = re.search(r"\((\d+) pixels\)", str(error))
        shown = f"{int(found.group(1)) / 1e6:g} megapixels" if found else "more pixels than Pillow will decode"
        raise ImageLoadError(
            path,
            f"it holds {shown}, more than Pillow opens at all (a guard against decompression bombs; "
            f"the limit here is {_limit(max_pixels)}); shrink it with another tool first",
        ) from None
    except UnidentifiedImageError:
        raise ImageLoadError(path, "it is not an image file in a format Pillow can read") from None
    except PermissionError:
        raise ImageLoadError(path, "permission denied; check the file's permissions (ls -l)") from None
    except _UnsupportedPixels as error:
        raise ImageLoadError(path, str(error)) from None
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageLoadError(path, f"the image data is truncated or corrupt ({error})") from None

    if mode == "rgba":
        if array.shape[2] == 3:
            array = np.dstack([array, np.full(array.shape[:2], 255, np.uint8)])
        return array
    if array.shape[2] == 4:
        array = composite_alpha(array, background=background)
    return to_gray(array) if mode == "gray" else array


def _limit(max_pixels) -> str:
    return "none but Pillow's" if max_pixels is None else f"{max_pixels / 1e6:g} megapixels"


def _check_pixels(path, size: tuple[int, int], max_pixels: int | None) -> None:
    width, height = size
    if max_pixels is not None and width * height > max_pixels:
        raise ImageLoadError(
            path,
            f"it is {width}×{height} pixels ({width * height / 1e6:.1f} megapixels), more than the limit "
            f"of {_limit(max_pixels)} (io.MAX_IMAGE_PIXELS, checked before decoding, a guard against "
            "decompression bombs); shrink it first, or pass a larger max_pixels if you trust the file",
        )


def _path_type_error(path) -> ImageTypeError:
    given = type(path).__name__
    if path is None:
        hint = "path is None; pass the image file's path (did a parameter or file dialog give nothing?)"
    elif isinstance(path, np.ndarray):
        hint = (f"path is a NumPy array of shape {path.shape}: this is already an image array; pass it "
                "directly to the function you want, load_image only reads files")
    elif hasattr(path, "getpixel"):
        hint = "path is a PIL image, already loaded; convert it with np.asarray(img) instead of loading it"
    elif isinstance(path, bytes | bytearray):
        if path[:4] in _IMAGE_MAGIC or len(path) > 4096 or b"\x00" in path:
            hint = ("path is bytes that look like the contents of an image file, not a path; decode them "
                    "with np.asarray(PIL.Image.open(io.BytesIO(data)).convert('RGB')), or save them to a file")
        else:
            hint = f"path is bytes ({bytes(path)!r}); decode a bytes path with os.fsdecode(path) first"
    elif isinstance(path, list | tuple | set):
        hint = f"path is a {given} of {len(path)} items; load one path at a time: [load_image(p) for p in paths]"
    else:
        hint = f"path must be a str or pathlib.Path; got {given} ({path!r:.60})"
    return ImageTypeError(f"load_image: {hint}")


_IMAGE_MAGIC = (b"\x89PNG", b"\xff\xd8\xff\xe0", b"\xff\xd8\xff\xe1", b"\xff\xd8\xff\xdb", b"GIF8", b"RIFF",
                b"II*\x00", b"MM\x00*")


def _check_path(path) -> Path:
    """The path as a ``Path`` once it names a regular file; otherwise the error that says why not."""
    if not isinstance(path, str | os.PathLike):
        raise _path_type_error(path)
    text = os.fspath(path)
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    if text == "":
        raise ImageLoadError(path, "it is an empty path (''); give the image file's path")
    try:
        info = os.stat(text)
    except ValueError:  # os.stat's way of refusing a NUL character
        raise ImageLoadError(
            path, "the path holds a NUL character ('\\x00'), which no file name can contain; check how it was built"
        ) from None
    except FileNotFoundError:
        if os.path.islink(text):
            raise ImageNotFoundError(
                f"no such image file: {text!r} is a symbolic link to {os.readlink(text)!r}, which does not exist"
            ) from None
        raise ImageNotFoundError(f"no such image file: {text!r} (absolute: {os.path.abspath(text)})") from None
    except OSError as error:
        raise ImageLoadError(path, _os_reason(text, error)) from None
    if stat.S_ISDIR(info.st_mode):
        raise ImageLoadError(path, "it is a directory, not an image file")
    if not stat.S_ISREG(info.st_mode):
        raise ImageLoadError(path, "it is not a regular file (a named pipe, device or socket); "
                                   "copy the image into a file first")
    if info.st_size == 0 and not _has_content(text):  # /proc and some FUSE files report size 0
        raise ImageLoadError(path, "the file is empty (0 bytes)")
    return Path(text)


def _os_reason(text: str, error: OSError) -> str:
    if error.errno == errno.ELOOP:
        return "it is a symbolic link that leads back to itself (a loop); point it at the real file"
    if error.errno == errno.ENAMETOOLONG:
        longest = max((len(part) for part in Path(text).parts), default=0)
        return (f"the name is too long (the path has {len(text)} characters, its longest part {longest}; "
                "file systems allow 255 per name); rename the file")
    if error.errno in (errno.EACCES, errno.EPERM):
        return "permission denied; check the permissions of the file and of its folders (ls -l)"
    if error.errno == errno.ENOTDIR:
        return "a part of the path before the file name is a file, not a folder"
    return f"it cannot be read ({error.strerror or error})"


def _has_content(text: str) -> bool:
    try:
        with open(text, "rb") as handle:
            return handle.read(1) != b""
    except OSError:
        return True  # let Pillow's open give the precise reason


class _UnsupportedPixels(Exception):
    """Pixel values with no faithful 8-bit version (the reason becomes an ImageLoadError)."""


def _pil_to_rgba_or_rgb(img) -> np.ndarray:
    """A Pillow image as uint8 RGB or RGBA, keeping alpha if the file has any."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        raw = np.asarray(img, dtype=np.float64)
        low, high = raw.min(initial=0), raw.max(initial=0)
        if low < 0 or high > 65535:
            raise _UnsupportedPixels(
                f"its 32-bit integer pixels range from {low:.0f} to {high:.0f}; only 0..65535 (16 bits) "
                "map to 8 bits without loss of meaning; rescale the file to 16 bits first"
            )
        scale = 257.0 if high > 255 or img.mode.startswith("I;16") else 1.0
        gray = np.clip(np.round(raw / scale), 0, 255).astype(np.uint8)
        return np.repeat(gray[:, :, None], 3, axis=2)
    if img.mode == "F":
        raw = np.asarray(img, dtype=np.float64)
        if not np.isfinite(raw).all() or raw.min() < 0 or raw.max() > 1:
            raise _UnsupportedPixels(
                "its floating-point pixels lie outside [0, 1] (or are NaN), so they cannot be mapped to "
                "0..255; rescale the file first"
            )
        gray = np.round(raw * 255).astype(np.uint8)
        return np.repeat(gray[:, :, None], 3, axis=2)
    has_alpha = img.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in img.info
    return np.asarray(img.convert("RGBA" if has_alpha else "RGB"))
