"""A near-duplicate retrieval benchmark: every method on the same images.

Each source image goes through every transform family at a few strengths; each copy is a
query whose one correct answer is its source, in a gallery of all sources plus distractors.
Per method and family: **recall@1** (the source strictly outscores every other image; ties
miss), **mAP** (1/rank; ties ranked pessimistically), the time per feature and per comparison,
and what does not move with load: feature sizes and the work of one comparison.

Command line: ``python -m imgsim_helpers.apps.retrieval --smoke --out build/retrieval``
(``--methods histogram_rgb ssim sift`` for a few methods).
"""

from __future__ import annotations

import argparse
import csv
import itertools
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from imgsim_helpers import registry
from imgsim_helpers.core.checks import check_choice
from imgsim_helpers.core.errors import (
    EmptyInputError,
    ImgSimError,
    InvalidParameterError,
    WeightsUnavailableError,
)
from imgsim_helpers.images.io import to_rgb
from imgsim_helpers.registry import build_method, options_for, unavailable_status

SOURCES = ("astronaut", "chelsea", "coffee", "rocket", "camera", "coins", "immunohistochemistry", "hubble_deep_field",
           "retina", "moon", "page", "text", "horse", "colorwheel", "screenshot_desktop", "horse_transparent")
DISTRACTORS = ("brick", "grass", "gravel", "screenshot_mobile")
SMOKE_SOURCES = ("astronaut", "chelsea", "coffee", "camera", "coins", "screenshot_desktop")
SMOKE_DISTRACTORS = ("brick", "screenshot_mobile")

# Two strengths per family: a moderate and a strong change (flip has one).
FAMILY_STRENGTHS: dict[str, tuple[float, ...]] = {
    "crop": (0.2, 0.4), "rotate": (10, 45), "scale": (1.25, 1.6), "flip": (1,), "blur": (2, 5), "noise": (10, 30),
    "jpeg": (30, 10), "brightness": (30, 60), "contrast": (0.6, 1.6), "text_overlay": (0.1, 0.2),
    "background": (0.5, 1.0),
}


@dataclass
class Benchmark:
    """The images of one benchmark run."""

    gallery_names: list[str]
    gallery: list[np.ndarray]
    queries: list[np.ndarray]
    query_source: np.ndarray  # index into the gallery of each query's source
    query_family: list[str]
    query_strength: list[float]


def build_benchmark(*, sources=None, distractors=None, families=None, smoke: bool = False, max_side: int = 192,
                    seed: int = 0) -> Benchmark:
    """Make the gallery and the transformed queries (deterministic for a seed): course images
    ``sources`` and ``distractors`` (defaults :data:`SOURCES`, :data:`DISTRACTORS`, or the smoke
    sets), shrunk to ``max_side``; every family (smoke: its strongest strength only)."""
    from imgsim_helpers.images.data import course_image
    from imgsim_helpers.images.transforms import apply_transform
    sources = list((SMOKE_SOURCES if smoke else SOURCES) if sources is None else sources)
    distractors = list(distractors if distractors is not None else (SMOKE_DISTRACTORS if smoke else DISTRACTORS))
    if not sources:
        raise EmptyInputError("the benchmark needs at least one source image")
    families = list(families or FAMILY_STRENGTHS)
    for family in families:
        check_choice(family, "transform family", FAMILY_STRENGTHS)
    gallery_names = sources + [d for d in distractors if d not in sources]
    gallery = [course_image(name, max_side=max_side) for name in gallery_names]
    queries, source_index, query_family, query_strength = [], [], [], []
    for i in range(len(sources)):
        for family in families:
            strengths = FAMILY_STRENGTHS[family][-1:] if smoke else FAMILY_STRENGTHS[family]
            for strength in strengths:
                query = apply_transform(gallery[i], family, strength, seed=seed + i)
                queries.append(to_rgb(query, background=(255, 255, 255)))
                source_index.append(i)
                query_family.append(family)
                query_strength.append(float(strength))
    return Benchmark(gallery_names, gallery, queries, np.array(source_index), query_family, query_strength)


