"""Loading image files safely, and converting arrays between dtypes, channels and sizes.

Images are NumPy arrays in RGB order, ``uint8`` in [0, 255] or float in [0, 1]; gray is 2-D.
A file that cannot be read raises an error naming the path and the reason, never ``None``.
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
    check_choice,
    check_image,
    check_int,
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
)

LOAD_MODES = ("rgb", "gray", "rgba")
ALIGN_POLICIES = ("error", "resize", "crop", "pad")
# load_image's default limit on width × height: above what cameras write (61 MP), and read from
# the file's header before decoding, since a small PNG can hold a huge image.
MAX_IMAGE_PIXELS = 64_000_000
# ITU-R BT.601 luma: Pillow's "L", OpenCV's RGB2GRAY, MATLAB's rgb2gray and FeatureSIM.m's Y.
LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114])


# --------------------------------------------------------------------------- conversions


def luma(image: np.ndarray) -> np.ndarray:
    """Unrounded float64 BT.601 luma of a checked RGB(A) array, on its own scale (alpha ignored).

    >>> luma(np.array([[[255, 0, 0]]], np.uint8)).round(3).tolist()
    [[76.245]]
    """
    return image[..., :3].astype(np.float64) @ LUMA_WEIGHTS


def to_float(image, *, name: str = "image") -> np.ndarray:
    """A float64 copy in [0, 1]: uint8 / 255, uint16 / 65535, bool 0/1; floats must lie in [0, 1].

    >>> to_float(np.array([[0, 255]], np.uint8)).tolist()
    [[0.0, 1.0]]
    """
    return _unit_float(check_unit_range(check_image(image, name=name), name=name))


def _unit_float(image: np.ndarray) -> np.ndarray:
    out = image.astype(np.float64)
    scale = value_range(image)
    if scale != 1.0:
        out /= scale
    return out


def to_uint8(image, *, name: str = "image") -> np.ndarray:
    """A ``uint8`` version: floats in [0, 1] times 255 rounded, uint16 divided by 257.

    >>> to_uint8(np.array([[0.0, 0.5, 1.0]])).tolist()
    [[0, 128, 255]]
    """
    image = check_unit_range(check_image(image, name=name), name=name)
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.uint16:
        return np.round(image / 257.0).astype(np.uint8)
    return np.round(_unit_float(image) * 255.0).astype(np.uint8)


def to_gray(image, *, name: str = "image") -> np.ndarray:
    """A 2-D gray image by :func:`luma`, in the input's dtype (``bool`` gives float64)."""
    return _gray(check_image(image, name=name))


