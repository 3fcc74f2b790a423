"""pairwise_histogram_similarity (N×N) against a Python loop over cv2.compareHist, one process.

The loop is what tutorials do; both must give the same matrix. Histogram sets:

* ``crops 8x8x8``: 1,000 RGB 8×8×8 histograms of random crops of the course
  photos (sparse: a few percent of the 512 bins occupied); every method;
* ``natural 128² crops``: 400 RGB 8×8×8 histograms of random 128×128 crops;
* ``noise 4x4x4``: 1,000 RGB 4×4×4 histograms of uniform noise (dense: every bin occupied);
* ``colourful HSV 4x4x4``: 1,000 HSV 4×4×4 histograms of random colour blocks (dense).

Intersection and the symmetric χ² have no matrix-product form and are timed
on every set; the loop's time is best of 2, ours best of 3.

Run with ``python -m benchmarks histograms``.
"""

from __future__ import annotations

import importlib
import time

import cv2
import numpy as np

from benchmarks.timing import best_time, report
from imgsim_helpers.images.data import course_gallery
from imgsim_helpers.metrics.histograms import (
    HISTOGRAM_METHODS,
    color_histogram,
    pairwise_histogram_similarity,
)

histograms_module = importlib.import_module("imgsim_helpers.metrics.histograms")

N_IMAGES = 1000
ELEMENTWISE = ("intersection", "chi_square_alt")


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


def natural_crops(n: int = 400, side: int = 128, seed: int = 1) -> np.ndarray:
    """n RGB 8x8x8 histograms of random side×side crops of the full-size course photos."""
    rng = np.random.default_rng(seed)
    images = [im for im in course_gallery().values() if min(im.shape[:2]) > side]
    hists = []
    for _ in range(n):
        image = images[rng.integers(len(images))]
        top = rng.integers(0, image.shape[0] - side + 1)
        left = rng.integers(0, image.shape[1] - side + 1)
        hists.append(color_histogram(image[top : top + side, left : left + side], bins=8).ravel())
    return np.stack(hists)


def noise_histograms(n: int = N_IMAGES, seed: int = 2) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.stack([
        color_histogram(rng.integers(0, 256, (48, 48, 3), dtype=np.uint8), bins=4).ravel() for _ in range(n)
    ])


def colourful_hsv_histograms(n: int = N_IMAGES, seed: int = 3) -> np.ndarray:
    """HSV histograms of images made of 16×16 blocks of random colours (nearly every bin occupied)."""
    rng = np.random.default_rng(seed)
    hists = []
    for _ in range(n):
        blocks = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
        image = np.kron(blocks, np.ones((3, 3, 1), np.uint8))
        hists.append(color_histogram(image, space="hsv", bins=4).ravel())
    return np.stack(hists)


def opencv_loop(hists: np.ndarray, flag: int) -> np.ndarray:
    n = len(hists)
    out = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            out[i, j] = cv2.compareHist(hists[i], hists[j], flag)
    return out


def compare_rows(name: str, hists: np.ndarray, methods, *, loop_repeat: int = 2) -> list[dict]:
    """One row per method: the loop's and our time for the N×N matrix, and the largest difference."""
    rows = []
    occupied = float((hists > 0).mean())
    for method in methods:
        flag = getattr(cv2, HISTOGRAM_METHODS[method].opencv_flag)
        loop_s = float("inf")
        for _ in range(loop_repeat):
            start = time.perf_counter()
            reference = opencv_loop(hists, flag)
            loop_s = min(loop_s, time.perf_counter() - start)
        ours = pairwise_histogram_similarity(hists, method=method)
        ours_s = best_time(lambda method=method: pairwise_histogram_similarity(hists, method=method), repeat=3)
        rows.append({
            "histograms": name,
            "method": method,
            "images": len(hists),
            "bins": hists.shape[1],
            "occupied": round(occupied, 3),
            "cv2 loop s": loop_s,
            "ours s": ours_s,
            "speed-up": loop_s / ours_s,
            "threads": histograms_module.kernel_threads() if method == "chi_square_alt" else 1,
            "max |diff|": float(np.abs(ours - reference).max()),
        })
    return rows


def main() -> None:
    main_set = thousand_histograms()
    methods = [name for name, spec in HISTOGRAM_METHODS.items() if spec.opencv_flag is not None]
    rows = compare_rows("crops 8x8x8", main_set, methods, loop_repeat=1)
    rows += compare_rows("natural 128² crops", natural_crops(), ELEMENTWISE)
    rows += compare_rows("noise 4x4x4", noise_histograms(), ELEMENTWISE)
    rows += compare_rows("colourful HSV 4x4x4", colourful_hsv_histograms(), ELEMENTWISE)
    report("histograms", rows)
    print("the cv2 loop runs on 1 thread; 'threads' is ours (scikit-learn's chi-square kernel on parallel blocks)")


if __name__ == "__main__":
    main()
