"""The benchmarks import, leave global torch state alone, and compare equal scores (timings are not tested)."""

import importlib
import json
import pkgutil

import pytest
import torch

import benchmarks
from benchmarks import bench_embeddings, bench_fsim, bench_histograms, summary


@pytest.mark.parametrize("name", sorted(m.name for m in pkgutil.iter_modules(benchmarks.__path__)))
def test_every_benchmark_module_imports(name):
    module = importlib.import_module(f"benchmarks.{name}")
    if name.startswith("bench_"):
        assert callable(module.main)


def test_fsim_gallery_rows_time_the_same_scores(monkeypatch):
    monkeypatch.setattr(bench_fsim, "GALLERY_SIZE", 3)
    rows = bench_fsim.gallery_rows(with_piq=False)
    assert [r["images"] for r in rows] == [3, 3]
    assert all(r["max_abs_diff_vs_per_pair"] == 0.0 for r in rows)


def test_piq_calls_leave_autograd_and_threads_as_they_were():
    pytest.importorskip("piq")
    a, b = bench_fsim._pair()
    threads = torch.get_num_threads()
    value = bench_fsim._call("piq32:fsim", a[:64, :64].copy(), b[:64, :64].copy())()
    assert 0.0 < value <= 1.0
    assert torch.is_grad_enabled() and torch.get_num_threads() == threads


def test_histogram_benchmark_compares_equal_matrices():
    rows = bench_histograms.compare_rows("noise", bench_histograms.noise_histograms(25), ["intersection", "chi_square_alt"])
    rows += bench_histograms.compare_rows("crops", bench_histograms.thousand_histograms(25), ["chi_square_alt"])
    assert [r["images"] for r in rows] == [25, 25, 25]
    assert all(r["max |diff|"] < 1e-10 for r in rows)


def test_top_k_benchmark_compares_the_same_items_and_restores_threads():
    threads = torch.get_num_threads()
    rows = bench_embeddings.top_k_rows(n=500, dim=16, repeat=1)
    compared = [r for r in rows if "vs torch.topk" in r["case"]]
    assert len(compared) == 4 and all(r["same_top10"] for r in compared)
    assert torch.get_num_threads() == threads


def test_summary_table_is_made_from_the_json_files(tmp_path):
    (tmp_path / "keypoints_speed.json").write_text(
        '[{"method": "sift", "keypoints": 10, "ms": 2.0, "× SIFT": 1.0, "cv2_threads": 2},'
        ' {"method": "surf", "keypoints": 12, "ms": 3.0, "× SIFT": 1.5, "cv2_threads": 2}]'
    )
    rows = summary.summary_rows(tmp_path)
    assert len(rows) == 1 and rows[0]["ours vs peer"] == "1.50× SIFT's time"
    text = summary.write_summary(tmp_path)
    assert "| SURF detect+describe vs OpenCV SIFT, 512² gray |" in text


def test_summary_rows_name_the_peer_and_carry_the_measured_ratio(tmp_path):
    (tmp_path / "ssim.json").write_text(json.dumps([
        {"method": "ssim", "implementation": "skimage", "ours_faster_x": 6.04, "max_abs_diff_vs_ours": 2e-16,
         "ours_cv2_threads": 2},
        {"method": "ms_ssim", "implementation": "piq float64", "ours_faster_x": 3.0, "max_abs_diff_vs_ours": 0.0,
         "ours_cv2_threads": 2},
    ]))
    (tmp_path / "fsim_gallery.json").write_text(json.dumps([
        {"implementation": "fsim per pair (imgsim_helpers)", "images": 3, "features_faster_x": 1.9,
         "max_abs_diff_vs_per_pair": 0.0},
        {"implementation": "fsim_features + fsim_compare (imgsim_helpers)", "images": 3, "features_faster_x": 1.0,
         "max_abs_diff_vs_per_pair": 0.0},
    ]))
    rows = {row["what"].split(" (")[0]: row for row in summary.summary_rows(tmp_path)}
    assert rows["`ssim` vs `skimage.metrics.structural_similarity`"]["ours vs peer"] == "6.0× faster"
    assert rows["`ms_ssim` vs `piq.multi_scale_ssim`"]["values"] == "equal to 1e-16"  # 0 shown as below 1e-16
    gallery = next(row for what, row in rows.items() if what.startswith("FSIM, one query"))
    # the ratio of the other implementation to the features path, never the features path against itself
    assert gallery["ours vs peer"] == "1.9× faster than fsim per pair"


def test_summary_shows_the_fastest_index_setting_that_reaches_the_recall_target(tmp_path):
    common = {"count": 1000, "threads": 2, "bytes_per_vector": 100.0}
    (tmp_path / "index.json").write_text(json.dumps([
        {"kind": "hnsw", "recall@10": 0.90, "ms_per_query": 0.1, "× faster than exact": 50.0, **common},
        {"kind": "hnsw", "recall@10": 0.97, "ms_per_query": 0.4, "× faster than exact": 20.0, **common},
        {"kind": "hnsw", "recall@10": 0.99, "ms_per_query": 0.9, "× faster than exact": 9.0, **common},
        {"kind": "ivfpq", "recall@10": 0.70, "ms_per_query": 0.3, "× faster than exact": 30.0, **common}]))
    (tmp_path / "embed.json").write_text(json.dumps([
        {"pipeline": "ray data", "images": 8, "processes": 2, "× plain loop": 1.25, "max_abs_diff_vs_loop": 0.0}]))
    rows = {r["what"]: r for r in summary.summary_rows(tmp_path)}
    hnsw = rows["FAISS hnsw vs exact search, 1,000 × 512"]
    assert hnsw["ours vs peer"] == "20.0× faster" and "recall@10 0.970 at 0.40 ms" in hnsw["values"]
    assert not any(what.startswith("FAISS ivfpq") for what in rows), "no IVF-PQ setting reached 0.95"
    ray = next(r for what, r in rows.items() if what.startswith("Ray Data"))
    assert ray["ours vs peer"] == "1.25× the loop's throughput"
    assert not any("|" in cell for row in rows.values() for cell in row.values()), "a | breaks the table"
