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


def _load(name: str, folder: Path) -> list[dict] | None:
    path = folder / f"{name}.json"
    return json.loads(path.read_text()) if path.is_file() else None


def _x(value: float) -> str:
    return f"{value:.1f}×"


def summary_rows(folder: Path = RESULTS_DIR) -> list[dict]:
    """One row per comparison of issue 14's table, from whichever results exist."""
    rows = []
    for name, label in (("ssim", None), ("ssim_1_thread", 1)):
        ssim = _load(name, folder)
        if ssim:
            peer = next(r for r in ssim if r["method"] == "ssim" and r["implementation"] == "skimage")
            threads = label or peer.get("ours_cv2_threads")
            rows.append({
                "what": "`ssim` vs `skimage.metrics.structural_similarity` (same settings, 512² gray)",
                "ours vs peer": f"{_x(peer['ours_faster_x'])} faster",
                "threads": f"ours (OpenCV) {threads}, skimage 1",
                "target": "≥ 5×",
                "values": f"equal to {peer['max_abs_diff_vs_ours']:.0e}",
            })
    ssim = _load("ssim", folder)
    for row in ssim or []:
        if row["method"] == "ms_ssim" and "float64" in row["implementation"]:
            rows.append({
                "what": "`ms_ssim` vs `piq.multi_scale_ssim` (float64 torch, 512² gray)",
                "ours vs peer": f"{_x(row['ours_faster_x'])} faster",
                "threads": f"ours (OpenCV) {row['ours_cv2_threads']}, torch default",
                "target": "",
                "values": f"equal to {max(row['max_abs_diff_vs_ours'], 1e-16):.0e}",
            })
    fsim = _load("fsim", folder)
    if fsim:
        for threads in ("all", 1):
            for metric in ("fsim", "fsimc"):
                ours = next((r for r in fsim if r["metric"] == metric and r["threads"] == threads
                             and r["implementation"] == "imgsim_helpers"), None)
                piq = next((r for r in fsim if r["metric"] == metric and r["threads"] == threads
                            and r["implementation"] == "piq (CPU torch, float32)"), None)
                if ours is None or piq is None:
                    continue
                floor = f"; {ours['ours_over_fft_floor']:.1f}× its FFTs alone" if metric == "fsim" else ""
                rows.append({
                    "what": f"`fsim` vs `piq.fsim` ({'FSIMc, ' if metric == 'fsimc' else ''}512² RGB, float32 torch)",
                    "ours vs peer": f"{_x(piq['ours_faster_x'])} faster{floor}",
                    "threads": f"both {threads}" if threads == 1 else f"both all ({os.cpu_count()} cores)",
                    "target": "≥ 3× in both settings",
                    "values": f"differ by {piq['abs_diff_vs_ours']:.1e}",
                })
    gallery = _load("fsim_gallery", folder)
    if gallery:
        base = next(r for r in gallery if r["implementation"].startswith("fsim_features"))
        others = ", ".join(
            f"{_x(r['features_faster_x'])} faster than {r['implementation'].split(' (')[0]}"
            for r in gallery if r is not base
        )
        rows.append({
            "what": f"FSIM, one query against {base['images']} gallery images (256² RGB): "
                    "`fsim_features` once per image, then `fsim_compare`",
            "ours vs peer": others,
            "threads": "all",
            "target": "",
            "values": ("equal to" if base["max_abs_diff_vs_per_pair"] == 0 else
                       f"within {base['max_abs_diff_vs_per_pair']:.0e} of") + " per-pair fsim; piq within "
                      f"{max(r['max_abs_diff_vs_per_pair'] for r in gallery if r is not base):.0e}",
        })
    keypoints = _load("keypoints_speed", folder)
    for surf in (keypoints or []):
        if surf["method"] != "surf":
            continue
        rows.append({
            "what": "SURF detect+describe vs OpenCV SIFT, 512² gray",
            "ours vs peer": f"{surf['× SIFT']:.2f}× SIFT's time",
            "threads": f"SURF {surf.get('surf_threads', 1)}, SIFT {surf.get('cv2_threads', '?')} (OpenCV)",
            "target": "≤ 2.5×",
            "values": f"{surf['keypoints']} keypoints",
        })
    histograms = _load("histograms", folder)
    if histograms:
        for row in histograms:
            if row["method"] not in ("intersection", "chi_square_alt"):
                continue
            rows.append({
                "what": f"N×N histograms, {row['images']:,} × {row['histograms']} "
                        f"({row['occupied']:.0%} bins occupied), "
                        f"{'intersection' if row['method'] == 'intersection' else 'symmetric χ²'}",
                "ours vs peer": f"{_x(row['speed-up'])} the cv2.compareHist loop",
                "threads": f"ours {row['threads']}, loop 1",
                "target": "≥ 20×",
                "values": f"equal to {max(row['max |diff|'], 1e-16):.0e}",
            })
    embeddings = _load("embeddings", folder)
    for model in ("mobilenet_v2", "vgg16", "CLIP"):
        speeds = [r for r in embeddings or [] if r.get("case", "").startswith(model) and "images_per_s" in r
                  and "batch" in r["case"] and "vs" not in r["case"]]
        if speeds:
            rows.append({
                "what": f"`embed_images` {speeds[0]['case'].rsplit(' batch', 1)[0]}, images/s on CPU at batch "
                        + " / ".join(r["case"].rsplit(" ", 1)[1] for r in speeds),
                "ours vs peer": " / ".join(f"{r['images_per_s']:.1f}" for r in speeds),
                "threads": "torch default",
                "target": "",
                "values": f"{speeds[0]['weights']} weights",
            })
    if embeddings:
        for row in embeddings:
            if "vs torch.topk" in row.get("case", ""):
                label = "unit_gallery=True" if "unit_gallery=True" in row["case"] else "norms checked"
                rows.append({
                    "what": f"`top_k` ({label}), 1 query over 10,000 × 512 unit vectors vs `torch.topk(gallery @ query, 10)`",
                    "ours vs peer": f"{row['ms']:.2f} ms vs {row['peer_ms']:.2f} ms ({row['speed_ratio']:.2f}× the peer's speed)",
                    "threads": f"torch {row['torch_threads']}",
                    "target": "no slower",
                    "values": "same top 10" if row["same_top10"] else "top 10 differ",
                })
    return rows


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
