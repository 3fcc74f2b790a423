"""Slides: the slide-type rule, metadata in the committed notebooks, and decks that load nothing from the network."""

import re
import shutil
from pathlib import Path

import nbformat
import pytest

from tests.conftest import REPO_ROOT
from tools import slides
from tools.run_course import course_notebooks

ASSETS_CACHE = REPO_ROOT / "build" / "slide-assets"


def test_slide_type_rule():
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    assert slides.slide_type(md("# Title"), 0, None) == "slide"
    assert slides.slide_type(md("## 1 · Intuition"), 5, None) == "slide"
    assert slides.slide_type(md("### detail"), 6, None) == "subslide"
    assert slides.slide_type(md("**Presenter notes.** Ten minutes."), 1, None) == "notes"
    assert slides.slide_type(md("More prose"), 7, None) == "-"
    assert slides.slide_type(code("import numpy"), 2, 0) == "skip"
    assert slides.slide_type(code("plot()"), 9, 3) == "-"
    colab = code("import sys", metadata={"tags": ["colab-install", "nbval-skip"]})
    assert slides.slide_type(colab, 2, None) == "skip"


def test_colab_cell_does_not_shift_which_code_cells_are_skipped():
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    nb = nbformat.v4.new_notebook(cells=[
        md("# T"), code("colab", metadata={"tags": ["colab-install"]}),
        code("imports"), code("parameters"), code("derived"), code("first plot"),
    ])
    slides.add_slide_metadata(nb)
    assert [c.metadata["slideshow"]["slide_type"] for c in nb.cells] == ["slide", "skip", "skip", "skip", "skip", "-"]


@pytest.mark.parametrize("notebook", course_notebooks(), ids=lambda p: p.stem)
def test_committed_notebooks_carry_slide_metadata_and_presenter_notes(notebook):
    nb = nbformat.read(notebook, as_version=4)
    assert all("slideshow" in cell.metadata for cell in nb.cells), "run slides.add_slide_metadata"
    kinds = [cell.metadata["slideshow"]["slide_type"] for cell in nb.cells]
    assert kinds[0] == "slide" and "notes" in kinds
    assert not any("mermaid" in cell.source for cell in nb.cells), "decks ship a no-op mermaid module"


@pytest.fixture(scope="module")
def assets(tmp_path_factory):
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed: exporting offline slides fetches reveal.js from the npm registry once")
    return slides.fetch_assets(ASSETS_CACHE)


def test_deck_loads_every_script_and_stylesheet_locally(assets, tmp_path):
    shutil.copytree(assets, tmp_path / "assets")
    deck = slides.export_deck(course_notebooks(only=["00"])[0], tmp_path)
    html = deck.read_text()
    references = re.findall(r'(?:src|href)="([^"#][^"]*)"', html) + re.findall(r"import \w+ from '([^']+)'", html)
    references = [r for r in references if not r.startswith("data:")]
    assert references, "the deck references its assets"
    for reference in references:
        assert not reference.startswith(("http://", "https://", "//")), reference
        assert (tmp_path / reference.split("?")[0]).is_file(), reference
    assert 'class="notes"' in html or "<aside class=\"notes\">" in html


def test_fetch_is_cached(assets):
    marker = Path(assets) / ".complete"
    before = marker.stat().st_mtime_ns
    slides.fetch_assets(ASSETS_CACHE)
    assert marker.stat().st_mtime_ns == before


def test_missing_npm_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(slides.shutil, "which", lambda name: None)
    with pytest.raises(slides.AssetsUnavailableError, match="npm"):
        slides.fetch_assets(tmp_path / "assets")


@pytest.mark.notebook
def test_deck_from_an_executed_notebook_carries_its_figures_and_presenter_notes(assets, tmp_path):
    from tests.notebook_runs import executed_notebook

    executed = executed_notebook("00_setup_and_data")
    nb = nbformat.read(executed, as_version=4)
    figures = sum("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    notes = [c.source for c in nb.cells if c.cell_type == "markdown" and c.source.startswith(slides.NOTES_MARKER)]
    assert figures and notes
    html = slides.export_deck(executed, tmp_path).read_text()
    assert html.count('src="data:image/png;base64,') == figures, "every figure of the executed notebook is on a slide"
    speaker = "".join(re.findall(r'<aside class="notes">(.*?)</aside>', html, flags=re.S))
    assert "Presenter notes" in speaker, "the presenter notes are in the speaker view"
