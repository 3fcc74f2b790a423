"""Recording the numbers a notebook's prose relies on, for the claim tests.

A notebook creates one :class:`ClaimRecorder`, records each number that a
sentence states, and the recorder keeps ``OUTPUT_DIR/<notebook>.results.json``
up to date after every record. A test then executes the notebook and asserts
each claim on that file, so the prose cannot drift from what the code shows.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np

from imgsim_helpers.core.errors import InvalidParameterError

SMOKE_ENV = "IMGSIM_SMOKE"


def smoke_default() -> bool:
    """The default of a notebook's ``SMOKE`` parameter: ``IMGSIM_SMOKE`` is ``1``/``true``/``yes``/``on``.

    >>> from unittest import mock
    >>> with mock.patch.dict(os.environ, {SMOKE_ENV: " True "}):
    ...     smoke_default()
    True
    >>> with mock.patch.dict(os.environ, {SMOKE_ENV: "0"}):
    ...     smoke_default()
    False
    >>> with mock.patch.dict(os.environ, clear=True):  # unset: full size
    ...     smoke_default()
    False
    """
    return os.environ.get(SMOKE_ENV, "0").strip().lower() in {"1", "true", "yes", "on"}


def _to_json(value):
    if isinstance(value, dict):
        return {str(k): _to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_to_json(v) for v in value]
    if isinstance(value, np.ndarray):
        return _to_json(value.tolist())
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating | float):
        value = float(value)
        if not math.isfinite(value):
            raise InvalidParameterError(f"claim values must be finite; got {value}")
        return value
    if value is None or isinstance(value, int | str):
        return value
    raise InvalidParameterError(
        f"claim values must be numbers, strings, booleans, lists or dicts; got {type(value).__name__}"
    )


class ClaimRecorder:
    """Collects named values and writes them to ``<output_dir>/<notebook>.results.json``.

    Parameters
    ----------
    notebook
        The notebook's stem, for example ``"01_histograms"``.
    output_dir
        Folder for the record; created if missing.
    smoke
        Whether the notebook runs at smoke size (stored with the values).

    Examples
    --------
    >>> import tempfile
    >>> rec = ClaimRecorder("demo", tempfile.mkdtemp())
    >>> rec.record("answer", np.float64(0.5))
    >>> load_claims(rec.output_dir, "demo")["answer"]
    0.5
    """

    def __init__(self, notebook: str, output_dir: str | os.PathLike, *, smoke: bool = False):
        if not notebook or "/" in notebook:
            raise InvalidParameterError(f"notebook must be a file stem like '01_histograms'; got {notebook!r}")
        self.notebook = notebook
        self.output_dir = Path(output_dir)
        self.output_dir.mkdir(parents=True, exist_ok=True)
        self.values: dict = {"_smoke": bool(smoke)}
        self._write()

    @property
    def path(self) -> Path:
        return self.output_dir / f"{self.notebook}.results.json"

    def record(self, name: str, value) -> None:
        """Store ``value`` under ``name`` (as JSON) and write the file.

        Returns nothing, so a notebook cell that ends with a ``record`` call shows no
        ``Out[]`` echo of the value.
        """
        if not isinstance(name, str) or not name or name.startswith("_"):
            raise InvalidParameterError(f"claim names are non-empty and do not start with '_'; got {name!r}")
        self.values[name] = _to_json(value)
        self._write()

    def _write(self) -> None:
        tmp = self.path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(self.values, indent=2, sort_keys=True))
        tmp.replace(self.path)


def load_claims(output_dir: str | os.PathLike, notebook: str) -> dict:
    """Read the record a notebook wrote into ``output_dir``."""
    path = Path(output_dir) / f"{notebook}.results.json"
    if not path.is_file():
        raise FileNotFoundError(f"no claim record at {path}; execute the notebook {notebook!r} first")
    return json.loads(path.read_text())
