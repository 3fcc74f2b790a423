"""The ``imgsim`` command line, for pipelines.

::

    imgsim compare A.jpg B.jpg [--method all|ssim|fsim|...] [--json]
    imgsim search QUERY.jpg GALLERY_DIR [--method histogram_rgb] [--top 5] [--json]
    imgsim embed FOLDER ... | imgsim index build|query ...   (see apps.cli_scale)

Exit codes: 0 success; 2 bad arguments or an image that cannot be used (missing,
unreadable, above the pixel limit, too small for the method); 3 a method whose weights
are not available (offline); 1 anything unexpected (one line; ``imgsim --debug ...``
shows the traceback); 141 the reader of the output went away early (``| head -1``).

One image never ends a run: ``search`` lists a gallery file it cannot use under ``skipped``;
``compare --method all`` reports a method that cannot score the pair as ``failed: ...`` (exit
2 only if none scored).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path

from imgsim_helpers import registry
from imgsim_helpers.core.checks import check_int
from imgsim_helpers.core.errors import EmptyInputError, ImgSimError, WeightsUnavailableError
from imgsim_helpers.registry import (
    build_method,
    first_line,
    options_for,
    unavailable_status,
)
from imgsim_helpers.scale.pipeline import IMAGE_SUFFIXES

EXIT_OK, EXIT_UNEXPECTED, EXIT_BAD_INPUT, EXIT_UNAVAILABLE = 0, 1, 2, 3
EXIT_PIPE_CLOSED = 141  # 128 + SIGPIPE: what a shell reports for a command whose reader closed the pipe


def _size(image) -> str:
    return f"{image.shape[1]}×{image.shape[0]} pixels (width×height)"


def _score_pair(name: str, image1, image2, device: str) -> dict:
    """One method's result for ``compare --method all``: a score, or why there is none."""
    try:
        method = build_method(name, **options_for(name, device=device))
    except WeightsUnavailableError as error:
        return {"score": None, "status": unavailable_status(error)}
    try:
        return {"score": method.similarity(image1, image2), "status": "ok", "weights": method.weights}
    except ImgSimError as error:  # one method that cannot use this pair must not lose the others' scores
        return {"score": None, "status": f"failed: {first_line(error)}", "weights": method.weights}


def _compare(args) -> int:
    from imgsim_helpers.images.io import load_image
    image1, image2 = load_image(args.image1), load_image(args.image2)
    if args.method == "all":
        results = {name: _score_pair(name, image1, image2, args.device) for name in registry.METHOD_NAMES}
    else:  # one method: its errors propagate to main's exit codes
        method = build_method(args.method, **options_for(args.method, device=args.device))
        results = {args.method: {"score": method.similarity(image1, image2), "status": "ok",
                                 "weights": method.weights}}
    if args.json:
        print(json.dumps({"image1": str(args.image1), "image2": str(args.image2), "results": results}, indent=2))
    else:
        for name, result in results.items():
            score = "   n/a" if result["score"] is None else f"{result['score']:.4f}"
            print(f"{name:15s} {score}  {'' if result['status'] == 'ok' else result['status']}")
    failed = [name for name, result in results.items() if result["status"].startswith("failed")]
    if failed:
        print(f"imgsim: {len(failed)} of {len(results)} methods could not score this pair "
              f"({_size(image1)} and {_size(image2)}): {', '.join(failed)}", file=sys.stderr)
        if all(result["score"] is None for result in results.values()):
            return EXIT_BAD_INPUT
    return EXIT_OK


def _gallery_features(method, images: list, paths: list, skipped: list) -> tuple[list, list]:
    """Features of the gallery and their paths; an image the method cannot use is listed in ``skipped``."""
    features, failures = method.features_or_none(images)
    for k, error in failures:
        reason = first_line(error) if isinstance(error, ImgSimError) else f"{type(error).__name__}: {first_line(error)}"
        skipped.append({"path": str(paths[k]), "error": f"cannot use image {str(paths[k])!r} ({_size(images[k])}) "
                                                        f"with --method {method.name}: {reason}"})
    kept = [(feature, path) for feature, path in zip(features, paths, strict=True) if feature is not None]
    return [feature for feature, _ in kept], [path for _, path in kept]


