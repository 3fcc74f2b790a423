"""Execute each course notebook once per test session (papermill, smoke size) and hand out the run.

The claim tests read the claim record (:func:`smoke_claims`), the figure test and the site's
browser test read the executed notebook itself (:func:`executed_notebook`); both come from the
same single execution into ``build/test-notebooks``.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from imgsim_helpers.lessons.claims import load_claims
from tools.run_course import NOTEBOOK_DIR, course_notebooks, execute_notebook

RUN_DIR = Path(__file__).resolve().parents[1] / "build" / "test-notebooks"
# A folder of notebooks executed earlier (for example by a full-size `make course`: build/course)
# to check instead of executing at smoke size.
EXECUTED_ENV = "IMGSIM_EXECUTED_DIR"


@cache
def executed_notebook(stem: str) -> Path:
    """``notebooks/<stem>.ipynb`` executed at smoke size on the CPU (once per session); its path.

    Set ``IMGSIM_EXECUTED_DIR`` to a folder of notebooks executed earlier to use those instead.
    """
    existing = os.environ.get(EXECUTED_ENV)
    if existing:
        path = Path(existing) / f"{stem}.ipynb"
        if not path.is_file():
            raise FileNotFoundError(f"{EXECUTED_ENV}={existing} holds no {stem}.ipynb")
        return path
    failure = _execute_once(stem)
    if failure:
        raise NotebookRunError(f"notebooks/{stem}.ipynb failed at smoke size (see {RUN_DIR / stem}.ipynb): {failure}")
    return RUN_DIR / f"{stem}.ipynb"


class NotebookRunError(RuntimeError):
    """A course notebook raised while executing for the tests."""


@cache
def _execute_once(stem: str) -> str | None:
    """Execute a notebook; the failure's message, or None. A failed run is not repeated by the next test."""
    try:
        # A cell that hangs must fail the run, not eat CI's time: smoke cells take seconds.
        execute_notebook(NOTEBOOK_DIR / f"{stem}.ipynb", RUN_DIR, smoke=True, device="cpu", timeout=300)
    except Exception as error:  # reported to every test that needs this run
        return f"{type(error).__name__}: {str(error)[:2000]}"
    return None


def executed_course() -> Path:
    """The folder holding every course notebook executed (as :func:`executed_notebook`), with ``results/``."""
    paths = [executed_notebook(p.stem) for p in course_notebooks()]
    return paths[0].parent


@cache
def smoke_claims(stem: str) -> dict:
    """Run ``notebooks/<stem>.ipynb`` at smoke size on the CPU (once) and return its recorded claims.

    Set ``IMGSIM_CLAIMS_DIR`` to a folder holding records from an earlier run
    (for example a full-size ``make course``) to check those instead.
    """
    existing = os.environ.get("IMGSIM_CLAIMS_DIR")
    if existing:
        return load_claims(existing, stem)
    return load_claims(executed_notebook(stem).parent / "results", stem)
