"""Phase congruency, computed exactly as the ``phasecong2`` inside FeatureSIM.m.

Phase congruency (PC) measures how well the Fourier components of an image
agree in phase at each pixel. Edges, lines and corners are places where many
frequencies line up, so PC is high there (close to 1) and low on smooth or
noisy regions, whatever the local contrast. FSIM uses it as its feature map
and as the weight that says where a pixel matters.

The computation (Kovesi 1999; the variant shipped inside Zhang et al.'s
FeatureSIM.m):

1. build a bank of log-Gabor filters in the frequency domain, ``nscale``
   radial bands (wavelengths 6, 12, 24, 48 px) times ``norient`` angular
   lobes (0°, 45°, 90°, 135°), each multiplied by a Butterworth low-pass;
2. filter the image with each one (one FFT, then one inverse FFT per
   filter); the real part is the even-symmetric response, the imaginary
   part the odd-symmetric one;
3. per orientation, add the responses of all scales into a mean phase
   vector and measure how much each scale deviates from it (the "energy");
4. subtract a noise threshold estimated from the median response at the
   smallest scale, per orientation;
5. divide the summed energy by the summed amplitudes of all orientations.

The filter bank depends only on the image size, so it is built once per
size and cached (:func:`log_gabor_filters`; the last 8 sizes, about 64 bytes
per pixel each, plus the last 2 in the working precision, 64 bytes per pixel
in single precision). The orientations are filtered on parallel threads
(:data:`MAX_THREADS`), with the same result whatever their number.

Examples
--------
>>> import numpy as np
>>> img = np.zeros((64, 64), np.uint8)
>>> img[:, 32:] = 200
>>> pc = phase_congruency(img)
>>> pc.shape, bool(pc[:, 31:33].mean() > 0.5 > pc[:, :20].mean())
((64, 64), True)
"""

from __future__ import annotations

import functools
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import scipy.fft

from imgsim_helpers.core.checks import check_image, value_range
from imgsim_helpers.core.device import cpu_threads
from imgsim_helpers.core.errors import (
    ImageTooSmallError,
    InvalidImageError,
    InvalidParameterError,
    unknown_name,
)

__all__ = [
    "MAX_THREADS",
    "MIN_SIZE",
    "PRECISIONS",
    "LogGaborBank",
    "log_gabor_filters",
    "phase_congruency",
    "phase_congruency_stack",
    "to_intensity_255",
    "yiq",
]

#: Upper bound on the threads that filter the orientations in parallel
#: (``None``: every core available to the process; set 1 to stay on one core).
#: The result is the same whatever the number.
MAX_THREADS: int | None = None

#: Smallest accepted number of rows and of columns. Below 16 pixels fewer than
#: three periods of the smallest log-Gabor filter (6 px) fit in the image, and
#: the coarser scales (12-48 px) see mostly the FFT's periodic wrap-around.
MIN_SIZE = 16

# phasecong2's guard against 0/0 in the mean phase vector.
_EPSILON = 1e-4
# Butterworth low-pass applied to every log-Gabor filter: cut-off radius 0.45
# (in cycles per pixel) and order 15, as FeatureSIM.m's lowpassfilter call.
_LOWPASS_CUTOFF = 0.45
_LOWPASS_ORDER = 15

# ITU-R BT.601 YIQ rows, the coefficients FeatureSIM.m types in (no rounding).
_YIQ = np.array(
    [
        [0.299, 0.587, 0.114],
        [0.596, -0.274, -0.322],
        [0.211, -0.523, 0.312],
    ]
)


# --------------------------------------------------------------------------- inputs


