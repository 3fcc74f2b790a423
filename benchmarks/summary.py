"""The README's speed table, made from the JSON files the benchmarks write.

``python -m benchmarks`` prints it at the end (and saves ``build/benchmarks/summary.json``
and ``summary.md``); ``python -m benchmarks.summary`` rebuilds it from the last results.
Every figure is a ratio of two timings taken in one process.
"""

from __future__ import annotations

import datetime
import json
import os
from pathlib import Path

from benchmarks.timing import RESULTS_DIR


def _load(name: str, folder: Path) -> list[dict]:
    path = folder / f"{name}.json"
    return json.loads(path.read_text()) if path.is_file() else []


def _x(value: float) -> str:
    return f"{value:.1f}×"


def _row(what: str, versus: str, threads: str, target: str, values: str) -> dict:
    return {"what": what, "ours vs peer": versus, "threads": threads, "target": target, "values": values}


def _ssim_rows(folder: Path) -> list[dict]:
    rows = []
    for name, label in (("ssim", None), ("ssim_1_thread", 1)):
        peer = next((r for r in _load(name, folder) if r["method"] == "ssim" and r["implementation"] == "skimage"), None)
        if peer:
            rows.append(_row("`ssim` vs `skimage.metrics.structural_similarity` (same settings, 512² gray)",
                             f"{_x(peer['ours_faster_x'])} faster", f"ours (OpenCV) {label or peer.get('ours_cv2_threads')}, skimage 1",
                             "≥ 5×", f"equal to {peer['max_abs_diff_vs_ours']:.0e}"))
    rows += [_row("`ms_ssim` vs `piq.multi_scale_ssim` (float64 torch, 512² gray)", f"{_x(r['ours_faster_x'])} faster",
                  f"ours (OpenCV) {r['ours_cv2_threads']}, torch default", "",
                  f"equal to {max(r['max_abs_diff_vs_ours'], 1e-16):.0e}")
             for r in _load("ssim", folder) if r["method"] == "ms_ssim" and "float64" in r["implementation"]]
    return rows


def _fsim_rows(folder: Path) -> list[dict]:
    fsim = _load("fsim", folder)
    rows = []
    for threads in ("all", 1):
        for metric in ("fsim", "fsimc"):
            found = {r["implementation"]: r for r in fsim if r["metric"] == metric and r["threads"] == threads}
            ours, piq = found.get("imgsim_helpers"), found.get("piq (CPU torch, float32)")
            if ours is None or piq is None:
                continue
            floor = f"; {ours['ours_over_fft_floor']:.1f}× its FFTs alone" if metric == "fsim" else ""
            rows.append(_row(f"`fsim` vs `piq.fsim` ({'FSIMc, ' if metric == 'fsimc' else ''}512² RGB, float32 torch)",
                             f"{_x(piq['ours_faster_x'])} faster{floor}",
                             f"both {threads}" if threads == 1 else f"both all ({os.cpu_count()} cores)",
                             "≥ 3× in both settings", f"differ by {piq['abs_diff_vs_ours']:.1e}"))
    gallery = _load("fsim_gallery", folder)
    if gallery:
        base = next(r for r in gallery if r["implementation"].startswith("fsim_features"))
        others = [r for r in gallery if r is not base]
        exact = "equal to" if base["max_abs_diff_vs_per_pair"] == 0 else f"within {base['max_abs_diff_vs_per_pair']:.0e} of"
        rows.append(_row(f"FSIM, one query against {base['images']} gallery images (256² RGB): "
                         "`fsim_features` once per image, then `fsim_compare`",
                         ", ".join(f"{_x(r['features_faster_x'])} faster than {r['implementation'].split(' (')[0]}" for r in others),
                         "all", "", f"{exact} per-pair fsim; piq within {max(r['max_abs_diff_vs_per_pair'] for r in others):.0e}"))
    return rows


def _keypoint_rows(folder: Path) -> list[dict]:
    return [_row("SURF detect+describe vs OpenCV SIFT, 512² gray", f"{surf['× SIFT']:.2f}× SIFT's time",
                 f"SURF {surf.get('surf_threads', 1)}, SIFT {surf.get('cv2_threads', '?')} (OpenCV)", "≤ 2.5×",
                 f"{surf['keypoints']} keypoints")
            for surf in _load("keypoints_speed", folder) if surf["method"] == "surf"]


