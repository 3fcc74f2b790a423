"""Run the whole course: execute every notebook with papermill and write HTML pages and an index.

``python -m imgsim_helpers.course --smoke 1 --device cpu --out build/course``
(``make course`` calls this). Each notebook gets the parameters ``SMOKE``,
``DEVICE`` and ``OUTPUT_DIR``; the executed ``.ipynb``, its ``.html`` page,
the claim records and ``run_times.json`` land in the output folder.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import sys
import time
from pathlib import Path

from .device import DEVICE_CHOICES
from .errors import EmptyInputError, InvalidParameterError

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
# The first code cell of every notebook installs the course on Google Colab and does nothing
# elsewhere (see imgsim_helpers.publish); pages and slides leave it out.
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


def export_html(executed: Path) -> Path:
    """Write the executed notebook as a standalone HTML page beside it."""
    import nbformat
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor

    exporter = HTMLExporter(template_name="lab")
    exporter.register_preprocessor(TagRemovePreprocessor(remove_cell_tags={COLAB_INSTALL_TAG}), enabled=True)
    body, _ = exporter.from_notebook_node(nbformat.read(executed, as_version=4))
    page = executed.with_suffix(".html")
    page.write_text(body, encoding="utf-8")
    return page


_HEADING = re.compile(r'<h2 id="([^"]+)">(.*?)<a class="anchor-link"', re.S)
_NAV_STYLE = (
    "<style>.imgsim-nav{font-family:sans-serif;display:flex;gap:1.5rem;justify-content:space-between;"
    "padding:.6rem 1rem;background:#f3f5f8;border-bottom:1px solid #d0d7de;position:sticky;top:0;z-index:10}"
    ".imgsim-nav a{text-decoration:none}.imgsim-toc{font-family:sans-serif;margin:1rem 2rem;font-size:.95rem}"
    ".imgsim-toc li{margin:.15rem 0}</style>"
)


def add_navigation(pages: list[Path], titles: list[str]) -> None:
    """Give each HTML page a bar with previous / index / next links and a table of contents of its sections."""
    for i, page in enumerate(pages):
        if not page.is_file():
            continue
        text = page.read_text(encoding="utf-8")
        if "imgsim-nav" in text:
            continue
        previous = f'<a href="{pages[i - 1].name}">← {html.escape(titles[i - 1])}</a>' if i > 0 else "<span></span>"
        following = (f'<a href="{pages[i + 1].name}">{html.escape(titles[i + 1])} →</a>'
                     if i + 1 < len(pages) else "<span></span>")
        bar = f'<nav class="imgsim-nav">{previous}<a href="index.html">course index</a>{following}</nav>'
        sections = "".join(f'<li><a href="#{anchor}">{re.sub(r"<[^>]+>", "", label).strip()}</a></li>'
                           for anchor, label in _HEADING.findall(text))
        toc = f'<details class="imgsim-toc" open><summary>Contents</summary><ul>{sections}</ul></details>' if sections else ""
        header = _NAV_STYLE + bar + toc
        text = re.sub(r"(<body[^>]*>)", lambda m, header=header: m.group(1) + header, text, count=1)
        text = text.replace("</body>", bar + "</body>", 1)
        page.write_text(text, encoding="utf-8")


def write_index(out_dir: Path, entries: list[dict], *, smoke: bool, device: str) -> Path:
    """An index page linking the notebooks' HTML pages in order, with run times and status."""
    rows = "\n".join(
        f'<tr><td><a href="{html.escape(e["html"])}">{html.escape(e["title"])}</a></td>'
        f'<td>{e["seconds"]:.1f} s</td><td>{html.escape(e["status"])}</td></tr>'
        for e in entries
    )
    page = out_dir / "index.html"
    page.write_text(
        "<!doctype html><html><head><meta charset='utf-8'><title>Image similarity, hands-on</title>"
        "<style>body{font-family:sans-serif;max-width:48rem;margin:2rem auto}td{padding:.3rem .8rem}</style>"
        "</head><body><h1>Image similarity, hands-on</h1>"
        f"<p>Executed {'at smoke size' if smoke else 'at full size'} on device <code>{html.escape(device)}</code>.</p>"
        f"<table><tr><th>notebook</th><th>run time</th><th>status</th></tr>{rows}</table></body></html>",
        encoding="utf-8",
    )
    return page


def run_course(out_dir: Path, *, smoke: bool, device: str, only: list[str] | None = None) -> list[dict]:
    """Execute the notebooks in order, export HTML, write the index; return one entry per notebook."""
    if device not in DEVICE_CHOICES and not device.startswith("cuda:"):
        raise InvalidParameterError(f"device must be one of {DEVICE_CHOICES}; got {device!r}")
    out_dir = Path(out_dir)
    entries = []
    for notebook in course_notebooks(only=only):
        print(f"[course] {notebook.name} ...", flush=True)
        entry = {"notebook": notebook.name, "title": _title(notebook), "html": notebook.with_suffix(".html").name}
        try:
            entry["seconds"] = execute_notebook(notebook, out_dir, smoke=smoke, device=device)
            entry["status"] = "ok"
        except Exception as error:  # report every notebook, then fail at the end
            entry["seconds"], entry["status"] = 0.0, f"failed: {type(error).__name__}"
            print(f"[course] {notebook.name} FAILED: {error}", file=sys.stderr, flush=True)
        executed = out_dir / notebook.name
        if executed.exists():
            export_html(executed)
        entries.append(entry)
        print(f"[course] {notebook.name} {entry['status']} in {entry['seconds']:.1f} s", flush=True)
    add_navigation([out_dir / e["html"] for e in entries], [e["title"] for e in entries])
    write_index(out_dir, entries, smoke=smoke, device=device)
    (out_dir / "run_times.json").write_text(json.dumps(entries, indent=2))
    return entries


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m imgsim_helpers.course", description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", type=int, choices=(0, 1), default=0, help="1: small sizes, runs in seconds")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--out", type=Path, default=Path("build/course"), help="output folder")
    parser.add_argument("--only", nargs="*", help="notebook name prefixes, e.g. 00 01")
    args = parser.parse_args(argv)
    entries = run_course(args.out, smoke=bool(args.smoke), device=args.device, only=args.only)
    print(f"[course] index: {args.out / 'index.html'}")
    return 0 if all(e["status"] == "ok" for e in entries) else 1


if __name__ == "__main__":
    raise SystemExit(main())
