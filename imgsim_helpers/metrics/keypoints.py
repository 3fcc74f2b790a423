"""Keypoints, descriptors, matching and geometric verification — one API over five methods.

:func:`detect_and_describe`, :func:`match_descriptors` (Lowe's ratio test),
:func:`verify_matches` (RANSAC); :func:`keypoint_similarity` chains them into a score in [0, 1].
Conventions are OpenCV's ``KeyPoint``: ``xy`` is (column, row), pixel centres at integers;
``angle`` in degrees in [0, 360) from +x towards +y; homographies map image 1 to image 2.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from imgsim_helpers.core.checks import (
    check_choice,
    check_flag,
    check_image,
    check_instance,
    check_int,
    check_real,
    check_seed,
)
from imgsim_helpers.core.errors import DescriptorMismatchError, InvalidParameterError
from imgsim_helpers.images.io import to_gray, to_uint8

#: The detector/descriptor names :func:`detect_and_describe` accepts.
METHODS = ("sift", "surf", "orb", "akaze", "brisk")
#: The geometric models :func:`verify_matches` fits.
MODELS = ("homography", "affine")
#: Smallest accepted image side, in pixels.
MIN_SIZE = 16
#: ORB always needs a target number of keypoints; this is it when ``max_features`` is None.
ORB_DEFAULT_FEATURES = 1000
#: Fewer distinct verified inliers than this count as no geometric agreement.
DEFAULT_MIN_INLIERS = 10
_MIN_MATCHES = {"homography": 4, "affine": 3}
_SURF_OPTIONS = {"hessian_threshold", "n_octaves", "n_intervals", "upright", "extended"}
_OPENCV_FACTORIES = {"sift": "SIFT_create", "orb": "ORB_create", "akaze": "AKAZE_create", "brisk": "BRISK_create"}


# --------------------------------------------------------------------------- features


@dataclass(frozen=True, eq=False)
class Features:
    """Keypoints and descriptors of one image, the same structure for every method, strongest first.

    ``scale`` is OpenCV's ``KeyPoint.size / 2`` (SIFT's σ, SURF's 1.2 L / 9: compare it within one
    method); ``descriptors`` are float32 rows for SIFT (128) and SURF (64 or 128), bit-packed
    uint8 for ORB (32 bytes), AKAZE (61) and BRISK (64), which are ``binary`` (Hamming distance).
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


def _check_detector(method, max_features, options) -> tuple[str, int | None, dict]:
    method = method.lower() if isinstance(method, str) else method
    method = check_choice(method, "keypoint method", METHODS)
    if max_features is not None:
        max_features = check_int(max_features, "max_features", low=1, hint="or None for all keypoints")
    options = {} if options is None else options
    if not isinstance(options, dict) or not all(isinstance(k, str) for k in options):
        raise InvalidParameterError(f"options must be a dict of keyword arguments; got {options!r}")
    unknown = sorted(set(options) - _SURF_OPTIONS) if method == "surf" else []
    if unknown:
        raise InvalidParameterError(f"unknown SURF option(s) {unknown}; choose among {sorted(_SURF_OPTIONS)}")
    return method, max_features, options


def _opencv_features(gray8: np.ndarray, method: str, max_features: int | None, options: dict):
    import cv2

    if method == "orb":
        options = {"nfeatures": max_features or ORB_DEFAULT_FEATURES, **options}
    try:
        detector = getattr(cv2, _OPENCV_FACTORIES[method])(**options)
    except (cv2.error, TypeError) as error:
        raise InvalidParameterError(f"options {options!r} are not accepted by cv2.{_OPENCV_FACTORIES[method]}: "
                                    f"{str(error).strip().splitlines()[-1]}") from None
    keypoints, descriptors = detector.detectAndCompute(gray8, None)
    if not keypoints or descriptors is None:
        descriptors = np.zeros((0, detector.descriptorSize()), np.float32 if method == "sift" else np.uint8)
    xy = np.array([k.pt for k in keypoints], dtype=np.float64).reshape(-1, 2)
    scale = np.array([k.size for k in keypoints], dtype=np.float64) / 2.0
    angle = np.mod(np.array([k.angle for k in keypoints], dtype=np.float64), 360.0)
    response = np.array([k.response for k in keypoints], dtype=np.float64)
    return xy, scale, angle, response, descriptors


