"""The ``imgsim embed`` and ``imgsim index`` commands: near duplicates at scale.

::

    imgsim embed FOLDER --method mobilenet_v2 --out embeddings.parquet [--address ADDR] [--device cuda]
                 [--batch-size 32] [--workers N] [--cpus N] [--json]
    imgsim index build embeddings.parquet [more.parquet ...] --out INDEX_DIR --kind hnsw [--knob ef_search=128]
    imgsim index query INDEX_DIR QUERY.jpg --top 5 [--json] [--method NAME]

Exit codes as in :mod:`imgsim_helpers.apps.cli` (2: bad input, such as an index of another
method; 3: no weights). ``embed`` exits 0 when some files failed: their rows say why.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from imgsim_helpers.core.errors import EmbeddingMismatchError, InvalidParameterError


def add_scale_commands(sub) -> None:
    """Add ``embed`` and ``index build|query`` to the ``imgsim`` subparsers."""
    embed = sub.add_parser("embed", help="embed a folder of images into a Parquet table, with Ray Data")
    embed.add_argument("folder", type=Path)
    embed.add_argument("--method", default="mobilenet_v2", help="an embedding method: mobilenet_v2, vgg16, clip")
    embed.add_argument("--out", type=Path, default=Path("embeddings.parquet"))
    embed.add_argument("--address", default=None,
                       help="join a running Ray cluster ('auto', 'ray://head:10001'); default: a local instance")
    embed.add_argument("--device", default="auto", help="auto, cpu or cuda (one GPU per worker)")
    embed.add_argument("--batch-size", type=int, default=32)
    embed.add_argument("--workers", type=int, default=None, help="model copies (default: one per CPU or GPU)")
    embed.add_argument("--cpus", type=int, default=None, help="cores for the local Ray instance (default: all)")
    embed.add_argument("--verbose", action="store_true", help="show Ray's own logs and progress bars")
    embed.add_argument("--json", action="store_true", help="machine-readable summary")

    index = sub.add_parser("index", help="build or query a FAISS index over embeddings")
    actions = index.add_subparsers(dest="index_command", required=True)
    build = actions.add_parser("build", help="build an index from embeddings tables")
    build.add_argument("tables", type=Path, nargs="+")
    build.add_argument("--out", type=Path, required=True)
    build.add_argument("--kind", default="hnsw", choices=["flat", "hnsw", "ivfpq", "binary", "binary_hash"])
    build.add_argument("--knob", action="append", default=[], metavar="NAME=VALUE",
                       help="an index knob (m, ef_construction, ef_search, nlist, pq_m, nbits, nprobe, refine, "
                            "hash_bits, nflip); repeat for several")
    build.add_argument("--json", action="store_true")
    query = actions.add_parser("query", help="the nearest images to a query image")
    query.add_argument("index_dir", type=Path)
    query.add_argument("query", type=Path)
    query.add_argument("--top", type=int, default=5)
    query.add_argument("--method", default=None, help="the query's method (default: the index's; another is refused)")
    query.add_argument("--device", default="auto", help="auto, cpu or cuda")
    query.add_argument("--json", action="store_true")


def _knobs(pairs: list[str]) -> dict:
    knobs = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        try:
            knobs[name.strip()] = int(value)
        except ValueError:
            raise InvalidParameterError(f"--knob takes NAME=INTEGER (ef_search=128); got {pair!r}") from None
    return knobs


def _embed(args) -> int:
    from imgsim_helpers.scale.pipeline import embed_folder
    report = embed_folder(args.folder, args.out, method=args.method, batch_size=args.batch_size,
                          address=args.address, device=args.device, workers=args.workers, num_cpus=args.cpus,
                          progress=not args.json, verbose=args.verbose)
    summary = {**asdict(report), "out": str(report.out), "seconds": round(report.seconds, 2)}
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"{report.out}: {report.embedded} embedded, {report.failed} failed, {report.kept} kept from an earlier "
              f"run ({report.method}, {report.dimension}-d, {report.weights} weights, {report.workers} workers)")
    if report.failed:
        print(f"imgsim: {report.failed} file(s) could not be used; their rows say why (column 'error')",
              file=sys.stderr)
    return 0


def _index_build(args) -> int:
    from imgsim_helpers.scale.pipeline import build_index_from_tables
    index = build_index_from_tables(args.tables, args.kind, **_knobs(args.knob))
    index.save(args.out)
    summary = {"out": str(args.out), "kind": index.kind, "method": index.method, "count": index.count,
               "dimension": index.dimension, "knobs": index.knobs, "build_seconds": round(index.build_seconds, 3),
               "bytes_per_vector": round(index.bytes_per_vector, 1)}
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"{args.out}: {index.kind} index of {index.count} {index.method} vectors ({index.dimension}"
              f"{' bits' if index.binary else '-d'}), {index.bytes_per_vector:.0f} bytes/vector, "
              f"built in {index.build_seconds:.2f} s")
    return 0


def _query_vector(args, index):
    """The query image as the index needs it: its pHash for a binary index, else its embedding."""
    from imgsim_helpers.images.io import load_image
    from imgsim_helpers.registry import build_method, options_for
    image = load_image(args.query)
    if index.binary:
        index.check_query(method=args.method)
        from imgsim_helpers.scale.pipeline import phash_hex
        return phash_hex(image)
    name = args.method or index.method
    if name is None:
        raise EmbeddingMismatchError(f"the index in {str(args.index_dir)!r} does not say which method made it; "
                                     "pass --method")
    index.check_query(method=name)
    method = build_method(name, **options_for(name, device=args.device))
    weights = index.extra.get("weights")
    if weights and weights != method.weights:
        print(f"imgsim: warning: the index holds vectors from {weights} weights, the query is embedded with "
              f"{method.weights} weights; the scores compare different models", file=sys.stderr)
    return method.extract(image)


def _index_query(args) -> int:
    from imgsim_helpers.scale.index import load_index
    index = load_index(args.index_dir)
    hits = [{"rank": rank + 1, "path": path, "score": score}
            for rank, (path, score) in enumerate(index.search_ids(_query_vector(args, index), args.top)[0])]
    if args.json:
        print(json.dumps({"query": str(args.query), "index": str(args.index_dir), "kind": index.kind,
                          "method": index.method, "results": hits}, indent=2))
    else:
        for hit in hits:
            print(f"{hit['rank']:3d}  {hit['score']:.4f}  {hit['path']}")
    return 0


def run_scale_command(args: argparse.Namespace) -> int:
    """Run ``embed`` or ``index build|query``; errors propagate to :func:`imgsim_helpers.apps.cli.main`."""
    if args.command == "embed":
        return _embed(args)
    return _index_build(args) if args.index_command == "build" else _index_query(args)
