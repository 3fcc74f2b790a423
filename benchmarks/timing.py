"""Shared timing for the benchmarks: best-of-N wall time and peak Python-heap memory."""

from __future__ import annotations

import json
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parents[1] / "build" / "benchmarks"


def best_time(fn: Callable[[], object], *, repeat: int = 5, number: int = 1) -> float:
    """Best of ``repeat`` runs of ``number`` calls, in seconds per call (one warm-up call first)."""
    fn()
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - start) / number)
    return best


def peak_memory_mib(fn: Callable[[], object]) -> float:
    """Peak memory allocated through Python's allocators (NumPy included) during one call, MiB."""
    tracemalloc.start()
    try:
        fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / 2**20


def global_state() -> dict:
    """The process-wide switches a benchmark could leave changed: autograd, torch and OpenCV threads."""
    import cv2
    import torch

    return {
        "grad_enabled": torch.is_grad_enabled(),
        "torch_threads": torch.get_num_threads(),
        "cv2_threads": cv2.getNumThreads(),
    }


def restore_global_state(state: dict) -> None:
    """Put back what :func:`global_state` recorded."""
    import cv2
    import torch

    torch.set_grad_enabled(state["grad_enabled"])
    torch.set_num_threads(state["torch_threads"])
    cv2.setNumThreads(state["cv2_threads"])


def report(name: str, rows: list[dict]) -> Path:
    """Print ``rows`` as a table and save them to ``build/benchmarks/<name>.json``."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    keys = list(dict.fromkeys(k for row in rows for k in row))
    widths = {k: max(len(k), *(len(_fmt(r.get(k, ""))) for r in rows)) for k in keys}
    print(f"\n== {name}")
    print("  ".join(k.ljust(widths[k]) for k in keys))
    for row in rows:
        print("  ".join(_fmt(row.get(k, "")).ljust(widths[k]) for k in keys))
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps(rows, indent=2))
    return path


def _fmt(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
