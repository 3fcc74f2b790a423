"""The measurements behind notebook 03 (FSIM), so that the notebook holds no untested logic.

* What phase congruency is: :func:`step_fourier_phases` splits a step into
  its Fourier components and measures, at every position, how well their
  phases agree -- with the paper's energy and with FeatureSIM.m's.
* Why phase congruency ignores contrast: :func:`edge_profiles` follows PC
  and the gradient magnitude across a step edge (or a thin line) of several heights;
  :func:`contrast_response` lowers an image's contrast step by step and
  measures how much its PC map and its gradient map move.
  :func:`pc_by_gradient` summarises where PC is high.
* FSIM against SSIM: :data:`SWEEPS` / :data:`SMOKE_SWEEPS` are the
  distortions and strengths of notebook 02 (run them with
  :func:`imgsim_helpers.lessons.ssim_drawbacks.sweep_transforms`);
  :func:`unrelated_baseline` and :func:`rescale_to_baseline` put metrics with
  different scales on one axis (1 = identical, 0 = an unrelated photo).
* Agreement with the authors' MATLAB code: :func:`missing_reference_files`
  and :func:`matlab_agreement` recompute the values that the reference
  folder's README records (read by :mod:`imgsim_helpers.lessons.reference_values`)
  from the reference images, which live outside the repository.
* A gallery: :func:`gallery_saving` scores one image against several both
  per pair and through per-image features, counting phase-congruency maps.
* The widely copied recipe: :func:`recipe_steps` walks from FeatureSIM.m
  to :func:`imgsim_helpers.metrics.feature_similarity.fsim_phasepack_recipe` one change at a time;
  :func:`unsigned_scharr_magnitude`, :func:`recipe_gradient_errors` and
  :func:`phasepack_summed_pc` show the recipe's gradients and PC maps.
* The interactive explorer: :func:`explore_pair` computes SSIM, FSIM and
  their maps for a pair and a distortion, :func:`plot_explorer` draws them,
  :func:`explorer_strengths` lists the strengths offered for a distortion.

Examples
--------
>>> import numpy as np
>>> from skimage.data import camera
>>> rows = contrast_response(camera()[::4, ::4], [1.0, 0.5])
>>> rows["gradient_ratio"]
[1.0, 0.5]
>>> rows["pc_mean_abs_change"][1] < 1e-3
True
"""

from __future__ import annotations

import importlib
import os
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from imgsim_helpers.core.errors import (
    EmptyInputError,
    ImageNotFoundError,
    InvalidParameterError,
    ShapeMismatchError,
    unknown_name,
)
from imgsim_helpers.images.io import (
    check_image,
    load_image,
    resize,
    to_float,
    to_gray,
    to_rgb,
    to_uint8,
)
from imgsim_helpers.images.transforms import apply_transform
from imgsim_helpers.lessons.reference_values import REFERENCE_ENV, readme_values, reference_dir
from imgsim_helpers.lessons.ssim_drawbacks import SMOKE_SWEEPS, SWEEPS
from imgsim_helpers.metrics.feature_similarity import (
    T1,
    T2,
    FSIMResult,
    fsim,
    fsim_compare,
    fsim_features,
    fsim_features_many,
    fsim_phasepack_recipe,
    gradient_magnitude,
)
from imgsim_helpers.metrics.log_gabor import MIN_SIZE, phase_congruency
from imgsim_helpers.metrics.structural_similarity import ssim

__all__ = [
    "EXPLORER_TRANSFORMS",
    "RECIPE_STEPS",
    "REFERENCE_ENV",
    "REFERENCE_PAIRS",
    "SMOKE_SWEEPS",
    "SWEEPS",
    "ExplorerResult",
    "contrast_copy",
    "contrast_response",
    "edge_profiles",
    "explore_pair",
    "explorer_strengths",
    "explorer_widget",
    "load_reference_pair",
    "matlab_agreement",
    "missing_reference_files",
    "pc_by_gradient",
    "step_fourier_phases",
    "phasepack_summed_pc",
    "plot_explorer",
    "recipe_gradient_errors",
    "recipe_steps",
    "reference_dir",
    "rescale_to_baseline",
    "unrelated_baseline",
    "unsigned_scharr_magnitude",
]

# --------------------------------------------------------------------------- sweeps

#: The distortions the explorer offers (those of the sweeps).
EXPLORER_TRANSFORMS: tuple[str, ...] = tuple(SWEEPS)


def explorer_strengths(transform: str) -> list[float]:
    """The strengths the explorer's slider offers for a distortion (those of :data:`SWEEPS`).

    Raises
    ------
    UnknownMethodError
        ``transform`` is not one of :data:`EXPLORER_TRANSFORMS`.

    Examples
    --------
    >>> explorer_strengths("noise")
    [0, 5, 10, 20, 40]
    """
    if transform not in SWEEPS:
        raise unknown_name("distortion", transform, SWEEPS)
    return list(SWEEPS[transform])


