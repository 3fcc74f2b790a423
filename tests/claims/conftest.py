"""The claim tests' shared fixture: the record of the notebook each test module is named after."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.notebook_runs import smoke_claims


@pytest.fixture(scope="module")
def claims(request) -> dict:
    """``tests/claims/test_05_clip.py`` checks ``notebooks/05_clip.ipynb``: the claims its smoke run recorded."""
    return smoke_claims(Path(request.module.__file__).stem.removeprefix("test_"))