def _gray(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return image
    gray = luma(image)
    if image.dtype in INTEGER_RANGES:
        return np.clip(np.round(gray), 0, INTEGER_RANGES[image.dtype]).astype(image.dtype)
    return gray if image.dtype == np.bool_ else gray.astype(image.dtype)


def to_rgb(image, *, name: str = "image", background=(255, 255, 255)) -> np.ndarray:
    """A 3-channel RGB image: gray is repeated, RGBA is composited onto ``background``."""
    image = check_image(image, name=name)
    colour = _background(background)
    if image.ndim == 3 and image.shape[2] == 4:
        check_unit_range(image, name=name)
    return _rgb(image, colour)


def _rgb(image: np.ndarray, colour: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return np.repeat(image[:, :, None], 3, axis=2)
    return _composite(image, colour) if image.shape[2] == 4 else image


def composite_alpha(image, *, background=(255, 255, 255)) -> np.ndarray:
    """Blend an RGBA image onto a solid RGB ``background`` (0-255 values) and drop alpha.

    >>> px = np.array([[[0, 0, 0, 0], [0, 0, 0, 255]]], np.uint8)
    >>> composite_alpha(px, background=(255, 0, 0))[0].tolist()
    [[255, 0, 0], [0, 0, 0]]
    """
    image = check_unit_range(check_image(image))
    if image.ndim != 3 or image.shape[2] != 4:
        raise InvalidImageError(f"composite_alpha needs an H×W×4 RGBA image; got shape {image.shape}")
    return _composite(image, _background(background))


def _values(given, sizes: tuple[int, ...], top: float, problem: str) -> np.ndarray:
    """``given`` as a flat float64 array of ``sizes`` finite numbers in [0, top], else ``problem``."""
    try:
        values = np.asarray(given, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise InvalidParameterError(problem) from None
    if (isinstance(given, str | bytes) or values.size not in sizes or not np.isfinite(values).all()
            or values.min() < 0 or values.max() > top):
        raise InvalidParameterError(problem)
    return values


def _background(background) -> np.ndarray:
    return _values(background, (3,), 255, "background must be three values in 0..255 (an RGB colour "
                                          f"such as (255, 255, 255)); got {background!r}")


def _composite(image: np.ndarray, colour: np.ndarray) -> np.ndarray:
    scale = value_range(image)
    rgb = image[..., :3].astype(np.float64) / scale
    alpha = image[..., 3:4].astype(np.float64) / scale
    out = rgb * alpha + (colour / 255.0) * (1.0 - alpha)
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
    return _resize(image, *_size_pair(size))


def _size_pair(size) -> tuple[int, int]:
    """(height, width) as two ints >= 1; whole floats such as 128.0 pass."""
    try:
        values = list(size)
    except TypeError:
        values = []
    whole = [int(v) for v in values if not isinstance(v, bool | np.bool_) and (
        isinstance(v, int | np.integer) or isinstance(v, float | np.floating) and float(v).is_integer()) and v >= 1]
    if len(values) != 2 or len(whole) != 2:
        raise InvalidParameterError(
            f"size must be two positive whole numbers (height, width), such as (128, 128); got {size!r}")
    return whole[0], whole[1]


def fit_within(image, max_side: int) -> np.ndarray:
    """Shrink (area averaging) so the longer side is at most ``max_side``; smaller images pass as they are."""
    image = check_image(image)
    return _fit_within(image, check_int(max_side, "max_side", low=8, hint="pixels on the longer side"))


def _fit_within(image: np.ndarray, max_side: int) -> np.ndarray:
    longest = max(image.shape[:2])
    if longest <= max_side:
        return image
    factor = max_side / longest
    return _resize(image, max(1, round(image.shape[0] * factor)), max(1, round(image.shape[1] * factor)))


def align_pair(a, b, *, policy: str = "error", fill=0) -> tuple[np.ndarray, np.ndarray]:
    """Make two images the same height and width: ``"error"``, ``"resize"`` ``b`` to ``a``'s size,
    ``"crop"`` both to the common size or ``"pad"`` both to the larger size with ``fill``, centred.

    >>> a, b = np.zeros((4, 6), np.uint8), np.zeros((2, 8), np.uint8)
    >>> [x.shape for x in align_pair(a, b, policy="crop")], [x.shape for x in align_pair(a, b, policy="pad")]
    ([(2, 6), (2, 6)], [(4, 8), (4, 8)])
    """
    a, b = check_image(a, name="a"), check_image(b, name="b")
    policy = check_choice(policy, "align policy", ALIGN_POLICIES)
    if a.shape[2:] != b.shape[2:]:
        raise ShapeMismatchError(f"the images have different channel layouts {a.shape} and {b.shape}; "
                                 "convert both with to_gray() or to_rgb() first")
    fill_values = _check_fill(fill, a) if policy == "pad" else None
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
    return _center_pad(a, h, w, fill_values), _center_pad(b, h, w, fill_values)


def _check_fill(fill, like: np.ndarray) -> np.ndarray:
    """``fill`` as one value or one per channel, inside the value range of ``like``'s dtype."""
    channels, top = like.shape[2] if like.ndim == 3 else 1, value_range(like)
    return _values(fill, (1, channels), top, f"fill must be one number, or {channels} (one per channel), "
                                             f"in 0..{top:g} for {like.dtype} images; got {fill!r}").astype(like.dtype)


def _center_crop(image: np.ndarray, h: int, w: int) -> np.ndarray:
    top, left = (image.shape[0] - h) // 2, (image.shape[1] - w) // 2
    return image[top : top + h, left : left + w]


def _center_pad(image: np.ndarray, h: int, w: int, fill) -> np.ndarray:
    out = np.empty((h, w) + image.shape[2:], dtype=image.dtype)
    out[...] = fill
    top, left = (h - image.shape[0]) // 2, (w - image.shape[1]) // 2
    out[top : top + image.shape[0], left : left + image.shape[1]] = image
    return out


# --------------------------------------------------------------------------- files


def load_image(path: str | os.PathLike, *, mode: str = "rgb", background=(255, 255, 255),
               max_pixels: int | None = MAX_IMAGE_PIXELS) -> np.ndarray:
    """Read an image file into a ``uint8`` array: RGB (H×W×3), ``"gray"`` (H×W) or ``"rgba"``.

    EXIF orientation is applied; transparency is composited onto ``background`` unless
    ``mode="rgba"``. ``max_pixels`` limits width × height before decoding (decompression bombs).
    """
    mode = check_choice(mode, "load mode", LOAD_MODES)
    if max_pixels is not None:
        check_int(max_pixels, "max_pixels", low=1, hint="width × height, or None for Pillow's own limit")
    colour = _background(background)
    array = _decode(path, _check_path(path), max_pixels)
    if mode == "rgba":
        if array.shape[2] == 3:
            array = np.dstack([array, np.full(array.shape[:2], 255, np.uint8)])
        return array
    if array.shape[2] == 4:
        array = _composite(array, colour)
    return _gray(array) if mode == "gray" else array


def _decode(path, file: Path, max_pixels: int | None) -> np.ndarray:
    """The file's pixels as uint8 RGB or RGBA, every Pillow failure turned into an ImageLoadError."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            # max_pixels is checked below with a message; Pillow's warning (above ~89 MP) would repeat it.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(file) as img:
                width, height = img.size
                if max_pixels is not None and width * height > max_pixels:
                    raise ImageLoadError(path, f"it is {width}×{height} pixels ({width * height / 1e6:.1f} "
                                               f"megapixels), more than the limit of {_limit(max_pixels)} "
                                               "(io.MAX_IMAGE_PIXELS, checked before decoding, a guard against "
                                               "decompression bombs); shrink it first, or pass a larger "
                                               "max_pixels if you trust the file")
                img.load()
                return _pil_to_rgba_or_rgb(path, ImageOps.exif_transpose(img))
    except ImageLoadError:  # ours (too many pixels, unsupported values), not a decoding failure
        raise
    except Image.DecompressionBombError as error:
        found = re.search(r"\((\d+) pixels\)", str(error))
        shown = f"{int(found.group(1)) / 1e6:g} megapixels" if found else "more pixels than Pillow will decode"
        raise ImageLoadError(path, f"it holds {shown}, more than Pillow opens at all (a guard against "
                                   f"decompression bombs; the limit here is {_limit(max_pixels)}); "
                                   "shrink it with another tool first") from None
    except UnidentifiedImageError:
        raise ImageLoadError(path, "it is not an image file in a format Pillow can read") from None
    except PermissionError:
        raise ImageLoadError(path, "permission denied; check the file's permissions (ls -l)") from None
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageLoadError(path, f"the image data is truncated or corrupt ({error})") from None


def _limit(max_pixels) -> str:
    return "none but Pillow's" if max_pixels is None else f"{max_pixels / 1e6:g} megapixels"


_IMAGE_MAGIC = (b"\x89PNG", b"\xff\xd8\xff\xe0", b"\xff\xd8\xff\xe1", b"\xff\xd8\xff\xdb", b"GIF8", b"RIFF",
                b"II*\x00", b"MM\x00*")


def _path_type_error(path) -> ImageTypeError:
    if path is None:
        hint = "path is None; pass the image file's path (did a parameter or file dialog give nothing?)"
    elif isinstance(path, np.ndarray):
        hint = (f"path is a NumPy array of shape {path.shape}: this is already an image array; pass it "
                "directly to the function you want, load_image only reads files")
    elif hasattr(path, "getpixel"):
        hint = "path is a PIL image, already loaded; convert it with np.asarray(img) instead of loading it"
    elif isinstance(path, bytes | bytearray) and (path[:4] in _IMAGE_MAGIC or len(path) > 4096 or b"\x00" in path):
        hint = ("path is bytes that look like the contents of an image file, not a path; decode them "
                "with np.asarray(PIL.Image.open(io.BytesIO(data)).convert('RGB')), or save them to a file")
    elif isinstance(path, bytes | bytearray):
        hint = f"path is bytes ({bytes(path)!r}); decode a bytes path with os.fsdecode(path) first"
    elif isinstance(path, list | tuple | set):
        hint = (f"path is a {type(path).__name__} of {len(path)} items; load one path at a time: "
                "[load_image(p) for p in paths]")
    else:
        hint = f"path must be a str or pathlib.Path; got {type(path).__name__} ({path!r:.60})"
    return ImageTypeError(f"load_image: {hint}")


def _check_path(path) -> Path:
    """The path as a ``Path`` once it names a regular file; otherwise the error that says why not."""
    if not isinstance(path, str | os.PathLike):
        raise _path_type_error(path)
    text = os.fspath(path)
    text = os.fsdecode(text) if isinstance(text, bytes) else text
    if text == "":
        raise ImageLoadError(path, "it is an empty path (''); give the image file's path")
    try:
        info = os.stat(text)
    except ValueError:  # os.stat's way of refusing a NUL character
        raise ImageLoadError(path, "the path holds a NUL character ('\\x00'), which no file name can "
                                   "contain; check how it was built") from None
    except FileNotFoundError:
        if os.path.islink(text):
            raise ImageNotFoundError(f"no such image file: {text!r} is a symbolic link to "
                                     f"{os.readlink(text)!r}, which does not exist") from None
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


def _pil_to_rgba_or_rgb(path, img) -> np.ndarray:
    """A Pillow image as uint8 RGB or RGBA, keeping alpha if the file has any."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        raw = np.asarray(img, dtype=np.float64)
        low, high = raw.min(initial=0), raw.max(initial=0)
        if img.mode == "F" and not (np.isfinite(raw).all() and low >= 0 and high <= 1):
            raise ImageLoadError(path, "its floating-point pixels lie outside [0, 1] (or are NaN), so "
                                       "they cannot be mapped to 0..255; rescale the file first")
        if low < 0 or high > 65535:
            raise ImageLoadError(
                path, f"its 32-bit integer pixels range from {low:.0f} to {high:.0f}; only 0..65535 (16 bits) "
                "map to 8 bits without loss of meaning; rescale the file to 16 bits first")
        if img.mode == "F":
            gray = np.round(raw * 255).astype(np.uint8)
        else:
            scale = 257.0 if high > 255 or img.mode.startswith("I;16") else 1.0
            gray = np.clip(np.round(raw / scale), 0, 255).astype(np.uint8)
        return np.repeat(gray[:, :, None], 3, axis=2)
    has_alpha = img.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in img.info
    return np.asarray(img.convert("RGBA" if has_alpha else "RGB"))