def _histogram_rows(folder: Path) -> list[dict]:
    return [_row(f"N×N histograms, {r['images']:,} × {r['histograms']} ({r['occupied']:.0%} bins occupied), "
                 f"{'intersection' if r['method'] == 'intersection' else 'symmetric χ²'}",
                 f"{_x(r['speed-up'])} the cv2.compareHist loop", f"ours {r['threads']}, loop 1", "≥ 20×",
                 f"equal to {max(r['max |diff|'], 1e-16):.0e}")
            for r in _load("histograms", folder) if r["method"] in ("intersection", "chi_square_alt")]


def _embedding_rows(folder: Path) -> list[dict]:
    embeddings = _load("embeddings", folder)
    rows = []
    for model in ("mobilenet_v2", "vgg16", "CLIP"):
        speeds = [r for r in embeddings if r.get("case", "").startswith(model) and "images_per_s" in r
                  and "batch" in r["case"] and "vs" not in r["case"]]
        if speeds:
            rows.append(_row(f"`embed_images` {speeds[0]['case'].rsplit(' batch', 1)[0]}, images/s on CPU at batch "
                             + " / ".join(r["case"].rsplit(" ", 1)[1] for r in speeds),
                             " / ".join(f"{r['images_per_s']:.1f}" for r in speeds), "torch default", "",
                             f"{speeds[0]['weights']} weights"))
    for r in embeddings:
        if "vs torch.topk" in r.get("case", ""):
            label = "unit_gallery=True" if "unit_gallery=True" in r["case"] else "norms checked"
            rows.append(_row(f"`top_k` ({label}), 1 query over 10,000 × 512 unit vectors vs `torch.topk(gallery @ query, 10)`",
                             f"{r['ms']:.2f} ms vs {r['peer_ms']:.2f} ms ({r['speed_ratio']:.2f}× the peer's speed)",
                             f"torch {r['torch_threads']}", "no slower", "same top 10" if r["same_top10"] else "top 10 differ"))
    return rows


def _scale_rows(folder: Path) -> list[dict]:
    """The best setting of each index at recall@10 >= 0.95, the binary k-NN, and the Ray pipeline."""
    rows = []
    for kind in ("hnsw", "ivfpq"):
        good = [r for r in _load("index", folder) if r["kind"] == kind and r["recall@10"] >= 0.95]
        if good:
            r = min(good, key=lambda r: r["ms_per_query"])
            rows.append(_row(f"FAISS {kind} vs exact search, {r['count']:,} × 512", f"{_x(r['× faster than exact'])} faster",
                             f"both {r['threads']}", "recall@10 ≥ 0.95 at ≤ 2 ms",
                             f"recall@10 {r['recall@10']:.3f} at {r['ms_per_query']:.2f} ms, {r['bytes_per_vector']:,.0f} B/vector"))
    binary = next((r for r in _load("index_hamming", folder) if r["method"] == "faiss IndexBinaryFlat"), None)
    if binary:
        rows.append(_row(f"Hamming 10-NN over {binary['count']:,} 64-bit hashes vs a NumPy popcount scan",
                         f"{_x(binary['× faster than numpy'])} faster", f"FAISS {binary['threads']}, NumPy 1", "",
                         "same distances" if binary.get("same distances as numpy") else "distances differ"))
    ray = next((r for r in _load("embed", folder) if r["pipeline"] == "ray data"), None)
    if ray:
        rows.append(_row(f"Ray Data embedding vs a plain batched loop ({ray['images']} images, mobilenet_v2)",
                         f"{ray['× plain loop']:.2f}× the loop's throughput", f"{ray['processes']} workers",
                         "≥ 0.8×", "the loop's embeddings" if ray["max_abs_diff_vs_loop"] == 0
                         else f"within {ray['max_abs_diff_vs_loop']:.0e} of the loop's"))
    return rows


def summary_rows(folder: Path = RESULTS_DIR) -> list[dict]:
    """One row per comparison of issue 14's table, from whichever results exist."""
    return [row for rows in (_ssim_rows, _fsim_rows, _keypoint_rows, _histogram_rows, _embedding_rows,
                                              _scale_rows) for row in rows(folder)]


def markdown(rows: list[dict]) -> str:
    keys = ["what", "ours vs peer", "threads", "target", "values"]
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(str(r[k]) for k in keys) + " |" for r in rows]
    return "\n".join(lines)


def write_summary(folder: Path = RESULTS_DIR) -> str:
    rows = summary_rows(folder)
    stamp = datetime.date.today().isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "summary.json").write_text(json.dumps({"date": stamp, "rows": rows}, indent=2))
    text = f"Measured {stamp} by `make bench` ({os.cpu_count()} cores):\n\n" + markdown(rows)
    (folder / "summary.md").write_text(text + "\n")
    return text


if __name__ == "__main__":
    print(write_summary())