def unrelated_baseline(image, others: Sequence, metrics: Mapping) -> dict[str, float]:
    """Each metric's mean score between ``image`` and unrelated photos: its "different picture" level.

    A score only means something against this level: FSIM gives two
    unrelated photos about 0.5, SSIM about 0.15.

    Parameters
    ----------
    image
        The image of the sweeps.
    others
        Unrelated images; each is resized to ``image``'s height and width
        (SSIM and FSIM need equal sizes) and converted to RGB or gray to match.
    metrics
        Label -> ``f(image1, image2) -> float``, as for ``sweep_transforms``.

    Returns
    -------
    dict
        Label -> mean score over ``others``.

    Raises
    ------
    EmptyInputError
        No other image or no metric.

    Examples
    --------
    >>> from skimage.data import camera, coins
    >>> from imgsim_helpers.metrics.structural_similarity import ssim
    >>> base = unrelated_baseline(camera()[::4, ::4], [coins()], {"SSIM": ssim})
    >>> base["SSIM"] < 0.3
    True
    """
    image = check_image(image)
    if len(others) == 0 or not metrics:
        raise EmptyInputError("unrelated_baseline needs at least one other image and one metric")
    matched = [_match(image, check_image(other, name="other")) for other in others]
    return {label: float(np.mean([metric(image, other) for other in matched])) for label, metric in metrics.items()}


def _match(reference: np.ndarray, other: np.ndarray) -> np.ndarray:
    """``other`` with ``reference``'s channels (gray or RGB) and height × width."""
    other = to_rgb(other) if reference.ndim == 3 else to_gray(other)
    if reference.dtype != other.dtype:
        other = to_uint8(other) if reference.dtype == np.uint8 else to_float(other)
    if other.shape[:2] != reference.shape[:2]:
        other = resize(other, reference.shape[:2])
    return other


def rescale_to_baseline(scores: Sequence[float], baseline: float, *, identical: float = 1.0) -> list[float]:
    """Map scores linearly so that ``identical`` -> 1 and ``baseline`` (unrelated photos) -> 0.

    Metrics live on different scales: an FSIM of 0.6 is an unrelated photo,
    an SSIM of 0.6 is a recognisable copy. On the rescaled axis the two can be
    compared: 0.5 means "halfway from identical to a different picture".

    Raises
    ------
    InvalidParameterError
        ``baseline`` is not below ``identical``.

    Examples
    --------
    >>> rescale_to_baseline([1.0, 0.75, 0.5], 0.5)
    [1.0, 0.5, 0.0]
    """
    if not baseline < identical:
        raise InvalidParameterError(
            f"baseline ({baseline}) must lie below the identical-image score ({identical}); "
            "a metric that scores unrelated photos as identical cannot be rescaled"
        )
    span = identical - baseline
    return [float((s - baseline) / span) for s in scores]


# --------------------------------------------------------------------------- contrast


def step_fourier_phases(x, *, n_terms: int = 4) -> dict:
    """A step's first Fourier components, and how well their phases agree at each position ``x``.

    A square wave of period 2π (a step up at 0, down at ±π) is
    ``Σ_k 4 / (π k) · sin(k x)`` over odd k. Component k has amplitude
    ``A_k = 4 / (π k)`` and, at position x, phase ``φ_k(x) = k x`` (measured
    as a sine). With the mean phase φ̄(x) the direction of ``Σ_k A_k e^{i φ_k}``,
    two energies measure the agreement:

    * the paper's (Morrone & Owens; Kovesi; the FSIM paper): ``E = √(F² + H²)``
      with ``F = Σ A cos φ``, ``H = Σ A sin φ`` -- which equals ``Σ A cos(φ - φ̄)``;
    * FeatureSIM.m's (Kovesi's ``phasecong2``): ``Σ A [cos(φ - φ̄) - |sin(φ - φ̄)|]``,
      which also subtracts how far each phase strays from the mean.

    Each divided by ``Σ A`` is a phase congruency in [0, 1] (FeatureSIM.m's
    clipped at 0, as its noise threshold does): 1 where every phase agrees.

    Parameters
    ----------
    x
        Positions in radians (1-D).
    n_terms
        How many odd harmonics (1, 3, 5, ...) to use.

    Returns
    -------
    dict
        ``x``, ``harmonics`` (k), ``amplitudes``, ``components`` (one row per
        harmonic), ``sum``, ``pc_paper``, ``pc_featuresim`` (lists), and
        ``identity_error``: the largest ``|Σ A cos(φ - φ̄) - √(F² + H²)|``.

    Raises
    ------
    InvalidParameterError
        ``n_terms`` below 1, or ``x`` empty or not finite.

    Examples
    --------
    >>> out = step_fourier_phases([0.0, np.pi / 2], n_terms=4)
    >>> [round(v, 6) for v in out["pc_paper"]], out["pc_featuresim"][0]
    ([1.0, 0.431818], 1.0)
    """
    positions = np.asarray(x, dtype=np.float64).ravel()
    if positions.size == 0 or not np.all(np.isfinite(positions)):
        raise InvalidParameterError("x must be a non-empty list of finite positions (radians)")
    if isinstance(n_terms, bool) or not isinstance(n_terms, int | np.integer) or n_terms < 1:
        raise InvalidParameterError(f"n_terms must be a positive integer; got {n_terms!r}")
    harmonics = 2 * np.arange(n_terms) + 1
    amplitudes = 4.0 / (np.pi * harmonics)
    phases = harmonics[:, None] * positions[None, :]
    components = amplitudes[:, None] * np.sin(phases)
    even, odd = amplitudes[:, None] * np.cos(phases), amplitudes[:, None] * np.sin(phases)
    f_sum, h_sum = even.sum(axis=0), odd.sum(axis=0)
    energy = np.hypot(f_sum, h_sum)
    mean_phase = np.arctan2(h_sum, f_sum)
    spread = phases - mean_phase[None, :]
    along = (amplitudes[:, None] * np.cos(spread)).sum(axis=0)
    across = (amplitudes[:, None] * np.abs(np.sin(spread))).sum(axis=0)
    total = amplitudes.sum()
    return {
        "x": positions.tolist(),
        "harmonics": harmonics.tolist(),
        "amplitudes": amplitudes.tolist(),
        "components": components.tolist(),
        "sum": components.sum(axis=0).tolist(),
        "pc_paper": (energy / total).tolist(),
        "pc_featuresim": (np.maximum(along - across, 0.0) / total).tolist(),
        "identity_error": float(np.abs(along - energy).max()),
    }