def _load_gallery(folder: Path, quiet: bool) -> tuple[list, list, list]:
    """The readable images under ``folder``, their paths, and the files skipped with why."""
    from tqdm.auto import tqdm

    from imgsim_helpers.images.io import load_image
    paths = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    images, kept, skipped = [], [], []
    for path in tqdm(paths, desc="loading gallery", disable=quiet or not paths, file=sys.stderr):
        try:
            images.append(load_image(path))
            kept.append(path)
        except ImgSimError as error:
            skipped.append({"path": str(path), "error": str(error)})
    if not images:
        raise EmptyInputError(f"no readable images in {str(folder)!r} (looked for {', '.join(sorted(IMAGE_SUFFIXES))})")
    return images, kept, skipped


def _search(args) -> int:
    from imgsim_helpers.images.io import load_image
    folder = Path(args.gallery)
    if not folder.is_dir():
        raise EmptyInputError(f"gallery {str(folder)!r} is not a folder of images")
    query_image = load_image(args.query)
    images, kept, skipped = _load_gallery(folder, args.json)
    method = build_method(args.method, **options_for(args.method, device=args.device))
    try:
        query = method.extract(query_image)
    except ImgSimError as error:
        print(f"imgsim: the query {str(args.query)!r} ({_size(query_image)}) cannot be used with --method "
              f"{args.method}: {first_line(error)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    gallery, kept = _gallery_features(method, images, kept, skipped)
    if not gallery:
        for skip in skipped:
            print(f"skipped: {skip['error']}", file=sys.stderr)
        raise EmptyInputError(f"no image in {str(folder)!r} could be used with --method {args.method}")
    scores = method.matrix([query], gallery)[0]
    order = sorted(range(len(kept)), key=lambda i: -scores[i] if math.isfinite(scores[i]) else math.inf)[: args.top]
    hits = [{"rank": r + 1, "path": str(kept[i]), "score": float(scores[i])} for r, i in enumerate(order)]
    if args.json:
        print(json.dumps({"query": str(args.query), "method": args.method, "results": hits, "skipped": skipped},
                         indent=2))
        return EXIT_OK
    for hit in hits:
        print(f"{hit['rank']:3d}  {hit['score']:.4f}  {hit['path']}")
    for skip in skipped:
        print(f"skipped: {skip['error']}", file=sys.stderr)
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    from imgsim_helpers.apps.cli_scale import add_scale_commands
    parser = argparse.ArgumentParser(prog="imgsim", description="Measure how similar images are.")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an unexpected error")
    sub = parser.add_subparsers(dest="command", required=True)
    compare = sub.add_parser("compare", help="score two images with one method or all of them")
    compare.add_argument("image1", type=Path)
    compare.add_argument("image2", type=Path)
    compare.add_argument("--method", default="all", choices=["all", *registry.METHOD_NAMES])
    search = sub.add_parser("search", help="rank a folder of images by similarity to a query image")
    search.add_argument("query", type=Path)
    search.add_argument("gallery", type=Path)
    search.add_argument("--method", default="histogram_rgb", choices=list(registry.METHOD_NAMES))
    search.add_argument("--top", type=int, default=5)
    for command in (compare, search):
        command.add_argument("--json", action="store_true", help="machine-readable output")
        command.add_argument("--device", default="auto", help="auto, cpu or cuda (models only)")
    add_scale_commands(sub)  # imgsim embed, imgsim index build|query (near duplicates at scale)
    return parser


def _quiet_stdout() -> None:
    """Point stdout at /dev/null, so that the interpreter's last flush finds no closed pipe."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # a stdout without a file descriptor (tests)
        pass


def _run(args) -> int:
    from imgsim_helpers.core.device import check_device
    check_device(getattr(args, "device", "auto"))
    check_int(getattr(args, "top", 1), "--top", low=1)
    if args.command in ("embed", "index"):
        from imgsim_helpers.apps.cli_scale import run_scale_command
        return run_scale_command(args)
    return _compare(args) if args.command == "compare" else _search(args)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code = _run(args)
        sys.stdout.flush()  # here, so that a closed pipe is caught below and not at exit
        return code
    except BrokenPipeError:
        _quiet_stdout()
        return EXIT_PIPE_CLOSED
    except KeyboardInterrupt:
        print("imgsim: interrupted", file=sys.stderr)
        return 130
    except WeightsUnavailableError as error:
        print(f"imgsim: {error}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    except (ImgSimError, FileNotFoundError) as error:
        print(f"imgsim: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as error:  # noqa: BLE001 - one line for the user; --debug shows the traceback
        if args.debug:
            raise
        print(f"imgsim: unexpected error {type(error).__name__}: {first_line(error)} "
              "(run `imgsim --debug ...` for the traceback, and report it)", file=sys.stderr)
        return EXIT_UNEXPECTED


if __name__ == "__main__":
    raise SystemExit(main())
