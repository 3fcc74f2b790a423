"""FSIM and FSIMc: ours against piq (CPU torch) and the phasepack recipe, one process.

Inputs: scikit-image's astronaut (512×512 RGB) against a copy with Gaussian
noise (σ = 20, seed 0); FeatureSIM.m would downsample both by 2 first. The
values on the TID2013 pair I01 / i01_01_5 (whose MATLAB values are 0.93674
and 0.92587) are printed too when ../shared/reference-iqa is present.

Peers:

* ``piq.fsim`` (torch, CPU, float32 as people usually call it, and float64),
  ``data_range=255``, ``chromatic=False`` / ``True`` (piq's default is
  FSIMc with data_range 1). piq re-implements FeatureSIM.m but rounds the
  downsampling factor with Python's ``round`` (2.5 -> 2), downsamples with
  ``avg_pool2d`` (drops the remainder rows instead of zero padding) and takes
  ``torch.median`` (the lower middle value, not the mean of the two), so its
  values differ slightly from MATLAB's.
* :func:`imgsim_helpers.fsim.fsim_phasepack_recipe`, the recipe copied in
  many Python projects (phasepack, 6 orientations summed, no downsampling,
  unsigned wrapping uint16 Scharr gradients, per-channel mean).

Peak memory is what :func:`benchmarks.timing.peak_memory_mib` sees through
Python's allocators: NumPy arrays are counted, torch's CPU tensors are not,
so piq's figure is a lower bound (roughly its Python-side bookkeeping only).

Run: ``python -m benchmarks fsim``.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

from benchmarks.timing import best_time, peak_memory_mib, report
from imgsim_helpers.fsim import fsim, fsim_phasepack_recipe
from imgsim_helpers.io import load_image

REPEAT = 7
REPEAT_SLOW = 2
MATLAB = {"fsim": 0.93674, "fsimc": 0.92587}


def _pair() -> tuple[np.ndarray, np.ndarray]:
    from skimage import data

    image = data.astronaut()
    noise = np.random.default_rng(0).normal(0.0, 20.0, image.shape)
    return image, np.clip(image + noise, 0, 255).astype(np.uint8)


def _reference_pair() -> tuple[np.ndarray, np.ndarray] | None:
    root = Path(__file__).resolve().parents[1]
    folder = Path(os.environ.get("IMGSIM_REFERENCE_DIR", root.parent / "shared" / "reference-iqa"))
    if not (folder / "I01.BMP").is_file():
        return None
    return load_image(folder / "I01.BMP"), load_image(folder / "i01_01_5.bmp")


def _row(metric, peer, fn, ours_value, ours_time, reference_value, repeat):
    value = float(fn())
    seconds = best_time(fn, repeat=repeat)
    row = {
        "metric": metric,
        "implementation": peer,
        "ms": seconds * 1e3,
        "value": value,
        "abs_diff_vs_ours": abs(value - ours_value),
        "I01_value": reference_value,
        "I01_abs_err_vs_MATLAB": (
            abs(reference_value - MATLAB[metric]) if reference_value is not None else None
        ),
        "peak_MiB": peak_memory_mib(fn),
    }
    if ours_time is not None:
        row["ours_faster_x"] = seconds / ours_time
    return row


def main() -> None:
    a, b = _pair()
    ref = _reference_pair()
    rows = []

    try:
        import piq
        import torch
    except ImportError:  # piq is in the "bench" extra; say so rather than fail
        piq = torch = None
        print("piq not installed: its rows are skipped (pip install -e '.[bench]')")
    else:
        torch.set_grad_enabled(False)

    def tensor(x, dtype):
        return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))[None].to(dtype)

    for metric, chromatic in (("fsim", False), ("fsimc", True)):

        def ours(x=a, y=b, chromatic=chromatic):
            return fsim(x, y, chromatic=chromatic)

        ours_value = ours()
        ours_ref = ours(*ref) if ref else None
        ours_row = _row(metric, "imgsim_helpers", ours, ours_value, None, ours_ref, REPEAT)
        ours_time = ours_row["ms"] / 1e3
        rows.append(ours_row)

        if piq is not None:
            for dtype, label in ((torch.float32, "float32"), (torch.float64, "float64")):
                ta, tb = tensor(a, dtype), tensor(b, dtype)

                def piq_fsim(x=ta, y=tb, chromatic=chromatic):
                    return piq.fsim(x, y, data_range=255.0, chromatic=chromatic).item()

                piq_ref = None
                if ref:
                    piq_ref = piq_fsim(tensor(ref[0], dtype), tensor(ref[1], dtype))
                rows.append(
                    _row(
                        metric,
                        f"piq (CPU torch, {label})",
                        piq_fsim,
                        ours_value,
                        ours_time,
                        piq_ref,
                        REPEAT,
                    )
                )

        if not chromatic:

            def recipe(x=a, y=b):
                return fsim_phasepack_recipe(x, y)

            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=r"(?s).*pyfftw", category=UserWarning)
                recipe_ref = recipe(*ref) if ref else None
                rows.append(
                    _row(
                        metric,
                        "phasepack recipe",
                        recipe,
                        ours_value,
                        ours_time,
                        recipe_ref,
                        REPEAT_SLOW,
                    )
                )

    report("fsim", rows)
    if piq is not None:
        print(f"torch threads: {torch.get_num_threads()}; peak_MiB for piq excludes torch tensors")


if __name__ == "__main__":
    main()
