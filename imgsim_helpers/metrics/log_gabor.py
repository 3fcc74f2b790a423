"""Phase congruency, computed exactly as the ``phasecong2`` inside FeatureSIM.m.

Phase congruency (PC) measures how well the Fourier components of an image agree in phase at each
pixel: close to 1 on edges, lines and corners, low on smooth or noisy regions, whatever the local
contrast. :func:`phase_congruency_reference` is the definition, written as ``phasecong2`` reads
(Kovesi 1999): filter with a bank of log-Gabor filters (4 scales × 4 orientations), measure per
orientation how far each scale's phase strays from the mean phase, subtract a noise threshold
estimated from the smallest scale, divide by the summed amplitudes. :func:`phase_congruency_stack`
is the fast path, tested equal to it: several images in one batched FFT pass, the orientations on
parallel threads (:data:`MAX_THREADS`; the result does not depend on their number), single
precision by default, the filter bank cached per image size (:func:`log_gabor_filters`).

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

from imgsim_helpers.core.checks import (
    check_choice,
    check_image,
    check_int,
    check_real,
    check_unit_range,
    value_range,
)
from imgsim_helpers.core.device import cpu_threads
from imgsim_helpers.core.errors import ImageTooSmallError, InvalidImageError, InvalidParameterError

__all__ = [
    "MAX_THREADS",
    "MIN_SIZE",
    "PRECISIONS",
    "LogGaborBank",
    "log_gabor_filters",
    "phase_congruency",
    "phase_congruency_reference",
    "phase_congruency_stack",
    "to_intensity_255",
    "yiq",
]

#: Upper bound on the threads that filter the orientations in parallel (``None``: every core
#: available to the process; 1 stays on one core). The result is the same whatever the number.
MAX_THREADS: int | None = None
#: Smallest accepted number of rows and of columns: below 16 pixels fewer than three periods of the
#: smallest filter (6 px) fit, and the coarser scales see mostly the FFT's periodic wrap-around.
MIN_SIZE = 16
PRECISIONS = ("single", "double")

_EPSILON = 1e-4  # phasecong2's guard against 0/0 in the mean phase vector
# The Butterworth low-pass on every filter (cut-off 0.45 cycles per pixel, order 15), as FeatureSIM.m.
_LOWPASS_CUTOFF, _LOWPASS_ORDER = 0.45, 15
# ITU-R BT.601 YIQ rows, as FeatureSIM.m types them (no rounding).
_YIQ = np.array([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])


# --------------------------------------------------------------------------- inputs


def to_intensity_255(image: np.ndarray, *, name: str = "image") -> np.ndarray:
    """A checked gray or RGB image as float64 on FSIM's 0-255 scale: uint8 as is, uint16 / 257,
    bool 0 / 255, floats (which must lie in [0, 1]) × 255.

    >>> to_intensity_255(np.array([[0.0, 1.0]])).tolist(), to_intensity_255(np.array([[65535]], np.uint16)).tolist()
    ([[0.0, 255.0]], [[255.0]])
    """
    if image.dtype == np.uint16:
        return image / 257.0
    return check_unit_range(image, name=name).astype(np.float64) * (255.0 / value_range(image))


def checked_intensity(image, name: str) -> np.ndarray:
    """One image checked once (at least :data:`MIN_SIZE` pixels, not RGBA), on the 0-255 scale."""
    image = check_image(image, name=name, min_size=MIN_SIZE)
    if image.ndim == 3 and image.shape[2] == 4:
        raise InvalidImageError(
            f"{name} is RGBA (shape {image.shape}); FSIM and phase congruency take gray or RGB. Composite it "
            "onto a background with imgsim_helpers.to_rgb(image) or drop the alpha channel with image[..., :3]")
    return to_intensity_255(image, name=name)


def yiq(rgb: np.ndarray, *, luma_only: bool = False) -> np.ndarray:
    """Y, I, Q planes (3×H×W, float64) of an H×W×3 array, FeatureSIM.m's unrounded transform.

    ``luma_only=True`` returns Y alone, 1×H×W. One matrix product leaves each plane contiguous; it
    may differ from MATLAB's elementwise expression in the last bit.
    """
    rows = _YIQ[:1] if luma_only else _YIQ
    planes = rows @ np.asarray(rgb, dtype=np.float64).reshape(-1, 3).T
    return planes.reshape(len(rows), *rgb.shape[:-1])


def require_size(rows: int, cols: int) -> None:
    """:class:`ImageTooSmallError` unless both sides reach :data:`MIN_SIZE`."""
    if rows < MIN_SIZE or cols < MIN_SIZE:
        raise ImageTooSmallError(f"the images are {rows}×{cols} pixels; phase congruency (and FSIM) needs "
                                 f"at least {MIN_SIZE}×{MIN_SIZE}")


# --------------------------------------------------------------------------- filter bank


@dataclass(frozen=True, eq=False)
class LogGaborBank:
    """The frequency-domain filters of ``phasecong2`` for one image size (read-only, cached).

    Arrays use the FFT layout (zero frequency at ``[0, 0]``). The filter for scale ``s`` and
    orientation ``o`` is ``radial[s] * angular[o]``; ``noise_gain[o]`` turns the mean squared
    smallest-scale response into the expected squared noise energy of orientation ``o``
    (``(2 Σ A_s² + 4 Σ A_i A_j) / Σ filter₁²`` of the original code).
    """

    shape: tuple[int, int]
    radial: np.ndarray
    angular: np.ndarray
    noise_gain: np.ndarray
    wavelengths: tuple[float, ...]
    angles: tuple[float, ...]


def _check_options(nscale, norient, min_wavelength, mult, sigma_onf, d_theta_on_sigma, k) -> tuple:
    positive = {"low": 0, "low_open": True}
    out = (check_int(nscale, "nscale", low=1), check_int(norient, "norient", low=1),
           check_real(min_wavelength, "min_wavelength", **positive), check_real(mult, "mult", **positive),
           check_real(sigma_onf, "sigma_onf", high=1, **positive),
           check_real(d_theta_on_sigma, "d_theta_on_sigma", **positive), check_real(k, "k", low=0))
    if out[4] == 1.0:
        raise InvalidParameterError("sigma_onf must be below 1 (log(1) = 0 gives the filters no width); got 1.0")
    return out


def log_gabor_filters(shape: tuple[int, int], *, nscale: int = 4, norient: int = 4, min_wavelength: float = 6.0,
                      mult: float = 2.0, sigma_onf: float = 0.55, d_theta_on_sigma: float = 1.2) -> LogGaborBank:
    """The log-Gabor filter bank of ``phasecong2`` for images of ``shape`` (the same object per arguments).

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
    options = _check_options(nscale, norient, min_wavelength, mult, sigma_onf, d_theta_on_sigma, 0.0)
    return _cached_bank(rows, cols, *options[:6])