def to_intensity_255(image, *, name: str = "image") -> np.ndarray:
    """Return a float64 copy on the 0-255 scale that FSIM's constants assume.

    ``uint8`` is used as is, ``uint16`` is divided by 257 (65535 -> 255),
    ``bool`` becomes 0 / 255 and floats, which must lie in [0, 1], are
    multiplied by 255. So a float image ``u8 / 255`` gives the same result as
    its ``uint8`` original. RGBA is refused, since whether the alpha channel
    should be composited or dropped is the caller's decision.

    Parameters
    ----------
    image
        Gray (H×W) or RGB (H×W×3) array.
    name
        How error messages refer to the image.

    Returns
    -------
    numpy.ndarray
        float64 array of the same shape, values in [0, 255].

    Raises
    ------
    ImageTypeError
        Not an array, or an unsupported dtype (``int64`` ...).
    InvalidImageError
        RGBA input, NaN/inf, or float values outside [0, 1].

    Examples
    --------
    >>> to_intensity_255(np.array([[0.0, 1.0]])).tolist()
    [[0.0, 255.0]]
    >>> to_intensity_255(np.array([[65535]], np.uint16)).tolist()
    [[255.0]]
    """
    image = check_image(image, name=name)
    if image.ndim == 3 and image.shape[2] == 4:
        raise InvalidImageError(
            f"{name} is RGBA (shape {image.shape}); FSIM and phase congruency take gray or RGB. "
            "Composite it onto a background with imgsim_helpers.images.io.composite_alpha(image) or drop "
            "the alpha channel with image[..., :3]"
        )
    if image.dtype == np.uint8:
        return image.astype(np.float64)
    if image.dtype == np.uint16:
        return image.astype(np.float64) / 257.0
    out = image.astype(np.float64)
    if image.dtype != np.bool_ and (out.min() < 0.0 or out.max() > 1.0):
        raise InvalidImageError(
            f"{name} is float with values in [{out.min():.4g}, {out.max():.4g}]; float images "
            "must lie in [0, 1] (divide 0..255 data by 255, or pass it as uint8)"
        )
    return out * (255.0 / value_range(image))


def yiq(rgb: np.ndarray, *, luma_only: bool = False) -> np.ndarray:
    """Convert an RGB array (H×W×3, any scale) to Y, I, Q planes (3×H×W) in float64.

    Exactly the unrounded linear transform of FeatureSIM.m; Y is BT.601
    luma. ``luma_only=True`` returns only Y, as a 1×H×W array.

    Examples
    --------
    >>> y, i, q = yiq(np.full((1, 1, 3), 100.0))[:, 0, 0]
    >>> round(float(y), 9), abs(round(float(i), 9)), abs(round(float(q), 9))
    (100.0, 0.0, 0.0)
    """
    rgb = np.asarray(rgb, dtype=np.float64)
    rows = _YIQ[:1] if luma_only else _YIQ
    # One matrix product for all pixels, which leaves each plane contiguous
    # (faster to downsample); it may differ from MATLAB's elementwise
    # expression in the last bit only (1e-16 relative).
    planes = rows @ rgb.reshape(-1, 3).T
    return planes.reshape(len(rows), *rgb.shape[:-1])


def _luminance_255(image, name: str) -> np.ndarray:
    """Gray as is, RGB to FeatureSIM's Y, on the 0-255 scale."""
    work = to_intensity_255(image, name=name)
    return yiq(work, luma_only=True)[0] if work.ndim == 3 else work


# --------------------------------------------------------------------------- filter bank


@dataclass(frozen=True, eq=False)
class LogGaborBank:
    """The frequency-domain filters of ``phasecong2`` for one image size.

    Every array uses the FFT layout (zero frequency at ``[0, 0]``; apply
    ``numpy.fft.fftshift`` to plot it centred). The filter for scale ``s``
    and orientation ``o`` is ``radial[s] * angular[o]``. Arrays are read-only
    because the bank is cached and shared; banks compare (and hash) by
    identity, which the cache makes equivalent to comparing their parameters.

    Attributes
    ----------
    shape
        ``(rows, cols)`` of the images the bank is for.
    radial
        ``(nscale, rows, cols)``: log-Gabor radial parts times the low-pass,
        zero at the zero frequency.
    angular
        ``(norient, rows, cols)``: Gaussian angular spreads.
    noise_gain
        ``(norient,)``: the factor that turns the mean squared smallest-scale
        response into the expected squared noise energy of that orientation
        (``(2 Σ A_s² + 4 Σ A_i A_j) / Σ filter₁²`` of the original code).
    wavelengths
        The ``nscale`` wavelengths in pixels.
    angles
        The ``norient`` filter angles in radians.
    """

    shape: tuple[int, int]
    radial: np.ndarray
    angular: np.ndarray
    noise_gain: np.ndarray
    wavelengths: tuple[float, ...]
    angles: tuple[float, ...]


