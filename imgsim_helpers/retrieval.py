"""A near-duplicate retrieval benchmark: every method on the same images.

Every source image goes through each transform family (crop, rotation,
scale, flip, blur, noise, JPEG, brightness, contrast, text overlay,
background change) at a few strengths; each transformed copy is a query
whose one correct answer is its source, hidden in a gallery of all sources
plus distractors (textures and a second screenshot of the same page).

For each method of :mod:`imgsim_helpers.methods` the benchmark computes
every image's feature once, compares all queries with the gallery, and
measures **recall@1** (the source strictly outscores every other gallery
image — ties count as misses) and **mAP** (with one relevant image per
query, the mean of 1/rank; ties are ranked pessimistically), per transform
family, plus the time to extract a feature and to compare two features.

Command line::

    python -m imgsim_helpers.retrieval --smoke --out build/retrieval
    python -m imgsim_helpers.retrieval --methods histogram_rgb ssim sift --out DIR
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import (
    EmptyInputError,
    ImgSimError,
    InvalidParameterError,
    WeightsUnavailableError,
    unknown_name,
)
from .io import to_rgb

SOURCES = (
    "astronaut", "chelsea", "coffee", "rocket", "camera", "coins", "immunohistochemistry", "hubble_deep_field",
    "retina", "moon", "page", "text", "horse", "colorwheel", "screenshot_desktop", "horse_transparent",
)
DISTRACTORS = ("brick", "grass", "gravel", "screenshot_mobile")
SMOKE_SOURCES = ("astronaut", "chelsea", "coffee", "camera", "coins", "screenshot_desktop")
SMOKE_DISTRACTORS = ("brick", "screenshot_mobile")

# Two strengths per family: a moderate and a strong change (flip has one).
FAMILY_STRENGTHS: dict[str, tuple[float, ...]] = {
    "crop": (0.2, 0.4),
    "rotate": (10, 45),
    "scale": (1.25, 1.6),
    "flip": (1,),
    "blur": (2, 5),
    "noise": (10, 30),
    "jpeg": (30, 10),
    "brightness": (30, 60),
    "contrast": (0.6, 1.6),
    "text_overlay": (0.1, 0.2),
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


def build_benchmark(
    *,
    sources=None,
    distractors=None,
    families=None,
    smoke: bool = False,
    max_side: int = 192,
    seed: int = 0,
) -> Benchmark:
    """Make the gallery and the transformed queries (deterministic for a seed).

    Parameters
    ----------
    sources, distractors
        Course image names (defaults: :data:`SOURCES`, :data:`DISTRACTORS`, or
        the smaller smoke sets).
    families
        Transform families to use (default: all of :data:`FAMILY_STRENGTHS`);
        smoke runs keep only the strongest strength of each.
    max_side
        Every image is shrunk so its longer side is at most this.

    Raises
    ------
    EmptyInputError
        If there are no sources.
    UnknownMethodError
        For an unknown family.
    """
    from .data import course_image
    from .transforms import apply_transform

    sources = list((SMOKE_SOURCES if smoke else SOURCES) if sources is None else sources)
    distractors = list(distractors if distractors is not None else (SMOKE_DISTRACTORS if smoke else DISTRACTORS))
    if not sources:
        raise EmptyInputError("the benchmark needs at least one source image")
    families = list(families or FAMILY_STRENGTHS)
    for family in families:
        if family not in FAMILY_STRENGTHS:
            raise unknown_name("transform family", family, FAMILY_STRENGTHS)
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


def _extract_all(method, images: list[np.ndarray], errors: list[str], label: str) -> list:
    """Features of every image; an image whose extraction fails gets None and an error line."""
    try:
        return method.features(images)
    except ImgSimError:
        pass  # fall back to one image at a time to find the failing ones
    features = []
    for k, image in enumerate(images):
        try:
            features.append(method.extract(image))
        except Exception as error:  # one image must not stop the run
            features.append(None)
            errors.append(f"{label} {k}: {type(error).__name__}: {error}")
    return features


def _score_matrix(method, queries: list, gallery: list, errors: list[str]) -> np.ndarray:
    if all(f is not None for f in queries) and all(f is not None for f in gallery):
        try:
            return method.matrix(queries, gallery)
        except Exception as error:
            errors.append(f"vectorised comparison: {type(error).__name__}: {error}")
    out = np.full((len(queries), len(gallery)), np.nan)
    for i, q in enumerate(queries):
        for j, g in enumerate(gallery):
            if q is None or g is None:
                continue
            try:
                out[i, j] = method.compare(q, g)
            except Exception as error:
                errors.append(f"compare query {i} with gallery {j}: {type(error).__name__}: {error}")
    return out


def run_method(name: str, bench: Benchmark, **options) -> MethodResult:
    """Run one registered method on the benchmark; unavailable weights and failures are reported, not raised."""
    from .methods import build_method

    try:
        method = build_method(name, **options)
    except WeightsUnavailableError as error:
        return MethodResult(name, f"unavailable: weights ({str(error).splitlines()[0][:120]})")
    errors: list[str] = []
    start = time.perf_counter()
    gallery = _extract_all(method, bench.gallery, errors, "gallery image")
    queries = _extract_all(method, bench.queries, errors, "query")
    extract = (time.perf_counter() - start) / (len(bench.gallery) + len(bench.queries))
    start = time.perf_counter()
    scores = _score_matrix(method, queries, gallery, errors)
    compare = (time.perf_counter() - start) / scores.size
    return MethodResult(name, "ok", method.weights, scores, extract, compare, errors)


def evaluate(scores: np.ndarray, source: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per query: hit at rank 1 (strictly best) and average precision 1/rank (ties ranked pessimistically).

    Examples
    --------
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
        base = {
            "method": result.method,
            "status": result.status,
            "weights": result.weights,
            "extract_ms_per_image": result.extract_seconds_per_image * 1e3,
            "compare_us_per_pair": result.compare_seconds_per_pair * 1e6,
            "errors": len(result.errors),
        }
        if result.scores is None:
            rows.append({**base, "family": "all", "n_queries": 0, "recall_at_1": math.nan, "mean_ap": math.nan})
            continue
        hit, ap = evaluate(result.scores, bench.query_source)
        for family in [*dict.fromkeys(bench.query_family), "all"]:
            pick = np.ones(len(hit), bool) if family == "all" else families == family
            rows.append({**base, "family": family, "n_queries": int(pick.sum()),
                         "recall_at_1": float(hit[pick].mean()), "mean_ap": float(ap[pick].mean())})
    return rows


def recall_table(rows: list[dict]) -> tuple[list[str], list[str], np.ndarray]:
    """Methods that ran, families, and their recall@1 matrix (methods × families, "all" last)."""
    ran = [r for r in rows if r["status"] == "ok"]
    methods = list(dict.fromkeys(r["method"] for r in ran))
    families = list(dict.fromkeys(r["family"] for r in ran))
    lookup = {(r["method"], r["family"]): r["recall_at_1"] for r in ran}
    return methods, families, np.array([[lookup[m, f] for f in families] for m in methods])


def best_per_family(rows: list[dict]) -> dict[str, list[str]]:
    """For each family, the method(s) with the highest recall@1 (all of them when tied).

    Examples
    --------
    >>> rows = [dict(method=m, family="blur", status="ok", recall_at_1=r) for m, r in [("a", 0.5), ("b", 0.9)]]
    >>> best_per_family(rows)
    {'blur': ['b']}
    """
    methods, families, table = recall_table(rows)
    if not methods:
        raise EmptyInputError("no method ran, so there is no best method")
    return {f: [m for m, v in zip(methods, table[:, j], strict=True) if v == table[:, j].max()]
            for j, f in enumerate(families)}


def write_outputs(rows: list[dict], out: Path) -> dict[str, Path]:
    """Write the tidy CSV, a recall@1 heatmap and an accuracy-versus-cost plot into ``out``."""
    # Figure objects draw without pyplot, so saving here never changes the backend of a notebook.
    from matplotlib.figure import Figure

    from .viz import plot_heatmap

    out.mkdir(parents=True, exist_ok=True)
    paths = {"csv": out / "retrieval.csv", "heatmap": out / "recall_heatmap.png", "cost": out / "accuracy_vs_cost.png"}
    with paths["csv"].open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)

    ran = [r for r in rows if r["status"] == "ok"]
    methods, families, table = recall_table(rows)
    if methods:
        fig = Figure(figsize=(1.0 + 0.75 * len(families), 1.2 + 0.45 * len(methods)))
        ax = fig.subplots()
        plot_heatmap(table, row_labels=methods, col_labels=families, ax=ax, cmap="magma", title="recall@1")
        fig.tight_layout()
        fig.savefig(paths["heatmap"], dpi=110)

        fig = Figure(figsize=(6, 4))
        ax = fig.subplots()
        for r in (r for r in ran if r["family"] == "all"):
            cost = r["extract_ms_per_image"] + r["compare_us_per_pair"] / 1e3
            ax.scatter(cost, r["recall_at_1"], s=40)
            ax.annotate(r["method"], (cost, r["recall_at_1"]), fontsize=8, xytext=(4, 2), textcoords="offset points")
        ax.set_xscale("log")
        ax.set_xlabel("cost: ms to extract one feature + ms per comparison (log)")
        ax.set_ylabel("recall@1, all families")
        ax.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(paths["cost"], dpi=110)
    return paths


def run_benchmark(methods=None, *, smoke: bool = False, out=None, device: str = "cpu", seed: int = 0,
                  progress: bool = True, **bench_options) -> list[dict]:
    """Build the benchmark, run every method, write outputs to ``out`` (if given), return the tidy rows."""
    from tqdm.auto import tqdm

    from .methods import METHOD_NAMES

    methods = list(methods or METHOD_NAMES)
    for name in methods:
        if name not in METHOD_NAMES:
            raise unknown_name("similarity method", name, METHOD_NAMES)
    bench = build_benchmark(smoke=smoke, seed=seed, **bench_options)
    size = 96 if smoke else 128
    results = []
    for name in tqdm(methods, desc="methods", disable=not progress):
        options = {"device": device, "size": size, "max_side": 192 if smoke else 256}
        results.append(run_method(name, bench, **options))
    rows = summarise(results, bench)
    if out is not None:
        write_outputs(rows, Path(out))
    return rows


def main(argv: list[str] | None = None) -> int:
    from .methods import METHOD_NAMES

    parser = argparse.ArgumentParser(prog="python -m imgsim_helpers.retrieval", description=__doc__.splitlines()[0])
    parser.add_argument("--methods", nargs="+", default=None, help=f"default: all of {', '.join(METHOD_NAMES)}")
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
