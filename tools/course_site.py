"""The course site: Sphinx + MyST-NB + sphinx-book-theme over the notebooks papermill executed.

``python -m tools.course_site --executed build/course --out build/course/site`` (``make course``
runs it after executing the notebooks). Nothing is executed again (``nb_execution_mode = "off"``):
each page shows the outputs of the run in ``--executed``. The site works offline: MathJax 3 is
fetched once from the npm registry into ``build/site-assets`` and served from the site's
``_static`` folder like the theme's own scripts, fonts and stylesheets, and the Colab and Binder
links are text (their badge images live on other hosts).

Before Sphinx sees a notebook, :func:`page_notebook` makes the learner's version of it: the Colab
install cell, the presenter notes (they belong to the slides' speaker view) and the badge images
go; a line with the run's size and device and the Colab/Binder links, and for the deep-learning
notebooks a box saying which weights ran (read from the notebook's claim record), come in under
the title. The landing page is the README's introduction, its list of notebooks and the same
weights, read from the same records.
"""

from __future__ import annotations

import argparse
import ast
import csv
import io
import json
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
from papermill.execute import ERROR_MARKER_TAG, ERROR_MESSAGE_TEMPLATE

from imgsim_helpers.core.errors import EmptyInputError
from tools.publish import (
    README_END,
    README_START,
    Repository,
    configured_repository,
    strip_badges,
)
from tools.run_course import COLAB_INSTALL_TAG, NOTEBOOK_DIR, course_notebooks
from tools.slides import NOTES_MARKER, fetch_npm_packages

CHECKOUT = NOTEBOOK_DIR.parent
ASSETS_CACHE = CHECKOUT / "build" / "site-assets"
MATHJAX = {"mathjax": "3.2.2"}
MATHJAX_SCRIPT = "mathjax/es5/tex-chtml.js"  # under _static
TITLE = "Image similarity, hands-on"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_NOTE = ("[An interactive widget: it needs a running notebook. Open this notebook in Jupyter, "
               "Colab or Binder to use it.]")
_PROGRESS_BAR = re.compile(r"\d+%\|")
# papermill marks a failed run with a banner cell above everything (and a marker at the failing cell)
PAPERMILL_ERROR_BANNER = ERROR_MESSAGE_TEMPLATE.split("%s")[0]
# Worked solutions are tagged "solution" in the notebooks; on the pages they start folded, answer included.
SOLUTION_TAG = "solution"
# README sections shown on the landing page after the introduction.
LANDING_SECTIONS = ("Before you start",)



def _keep_mathjax(name: str, relative: str) -> bool:
    """From MathJax 3's npm package: the TeX-to-CHTML bundle and what it loads on demand."""
    return relative in ("LICENSE", "es5/tex-chtml.js") or relative.startswith(
        ("es5/input/tex/", "es5/output/chtml/", "es5/ui/", "es5/a11y/", "es5/sre/", "es5/adaptors/"))


def fetch_mathjax(dest: Path = ASSETS_CACHE) -> Path:
    """MathJax 3 under ``dest/mathjax`` (fetched once with ``npm pack``; later calls reuse it)."""
    return fetch_npm_packages(dest, MATHJAX, {"mathjax": "mathjax"}, _keep_mathjax,
                              purpose="building the offline course site (make course)")


# --------------------------------------------------------------------------- which weights ran


@dataclass(frozen=True)
class WeightsNote:
    """What a page's results came from: ``kind`` says ``pretrained``, ``substitute`` or ``random`` first."""

    kind: str
    text: str

    @property
    def admonition_class(self) -> str:
        if self.kind.startswith("random"):
            return "warning"
        return "tip" if self.kind == "pretrained" else "important"

    def markdown(self) -> str:
        return (f"```{{admonition}} Which weights ran on this page: {self.kind}\n"
                f":class: {self.admonition_class}\n\n{self.text}\n```")


