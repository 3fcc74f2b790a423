"""The benchmarks import, and the FSIM gallery benchmark compares equal scores (its timings are not tested)."""

import importlib
import pkgutil

import pytest

import benchmarks
from benchmarks import bench_fsim


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
    assert rows[1]["features_faster_x"] == 1.0