def _centred_axis(n: int) -> np.ndarray:
    # Kovesi's normalised frequency axis: [-0.5, 0.5] for odd n, [-0.5, 0.5)
    # for even n; ifftshift then puts its zero at index 0.
    if n % 2:
        return np.arange(-(n - 1) / 2, (n - 1) / 2 + 1) / (n - 1)
    return np.arange(-n / 2, n / 2) / n


def _check_params(nscale, norient, min_wavelength, mult, sigma_onf, d_theta_on_sigma, k):
    def positive_int(value, label):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise InvalidParameterError(f"{label} must be a positive integer; got {value!r}")
        return int(value)

    def number(value, label, low, low_open=True, high=math.inf):
        ok = isinstance(value, int | float | np.integer | np.floating) and not isinstance(
            value, bool
        )
        if ok:
            value = float(value)
            ok = (
                math.isfinite(value)
                and (value > low if low_open else value >= low)
                and value < high
            )
        if not ok:
            bound = f"> {low}" if low_open else f">= {low}"
            upper = f" and < {high}" if math.isfinite(high) else ""
            raise InvalidParameterError(
                f"{label} must be a finite number {bound}{upper}; got {value!r}"
            )
        return value

    return (
        positive_int(nscale, "nscale"),
        positive_int(norient, "norient"),
        number(min_wavelength, "min_wavelength", 0.0),
        number(mult, "mult", 0.0),
        number(sigma_onf, "sigma_onf", 0.0, high=1.0),
        number(d_theta_on_sigma, "d_theta_on_sigma", 0.0),
        number(k, "k", 0.0, low_open=False),
    )


def log_gabor_filters(
    shape: tuple[int, int],
    *,
    nscale: int = 4,
    norient: int = 4,
    min_wavelength: float = 6.0,
    mult: float = 2.0,
    sigma_onf: float = 0.55,
    d_theta_on_sigma: float = 1.2,
) -> LogGaborBank:
    """The log-Gabor filter bank of ``phasecong2`` for images of ``shape``, cached.

    Parameters
    ----------
    shape
        ``(rows, cols)``, each at least :data:`MIN_SIZE`.
    nscale, norient, min_wavelength, mult, sigma_onf, d_theta_on_sigma
        As in :func:`phase_congruency`.

    Returns
    -------
    LogGaborBank
        Read-only arrays; the same object is returned for the same arguments.

    Examples
    --------
    >>> bank = log_gabor_filters((64, 48))
    >>> bank.radial.shape, bank.angular.shape, bank.wavelengths
    ((4, 64, 48), (4, 64, 48), (6.0, 12.0, 24.0, 48.0))
    """
    try:
        rows, cols = (int(s) for s in shape)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"shape must be (rows, cols); got {shape!r}") from None
    if rows < MIN_SIZE or cols < MIN_SIZE:
        raise InvalidParameterError(f"shape must be at least {MIN_SIZE}×{MIN_SIZE}; got {shape!r}")
    params = _check_params(nscale, norient, min_wavelength, mult, sigma_onf, d_theta_on_sigma, 0.0)
    return _cached_bank(rows, cols, *params[:6])


