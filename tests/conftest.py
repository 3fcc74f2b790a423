"""Shared fixtures: the reference-image folder and quiet plotting."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

REPO_ROOT = Path(__file__).resolve().parents[1]
REFERENCE_ENV = "IMGSIM_REFERENCE_DIR"


def reference_dir() -> Path:
    """Where the MATLAB reference images live (never copied into this repository)."""
    return Path(os.environ.get(REFERENCE_ENV, REPO_ROOT.parent / "shared" / "reference-iqa"))


@pytest.fixture(scope="session")
def reference_images() -> Path:
    """The reference folder; the test is skipped, saying where to get it, when it is absent."""
    folder = reference_dir()
    if not (folder / "goldhill.gif").is_file():
        pytest.skip(
            f"reference images not found in {folder}: set {REFERENCE_ENV} to a folder holding "
            "goldhill.gif, goldhill_jpeg.gif, I01.BMP and i01_01_5.bmp (TID2013 and the FSIM "
            "authors' test images)"
        )
    return folder
