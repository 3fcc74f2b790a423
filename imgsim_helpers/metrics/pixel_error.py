"""MSE and PSNR: the pixel-error baseline that SSIM was made to beat.

    MSE  = mean((x - y)²)              0 for identical images, higher = more different
    PSNR = 10 · log10(L² / MSE) dB     +inf for identical images, higher = more similar

Both compare pixel (i, j) with pixel (i, j) only, so a harmless brightness offset and destroyed
structure cost the same when they move the pixels as far (notebook 02 opens with that). The values
equal scikit-image's ``mean_squared_error`` and ``peak_signal_noise_ratio`` (the tests check it).

>>> a, b = np.zeros((4, 4), np.uint8), np.full((4, 4), 10, np.uint8)
>>> mse(a, b), round(psnr(a, b), 4), psnr(a, a)
(100.0, 28.1308, inf)
"""

from __future__ import annotations

import math

import numpy as np

from imgsim_helpers.core.checks import check_pixel_pair, check_real, value_range
from imgsim_helpers.core.errors import ImageTypeError, InvalidImageError

#: The registry's PSNR floors the MSE here, so identical images get a finite score
#: (10·log10(L² / 1e-10), 148.1 dB for 8-bit images) above every PSNR two different
#: 8-bit images can have (their MSE is at least 1 / number of values, far above 1e-10).
MSE_FLOOR = 1e-10


def nominal_data_range(a: np.ndarray, b: np.ndarray, data_range, *, caller: str) -> float:
    """L for two checked images: ``data_range`` when given, else their dtypes' common nominal range.

    ``caller`` names the function whose ``data_range`` option the messages offer.
    """
    if data_range is not None:
        return check_real(data_range, "data_range", low=0, low_open=True,
                          hint="the span of possible values: 255 for 8-bit images, 1 for floats in [0, 1]")
    ranges = value_range(a), value_range(b)
    if ranges[0] != ranges[1]:
        raise ImageTypeError(
            f"image1 is {a.dtype} (nominal range {ranges[0]:g}) but image2 is {b.dtype} (nominal range "
            f"{ranges[1]:g}); convert both with to_float() or to_uint8() (imgsim_helpers.images.io), or, "
            f"calling {caller} directly, pass data_range explicitly")
    for label, image in (("image1", a), ("image2", b)):
        if np.issubdtype(image.dtype, np.floating):
            low, high = float(image.min()), float(image.max())
            if low < 0.0 or high > 1.0:
                raise InvalidImageError(
                    f"{label} is float with values in [{low:.4g}, {high:.4g}], so its data range cannot be "
                    "assumed to be 1; pass data_range (for example data_range=255 for floats holding 0..255 "
                    "values), or scale it to [0, 1]")
    return ranges[0]


def _mse(a: np.ndarray, b: np.ndarray) -> float:
    difference = a.astype(np.float64) - b.astype(np.float64)
    return float(np.mean(difference * difference))


def mse(image1, image2) -> float:
    """Mean squared error of two same-shape gray or RGB images, on their own value scale.

    uint8 images give squared gray levels (0 … 65025), floats in [0, 1] values in [0, 1].

    >>> mse(np.array([[0, 2]], np.uint8), np.array([[1, 0]], np.uint8))
    2.5
    """
    return _mse(*check_pixel_pair(image1, image2, metric="MSE"))


def psnr(image1, image2, *, data_range: float | None = None) -> float:
    """Peak signal-to-noise ratio in dB, ``10 · log10(L² / MSE)``; ``inf`` for identical images.

    ``data_range`` is L; by default from the dtype: 255 (uint8), 65535 (uint16), 1 (floats, which
    must then lie in [0, 1]). Every 6.02 dB is a factor of 2 in the root-mean-square error.

    >>> a = np.zeros((8, 8), np.uint8)
    >>> round(psnr(a, a + 1), 2)
    48.13
    """
    a, b = check_pixel_pair(image1, image2, metric="PSNR")
    peak = nominal_data_range(a, b, data_range, caller="psnr()")
    error = _mse(a, b)
    return math.inf if error == 0.0 else float(10.0 * math.log10(peak * peak / error))


def psnr_score(image1, image2, *, data_range: float | None = None) -> float:
    """PSNR in dB with the MSE floored at :data:`MSE_FLOOR`: finite for identical images.

    The method registry uses this, so that a ranking never holds ``inf``; for any two different
    8-bit or 16-bit images it equals :func:`psnr`.

    >>> a = np.zeros((8, 8), np.uint8)
    >>> round(psnr_score(a, a), 1), psnr_score(a, a + 1) == psnr(a, a + 1)
    (148.1, True)
    """
    a, b = check_pixel_pair(image1, image2, metric="PSNR")
    peak = nominal_data_range(a, b, data_range, caller="psnr_score()")
    return float(10.0 * math.log10(peak * peak / max(_mse(a, b), MSE_FLOOR)))