def _centred_axis(n: int) -> np.ndarray:
    # Kovesi's normalised frequencies: [-0.5, 0.5] for odd n, [-0.5, 0.5) for even n.
    return np.arange(-(n - 1) / 2, (n - 1) / 2 + 1) / (n - 1) if n % 2 else np.arange(-n / 2, n / 2) / n


@functools.lru_cache(maxsize=8)
def _cached_bank(rows, cols, nscale, norient, min_wavelength, mult, sigma_onf, d_theta_on_sigma):
    x, y = np.meshgrid(_centred_axis(cols), _centred_axis(rows))
    radius = np.sqrt(x**2 + y**2)
    theta = np.fft.ifftshift(np.arctan2(-y, x))  # -y: angles grow anticlockwise (rows go down)
    lowpass = np.fft.ifftshift(1.0 / (1.0 + (radius / _LOWPASS_CUTOFF) ** (2 * _LOWPASS_ORDER)))
    radius = np.fft.ifftshift(radius)
    radius[0, 0] = 1.0  # avoids log(0); the filters are zeroed there below

    wavelengths = tuple(min_wavelength * mult**s for s in range(nscale))
    radial = np.empty((nscale, rows, cols))
    for s, wavelength in enumerate(wavelengths):
        radial[s] = np.exp(-(np.log(radius * wavelength) ** 2) / (2.0 * math.log(sigma_onf) ** 2)) * lowpass
        radial[s, 0, 0] = 0.0

    theta_sigma = math.pi / norient / d_theta_on_sigma
    sin_t, cos_t = np.sin(theta), np.cos(theta)
    angles = tuple(o * math.pi / norient for o in range(norient))
    angular = np.empty((norient, rows, cols))
    for o, angle in enumerate(angles):
        # The angular distance through atan2 of sine and cosine differences avoids the wrap at ±pi.
        d_sin = sin_t * math.cos(angle) - cos_t * math.sin(angle)
        d_cos = cos_t * math.cos(angle) + sin_t * math.sin(angle)
        angular[o] = np.exp(-(np.arctan2(d_sin, d_cos) ** 2) / (2.0 * theta_sigma**2))

    noise_gain = np.empty(norient)
    for o in range(norient):
        filters = radial * angular[o]
        # Spatial filters, rescaled "to match power" as the original code does.
        spatial = scipy.fft.ifft2(filters, axes=(-2, -1)).real * math.sqrt(rows * cols)
        sum_ai_aj = sum(float(np.sum(spatial[i] * spatial[j])) for i in range(nscale) for j in range(i + 1, nscale))
        noise_gain[o] = (2.0 * float(np.sum(spatial**2)) + 4.0 * sum_ai_aj) / float(np.sum(filters[0] ** 2))

    for array in (radial, angular, noise_gain):
        array.setflags(write=False)
    return LogGaborBank((rows, cols), radial, angular, noise_gain, wavelengths, angles)


