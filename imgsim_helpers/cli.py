"""The ``imgsim`` command line, for pipelines.

::

    imgsim compare A.jpg B.jpg [--method all|ssim|fsim|...] [--json]
    imgsim search QUERY.jpg GALLERY_DIR [--method histogram_rgb] [--top 5] [--json]

Exit codes: 0 success; 2 bad arguments or an image that cannot be used
(missing, unreadable, too small); 3 a method whose model weights are not
available (offline); 1 anything unexpected.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from .errors import ImgSimError, WeightsUnavailableError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}
EXIT_OK, EXIT_UNEXPECTED, EXIT_BAD_INPUT, EXIT_UNAVAILABLE = 0, 1, 2, 3


def _compare(args) -> int:
    from .io import load_image
    from .methods import METHOD_NAMES, build_method

    image1, image2 = load_image(args.image1), load_image(args.image2)
    names = list(METHOD_NAMES) if args.method == "all" else [args.method]
    results = {}
    for name in names:
        try:
            method = build_method(name, device=args.device)
        except WeightsUnavailableError as error:
            if args.method != "all":
                raise
            results[name] = {"score": None, "status": f"unavailable: {str(error).splitlines()[0]}"}
            continue
        results[name] = {"score": method.similarity(image1, image2), "status": "ok", "weights": method.weights}
    if args.json:
        print(json.dumps({"image1": str(args.image1), "image2": str(args.image2), "results": results}, indent=2))
    else:
        for name, result in results.items():
            score = "   n/a" if result["score"] is None else f"{result['score']:.4f}"
            print(f"{name:15s} {score}  {'' if result['status'] == 'ok' else result['status']}")
    return EXIT_OK


def _search(args) -> int:
    from tqdm.auto import tqdm

    from .errors import EmptyInputError
    from .io import load_image
    from .methods import build_method

    folder = Path(args.gallery)
    if not folder.is_dir():
        raise EmptyInputError(f"gallery {str(folder)!r} is not a folder of images")
    paths = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    images, kept, skipped = [], [], []
    for path in tqdm(paths, desc="loading gallery", disable=args.json or not paths, file=sys.stderr):
        try:
            images.append(load_image(path))
            kept.append(path)
        except ImgSimError as error:
            skipped.append({"path": str(path), "error": str(error)})
    if not images:
        raise EmptyInputError(f"no readable images in {str(folder)!r} (looked for {', '.join(sorted(IMAGE_SUFFIXES))})")
    method = build_method(args.method, device=args.device)
    query = method.extract(load_image(args.query))
    gallery = method.features(images)
    scores = method.matrix([query], gallery)[0]
    order = sorted(range(len(kept)), key=lambda i: -scores[i] if math.isfinite(scores[i]) else math.inf)[: args.top]
    hits = [{"rank": r + 1, "path": str(kept[i]), "score": float(scores[i])} for r, i in enumerate(order)]
    if args.json:
        print(json.dumps({"query": str(args.query), "method": args.method, "results": hits, "skipped": skipped}, indent=2))
    else:
        for hit in hits:
            print(f"{hit['rank']:3d}  {hit['score']:.4f}  {hit['path']}")
        for skip in skipped:
            print(f"skipped: {skip['error']}", file=sys.stderr)
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    from .methods import METHOD_NAMES

    parser = argparse.ArgumentParser(prog="imgsim", description="Measure how similar images are.")
    sub = parser.add_subparsers(dest="command", required=True)
    compare = sub.add_parser("compare", help="score two images with one method or all of them")
    compare.add_argument("image1", type=Path)
    compare.add_argument("image2", type=Path)
    compare.add_argument("--method", default="all", choices=["all", *METHOD_NAMES])
    search = sub.add_parser("search", help="rank a folder of images by similarity to a query image")
    search.add_argument("query", type=Path)
    search.add_argument("gallery", type=Path)
    search.add_argument("--method", default="histogram_rgb", choices=list(METHOD_NAMES))
    search.add_argument("--top", type=int, default=5)
    for command in (compare, search):
        command.add_argument("--json", action="store_true", help="machine-readable output")
        command.add_argument("--device", default="auto", help="auto, cpu or cuda (models only)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "top", 1) < 1:
        print("imgsim: error: --top must be at least 1", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        return _compare(args) if args.command == "compare" else _search(args)
    except WeightsUnavailableError as error:
        print(f"imgsim: {error}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    except (ImgSimError, FileNotFoundError) as error:
        print(f"imgsim: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    raise SystemExit(main())