def _detect(image: np.ndarray, method: str, max_features: int | None, options: dict) -> Features:
    """:func:`detect_and_describe` on checked arguments."""
    gray = to_gray(image)
    if method == "surf":
        from imgsim_helpers.metrics.surf_detector import surf

        found = surf(gray, max_keypoints=max_features, **options)
        xy, scale, angle, response, descriptors = (found.xy, found.scale, found.angle, found.response,
                                                   found.descriptors)
    else:
        xy, scale, angle, response, descriptors = _opencv_features(to_uint8(gray), method, max_features, options)
    order = np.argsort(-response, kind="stable")[:max_features]
    return Features(
        np.array(xy[order], dtype=np.float64).reshape(-1, 2), np.array(scale[order], dtype=np.float64),
        np.array(angle[order], dtype=np.float64), np.array(response[order], dtype=np.float64),
        np.ascontiguousarray(descriptors[order]), method, method not in ("sift", "surf"), tuple(gray.shape[:2]),
    )


def detect_and_describe(image, *, method: str = "sift", max_features: int | None = None,
                        options: dict | None = None) -> Features:
    """Find keypoints and compute their descriptors with one of :data:`METHODS`, strongest first.

    ``max_features`` keeps the strongest (``None``: all; ORB then targets
    :data:`ORB_DEFAULT_FEATURES`). ``options`` are the keywords of
    :func:`imgsim_helpers.metrics.surf_detector.surf` or of OpenCV's ``cv2.SIFT_create`` etc.
    A textureless image gives zero keypoints, not an error.

    >>> from skimage.data import camera
    >>> features = detect_and_describe(camera(), method="sift", max_features=200)
    >>> len(features), features.descriptors.shape, features.binary
    (200, (200, 128), False)
    """
    method, max_features, options = _check_detector(method, max_features, options)
    return _detect(check_image(image, min_size=MIN_SIZE), method, max_features, options)


# --------------------------------------------------------------------------- matching


@dataclass(frozen=True, eq=False)
class Matches:
    """Descriptor matches: ``indices`` ``(M, 2)`` pairs rows of the first and second set, with their
    ``distances`` and Lowe's ``ratios`` (nearest / second-nearest; 0 when undefined)."""

    indices: np.ndarray
    distances: np.ndarray
    ratios: np.ndarray
    norm: str

    def __len__(self) -> int:
        return int(self.indices.shape[0])


def ratio_test_reference(d1: np.ndarray, d2: np.ndarray, ratio: float = 0.75) -> np.ndarray:
    """Lowe's ratio test as it reads: the ``(i, j)`` pairs :func:`match_descriptors` keeps (for
    ``ratio < 1`` and at least two descriptors in ``d2``)."""
    kept = []
    for i, d in enumerate(d1):
        if d1.dtype == np.uint8:  # binary descriptors: count the differing bits
            distances = np.unpackbits(d ^ d2, axis=1).sum(axis=1)
        else:  # float descriptors: Euclidean distance
            distances = np.linalg.norm(d2.astype(np.float64) - d, axis=1)
        nearest, second = np.argsort(distances, kind="stable")[:2]
        # keep the pair only if its best candidate is clearly better than the runner-up
        if distances[nearest] < ratio * distances[second]:
            kept.append((i, nearest))
    return np.array(kept, dtype=np.int64).reshape(-1, 2)


def _descriptors(d, name: str) -> np.ndarray:
    d = d.descriptors if isinstance(d, Features) else d
    if not isinstance(d, np.ndarray) or d.ndim != 2:
        raise DescriptorMismatchError(f"{name} must be Features or a 2-D array (one descriptor per row); "
                                      f"got {type(d).__name__} of shape {np.shape(d)}")
    if d.dtype != np.uint8 and not np.issubdtype(d.dtype, np.floating):
        raise DescriptorMismatchError(
            f"{name} has dtype {d.dtype}; descriptors are float (L2 distance) or uint8 bit strings (Hamming distance)")
    if np.issubdtype(d.dtype, np.floating) and not np.isfinite(d).all():
        raise DescriptorMismatchError(f"{name} contains NaN or infinite values")
    return d


