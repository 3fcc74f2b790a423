"""load_image and the array helpers: formats, conversions, and every bad-input case."""

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image

import imgsim_helpers as h
from imgsim_helpers.core.errors import (
    EmptyImageError,
    ImageLoadError,
    ImageNotFoundError,
    ImageTooSmallError,
    ImageTypeError,
    InvalidImageError,
    ShapeMismatchError,
    UnknownMethodError,
)


def save(tmp_path: Path, name: str, image: Image.Image, **kwargs) -> Path:
    path = tmp_path / name
    image.save(path, **kwargs)
    return path


# ----------------------------------------------------------------------------- load_image: errors


def test_missing_file_is_a_file_not_found_error_naming_the_path():
    with pytest.raises(FileNotFoundError, match="missing.png") as info:
        h.load_image("missing.png")
    assert isinstance(info.value, ImageNotFoundError)


def test_directory(tmp_path):
    with pytest.raises(ImageLoadError, match="directory") as info:
        h.load_image(tmp_path)
    assert str(tmp_path) in str(info.value)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    with pytest.raises(ImageLoadError, match=r"empty.png.*empty \(0 bytes\)"):
        h.load_image(path)


def test_text_file_named_png(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("hello")
    with pytest.raises(ImageLoadError, match=r"notes.png.*not an image"):
        h.load_image(path)


def test_truncated_image(tmp_path):
    whole = save(tmp_path, "whole.png", Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)))
    cut = tmp_path / "cut.png"
    cut.write_bytes(whole.read_bytes()[:400])
    with pytest.raises(ImageLoadError, match=r"cut.png.*truncated"):
        h.load_image(cut)


def test_unknown_mode(tmp_path):
    path = save(tmp_path, "a.png", Image.new("RGB", (2, 2)))
    with pytest.raises(UnknownMethodError, match="rgb, gray, rgba"):
        h.load_image(path, mode="bgr")


def test_load_errors_are_value_errors_for_callers_that_catch_those(tmp_path):
    path = tmp_path / "x.png"
    path.write_text("no")
    with pytest.raises(ValueError):
        h.load_image(path)


# ----------------------------------------------------------------------------- load_image: conversions


def test_rgb_order_is_kept(tmp_path):
    path = save(tmp_path, "red.png", Image.new("RGB", (3, 2), (255, 0, 0)))
    image = h.load_image(path)
    assert image.shape == (2, 3, 3) and image.dtype == np.uint8
    assert image[0, 0].tolist() == [255, 0, 0]


def test_gray_file_in_every_mode(tmp_path):
    path = save(tmp_path, "g.png", Image.new("L", (4, 3), 77))
    assert h.load_image(path).shape == (3, 4, 3)
    assert h.load_image(path, mode="gray").tolist() == [[77] * 4] * 3
    rgba = h.load_image(path, mode="rgba")
    assert rgba.shape == (3, 4, 4) and (rgba[..., 3] == 255).all()


def test_sixteen_bit_png_is_divided_by_257(tmp_path):
    values = np.array([[0, 257, 65535, 32896]], np.uint16)
    path = save(tmp_path, "16.png", Image.fromarray(values))
    assert h.load_image(path, mode="gray").tolist() == [[0, 1, 255, 128]]


def test_palette_file_gives_colours_not_indices(tmp_path):
    image = Image.new("P", (2, 1))
    image.putpalette([10, 20, 30, 200, 100, 50] + [0] * 762)
    image.putpixel((0, 0), 0)
    image.putpixel((1, 0), 1)
    path = save(tmp_path, "p.png", image)
    assert h.load_image(path).tolist() == [[[10, 20, 30], [200, 100, 50]]]


def test_alpha_is_composited_for_rgb_and_kept_for_rgba(tmp_path):
    pixels = np.array([[[255, 0, 0, 0], [0, 0, 255, 255], [0, 0, 0, 128]]], np.uint8)
    path = save(tmp_path, "a.png", Image.fromarray(pixels, "RGBA"))
    assert h.load_image(path).tolist() == [[[255, 255, 255], [0, 0, 255], [127, 127, 127]]]
    assert h.load_image(path, background=(0, 0, 0))[0, 0].tolist() == [0, 0, 0]
    assert h.load_image(path, mode="rgba").tolist() == pixels.tolist()
    assert h.load_image(path, mode="gray")[0, 0] == 255


def test_exif_orientation_is_applied(tmp_path):
    stored = np.zeros((10, 20, 3), np.uint8)
    stored[:, :10] = 255  # left half white as stored
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    path = save(tmp_path, "e.jpg", Image.fromarray(stored), exif=exif.tobytes(), quality=100)
    loaded = h.load_image(path)
    assert loaded.shape == (20, 10, 3)
    assert loaded[:10].mean() > 200 and loaded[10:].mean() < 50  # left became top


def test_course_files_load():
    assert h.load_image(h.course_path("coins_palette")).shape == (303, 384, 3)
    assert h.load_image(h.course_path("camera_16bit"), mode="gray").dtype == np.uint8


# ----------------------------------------------------------------------------- check_image and conversions


@pytest.mark.parametrize(
    ("bad", "error"),
    [
        ([[1, 2], [3, 4]], ImageTypeError),
        (np.zeros((4, 4), np.int64), ImageTypeError),
        (np.zeros((4, 4), np.complex64), ImageTypeError),
        (np.zeros((4,), np.uint8), InvalidImageError),
        (np.zeros((4, 4, 2), np.uint8), InvalidImageError),
        (np.zeros((2, 4, 4, 3), np.uint8), InvalidImageError),
        (np.zeros((0, 4), np.uint8), EmptyImageError),
        (np.zeros((4, 0, 3), np.uint8), EmptyImageError),
        (np.full((4, 4), np.nan), InvalidImageError),
        (np.full((4, 4, 3), np.inf, np.float32), InvalidImageError),
    ],
)
def test_validate_image_rejects(bad, error):
    with pytest.raises(error):
        h.check_image(bad)


