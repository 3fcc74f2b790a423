"""The one input-checking vocabulary: each public function checks its inputs once, here.

Every check returns the value in the form the code below it computes with (a native-order
array, an ``int``, a ``float``, a ``bool``), so internal helpers never check again.

>>> check_int(3, "win_size", low=3), check_real(0.5, "alpha", low=0, high=1)
(3, 0.5)
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable

import numpy as np

from imgsim_helpers.core.errors import (
    EmptyImageError,
    ImageTooSmallError,
    ImageTypeError,
    InvalidImageError,
    InvalidParameterError,
    ShapeMismatchError,
    UnknownMethodError,
)

# The nominal maximum of each integer image dtype; floats and bool are 0..1.
INTEGER_RANGES = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}


# --------------------------------------------------------------------------- options


def _is_integer(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool | np.bool_)


def _is_real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)


def check_int(value, name: str, *, low: int | None = None, high: int | None = None,
              hint: str = "") -> int:
    """``value`` as an ``int`` in ``[low, high]``; ``True`` and ``3.0`` are not integers here."""
    if not _is_integer(value) or (low is not None and value < low) or (high is not None and value > high):
        raise InvalidParameterError(
            f"{name} must be an integer{_bounds(low, high)}; got {value!r}{_hint(hint)}")
    return int(value)


def check_real(value, name: str, *, low: float | None = None, high: float | None = None,
               low_open: bool = False, hint: str = "") -> float:
    """``value`` as a finite ``float`` in ``[low, high]`` (``(low, high]`` with ``low_open``)."""
    ok = _is_real(value) and math.isfinite(value)
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value <= high
    if not ok:
        bound = _bounds(low, high, low_open=low_open)
        raise InvalidParameterError(f"{name} must be a finite number{bound}; got {value!r}{_hint(hint)}")
    return float(value)


def check_seed(seed, name: str = "seed") -> int:
    """A random seed: a whole number in [0, 2**64) (what NumPy and torch both accept)."""
    return check_int(seed, name, low=0, high=2**64 - 1, hint="what NumPy and torch accept")


def check_flag(value, name: str) -> bool:
    """``True`` or ``False`` only: ``"no"`` or ``None`` would otherwise be read silently."""
    if not isinstance(value, bool | np.bool_):
        raise InvalidParameterError(f"{name} must be True or False; got {value!r}")
    return bool(value)


def check_choice(value, name: str, choices: Iterable[str]) -> str:
    """``value`` when it is one of ``choices``, else :class:`UnknownMethodError` listing them."""
    choices = tuple(choices)
    if not isinstance(value, str) or value not in choices:
        raise UnknownMethodError(name, value, choices)
    return value


def _number(x) -> str:
    if isinstance(x, numbers.Integral):  # exact, and 2**64 - 1 rather than 18446744073709551615
        return f"2**{int(x).bit_length()} - 1" if x > 2**32 and (int(x) + 1) & int(x) == 0 else str(x)
    return f"{x:g}"


def check_instance(value, name: str, kind: type, made_by: str):
    """``value`` when it is a ``kind`` (a result object of this package), else
    :class:`InvalidParameterError` naming the function that makes one."""
    if not isinstance(value, kind):
        raise InvalidParameterError(f"{name} must be the {kind.__name__} that {made_by} returns; "
                                    f"got {type(value).__name__}")
    return value


def _bounds(low, high, *, low_open: bool = False) -> str:
    if low is not None and high is not None:
        return f" in {'(' if low_open else '['}{_number(low)}, {_number(high)}]"
    if low is not None:
        return f" {'>' if low_open else '>='} {_number(low)}"
    return "" if high is None else f" <= {_number(high)}"


def _hint(hint: str) -> str:
    return f" ({hint})" if hint else ""


# --------------------------------------------------------------------------- images


def check_image(image, *, name: str = "image", min_size: int = 1) -> np.ndarray:
    """``image`` as a valid image ``ndarray``: H×W or H×W×{3, 4}; uint8, uint16, bool or finite float.

    A trailing channel axis of size 1 is dropped; non-native byte order is read by value;
    ``float16`` becomes ``float32`` and ``longdouble`` ``float64`` (OpenCV has neither).
    Float ranges are :func:`check_unit_range`'s business.
    """
    if not isinstance(image, np.ndarray):
        hint = " (convert a PIL image with np.asarray(img))" if hasattr(image, "getpixel") else ""
        raise ImageTypeError(f"{name} must be a NumPy array; got {type(image).__name__}{hint}")
    if not image.dtype.isnative:
        image = image.astype(image.dtype.newbyteorder("="))
    if image.dtype == np.float16:
        image = image.astype(np.float32)
    elif np.issubdtype(image.dtype, np.floating) and image.dtype.itemsize > 8:
        image = image.astype(np.float64)
    dtype = image.dtype
    if not (dtype in INTEGER_RANGES or dtype == np.bool_ or np.issubdtype(dtype, np.floating)):
        raise ImageTypeError(f"{name} has dtype {dtype}; expected uint8, uint16, bool or float "
                             "(convert integers in 0..255 with .astype(np.uint8))")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (3, 4)):
        raise InvalidImageError(
            f"{name} has shape {image.shape}; expected H×W (gray), H×W×3 (RGB) or H×W×4 (RGBA)")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise EmptyImageError(f"{name} is empty (shape {image.shape})")
    if image.shape[0] < min_size or image.shape[1] < min_size:
        raise ImageTooSmallError(f"{name} is {image.shape[0]}×{image.shape[1]} pixels; this needs "
                                 f"at least {min_size}×{min_size}")
    if np.issubdtype(dtype, np.floating) and not np.isfinite(image).all():
        raise InvalidImageError(f"{name} contains NaN or infinite values; clean or clip it first")
    return image


def check_unit_range(image: np.ndarray, *, name: str = "image") -> np.ndarray:
    """``image`` unchanged, unless it is float with values outside [0, 1] (integer and bool pass)."""
    if np.issubdtype(image.dtype, np.floating) and image.size:
        low, high = float(image.min()), float(image.max())
        if low < 0.0 or high > 1.0:
            raise InvalidImageError(
                f"{name} is float with values in [{low:.4g}, {high:.4g}]; float images must lie "
                "in [0, 1] (divide by 255 if they hold 0..255 values)")
    return image


def check_same_shape(image1: np.ndarray, image2: np.ndarray) -> None:
    """Raise :class:`ShapeMismatchError` unless both arrays have the same shape."""
    if image1.shape != image2.shape:
        raise ShapeMismatchError(
            f"the images have different shapes {image1.shape} and {image2.shape}; this metric "
            "compares pixel by pixel, so make them equal first with "
            "imgsim_helpers.align_pair(a, b, policy='resize' | 'crop' | 'pad')"
            + (" and to_gray() for a gray/RGB pair" if image1.ndim != image2.ndim else ""))


def check_pixel_pair(image1, image2, *, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """Two images a pixel-by-pixel ``metric`` can compare: valid, not RGBA, of one shape."""
    a = check_image(image1, name="image1")
    b = check_image(image2, name="image2")
    for label, image in (("image1", a), ("image2", b)):
        if image.ndim == 3 and image.shape[2] == 4:
            raise InvalidImageError(
                f"{label} is RGBA (shape {image.shape}); {metric} compares colour values and has "
                "no rule for transparency. Composite it onto a background first with "
                "imgsim_helpers.to_rgb(image, background=(255, 255, 255)), or drop the alpha "
                "channel with image[..., :3] if it carries no information")
    check_same_shape(a, b)
    return a, b


def value_range(image: np.ndarray) -> float:
    """The nominal maximum of an image's dtype: 255 (uint8), 65535 (uint16), 1 (float, bool)."""
    return INTEGER_RANGES.get(image.dtype, 1.0)