@functools.lru_cache(maxsize=8)
def _cached_bank(rows, cols, nscale, norient, min_wavelength, mult, sigma_onf, d_theta_on_sigma):
    x, y = np.meshgrid(_centred_axis(cols), _centred_axis(rows))
    radius = np.sqrt(x**2 + y**2)
    # -y so that angles grow anticlockwise in image coordinates (rows go down).
    theta = np.fft.ifftshift(np.arctan2(-y, x))
    lowpass = np.fft.ifftshift(1.0 / (1.0 + (radius / _LOWPASS_CUTOFF) ** (2 * _LOWPASS_ORDER)))
    radius = np.fft.ifftshift(radius)
    # The zero frequency would make log(radius) infinite; any value works
    # there because the filters are set to zero at that point afterwards.
    radius[0, 0] = 1.0

    wavelengths = tuple(min_wavelength * mult**s for s in range(nscale))
    log_sigma_sq = 2.0 * math.log(sigma_onf) ** 2
    radial = np.empty((nscale, rows, cols))
    for s, wavelength in enumerate(wavelengths):
        radial[s] = np.exp(-(np.log(radius * wavelength) ** 2) / log_sigma_sq) * lowpass
        radial[s, 0, 0] = 0.0

    theta_sigma = math.pi / norient / d_theta_on_sigma
    sin_t, cos_t = np.sin(theta), np.cos(theta)
    angles = tuple(o * math.pi / norient for o in range(norient))
    angular = np.empty((norient, rows, cols))
    for o, angle in enumerate(angles):
        # The angular distance through atan2 of sine and cosine differences
        # avoids the wrap-around at ±pi.
        d_sin = sin_t * math.cos(angle) - cos_t * math.sin(angle)
        d_cos = cos_t * math.cos(angle) + sin_t * math.sin(angle)
        d_theta = np.abs(np.arctan2(d_sin, d_cos))
        angular[o] = np.exp(-(d_theta**2) / (2.0 * theta_sigma**2))

    noise_gain = np.empty(norient)
    for o in range(norient):
        filters = radial * angular[o]
        # Spatial filters, rescaled "to match power" as the original code does.
        spatial = scipy.fft.ifft2(filters, axes=(-2, -1)).real * math.sqrt(rows * cols)
        sum_an2 = float(np.sum(spatial**2))
        sum_ai_aj = sum(
            float(np.sum(spatial[i] * spatial[j]))
            for i in range(nscale - 1)
            for j in range(i + 1, nscale)
        )
        noise_gain[o] = (2.0 * sum_an2 + 4.0 * sum_ai_aj) / float(np.sum(filters[0] ** 2))

    for array in (radial, angular, noise_gain):
        array.setflags(write=False)
    return LogGaborBank((rows, cols), radial, angular, noise_gain, wavelengths, angles)


# --------------------------------------------------------------------------- phase congruency

PRECISIONS = ("single", "double")


@functools.lru_cache(maxsize=2)
def _oriented_filters(bank: LogGaborBank, dtype: type) -> np.ndarray:
    # Every filter radial[s] * angular[o], (norient, nscale, rows, cols), in the
    # working precision so that products with a complex64 spectrum stay complex64.
    filters = (bank.angular[:, None] * bank.radial[None]).astype(dtype)
    filters.setflags(write=False)
    return filters


def _threads() -> int:
    return cpu_threads(MAX_THREADS)


def _orientation_energy(spectrum, filters, noise_gain, rayleigh, fft_workers):
    """Noise-thresholded energy and summed amplitude of one orientation, (n, rows, cols) each."""
    n, rows, cols = spectrum.shape[0], *filters.shape[1:]
    real = filters.dtype.type
    # Buffers are reused in place below: fresh multi-megabyte arrays cost
    # page faults that add up to a noticeable part of the run time.
    response = scipy.fft.ifft2(
        spectrum * filters, axes=(-2, -1), workers=fft_workers, overwrite_x=True
    )
    amplitude = np.abs(response)
    amplitude_sum = amplitude.sum(axis=1)

    # Noise: the smallest-scale squared amplitude is chi-squared with 2 degrees
    # of freedom under Gaussian noise, so its median over -log(0.5) is its mean.
    # MATLAB's median of an even count averages the two middle values;
    # squaring keeps the order, so select on the amplitudes.
    half = rows * cols // 2
    smallest = np.partition(amplitude[:, 0].reshape(n, -1), half, axis=1)
    upper = smallest[:, half].astype(np.float64) ** 2
    if (rows * cols) % 2:
        median = upper
    else:
        median = (smallest[:, :half].max(axis=1).astype(np.float64) ** 2 + upper) / 2.0
    tau = np.sqrt(-median / math.log(0.5) * noise_gain / 2.0)
    # T = (mean + k * sigma) of the Rayleigh noise energy, over 1.7: the
    # original's empirical correction for this PC measure.
    threshold = (tau * rayleigh / 1.7).astype(real)

    # The real part of each response is the even-symmetric filter output, the
    # imaginary part the odd one; their sums over scales give the mean phase.
    total = response.sum(axis=1)
    length_sq = total.real**2 + total.imag**2
    # |total| + epsilon: the original's guard against 0/0 in the mean phase.
    norm = np.sqrt(length_sq) + real(_EPSILON)
    # Energy = sum over scales of A_s (cos(dev_s) - |sin(dev_s)|), dev_s the
    # deviation of scale s from the mean phase. Against the unit mean vector
    # total / norm, the cosine parts add up to |total|² / norm, and each sine
    # part is the imaginary part of response_s * conj(total) / norm.
    rotated = np.multiply(response, np.conj(total)[:, None], out=response)
    sine_sum = np.abs(rotated.imag, out=amplitude).sum(axis=1)
    energy = (length_sq - sine_sum) / norm
    energy -= threshold[:, None, None]
    np.maximum(energy, 0.0, out=energy)
    return energy, amplitude_sum


