"""MSE and PSNR: the pixel-error baseline that SSIM was made to beat.

The **mean squared error** averages the squared difference of every pixel
(and channel) of two equally sized images; the **peak signal-to-noise
ratio** restates it in decibels against the largest possible value L:

    MSE  = mean((x - y)²)                    0 for identical images, higher = more different
    PSNR = 10 · log10(L² / MSE)  dB          +inf for identical images, higher = more similar

Both compare pixel (i, j) with pixel (i, j) and nothing else: they do not
look at neighbours, so they cannot tell a harmless brightness offset from
destroyed structure when both move the pixels by the same amount (notebook
02 opens with that). PSNR is a decreasing function of MSE for a fixed L, so
the two always rank a gallery the same way.

The values equal scikit-image's ``skimage.metrics.mean_squared_error`` and
``skimage.metrics.peak_signal_noise_ratio`` (the unit tests check it).

Examples
--------
>>> import numpy as np
>>> a = np.zeros((4, 4), np.uint8)
>>> b = np.full((4, 4), 10, np.uint8)
>>> mse(a, b)
100.0
>>> round(psnr(a, b), 4)
28.1308
>>> psnr(a, a)
inf
"""

from __future__ import annotations

import math

import numpy as np

from imgsim_helpers.core.checks import check_image, check_same_shape, value_range
from imgsim_helpers.core.errors import ImageTypeError, InvalidImageError, InvalidParameterError

#: The registry's PSNR floors the MSE here, so identical images get a finite score
#: (10·log10(L² / 1e-10), 148.1 dB for 8-bit images) above every PSNR two different
#: 8-bit images can have (their MSE is at least 1 / number of values, far above 1e-10).
MSE_FLOOR = 1e-10


def _pair(image1, image2, name: str) -> tuple[np.ndarray, np.ndarray]:
    a = check_image(image1, name="image1")
    b = check_image(image2, name="image2")
    for label, image in (("image1", a), ("image2", b)):
        if image.ndim == 3 and image.shape[2] == 4:
            raise InvalidImageError(
                f"{label} is RGBA (shape {image.shape}); {name} compares colour values and has no rule "
                "for transparency. Composite it onto a background first with "
                "imgsim_helpers.to_rgb(image, background=(255, 255, 255))"
            )
    check_same_shape(a, b)
    return a, b


def mse(image1, image2) -> float:
    """Mean squared error of two equally shaped images, on their own value scale.

    uint8 images give squared gray levels (0 … 65025); floats in [0, 1] give
    values in [0, 1]. Lower means more similar; identical images give 0.

    Parameters
    ----------
    image1, image2
        Gray or RGB images of one shape (any dtype :func:`~imgsim_helpers.core.checks.check_image` accepts).

    Raises
    ------
    ShapeMismatchError
        The shapes differ; make them equal with :func:`imgsim_helpers.align_pair`.
    InvalidImageError
        RGBA input, or NaN/inf values.
    ImageTypeError
        Not an array, or an unsupported dtype.

    Examples
    --------
    >>> import numpy as np
    >>> mse(np.array([[0, 2]], np.uint8), np.array([[1, 0]], np.uint8))
    2.5
    """
    a, b = _pair(image1, image2, "MSE")
    difference = a.astype(np.float64) - b.astype(np.float64)
    return float(np.mean(difference * difference))


def _data_range(a: np.ndarray, b: np.ndarray, data_range) -> float:
    if data_range is not None:
        if isinstance(data_range, bool) or not isinstance(data_range, int | float | np.integer | np.floating) \
                or not math.isfinite(data_range) or data_range <= 0:
            raise InvalidParameterError(
                f"data_range must be a positive number (the largest possible value minus the smallest: "
                f"255 for 8-bit images, 1 for floats in [0, 1]); got {data_range!r}"
            )
        return float(data_range)
    ranges = value_range(a), value_range(b)
    if ranges[0] != ranges[1]:
        raise ImageTypeError(
            f"image1 is {a.dtype} (nominal range {ranges[0]:g}) but image2 is {b.dtype} (nominal range "
            f"{ranges[1]:g}); convert both with to_float() or to_uint8(), or pass data_range explicitly"
        )
    for label, image in (("image1", a), ("image2", b)):
        if np.issubdtype(image.dtype, np.floating):
            low, high = float(image.min()), float(image.max())
            if low < 0.0 or high > 1.0:
                raise InvalidImageError(
                    f"{label} is float with values in [{low:.4g}, {high:.4g}], so its peak value cannot be "
                    "assumed to be 1; pass data_range (for example data_range=255 for floats holding "
                    "0..255 values), or scale it to [0, 1]"
                )
    return ranges[0]


def psnr(image1, image2, *, data_range: float | None = None) -> float:
    """Peak signal-to-noise ratio in decibels: ``10 · log10(L² / MSE)``.

    Higher means more similar; identical images give ``inf`` (as in
    scikit-image). Every 6.02 dB is a factor of 2 in the root-mean-square error.

    Parameters
    ----------
    image1, image2
        Gray or RGB images of one shape.
    data_range
        L, the span of possible values; by default from the dtype: 255 for
        uint8, 65535 for uint16, 1 for floats (which must then lie in [0, 1]).

    Raises
    ------
    ShapeMismatchError
        The shapes differ.
    ImageTypeError
        The two dtypes have different nominal ranges and no ``data_range`` is given.
    InvalidImageError
        RGBA input, NaN/inf values, or floats outside [0, 1] without ``data_range``.
    InvalidParameterError
        ``data_range`` is not a positive number.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.zeros((8, 8), np.uint8)
    >>> round(psnr(a, a + 1), 2)
    48.13
    """
    a, b = _pair(image1, image2, "PSNR")
    peak = _data_range(a, b, data_range)
    error = mse(a, b)
    if error == 0.0:
        return math.inf
    return float(10.0 * math.log10(peak * peak / error))


def psnr_score(image1, image2, *, data_range: float | None = None) -> float:
    """PSNR in dB with the MSE floored at :data:`MSE_FLOOR`: finite for identical images.

    The course's method registry uses this, so a ranking never holds
    ``inf`` (the retrieval benchmark reads a non-finite score as a failure).
    For any two different 8-bit or 16-bit images it equals :func:`psnr`.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.zeros((8, 8), np.uint8)
    >>> round(psnr_score(a, a), 1), psnr_score(a, a + 1) == psnr(a, a + 1)
    (148.1, True)
    """
    a, b = _pair(image1, image2, "PSNR")
    peak = _data_range(a, b, data_range)
    return float(10.0 * math.log10(peak * peak / max(mse(a, b), MSE_FLOOR)))
