"""pairwise_histogram_similarity for 1,000 images against a Python loop over cv2.compareHist.

The loop is what tutorials do; both must give the same matrix. Run with
``python -m benchmarks histograms``.
"""

from __future__ import annotations

import time

import cv2
import numpy as np

from benchmarks.timing import best_time, report
from imgsim_helpers.data import course_gallery
from imgsim_helpers.histograms import (
    HISTOGRAM_METHODS,
    color_histogram,
    pairwise_histogram_similarity,
)

N_IMAGES = 1000


def thousand_histograms(n: int = N_IMAGES, seed: int = 0) -> np.ndarray:
    """n RGB 8x8x8 histograms of random crops of the course photos (varied, realistic)."""
    rng = np.random.default_rng(seed)
    images = list(course_gallery(max_side=192).values())
    hists = []
    for _ in range(n):
        image = images[rng.integers(len(images))]
        h, w = image.shape[:2]
        ch, cw = rng.integers(h // 3, h + 1), rng.integers(w // 3, w + 1)
        top, left = rng.integers(0, h - ch + 1), rng.integers(0, w - cw + 1)
        hists.append(color_histogram(image[top : top + ch, left : left + cw], bins=8).ravel())
    return np.stack(hists)


def opencv_loop(hists: np.ndarray, flag: int) -> np.ndarray:
    n = len(hists)
    out = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            out[i, j] = cv2.compareHist(hists[i], hists[j], flag)
    return out


def main() -> None:
    hists = thousand_histograms()
    rows = []
    for name, spec in HISTOGRAM_METHODS.items():
        if spec.opencv_flag is None:
            continue
        flag = getattr(cv2, spec.opencv_flag)
        start = time.perf_counter()
        reference = opencv_loop(hists, flag)
        loop_s = time.perf_counter() - start
        ours = pairwise_histogram_similarity(hists, method=name)
        ours_s = best_time(lambda name=name: pairwise_histogram_similarity(hists, method=name), repeat=3)
        rows.append(
            {
                "method": name,
                "images": len(hists),
                "cv2 loop s": loop_s,
                "ours s": ours_s,
                "speed-up": loop_s / ours_s,
                "max |diff|": float(np.abs(ours - reference).max()),
            }
        )
    report("histograms", rows)


if __name__ == "__main__":
    main()