def test_validate_image_min_size_and_channel_squeeze():
    with pytest.raises(ImageTooSmallError, match="at least 7×7"):
        h.check_image(np.zeros((5, 9), np.uint8), min_size=7)
    assert h.check_image(np.zeros((3, 3, 1), np.uint8)).shape == (3, 3)


def test_pil_image_gets_a_hint():
    with pytest.raises(ImageTypeError, match="np.asarray"):
        h.check_image(Image.new("RGB", (2, 2)))


def test_float_out_of_range_is_rejected_with_a_hint():
    with pytest.raises(InvalidImageError, match="divide by 255"):
        h.to_float(np.full((2, 2), 200.0))


@settings(max_examples=40, deadline=None)
@given(arrays(np.uint8, st.tuples(st.integers(1, 8), st.integers(1, 8), st.sampled_from([3, 4]))))
def test_uint8_float_round_trip(image):
    assert np.array_equal(h.to_uint8(h.to_float(image)), image)


def test_uint16_and_bool_conversions():
    assert h.to_uint8(np.array([[65535, 0]], np.uint16)).tolist() == [[255, 0]]
    assert h.to_float(np.array([[True, False]])).tolist() == [[1.0, 0.0]]


def test_to_gray_uses_bt601_weights_and_keeps_dtype():
    rgb = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255]]], np.uint8)
    assert h.to_gray(rgb).tolist() == [[76, 150, 29]]
    assert h.to_gray(rgb.astype(np.float32) / 255).dtype == np.float32
    gray = np.zeros((2, 2), np.uint8)
    assert h.to_gray(gray) is gray


def test_to_gray_matches_opencv():
    import cv2

    image = h.course_image("coffee", max_side=64)
    assert np.abs(h.to_gray(image).astype(int) - cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(int)).max() <= 1


def test_to_rgb_and_composite_alpha():
    assert h.to_rgb(np.zeros((2, 2), np.uint8)).shape == (2, 2, 3)
    rgba = np.zeros((1, 1, 4), np.float64)
    assert h.composite_alpha(rgba, background=(255, 0, 0)).tolist() == [[[1.0, 0.0, 0.0]]]
    with pytest.raises(InvalidImageError):
        h.composite_alpha(np.zeros((2, 2, 3), np.uint8))
    with pytest.raises(ValueError, match="three values"):
        h.composite_alpha(np.zeros((1, 1, 4), np.uint8), background=(300, 0, 0))


# ----------------------------------------------------------------------------- align_pair


def test_align_pair_policies():
    a, b = np.zeros((40, 60, 3), np.uint8), np.full((30, 80, 3), 9, np.uint8)
    with pytest.raises(ShapeMismatchError, match=r"\(40, 60, 3\).*\(30, 80, 3\).*align_pair"):
        h.align_pair(a, b)
    ra, rb = h.align_pair(a, b, policy="resize")
    assert ra is a and rb.shape == a.shape and (rb == 9).all()
    ca, cb = h.align_pair(a, b, policy="crop")
    assert ca.shape == cb.shape == (30, 60, 3)
    pa, pb = h.align_pair(a, b, policy="pad", fill=255)
    assert pa.shape == pb.shape == (40, 80, 3)
    assert (pa[:, :10] == 255).all() and (pb[:5] == 255).all()


def test_align_pair_equal_sizes_untouched_and_bad_inputs():
    a = np.zeros((5, 5), np.uint8)
    assert h.align_pair(a, a.copy(), policy="error")[0] is a
    with pytest.raises(UnknownMethodError, match="error, resize, crop, pad"):
        h.align_pair(a, a, policy="stretch")
    with pytest.raises(ShapeMismatchError, match="to_gray"):
        h.align_pair(a, np.zeros((5, 5, 3), np.uint8))


def test_resize_rejects_bad_sizes():
    with pytest.raises(ValueError):
        h.resize(np.zeros((4, 4), np.uint8), (0, 3))


def test_too_many_pixels_is_reported_as_such_not_as_a_corrupt_file(tmp_path):
    path = save(tmp_path, "wide.png", Image.new("RGB", (300, 200)))
    with pytest.raises(ImageLoadError) as caught:
        h.load_image(path, max_pixels=50_000)
    assert "300×200 pixels" in str(caught.value) and "corrupt" not in str(caught.value)


def test_luma_is_the_one_luminance_behind_to_gray():
    from imgsim_helpers.images.io import luma

    rgb = h.course_image("coffee", max_side=32)
    np.testing.assert_array_equal(h.to_gray(rgb.astype(np.float64) / 255.0), luma(rgb.astype(np.float64) / 255.0))
    np.testing.assert_array_equal(h.to_gray(rgb), np.round(luma(rgb)).astype(np.uint8))


def test_a_bad_background_is_refused_even_for_an_opaque_file(tmp_path):
    path = save(tmp_path, "opaque.png", Image.new("RGB", (2, 2)))
    with pytest.raises(ValueError, match="background must be three values"):
        h.load_image(path, background=(0, 0))
    with pytest.raises(ValueError, match="background"):
        h.to_rgb(np.zeros((2, 2), np.uint8), background="white")