def _check_pair(d1, d2) -> tuple[np.ndarray, np.ndarray]:
    a, b = _descriptors(d1, "d1"), _descriptors(d2, "d2")
    if (a.dtype == np.uint8) != (b.dtype == np.uint8):
        raise DescriptorMismatchError(
            f"d1 is {a.dtype} and d2 is {b.dtype}: binary (uint8, Hamming) and float (L2) "
            "descriptors cannot be compared; describe both images with the same method")
    if a.shape[1] != b.shape[1]:
        raise DescriptorMismatchError(f"d1 has {a.shape[1]} values per descriptor and d2 has {b.shape[1]}; "
                                      "describe both images with the same method and options")
    return a, b


def _nearest_two(query: np.ndarray, train: np.ndarray, norm_type: int, k: int):
    """Nearest (and second-nearest) train index and distance for every query row."""
    import cv2

    knn = cv2.BFMatcher(norm_type, crossCheck=False).knnMatch(query, train, k=k)
    first, d1, d2 = np.full(len(query), -1, np.int64), np.full(len(query), np.inf), np.full(len(query), np.inf)
    for row, candidates in enumerate(knn):
        if candidates:
            first[row], d1[row] = candidates[0].trainIdx, candidates[0].distance
        if len(candidates) > 1:
            d2[row] = candidates[1].distance
    return first, d1, d2


def match_descriptors(d1, d2, *, ratio: float = 0.75, cross_check: bool = False) -> Matches:
    """Nearest-neighbour matching with Lowe's ratio test (:func:`ratio_test_reference`).

    A pair is kept when ``nearest < ratio × second-nearest``; ``ratio=1`` disables the test, and
    so does a ``d2`` of one descriptor. ``cross_check`` keeps only mutual nearest neighbours.
    ``d1``, ``d2``: arrays or :class:`Features`, both float (L2) or both uint8 (Hamming).

    >>> d1 = np.array([[0, 0], [10, 0]], np.float32)
    >>> d2 = np.array([[10, 1], [0, 1], [50, 50]], np.float32)
    >>> m = match_descriptors(d1, d2)
    >>> m.indices.tolist(), m.distances.tolist(), m.norm
    ([[0, 1], [1, 0]], [1.0, 1.0], 'l2')
    """
    a, b = _check_pair(d1, d2)
    ratio = check_real(ratio, "ratio", low=0, high=1, low_open=True, hint="1 disables the ratio test")
    return _match(a, b, ratio, check_flag(cross_check, "cross_check"))


def _match(a: np.ndarray, b: np.ndarray, ratio: float, cross_check: bool) -> Matches:
    import cv2

    binary = a.dtype == np.uint8
    norm = "hamming" if binary else "l2"
    if len(a) == 0 or len(b) == 0 or a.shape[1] == 0:
        return Matches(np.zeros((0, 2), np.int64), np.zeros(0), np.zeros(0), norm)
    if not binary:
        a, b = np.ascontiguousarray(a, dtype=np.float32), np.ascontiguousarray(b, dtype=np.float32)
    norm_type = cv2.NORM_HAMMING if binary else cv2.NORM_L2
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
    return Matches(np.stack([rows, nearest[rows]], axis=1).astype(np.int64), dist1[rows], ratios[rows], norm)


# --------------------------------------------------------------------------- verification


@dataclass(frozen=True, eq=False)
class Verification:
    """The RANSAC check of matches: ``inliers`` per match, the 3×3 ``transform`` (the identity when
    ``ok`` is False, with the ``reason``), each match's ``residuals`` in pixels under it."""

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
    xy = np.asarray(keypoints.xy if isinstance(keypoints, Features) else keypoints, dtype=np.float64)
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
        raise InvalidParameterError(f"match indices out of range: the keypoint sets have {n1} and {n2} points")
    return idx.astype(np.int64)


