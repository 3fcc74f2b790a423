"""The transform library: identities, determinism, geometry, and out-of-range strengths."""

import numpy as np
import pytest

import imgsim_helpers as h
from imgsim_helpers.core.errors import InvalidParameterError, UnknownMethodError
from imgsim_helpers.images.transforms import TRANSFORMS, foreground_mask

IMAGE = h.course_image("astronaut", max_side=64)


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_every_transform_is_deterministic_keeps_dtype_and_sweeps(name):
    spec = TRANSFORMS[name]
    for strength in spec.sweep:
        first = h.apply_transform(IMAGE, name, strength, seed=3)
        assert np.array_equal(first, h.apply_transform(IMAGE, name, strength, seed=3))
        assert first.dtype == IMAGE.dtype


@pytest.mark.parametrize("name", sorted(set(TRANSFORMS) - {"jpeg", "transparency"}))
def test_identity_strength_changes_nothing(name):
    out = h.apply_transform(IMAGE, name, TRANSFORMS[name].identity)
    assert np.abs(out.astype(int) - IMAGE.astype(int)).max() <= 1, name


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_out_of_range_strength_is_a_typed_error(name):
    with pytest.raises(InvalidParameterError, match=name):
        h.apply_transform(IMAGE, name, TRANSFORMS[name].high + 1)
    with pytest.raises(InvalidParameterError):
        h.apply_transform(IMAGE, name, float("nan"))


def test_unknown_transform_lists_the_names():
    with pytest.raises(UnknownMethodError, match="shift, rotate"):
        h.apply_transform(IMAGE, "swirl", 1)


def test_float_and_gray_inputs_keep_their_type():
    gray = h.to_gray(IMAGE)
    assert h.apply_transform(gray, "rotate", 5).shape == gray.shape
    as_float = h.to_float(IMAGE).astype(np.float32)
    out = h.apply_transform(as_float, "noise", 10)
    assert out.dtype == np.float32 and 0 <= out.min() and out.max() <= 1


def test_shift_moves_content():
    image = np.zeros((8, 8), np.uint8)
    image[:, 2] = 255
    bright = np.flatnonzero(h.apply_transform(image, "shift", 3)[0] == 255).tolist()
    assert 5 in bright and 2 not in bright  # moved right by 3; index 1 is the mirrored edge


def test_rotate_180_twice_and_flip_180_agree():
    square = h.course_image("camera", mode="gray", max_side=63)[:63, :63]
    rotated = h.apply_transform(square, "rotate", 180)
    flipped = h.apply_transform(square, "flip", 3)
    assert np.abs(rotated.astype(int) - flipped.astype(int)).mean() < 1.0


def test_crop_size_and_seeded_position():
    out = h.apply_transform(IMAGE, "crop", 0.25, seed=1)
    assert out.shape[:2] == (48, 48)
    positions = {h.apply_transform(IMAGE, "crop", 0.5, seed=s).tobytes() for s in range(5)}
    assert len(positions) > 1


def test_noise_strength_is_its_standard_deviation():
    flat = np.full((200, 200), 128, np.uint8)
    assert h.apply_transform(flat, "noise", 10, seed=0).astype(float).std() == pytest.approx(10, rel=0.05)


def test_jpeg_degrades_with_lower_quality_and_keeps_rgb_order():
    red = np.zeros((32, 32, 3), np.uint8)
    red[..., 0] = 220
    assert h.apply_transform(red, "jpeg", 90)[..., 0].mean() > 200
    errors = [np.abs(h.apply_transform(IMAGE, "jpeg", q).astype(int) - IMAGE).mean() for q in (95, 50, 5)]
    assert errors == sorted(errors)


def test_brightness_and_contrast():
    assert h.apply_transform(IMAGE, "brightness", 30).mean() > IMAGE.mean() + 20
    low = h.apply_transform(IMAGE, "contrast", 0.5)
    assert low.astype(float).std() < IMAGE.astype(float).std() * 0.6


def test_text_overlay_changes_a_small_region():
    out = h.apply_transform(IMAGE, "text_overlay", 0.2, seed=2)
    changed = np.any(out != IMAGE, axis=2).mean()
    assert 0.01 < changed < 0.5


def test_background_and_transparency_touch_only_the_background():
    page = h.course_image("screenshot_mobile", max_side=160)
    mask = foreground_mask(page)
    assert 0.05 < mask.mean() < 0.8
    changed = h.apply_transform(page, "background", 1.0, seed=4)
    assert np.array_equal(changed[mask], page[mask])
    assert not np.array_equal(changed[~mask], page[~mask])
    rgba = h.apply_transform(page, "transparency", 1.0)
    assert rgba.shape == page.shape[:2] + (4,)
    assert (rgba[..., 3][~mask] == 0).all() and (rgba[..., 3][mask] == 255).all()


def test_foreground_of_rgba_is_its_alpha():
    rgba = h.course_image("horse_transparent", mode="rgba")
    assert np.array_equal(foreground_mask(rgba), rgba[..., 3] > 0)
