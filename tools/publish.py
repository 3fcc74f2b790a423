"""Where the course is read online: Binder and Colab badges, and the Colab install cell.

One value decides every link: ``Repository`` under ``[project.urls]`` in
``pyproject.toml`` (a GitHub address), with the branch :data:`BRANCH`. From it
``python -m tools.publish`` writes

* the badge block at the top of ``README.md`` (between :data:`README_START`
  and :data:`README_END`);
* a badge line under every notebook's title, opening *that* notebook;
* every notebook's first code cell: on Colab it clones the course and installs
  its helper package; anywhere else it does nothing. It is tagged
  :data:`~tools.run_course.COLAB_INSTALL_TAG` and ``nbval-skip`` (so the
  test run skips it), and left out of the HTML pages and the slides.

A fork changes the ``Repository`` line and runs the command; ``--check``
(used by the tests) lists the files that are out of date and exits 1.
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from imgsim_helpers.core.errors import InvalidParameterError
from tools.run_course import COLAB_INSTALL_TAG, NOTEBOOK_DIR, course_notebooks

CHECKOUT = NOTEBOOK_DIR.parent
BRANCH = "main"
README_START = "<!-- badges: written by `python -m tools.publish`; edit pyproject.toml's Repository instead -->"
README_END = "<!-- /badges -->"
COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"
BINDER_BADGE = "https://mybinder.org/badge_logo.svg"
_GITHUB = re.compile(r"^https://github\.com/([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+?)(?:\.git)?/?$")


@dataclass(frozen=True)
class Repository:
    """A public GitHub repository holding the course, and the branch the badges open."""

    owner: str
    name: str
    branch: str = BRANCH

    @property
    def clone_url(self) -> str:
        return f"https://github.com/{self.owner}/{self.name}.git"

    def colab_url(self, notebook: str) -> str:
        """Colab opens a notebook straight from GitHub (read-only until saved to Drive)."""
        return f"https://colab.research.google.com/github/{self.owner}/{self.name}/blob/{self.branch}/notebooks/{notebook}"

    def binder_url(self, notebook: str | None = None) -> str:
        """Binder builds ``environment.yml`` and opens JupyterLab on one notebook, or on the folder."""
        base = f"https://mybinder.org/v2/gh/{self.owner}/{self.name}/{self.branch}"
        if notebook is None:
            return f"{base}?urlpath=lab/tree/notebooks"
        return f"{base}?labpath=notebooks%2F{notebook}"

    def badges(self, notebook: str) -> str:
        """One markdown line: an *Open in Colab* and a *launch Binder* badge for ``notebook``."""
        return (f"[![Open in Colab]({COLAB_BADGE})]({self.colab_url(notebook)}) "
                f"[![Launch Binder]({BINDER_BADGE})]({self.binder_url(notebook)})")


def parse_repository(url: str, *, branch: str = BRANCH) -> Repository:
    """``https://github.com/OWNER/NAME`` (optionally ``.git``) → :class:`Repository`.

    >>> repository = parse_repository(" https://github.com/someone/course.git ")
    >>> repository.owner, repository.name, repository.branch
    ('someone', 'course', 'main')
    >>> parse_repository("https://github.com/someone/course").clone_url
    'https://github.com/someone/course.git'
    """
    match = _GITHUB.match(url.strip())
    if match is None:
        raise InvalidParameterError(
            f"the course's Repository URL must be a GitHub address https://github.com/OWNER/NAME "
            f"(Colab and Binder open notebooks from GitHub), got {url!r}")
    return Repository(match.group(1), match.group(2), branch)


def configured_repository(pyproject: Path = CHECKOUT / "pyproject.toml") -> Repository:
    """The repository named by ``[project.urls] Repository`` in ``pyproject.toml``."""
    with open(pyproject, "rb") as handle:
        urls = tomllib.load(handle).get("project", {}).get("urls", {})
    if "Repository" not in urls:
        raise InvalidParameterError(f"{pyproject} has no Repository entry under [project.urls]")
    return parse_repository(urls["Repository"])


def colab_install_source(repo: Repository) -> str:
    """The source of the Colab install cell: a no-op unless the kernel is Google Colab's."""
    checkout = f"/content/{repo.name}"
    return f'''# On Google Colab only: fetch the course (its images and helper package) and install it.
# Anywhere else (your computer, Binder, papermill, the tests) this cell does nothing.
import sys

if "google.colab" in sys.modules:
    import os
    import subprocess

    REPOSITORY, BRANCH, CHECKOUT = "{repo.clone_url}", "{repo.branch}", "{checkout}"
    if not os.path.isdir(CHECKOUT):
        subprocess.run(["git", "clone", "--depth", "1", "--branch", BRANCH, REPOSITORY, CHECKOUT], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--editable", CHECKOUT], check=True)
    sys.path.insert(0, CHECKOUT)  # this kernel started before the install, so it cannot see it yet
    os.chdir(os.path.join(CHECKOUT, "notebooks"))'''


