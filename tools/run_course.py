"""Run the whole course: execute every notebook with papermill.

``python -m tools.run_course --smoke 1 --device cpu --out build/course``
(``make course`` calls this, then builds the course site from its output with
``python -m tools.course_site``). Each notebook gets the parameters ``SMOKE``,
``DEVICE`` and ``OUTPUT_DIR``; the executed ``.ipynb`` (every figure inline),
the claim records (``results/``) and ``run_times.json`` land in the output folder.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from imgsim_helpers.core.device import DEVICE_CHOICES
from imgsim_helpers.core.errors import EmptyInputError, InvalidParameterError

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
# The first code cell of every notebook installs the course on Google Colab and does nothing
# elsewhere (see tools.publish); the site's pages and the slides leave it out.
COLAB_INSTALL_TAG = "colab-install"


def course_notebooks(folder: Path = NOTEBOOK_DIR, only: list[str] | None = None) -> list[Path]:
    """The course notebooks in teaching order, optionally only those whose name starts with one of ``only``."""
    notebooks = sorted(p for p in Path(folder).glob("[0-9][0-9]_*.ipynb"))
    if only:
        notebooks = [p for p in notebooks if any(p.name.startswith(prefix) for prefix in only)]
    if not notebooks:
        raise EmptyInputError(f"no course notebooks found in {folder}" + (f" matching {only}" if only else ""))
    return notebooks


def _title(notebook: Path) -> str:
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return notebook.stem


def execute_notebook(notebook: Path, out_dir: Path, *, smoke: bool, device: str, timeout: int = 1800) -> float:
    """Execute one notebook into ``out_dir`` with papermill; return the wall time in seconds."""
    import papermill

    out_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    papermill.execute_notebook(
        str(notebook),
        str(out_dir / notebook.name),
        parameters={"SMOKE": bool(smoke), "DEVICE": device, "OUTPUT_DIR": str((out_dir / "results").resolve())},
        cwd=str(notebook.parent),
        kernel_name="python3",
        language="python",
        progress_bar=False,
        execution_timeout=timeout,
    )
    return time.perf_counter() - start


def run_course(out_dir: Path, *, smoke: bool, device: str, only: list[str] | None = None) -> list[dict]:
    """Execute the notebooks in order and write ``run_times.json``; return one entry per notebook."""
    if device not in DEVICE_CHOICES and not device.startswith("cuda:"):
        raise InvalidParameterError(f"device must be one of {DEVICE_CHOICES}; got {device!r}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    entries = []
    for notebook in course_notebooks(only=only):
        print(f"[course] {notebook.name} ...", flush=True)
        entry = {"notebook": notebook.name, "title": _title(notebook)}
        try:
            entry["seconds"] = execute_notebook(notebook, out_dir, smoke=smoke, device=device)
            entry["status"] = "ok"
        except Exception as error:  # report every notebook, then fail at the end
            entry["seconds"], entry["status"] = 0.0, f"failed: {type(error).__name__}"
            print(f"[course] {notebook.name} FAILED: {error}", file=sys.stderr, flush=True)
        entries.append(entry)
        print(f"[course] {notebook.name} {entry['status']} in {entry['seconds']:.1f} s", flush=True)
    (out_dir / "run_times.json").write_text(json.dumps(entries, indent=2))
    return entries


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.run_course", description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", type=int, choices=(0, 1), default=0, help="1: small sizes, runs in seconds")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--out", type=Path, default=Path("build/course"), help="output folder")
    parser.add_argument("--only", nargs="*", help="notebook name prefixes, e.g. 00 01")
    args = parser.parse_args(argv)
    entries = run_course(args.out, smoke=bool(args.smoke), device=args.device, only=args.only)
    print(f"[course] executed notebooks in {args.out}/; python -m tools.course_site builds the site from them")
    return 0 if all(e["status"] == "ok" for e in entries) else 1


if __name__ == "__main__":
    raise SystemExit(main())
