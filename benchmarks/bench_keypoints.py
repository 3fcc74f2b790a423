"""Keypoints: speed of SURF (this package) against OpenCV's SIFT, ORB, AKAZE, BRISK, and their quality.

Speed: detection plus description of one 512×512 image (skimage's
astronaut, gray), best of 5, as a ratio to OpenCV SIFT in the same process.

Quality: each course image is warped by known homographies (rotation,
scaling, both) or changed photometrically (blur, brightness, contrast, JPEG;
the homography is then the identity), keypoints are detected in both, and
:func:`imgsim_helpers.keypoints.matching_score` gives the repeatability
(Mikolajczyk et al. 2005 overlap-error protocol, circles, 40 %), the
matching score (correct mutual nearest neighbours / min(n1, n2)) and the
precision and recall of ratio-test matches (ratio 0.8). To compare methods
at the same density, every detector keeps its strongest ``N_FEATURES``
keypoints, with thresholds lowered (``DETECTOR_OPTIONS``) so that each can
reach that number.

Run: ``python -m benchmarks keypoints`` (``IMGSIM_SMOKE=1`` for a small run).
"""

from __future__ import annotations

import os

import numpy as np

from benchmarks.timing import best_time, report

METHODS = ("sift", "surf", "orb", "akaze", "brisk")
N_FEATURES = 500
DETECTOR_OPTIONS = {
    "sift": {"contrastThreshold": 0.02},
    "surf": {"hessian_threshold": 0.0002},
    "orb": {},
    "akaze": {"threshold": 0.0002},
    "brisk": {"thresh": 15},
}
IMAGES = ("astronaut", "camera", "chelsea", "coffee", "brick")
GEOMETRIC = {
    "rotate 15°": (15.0, 1.0),
    "rotate 45°": (45.0, 1.0),
    "rotate 90°": (90.0, 1.0),
    "scale 0.5": (0.0, 0.5),
    "scale 0.75": (0.0, 0.75),
    "scale 1.5": (0.0, 1.5),
    "scale 2": (0.0, 2.0),
    "rotate 30° + scale 1.2": (30.0, 1.2),
}
PHOTOMETRIC = ("blur σ=2", "brightness +40", "contrast ×0.6", "JPEG q=15")


def _gray_image(name: str) -> np.ndarray:
    import skimage.data

    from imgsim_helpers.io import to_gray

    return to_gray(getattr(skimage.data, name)())


def similarity_homography(shape, angle: float, scale: float) -> np.ndarray:
    """Rotation by ``angle`` degrees (counter-clockwise on screen) and scaling about the centre."""
    import cv2

    h, w = shape[:2]
    return np.vstack([cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), angle, scale), [0, 0, 1]])


def photometric(image: np.ndarray, change: str) -> np.ndarray:
    import cv2

    if change.startswith("blur"):
        return cv2.GaussianBlur(image, (0, 0), 2.0)
    if change.startswith("brightness"):
        return np.clip(image.astype(np.int16) + 40, 0, 255).astype(np.uint8)
    if change.startswith("contrast"):
        return np.round(image * 0.6).astype(np.uint8)
    ok, buffer = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 15])
    return cv2.imdecode(buffer, cv2.IMREAD_UNCHANGED)


def transformed_pairs(image: np.ndarray, *, smoke: bool = False):
    """Yield ``(kind, name, changed_image, homography)`` for every change."""
    import cv2

    geometric = dict(list(GEOMETRIC.items())[:3]) if smoke else GEOMETRIC
    for name, (angle, scale) in geometric.items():
        h = similarity_homography(image.shape, angle, scale)
        warped = cv2.warpPerspective(image, h, (image.shape[1], image.shape[0]), flags=cv2.INTER_LINEAR)
        yield ("rotation" if scale == 1.0 else "scale" if angle == 0 else "rotation+scale"), name, warped, h
    for name in PHOTOMETRIC[:2] if smoke else PHOTOMETRIC:
        yield "photometric", name, photometric(image, name), np.eye(3)


def quality_rows(*, methods=METHODS, images=IMAGES, n_features=N_FEATURES, smoke=False) -> list[dict]:
    """One row per (method, image, change) with repeatability, matching score, precision, recall."""
    from imgsim_helpers.keypoints import detect_and_describe, matching_score

    rows = []
    for image_name in images:
        image = _gray_image(image_name)
        pairs = list(transformed_pairs(image, smoke=smoke))
        for method in methods:
            options = DETECTOR_OPTIONS[method]
            reference = detect_and_describe(image, method=method, max_features=n_features, options=options)
            for kind, change, changed, h in pairs:
                other = detect_and_describe(changed, method=method, max_features=n_features, options=options)
                result = matching_score(reference, other, h)
                rows.append({
                    "method": method, "image": image_name, "kind": kind, "change": change,
                    "n1": len(reference), "n2": len(other),
                    "repeatability": result.repeatability.value,
                    "matching_score": result.matching_score,
                    "precision": result.precision, "recall": result.recall,
                })
    return rows


def summarise(rows: list[dict]) -> list[dict]:
    """Mean of each measure per method, overall and per kind of change, and the ratio to SIFT."""
    out = []
    measures = ("repeatability", "matching_score", "precision", "recall")
    for method in dict.fromkeys(r["method"] for r in rows):
        mine = [r for r in rows if r["method"] == method]
        row = {"method": method, "keypoints": float(np.mean([r["n1"] for r in mine]))}
        for m in measures:
            row[m] = float(np.mean([r[m] for r in mine]))
        for kind in dict.fromkeys(r["kind"] for r in rows):
            row[f"MS {kind}"] = float(np.mean([r["matching_score"] for r in mine if r["kind"] == kind]))
        out.append(row)
    sift = next((r for r in out if r["method"] == "sift"), None)
    if sift is not None:
        for row in out:
            row["rep / SIFT"] = row["repeatability"] / sift["repeatability"]
            row["MS / SIFT"] = row["matching_score"] / sift["matching_score"]
    return out


def speed_rows(*, repeat: int = 5) -> list[dict]:
    """Detection + description time of each method on a 512×512 gray image, and its ratio to SIFT."""
    from imgsim_helpers.keypoints import detect_and_describe

    image = _gray_image("astronaut")
    rows = []
    for method in METHODS:
        seconds = best_time(lambda m=method: detect_and_describe(image, method=m), repeat=repeat)
        n = len(detect_and_describe(image, method=method))
        rows.append({"method": method, "keypoints": n, "ms": 1000 * seconds})
    sift_ms = rows[0]["ms"]
    for row in rows:
        row["× SIFT"] = row["ms"] / sift_ms
    return rows


def main() -> None:
    smoke = os.environ.get("IMGSIM_SMOKE", "0") not in ("", "0", "false", "False")
    report("keypoints_speed", speed_rows(repeat=3 if smoke else 5))
    rows = quality_rows(images=IMAGES[:2] if smoke else IMAGES, smoke=smoke)
    report("keypoints_quality", summarise(rows))


if __name__ == "__main__":
    main()