def phase_congruency_stack(
    images: np.ndarray,
    *,
    nscale: int = 4,
    norient: int = 4,
    min_wavelength: float = 6.0,
    mult: float = 2.0,
    sigma_onf: float = 0.55,
    d_theta_on_sigma: float = 1.2,
    k: float = 2.0,
    precision: str = "single",
) -> np.ndarray:
    """Phase congruency of a stack of same-size gray images, in one batched FFT pass.

    The low-level entry used by :func:`phase_congruency` and by FSIM (which
    computes both images at once). No dtype conversion happens here: pass
    float values on the scale you want (FSIM uses 0-255; the result depends
    on the scale only through the tiny ``epsilon`` = 1e-4 of the original).

    Parameters
    ----------
    images
        ``(n, rows, cols)`` finite real array, rows and cols >= :data:`MIN_SIZE`.
    nscale, norient, min_wavelength, mult, sigma_onf, d_theta_on_sigma, k, precision
        As in :func:`phase_congruency`.

    Returns
    -------
    numpy.ndarray
        ``(n, rows, cols)`` float64 maps in [0, 1]; exactly 0 for a constant image.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> phase_congruency_stack(rng.uniform(0, 255, (2, 32, 40))).shape
    (2, 32, 40)
    """
    images = np.asarray(images, dtype=np.float64)
    if images.ndim != 3:
        raise InvalidImageError(f"images must be a (n, rows, cols) stack; got shape {images.shape}")
    if not np.isfinite(images).all():
        raise InvalidImageError("images contain NaN or infinite values; clean or clip them first")
    if precision not in PRECISIONS:
        raise unknown_name("precision", precision, PRECISIONS)
    nscale, norient, min_wavelength, mult, sigma_onf, d_theta_on_sigma, k = _check_params(
        nscale, norient, min_wavelength, mult, sigma_onf, d_theta_on_sigma, k
    )
    n, rows, cols = images.shape
    if n == 0:
        raise InvalidImageError(
            "images is an empty stack (shape (0, rows, cols)); pass at least one"
        )
    if rows < MIN_SIZE or cols < MIN_SIZE:
        raise ImageTooSmallError(
            f"the images are {rows}×{cols} pixels; phase congruency needs at least "
            f"{MIN_SIZE}×{MIN_SIZE}"
        )
    bank = log_gabor_filters(
        (rows, cols),
        nscale=nscale,
        norient=norient,
        min_wavelength=min_wavelength,
        mult=mult,
        sigma_onf=sigma_onf,
        d_theta_on_sigma=d_theta_on_sigma,
    )
    real = np.float32 if precision == "single" else np.float64
    filters = _oriented_filters(bank, real)
    spectrum = scipy.fft.fft2(images.astype(real), axes=(-2, -1), workers=-1)[:, None]
    rayleigh = math.sqrt(math.pi / 2.0) + k * math.sqrt(2.0 - math.pi / 2.0)

    # Orientations are independent: run them on parallel threads (NumPy and
    # scipy.fft release the GIL), then add them up in a fixed order so that
    # the result does not depend on the number of threads.
    threads = min(norient, _threads())
    jobs = [(spectrum, filters[o], bank.noise_gain[o], rayleigh) for o in range(norient)]
    if threads > 1:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            results = list(pool.map(lambda job: _orientation_energy(*job, 1), jobs))
    else:
        results = [_orientation_energy(*job, -1) for job in jobs]
    energy_all = np.sum([energy for energy, _ in results], axis=0)
    amplitude_all = np.sum([amplitude for _, amplitude in results], axis=0)

    pc = np.zeros((n, rows, cols))
    np.divide(energy_all, amplitude_all, out=pc, where=amplitude_all > 0)
    # A constant image has no features; its responses are FFT round-off only,
    # and their ratio would be meaningless numbers (FeatureSIM.m gives NaN).
    flat = np.ptp(images.reshape(n, -1), axis=1) == 0
    pc[flat] = 0.0
    return pc


