"""SSIM and MS-SSIM: ours against scikit-image and piq, same settings, one process.

Inputs: scikit-image's camera (512×512 gray) against a copy with Gaussian
noise (σ = 20, seed 5), the pair scikit-image's own tests use. Settings: 11×11
Gaussian window, σ = 1.5, population covariance, data range 255. scikit-image
filters the whole image and its score averages the interior (5-pixel crop),
which is the same region ours uses, so the scores must agree.

Run: ``python -m benchmarks ssim``.
"""

from __future__ import annotations

import numpy as np

from benchmarks.timing import best_time, peak_memory_mib, report
from imgsim_helpers.metrics.structural_similarity import ms_ssim, ssim

REPEAT = 15


def _pair() -> tuple[np.ndarray, np.ndarray]:
    from skimage import data

    camera = data.camera()
    noise = 20 * np.random.RandomState(5).randn(*camera.shape)
    return camera, np.clip(camera + noise, 0, 255).astype(np.uint8)


def _row(method: str, peer: str, fn, value: float, ours_value: float, ours_time=None) -> dict:
    seconds = best_time(fn, repeat=REPEAT)
    row = {
        "method": method,
        "implementation": peer,
        "ms": seconds * 1e3,
        "value": value,
        "max_abs_diff_vs_ours": abs(value - ours_value),
        "peak_MiB": peak_memory_mib(fn),
    }
    if ours_time is not None:
        row["ours_faster_x"] = seconds / ours_time
    return row


def main() -> None:
    import cv2
    from skimage.metrics import structural_similarity

    threads = cv2.getNumThreads()
    try:
        for setting in (threads, 1):
            cv2.setNumThreads(setting)
            _run(structural_similarity, setting)
    finally:
        cv2.setNumThreads(threads)


def _run(structural_similarity, cv2_threads: int) -> None:
    """Every row with OpenCV (our filtering) on ``cv2_threads`` threads; scikit-image uses one."""

    a, b = _pair()
    rows = []

    def ours_ssim():
        return ssim(a, b)

    def skimage_ssim():
        return structural_similarity(
            a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255
        )

    ours_value = ours_ssim()
    ours_row = _row("ssim", "imgsim_helpers", ours_ssim, ours_value, ours_value)
    ours_time = ours_row["ms"] / 1e3
    rows.append(ours_row)
    rows.append(_row("ssim", "skimage", skimage_ssim, skimage_ssim(), ours_value, ours_time))

    # The maps too: ours is the valid region, skimage's interior is the same pixels.
    _, ours_map = ssim(a, b, full=True)
    _, sk_map = structural_similarity(
        a,
        b,
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
        data_range=255,
        full=True,
    )
    map_diff = float(np.abs(ours_map - sk_map[5:-5, 5:-5]).max())

    def ours_ms():
        return ms_ssim(a, b)

    ours_ms_value = ours_ms()
    ours_ms_row = _row("ms_ssim", "imgsim_helpers", ours_ms, ours_ms_value, ours_ms_value)
    rows.append(ours_ms_row)
    try:
        import piq
        import torch
    except ImportError:  # piq is in the "bench" extra; say so rather than fail
        print("piq not installed: MS-SSIM peer skipped (pip install -e '.[bench]')")
    else:
        ms_time = ours_ms_row["ms"] / 1e3
        for dtype, label in ((torch.float32, "float32"), (torch.float64, "float64")):
            ta = torch.from_numpy(a).to(dtype)[None, None]
            tb = torch.from_numpy(b).to(dtype)[None, None]

            def piq_ms(ta=ta, tb=tb):
                with torch.no_grad():  # local, so later benchmarks keep autograd
                    return piq.multi_scale_ssim(ta, tb, data_range=255.0).item()

            row = _row(
                "ms_ssim", f"piq (CPU torch, {label})", piq_ms, piq_ms(), ours_ms_value, ms_time
            )
            # torch allocates outside Python's allocators, so tracemalloc cannot see it.
            row["peak_MiB"] = "n/a (torch)"
            rows.append(row)

    for row in rows:
        row["ours_cv2_threads"] = cv2_threads
    report("ssim" if cv2_threads != 1 else "ssim_1_thread", rows)
    print(f"max |map difference| vs skimage on the valid region: {map_diff:.3g}")


if __name__ == "__main__":
    main()
