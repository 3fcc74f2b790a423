"""The values the authors' MATLAB programs printed on the reference pairs, read from one place.

The reference folder (``$IMGSIM_REFERENCE_DIR``, else ``shared/reference-iqa`` beside the
checkout) holds the test images and a ``README.md`` whose table records what ``FeatureSIM.m``
and ``ssim.m`` printed. Tests, benchmarks and notebooks read the values from that table through
this module, so the repository holds no copy of them; without the folder the readers raise
:class:`~imgsim_helpers.core.errors.ImageNotFoundError` and the tests skip, saying why.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from imgsim_helpers.core.errors import ImageNotFoundError, unknown_name

__all__ = ["DEFAULT_REFERENCE_DIR", "REFERENCE_ENV", "MatlabValue", "matlab_value", "readme_values", "reference_dir"]

#: Environment variable naming the folder that holds the reference images and their README.
REFERENCE_ENV = "IMGSIM_REFERENCE_DIR"
#: Where to look when the variable is unset: the ``shared`` folder beside the checkout,
#: anchored to this file so the answer does not depend on the working directory.
DEFAULT_REFERENCE_DIR = Path(__file__).resolve().parents[3] / "shared" / "reference-iqa"

# A row of the README's table: | METRIC, program ... | file1 vs file2 | value |
_README_ROW = re.compile(r"^\|\s*(FSIMc?|SSIM),[^|]*\|\s*([\w.]+)\s+vs\s+([\w.]+)\s*\|\s*([0-9]+\.([0-9]+))\s*\|$")


@dataclass(frozen=True)
class MatlabValue:
    """One value a MATLAB program printed on a reference pair, with the precision it was printed to."""

    pair: str  # the first file's stem: "goldhill", "I01"
    file1: str
    file2: str
    mode: str  # how the program reads the files: "gray" (the GIFs) or "rgb"
    metric: str  # "FSIM", "FSIMc" or "SSIM"
    value: float
    decimals: int


def reference_dir(folder: str | os.PathLike | None = None) -> Path:
    """The reference folder: ``folder`` if given, else ``$IMGSIM_REFERENCE_DIR``, else :data:`DEFAULT_REFERENCE_DIR`.

    >>> reference_dir("/data/iqa").as_posix()
    '/data/iqa'
    """
    if folder is None or str(folder) == "":
        folder = os.environ.get(REFERENCE_ENV) or DEFAULT_REFERENCE_DIR
    return Path(folder)


def readme_values(folder: str | os.PathLike | None = None, *, metrics=("FSIM", "FSIMc", "SSIM")) -> tuple[MatlabValue, ...]:
    """The values of ``metrics`` that the reference folder's ``README.md`` records, in its order.

    Raises :class:`~imgsim_helpers.core.errors.ImageNotFoundError` when the folder has no
    README or the README lists none of ``metrics``; the message names the folder and the variable.

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "README.md").write_text("| FSIM, `FeatureSIM.m` | a.gif vs b.gif | 0.50 |\\n")
    >>> readme_values(folder)
    (MatlabValue(pair='a', file1='a.gif', file2='b.gif', mode='gray', metric='FSIM', value=0.5, decimals=2),)
    """
    folder = reference_dir(folder)
    readme = folder / "README.md"
    if not readme.is_file():
        raise ImageNotFoundError(
            f"no README.md with the MATLAB reference values in {folder.resolve()}; set {REFERENCE_ENV} to the "
            "reference-iqa folder (the reference images and the README that records FeatureSIM.m's and ssim.m's values)"
        )
    values = []
    for line in readme.read_text(encoding="utf-8").splitlines():
        match = _README_ROW.match(line.strip())
        if match and match[1] in metrics:
            metric, file1, file2, value, digits = match.groups()
            mode = "gray" if file1.lower().endswith(".gif") else "rgb"
            values.append(MatlabValue(Path(file1).stem, file1, file2, mode, metric, float(value), len(digits)))
    if not values:
        raise ImageNotFoundError(f"{readme} lists no {' or '.join(metrics)} value in its table")
    return tuple(values)


def matlab_value(metric: str, pair: str, folder: str | os.PathLike | None = None) -> MatlabValue:
    """The recorded value of ``metric`` (``"FSIM"``, ``"FSIMc"``, ``"SSIM"``) on ``pair`` (``"goldhill"``, ``"I01"``)."""
    values = {(v.metric, v.pair): v for v in readme_values(folder)}
    if (metric, pair) not in values:
        raise unknown_name("reference value", f"{metric} on {pair}", [f"{m} on {p}" for m, p in values])
    return values[(metric, pair)]