@dataclass
class MethodResult:
    """What one method did on the benchmark."""

    method: str
    status: str  # "ok", or why it did not run
    weights: str = "none"
    scores: np.ndarray | None = None  # queries × gallery; NaN where a feature failed
    extract_seconds_per_image: float = math.nan
    compare_seconds_per_pair: float = math.nan
    errors: list[str] = field(default_factory=list)
    feature_numbers: float = math.nan  # mean numbers stored per image feature
    feature_bytes: float = math.nan  # mean bytes stored per image feature
    compare_work: float = math.nan  # estimated multiply-adds per comparison (comparison_work)


def _extract_all(method, images: list[np.ndarray], errors: list[str], label: str) -> list:
    """Features of every image; an image whose extraction fails gets None and an error line."""
    features, failures = method.features_or_none(images)
    errors += [f"{label} {k}: {type(error).__name__}: {error}" for k, error in failures]
    return features


def _arrays(feature) -> list[np.ndarray]:
    """The arrays a gallery stores for one feature; bit hashes packed, 8 bits a byte."""
    if isinstance(feature, np.ndarray):
        return [np.packbits(feature, axis=-1) if feature.dtype == bool else feature]
    if hasattr(feature, "descriptors"):  # keypoints: positions and descriptors are what matching reads
        return [np.asarray(feature.xy), np.asarray(feature.descriptors)]
    if hasattr(feature, "pc") and hasattr(feature, "gradient"):  # FSIM: the maps fsim_compare reads
        return [np.asarray(feature.planes), np.asarray(feature.pc), np.asarray(feature.gradient)]
    return [np.asarray(feature)]


def feature_size(feature) -> tuple[int, int]:
    """How many numbers and bytes one image's feature holds (a bit hash packed, 8 bits a byte).

    >>> feature_size(np.zeros(512, np.float32)), feature_size(np.zeros(64, bool))
    ((512, 2048), (8, 8))
    """
    arrays = _arrays(feature)
    return int(sum(a.size for a in arrays)), int(sum(a.nbytes for a in arrays))


SSIM_WINDOW = 11  # the registry's SSIM and MS-SSIM use an 11×11 Gaussian window
MS_SSIM_SCALES = 5
FSIM_OPERATIONS_PER_PIXEL = 15  # two similarity maps (≈5 each), their product, a max and a weighted sum


def comparison_work(name: str, family: str, queries: list, gallery: list) -> float:
    """Estimated multiply-adds of one comparison, from the features' sizes (does not depend on load).

    The dominant term: vectors 3 per number (a·b, a·a, b·b); SSIM on s×s images 5 filtered
    maps of a separable 11-tap Gaussian, 110·s² (the fast path filters 4); MS-SSIM the same
    at 5 halving scales; FSIM about 15 per pixel of its maps; keypoints n₁·n₂·D (D numbers,
    or D bytes XOR-and-count when binary); bit hashes one XOR-and-count per packed byte.

    >>> comparison_work("histogram_rgb", "histogram", [np.zeros(512)], [np.zeros(512)])
    1536.0
    >>> comparison_work("phash", "hash", [np.zeros(64, bool)], [np.zeros(64, bool)])
    8.0
    """
    features = [f for f in (*queries, *gallery) if f is not None]
    if not features:
        raise EmptyInputError(f"{name}: no features to estimate a comparison's work from")
    if family == "keypoints":
        n_query = np.mean([len(f.descriptors) for f in queries if f is not None] or [0])
        n_gallery = np.mean([len(f.descriptors) for f in gallery if f is not None] or [0])
        width = max(f.descriptors.shape[1] if f.descriptors.ndim == 2 else 0 for f in features)
        return float(n_query * n_gallery * width)
    if family == "hash":
        return float(np.mean([feature_size(f)[1] for f in features]))
    if name in ("ssim", "ms_ssim"):
        side_squared = float(np.mean([np.asarray(f).shape[0] * np.asarray(f).shape[1] for f in features]))
        scales = MS_SSIM_SCALES if name == "ms_ssim" else 1
        return float(5 * 2 * SSIM_WINDOW * sum(side_squared / 4**k for k in range(scales)))
    if name == "fsim":
        return float(FSIM_OPERATIONS_PER_PIXEL * np.mean([f.pc.size for f in features]))
    return float(3 * np.mean([np.asarray(f).size for f in features]))