_RANDOM = "random weights — the scores on this page mean nothing; only what holds for any weights is claimed"
_MISSING = WeightsNote("random", "The record of which weights ran is missing (the notebook did not finish), so "
                       "treat every score on this page as coming from random weights.")


def _model_name(name: str) -> str:
    return {"mobilenet_v2": "MobileNetV2", "vgg16": "VGG16", "resnet50": "ResNet-50"}.get(name, name)


def weights_note(stem: str, record: dict, parameters: dict | None = None,
                 retrieval_rows: list[dict] | None = None) -> WeightsNote | None:
    """Which weights a deep-learning notebook's results came from, from its claim record.

    ``None`` for the notebooks that use no learned weights (00–04). ``parameters`` are the
    notebook's parameter values (for the names of the networks it was asked for);
    ``retrieval_rows`` the benchmark's table (notebook 08), which says each method's weights.

    Examples
    --------
    >>> weights_note("06_vgg16", {"weights": "pretrained", "backbone_requested": "vgg16",
    ...                           "backbone_used": "mobilenet_v2"}).kind
    'substitute'
    >>> weights_note("02_ssim", {}) is None
    True
    """
    parameters = parameters or {}
    if stem.startswith("05_"):
        weights = record.get("weights")
        if weights is None:
            return _MISSING
        clip = "the OpenCLIP ViT-B-16-plus-240 model (LAION-400M, epoch 32)"
        if weights == "random":
            return WeightsNote("random", f"**{_RANDOM}.** The pretrained weights of {clip} were not available "
                                         "when this page was built, so it ran with randomly initialised weights.")
        source = "its pretrained weights" if weights == "pretrained" else "a local checkpoint"
        return WeightsNote("pretrained", f"The scores come from {clip} with {source}.")
    if stem.startswith("06_"):
        weights = record.get("weights")
        if weights is None:
            return _MISSING
        requested = _model_name(record.get("backbone_requested", "vgg16"))
        used = _model_name(record.get("backbone_used", record.get("backbone_requested", "vgg16")))
        if weights != "pretrained":
            return WeightsNote("random", f"**{_RANDOM}.** {used} ran with randomly initialised weights.")
        if used != requested:
            return WeightsNote("substitute", f"{requested}'s pretrained weights were not available when this page "
                                             f"was built; **{used} with its pretrained ImageNet weights ran "
                                             f"instead**, so the features and scores on this page are {used}'s.")
        return WeightsNote("pretrained", f"The features come from {used} with its pretrained ImageNet weights.")
    if stem.startswith("07_"):
        weights = record.get("cnn_weights")
        if weights is None:
            return _MISSING
        cnn = _model_name(str(parameters.get("CNN", "the pretrained CNN")))
        trained = "The Siamese networks on this page are trained here, from random initialisation."
        if weights != "pretrained":
            return WeightsNote("random", f"{trained} The {cnn} under the Siamese head in the last section ran with "
                                         f"**{_RANDOM} for that section**.")
        return WeightsNote("pretrained", f"{trained} The {cnn} under the Siamese head in the last section has its "
                                         "pretrained ImageNet weights.")
    if stem.startswith("08_"):
        return _benchmark_note(record, retrieval_rows)
    if stem.startswith("09_"):  # records each method's weights and the methods that could not run
        weights = record.get("weights")
        if weights is None:
            return _MISSING
        ran = {m: w for m, w in weights.items() if w != "none"}
        return _learned_methods_note(ran, sorted(record.get("methods_unavailable", [])))
    return None


def _benchmark_note(record: dict, rows: list[dict] | None) -> WeightsNote:
    """Notebook 08 runs every method: which learned ones ran on which weights, and which did not run."""
    status = record.get("status")
    if status is None:
        return _MISSING
    weights = {row["method"]: row.get("weights", "") for row in rows or [] if row.get("family") == "all"}
    not_run = sorted(m for m, s in status.items() if s.startswith("unavailable: weights"))
    ran = {m: weights.get(m, "") for m, s in status.items() if s == "ok" and weights.get(m, "none") != "none"}
    return _learned_methods_note(ran, not_run)