def edge_profiles(heights: Sequence[float], *, size: int = 64, level: float = 128.0, kind: str = "step") -> dict:
    """PC and gradient magnitude along one row across a vertical step edge (or line) of each height.

    With ``kind="step"`` the image is ``size`` × ``size``, ``level - height / 2``
    left of the middle column and ``level + height / 2`` from it on (0-255
    scale, float, so no rounding), so every step has the same mean and only
    its contrast changes. With ``kind="line"`` it is ``level - height / 2``
    everywhere except the middle column, one pixel wide, at
    ``level + height / 2``: a thin bright line.

    Parameters
    ----------
    heights
        Step heights in gray levels, each in (0, 255] and with the step inside [0, 255].
    size
        Side of the square test image (at least 16).
    level
        The mean gray level of every step (the midpoint of every line's two levels).
    kind
        ``"step"`` or ``"line"``.

    Returns
    -------
    dict
        ``x`` (column offsets from the edge), and per height (keys as given,
        in order) the middle row of the PC map (``pc``) and of the gradient
        magnitude (``gradient``), plus ``pc_at_edge`` and ``gradient_at_edge``:
        the maxima of those rows.

    Raises
    ------
    InvalidParameterError
        A height outside (0, 255] or a step leaving [0, 255]; ``size`` below 16.

    Examples
    --------
    >>> out = edge_profiles([20, 160])
    >>> [round(g) for g in out["gradient_at_edge"]]
    [20, 160]
    >>> abs(out["pc_at_edge"][0] - out["pc_at_edge"][1]) < 1e-3
    True
    >>> lines = edge_profiles([20, 160], kind="line")
    >>> abs(lines["pc_at_edge"][0] - lines["pc_at_edge"][1]) < 1e-3
    True
    """
    if kind not in ("step", "line"):
        raise InvalidParameterError(f"kind must be 'step' or 'line'; got {kind!r}")
    if isinstance(size, bool) or not isinstance(size, int | np.integer) or size < MIN_SIZE:
        raise InvalidParameterError(f"size must be an integer of at least {MIN_SIZE}; got {size!r}")
    if len(heights) == 0:
        raise EmptyInputError("edge_profiles needs at least one step height")
    for height in heights:
        if not 0 < height <= 255 or level - height / 2 < 0 or level + height / 2 > 255:
            raise InvalidParameterError(
                f"step height {height!r} around level {level} must be in (0, 255] and keep the "
                "step inside [0, 255]"
            )
    middle = size // 2
    out: dict = {"x": list(range(-middle, size - middle)), "pc": [], "gradient": [], "pc_at_edge": [], "gradient_at_edge": []}
    for height in heights:
        image = np.full((size, size), level - height / 2)
        if kind == "step":
            image[:, middle:] = level + height / 2
        else:
            image[:, middle] = level + height / 2
        unit = image / 255.0  # floats in [0, 1]: FSIM's 0-255 scale without rounding
        pc_row = phase_congruency(unit)[middle]
        gradient_row = gradient_magnitude(unit)[middle]
        # Columns 2..size-3 only: zero padding puts a false edge on the border.
        inner = slice(2, size - 2)
        out["pc"].append(pc_row.tolist())
        out["gradient"].append(gradient_row.tolist())
        out["pc_at_edge"].append(float(pc_row[inner].max()))
        out["gradient_at_edge"].append(float(gradient_row[inner].max()))
    return out


def contrast_copy(image, factor: float, *, rounded: bool = False) -> np.ndarray:
    """A lower-contrast gray copy: ``mean + factor × (gray - mean)``, as floats in [0, 1].

    Parameters
    ----------
    image
        Gray or RGB image (RGB is converted to gray first).
    factor
        Contrast factor in (0, 1]; values in between keep every pixel inside
        [0, 1], so nothing is clipped and only the contrast changes.
    rounded
        Round to the 256 levels of ``uint8`` (as saving the copy would).

    Raises
    ------
    InvalidParameterError
        ``factor`` outside (0, 1], or ``rounded`` not a boolean.

    Examples
    --------
    >>> copy = contrast_copy(np.array([[0, 255], [255, 0]], np.uint8), 0.5)
    >>> copy.tolist()
    [[0.25, 0.75], [0.75, 0.25]]
    """
    if isinstance(factor, bool) or not isinstance(factor, int | float | np.number) or not 0 < factor <= 1:
        raise InvalidParameterError(
            f"contrast factors must lie in (0, 1] (lower contrast without clipping); got {factor!r}"
        )
    if not isinstance(rounded, bool | np.bool_):
        raise InvalidParameterError(f"rounded must be True or False; got {rounded!r}")
    gray = to_float(to_gray(check_image(image)))
    mean = float(gray.mean())
    copy = mean + float(factor) * (gray - mean)
    return np.round(copy * 255.0) / 255.0 if rounded else copy