# --------------------------------------------------------------------------- phase congruency


def phase_congruency_reference(image, *, k: float = 2.0) -> np.ndarray:
    """Phase congruency of one gray float image as ``phasecong2`` reads, orientation by orientation.

    Each filter's response is complex: real part the even-symmetric output, imaginary part the odd.
    (A constant image divides round-off by round-off here; :func:`phase_congruency` gives it 0.)
    """
    bank = log_gabor_filters(image.shape)
    spectrum = np.fft.fft2(image)
    # Noise energy is Rayleigh-distributed with scale tau: its mean + k·sd is tau · rayleigh.
    rayleigh = math.sqrt(math.pi / 2) + k * math.sqrt(2 - math.pi / 2)
    energy_all, amplitude_all = 0.0, 0.0
    for o in range(len(bank.angles)):
        responses = [np.fft.ifft2(spectrum * radial * bank.angular[o]) for radial in bank.radial]
        total = sum(responses)
        mean_phase = total / (np.abs(total) + _EPSILON)  # the unit vector of the mean phase
        # Σ A (cos(φ - φ̄) - |sin(φ - φ̄)|): each response turned by the mean phase.
        energy = sum((r * mean_phase.conj()).real - np.abs((r * mean_phase.conj()).imag) for r in responses)
        # Under Gaussian noise the squared smallest-scale amplitude is chi-squared with 2 degrees of
        # freedom: its median / -log(0.5) is its mean.
        tau = np.sqrt(-np.median(np.abs(responses[0]) ** 2) / math.log(0.5) * bank.noise_gain[o] / 2)
        threshold = tau * rayleigh / 1.7  # /1.7: the original's empirical correction
        energy_all = energy_all + np.maximum(energy - threshold, 0)
        amplitude_all = amplitude_all + sum(np.abs(r) for r in responses)
    return energy_all / amplitude_all


@functools.lru_cache(maxsize=2)
def _oriented_filters(bank: LogGaborBank, dtype: type) -> np.ndarray:
    # Every radial[s] * angular[o], (norient, nscale, rows, cols), in the working precision.
    filters = (bank.angular[:, None] * bank.radial[None]).astype(dtype)
    filters.setflags(write=False)
    return filters


def _threads() -> int:
    return cpu_threads(MAX_THREADS)


def _orientation_energy(spectrum, filters, noise_gain, rayleigh, fft_workers):
    """Thresholded energy and summed amplitude of one orientation, (n, rows, cols) each, in place."""
    n, rows, cols = spectrum.shape[0], *filters.shape[1:]
    real = filters.dtype.type
    # Buffers are reused in place: fresh multi-megabyte arrays cost page faults.
    response = scipy.fft.ifft2(spectrum * filters, axes=(-2, -1), workers=fft_workers, overwrite_x=True)
    amplitude = np.abs(response)
    amplitude_sum = amplitude.sum(axis=1)
    # MATLAB's median of an even count averages the middle pair; squaring keeps the order.
    half = rows * cols // 2
    smallest = np.partition(amplitude[:, 0].reshape(n, -1), half, axis=1)
    median = upper = smallest[:, half].astype(np.float64) ** 2
    if (rows * cols) % 2 == 0:
        median = (smallest[:, :half].max(axis=1).astype(np.float64) ** 2 + upper) / 2.0
    threshold = (np.sqrt(-median / math.log(0.5) * noise_gain / 2.0) * rayleigh / 1.7).astype(real)
    total = response.sum(axis=1)
    length_sq = total.real**2 + total.imag**2
    norm = np.sqrt(length_sq) + real(_EPSILON)
    # Against total / norm the cosine parts add up to |total|² / norm, and each sine part is the
    # imaginary part of response_s * conj(total) / norm.
    rotated = np.multiply(response, np.conj(total)[:, None], out=response)
    energy = (length_sq - np.abs(rotated.imag, out=amplitude).sum(axis=1)) / norm
    energy -= threshold[:, None, None]
    return np.maximum(energy, 0.0, out=energy), amplitude_sum