def _score_matrix(method, queries: list, gallery: list, errors: list[str]) -> np.ndarray:
    if all(f is not None for f in queries) and all(f is not None for f in gallery):
        try:
            return method.matrix(queries, gallery)
        except Exception as error:
            errors.append(f"vectorised comparison: {type(error).__name__}: {error}")
    out = np.full((len(queries), len(gallery)), np.nan)
    for (i, q), (j, g) in itertools.product(enumerate(queries), enumerate(gallery)):
        if q is not None and g is not None:
            try:
                out[i, j] = method.compare(q, g)
            except Exception as error:  # noqa: BLE001 - one pair must not stop the run; it is listed
                errors.append(f"compare query {i} with gallery {j}: {type(error).__name__}: {error}")
    return out


def run_method(name: str, bench: Benchmark, **options) -> MethodResult:
    """Run one registered method on the benchmark; unavailable weights and failures are reported,
    not raised. Each method takes the ``options`` (``device``, ``size``, ``max_side``) it declares."""
    try:
        method = build_method(name, **options_for(name, **options))
    except WeightsUnavailableError as error:
        return MethodResult(name, unavailable_status(error))
    errors: list[str] = []
    start = time.perf_counter()
    gallery = _extract_all(method, bench.gallery, errors, "gallery image")
    queries = _extract_all(method, bench.queries, errors, "query")
    extract = (time.perf_counter() - start) / (len(bench.gallery) + len(bench.queries))
    start = time.perf_counter()
    scores = _score_matrix(method, queries, gallery, errors)
    compare = (time.perf_counter() - start) / scores.size
    sizes = np.array([feature_size(f) for f in gallery + queries if f is not None], dtype=np.float64).reshape(-1, 2)
    numbers, nbytes = sizes.mean(axis=0) if len(sizes) else (math.nan, math.nan)
    work = comparison_work(name, method.family, queries, gallery) if len(sizes) else math.nan
    return MethodResult(name, "ok", method.weights, scores, extract, compare, errors,
                        float(numbers), float(nbytes), work)


def run_methods(methods, bench: Benchmark, *, smoke: bool = False, device: str = "cpu",
                progress: bool = True) -> list[MethodResult]:
    """Run registered methods on a built benchmark; the per-query scores stay in each result
    (to bootstrap a difference between two methods over the queries, say)."""
    from tqdm.auto import tqdm
    names = registry.check_method_names(methods or None)
    options = {"device": device, "size": 96 if smoke else 128, "max_side": 192 if smoke else 256}
    return [run_method(name, bench, **options) for name in tqdm(names, desc="methods", disable=not progress)]


