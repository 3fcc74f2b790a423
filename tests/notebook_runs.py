"""Execute a course notebook once per test session (papermill, smoke size) and hand out its claim record."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from imgsim_helpers.claims import load_claims
from imgsim_helpers.course import NOTEBOOK_DIR, execute_notebook

RUN_DIR = Path(__file__).resolve().parents[1] / "build" / "test-notebooks"


@cache
def smoke_claims(stem: str) -> dict:
    """Run ``notebooks/<stem>.ipynb`` at smoke size on the CPU and return its recorded claims.

    Set ``IMGSIM_CLAIMS_DIR`` to a folder holding records from an earlier run
    (for example a full-size ``make course``) to check those instead.
    """
    existing = os.environ.get("IMGSIM_CLAIMS_DIR")
    if existing:
        return load_claims(existing, stem)
    # A cell that hangs must fail the run, not eat CI's time: smoke cells take seconds.
    execute_notebook(NOTEBOOK_DIR / f"{stem}.ipynb", RUN_DIR, smoke=True, device="cpu", timeout=300)
    return load_claims(RUN_DIR / "results", stem)
