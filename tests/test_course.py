"""The course runner: notebook discovery, parameters, HTML and index pages."""

import json

import nbformat
import pytest

from imgsim_helpers import course
from imgsim_helpers.course import COLAB_INSTALL_TAG
from imgsim_helpers.errors import EmptyInputError, InvalidParameterError


def test_notebooks_are_in_teaching_order_and_filterable():
    names = [p.name for p in course.course_notebooks()]
    assert names == sorted(names) and names[0].startswith("00_")
    assert [p.name[:2] for p in course.course_notebooks(only=["01"])] == ["01"]
    with pytest.raises(EmptyInputError):
        course.course_notebooks(only=["99"])


@pytest.mark.parametrize("notebook", course.course_notebooks(), ids=lambda p: p.stem)
def test_committed_notebooks_follow_the_conventions(notebook):
    nb = nbformat.read(notebook, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert not any(c.outputs for c in code), "commit notebooks without outputs"
    assert COLAB_INSTALL_TAG in code[0].metadata.get("tags", []), "the first code cell installs on Colab"
    code = code[1:]
    tagged = [i for i, c in enumerate(code) if "parameters" in c.metadata.get("tags", [])]
    assert tagged == [1], "the first code cell after the imports is tagged 'parameters'"
    params = code[1].source
    for name in ("SMOKE", "DEVICE", "SEED", "OUTPUT_DIR"):
        assert f"{name} =" in params, name
    assert "ClaimRecorder" in "".join(c.source for c in code), "the notebook records its claims"
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    assert nb.metadata["kernelspec"]["name"] == "python3"


def test_index_page_links_every_notebook(tmp_path):
    entries = [
        {"notebook": "00_a.ipynb", "title": "00 · A", "html": "00_a.html", "seconds": 1.5, "status": "ok"},
        {"notebook": "01_b.ipynb", "title": "01 · B <b>", "html": "01_b.html", "seconds": 2.0, "status": "failed: X"},
    ]
    page = course.write_index(tmp_path, entries, smoke=True, device="cpu").read_text()
    assert page.index("00_a.html") < page.index("01_b.html")
    assert "&lt;b&gt;" in page and "smoke" in page


def test_navigation_links_neighbours_and_lists_sections(tmp_path):
    pages = []
    for name in ("00_a", "01_b", "02_c"):
        page = tmp_path / f"{name}.html"
        page.write_text('<html><body class="x"><h2 id="1-Intro">1 · Intro<a class="anchor-link" href="#1-Intro">¶</a></h2>'
                        "</body></html>")
        pages.append(page)
    course.add_navigation(pages, ["A", "B", "C"])
    middle = pages[1].read_text()
    assert 'href="00_a.html"' in middle and 'href="02_c.html"' in middle and 'href="index.html"' in middle
    assert '<a href="#1-Intro">1 · Intro</a>' in middle
    assert 'href="00_a.html"' not in pages[0].read_text().split("</nav>")[0]
    course.add_navigation(pages, ["A", "B", "C"])  # idempotent
    assert pages[1].read_text().count('class="imgsim-nav"') == 2


def test_run_course_rejects_an_unknown_device(tmp_path):
    with pytest.raises(InvalidParameterError):
        course.run_course(tmp_path, smoke=True, device="tpu")


@pytest.mark.notebook
def test_run_course_writes_executed_notebook_html_index_and_times(tmp_path):
    entries = course.run_course(tmp_path, smoke=True, device="cpu", only=["00"])
    assert entries[0]["status"] == "ok"
    for name in ("00_setup_and_data.ipynb", "00_setup_and_data.html", "index.html", "run_times.json"):
        assert (tmp_path / name).is_file(), name
    assert json.loads((tmp_path / "run_times.json").read_text())[0]["seconds"] > 0
    assert (tmp_path / "results" / "00_setup_and_data.results.json").is_file()
