"""Course images: manifest, loading, and the deterministic builder of derived images."""

import csv

import numpy as np
import pytest

import imgsim_helpers as h
from imgsim_helpers.core.errors import EmptyInputError, ImageLoadError, UnknownMethodError
from imgsim_helpers.images.data import data_dir, manifest
from tools.course_data import build_course_data


def test_manifest_rows_have_source_and_licence():
    for row in manifest():
        assert row.source and row.licence and row.how_made, row.name


def test_committed_manifest_matches_the_code():
    with (data_dir() / "manifest.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["name"] for r in rows] == [m.name for m in manifest()]
    assert all(r["licence"] for r in rows)


@pytest.mark.parametrize("name", h.list_course_images())
def test_every_course_image_loads_as_rgb_uint8(name):
    image = h.course_image(name, max_side=96)
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
    assert max(image.shape[:2]) <= 96


@pytest.mark.parametrize("name", h.list_course_images(kind="broken"))
def test_broken_files_raise(name):
    with pytest.raises(ImageLoadError, match=name):
        h.course_image(name)


def test_builder_is_deterministic_and_matches_the_committed_files(tmp_path):
    written = build_course_data(tmp_path)
    for path in written:
        committed = data_dir() / path.name
        assert committed.exists(), f"{path.name} is built but not committed; run python -m tools.course_data build"
        if path.suffix in (".png", ".gif") and "broken" not in path.name and path.name not in ("truncated.png", "not_an_image.png"):
            assert np.array_equal(h.load_image(path, mode="rgba"), h.load_image(committed, mode="rgba")), path.name
        elif path.suffix == ".jpg":
            diff = np.abs(h.load_image(path).astype(int) - h.load_image(committed).astype(int)).max()
            assert diff <= 2, path.name
    again = build_course_data(tmp_path / "again")
    assert [p.read_bytes() for p in written] == [p.read_bytes() for p in again]


def test_modes_and_lists():
    assert h.course_image("astronaut", mode="gray").ndim == 2
    assert h.course_image("astronaut", mode="rgba").shape[2] == 4
    assert "truncated" not in h.list_course_images()
    assert set(h.list_course_images(kind="broken")) == {"truncated", "not_an_image"}
    with pytest.raises(UnknownMethodError, match="astronaut"):
        h.course_image("astronot")
    with pytest.raises(UnknownMethodError):
        h.list_course_images(kind="photos")
    with pytest.raises(EmptyInputError):
        h.course_gallery([])


def test_get_image_accepts_names_and_paths():
    by_name = h.get_image("coins", max_side=64)
    by_path = h.get_image(h.course_path("coins"), max_side=64)
    assert np.array_equal(by_name, by_path)
    with pytest.raises(FileNotFoundError, match="nope.png"):
        h.get_image("nope.png")
