"""Binder and Colab badges and the Colab install cell, written from pyproject.toml's Repository."""

import shutil
import subprocess
import sys
import types

import nbformat
import pytest

from imgsim_helpers.core.errors import InvalidParameterError
from tests.conftest import REPO_ROOT
from tools import publish
from tools.run_course import COLAB_INSTALL_TAG, course_notebooks

REPO = publish.Repository("someone", "course")


def test_committed_readme_and_notebooks_are_up_to_date_with_pyproject():
    stale = publish.publish(check=True)
    assert not stale, f"run python -m tools.publish: {[p.name for p in stale]}"


def test_links_open_the_notebook_on_the_configured_branch():
    assert REPO.colab_url("01_x.ipynb") == (
        "https://colab.research.google.com/github/someone/course/blob/main/notebooks/01_x.ipynb")
    assert REPO.binder_url("01_x.ipynb") == "https://mybinder.org/v2/gh/someone/course/main?labpath=notebooks%2F01_x.ipynb"
    assert REPO.binder_url() == "https://mybinder.org/v2/gh/someone/course/main?urlpath=lab/tree/notebooks"


@pytest.mark.parametrize("url", ["https://github.com/a/b", "https://github.com/a/b.git", "https://github.com/a/b/"])
def test_github_addresses_parse(url):
    assert publish.parse_repository(url) == publish.Repository("a", "b")


@pytest.mark.parametrize("url", ["https://gitlab.com/a/b", "github.com/a/b", "https://github.com/a", ""])
def test_other_addresses_are_refused_with_the_expected_form(url):
    with pytest.raises(InvalidParameterError, match="https://github.com/OWNER/NAME"):
        publish.parse_repository(url)


def test_missing_repository_entry_is_a_clear_error(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    with pytest.raises(InvalidParameterError, match="Repository"):
        publish.configured_repository(tmp_path / "pyproject.toml")


def _toy_notebook():
    return nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# 01 · Toy\n\nIntro text."),
        nbformat.v4.new_markdown_cell("**Presenter notes.** Short."),
        nbformat.v4.new_code_cell("import numpy as np"),
        nbformat.v4.new_code_cell("SMOKE = False", metadata={"tags": ["parameters"]}),
    ])


def test_publishing_a_notebook_adds_badges_and_cell_once_and_follows_a_new_address():
    nb = _toy_notebook()
    assert publish.publish_notebook(nb, REPO, "01_toy.ipynb")
    assert not publish.publish_notebook(nb, REPO, "01_toy.ipynb"), "a second run changes nothing"
    title = nb.cells[0].source.split("\n")
    assert title[0] == "# 01 · Toy" and title[2] == REPO.badges("01_toy.ipynb") and title[4] == "Intro text."
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code[0].metadata["tags"] == [COLAB_INSTALL_TAG, "nbval-skip"]
    assert code[0].metadata["slideshow"] == {"slide_type": "skip"}
    assert "parameters" in code[2].metadata["tags"], "the Colab cell comes before the imports"

    fork = publish.Repository("fork", "course2", "teaching")
    assert publish.publish_notebook(nb, fork, "01_toy.ipynb")
    text = nbformat.writes(nb)
    assert "someone" not in text and "fork/course2/blob/teaching" in text
    assert sum(COLAB_INSTALL_TAG in c.metadata.get("tags", []) for c in nb.cells) == 1
    nbformat.validate(nb)


def test_readme_block_is_inserted_under_the_title_then_replaced():
    text = publish.publish_readme("# Course\n\nHello.\n", REPO)
    assert text.startswith("# Course\n\n" + publish.README_START) and text.endswith("Hello.\n")
    again = publish.publish_readme(text, publish.Repository("fork", "course2"))
    assert again.count(publish.README_START) == 1 and "someone" not in again and "fork/course2" in again


def test_check_finds_stale_files_without_writing_and_publish_fixes_them(tmp_path):
    shutil.copy(REPO_ROOT / "README.md", tmp_path / "README.md")
    shutil.copytree(REPO_ROOT / "notebooks", tmp_path / "notebooks",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    (tmp_path / "pyproject.toml").write_text('[project.urls]\nRepository = "https://github.com/fork/course2"\n')
    before = (tmp_path / "README.md").read_text()
    stale = publish.publish(check=True, checkout=tmp_path)
    assert len(stale) == 1 + len(course_notebooks())
    assert (tmp_path / "README.md").read_text() == before
    publish.publish(checkout=tmp_path)
    assert publish.publish(check=True, checkout=tmp_path) == []
    assert "github.com/fork/course2.git" in (tmp_path / "notebooks" / "00_setup_and_data.ipynb").read_text()


def _colab_cell_source():
    nb = nbformat.read(course_notebooks()[0], as_version=4)
    return next(c.source for c in nb.cells if COLAB_INSTALL_TAG in c.metadata.get("tags", []))


def test_colab_cell_does_nothing_outside_colab(monkeypatch, tmp_path):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    calls = []
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: calls.append(a))
    monkeypatch.chdir(tmp_path)
    path_before = list(sys.path)
    exec(compile(_colab_cell_source(), "colab-cell", "exec"), {})
    assert calls == [] and sys.path == path_before
    assert tmp_path.samefile(".")


def test_colab_cell_clones_installs_and_enters_the_notebooks_folder_on_colab(monkeypatch, tmp_path):
    repo = publish.configured_repository()
    checkout = tmp_path / repo.name
    calls = []

    def fake_run(command, check):
        assert check, "a failed clone or install must stop the notebook"
        calls.append(command)
        if command[:2] == ["git", "clone"]:
            (checkout / "notebooks").mkdir(parents=True)

    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    monkeypatch.setattr(subprocess, "run", fake_run)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.chdir(tmp_path)
    source = _colab_cell_source().replace(f"/content/{repo.name}", str(checkout))
    exec(compile(source, "colab-cell", "exec"), {})
    assert calls[0][:2] == ["git", "clone"] and repo.clone_url in calls[0] and repo.branch in calls[0]
    assert calls[1][1:] == ["-m", "pip", "install", "--quiet", "--editable", str(checkout)]
    assert sys.path[0] == str(checkout)
    assert (checkout / "notebooks").samefile(".")

    calls.clear()
    exec(compile(source, "colab-cell", "exec"), {})  # run again: no second clone
    assert [c[1:4] for c in calls] == [["-m", "pip", "install"]]


def test_colab_install_pulls_no_jupyter_server_packages():
    """pip on Colab installs the core dependencies; replacing Colab's own Jupyter stack breaks its runtime."""
    import tomllib

    from packaging.requirements import Requirement

    core = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    names = {Requirement(r).name.lower() for r in core}
    assert not names & {"jupyterlab", "notebook", "jupyter-server", "ipykernel", "jupyter", "nbclassic"}


def test_site_pages_leave_the_colab_cell_and_badge_images_out(tmp_path):
    from tools.course_site import page_notebook

    nb = _toy_notebook()
    publish.publish_notebook(nb, REPO, "01_toy.ipynb")
    path = tmp_path / "01_toy.ipynb"
    nbformat.write(nb, path)
    page = "\n".join(cell.source for cell in page_notebook(path, REPO, None).cells)
    assert "google.colab" not in page and "SMOKE" in page
    assert publish.COLAB_BADGE not in page and publish.BINDER_BADGE not in page
    assert f"[open in Colab]({REPO.colab_url('01_toy.ipynb')})" in page, "a text link instead of the badge"