def _learned_methods_note(ran: dict[str, str], not_run: list[str]) -> WeightsNote:
    """The note of a page that runs several methods: ``ran`` maps each learned method to its weights."""
    random = sorted(m for m, w in ran.items() if w == "random")
    parts = []
    if ran:
        described = {m: f"{m} ({w})" for m, w in ran.items()}
        if "siamese" in described:  # methods.py: a head trained in the benchmark on MobileNetV2's features
            described["siamese"] = f"siamese (a head trained here on {ran['siamese']} MobileNetV2 features)"
        parts.append("Learned methods that ran: " + ", ".join(described[m] for m in sorted(described)) + ".")
    if random:
        parts.append(f"**{', '.join(random)}: {_RANDOM}.**")
    if not_run:
        parts.append(f"**Not run, their weights were not available: {', '.join(not_run)}** — their rows in the "
                     "tables and figures are marked unavailable, not scored.")
    kind = "random" if random else ("pretrained, some methods not run" if not_run else "pretrained")
    return WeightsNote(kind, " ".join(parts) or "No learned method ran.")


def notebook_parameters(nb) -> dict:
    """The values the notebook ran with: its ``parameters`` cell's literals, then papermill's overrides."""
    values = {}
    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" in cell.metadata.get("tags", []):
            for node in ast.parse(cell.source).body:
                if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                    try:
                        values[node.targets[0].id] = ast.literal_eval(node.value)
                    except ValueError:
                        continue  # a call such as smoke_default(): papermill's value (below) says what ran
            break
    values.update(nb.metadata.get("papermill", {}).get("parameters", {}))
    return values


# --------------------------------------------------------------------------- pages


def _run_line(parameters: dict) -> str:
    size = "smoke size (small inputs, few epochs: quick, not the full results)" if parameters.get("SMOKE") else "full size"
    device = parameters.get("DEVICE", "auto")
    return f"executed at {size} on device `{device}`"


def _launch_line(repo: Repository, notebook: str, parameters: dict) -> str:
    return (f"*This page was {_run_line(parameters)}.* Run it yourself: "
            f"[open in Colab]({repo.colab_url(notebook)}) · [launch on Binder]({repo.binder_url(notebook)})")


def _strip_widgets(cell) -> None:
    """Widgets need a live kernel: a progress bar's last state is not in its text, so it goes; other widgets
    are replaced by a note saying where to use them."""
    outputs = []
    for output in cell.get("outputs", []):
        data = output.get("data", {})
        if WIDGET_VIEW not in data:
            outputs.append(output)
            continue
        if _PROGRESS_BAR.search(str(data.get("text/plain", ""))):
            continue
        outputs.append(nbformat.v4.new_output("display_data", data={"text/plain": WIDGET_NOTE}))
    if "outputs" in cell:
        cell.outputs = outputs


def page_notebook(executed: Path, repo: Repository, note: WeightsNote | None):
    """The learner's page of an executed notebook (a new notebook; the file is not changed)."""
    nb = nbformat.read(executed, as_version=4)
    parameters = notebook_parameters(nb)
    cells, failed = [], False
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if COLAB_INSTALL_TAG in tags or "injected-parameters" in tags:
            continue
        if ERROR_MARKER_TAG in tags and cell.source.startswith(PAPERMILL_ERROR_BANNER):
            failed = True  # papermill's banner above the title: said in the page's header instead
            continue
        if cell.cell_type == "markdown" and cell.source.lstrip().startswith(NOTES_MARKER):
            continue
        if SOLUTION_TAG in tags:  # fold the answer too, not only the code that prints it
            cell.metadata["tags"] = [t for t in tags if t != "hide-input"] + ["hide-cell"]
        _strip_widgets(cell)
        cells.append(cell)
    title = next((c for c in cells if c.cell_type == "markdown" and c.source.startswith("# ")), None)
    if title is None:
        raise EmptyInputError(f"{executed} has no title cell (a markdown cell starting with '# ')")
    title.source = strip_badges(title.source)
    heading, _, rest = title.source.partition("\n")
    header = [heading, "", _launch_line(repo, executed.name, parameters)]
    if failed:
        header += ["", "```{error}\nThe notebook stopped with an error when this page was built: everything after "
                   "the failing cell (marked below) is missing.\n```"]
    if note is not None:
        header += ["", note.markdown()]
    title.source = "\n".join(header) + ("\n\n" + rest.lstrip("\n") if rest.strip() else "")
    nb.cells = cells
    nb.metadata.pop("widgets", None)  # widget state would make MyST-NB load the widget manager from a CDN
    return nb


