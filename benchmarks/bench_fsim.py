"""FSIM and FSIMc: ours against piq (CPU torch) and the phasepack recipe, one process.

Inputs: scikit-image's astronaut (512×512 RGB) against a copy with Gaussian
noise (σ = 20, seed 0); FeatureSIM.m would downsample both by 2 first. The
values on the TID2013 pair I01 / i01_01_5 are printed too, with their distance to the
MATLAB values that ../shared/reference-iqa/README.md records, when that folder is present.

Peers:

* ``piq.fsim`` (torch, CPU, float32 as people usually call it, and float64),
  ``data_range=255``, ``chromatic=False`` / ``True`` (piq's default is
  FSIMc with data_range 1). piq re-implements FeatureSIM.m but rounds the
  downsampling factor with Python's ``round`` (2.5 -> 2), downsamples with
  ``avg_pool2d`` (drops the remainder rows instead of zero padding) and takes
  ``torch.median`` (the lower middle value, not the mean of the two), so its
  values differ slightly from MATLAB's.
* :func:`imgsim_helpers.metrics.feature_similarity.fsim_phasepack_recipe`, the recipe copied in
  many Python projects (phasepack, 6 orientations summed, no downsampling,
  unsigned wrapping uint16 Scharr gradients, per-channel mean).

Memory, two ways: ``peak_MiB`` is what :func:`benchmarks.timing.peak_memory_mib`
sees through Python's allocators (NumPy arrays are counted, torch's CPU
tensors are not, so piq's figure there means nothing); ``rss_peak_MiB`` is the
rise of the process's peak resident memory during one call, measured in a
fresh process per implementation after a small warm-up call (so lazy imports
do not count), which sees torch too.

A second table, ``fsim_gallery``, times one query against a gallery of
:data:`GALLERY_SIZE` images (256×256 RGB, FSIM on Y): :func:`fsim` called per
pair, :func:`fsim_features` once per image then :func:`fsim_compare` per pair
(what the method registry does), and ``piq.fsim`` on the whole gallery as one
batch (float32).

Run: ``python -m benchmarks fsim``.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import numpy as np

from benchmarks.timing import best_time, peak_memory_mib, report
from imgsim_helpers.images.io import load_image
from imgsim_helpers.lessons.reference_values import matlab_value, reference_dir
from imgsim_helpers.metrics.feature_similarity import (
    downsample_factor,
    fsim,
    fsim_compare,
    fsim_features,
    fsim_features_many,
    fsim_phasepack_recipe,
)

pc_module = importlib.import_module("imgsim_helpers.metrics.log_gabor")

REPEAT = 7
REPEAT_SLOW = 2
GALLERY_SIZE = 32


def _pair() -> tuple[np.ndarray, np.ndarray]:
    from skimage import data

    image = data.astronaut()
    noise = np.random.default_rng(0).normal(0.0, 20.0, image.shape)
    return image, np.clip(image + noise, 0, 255).astype(np.uint8)


def _reference_pair() -> tuple[np.ndarray, np.ndarray] | None:
    folder = reference_dir()
    if not (folder / "I01.BMP").is_file():
        return None
    return load_image(folder / "I01.BMP"), load_image(folder / "i01_01_5.bmp")


def _call(kind: str, a: np.ndarray, b: np.ndarray):
    """The call that ``kind`` (``"<ours|piq32|piq64|recipe>:<fsim|fsimc>"``) names, on a and b."""
    impl, metric = kind.split(":")
    chromatic = metric == "fsimc"
    if impl == "ours":
        return lambda: fsim(a, b, chromatic=chromatic)
    if impl == "recipe":
        return lambda: fsim_phasepack_recipe(a, b)
    import piq
    import torch

    dtype = torch.float32 if impl == "piq32" else torch.float64
    ta, tb = (torch.from_numpy(x.transpose(2, 0, 1).copy())[None].to(dtype) for x in (a, b))

    def piq_fsim():
        with torch.no_grad():  # local: switching autograd off globally broke later benchmarks
            return piq.fsim(ta, tb, data_range=255.0, chromatic=chromatic).item()

    return piq_fsim


def _proc_status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def _rss_probe(kind: str) -> None:
    """Print the rise of peak RSS (MiB) during one call; run in a fresh process.

    Linux: the peak (VmHWM) is reset to the current RSS just before the call
    by writing 5 to /proc/self/clear_refs. ``ru_maxrss`` would not do: it
    survives ``exec``, so a child of a process that imported torch starts
    with torch's peak already recorded.
    """
    a, b = _pair()
    _call(kind, a[:64, :64].copy(), b[:64, :64].copy())()  # lazy imports and set-up
    fn = _call(kind, a, b)
    try:
        Path("/proc/self/clear_refs").write_text("5")
        before = _proc_status_kib("VmRSS")
    except OSError:  # not Linux, or not allowed: the peak so far is the baseline
        import resource

        unit = 2**10 if sys.platform == "darwin" else 1  # ru_maxrss: bytes on macOS
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // unit
        fn()
        print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // unit - before) / 2**10)
        return
    fn()
    print((_proc_status_kib("VmHWM") - before) / 2**10)


def _rss_peak_mib(kind: str) -> float | None:
    root = Path(__file__).resolve().parents[1]
    code = f"from benchmarks.bench_fsim import _rss_probe; _rss_probe({kind!r})"
    try:
        done = subprocess.run(
            [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=600
        )
        return float(done.stdout.strip().splitlines()[-1])
    except (subprocess.SubprocessError, ValueError, IndexError):
        return None


def _row(metric, peer, threads, fn, ours_value, ours_time, reference_value, repeat, rss=None):
    value = float(fn())
    seconds = best_time(fn, repeat=repeat)
    row = {
        "metric": metric,
        "implementation": peer,
        "threads": threads,
        "ms": seconds * 1e3,
        "value": value,
        "abs_diff_vs_ours": abs(value - ours_value),
        "I01_value": reference_value,
        "I01_abs_err_vs_MATLAB": (
            abs(reference_value - matlab_value("FSIMc" if metric == "fsimc" else "FSIM", "I01").value)
            if reference_value is not None else None
        ),
        "peak_MiB": peak_memory_mib(fn),
        "rss_peak_MiB": rss,
    }
    if ours_time is not None:
        row["ours_faster_x"] = seconds / ours_time
    return row


def main() -> None:
    a, b = _pair()
    ref = _reference_pair()
    try:
        import piq  # noqa: F401 - only checks that the "bench" extra is installed
        import torch
    except ImportError:
        torch = None
        print("piq not installed: its rows are skipped (pip install -e '.[bench]')")
        impls = ["ours", "recipe"]
    else:
        torch_threads = torch.get_num_threads()
        impls = ["ours", "piq32", "piq64", "recipe"]
    names = {
        "ours": "imgsim_helpers",
        "piq32": "piq (CPU torch, float32)",
        "piq64": "piq (CPU torch, float64)",
        "recipe": "phasepack recipe",
    }

    rows = []
    reference_values, rss = {}, {}
    try:
        _timed_rows(rows, a, b, ref, impls, names, torch, reference_values, rss)
    finally:  # leave the process as it was: the next benchmark may train a network
        pc_module.MAX_THREADS = None
        if torch is not None:
            torch.set_num_threads(torch_threads)

    report("fsim", rows)
    if torch is not None:
        print(f"threads 'all' = {pc_module._threads()} for ours, {torch_threads} for torch")
    report("fsim_gallery", gallery_rows(with_piq=torch is not None))


def fft_floor_seconds(shape: tuple[int, int], *, workers: int, images: int = 2) -> float:
    """Best time of the FFTs phase congruency needs for ``images`` images of ``shape``, alone.

    One forward FFT per image and one inverse FFT per image, scale and
    orientation (4 × 4), complex64, with scipy.fft as ours uses it: no
    implementation of FSIM on this FFT library can be faster.
    """
    import scipy.fft

    rng = np.random.default_rng(0)
    planes = rng.uniform(0, 255, (images, *shape)).astype(np.float32)
    bank = pc_module.log_gabor_filters(shape)
    filters = pc_module._oriented_filters(bank, np.float32)
    products = scipy.fft.fft2(planes)[:, None, None] * filters[None]

    def ffts():
        # One orientation (both images × 4 scales) per call, as phase congruency batches them.
        scipy.fft.fft2(planes, axes=(-2, -1), workers=workers)
        return [scipy.fft.ifft2(products[:, o], axes=(-2, -1), workers=workers)
                for o in range(products.shape[1])]

    return best_time(ffts, repeat=REPEAT)


def _timed_rows(rows, a, b, ref, impls, names, torch, reference_values, rss) -> None:
    torch_threads = torch.get_num_threads() if torch is not None else None
    factor = downsample_factor(a.shape)
    work_shape = (-(-a.shape[0] // factor), -(-a.shape[1] // factor))
    # Both sides use every core first, then one core each (a steadier figure
    # when other processes load the machine; torch's threads suffer most).
    for threads in ("all", 1):
        pc_module.MAX_THREADS = None if threads == "all" else 1
        if torch is not None:
            torch.set_num_threads(torch_threads if threads == "all" else 1)
        floor_s = fft_floor_seconds(work_shape, workers=-1 if threads == "all" else 1)
        for metric in ("fsim", "fsimc"):
            ours_value = ours_time = None
            for impl in impls:
                if impl == "recipe" and (metric == "fsimc" or threads != "all"):
                    continue  # the recipe has no FSIMc, and phasepack uses one thread anyway
                kind = f"{impl}:{metric}"
                if ref is not None and kind not in reference_values:
                    reference_values[kind] = float(_call(kind, *ref)())
                if kind not in rss:
                    rss[kind] = _rss_peak_mib(kind)
                fn = _call(kind, a, b)
                if impl == "ours":
                    ours_value = float(fn())
                row = _row(
                    metric,
                    names[impl],
                    threads if impl != "recipe" else 1,
                    fn,
                    ours_value,
                    ours_time,
                    reference_values.get(kind),
                    REPEAT_SLOW if impl == "recipe" else REPEAT,
                    rss[kind],
                )
                if impl == "ours":
                    ours_time = row["ms"] / 1e3
                    row["ours_over_fft_floor"] = ours_time / floor_s
                rows.append(row)
        rows.append({
            "metric": "fsim",
            "implementation": f"FFT floor: 2 fft2 + 32 ifft2, {work_shape[0]}x{work_shape[1]} complex64 (scipy.fft)",
            "threads": threads,
            "ms": floor_s * 1e3,
        })


def _gallery() -> tuple[np.ndarray, list[np.ndarray]]:
    from skimage import data

    query = data.astronaut()[::2, ::2].copy()
    rng = np.random.default_rng(0)
    gallery = [np.clip(query + rng.normal(0.0, sigma, query.shape), 0, 255).astype(np.uint8)
               for sigma in np.linspace(2.0, 40.0, GALLERY_SIZE)]
    return query, gallery


def gallery_rows(*, with_piq: bool) -> list[dict]:
    """One query against the gallery: per-pair calls, per-image features, piq in one batch."""
    query, gallery = _gallery()

    def per_pair():
        return [fsim(query, image) for image in gallery]

    def with_features():
        q = fsim_features(query)
        return [fsim_compare(q, f) for f in fsim_features_many(gallery)]

    runs = {"fsim per pair (imgsim_helpers)": per_pair, "fsim_features + fsim_compare (imgsim_helpers)": with_features}
    if with_piq:
        import piq
        import torch

        batch = torch.from_numpy(np.stack(gallery).transpose(0, 3, 1, 2).copy()).float()
        queries = torch.from_numpy(query.transpose(2, 0, 1).copy())[None].float().expand_as(batch).contiguous()

        def piq_batched():
            with torch.no_grad():
                return piq.fsim(queries, batch, data_range=255.0, chromatic=False, reduction="none").tolist()

        runs["piq.fsim, gallery as one batch (float32)"] = piq_batched
    reference = per_pair()
    base = best_time(with_features, repeat=3)
    rows = []
    for name, fn in runs.items():
        seconds = base if fn is with_features else best_time(fn, repeat=3)
        rows.append({
            "implementation": name,
            "images": GALLERY_SIZE,
            "ms_per_gallery_image": seconds * 1e3 / GALLERY_SIZE,
            "features_faster_x": seconds / base,
            "max_abs_diff_vs_per_pair": float(np.max(np.abs(np.asarray(fn()) - np.asarray(reference)))),
        })
    return rows


if __name__ == "__main__":
    main()