def contrast_response(image, factors: Sequence[float], *, rounded: bool = False) -> dict[str, list[float]]:
    """How PC and gradient magnitude change when an image's contrast is multiplied by each factor.

    The low-contrast copy is :func:`contrast_copy`: ``mean + factor × (gray -
    mean)`` in floats, so that only the contrast changes.

    Parameters
    ----------
    image
        Gray or RGB image (RGB is converted to gray first).
    factors
        Contrast factors in (0, 1].
    rounded
        Round the copy to the 256 levels of ``uint8``, as saving it as an
        8-bit image would: a copy at factor 0.05 keeps only about 13 levels,
        and the rounding adds false edges that PC does see.

    Returns
    -------
    dict
        Lists aligned with ``factors``: ``factor``; ``pc_mean`` (mean PC of
        the copy); ``pc_mean_abs_change`` (mean |PC(copy) - PC(image)|);
        ``gradient_mean`` and ``gradient_ratio`` (mean gradient magnitude of
        the copy over the original's, away from the 1-pixel border where the
        zero padding makes the gradient depend on the mean level as well).

    Raises
    ------
    InvalidParameterError
        A factor outside (0, 1].
    EmptyInputError
        No factor.

    Examples
    --------
    >>> from skimage.data import camera
    >>> out = contrast_response(camera()[::4, ::4], [0.25])
    >>> out["gradient_ratio"], out["pc_mean_abs_change"][0] < 1e-3
    ([0.25], True)
    """
    if len(factors) == 0:
        raise EmptyInputError("contrast_response needs at least one contrast factor")
    # Validate every factor before the expensive part.
    copies = [contrast_copy(image, factor, rounded=rounded) for factor in factors]
    gray = to_float(to_gray(check_image(image)))
    pc0 = phase_congruency(gray)
    inner = (slice(1, -1), slice(1, -1))
    g0 = float(gradient_magnitude(gray)[inner].mean())
    out: dict[str, list[float]] = {k: [] for k in ("factor", "pc_mean", "pc_mean_abs_change", "gradient_mean", "gradient_ratio")}
    for factor, copy in zip(factors, copies, strict=True):
        pc = phase_congruency(copy)
        g = float(gradient_magnitude(copy)[inner].mean())
        out["factor"].append(float(factor))
        out["pc_mean"].append(float(pc.mean()))
        out["pc_mean_abs_change"].append(float(np.abs(pc - pc0).mean()))
        out["gradient_mean"].append(g)
        # Rounded to 12 digits: the ratio is the factor up to float round-off.
        out["gradient_ratio"].append(round(g / g0, 12) if g0 > 0 else 0.0)
    return out


