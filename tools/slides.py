"""Offline reveal.js slides of every notebook, with presenter notes.

``python -m tools.slides --out build/slides`` (``make slides``)
writes one ``<notebook>.slides.html`` deck per notebook plus an ``assets/``
folder holding reveal.js, require.js, jQuery and MathJax, and points every
deck at those local copies, so the folder works with no network — copy it to
the presenting laptop and open a deck in a browser (``s`` opens the speaker
view with the presenter notes). The assets are fetched once from the npm
registry (``npm pack``) when the decks are exported, and cached.

Slide structure comes from each cell's ``metadata.slideshow.slide_type``,
which the committed notebooks carry; :func:`slide_type` states the rule.
Executed notebooks from ``make course`` (``build/course``) are used when
present, so the slides show the plots.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from imgsim_helpers.core.errors import ImgSimError, InvalidParameterError
from tools.publish import strip_badges
from tools.run_course import COLAB_INSTALL_TAG, NOTEBOOK_DIR, course_notebooks

ASSET_PACKAGES = {"reveal.js": "4.6.1", "requirejs": "2.3.7", "jquery": "2.2.4", "mathjax": "2.7.9"}
ASSET_FOLDERS = {"reveal.js": "reveal.js", "requirejs": "require", "jquery": "jquery", "mathjax": "mathjax"}
NOTES_MARKER = "**Presenter notes"
# Parts of the MathJax package the decks never load (other output processors, source, fonts in other formats).
_MATHJAX_SKIP = ("unpacked/", "jax/output/SVG/", "jax/output/HTML-CSS/", "jax/output/NativeMML/",
                 "jax/output/PreviewHTML/", "fonts/HTML-CSS/STIX-Web/", "fonts/HTML-CSS/Asana-Math/",
                 "fonts/HTML-CSS/Gyre-Pagella/", "fonts/HTML-CSS/Gyre-Termes/", "fonts/HTML-CSS/Latin-Modern/",
                 "fonts/HTML-CSS/Neo-Euler/", "fonts/HTML-CSS/TeX/otf/", "fonts/HTML-CSS/TeX/eot/",
                 "fonts/HTML-CSS/TeX/svg/", "fonts/HTML-CSS/TeX/png/")


class AssetsUnavailableError(ImgSimError, RuntimeError):
    """Offline web assets (reveal.js, MathJax) could not be fetched from npm (no npm, no registry)."""


def slide_type(cell, index: int, code_index: int | None) -> str:
    """The reveal.js role of a cell.

    * the title cell and every ``## `` section start a slide; ``### `` a sub-slide;
    * a markdown cell starting with ``**Presenter notes`` becomes speaker notes;
    * the Colab install cell and the first three code cells after it (imports, ``parameters``,
      derived values) are skipped (``code_index`` counts code cells without the Colab cell);
    * everything else continues the current slide (decks scroll when a slide is long).

    Examples
    --------
    >>> import nbformat
    >>> slide_type(nbformat.v4.new_markdown_cell("## Section"), 3, None)
    'slide'
    """
    source = cell.source.lstrip()
    if cell.cell_type == "markdown":
        if index == 0 or source.startswith("## ") or source.startswith("# "):
            return "slide"
        if source.startswith("### "):
            return "subslide"
        if source.startswith(NOTES_MARKER):
            return "notes"
        return "-"
    if cell.cell_type == "code" and COLAB_INSTALL_TAG in cell.metadata.get("tags", []):
        return "skip"
    if code_index is not None and code_index < 3:
        return "skip"
    return "-"


def add_slide_metadata(nb) -> None:
    """Set ``metadata.slideshow.slide_type`` on every cell of a notebook, by :func:`slide_type`."""
    code_index = 0
    for index, cell in enumerate(nb.cells):
        kind = slide_type(cell, index, code_index if cell.cell_type == "code" else None)
        if cell.cell_type == "code" and COLAB_INSTALL_TAG not in cell.metadata.get("tags", []):
            code_index += 1
        cell.metadata["slideshow"] = {"slide_type": kind}


def fetch_npm_packages(dest: Path, packages: dict[str, str], folders: dict[str, str], keep, *,
                       purpose: str) -> Path:
    """Unpack pinned npm packages into ``dest`` once (``npm pack``); later calls reuse them.

    ``packages`` maps a package name to its version, ``folders`` the name to its folder under
    ``dest``, and ``keep(name, relative_path)`` says which files of a package's tarball to keep.
    A marker file records the versions, so changing one fetches again. ``purpose`` names what the
    files are for, in the error raised when npm is missing or fails.
    """
    dest = Path(dest)
    marker = dest / ".complete"
    if marker.is_file() and marker.read_text() == repr(packages):
        return dest
    npm = shutil.which("npm")
    specs = [f"{name}@{version}" for name, version in packages.items()]
    if npm is None:
        raise AssetsUnavailableError(
            f"{purpose} needs npm once, to fetch {', '.join(specs)} from the npm registry; install "
            "Node.js (for example `apt-get install nodejs npm`) and run the command again"
        )
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    with tempfile.TemporaryDirectory() as tmp:
        run = subprocess.run([npm, "pack", "--silent", *specs], cwd=tmp, capture_output=True, text=True, timeout=300)
        if run.returncode != 0:
            raise AssetsUnavailableError(f"npm pack {' '.join(specs)} failed: {run.stderr.strip()[:500]}")
        for name, version in packages.items():
            archive = Path(tmp) / f"{name.lstrip('@').replace('/', '-')}-{version}.tgz"
            _extract(archive, dest / folders[name], lambda relative, name=name: keep(name, relative))
    marker.write_text(repr(packages))
    return dest


def _keep_for_decks(name: str, relative: str) -> bool:
    """The files of each npm package that a deck loads."""
    if name == "mathjax":
        return not relative.startswith(_MATHJAX_SKIP)
    if name == "reveal.js":
        return relative.startswith(("dist/", "plugin/notes/", "LICENSE"))
    if name == "requirejs":
        return relative in ("require.js", "README.md")
    if name == "jquery":
        return relative in ("dist/jquery.min.js", "LICENSE.txt")
    return True


def fetch_assets(dest: Path) -> Path:
    """Put reveal.js, require.js, jQuery and MathJax into ``dest`` (once; later calls reuse them)."""
    dest = fetch_npm_packages(dest, ASSET_PACKAGES, ASSET_FOLDERS, _keep_for_decks,
                              purpose="exporting offline slides (make slides)")
    # The decks import mermaid unconditionally; the course draws no mermaid diagrams, so a
    # no-op module keeps the page from reaching for a CDN.
    (dest / "mermaid-none.mjs").write_text("export default { initialize() {} };\n")
    return dest


def _extract(archive: Path, target: Path, keep) -> None:
    """Unpack the files under ``package/`` of an npm tarball for which ``keep(relative_path)`` holds."""
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            if not member.isfile() or not member.name.startswith("package/"):
                continue
            relative = member.name[len("package/"):]
            if not keep(relative):
                continue
            out = target / relative
            out.parent.mkdir(parents=True, exist_ok=True)
            with tar.extractfile(member) as source:
                out.write_bytes(source.read())


def export_deck(notebook: Path, out_dir: Path) -> Path:
    """Write ``<stem>.slides.html`` for one notebook, loading every asset from ``out_dir/assets``."""
    import nbformat
    from nbconvert import SlidesExporter

    nb = nbformat.read(notebook, as_version=4)
    if any("slideshow" not in cell.metadata for cell in nb.cells):
        add_slide_metadata(nb)
    nb.cells[0].source = strip_badges(nb.cells[0].source)
    exporter = SlidesExporter(
        reveal_url_prefix="assets/reveal.js",
        reveal_theme="simple",
        reveal_scroll=True,
        require_js_url="assets/require/require.js",
        jquery_url="assets/jquery/dist/jquery.min.js",
        mathjax_url="assets/mathjax/MathJax.js?config=TeX-AMS_CHTML-full,Safe",
        mermaid_js_url="assets/mermaid-none.mjs",
    )
    body, _ = exporter.from_notebook_node(nb)
    deck = out_dir / f"{notebook.stem}.slides.html"
    deck.write_text(body, encoding="utf-8")
    return deck


def export_slides(out_dir: Path, *, executed_dir: Path | None = None, only: list[str] | None = None) -> list[Path]:
    """Fetch the assets and export one offline deck per notebook; executed copies are preferred."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    fetch_assets(out_dir / "assets")
    decks = []
    for source in course_notebooks(NOTEBOOK_DIR, only=only):
        executed = Path(executed_dir) / source.name if executed_dir else None
        decks.append(export_deck(executed if executed and executed.is_file() else source, out_dir))
    return decks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.slides", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("build/slides"))
    parser.add_argument("--executed", type=Path, default=Path("build/course"),
                        help="folder of executed notebooks (from make course); used when present")
    parser.add_argument("--only", nargs="*", help="notebook name prefixes, e.g. 00 01")
    args = parser.parse_args(argv)
    try:
        decks = export_slides(args.out, executed_dir=args.executed, only=args.only)
    except (ImgSimError, InvalidParameterError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for deck in decks:
        print(deck)
    print(f"open {args.out / decks[0].name} in a browser; press s for the speaker view with presenter notes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