def phase_congruency_stack(images: np.ndarray, *, nscale: int = 4, norient: int = 4, min_wavelength: float = 6.0,
                           mult: float = 2.0, sigma_onf: float = 0.55, d_theta_on_sigma: float = 1.2,
                           k: float = 2.0, precision: str = "single") -> np.ndarray:
    """Phase congruency of ``(n, rows, cols)`` same-size gray float images, one batched FFT pass.

    :func:`phase_congruency_reference`, fast (FSIM computes both images at once). No scaling here:
    the scale matters only through the original's tiny ``epsilon``. Options as
    :func:`phase_congruency`. Returns float64 maps in [0, 1]; exactly 0 for a constant image.
    """
    images = np.asarray(images, dtype=np.float64)
    if images.ndim != 3 or images.shape[0] == 0 or not np.isfinite(images).all():
        raise InvalidImageError(f"images must be a non-empty (n, rows, cols) stack of finite values; got "
                                f"shape {images.shape}")
    check_choice(precision, "precision", PRECISIONS)
    *options, k = _check_options(nscale, norient, min_wavelength, mult, sigma_onf, d_theta_on_sigma, k)
    n, rows, cols = images.shape
    require_size(rows, cols)
    bank = _cached_bank(rows, cols, *options)
    real = np.float32 if precision == "single" else np.float64
    filters = _oriented_filters(bank, real)
    spectrum = scipy.fft.fft2(images.astype(real), axes=(-2, -1), workers=-1)[:, None]
    rayleigh = math.sqrt(math.pi / 2.0) + k * math.sqrt(2.0 - math.pi / 2.0)
    # NumPy and scipy.fft release the GIL; the sums run in a fixed order, whatever the threads.
    jobs = [(spectrum, filters[o], bank.noise_gain[o], rayleigh) for o in range(len(bank.angles))]
    threads = min(len(jobs), _threads())
    if threads > 1:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            results = list(pool.map(lambda job: _orientation_energy(*job, 1), jobs))
    else:
        results = [_orientation_energy(*job, -1) for job in jobs]
    energy_all = np.sum([energy for energy, _ in results], axis=0)
    amplitude_all = np.sum([amplitude for _, amplitude in results], axis=0)
    pc = np.zeros((n, rows, cols))
    np.divide(energy_all, amplitude_all, out=pc, where=amplitude_all > 0)
    # A constant image's responses are FFT round-off; their ratio means nothing (FeatureSIM.m: NaN).
    pc[np.ptp(images.reshape(n, -1), axis=1) == 0] = 0.0
    return pc


def phase_congruency(image, *, nscale: int = 4, norient: int = 4, min_wavelength: float = 6.0, mult: float = 2.0,
                     sigma_onf: float = 0.55, d_theta_on_sigma: float = 1.2, k: float = 2.0,
                     precision: str = "single") -> np.ndarray:
    """Phase congruency map of an image, as ``phasecong2`` in FeatureSIM.m (the defaults are its constants).

    Parameters
    ----------
    image
        Gray or RGB (then FeatureSIM's unrounded Y), uint8/uint16/bool or float in [0, 1], at least
        :data:`MIN_SIZE` pixels each way; put on the 0-255 scale (:func:`to_intensity_255`).
    nscale, norient, min_wavelength, mult
        Scales (4), orientations (4: 0°, 45°, 90°, 135°), smallest wavelength in pixels (6) and the
        ratio between wavelengths (2).
    sigma_onf, d_theta_on_sigma
        Radial bandwidth (0.55) and angular spacing over the angular Gaussian's width (1.2).
    k
        Noise standard deviations above the mean noise energy at which the threshold sits (2).
    precision
        ``"single"``: complex64 FFTs, about twice as fast, within about 1e-6 of ``"double"``.

    Returns float64 in [0, 1], 0 everywhere for a constant image (FeatureSIM.m: NaN).

    >>> from skimage.data import camera
    >>> pc = phase_congruency(camera()[::4, ::4])
    >>> pc.shape, bool(0.0 <= pc.min() and pc.max() <= 1.0)
    ((128, 128), True)
    """
    gray = checked_intensity(image, "image")
    if gray.ndim == 3:
        gray = yiq(gray, luma_only=True)[0]
    return phase_congruency_stack(gray[None], nscale=nscale, norient=norient, min_wavelength=min_wavelength, mult=mult,
                                  sigma_onf=sigma_onf, d_theta_on_sigma=d_theta_on_sigma, k=k, precision=precision)[0]
