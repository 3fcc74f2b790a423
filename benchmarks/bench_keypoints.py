"""Keypoints: speed of SURF (this package) against OpenCV's SIFT, ORB, AKAZE, BRISK, and their quality.

Speed: detection plus description of one 512×512 image (skimage's
astronaut, gray), best of 5, as a ratio to OpenCV SIFT in the same process,
with every core for everyone and then with one thread each.

Quality: the protocol of :func:`imgsim_helpers.lessons.keypoint_study.detector_quality`
(the same one notebook 04 shows): each course image under known homographies
(rotation, scaling, both) and photometric changes (blur, brightness, contrast,
JPEG), repeatability by the overlap-error protocol of Mikolajczyk et al.
(circles, 40 %), matching score, and ratio-test precision and recall, every
detector keeping its strongest 500 keypoints.

Run: ``python -m benchmarks keypoints`` (``IMGSIM_SMOKE=1`` for a small run).
"""

from __future__ import annotations

import importlib

import skimage.data

from benchmarks.timing import best_time, report
from imgsim_helpers.core.device import cpu_threads
from imgsim_helpers.images.io import to_gray
from imgsim_helpers.lessons.claims import smoke_default
from imgsim_helpers.lessons.keypoint_study import detector_quality, summarise_quality
from imgsim_helpers.metrics.keypoints import detect_and_describe

surf_module = importlib.import_module("imgsim_helpers.metrics.surf_detector")

METHODS = ("sift", "surf", "orb", "akaze", "brisk")
IMAGES = ("astronaut", "camera", "chelsea", "coffee", "brick")


def speed_rows(*, repeat: int = 5) -> list[dict]:
    """Detection + description time of each method on a 512×512 gray image, and its ratio to SIFT.

    Twice: every core for everyone (OpenCV's threads, SURF's scale threads),
    then one thread each.
    """
    import cv2

    image = to_gray(skimage.data.astronaut())
    cv2_threads = cv2.getNumThreads()
    rows = []
    try:
        for setting in ("all", 1):
            cv2.setNumThreads(cv2_threads if setting == "all" else 1)
            surf_module.MAX_THREADS = None if setting == "all" else 1
            block = []
            for method in METHODS:
                seconds = best_time(lambda m=method: detect_and_describe(image, method=m), repeat=repeat)
                block.append({
                    "method": method, "threads": setting,
                    "keypoints": len(detect_and_describe(image, method=method)), "ms": 1000 * seconds,
                })
            for row in block:
                row["× SIFT"] = row["ms"] / block[0]["ms"]
                row["cv2_threads"] = cv2.getNumThreads()
                row["surf_threads"] = cpu_threads(surf_module.MAX_THREADS)
            rows += block
    finally:
        cv2.setNumThreads(cv2_threads)
        surf_module.MAX_THREADS = None
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
