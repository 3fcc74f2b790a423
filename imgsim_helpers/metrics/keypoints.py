"""Keypoints, descriptors, matching and geometric verification — one API over five methods.

The pipeline that turns two images into a similarity score:

1. :func:`detect_and_describe` finds keypoints (position, scale, angle,
   response) and their descriptors with SIFT, SURF, ORB, AKAZE or BRISK,
   and returns them in one structure, :class:`Features`, whatever the method.
   SIFT, ORB, AKAZE and BRISK come from OpenCV's main module; SURF, missing
   from pip builds of OpenCV, from :mod:`imgsim_helpers.metrics.surf_detector`.
2. :func:`match_descriptors` pairs each descriptor of the first image with
   its nearest neighbour in the second (L2 distance for float descriptors,
   Hamming for binary ones) and keeps the pair only if it passes Lowe's
   ratio test: nearest distance < ``ratio`` × second-nearest distance.
3. :func:`verify_matches` fits a homography (or affine map) to the matched
   positions with RANSAC; the matches that agree with it are the inliers.
4. :func:`keypoint_similarity` chains the three and turns the inliers into a
   score in [0, 1] (definition in its docstring).

:func:`repeatability` and :func:`matching_score` measure detectors and
descriptors on image pairs related by a known homography, after the
protocol of Mikolajczyk et al. (IJCV 2005).

Conventions (shared with :mod:`imgsim_helpers.metrics.surf_detector` and OpenCV's
``KeyPoint``): ``xy`` is (x, y) = (column, row) with pixel centres at
integers; ``angle`` is in degrees in [0, 360), from +x towards +y (rows grow
downwards, so clockwise on screen); homographies map image-1 pixel
coordinates ``(x, y, 1)`` to image 2.

Examples
--------
>>> from skimage.data import camera
>>> import cv2
>>> image = camera()
>>> rotated = cv2.warpAffine(image, cv2.getRotationMatrix2D((255.5, 255.5), 20, 1.0), (512, 512))
>>> result = keypoint_similarity(image, rotated, method="orb")
>>> bool(result.score > 0.2), result.reason
(True, 'ok')
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from imgsim_helpers.core.checks import check_image
from imgsim_helpers.core.errors import DescriptorMismatchError, InvalidParameterError, unknown_name
from imgsim_helpers.images.io import to_gray, to_uint8

__all__ = [
    "METHODS",
    "MODELS",
    "MIN_SIZE",
    "DEFAULT_MIN_INLIERS",
    "ORB_DEFAULT_FEATURES",
    "DescriptorMismatchError",
    "Features",
    "KeypointSimilarity",
    "MatchEvaluation",
    "Matches",
    "Repeatability",
    "Verification",
    "compare_features",
    "detect_and_describe",
    "keypoint_similarity",
    "match_descriptors",
    "matching_score",
    "project",
    "repeatability",
    "verify_matches",
]

#: The detector/descriptor names :func:`detect_and_describe` accepts.
METHODS = ("sift", "surf", "orb", "akaze", "brisk")
#: The geometric models :func:`verify_matches` fits.
MODELS = ("homography", "affine")
#: Smallest accepted image side, in pixels.
MIN_SIZE = 16
#: ORB always needs a target number of keypoints; this is it when ``max_features`` is None.
ORB_DEFAULT_FEATURES = 1000
#: Fewer verified inliers than this count as no geometric agreement (see :func:`keypoint_similarity`).
DEFAULT_MIN_INLIERS = 10
_MIN_MATCHES = {"homography": 4, "affine": 3}
_SURF_OPTIONS = {"hessian_threshold", "n_octaves", "n_intervals", "upright", "extended"}



# --------------------------------------------------------------------------- features


@dataclass(frozen=True, eq=False)
class Features:
    """Keypoints and descriptors of one image, the same structure for every method.

    Attributes
    ----------
    xy
        ``(N, 2)`` float64 positions (x, y) = (column, row); pixel centres at
        integers (OpenCV's ``KeyPoint.pt``).
    scale
        ``(N,)`` float64 radius of the keypoint's characteristic region in
        pixels: OpenCV's ``KeyPoint.size / 2`` (for SIFT the σ of the
        detection; for SURF the paper's s = 1.2 L / 9). Conventions differ
        between detectors (ORB's is its 31-pixel patch), so compare scales
        within one method; ratios between two images are meaningful.
    angle
        ``(N,)`` float64 orientation in degrees in [0, 360), from +x towards
        +y (image axes, clockwise on screen), as OpenCV's ``KeyPoint.angle``.
    response
        ``(N,)`` float64 detector strength (larger is stronger); the rows are
        sorted by decreasing response.
    descriptors
        ``(N, D)``: float32 for SIFT (D = 128) and SURF (64 or 128), uint8
        bit-packed for ORB (32 bytes), AKAZE (61) and BRISK (64).
    method
        One of :data:`METHODS`.
    binary
        Whether the descriptors are bit strings compared by Hamming distance
        (else float vectors compared by L2 distance).
    image_shape
        ``(height, width)`` of the image.
    """

    xy: np.ndarray
    scale: np.ndarray
    angle: np.ndarray
    response: np.ndarray
    descriptors: np.ndarray
    method: str
    binary: bool
    image_shape: tuple[int, int]

    def __post_init__(self):
        # Read-only views: frozen all the way down, without touching the caller's arrays.
        for name in ("xy", "scale", "angle", "response", "descriptors"):
            view = np.asarray(getattr(self, name)).view()
            view.setflags(write=False)
            object.__setattr__(self, name, view)

    def __len__(self) -> int:
        return int(self.xy.shape[0])

    @property
    def norm(self) -> str:
        """``"hamming"`` for binary descriptors, ``"l2"`` for float ones."""
        return "hamming" if self.binary else "l2"

    def select(self, index) -> Features:
        """The keypoints at ``index`` (boolean mask, integer indices or slice), as new Features."""
        return Features(
            self.xy[index].copy(), self.scale[index].copy(), self.angle[index].copy(),
            self.response[index].copy(), self.descriptors[index].copy(), self.method, self.binary,
            self.image_shape,
        )


def _is_number(value) -> bool:
    """A finite real number (bool and strings excluded)."""
    return (
        isinstance(value, int | float | np.integer | np.floating)
        and not isinstance(value, bool | np.bool_)
        and bool(np.isfinite(value))
    )


def _check_method(method) -> str:
    if not isinstance(method, str) or method.lower() not in METHODS:
        raise unknown_name("keypoint method", method, METHODS)
    return method.lower()


def _check_max_features(max_features) -> int | None:
    if max_features is None:
        return None
    if isinstance(max_features, bool) or not isinstance(max_features, int | np.integer) or max_features < 1:
        raise InvalidParameterError(f"max_features must be a positive integer or None; got {max_features!r}")
    return int(max_features)


_OPENCV_FACTORIES = {"sift": "SIFT_create", "orb": "ORB_create", "akaze": "AKAZE_create", "brisk": "BRISK_create"}


def _opencv_detector(method: str, max_features: int | None, options: dict):
    import cv2

    options = dict(options)
    if method == "orb":
        options.setdefault("nfeatures", max_features or ORB_DEFAULT_FEATURES)
    factory = getattr(cv2, _OPENCV_FACTORIES[method])
    try:
        return factory(**options)
    except (cv2.error, TypeError) as error:
        raise InvalidParameterError(
            f"options {options!r} are not accepted by cv2.{_OPENCV_FACTORIES[method]}: "
            f"{str(error).strip().splitlines()[-1]}"
        ) from None


def _from_opencv(gray8: np.ndarray, method: str, max_features: int | None, options: dict):
    detector = _opencv_detector(method, max_features, options)
    keypoints, descriptors = detector.detectAndCompute(gray8, None)
    binary = method != "sift"
    width = detector.descriptorSize()
    if not keypoints or descriptors is None:
        return (np.zeros((0, 2)), np.zeros(0), np.zeros(0), np.zeros(0),
                np.zeros((0, width), np.uint8 if binary else np.float32), binary)
    xy = np.array([k.pt for k in keypoints], dtype=np.float64).reshape(-1, 2)
    scale = np.array([k.size for k in keypoints], dtype=np.float64) / 2.0
    angle = np.mod(np.array([k.angle for k in keypoints], dtype=np.float64), 360.0)
    response = np.array([k.response for k in keypoints], dtype=np.float64)
    return xy, scale, angle, response, np.ascontiguousarray(descriptors), binary


def detect_and_describe(
    image, *, method: str = "sift", max_features: int | None = None, options: dict | None = None
) -> Features:
    """Find keypoints and compute their descriptors with one of :data:`METHODS`.

    Parameters
    ----------
    image
        Gray or RGB(A) image, ``uint8`` or float in [0, 1], at least 16×16.
        It is converted to gray (BT.601, :func:`imgsim_helpers.images.io.to_gray`);
        OpenCV's detectors receive it as ``uint8``.
    method
        ``"sift"``, ``"surf"`` (this package's implementation, default
        threshold), ``"orb"``, ``"akaze"`` or ``"brisk"`` (OpenCV defaults).
    max_features
        Keep only this many keypoints, the strongest by response (``None``:
        all; ORB then targets :data:`ORB_DEFAULT_FEATURES`).
    options
        Method-specific settings: for ``"surf"`` the keywords of
        :func:`imgsim_helpers.metrics.surf_detector.surf` (``hessian_threshold``,
        ``n_octaves``, ``n_intervals``, ``upright``, ``extended``); for the
        others the keywords of OpenCV's ``cv2.SIFT_create``,
        ``cv2.ORB_create``, ``cv2.AKAZE_create``, ``cv2.BRISK_create``
        (for example ``{"contrastThreshold": 0.02}``).

    Returns
    -------
    Features
        Sorted by decreasing response. A textureless image gives zero
        keypoints (arrays with zero rows), not an error.

    Raises
    ------
    UnknownMethodError
        ``method`` is not one of :data:`METHODS`.
    ImageTypeError, EmptyImageError, ImageTooSmallError, InvalidImageError
        From :func:`imgsim_helpers.core.checks.check_image`.

    Examples
    --------
    >>> from skimage.data import camera
    >>> features = detect_and_describe(camera(), method="sift", max_features=200)
    >>> len(features), features.descriptors.shape, features.binary
    (200, (200, 128), False)
    >>> detect_and_describe(camera(), method="orb").descriptors.dtype.name
    'uint8'
    """
    method = _check_method(method)
    max_features = _check_max_features(max_features)
    if options is None:
        options = {}
    if not isinstance(options, dict) or not all(isinstance(k, str) for k in options):
        raise InvalidParameterError(f"options must be a dict of keyword arguments; got {options!r}")
    image = check_image(image, min_size=MIN_SIZE)
    gray = to_gray(image)
    if method == "surf":
        from imgsim_helpers.metrics.surf_detector import surf

        unknown = sorted(set(options) - _SURF_OPTIONS)
        if unknown:
            raise InvalidParameterError(
                f"unknown SURF option(s) {unknown}; choose among {sorted(_SURF_OPTIONS)}"
            )
        found = surf(gray, max_keypoints=max_features, **options)
        xy, scale, angle, response = found.xy, found.scale, found.angle, found.response
        descriptors, binary = found.descriptors, False
    else:
        xy, scale, angle, response, descriptors, binary = _from_opencv(
            to_uint8(gray), method, max_features, options
        )
    order = np.argsort(-response, kind="stable")
    if max_features is not None:
        order = order[:max_features]
    return Features(
        np.array(xy[order], dtype=np.float64), np.array(scale[order], dtype=np.float64),
        np.array(angle[order], dtype=np.float64), np.array(response[order], dtype=np.float64),
        np.ascontiguousarray(descriptors[order]), method, bool(binary), tuple(gray.shape[:2]),
    )


# --------------------------------------------------------------------------- matching


@dataclass(frozen=True, eq=False)
class Matches:
    """Descriptor matches from :func:`match_descriptors`.

    Attributes
    ----------
    indices
        ``(M, 2)`` int64: row ``k`` pairs descriptor ``indices[k, 0]`` of the
        first set with ``indices[k, 1]`` of the second. Sorted by the first index.
    distances
        ``(M,)`` float64 descriptor distance of each pair: Euclidean (L2)
        for float descriptors, number of differing bits (Hamming) for binary ones.
    ratios
        ``(M,)`` float64 nearest / second-nearest distance (Lowe's ratio;
        0 when both are 0, 0 when the second set has a single descriptor).
    norm
        ``"l2"`` or ``"hamming"``.
    """

    indices: np.ndarray
    distances: np.ndarray
    ratios: np.ndarray
    norm: str

    def __len__(self) -> int:
        return int(self.indices.shape[0])


def _descriptor_array(d, name: str) -> np.ndarray:
    if isinstance(d, Features):
        d = d.descriptors
    if not isinstance(d, np.ndarray):
        raise DescriptorMismatchError(f"{name} must be a NumPy array or Features; got {type(d).__name__}")
    if d.ndim != 2:
        raise DescriptorMismatchError(f"{name} must be 2-D (one descriptor per row); got shape {d.shape}")
    if d.dtype != np.uint8 and not np.issubdtype(d.dtype, np.floating):
        raise DescriptorMismatchError(
            f"{name} has dtype {d.dtype}; descriptors are float (L2 distance) or uint8 bit strings "
            "(Hamming distance)"
        )
    if np.issubdtype(d.dtype, np.floating) and not np.isfinite(d).all():
        raise DescriptorMismatchError(f"{name} contains NaN or infinite values")
    return d


def _empty_matches(norm: str) -> Matches:
    return Matches(np.zeros((0, 2), np.int64), np.zeros(0), np.zeros(0), norm)


def _nearest_two(query: np.ndarray, train: np.ndarray, norm_type: int, k: int):
    """Nearest (and second-nearest) train index and distance for every query row."""
    import cv2

    matcher = cv2.BFMatcher(norm_type, crossCheck=False)
    knn = matcher.knnMatch(query, train, k=k)
    n = len(query)
    first = np.full(n, -1, np.int64)
    d1 = np.full(n, np.inf)
    d2 = np.full(n, np.inf)
    for row, candidates in enumerate(knn):
        if candidates:
            first[row] = candidates[0].trainIdx
            d1[row] = candidates[0].distance
        if len(candidates) > 1:
            d2[row] = candidates[1].distance
    return first, d1, d2


def match_descriptors(d1, d2, *, ratio: float = 0.75, cross_check: bool = False) -> Matches:
    """Nearest-neighbour matching with Lowe's ratio test and optional cross-check.

    For every descriptor of ``d1`` the two nearest descriptors of ``d2`` are
    found (L2 for float, Hamming for uint8); the pair is kept when
    ``nearest < ratio × second-nearest`` — an ambiguous match, whose best
    candidate is barely better than the next, is dropped. With
    ``cross_check`` the pair is also kept only if the ``d1`` descriptor is
    in turn the nearest neighbour of its match (mutual nearest neighbours).
    When ``d2`` has a single descriptor there is no second neighbour and the
    ratio test passes.

    Parameters
    ----------
    d1, d2
        ``(N, D)`` descriptor arrays (or :class:`Features`), both float or
        both uint8, with the same D. Zero rows are allowed.
    ratio
        In (0, 1]; 1 disables the ratio test. Lowe used 0.8, OpenCV's
        tutorials 0.7-0.75.
    cross_check
        Keep only mutual nearest neighbours.

    Returns
    -------
    Matches
        Empty (zero rows) when either set is empty.

    Raises
    ------
    DescriptorMismatchError
        Different descriptor lengths, float against binary, non-2-D or
        non-finite input.

    Examples
    --------
    >>> d1 = np.array([[0, 0], [10, 0]], np.float32)
    >>> d2 = np.array([[10, 1], [0, 1], [50, 50]], np.float32)
    >>> m = match_descriptors(d1, d2)
    >>> m.indices.tolist(), m.distances.tolist(), m.norm
    ([[0, 1], [1, 0]], [1.0, 1.0], 'l2')
    """
    import cv2

    a = _descriptor_array(d1, "d1")
    b = _descriptor_array(d2, "d2")
    binary_a, binary_b = a.dtype == np.uint8, b.dtype == np.uint8
    if binary_a != binary_b:
        raise DescriptorMismatchError(
            f"d1 is {a.dtype} and d2 is {b.dtype}: binary (uint8, Hamming) and float (L2) "
            "descriptors cannot be compared; describe both images with the same method"
        )
    if a.shape[1] != b.shape[1]:
        raise DescriptorMismatchError(
            f"d1 has {a.shape[1]} values per descriptor and d2 has {b.shape[1]}; describe both "
            "images with the same method and options"
        )
    if not _is_number(ratio) or not 0.0 < float(ratio) <= 1.0:
        raise InvalidParameterError(f"ratio must be a number in (0, 1]; got {ratio!r}")
    norm = "hamming" if binary_a else "l2"
    if len(a) == 0 or len(b) == 0 or a.shape[1] == 0:
        return _empty_matches(norm)
    norm_type = cv2.NORM_HAMMING if binary_a else cv2.NORM_L2
    if not binary_a:
        a = np.ascontiguousarray(a, dtype=np.float32)
        b = np.ascontiguousarray(b, dtype=np.float32)
    nearest, dist1, dist2 = _nearest_two(a, b, norm_type, k=min(2, len(b)))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = np.where(np.isfinite(dist2) & (dist2 > 0), dist1 / dist2, 0.0)
    keep = nearest >= 0
    if ratio < 1.0:
        keep &= np.where(np.isfinite(dist2), dist1 < ratio * dist2, True)
    if cross_check:
        back, _, _ = _nearest_two(b, a, norm_type, k=1)
        keep &= back[np.clip(nearest, 0, None)] == np.arange(len(a))
    rows = np.nonzero(keep)[0]
    return Matches(
        np.stack([rows, nearest[rows]], axis=1).astype(np.int64),
        dist1[rows].astype(np.float64), ratios[rows].astype(np.float64), norm,
    )


# --------------------------------------------------------------------------- verification


@dataclass(frozen=True, eq=False)
class Verification:
    """The geometric check of a set of matches, from :func:`verify_matches`.

    Attributes
    ----------
    inliers
        ``(M,)`` bool, one per match: whether it agrees with ``transform``
        within ``ransac_threshold`` pixels.
    transform
        ``(3, 3)`` float64 map from image-1 to image-2 coordinates; the
        identity (never NaN, never None) when ``ok`` is False.
    ok
        Whether a transform was estimated.
    reason
        ``"ok"`` or why not (too few matches, degenerate configuration).
    model
        ``"homography"`` or ``"affine"``.
    residuals
        ``(M,)`` float64 distance in pixels between each match's image-2
        position and its image-1 position mapped by ``transform``.
    """

    inliers: np.ndarray
    transform: np.ndarray
    ok: bool
    reason: str
    model: str
    residuals: np.ndarray

    @property
    def n_inliers(self) -> int:
        """Number of inlier matches."""
        return int(np.count_nonzero(self.inliers))

    @property
    def mean_inlier_error(self) -> float:
        """Mean residual of the inliers in pixels (0.0 when there are none)."""
        return float(self.residuals[self.inliers].mean()) if self.n_inliers else 0.0


def _positions(keypoints, name: str) -> np.ndarray:
    xy = keypoints.xy if isinstance(keypoints, Features) else keypoints
    xy = np.asarray(xy, dtype=np.float64) if not isinstance(xy, np.ndarray) else xy.astype(np.float64)
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise InvalidParameterError(f"{name} must be Features or an (N, 2) array of (x, y); got shape {xy.shape}")
    if not np.isfinite(xy).all():
        raise InvalidParameterError(f"{name} contains NaN or infinite positions")
    return xy


def _match_indices(matches, n1: int, n2: int) -> np.ndarray:
    idx = matches.indices if isinstance(matches, Matches) else np.asarray(matches)
    if idx.size == 0:
        return np.zeros((0, 2), np.int64)
    if idx.ndim != 2 or idx.shape[1] != 2 or not np.issubdtype(idx.dtype, np.integer):
        raise InvalidParameterError(f"matches must be Matches or an (M, 2) integer array; got {idx.shape} {idx.dtype}")
    if idx.min() < 0 or idx[:, 0].max() >= n1 or idx[:, 1].max() >= n2:
        raise InvalidParameterError(
            f"match indices out of range: the keypoint sets have {n1} and {n2} points"
        )
    return idx.astype(np.int64)


def project(transform: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Map ``(N, 2)`` points through a 3×3 transform (homogeneous division included)."""
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    h = np.asarray(transform, dtype=np.float64)
    w = xy @ h[2, :2] + h[2, 2]
    w = np.where(np.abs(w) < 1e-12, 1e-12, w)
    return (xy @ h[:2, :2].T + h[:2, 2]) / w[:, None]


def verify_matches(
    kp1,
    kp2,
    matches,
    *,
    model: str = "homography",
    ransac_threshold: float = 3.0,
    seed: int = 0,
    max_iters: int = 2000,
    confidence: float = 0.995,
) -> Verification:
    """Fit a homography or an affine map to matched positions with RANSAC.

    RANSAC draws minimal samples (4 matches for a homography, 3 for an
    affine map), fits the model, counts the matches it maps to within
    ``ransac_threshold`` pixels, keeps the best and refines it on its
    inliers (OpenCV's ``findHomography`` / ``estimateAffine2D``).

    Parameters
    ----------
    kp1, kp2
        :class:`Features` or ``(N, 2)`` arrays of (x, y) positions.
    matches
        :class:`Matches` or an ``(M, 2)`` integer array of index pairs.
    model
        ``"homography"`` (8 degrees of freedom: planar scenes, any view) or
        ``"affine"`` (6: rotation, scale, shear, translation).
    ransac_threshold
        Inlier distance in pixels.
    seed
        Seed of OpenCV's random generator, for reproducible samples.
    max_iters, confidence
        RANSAC's iteration cap and stopping confidence.

    Returns
    -------
    Verification
        With fewer than 4 (homography) or 3 (affine) matches, or a
        degenerate configuration (collinear points), ``ok`` is False,
        ``transform`` is the identity, every match is an outlier and
        ``reason`` says why.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> p1 = rng.uniform(0, 100, (30, 2))
    >>> p2 = p1 + [5.0, -3.0]
    >>> v = verify_matches(p1, p2, np.stack([np.arange(30)] * 2, axis=1))
    >>> v.ok, v.n_inliers, np.round(v.transform[:2, 2], 3).tolist()
    (True, 30, [5.0, -3.0])
    >>> verify_matches(p1, p2, [[0, 0], [1, 1]]).reason
    'too few matches for a homography: 2 < 4'
    """
    import cv2

    if model not in MODELS:
        raise unknown_name("geometric model", model, MODELS)
    if not _is_number(ransac_threshold) or not ransac_threshold > 0:
        raise InvalidParameterError(f"ransac_threshold must be a positive number of pixels; got {ransac_threshold!r}")
    if not _is_number(confidence) or not 0.0 < confidence < 1.0:
        raise InvalidParameterError(f"confidence must be in (0, 1); got {confidence!r}")
    if isinstance(max_iters, bool) or not isinstance(max_iters, int | np.integer) or max_iters < 1:
        raise InvalidParameterError(f"max_iters must be a positive integer; got {max_iters!r}")
    p1 = _positions(kp1, "kp1")
    p2 = _positions(kp2, "kp2")
    idx = _match_indices(matches, len(p1), len(p2))
    src, dst = p1[idx[:, 0]], p2[idx[:, 1]]
    m = len(idx)

    def failed(reason: str) -> Verification:
        residuals = np.linalg.norm(dst - src, axis=1) if m else np.zeros(0)
        return Verification(np.zeros(m, bool), np.eye(3), False, reason, model, residuals)

    needed = _MIN_MATCHES[model]
    if m < needed:
        return failed(f"too few matches for a{'n' if model == 'affine' else ''} {model}: {m} < {needed}")
    cv2.setRNGSeed(int(seed))
    s32, d32 = src.astype(np.float32), dst.astype(np.float32)
    if model == "homography":
        transform, mask = cv2.findHomography(
            s32, d32, cv2.RANSAC, float(ransac_threshold), maxIters=int(max_iters), confidence=float(confidence)
        )
    else:
        affine, mask = cv2.estimateAffine2D(
            s32, d32, method=cv2.RANSAC, ransacReprojThreshold=float(ransac_threshold),
            maxIters=int(max_iters), confidence=float(confidence),
        )
        transform = None if affine is None else np.vstack([affine, [0.0, 0.0, 1.0]])
    if transform is None or mask is None or not np.isfinite(transform).all():
        return failed(f"RANSAC found no {model}: the matched points are degenerate (for example collinear)")
    transform = np.asarray(transform, dtype=np.float64)
    if abs(np.linalg.det(transform)) < 1e-10:
        return failed(f"the estimated {model} is singular")
    residuals = np.linalg.norm(project(transform, src) - dst, axis=1)
    inliers = residuals <= float(ransac_threshold)
    if not inliers.any():
        return failed(f"no match agrees with the estimated {model}")
    return Verification(inliers, transform, True, "ok", model, residuals)


# --------------------------------------------------------------------------- similarity


@dataclass(frozen=True, eq=False)
class KeypointSimilarity:
    """Everything :func:`keypoint_similarity` computed, for reports and drawings.

    Attributes
    ----------
    score
        In [0, 1]; see :func:`keypoint_similarity` for the definition.
    reason
        ``"ok"``, or why the score is 0 (no keypoints, too few matches,
        too few inliers, no transform).
    n_inliers
        Verified matches (before the ``min_inliers`` gate).
    n_distinct_inliers
        :math:`\\min(u_1, u_2)`: inliers counted once per keypoint on the
        side where they are fewest — the numerator of the score.
    features1, features2
        The keypoints and descriptors of both images.
    matches
        The ratio-test matches.
    verification
        The RANSAC result: inlier mask (aligned with ``matches``), transform.
    method
        The keypoint method used.
    """

    score: float
    reason: str
    n_inliers: int
    n_distinct_inliers: int
    features1: Features
    features2: Features
    matches: Matches
    verification: Verification
    method: str

    @property
    def n_matches(self) -> int:
        """Number of matches that passed the ratio test."""
        return len(self.matches)

    @property
    def transform(self) -> np.ndarray:
        """The estimated 3×3 transform from image 1 to image 2 (identity when none)."""
        return self.verification.transform

    @property
    def inliers(self) -> np.ndarray:
        """Boolean mask over ``matches``."""
        return self.verification.inliers

    def __float__(self) -> float:
        return self.score


def compare_features(
    features1: Features,
    features2: Features,
    *,
    ratio: float = 0.75,
    model: str = "homography",
    ransac_threshold: float = 3.0,
    cross_check: bool = False,
    min_inliers: int = DEFAULT_MIN_INLIERS,
    seed: int = 0,
) -> KeypointSimilarity:
    """The similarity of two images from their precomputed :class:`Features`.

    This is the comparison half of :func:`keypoint_similarity` (which
    documents the score); use it to describe each image once and compare
    many pairs.

    Examples
    --------
    >>> from skimage.data import camera, coffee
    >>> f1 = detect_and_describe(camera(), method="orb")
    >>> compare_features(f1, f1).score
    1.0
    >>> compare_features(f1, detect_and_describe(coffee(), method="orb")).score
    0.0
    """
    for name, f in (("features1", features1), ("features2", features2)):
        if not isinstance(f, Features):
            raise InvalidParameterError(f"{name} must be Features from detect_and_describe; got {type(f).__name__}")
    if isinstance(min_inliers, bool) or not isinstance(min_inliers, int | np.integer) or min_inliers < 1:
        raise InvalidParameterError(f"min_inliers must be a positive integer; got {min_inliers!r}")
    if features1.method != features2.method:
        raise DescriptorMismatchError(
            f"features1 come from {features1.method!r} and features2 from {features2.method!r}; "
            "describe both images with the same method"
        )
    matches = match_descriptors(features1, features2, ratio=ratio, cross_check=cross_check)
    verification = verify_matches(
        features1, features2, matches, model=model, ransac_threshold=ransac_threshold, seed=seed
    )
    n1, n2 = len(features1), len(features2)
    n_inliers = verification.n_inliers
    pairs = matches.indices[verification.inliers]
    # Several keypoints of one image matched to the same keypoint of the
    # other (a homography collapsing onto a few points) must count once.
    distinct = min(len(np.unique(pairs[:, 0])), len(np.unique(pairs[:, 1])))
    score, reason = 0.0, "ok"
    if n1 == 0 or n2 == 0:
        which = " and ".join(n for n, k in (("image1", n1), ("image2", n2)) if k == 0)
        reason = f"no keypoints in {which} (textureless or too small); nothing to match"
    elif not verification.ok:
        reason = verification.reason
    elif distinct < min_inliers:
        reason = (
            f"only {distinct} distinct inliers, fewer than min_inliers={min_inliers}: "
            "no reliable geometric agreement"
        )
    else:
        score = float(min(1.0, distinct / min(n1, n2)))
    return KeypointSimilarity(
        score, reason, n_inliers, distinct, features1, features2, matches, verification, features1.method
    )


def keypoint_similarity(
    image1,
    image2,
    *,
    method: str = "sift",
    ratio: float = 0.75,
    model: str = "homography",
    ransac_threshold: float = 3.0,
    max_features: int | None = None,
    cross_check: bool = False,
    min_inliers: int = DEFAULT_MIN_INLIERS,
    seed: int = 0,
    options: dict | None = None,
) -> KeypointSimilarity:
    """How much of two images is the same scene seen through one geometric map.

    Keypoints are detected and described in both images
    (:func:`detect_and_describe`), matched with the ratio test
    (:func:`match_descriptors`) and verified with RANSAC
    (:func:`verify_matches`). The score is

    .. math::

        \\text{score} = \\frac{\\min(u_1, u_2)}{\\min(n_1, n_2)}

    where :math:`n_i` is the number of keypoints of image i and :math:`u_i`
    the number of distinct keypoints of image i among the inlier matches:
    the share of the sparser image's keypoints that found a geometrically
    consistent partner. It is 1 for identical images, stays high for a
    rotated, rescaled or cropped copy (the sparser image, for example the
    crop, sets the denominator), and is 0 when :math:`\\min(u_1, u_2)` is
    below ``min_inliers``: RANSAC always finds a few chance inliers between
    unrelated images (4 points always fit a homography exactly), and a
    degenerate homography can gather many matches that all point at the
    same few keypoints — counting distinct keypoints defuses both. The score is
    not exactly symmetric: the ratio test runs from image 1 to image 2.

    Parameters
    ----------
    image1, image2
        Gray or RGB images, ``uint8`` or float in [0, 1]; sizes may differ.
    method
        One of :data:`METHODS`.
    ratio
        Lowe's ratio for :func:`match_descriptors`.
    model
        ``"homography"`` or ``"affine"``.
    ransac_threshold
        Inlier distance in pixels.
    max_features
        Cap on keypoints per image (strongest first).
    cross_check
        Keep only mutual nearest neighbours.
    min_inliers
        Fewer inliers than this give score 0 with a reason.
    seed
        RANSAC's random seed.
    options
        Method-specific detector settings, as in :func:`detect_and_describe`.

    Returns
    -------
    KeypointSimilarity
        ``score``, ``reason`` and the details to draw: both
        :class:`Features`, the :class:`Matches` and the :class:`Verification`.
        A textureless image gives score 0 and a reason, not an error.

    Examples
    --------
    >>> from skimage.data import camera
    >>> image = camera()
    >>> keypoint_similarity(image, image, method="orb").score
    1.0
    >>> flat = np.full((64, 64), 128, np.uint8)
    >>> r = keypoint_similarity(image, flat, method="orb")
    >>> r.score, r.reason
    (0.0, 'no keypoints in image2 (textureless or too small); nothing to match')
    """
    method = _check_method(method)
    features1 = detect_and_describe(image1, method=method, max_features=max_features, options=options)
    features2 = detect_and_describe(image2, method=method, max_features=max_features, options=options)
    return compare_features(
        features1, features2, ratio=ratio, model=model, ransac_threshold=ransac_threshold,
        cross_check=cross_check, min_inliers=min_inliers, seed=seed,
    )


# --------------------------------------------------------------------------- evaluation


def _local_scale(homography: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """sqrt(|det J|) of the homography at each point: how much it scales lengths there."""
    h = homography
    x, y = xy[:, 0], xy[:, 1]
    w = h[2, 0] * x + h[2, 1] * y + h[2, 2]
    u = h[0, 0] * x + h[0, 1] * y + h[0, 2]
    v = h[1, 0] * x + h[1, 1] * y + h[1, 2]
    j11 = (h[0, 0] * w - u * h[2, 0]) / w**2
    j12 = (h[0, 1] * w - u * h[2, 1]) / w**2
    j21 = (h[1, 0] * w - v * h[2, 0]) / w**2
    j22 = (h[1, 1] * w - v * h[2, 1]) / w**2
    return np.sqrt(np.abs(j11 * j22 - j12 * j21))


def _circle_overlap_error(d: np.ndarray, r1: np.ndarray, r2: np.ndarray) -> np.ndarray:
    """1 - intersection / union of circles of radii r1, r2 whose centres are d apart."""
    d, r1, r2 = np.broadcast_arrays(*(np.asarray(a, np.float64) for a in (d, r1, r2)))
    inter = np.zeros(d.shape)
    inside = d <= np.abs(r1 - r2)
    inter[inside] = np.pi * np.minimum(r1, r2)[inside] ** 2
    part = ~inside & (d < r1 + r2)
    if part.any():
        dd, a, b = d[part], r1[part], r2[part]
        alpha = np.arccos(np.clip((dd**2 + a**2 - b**2) / (2 * dd * a), -1, 1))
        beta = np.arccos(np.clip((dd**2 + b**2 - a**2) / (2 * dd * b), -1, 1))
        kite = 0.5 * np.sqrt(np.clip((-dd + a + b) * (dd + a - b) * (dd - a + b) * (dd + a + b), 0, None))
        inter[part] = a**2 * alpha + b**2 * beta - kite
    union = np.pi * (r1**2 + r2**2) - inter
    return 1.0 - inter / union


@dataclass(frozen=True, eq=False)
class Repeatability:
    """Detector repeatability between two images related by a known homography.

    Attributes
    ----------
    value
        ``n_correspondences / min(n1, n2)``, in [0, 1].
    n_correspondences
        One-to-one geometric correspondences (overlap error below the limit).
    n1, n2
        Keypoints of each image whose circle lies inside both images.
    correspondences
        ``(K, 2)`` indices into the *full* keypoint sets of image 1 and 2.
    """

    value: float
    n_correspondences: int
    n1: int
    n2: int
    correspondences: np.ndarray

    def __float__(self) -> float:
        return self.value


def _check_homography(homography) -> np.ndarray:
    h = np.asarray(homography, dtype=np.float64)
    if h.shape != (3, 3) or not np.isfinite(h).all() or abs(np.linalg.det(h)) < 1e-12:
        raise InvalidParameterError(f"homography must be an invertible, finite 3×3 matrix; got shape {h.shape}")
    return h


def _visible(xy: np.ndarray, radius: np.ndarray, shape) -> np.ndarray:
    height, width = shape
    return (
        (xy[:, 0] - radius >= -0.5) & (xy[:, 0] + radius <= width - 0.5)
        & (xy[:, 1] - radius >= -0.5) & (xy[:, 1] + radius <= height - 0.5)
    )


def _geometry(features1: Features, features2: Features, homography, overlap_error: float, normalised_radius: float):
    """Visible keypoints and every pair whose overlap error is below the limit."""
    from scipy.spatial import cKDTree

    for name, f in (("features1", features1), ("features2", features2)):
        if not isinstance(f, Features):
            raise InvalidParameterError(f"{name} must be Features; got {type(f).__name__}")
    if not 0.0 < overlap_error < 1.0:
        raise InvalidParameterError(f"overlap_error must be in (0, 1); got {overlap_error!r}")
    h = _check_homography(homography)
    h_inv = np.linalg.inv(h)
    # Keypoints of image 2 seen in image 1: centre through H^-1, radius
    # scaled by the local scale of H^-1 (exact for similarities; for a
    # perspective map the circle becomes an ellipse, here approximated by
    # the circle of the same area).
    xy2_in1 = project(h_inv, features2.xy)
    r2_in1 = features2.scale * _local_scale(h_inv, features2.xy)
    xy1_in2 = project(h, features1.xy)
    r1_in2 = features1.scale * _local_scale(h, features1.xy)
    vis1 = _visible(features1.xy, features1.scale, features1.image_shape) & _visible(
        xy1_in2, r1_in2, features2.image_shape
    )
    vis2 = _visible(features2.xy, features2.scale, features2.image_shape) & _visible(
        xy2_in1, r2_in1, features1.image_shape
    )
    idx1, idx2 = np.nonzero(vis1)[0], np.nonzero(vis2)[0]
    pairs, errors = np.zeros((0, 2), np.int64), np.zeros(0)
    if len(idx1) and len(idx2):
        tree = cKDTree(xy2_in1[idx2])
        # Mikolajczyk et al. only compare regions closer than 4 radii.
        near = tree.query_ball_point(features1.xy[idx1], r=4.0 * features1.scale[idx1])
        counts = np.fromiter((len(n) for n in near), np.int64, len(near))
        if counts.sum():
            a = np.repeat(idx1, counts)
            b = idx2[np.concatenate([np.asarray(n, np.int64) for n in near if n])]
            d = np.linalg.norm(features1.xy[a] - xy2_in1[b], axis=1)
            # The protocol's normalisation: both circles are rescaled so that
            # image 1's has radius 30 px, the distance between centres is
            # not, so large and small regions are judged alike.
            factor = normalised_radius / features1.scale[a]
            err = _circle_overlap_error(d, np.full(len(a), normalised_radius), r2_in1[b] * factor)
            good = err < overlap_error
            pairs, errors = np.stack([a[good], b[good]], axis=1), err[good]
    return vis1, vis2, pairs, errors


def _one_to_one(pairs: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """Greedy bipartite matching: pairs in order of increasing cost, each index used once."""
    order = np.argsort(cost, kind="stable")
    used1, used2, chosen = set(), set(), []
    for k in order:
        a, b = int(pairs[k, 0]), int(pairs[k, 1])
        if a not in used1 and b not in used2:
            used1.add(a)
            used2.add(b)
            chosen.append(k)
    return pairs[np.asarray(chosen, np.int64)] if chosen else np.zeros((0, 2), np.int64)


def repeatability(
    features1: Features,
    features2: Features,
    homography,
    *,
    overlap_error: float = 0.4,
    normalised_radius: float = 30.0,
) -> Repeatability:
    """The share of keypoints detected again after a known homography (Mikolajczyk et al. 2005).

    Simplified but faithful protocol: each keypoint is a circle of radius
    ``scale`` (:class:`Features`); the circles of image 2 are mapped into
    image 1 through :math:`H^{-1}` (centre exactly, radius by the local
    scale of the map — exact for rotations and scalings, the equal-area
    circle for a perspective map, where the paper uses ellipses). Only
    keypoints whose circle lies inside both images count. A pair corresponds
    when the overlap error :math:`1 - |A \\cap B| / |A \\cup B|` is below
    ``overlap_error`` after both circles are rescaled so that image 1's has
    radius ``normalised_radius`` (the centres' distance is not rescaled);
    pairs are made one-to-one greedily, by increasing overlap error.

    .. math::

        \\text{repeatability} = \\frac{\\#\\text{correspondences}}{\\min(n_1, n_2)}

    Parameters
    ----------
    features1, features2
        :class:`Features` of the two images (their ``image_shape`` gives the
        common region).
    homography
        3×3 matrix mapping image-1 coordinates ``(x, y, 1)`` to image 2.
    overlap_error
        Largest overlap error of a correspondence (the paper's 40 %).
    normalised_radius
        Radius the regions are rescaled to (the paper's 30 px).

    Returns
    -------
    Repeatability

    Examples
    --------
    >>> from skimage.data import camera
    >>> f = detect_and_describe(camera(), method="sift", max_features=300)
    >>> r = repeatability(f, f, np.eye(3))
    >>> r.value, r.n1 == r.n_correspondences
    (1.0, True)
    """
    vis1, vis2, pairs, errors = _geometry(features1, features2, homography, overlap_error, normalised_radius)
    n1, n2 = int(vis1.sum()), int(vis2.sum())
    corr = _one_to_one(pairs, errors)
    value = float(len(corr) / min(n1, n2)) if min(n1, n2) else 0.0
    return Repeatability(value, len(corr), n1, n2, corr)


@dataclass(frozen=True, eq=False)
class MatchEvaluation:
    """Descriptor quality on a pair with a known homography, from :func:`matching_score`.

    Attributes
    ----------
    matching_score
        Correct mutual-nearest-neighbour matches / min(n1, n2) (Mikolajczyk
        et al.'s matching score: detector and descriptor together).
    precision
        Correct / all ratio-test matches.
    recall
        Correct ratio-test matches / geometric correspondences (at most 1).
    repeatability
        As :func:`repeatability` returns it.
    n_matches, n_correct
        Ratio-test matches and how many of them are correct.
    n_mutual, n_mutual_correct
        Mutual nearest-neighbour matches and how many are correct.
    """

    matching_score: float
    precision: float
    recall: float
    repeatability: Repeatability
    n_matches: int
    n_correct: int
    n_mutual: int
    n_mutual_correct: int

    def __float__(self) -> float:
        return self.matching_score


def matching_score(
    features1: Features,
    features2: Features,
    homography,
    *,
    ratio: float = 0.8,
    overlap_error: float = 0.4,
    normalised_radius: float = 30.0,
) -> MatchEvaluation:
    """Matching score, precision and recall of descriptor matches under a known homography.

    Only keypoints inside the common region (as in :func:`repeatability`)
    take part. A descriptor match is *correct* when its two keypoints
    correspond geometrically (overlap error below ``overlap_error``).

    * matching score (Mikolajczyk et al. 2005): correct mutual nearest
      neighbours / min(n1, n2) — how many regions a detector *and*
      descriptor together let you match;
    * precision: correct / all matches passing the ratio test at ``ratio``;
    * recall: correct ratio-test matches / one-to-one correspondences,
      capped at 1.

    Examples
    --------
    >>> from skimage.data import camera
    >>> f = detect_and_describe(camera(), method="orb", max_features=300)
    >>> e = matching_score(f, f, np.eye(3))
    >>> e.matching_score, e.precision
    (1.0, 1.0)
    """
    vis1, vis2, pairs, errors = _geometry(features1, features2, homography, overlap_error, normalised_radius)
    n1, n2 = int(vis1.sum()), int(vis2.sum())
    corr = _one_to_one(pairs, errors)
    rep = Repeatability(float(len(corr) / min(n1, n2)) if min(n1, n2) else 0.0, len(corr), n1, n2, corr)
    idx1, idx2 = np.nonzero(vis1)[0], np.nonzero(vis2)[0]
    good = {(int(a), int(b)) for a, b in pairs}

    def correct(m: Matches) -> int:
        return sum((int(idx1[a]), int(idx2[b])) in good for a, b in m.indices)

    d1, d2 = features1.descriptors[idx1], features2.descriptors[idx2]
    ratio_matches = match_descriptors(d1, d2, ratio=ratio)
    mutual = match_descriptors(d1, d2, ratio=1.0, cross_check=True)
    n_correct, n_mutual_correct = correct(ratio_matches), correct(mutual)
    denominator = min(n1, n2)
    return MatchEvaluation(
        float(n_mutual_correct / denominator) if denominator else 0.0,
        float(n_correct / len(ratio_matches)) if len(ratio_matches) else 0.0,
        float(min(1.0, n_correct / len(corr))) if len(corr) else 0.0,
        rep,
        len(ratio_matches),
        n_correct,
        len(mutual),
        n_mutual_correct,
    )
