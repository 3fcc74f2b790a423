"""Every number the prose of notebook 00 relies on, checked on the executed notebook."""

import pytest

pytestmark = pytest.mark.notebook


def test_imread_fails_silently_where_load_image_raises(claims):
    assert claims["imread_missing_is_none"] is True
    assert claims["load_missing_error"] == "ImageNotFoundError"
    assert claims["imread_broken_all_none"] is True
    assert claims["load_broken_messages_name_file"] is True
    assert claims["n_broken_files"] == 2


def test_bgr_is_the_reversed_rgb_and_changes_the_histogram(claims):
    assert claims["bgr_is_reversed_rgb"] is True
    assert claims["bgr_histogram_correlation"] < 0.95


def test_exif_orientation(claims):
    raw, loaded, imread = claims["exif_raw_shape"], claims["exif_loaded_shape"], claims["exif_imread_shape"]
    assert raw[:2] == loaded[:2][::-1], "Pillow's raw array is sideways"
    assert loaded[0] < loaded[1], "the cat photo is landscape once upright"
    assert imread == loaded, "OpenCV's imread applies the EXIF tag too"


def test_transparency(claims):
    assert claims["transparent_fraction"] > 0.3
    assert claims["dropped_alpha_black_fraction"] == 1.0
    assert claims["imread_black_fraction"] == 1.0
    assert claims["composited_white_fraction"] == 1.0


def test_sixteen_bit_round_trip_is_exact(claims):
    assert claims["camera16_max_abs_difference"] == 0


def test_resize_stretches_the_four_by_three_screenshot(claims):
    assert claims["resize_horizontal_stretch"] == pytest.approx(1.2)


def test_transforms(claims):
    assert claims["n_transforms"] == 13
    assert claims["transform_deterministic"] is True
    assert claims["n_course_images"] >= 20


def test_background_transforms_need_a_plain_background(claims):
    # "Here are the eleven that change the picture itself"
    assert claims["n_picture_transforms"] == 11
    # "On coffee each changes only a few percent of the pixels; on the horse on white, more than half"
    for name in ("background", "transparency"):
        assert claims["background_transform_changed_coffee"][name] < 0.1, name
        assert claims["background_transform_changed_horse"][name] > 0.5, name


def test_worked_solutions(claims):
    # exercise 1: "tag 6, and the stored height and width swapped by the loader"
    assert claims["solution_exif_orientation"] == 6
    # exercise 2: "the mean colour hides the horse; white separates it best"
    separation = claims["solution_horse_separation"]
    assert max(separation, key=separation.get) == "white"
    assert min(separation, key=separation.get).startswith("horse's mean colour")
    # exercise 3: "'resize' scores far above 'crop' and 'pad', and resizing the original down scores higher still"
    scores = claims["solution_thumbnail_policies"]
    assert scores["resize"] > max(scores["crop"], scores["pad"]) + 0.3
    assert scores["original down"] > scores["resize"]
