"""Keypoints: speed of SURF (this package) against OpenCV's SIFT, ORB, AKAZE, BRISK, and their quality.

Speed: detection plus description of one 512×512 image (skimage's
astronaut, gray), best of 5, as a ratio to OpenCV SIFT in the same process.

Quality: the protocol of :func:`imgsim_helpers.keypoint_study.detector_quality`
(the same one notebook 04 shows): each course image under known homographies
(rotation, scaling, both) and photometric changes (blur, brightness, contrast,
JPEG), repeatability by the overlap-error protocol of Mikolajczyk et al.
(circles, 40 %), matching score, and ratio-test precision and recall, every
detector keeping its strongest 500 keypoints.

Run: ``python -m benchmarks keypoints`` (``IMGSIM_SMOKE=1`` for a small run).
"""

from __future__ import annotations

import skimage.data

from benchmarks.timing import best_time, report
from imgsim_helpers.claims import smoke_default
from imgsim_helpers.io import to_gray
from imgsim_helpers.keypoint_study import detector_quality, summarise_quality
from imgsim_helpers.keypoints import detect_and_describe

METHODS = ("sift", "surf", "orb", "akaze", "brisk")
IMAGES = ("astronaut", "camera", "chelsea", "coffee", "brick")


def speed_rows(*, repeat: int = 5) -> list[dict]:
    """Detection + description time of each method on a 512×512 gray image, and its ratio to SIFT."""
    image = to_gray(skimage.data.astronaut())
    rows = []
    for method in METHODS:
        seconds = best_time(lambda m=method: detect_and_describe(image, method=m), repeat=repeat)
        rows.append({"method": method, "keypoints": len(detect_and_describe(image, method=method)), "ms": 1000 * seconds})
    import cv2

    for row in rows:
        row["× SIFT"] = row["ms"] / rows[0]["ms"]
        row["cv2_threads"] = cv2.getNumThreads()  # OpenCV's detectors; SURF is NumPy on one thread
    return rows


def main() -> None:
    smoke = smoke_default()
    report("keypoints_speed", speed_rows(repeat=3 if smoke else 5))
    names = IMAGES[:2] if smoke else IMAGES
    rows = detector_quality({n: getattr(skimage.data, n)() for n in names}, methods=METHODS, progress=True)
    summary = summarise_quality(rows)
    sift = summary["sift"]
    report("keypoints_quality", [
        {"method": m, **{k: v for k, v in s.items()},
         "rep/SIFT": s["repeatability"] / sift["repeatability"], "MS/SIFT": s["matching_score"] / sift["matching_score"]}
        for m, s in summary.items()
    ])


if __name__ == "__main__":
    main()