def pc_by_gradient(pc, gradient, *, top: float = 0.1) -> dict[str, float]:
    """Mean phase congruency on the strongest-gradient pixels and on the weakest half.

    Parameters
    ----------
    pc, gradient
        Maps of the same shape (for example ``FSIMResult.pc1`` and ``.gradient1``).
    top
        Fraction of pixels, by gradient magnitude, counted as "strongest" (0 < top <= 0.5).

    Returns
    -------
    dict
        ``strong``: mean PC over the ``top`` fraction with the largest gradient;
        ``weak``: mean PC over the half with the smallest gradient;
        ``overall``: mean PC.

    Raises
    ------
    ShapeMismatchError
        The maps' shapes differ.
    InvalidParameterError
        ``top`` outside (0, 0.5].

    Examples
    --------
    >>> g = np.arange(100.0).reshape(10, 10)
    >>> out = pc_by_gradient(g / 100, g)
    >>> out["strong"] > out["weak"]
    True
    """
    pc = np.asarray(pc, dtype=np.float64)
    gradient = np.asarray(gradient, dtype=np.float64)
    if pc.shape != gradient.shape or pc.size == 0:
        raise ShapeMismatchError(f"pc and gradient maps must have one non-empty shape; got {pc.shape} and {gradient.shape}")
    if not 0 < top <= 0.5:
        raise InvalidParameterError(f"top must lie in (0, 0.5]; got {top!r}")
    order = np.argsort(gradient, axis=None, kind="stable")
    flat = pc.ravel()[order]
    n = flat.size
    strong = flat[n - max(1, int(round(top * n))) :]
    weak = flat[: max(1, n // 2)]
    return {"strong": float(strong.mean()), "weak": float(weak.mean()), "overall": float(pc.mean())}


# --------------------------------------------------------------------------- galleries


def gallery_saving(query, gallery: Sequence) -> dict[str, float]:
    """Score ``query`` against ``gallery`` both ways, counting phase-congruency maps (notebook 03's gallery pitfall).

    ``fsim`` per pair computes phase congruency of both images on every call;
    :func:`~imgsim_helpers.metrics.feature_similarity.fsim_features` computes it once per image and
    :func:`~imgsim_helpers.metrics.feature_similarity.fsim_compare` only combines the maps. The
    counts are measured, not assumed: every image that passes through the
    phase-congruency routine FSIM calls is counted. Times are measured too,
    for printing only: they depend on the machine and its load.

    Returns
    -------
    dict
        ``max_difference`` between the two ways' scores; ``pc_maps_per_pair``
        and ``pc_maps_via_features`` (phase-congruency maps computed, gallery
        of ``n_gallery`` images); ``direct_ms_per_pair``,
        ``extract_ms_per_image`` (query included) and ``compare_ms_per_pair``.

    Examples
    --------
    >>> from skimage.data import camera
    >>> image = camera()[::8, ::8]
    >>> out = gallery_saving(image, [image[::-1], image[:, ::-1]])
    >>> out["pc_maps_per_pair"], out["pc_maps_via_features"], out["max_difference"] < 1e-9
    (4, 3, True)
    """
    gallery = list(gallery)
    if not gallery:
        raise EmptyInputError("gallery_saving needs at least one gallery image")
    counter = _PhaseCongruencyCounter()
    with counter:
        start = time.perf_counter()
        direct = [fsim(query, other) for other in gallery]
        direct_seconds = time.perf_counter() - start
    per_pair_maps = counter.images
    counter = _PhaseCongruencyCounter()
    with counter:
        start = time.perf_counter()
        query_features, gallery_features = fsim_features(query), fsim_features_many(gallery)
        extract_seconds = time.perf_counter() - start
        start = time.perf_counter()
        via_features = [fsim_compare(query_features, features) for features in gallery_features]
        compare_seconds = time.perf_counter() - start
    n = len(gallery)
    return {
        "n_gallery": n,
        "max_difference": max(abs(a - b) for a, b in zip(direct, via_features, strict=True)),
        "pc_maps_per_pair": per_pair_maps,
        "pc_maps_via_features": counter.images,
        "direct_ms_per_pair": direct_seconds * 1e3 / n,
        "extract_ms_per_image": extract_seconds * 1e3 / (n + 1),
        "compare_ms_per_pair": compare_seconds * 1e3 / n,
    }


class _PhaseCongruencyCounter:
    """Counts the images FSIM passes to its phase-congruency routine while active (a context manager)."""

    def __init__(self):
        self.images = 0
        self._module = importlib.import_module("imgsim_helpers.metrics.feature_similarity")
        self._original = None

    def __enter__(self):
        self._original = self._module.phase_congruency_stack

        def counting(stack, *args, **kwargs):
            self.images += len(stack)  # a stack of gray planes, one per image
            return self._original(stack, *args, **kwargs)

        self._module.phase_congruency_stack = counting
        return self

    def __exit__(self, *exc):
        self._module.phase_congruency_stack = self._original
        return False


# --------------------------------------------------------------------------- MATLAB reference values

#: The reference pairs FeatureSIM.m's values are printed for: files and how FeatureSIM.m reads them.
#: The values themselves are read from the reference folder's README (:mod:`~imgsim_helpers.lessons.reference_values`).
REFERENCE_PAIRS = {"goldhill": ("goldhill.gif", "goldhill_jpeg.gif", "gray"), "I01": ("I01.BMP", "i01_01_5.bmp", "rgb")}


def missing_reference_files(folder: str | os.PathLike) -> list[str]:
    """The reference images that ``folder`` lacks (empty when every pair of :data:`REFERENCE_PAIRS` can be checked).

    Examples
    --------
    >>> missing_reference_files("/nonexistent")
    ['I01.BMP', 'goldhill.gif', 'goldhill_jpeg.gif', 'i01_01_5.bmp']
    """
    names = sorted({name for file1, file2, _ in REFERENCE_PAIRS.values() for name in (file1, file2)})
    return [name for name in names if not (Path(folder) / name).is_file()]


def load_reference_pair(folder: str | os.PathLike, pair: str) -> tuple[np.ndarray, np.ndarray]:
    """Load a reference pair (``"goldhill"`` gray, ``"I01"`` RGB) as FeatureSIM.m reads it.

    Raises
    ------
    ImageNotFoundError
        A file is missing; the message says which folder was searched and what it needs.
    UnknownMethodError
        ``pair`` is not one of :data:`REFERENCE_PAIRS`.
    """
    if pair not in REFERENCE_PAIRS:
        raise unknown_name("reference pair", pair, REFERENCE_PAIRS)
    file1, file2, mode = REFERENCE_PAIRS[pair]
    missing = [name for name in (file1, file2) if not (Path(folder) / name).is_file()]
    if missing:
        raise ImageNotFoundError(
            f"reference images {missing} not found in {Path(folder).resolve()}; set {REFERENCE_ENV} to the "
            "folder holding the FSIM authors' test images (goldhill.gif, goldhill_jpeg.gif) and TID2013's "
            "I01.BMP and i01_01_5.bmp"
        )
    return load_image(Path(folder) / file1, mode=mode), load_image(Path(folder) / file2, mode=mode)


def matlab_agreement(folder: str | os.PathLike, *, precision: str = "single") -> list[dict]:
    """Recompute every FSIM value the reference folder's README records with :func:`imgsim_helpers.metrics.feature_similarity.fsim`.

    Parameters
    ----------
    folder
        The reference folder.
    precision
        Passed to :func:`~imgsim_helpers.metrics.feature_similarity.fsim`.

    Returns
    -------
    list of dict
        One row per published value: ``pair``, ``metric``, ``ours``,
        ``matlab`` and ``abs_error``.

    Raises
    ------
    ImageNotFoundError
        A reference image, or the README, is missing.
    """
    rows = []
    cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for row in readme_values(folder, metrics=("FSIM", "FSIMc")):
        if row.pair not in cache:
            cache[row.pair] = load_reference_pair(folder, row.pair)
        a, b = cache[row.pair]
        ours = fsim(a, b, chromatic=row.metric == "FSIMc", precision=precision)
        rows.append({"pair": row.pair, "metric": row.metric, "ours": ours, "matlab": row.value, "abs_error": abs(ours - row.value)})
    return rows


# --------------------------------------------------------------------------- the copied recipe


def _phasecong():
    with warnings.catch_warnings():
        # phasepack warns on import when pyfftw is missing; NumPy's FFT is fine.
        warnings.filterwarnings("ignore", message=r"(?s).*pyfftw", category=UserWarning)
        from phasepack import phasecong
    return phasecong


def phasepack_summed_pc(image) -> np.ndarray:
    """The "PC" map of the copied recipe: ``phasepack.phasecong``'s 6 orientation maps, summed.

    Same settings as :func:`imgsim_helpers.metrics.feature_similarity.fsim_phasepack_recipe`
    (nscale 4, minWaveLength 6, mult 2, sigmaOnf 0.5978, 6 orientations), on
    one ``uint8`` plane. Each orientation's map lies in [0, 1], so the sum
    can reach 6 — unlike FeatureSIM.m's PC, which lies in [0, 1].

    Parameters
    ----------
    image
        Gray image (RGB is converted to gray), converted to ``uint8``.

    Returns
    -------
    numpy.ndarray
        float64 map of the image's size.

    Examples
    --------
    >>> from skimage.data import camera
    >>> pc = phasepack_summed_pc(camera()[::4, ::4])
    >>> pc.shape, bool(pc.max() > 1.0)
    ((128, 128), True)
    """
    plane = to_uint8(to_gray(check_image(image, min_size=MIN_SIZE)))
    per_orientation = _phasecong()(np.ascontiguousarray(plane), nscale=4, minWaveLength=6, mult=2, sigmaOnf=0.5978)[4]
    return np.sum(np.asarray(per_orientation, dtype=np.float64), axis=0)


def unsigned_scharr_magnitude(plane) -> np.ndarray:
    """The copied recipe's gradient: ``cv2.Scharr`` into ``uint16``, squared and summed in ``uint16``.

    Negative derivatives saturate to 0, the kernel is not divided by 16, and
    ``gx**2 + gy**2`` wraps around modulo 65536 once it passes 65535 (any
    derivative of 256 or more), exactly as the recipe computes it.

    Parameters
    ----------
    plane
        One ``uint8`` channel (other gray input is converted to ``uint8``).

    Returns
    -------
    numpy.ndarray
        float64 map (the square root of the wrapped ``uint16`` sum).

    Examples
    --------
    >>> ramp = np.tile(np.arange(0, 64, 4, dtype=np.uint8), (16, 1))  # rising to the right
    >>> float(unsigned_scharr_magnitude(ramp)[8, 8]), float(unsigned_scharr_magnitude(ramp[:, ::-1])[8, 8])
    (128.0, 0.0)
    """
    import cv2

    plane = np.ascontiguousarray(to_uint8(check_image(plane, name="plane")))
    if plane.ndim != 2:
        raise InvalidParameterError(f"plane must be one 2-D channel; got shape {plane.shape}")
    gx = cv2.Scharr(plane, cv2.CV_16U, 1, 0)
    gy = cv2.Scharr(plane, cv2.CV_16U, 0, 1)
    # uint16 arithmetic on purpose: this reproduces the recipe's overflow.
    return np.sqrt(gx**2 + gy**2).astype(np.float64)


def recipe_gradient_errors(plane) -> dict[str, float]:
    """How often the recipe's unsigned ``uint16`` gradient is wrong, on one ``uint8`` plane.

    Returns
    -------
    dict
        ``clipped``: share of pixels with a negative x or y derivative (set to
        0 by the unsigned output); ``wrapped``: share of pixels whose
        ``gx² + gy²`` (after that clipping) exceeds 65535 and wraps around;
        ``wrong``: share of pixels whose recipe magnitude differs from the
        true Scharr magnitude by more than one gray level.

    Examples
    --------
    >>> from skimage.data import camera
    >>> err = recipe_gradient_errors(camera()[::4, ::4])
    >>> 0.3 < err["clipped"] < 1.0 and 0.0 < err["wrapped"] < err["wrong"]
    True
    """
    import cv2

    plane = np.ascontiguousarray(to_uint8(check_image(plane, name="plane")))
    if plane.ndim != 2:
        raise InvalidParameterError(f"plane must be one 2-D channel; got shape {plane.shape}")
    gx = cv2.Scharr(plane, cv2.CV_64F, 1, 0)
    gy = cv2.Scharr(plane, cv2.CV_64F, 0, 1)
    clipped = (gx < 0) | (gy < 0)
    wrapped = np.maximum(gx, 0) ** 2 + np.maximum(gy, 0) ** 2 > 65535
    wrong = np.abs(unsigned_scharr_magnitude(plane) - np.hypot(gx, gy)) > 1.0
    return {"clipped": float(clipped.mean()), "wrapped": float(wrapped.mean()), "wrong": float(wrong.mean())}


def _channel_score(pc1, pc2, g1, g2) -> float:
    """FeatureSIM's pooling of one channel: S_PC · S_G weighted by max(PC1, PC2)."""
    s_l = (2 * pc1 * pc2 + T1) / (pc1**2 + pc2**2 + T1) * (2 * g1 * g2 + T2) / (g1**2 + g2**2 + T2)
    pc_max = np.maximum(pc1, pc2)
    return float(np.sum(s_l * pc_max) / np.sum(pc_max))


#: The labels of :func:`recipe_steps`, in order: each adds one change to the one before.
RECIPE_STEPS = (
    "FeatureSIM.m",
    "no downsampling",
    "each RGB channel, then the mean",
    "unsigned uint16 gradients",
    "phasepack PC (6 orientations, summed)",
)


def recipe_steps(image1, image2) -> dict[str, float]:
    """From FeatureSIM.m to the widely copied recipe, one change at a time.

    Each step keeps the changes of the steps before it:

    1. ``FeatureSIM.m``: :func:`~imgsim_helpers.metrics.feature_similarity.fsim` (luminance, downsampled);
    2. ``no downsampling``: ``fsim(..., downsample=False)`` (the same as step 1
       below 384 pixels, where FeatureSIM.m's factor is 1 anyway);
    3. ``each RGB channel, then the mean``: FSIM of the R, G and B planes
       separately (as ``uint8``), averaged — as the recipe does instead of
       using the luminance (the same as step 2 for gray images);
    4. ``unsigned uint16 gradients``: the recipe's
       :func:`unsigned_scharr_magnitude` instead of Scharr / 16 (PC still
       FeatureSIM.m's);
    5. ``phasepack PC (6 orientations, summed)``: phasepack's PC as well —
       this is :func:`~imgsim_helpers.metrics.feature_similarity.fsim_phasepack_recipe` itself.

    Parameters
    ----------
    image1, image2
        Same-shape gray or RGB images, at least 16 pixels each way.

    Returns
    -------
    dict
        Step label (:data:`RECIPE_STEPS`) -> score, in order.

    Examples
    --------
    >>> from skimage.data import camera
    >>> img = camera()[::4, ::4]
    >>> steps = recipe_steps(img, img)
    >>> list(steps) == list(RECIPE_STEPS), set(round(v, 9) for v in steps.values())
    (True, {1.0})
    """
    a = to_uint8(check_image(image1, name="image1"), name="image1")
    b = to_uint8(check_image(image2, name="image2"), name="image2")
    steps = {
        RECIPE_STEPS[0]: fsim(a, b),
        RECIPE_STEPS[1]: fsim(a, b, downsample=False),
    }
    planes_a = [a] if a.ndim == 2 else [a[..., c] for c in range(a.shape[2])]
    planes_b = [b] if b.ndim == 2 else [b[..., c] for c in range(b.shape[2])]
    per_channel, unsigned = [], []
    for pa, pb in zip(planes_a, planes_b, strict=True):
        score, result = fsim(pa, pb, downsample=False, full=True)
        per_channel.append(score)
        unsigned.append(
            _channel_score(result.pc1, result.pc2, unsigned_scharr_magnitude(pa), unsigned_scharr_magnitude(pb))
        )
    steps[RECIPE_STEPS[2]] = float(np.mean(per_channel))
    steps[RECIPE_STEPS[3]] = float(np.mean(unsigned))
    steps[RECIPE_STEPS[4]] = fsim_phasepack_recipe(a, b)
    return steps


# --------------------------------------------------------------------------- the explorer


@dataclass(frozen=True, eq=False)
class ExplorerResult:
    """What :func:`explore_pair` computed: the pair, SSIM and FSIM with their maps.

    Attributes
    ----------
    image1, image2
        The first image and the distorted second image, as compared.
    transform, strength
        The distortion applied to the second image.
    ssim, ssim_map
        SSIM (Gaussian 11×11 window, as notebook 02) and its map (valid region).
    fsim, fsim_result
        FSIM and its :class:`~imgsim_helpers.metrics.feature_similarity.FSIMResult` (PC, gradient and similarity maps).
    fsimc
        FSIMc for RGB pairs, ``None`` for gray ones.
    """

    image1: np.ndarray
    image2: np.ndarray
    transform: str
    strength: float
    ssim: float
    ssim_map: np.ndarray
    fsim: float
    fsim_result: FSIMResult
    fsimc: float | None


def explore_pair(image1, image2, transform: str, strength: float, *, seed: int = 0) -> ExplorerResult:
    """Distort ``image2`` and compare it with ``image1`` by SSIM, FSIM and FSIMc, keeping the maps.

    Parameters
    ----------
    image1
        The reference image (gray or RGB).
    image2
        The image to distort: ``image1`` itself for "the same picture, changed",
        or another image. If its size or channels differ from ``image1``'s it is
        first converted and resized to match (both metrics need equal shapes).
    transform
        One of :data:`EXPLORER_TRANSFORMS`.
    strength
        The distortion's strength (see :func:`explorer_strengths`).
    seed
        Seed of the noise.

    Returns
    -------
    ExplorerResult

    Raises
    ------
    UnknownMethodError
        ``transform`` is not one of :data:`EXPLORER_TRANSFORMS`.
    InvalidParameterError
        ``strength`` is outside the transform's range.

    Examples
    --------
    >>> from skimage.data import astronaut
    >>> img = astronaut()[::4, ::4]
    >>> res = explore_pair(img, img, "noise", 20)
    >>> res.fsim > res.ssim, res.fsimc <= res.fsim, res.ssim_map.shape
    (True, True, (118, 118))
    """
    if transform not in SWEEPS:
        raise unknown_name("distortion", transform, SWEEPS)
    a = check_image(image1, name="image1", min_size=MIN_SIZE)
    b = _match(a, check_image(image2, name="image2"))
    changed = apply_transform(b, transform, strength, seed=seed)
    ssim_score, ssim_map = ssim(a, changed, full=True)
    fsim_score, result = fsim(a, changed, full=True)
    fsimc = fsim(a, changed, chromatic=True) if a.ndim == 3 else None
    return ExplorerResult(
        image1=a,
        image2=changed,
        transform=transform,
        strength=strength,
        ssim=float(ssim_score),
        ssim_map=ssim_map,
        fsim=float(fsim_score),
        fsim_result=result,
        fsimc=fsimc,
    )


def plot_explorer(result: ExplorerResult, *, size: float = 3.0):
    """Draw an :class:`ExplorerResult`: the two images, the SSIM map, FSIM's local similarity and its weight.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from skimage.data import camera
    >>> img = camera()[::4, ::4]
    >>> fig = plot_explorer(explore_pair(img, img, "blur", 2))
    >>> len(fig.axes) >= 5
    True
    """
    import matplotlib.pyplot as plt

    from imgsim_helpers.images.viz import show_image, show_map

    if not isinstance(result, ExplorerResult):
        raise InvalidParameterError(f"plot_explorer needs the ExplorerResult of explore_pair; got {type(result).__name__}")
    fig, axes = plt.subplots(1, 5, figsize=(5 * size, size))
    show_image(axes[0], result.image1, "image 1")
    show_image(axes[1], result.image2, f"image 2: {result.transform} {result.strength:g}")
    show_map(result.ssim_map, ax=axes[2], title=f"SSIM map: {result.ssim:.3f}", vmin=-1, vmax=1)
    fsim_title = f"FSIM: S_L map, {result.fsim:.3f}"
    if result.fsimc is not None:
        fsim_title += f" (FSIMc {result.fsimc:.3f})"
    show_map(result.fsim_result.similarity, ax=axes[3], title=fsim_title, vmin=0, vmax=1)
    show_map(result.fsim_result.pc_max, ax=axes[4], title="weight PC_m = max(PC1, PC2)", vmin=0, vmax=1, cmap="magma")
    fig.tight_layout()
    return fig


def explorer_widget(
    images: Mapping[str, np.ndarray],
    draw: Callable,
    *,
    image_1: str | None = None,
    image_2: str | None = None,
    distortion: str = "noise",
    strength: float = 20,
):
    """The explorer's controls: two image menus, a distortion menu, a strength slider and a figure area.

    Every change of a control calls ``draw(image_1=..., image_2=..., distortion=...,
    strength=...)`` (image names, the distortion's name and strength) inside
    the figure area, after clearing it. Changing the distortion first offers
    that distortion's strengths (:func:`explorer_strengths`), then draws once.

    Building the widget does **not** call ``draw``: call it yourself once, in
    the cell, so that a headless run (papermill, nbval) has the figure in the
    cell's output. Drawing into an output widget during a headless run is
    also what makes some notebook runners wait forever.

    Parameters
    ----------
    images
        Name -> image, the choices of both image menus.
    draw
        Function of the four keyword arguments; its return value is ignored.
    image_1, image_2
        Initial choices (default: the first name).
    distortion, strength
        Initial distortion (one of :data:`EXPLORER_TRANSFORMS`) and strength
        (one of ``explorer_strengths(distortion)``).

    Returns
    -------
    ipywidgets.VBox
        The widget to display; ``.controls`` maps ``image_1``, ``image_2``,
        ``distortion`` and ``strength`` to their widgets, ``.output`` is the figure area.

    Raises
    ------
    EmptyInputError
        No images.
    InvalidParameterError
        ``draw`` not callable, an initial choice not on offer.

    Examples
    --------
    >>> calls = []
    >>> box = explorer_widget({"a": np.zeros((16, 16))}, lambda **kw: calls.append(kw))
    >>> box.controls["strength"].value = 40
    >>> calls
    [{'image_1': 'a', 'image_2': 'a', 'distortion': 'noise', 'strength': 40}]
    """
    import ipywidgets as widgets
    from IPython import get_ipython

    if not isinstance(images, Mapping) or not images:
        raise EmptyInputError("explorer_widget needs a non-empty mapping from image names to images")
    if not callable(draw):
        raise InvalidParameterError(f"draw must be callable as draw(image_1=, image_2=, distortion=, strength=); got {draw!r}")
    names = list(images)
    image_1 = names[0] if image_1 is None else image_1
    image_2 = names[0] if image_2 is None else image_2
    for label, name in (("image_1", image_1), ("image_2", image_2)):
        if name not in images:
            raise InvalidParameterError(f"{label} {name!r} is not among the images {names}")
    strengths = explorer_strengths(distortion)
    if strength not in strengths:
        raise InvalidParameterError(f"strength {strength!r} is not offered for {distortion!r}; choose one of {strengths}")

    controls = {
        "image_1": widgets.Dropdown(options=names, value=image_1, description="image 1"),
        "image_2": widgets.Dropdown(options=names, value=image_2, description="image 2"),
        "distortion": widgets.Dropdown(options=list(EXPLORER_TRANSFORMS), value=distortion, description="distortion"),
        "strength": widgets.SelectionSlider(options=strengths, value=strength, description="strength"),
    }
    output = widgets.Output()
    # While the slider's options are replaced its value may change, or not:
    # the distortion handler draws once itself, so the slider must not.
    retargeting = [False]

    def redraw(change=None):
        if retargeting[0]:
            return
        with output:
            if get_ipython() is not None:  # outside IPython, clear_output only prints escape codes
                output.clear_output(wait=True)
            draw(**{name: control.value for name, control in controls.items()})

    def on_distortion(change):
        retargeting[0] = True
        try:
            controls["strength"].options = explorer_strengths(change["new"])
        finally:
            retargeting[0] = False
        redraw()

    controls["distortion"].observe(on_distortion, names="value")
    for name in ("image_1", "image_2", "strength"):
        controls[name].observe(redraw, names="value")
    box = widgets.VBox(
        [
            widgets.HBox([controls["image_1"], controls["image_2"]]),
            widgets.HBox([controls["distortion"], controls["strength"]]),
            output,
        ]
    )
    box.controls = controls
    box.output = output
    return box