def project(transform: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Map ``(N, 2)`` points through a 3×3 transform (homogeneous division included)."""
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    h = np.asarray(transform, dtype=np.float64)
    w = xy @ h[2, :2] + h[2, 2]
    w = np.where(np.abs(w) < 1e-12, 1e-12, w)
    return (xy @ h[:2, :2].T + h[:2, 2]) / w[:, None]


def _check_ransac(model, ransac_threshold, seed, max_iters=2000, confidence=0.995) -> dict:
    return {
        "model": check_choice(model, "geometric model", MODELS),
        "threshold": check_real(ransac_threshold, "ransac_threshold", low=0, low_open=True, hint="pixels"),
        "seed": check_seed(seed),
        "max_iters": check_int(max_iters, "max_iters", low=1),
        "confidence": check_real(confidence, "confidence", low=0, high=1, low_open=True),
    }


def verify_matches(kp1, kp2, matches, *, model: str = "homography", ransac_threshold: float = 3.0,
                   seed: int = 0, max_iters: int = 2000, confidence: float = 0.995) -> Verification:
    """Fit a homography (or an affine map) to matched positions with OpenCV's RANSAC.

    Too few matches or a degenerate configuration give ``ok=False``, the identity and the
    reason, not an error.

    >>> rng = np.random.default_rng(0)
    >>> p1 = rng.uniform(0, 100, (30, 2))
    >>> v = verify_matches(p1, p1 + [5.0, -3.0], np.stack([np.arange(30)] * 2, axis=1))
    >>> v.ok, v.n_inliers, np.round(v.transform[:2, 2], 3).tolist()
    (True, 30, [5.0, -3.0])
    >>> verify_matches(p1, p1, [[0, 0], [1, 1]]).reason
    'too few matches for a homography: 2 < 4'
    """
    ransac = _check_ransac(model, ransac_threshold, seed, max_iters, confidence)
    p1, p2 = _positions(kp1, "kp1"), _positions(kp2, "kp2")
    idx = _match_indices(matches, len(p1), len(p2))
    return _verify(p1[idx[:, 0]], p2[idx[:, 1]], **ransac)


def _verify(src: np.ndarray, dst: np.ndarray, *, model: str, threshold: float, seed: int,
            max_iters: int = 2000, confidence: float = 0.995) -> Verification:
    def failed(reason: str) -> Verification:
        return Verification(np.zeros(len(src), bool), np.eye(3), False, reason, model,
                            np.linalg.norm(dst - src, axis=1))

    if len(src) < _MIN_MATCHES[model]:
        article = "an" if model == "affine" else "a"
        return failed(f"too few matches for {article} {model}: {len(src)} < {_MIN_MATCHES[model]}")
    transform = _ransac(src.astype(np.float32), dst.astype(np.float32), model, threshold, seed, max_iters, confidence)
    if transform is None:
        return failed(f"RANSAC found no {model}: the matched points are degenerate (for example collinear)")
    if abs(np.linalg.det(transform)) < 1e-10:
        return failed(f"the estimated {model} is singular")
    residuals = np.linalg.norm(project(transform, src) - dst, axis=1)
    inliers = residuals <= threshold
    if not inliers.any():
        return failed(f"no match agrees with the estimated {model}")
    return Verification(inliers, transform, True, "ok", model, residuals)


def _ransac(src, dst, model, threshold, seed, max_iters, confidence) -> np.ndarray | None:
    """OpenCV's RANSAC fit as a 3×3 float64 matrix, or None when it finds none."""
    import cv2

    cv2.setRNGSeed(seed % 2**31)  # OpenCV's seed is a C int
    if model == "homography":
        transform, mask = cv2.findHomography(src, dst, cv2.RANSAC, threshold, maxIters=max_iters,
                                             confidence=confidence)
    else:
        affine, mask = cv2.estimateAffine2D(src, dst, method=cv2.RANSAC, ransacReprojThreshold=threshold,
                                            maxIters=max_iters, confidence=confidence)
        transform = None if affine is None else np.vstack([affine, [0.0, 0.0, 1.0]])
    if transform is None or mask is None or not np.isfinite(transform).all():
        return None
    return np.asarray(transform, dtype=np.float64)


# --------------------------------------------------------------------------- similarity


@dataclass(frozen=True, eq=False)
class KeypointSimilarity:
    """Everything :func:`keypoint_similarity` computed: ``score``, ``reason`` (``"ok"`` or why it
    is 0), ``n_distinct_inliers`` (its numerator), both :class:`Features`, the :class:`Matches`
    and the :class:`Verification`, for reports and drawings."""

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


def _check_comparison(ratio, model, ransac_threshold, cross_check, min_inliers, seed) -> dict:
    return {
        "ratio": check_real(ratio, "ratio", low=0, high=1, low_open=True, hint="1 disables the ratio test"),
        "ransac": _check_ransac(model, ransac_threshold, seed),
        "cross_check": check_flag(cross_check, "cross_check"),
        "min_inliers": check_int(min_inliers, "min_inliers", low=1),
    }


def compare_features(features1: Features, features2: Features, *, ratio: float = 0.75,
                     model: str = "homography", ransac_threshold: float = 3.0, cross_check: bool = False,
                     min_inliers: int = DEFAULT_MIN_INLIERS, seed: int = 0) -> KeypointSimilarity:
    """The comparison half of :func:`keypoint_similarity`, on precomputed :class:`Features`.

    >>> from skimage.data import camera, coffee
    >>> f1 = detect_and_describe(camera(), method="orb")
    >>> compare_features(f1, f1).score, compare_features(f1, detect_and_describe(coffee(), method="orb")).score
    (1.0, 0.0)
    """
    for name, f in (("features1", features1), ("features2", features2)):
        check_instance(f, name, Features, "detect_and_describe")
    if features1.method != features2.method:
        raise DescriptorMismatchError(f"features1 come from {features1.method!r} and features2 from "
                                      f"{features2.method!r}; describe both images with the same method")
    return _compare(features1, features2, **_check_comparison(ratio, model, ransac_threshold, cross_check,
                                                              min_inliers, seed))


def _compare(features1: Features, features2: Features, *, ratio: float, ransac: dict, cross_check: bool,
             min_inliers: int) -> KeypointSimilarity:
    matches = _match(features1.descriptors, features2.descriptors, ratio, cross_check)
    verification = _verify(features1.xy[matches.indices[:, 0]], features2.xy[matches.indices[:, 1]], **ransac)
    n1, n2 = len(features1), len(features2)
    pairs = matches.indices[verification.inliers]
    # Several keypoints of one image matched to the same keypoint of the other (a homography
    # collapsing onto a few points) count once.
    distinct = min(len(np.unique(pairs[:, 0])), len(np.unique(pairs[:, 1])))
    score, reason = 0.0, "ok"
    if n1 == 0 or n2 == 0:
        which = " and ".join(n for n, k in (("image1", n1), ("image2", n2)) if k == 0)
        reason = f"no keypoints in {which} (textureless or too small); nothing to match"
    elif not verification.ok:
        reason = verification.reason
    elif distinct < min_inliers:
        reason = (f"only {distinct} distinct inliers, fewer than min_inliers={min_inliers}: "
                  "no reliable geometric agreement")
    else:
        score = float(min(1.0, distinct / min(n1, n2)))
    return KeypointSimilarity(score, reason, verification.n_inliers, distinct, features1, features2, matches,
                              verification, features1.method)


def keypoint_similarity(image1, image2, *, method: str = "sift", ratio: float = 0.75, model: str = "homography",
                        ransac_threshold: float = 3.0, max_features: int | None = None, cross_check: bool = False,
                        min_inliers: int = DEFAULT_MIN_INLIERS, seed: int = 0,
                        options: dict | None = None) -> KeypointSimilarity:
    """How much of two images is the same scene seen through one geometric map.

    Detect, match image 1 to image 2 (so not exactly symmetric), verify. With :math:`n_i` the
    keypoints of image i and :math:`u_i` its distinct keypoints among the inliers,
    :math:`\\text{score} = \\min(u_1, u_2) / \\min(n_1, n_2)`; 0, with a reason, when an image
    has no keypoints or :math:`\\min(u_1, u_2)` is below ``min_inliers`` (RANSAC always finds a
    few chance inliers between unrelated images).

    >>> from skimage.data import camera
    >>> keypoint_similarity(camera(), camera(), method="orb").score
    1.0
    >>> r = keypoint_similarity(camera(), np.full((64, 64), 128, np.uint8), method="orb")
    >>> r.score, r.reason
    (0.0, 'no keypoints in image2 (textureless or too small); nothing to match')
    """
    method, max_features, options = _check_detector(method, max_features, options)
    comparison = _check_comparison(ratio, model, ransac_threshold, cross_check, min_inliers, seed)
    features1, features2 = (
        _detect(check_image(image, name=name, min_size=MIN_SIZE), method, max_features, options)
        for image, name in ((image1, "image1"), (image2, "image2"))
    )
    return _compare(features1, features2, **comparison)