def _is_badge_line(line: str) -> bool:
    return line.startswith(f"[![Open in Colab]({COLAB_BADGE})]")


def strip_badges(markdown: str) -> str:
    """``markdown`` without its badge line (offline slides must not fetch badge images)."""
    heading, *body = [line for line in markdown.split("\n") if not _is_badge_line(line)]
    body_text = "\n".join(body).lstrip("\n")
    return f"{heading}\n\n{body_text}" if body_text else heading


def publish_notebook(nb, repo: Repository, notebook: str) -> bool:
    """Put the badge line and the Colab install cell into ``nb`` (in place); True when it changed."""
    import nbformat

    before = nbformat.writes(nb)
    title = nb.cells[0]
    if title.cell_type != "markdown" or not title.source.startswith("# "):
        raise InvalidParameterError(f"{notebook}: the first cell must be the markdown title")
    heading, _, body = strip_badges(title.source).partition("\n\n")
    title.source = f"{heading}\n\n{repo.badges(notebook)}" + (f"\n\n{body}" if body else "")

    source = colab_install_source(repo)
    existing = [c for c in nb.cells if COLAB_INSTALL_TAG in c.metadata.get("tags", [])]
    if existing:
        cell = existing[0]
        nb.cells = [c for c in nb.cells if c is cell or c not in existing]
        cell.source = source
    else:
        cell = nbformat.v4.new_code_cell(source)
        cell.id = COLAB_INSTALL_TAG
        first_code = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
        nb.cells.insert(first_code, cell)
    cell.metadata["tags"] = [COLAB_INSTALL_TAG, "nbval-skip"]
    cell.metadata["slideshow"] = {"slide_type": "skip"}
    cell.outputs = []
    cell.execution_count = None
    return nbformat.writes(nb) != before


def publish_readme(text: str, repo: Repository) -> str:
    """``text`` with its badge block (under the title) written from ``repo``."""
    first = "00_setup_and_data.ipynb"
    block = "\n".join([
        README_START,
        f"[![Open in Colab]({COLAB_BADGE})]({repo.colab_url(first)}) "
        f"[![Launch Binder]({BINDER_BADGE})]({repo.binder_url()})",
        README_END,
    ])
    if README_START in text:
        start = text.index(README_START)
        end = text.index(README_END, start) + len(README_END)
        return text[:start] + block + text[end:]
    title, _, rest = text.partition("\n")
    return f"{title}\n\n{block}\n{rest}"


def publish(*, check: bool = False, checkout: Path = CHECKOUT) -> list[Path]:
    """Write (or with ``check``, only find) the README and notebooks whose badges are out of date."""
    import nbformat

    repo = configured_repository(checkout / "pyproject.toml")
    stale = []
    readme = checkout / "README.md"
    text = readme.read_text(encoding="utf-8")
    new_text = publish_readme(text, repo)
    if new_text != text:
        stale.append(readme)
        if not check:
            readme.write_text(new_text, encoding="utf-8")
    for path in course_notebooks(checkout / "notebooks"):
        nb = nbformat.read(path, as_version=4)
        if publish_notebook(nb, repo, path.name):
            stale.append(path)
            if not check:
                nbformat.validate(nb)
                nbformat.write(nb, path)
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.publish", description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="only list out-of-date files; exit 1 if any")
    args = parser.parse_args(argv)
    stale = publish(check=args.check)
    for path in stale:
        print(("out of date: " if args.check else "updated: ") + str(path.relative_to(CHECKOUT)))
    if not stale:
        print("badges and Colab cells are up to date with", configured_repository().clone_url)
    return 1 if (args.check and stale) else 0


if __name__ == "__main__":
    sys.exit(main())
