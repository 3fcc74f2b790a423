"""The MATLAB reference values are read from the reference folder's README, never copied into the repository."""

from __future__ import annotations

from pathlib import Path

import pytest

from imgsim_helpers.core.errors import ImageNotFoundError, UnknownMethodError
from imgsim_helpers.lessons import reference_values as rv

README_ROWS = (
    "| metric (MATLAB program) | pair | value |\n|---|---|---|\n"
    "| FSIM, `FeatureSIM.m` first output, gray input used as is | goldhill.gif vs goldhill_jpeg.gif | 0.50000 |\n"
    "| FSIMc, `FeatureSIM.m` second output | I01.BMP vs i01_01_5.bmp | 0.25000 |\n"
    "| SSIM, Wang's `ssim.m`, each RGB channel separately, then the mean | I01.BMP vs i01_01_5.bmp | 0.7500 |\n"
    "| file | what it is | md5 |\n| `goldhill.gif` | 512×512 8-bit gray | a6b4d1d0 |\n"
)


@pytest.fixture
def readme_folder(tmp_path) -> Path:
    (tmp_path / "README.md").write_text(README_ROWS)
    return tmp_path


def test_rows_of_the_values_table_are_read_with_their_precision(readme_folder):
    values = rv.readme_values(readme_folder)
    assert [(v.metric, v.pair, v.file2, v.mode, v.value, v.decimals) for v in values] == [
        ("FSIM", "goldhill", "goldhill_jpeg.gif", "gray", 0.5, 5),
        ("FSIMc", "I01", "i01_01_5.bmp", "rgb", 0.25, 5),
        ("SSIM", "I01", "i01_01_5.bmp", "rgb", 0.75, 4),
    ]
    assert [v.metric for v in rv.readme_values(readme_folder, metrics=("SSIM",))] == ["SSIM"]
    assert rv.matlab_value("FSIMc", "I01", readme_folder).value == 0.25


def test_an_unknown_value_names_the_recorded_ones(readme_folder):
    with pytest.raises(UnknownMethodError, match="FSIM on goldhill"):
        rv.matlab_value("FSIM", "lena", readme_folder)


def test_a_missing_readme_or_table_is_a_typed_error_naming_the_variable(tmp_path):
    with pytest.raises(ImageNotFoundError, match=rv.REFERENCE_ENV):
        rv.readme_values(tmp_path / "missing")
    (tmp_path / "README.md").write_text("nothing here\n")
    with pytest.raises(ImageNotFoundError, match="lists no FSIM or FSIMc value"):
        rv.readme_values(tmp_path, metrics=("FSIM", "FSIMc"))


def test_the_folder_given_then_the_variable_then_the_shared_folder(monkeypatch, tmp_path):
    monkeypatch.setenv(rv.REFERENCE_ENV, str(tmp_path))
    assert rv.reference_dir("/given") == Path("/given")
    assert rv.reference_dir() == tmp_path
    monkeypatch.delenv(rv.REFERENCE_ENV)
    # the shared folder beside the checkout, whatever the working directory
    assert rv.reference_dir() == Path(__file__).resolve().parents[2] / "shared" / "reference-iqa"


def test_the_real_readme_records_every_value_the_parity_tests_need(matlab_values):
    # FeatureSIM.m on both pairs, ssim.m on both pairs: the values tests/test_fsim.py and test_ssim.py compare with
    assert {("FSIM", "goldhill"), ("FSIM", "I01"), ("FSIMc", "I01"), ("SSIM", "goldhill"), ("SSIM", "I01")} <= set(matlab_values)
    assert all(0.5 < value < 1.0 for value in matlab_values.values())