def evaluate(scores: np.ndarray, source: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per query: hit at rank 1 (strictly best) and average precision 1/rank (ties ranked pessimistically).

    >>> hit, ap = evaluate(np.array([[0.9, 0.1], [0.5, 0.5]]), np.array([0, 1]))
    >>> hit.tolist(), ap.tolist()
    ([True, False], [1.0, 0.5])
    """
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 2 or scores.shape[0] != len(source):
        raise InvalidParameterError(f"scores must be queries × gallery with one row per query; got {scores.shape}")
    rows = np.arange(len(source))
    own = scores[rows, source]
    failed = ~np.isfinite(own)
    clean = np.where(np.isfinite(scores), scores, -np.inf)
    others = clean.copy()
    others[rows, source] = -np.inf
    at_least = (others >= own[:, None]).sum(axis=1)
    hit = (at_least == 0) & ~failed
    ap = np.where(failed, 0.0, 1.0 / (1.0 + at_least))
    return hit, ap


def summarise(results: list[MethodResult], bench: Benchmark) -> list[dict]:
    """Tidy rows: one per method × family (and an "all" row), with recall@1, mAP and costs."""
    rows = []
    families = np.array(bench.query_family)
    for result in results:
        base = {"method": result.method, "status": result.status, "weights": result.weights,
                "extract_ms_per_image": result.extract_seconds_per_image * 1e3,
                "compare_us_per_pair": result.compare_seconds_per_pair * 1e6,
                "feature_numbers": result.feature_numbers, "feature_bytes": result.feature_bytes,
                "compare_work": result.compare_work, "errors": len(result.errors)}
        if result.scores is None:
            rows.append({**base, "family": "all", "n_queries": 0, "recall_at_1": math.nan, "mean_ap": math.nan})
            continue
        hit, ap = evaluate(result.scores, bench.query_source)
        for family in [*dict.fromkeys(bench.query_family), "all"]:
            pick = np.ones(len(hit), bool) if family == "all" else families == family
            rows.append({**base, "family": family, "n_queries": int(pick.sum()),
                         "recall_at_1": float(hit[pick].mean()), "mean_ap": float(ap[pick].mean())})
    return rows


def recall_table(rows: list[dict], *, keep_unavailable: bool = False) -> tuple[list[str], list[str], np.ndarray]:
    """Methods, families, and their recall@1 matrix (methods × families, "all" last): the methods
    that ran, or with ``keep_unavailable`` every method, one that did not run as NaN.

    >>> rows = [dict(method="a", family="blur", status="ok", recall_at_1=0.5),
    ...         dict(method="a", family="all", status="ok", recall_at_1=0.5),
    ...         dict(method="b", family="all", status="unavailable: weights", recall_at_1=float("nan"))]
    >>> recall_table(rows, keep_unavailable=True)[0], recall_table(rows)[0]
    (['a', 'b'], ['a'])
    """
    ran = [r for r in rows if r["status"] == "ok"]
    methods = list(dict.fromkeys(r["method"] for r in (rows if keep_unavailable else ran)))
    families = list(dict.fromkeys(r["family"] for r in ran)) or ["all"]
    lookup = {(r["method"], r["family"]): r["recall_at_1"] for r in ran}
    return methods, families, np.array([[lookup.get((m, f), math.nan) for f in families] for m in methods])


GALLERY_SIZES = np.unique(np.round(np.logspace(0, 6, 61)).astype(np.int64))  # 1 … 1,000,000 images


def query_cost_seconds(extract_ms_per_image: float, compare_us_per_pair: float, gallery_sizes=GALLERY_SIZES) -> np.ndarray:
    """Seconds to answer one query against galleries of the given sizes, gallery features precomputed:
    ``extract + N × compare``, from the measured costs (an index, notebook 09, changes the second term).

    >>> query_cost_seconds(10.0, 1.0, [1, 1000]).round(6).tolist()
    [0.010001, 0.011]
    """
    sizes = np.asarray(gallery_sizes, dtype=np.float64)
    if sizes.ndim != 1 or sizes.size == 0 or (sizes < 1).any():
        raise InvalidParameterError(f"gallery_sizes must be a non-empty list of sizes ≥ 1; got {gallery_sizes!r}")
    return extract_ms_per_image / 1e3 + sizes * compare_us_per_pair / 1e6


def plot_query_cost(rows: list[dict], *, ax=None, gallery_sizes=GALLERY_SIZES):
    """Log-log plot of one query's cost against gallery size, one line per method that ran."""
    if ax is None:
        from imgsim_helpers.images.viz import _plt
        _, ax = _plt().subplots(figsize=(7, 4.5))
    overall = [r for r in rows if r["family"] == "all" and r["status"] == "ok"]
    if not overall:
        raise EmptyInputError("no method ran, so there is no cost to plot")
    sizes = np.asarray(gallery_sizes, dtype=np.float64)
    for k, r in enumerate(overall):
        seconds = query_cost_seconds(r["extract_ms_per_image"], r["compare_us_per_pair"], sizes)
        ax.plot(sizes, seconds, ["-", "--", ":", "-."][k // 10 % 4], label=r["method"], lw=1.4)
    ax.set(xscale="log", yscale="log", xlabel="gallery size (images)",
           ylabel="seconds per query (one extraction + N comparisons)")
    ax.set_title("cost of one query, extrapolated from this run's measured costs", fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, ncol=2)
    return ax


def write_outputs(rows: list[dict], out: Path) -> dict[str, Path]:
    """Write the tidy CSV, a recall@1 heatmap and an accuracy-versus-cost plot into ``out``."""
    # Figure objects draw without pyplot, so saving here never changes the backend of a notebook.
    from matplotlib.figure import Figure

    from imgsim_helpers.images.viz import plot_heatmap
    out.mkdir(parents=True, exist_ok=True)
    paths = {"csv": out / "retrieval.csv", "heatmap": out / "recall_heatmap.png", "cost": out / "query_cost.png"}
    with paths["csv"].open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)

    methods, families, table = recall_table(rows, keep_unavailable=True)
    if any(r["status"] == "ok" for r in rows):
        status = {r["method"]: r["status"] for r in rows if r["family"] == "all"}
        labels = [m if status.get(m) == "ok" else f"{m} (unavailable)" for m in methods]
        heatmap = Figure(figsize=(1.0 + 0.75 * len(families), 1.2 + 0.45 * len(methods)), layout="tight")
        plot_heatmap(table, row_labels=labels, col_labels=families, ax=heatmap.subplots(), cmap="magma",
                     title="recall@1", missing="n/a")
        heatmap.savefig(paths["heatmap"], dpi=110)
        cost = Figure(figsize=(7, 4.5), layout="tight")
        plot_query_cost(rows, ax=cost.subplots())
        cost.savefig(paths["cost"], dpi=110)
    return paths


def run_benchmark(methods=None, *, smoke: bool = False, out=None, device: str = "cpu", seed: int = 0,
                  progress: bool = True, **bench_options) -> list[dict]:
    """Build the benchmark, run every method, write outputs to ``out`` (if given), return the tidy rows."""
    registry.check_method_names(methods or None)  # before building the images
    bench = build_benchmark(smoke=smoke, seed=seed, **bench_options)
    results = run_methods(methods, bench, smoke=smoke, device=device, progress=progress)
    rows = summarise(results, bench)
    if out is not None:
        write_outputs(rows, Path(out))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m imgsim_helpers.apps.retrieval", description=__doc__.splitlines()[0])
    parser.add_argument("--methods", nargs="+", default=None, help=f"default: all of {', '.join(registry.METHOD_NAMES)}")
    parser.add_argument("--smoke", action="store_true", help="fewer images and strengths: well under a minute")
    parser.add_argument("--out", type=Path, default=Path("build/retrieval"))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        rows = run_benchmark(args.methods, smoke=args.smoke, out=args.out, device=args.device, seed=args.seed)
    except ImgSimError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for r in rows:
        if r["family"] == "all":
            print(f"{r['method']:15s} {r['status'][:40]:40s} recall@1={r['recall_at_1']:.3f} mAP={r['mean_ap']:.3f} "
                  f"extract={r['extract_ms_per_image']:.1f} ms compare={r['compare_us_per_pair']:.0f} µs")
    print(f"wrote {args.out / 'retrieval.csv'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
