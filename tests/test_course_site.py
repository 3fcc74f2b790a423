"""The course site's builder: learner pages, honest weight labels, the landing page, an offline build.

The site built from the executed course, opened in a browser, is tested in
``tests/test_site_browser.py``; here the parts, and a build from committed notebooks.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import nbformat
import pytest

from tools import course_site as site
from tools import publish
from tools.run_course import COLAB_INSTALL_TAG, course_notebooks

REPO = publish.Repository("someone", "course")
md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell


def _executed(tmp_path, cells, name="05_clip.ipynb", parameters=None):
    nb = nbformat.v4.new_notebook(cells=cells)
    if parameters is not None:
        nb.metadata["papermill"] = {"parameters": parameters}
    path = tmp_path / name
    nbformat.write(nb, path)
    return path


def test_learner_page_drops_colab_cell_presenter_notes_and_widgets(tmp_path):
    progress = nbformat.v4.new_output("display_data", data={
        site.WIDGET_VIEW: {"model_id": "a"}, "text/plain": "embedding:   0%|          | 0/8 [00:00<?, ?it/s]"})
    explorer = nbformat.v4.new_output("display_data", data={site.WIDGET_VIEW: {"model_id": "b"},
                                                           "text/plain": "VBox(children=(...))"})
    figure = nbformat.v4.new_output("display_data", data={"image/png": "iVBOR", "text/plain": "<Figure>"})
    path = _executed(tmp_path, [
        md(f"# 05 · CLIP\n\n{REPO.badges('05_clip.ipynb')}\n\nIntro."),
        code("import sys  # colab", metadata={"tags": [COLAB_INSTALL_TAG, "nbval-skip"]}),
        md("**Presenter notes.** Ten minutes; demo the search live."),
        code("SMOKE = h.smoke_default()\nDEVICE = 'auto'", metadata={"tags": ["parameters"]}),
        code("SMOKE = True\nDEVICE = 'cpu'", metadata={"tags": ["injected-parameters"]}),
        code("run()", outputs=[progress, figure]),
        code("display(explorer)", outputs=[explorer]),
    ], parameters={"SMOKE": True, "DEVICE": "cpu"})
    note = site.WeightsNote("random", "random weights, scores mean nothing")
    nb = site.page_notebook(path, REPO, note)
    text = "\n".join(cell.source for cell in nb.cells)
    assert "google.colab" not in text and "colab" not in nb.cells[1].source
    assert "Presenter notes" not in text, "presenter notes belong to the slides' speaker view"
    assert "injected-parameters" not in str([c.metadata for c in nb.cells])
    title = nb.cells[0].source
    assert title.startswith("# 05 · CLIP\n") and "Intro." in title
    assert publish.COLAB_BADGE not in title and "[launch on Binder](" in title
    assert "smoke size" in title and "`cpu`" in title
    assert "```{admonition} Which weights ran on this page: random" in title and ":class: warning" in title
    run, shown = nb.cells[-2], nb.cells[-1]
    assert [list(o["data"]) for o in run.outputs] == [["image/png", "text/plain"]], "the progress bar goes"
    assert shown.outputs[0]["data"] == {"text/plain": site.WIDGET_NOTE}
    assert "widgets" not in nb.metadata


def test_page_of_a_failed_run_says_so_under_its_title(tmp_path):
    from papermill.execute import ERROR_MARKER_TAG, ERROR_MESSAGE_TEMPLATE

    path = _executed(tmp_path, [
        md(ERROR_MESSAGE_TEMPLATE % 7, metadata={"tags": [ERROR_MARKER_TAG]}),
        md(f"# 02 · SSIM\n\n{REPO.badges('02_ssim.ipynb')}\n\nIntro."),
        code("x = 1"),
    ], name="02_ssim.ipynb")
    nb = site.page_notebook(path, REPO, None)
    title = nb.cells[0].source
    assert title.startswith("# 02 · SSIM\n") and publish.COLAB_BADGE not in title
    assert "```{error}" in title and "stopped with an error" in title
    assert "An Exception was encountered" not in "".join(c.source for c in nb.cells)


def test_parameters_are_the_cell_literals_overridden_by_papermill(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[
        code("SMOKE = h.smoke_default()\nCNN = 'mobilenet_v2'\nSEED = 0", metadata={"tags": ["parameters"]})])
    nb.metadata["papermill"] = {"parameters": {"SMOKE": False, "SEED": 3}}
    assert site.notebook_parameters(nb) == {"CNN": "mobilenet_v2", "SEED": 3, "SMOKE": False}


def test_weights_notes_name_what_ran():
    clip = site.weights_note("05_clip", {"weights": "random"})
    assert clip.kind == "random" and "mean nothing" in clip.text and "ViT-B-16-plus-240" in clip.text
    assert site.weights_note("05_clip", {"weights": "pretrained"}).kind == "pretrained"
    vgg = site.weights_note("06_vgg16", {"weights": "pretrained", "backbone_requested": "vgg16",
                                         "backbone_used": "mobilenet_v2"})
    assert vgg.kind == "substitute" and "MobileNetV2" in vgg.text and "VGG16" in vgg.text
    assert site.weights_note("06_vgg16", {"weights": "pretrained", "backbone_requested": "vgg16",
                                          "backbone_used": "vgg16"}).kind == "pretrained"
    assert site.weights_note("06_vgg16", {"weights": "random", "backbone_used": "vgg16"}).kind == "random"
    siamese = site.weights_note("07_siamese", {"cnn_weights": "random"}, {"CNN": "mobilenet_v2"})
    assert siamese.kind == "random" and "MobileNetV2" in siamese.text
    for stem in ("05_clip", "06_vgg16", "07_siamese", "08_which_method_when", "09_near_duplicates_at_scale"):
        assert site.weights_note(stem, {}).kind == "random", "a missing record is not passed off as pretrained"
    for stem in ("00_setup_and_data", "02_ssim", "04_sift_surf"):
        assert site.weights_note(stem, {"weights": "random"}) is None


def test_benchmark_note_lists_methods_that_ran_and_those_that_did_not():
    status = {"ssim": "ok", "mobilenet_v2": "ok", "siamese": "ok", "clip": "unavailable: weights (no file)"}
    rows = [{"method": "ssim", "family": "all", "weights": "none"},
            {"method": "mobilenet_v2", "family": "all", "weights": "pretrained"},
            {"method": "mobilenet_v2", "family": "crop", "weights": "pretrained"},
            {"method": "siamese", "family": "all", "weights": "pretrained"},
            {"method": "clip", "family": "all", "weights": "none"}]
    note = site.weights_note("08_which_method_when", {"status": status}, retrieval_rows=rows)
    assert note.kind == "pretrained, some methods not run"
    assert "mobilenet_v2 (pretrained)" in note.text and "Not run" in note.text and "clip" in note.text
    assert "ssim" not in note.text, "methods without weights are not listed"
    rows[1]["weights"] = "random"
    assert site.weights_note("08_which_method_when", {"status": status}, retrieval_rows=rows).kind == "random"


def test_landing_page_is_the_readme_introduction_with_links_to_the_pages():
    intro = site.readme_introduction()
    assert intro.startswith("# Image similarity, hands-on\n")
    assert "badge" not in intro, "no badge images"
    sections = [line[3:] for line in intro.splitlines() if line.startswith("## ")]
    assert sections == ["Before you start"], "the prerequisites, and no other README section"
    stems = [p.stem for p in course_notebooks()]
    for stem in stems:
        assert f"]({stem}.ipynb)" in intro, stem
    notes = {"05_clip": site.WeightsNote("random", "random | weights")}
    page = site.landing_page(stems, notes, {s: {"SMOKE": True, "DEVICE": "cpu"} for s in stems})
    assert "| [05](05_clip.ipynb) | **random** | random \\| weights |" in page
    assert "smoke size" in page
    toctree = page.split("```{toctree}")[1]
    assert [line for line in toctree.splitlines() if line[:2].isdigit()] == stems


@pytest.fixture(scope="module")
def mathjax():
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed: the course site fetches MathJax from the npm registry once")
    return site.fetch_mathjax()


def test_site_from_committed_notebooks_loads_nothing_from_another_host(mathjax, tmp_path):
    """A build (no outputs needed) whose pages reference only files of the site itself."""
    executed = tmp_path / "executed"
    executed.mkdir()
    for notebook in course_notebooks(only=["02", "05"]):
        shutil.copy(notebook, executed)
    index, warnings = site.build_site(executed, tmp_path / "site", assets=mathjax)
    out = index.parent
    assert (out / "_static" / site.MATHJAX_SCRIPT).is_file()
    for page in ["index.html", "02_ssim.html", "05_clip.html", "search.html"]:
        html = (out / page).read_text()
        loaded = [url for url in re.findall(r'<(?:script|img|link|iframe|source)\b[^>]*?\b(?:src|href)="([^"]+)"', html)
                  if not url.startswith(("#", "data:"))]
        assert loaded, page
        assert "Author name not set" not in html, "the footer names the authors and the licences"
        remote = [url for url in loaded if re.match(r"(https?:)?//", url)]
        assert not remote, f"{page} loads {remote}"
        for url in loaded:
            assert (out / url.split("?")[0].split("#")[0]).is_file(), f"{page}: {url} is not in the site"
    for css in (out / "_static").rglob("*.css"):
        text = re.sub(r"/\*.*?\*/", "", css.read_text(errors="replace"), flags=re.S)  # licence comments name hosts
        assert not re.search(r"url\(\s*['\"]?(https?:)?//", text), f"{css.name} loads a remote file"
        assert "@import url(http" not in text
    assert "mathjax/es5/tex-chtml.js" in (out / "02_ssim.html").read_text()
    assert not [w for w in warnings if "ERROR" in w], warnings


def test_near_duplicates_note_names_the_learned_methods_and_those_that_could_not_run():
    record = {"weights": {"phash": "none", "mobilenet_v2": "pretrained"}, "methods_unavailable": ["clip"]}
    note = site.weights_note("09_near_duplicates_at_scale", record)
    assert note.kind == "pretrained, some methods not run"
    assert "mobilenet_v2 (pretrained)" in note.text and "clip" in note.text and "phash" not in note.text
    record["weights"]["mobilenet_v2"] = "random"
    assert site.weights_note("09_near_duplicates_at_scale", record).kind == "random"


def test_site_built_with_relative_paths_carries_mathjax(mathjax, tmp_path, monkeypatch):
    """make course passes build/... paths relative to the checkout; Sphinx must still find MathJax."""
    executed = tmp_path / "executed"
    executed.mkdir()
    shutil.copy(course_notebooks(only=["02"])[0], executed)
    monkeypatch.chdir(mathjax.parent)
    index, _ = site.build_site(executed, tmp_path / "site", assets=Path(mathjax.name))
    assert (index.parent / "_static" / site.MATHJAX_SCRIPT).is_file()


def test_markdown_outputs_show_their_tables(mathjax, tmp_path):
    """Notebooks 08 and 09 display their threshold tables as Markdown; the page must show a table,
    not a paragraph of pipes (MyST-NB renders Markdown outputs as CommonMark, without tables, by default)."""
    executed = tmp_path / "executed"
    executed.mkdir()
    table = nbformat.v4.new_output("display_data", data={
        "text/markdown": "| method | AP |\n|---|---|\n| phash | 0.9 |\n", "text/plain": "<IPython.core.display.Markdown object>"})
    _executed(executed, [md("# 08 · Which method when"), code("display(Markdown(t))", outputs=[table])],
              name="08_which_method_when.ipynb")
    index, _ = site.build_site(executed, tmp_path / "site", assets=mathjax)
    html = (index.parent / "08_which_method_when.html").read_text()
    assert re.search(r"<table[^>]*>.*<td[^>]*>(<p>)?phash(</p>)?</td>", html, flags=re.S)