def phase_congruency(
    image,
    *,
    nscale: int = 4,
    norient: int = 4,
    min_wavelength: float = 6.0,
    mult: float = 2.0,
    sigma_onf: float = 0.55,
    d_theta_on_sigma: float = 1.2,
    k: float = 2.0,
    precision: str = "single",
) -> np.ndarray:
    """Phase congruency map of an image, as ``phasecong2`` in FeatureSIM.m.

    FSIM calls this on the (downsampled) luminance; this function does not
    downsample. The defaults are FeatureSIM.m's constants.

    Parameters
    ----------
    image
        Gray (H×W) or RGB (H×W×3) image, ``uint8``/``uint16``/``bool`` or float
        in [0, 1], at least :data:`MIN_SIZE` pixels each way. It is put on the
        0-255 scale (see :func:`to_intensity_255`); RGB becomes FeatureSIM's
        unrounded Y = 0.299 R + 0.587 G + 0.114 B.
    nscale
        Number of wavelet scales (4).
    norient
        Number of filter orientations (4: 0°, 45°, 90°, 135°).
    min_wavelength
        Wavelength of the smallest-scale filter in pixels (6).
    mult
        Ratio between successive wavelengths (2).
    sigma_onf
        Bandwidth: the log-Gabor's Gaussian width over its centre frequency (0.55).
    d_theta_on_sigma
        Angle between orientations over the angular Gaussian's width (1.2).
    k
        How many standard deviations of noise energy above its mean the
        noise threshold sits (2).
    precision
        ``"single"`` (default) filters with complex64 FFTs, about twice as
        fast; the map then differs from the double-precision one by about
        1e-6 and FSIM by about 1e-8, far below the 1e-5 printed by MATLAB.
        ``"double"`` works in float64 / complex128 like MATLAB.

    Returns
    -------
    numpy.ndarray
        float64 map of the image's size, values in [0, 1] (0 everywhere for a
        constant image, where FeatureSIM.m would give NaN).

    Raises
    ------
    ImageTypeError, InvalidImageError, EmptyImageError, ImageTooSmallError
        Not an image array, an unsupported dtype, RGBA, NaN/inf, float
        outside [0, 1], or fewer than :data:`MIN_SIZE` rows or columns.
    InvalidParameterError
        An option outside its valid range (``UnknownMethodError`` for an
        unknown ``precision``).

    Examples
    --------
    >>> from skimage.data import camera
    >>> pc = phase_congruency(camera()[::4, ::4])
    >>> pc.shape, bool(0.0 <= pc.min() and pc.max() <= 1.0)
    ((128, 128), True)
    """
    check_image(image, name="image", min_size=MIN_SIZE)
    gray = _luminance_255(image, "image")
    return phase_congruency_stack(
        gray[None],
        nscale=nscale,
        norient=norient,
        min_wavelength=min_wavelength,
        mult=mult,
        sigma_onf=sigma_onf,
        d_theta_on_sigma=d_theta_on_sigma,
        k=k,
        precision=precision,
    )[0]