def readme_introduction(readme: Path = CHECKOUT / "README.md") -> str:
    """The README up to its first ``## `` section, without the badge block, linking the site's pages."""
    text = readme.read_text(encoding="utf-8")
    if README_START in text and README_END in text:
        text = text[: text.index(README_START)] + text[text.index(README_END) + len(README_END):]
    introduction, *sections = text.split("\n## ")
    # the landing page also tells a learner what they need to know before notebook 00
    introduction += "".join("\n## " + section for section in sections if section.startswith(LANDING_SECTIONS))
    introduction = re.sub(r"\]\(notebooks/([0-9][0-9]_[^)]+)\.ipynb\)", r"](\1.ipynb)", introduction)
    return re.sub(r"\n{3,}", "\n\n", introduction).strip() + "\n"


def landing_page(stems: list[str], notes: dict[str, WeightsNote | None], parameters: dict[str, dict]) -> str:
    """``index.md``: the README's introduction, what the pages ran on, and the table of contents."""
    lines = [readme_introduction(), "## What these pages ran on", ""]
    runs = {_run_line(p) for p in parameters.values()}
    lines += [f"Every notebook was {' / '.join(sorted(runs))}. Which weights the deep-learning notebooks used:", ""]
    lines += ["| notebook | weights | what ran |", "|---|---|---|"]
    for stem in stems:
        note = notes.get(stem)
        if note is not None:
            text = note.text.replace("\n", " ").replace("|", "\\|")
            lines.append(f"| [{stem[:2]}]({stem}.ipynb) | **{note.kind}** | {text} |")
    lines += ["", "```{toctree}", ":hidden:", ":caption: Notebooks", "", *stems, "```", ""]
    return "\n".join(lines)


def sphinx_config(static_dir: Path, repo: Repository) -> dict:
    """Sphinx settings (no conf.py: the site's sources are generated)."""
    return {
        "project": TITLE,
        "html_title": TITLE,
        # the theme's footer reads "By <author>" (else "Author name not set")
        "author": "the course authors · code MIT, text and images CC BY 4.0 (see the manifest)",
        "extensions": ["myst_nb", "sphinx_copybutton"],
        "html_theme": "sphinx_book_theme",
        "html_theme_options": {
            "repository_url": f"https://github.com/{repo.owner}/{repo.name}",
            "use_repository_button": True,
            "use_download_button": True,
            "home_page_in_toc": True,
            "show_navbar_depth": 1,
            # pydata-sphinx-theme 0.20 under sphinx-book-theme 1.4 adds a top bar holding a second
            # search field (the sidebar has one); an empty bar is not drawn
            "navbar_start": [], "navbar_center": [], "navbar_end": [], "navbar_persistent": [],
        },
        "nb_execution_mode": "off",  # papermill already ran them; the pages show that run
        "nb_ipywidgets_js": {},  # no widget manager from a CDN (widgets are replaced by a note)
        "nb_render_markdown_format": "gfm",  # Markdown outputs (the threshold tables) with their tables
        "myst_enable_extensions": ["dollarmath", "amsmath"],
        "mathjax_path": MATHJAX_SCRIPT,
        "html_static_path": [str(static_dir)],
        "html_show_sphinx": False,
        "html_last_updated_fmt": None,
        "exclude_patterns": ["_build", "**.ipynb_checkpoints"],
    }


