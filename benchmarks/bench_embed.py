"""Embedding a folder with Ray Data against a plain batched loop, on this machine.

Both sides do the same work per image — read the file, decode it, pHash it,
embed it with MobileNetV2 (real ImageNet weights, bundled) in batches of 32:

* ``plain loop``: one process, :func:`~imgsim_helpers.scale.pipeline.embed_paths`
  over the files batch by batch, torch on all its default threads;
* ``ray data``: :func:`~imgsim_helpers.scale.pipeline.embed_folder` — a local
  Ray instance on every core, one actor (one model, one torch thread) per
  core, the results streamed into a Parquet file by the driver.

Rows (``build/benchmarks/embed.json``): images/s of each (best of two runs),
Ray over the loop (target of issue 13: ≥ 0.8×, the overhead being what buys
the cluster), the seconds Ray takes to start (paid once per session, not per
image, so not in the ratio) and the largest difference between the two
sides' vectors. The pipeline's time includes starting its actors and loading
a model in each (a few seconds), as a real run's does.

Run: ``python -m benchmarks embed`` (one to three minutes on two cores).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.timing import report

N_IMAGES = int(os.environ.get("IMGSIM_BENCH_EMBED_N", 256))
BATCH = 32
METHOD = "mobilenet_v2"


def write_folder(folder: Path, n: int) -> list[Path]:
    """``n`` JPEG files (course photos at several sizes, so that decoding and resizing vary)."""
    from PIL import Image

    import imgsim_helpers as h

    names = ["astronaut", "chelsea", "coffee", "rocket", "camera", "coins", "horse", "brick"]
    photos = {name: h.get_image(name) for name in names}
    paths = []
    for i in range(n):
        image = photos[names[i % len(names)]]
        side = 160 + 32 * (i % 8)
        scale = side / max(image.shape[:2])
        size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
        path = folder / f"img_{i:05d}.jpg"
        Image.fromarray(image).resize(size).save(path, quality=90)
        paths.append(path.resolve())
    return paths


def _loop(paths: list[Path]) -> tuple[float, dict]:
    from imgsim_helpers.registry import build_method
    from imgsim_helpers.scale.pipeline import embed_paths

    method = build_method(METHOD, device="cpu")
    embed_paths(method, paths[:BATCH])  # warm-up: the first call pays for allocations
    start = time.perf_counter()
    vectors = {}
    for begin in range(0, len(paths), BATCH):
        columns = embed_paths(method, paths[begin: begin + BATCH])
        vectors.update(zip(columns["path"], columns["embedding"], strict=True))
    return time.perf_counter() - start, vectors


def _ray(folder: Path, out: Path, cores: int) -> tuple[float, dict, int]:
    import pyarrow.parquet as pq

    from imgsim_helpers.scale.pipeline import embed_folder

    out.unlink(missing_ok=True)
    result = embed_folder(folder, out, method=METHOD, batch_size=BATCH, device="cpu", workers=cores, progress=False)
    table = pq.read_table(out, columns=["path", "embedding"]).to_pylist()
    return result.seconds, {row["path"]: np.asarray(row["embedding"], np.float32) for row in table}, result.workers


def rows(n: int = N_IMAGES) -> list[dict]:
    import ray
    import torch

    from imgsim_helpers.scale.pipeline import start_ray

    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="imgsim_bench_embed_") as tmp:
        folder = Path(tmp) / "images"
        folder.mkdir()
        paths = write_folder(folder, n)
        loop_seconds, loop_vectors = min((_loop(paths) for _ in range(2)), key=lambda r: r[0])
        start = time.perf_counter()
        started = start_ray(num_cpus=cores)
        init_seconds = time.perf_counter() - start
        try:
            runs = [_ray(folder, Path(tmp) / f"run{i}.parquet", cores) for i in range(2)]
        finally:
            if started:
                ray.shutdown()
    ray_seconds, ray_vectors, workers = min(runs, key=lambda r: r[0])
    diff = max(float(np.abs(loop_vectors[p] - v).max()) for p, v in ray_vectors.items())
    loop_rate, ray_rate = n / loop_seconds, n / ray_seconds
    return [
        {"pipeline": "plain loop", "images": n, "images_per_s": loop_rate, "processes": 1,
         "torch_threads": torch.get_num_threads(), "batch": BATCH},
        {"pipeline": "ray data", "images": n, "images_per_s": ray_rate, "processes": workers,
         "torch_threads": 1, "batch": BATCH, "× plain loop": ray_rate / loop_rate, "ray_start_s": init_seconds,
         "max_abs_diff_vs_loop": diff, "cores": cores},
    ]


def main(n: int = N_IMAGES) -> None:
    report("embed", rows(n))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=N_IMAGES, help="images (default 256)")
    main(parser.parse_args().n)