def _record(results_dir: Path, stem: str) -> dict:
    path = results_dir / f"{stem}.results.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def _retrieval_rows(results_dir: Path) -> list[dict]:
    """Notebook 08's benchmark table (``OUTPUT_DIR/retrieval/retrieval.csv``), empty when absent."""
    path = results_dir / "retrieval" / "retrieval.csv"
    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def prepare_sources(executed_dir: Path, src_dir: Path, *, results_dir: Path | None = None,
                    repo: Repository | None = None) -> list[str]:
    """Write the site's sources (learner pages of the executed notebooks, ``index.md``); return the page stems."""
    executed_dir = Path(executed_dir)
    results_dir = Path(results_dir) if results_dir else executed_dir / "results"
    repo = repo or configured_repository()
    executed = [executed_dir / p.name for p in course_notebooks() if (executed_dir / p.name).is_file()]
    if not executed:
        raise EmptyInputError(f"no executed course notebooks in {executed_dir}: run `make course` first")
    stems = [p.stem for p in executed]
    src_dir.mkdir(parents=True, exist_ok=True)
    for old in src_dir.glob("*.ipynb"):
        old.unlink()
    parameters, notes = {}, {}
    for path in executed:
        parameters[path.stem] = notebook_parameters(nbformat.read(path, as_version=4))
        notes[path.stem] = weights_note(path.stem, _record(results_dir, path.stem), parameters[path.stem],
                                        _retrieval_rows(results_dir))
        nbformat.write(page_notebook(path, repo, notes[path.stem]), src_dir / path.name)
    (src_dir / "index.md").write_text(landing_page(stems, notes, parameters), encoding="utf-8")
    return stems


def build_site(executed_dir: Path, out_dir: Path, *, results_dir: Path | None = None,
               assets: Path = ASSETS_CACHE, quiet: bool = True) -> tuple[Path, list[str]]:
    """Build the site into ``out_dir``; return its landing page and Sphinx's warnings."""
    from sphinx.application import Sphinx

    # Sphinx reads html_static_path relative to its source folder: every path goes in absolute
    # (a relative --assets once left MathJax out of the site, with only a warning).
    out_dir = Path(out_dir).resolve()
    work = out_dir.parent / f".{out_dir.name}-work"
    stems = prepare_sources(executed_dir, work / "source", results_dir=results_dir)
    static = fetch_mathjax(Path(assets).resolve())
    warnings = io.StringIO()
    app = Sphinx(work / "source", None, out_dir, work / "doctrees", "html",
                 confoverrides=sphinx_config(static, configured_repository()),
                 status=io.StringIO() if quiet else sys.stdout, warning=warnings, freshenv=True)
    app.build(force_all=True)
    index = out_dir / "index.html"
    if not index.is_file() or app.statuscode:
        raise RuntimeError(f"Sphinx did not build the site ({len(stems)} pages):\n{warnings.getvalue()[-3000:]}")
    if not (out_dir / "_static" / MATHJAX_SCRIPT).is_file():
        raise RuntimeError(f"the site was built without MathJax ({out_dir / '_static' / MATHJAX_SCRIPT} is missing): "
                           f"its formulas would show as raw TeX\n{warnings.getvalue()[-3000:]}")
    return index, [line for line in warnings.getvalue().splitlines() if line.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.course_site", description=__doc__.splitlines()[0])
    parser.add_argument("--executed", type=Path, default=Path("build/course"),
                        help="folder of executed notebooks, with their claim records in results/")
    parser.add_argument("--out", type=Path, default=Path("build/course/site"))
    parser.add_argument("--assets", type=Path, default=ASSETS_CACHE,
                        help="cache of MathJax from the npm registry (fetched once)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    index, warnings = build_site(args.executed, args.out, assets=args.assets)
    for line in warnings:
        print(line, file=sys.stderr)
    print(f"[site] built in {time.perf_counter() - start:.1f} s; open {index.resolve()} in a browser")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
