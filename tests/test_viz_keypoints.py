"""Keypoint drawings in viz: keypoints, matches and inliers."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
from skimage import data

from imgsim_helpers.core.errors import InvalidImageError, InvalidParameterError
from imgsim_helpers.images import viz
from imgsim_helpers.metrics.keypoints import detect_and_describe, keypoint_similarity


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_draw_keypoints_circles_and_angles():
    image = data.astronaut()
    f = detect_and_describe(image, method="surf", max_features=50)
    ax = viz.draw_keypoints(image, f, max_points=20)
    assert len(ax.patches) == 20 and len(ax.collections) == 1
    assert ax.get_title() == "20 of 50 keypoints"
    fig, own = plt.subplots()
    assert viz.draw_keypoints(data.camera(), f.xy, ax=own, max_points=None) is own
    assert len(own.patches) == 50


def test_draw_matches_colours_inliers_and_limits_lines():
    cam = data.camera()
    r = keypoint_similarity(cam, cam[50:400, 80:450], method="orb")
    ax = viz.draw_matches(cam, cam[50:400, 80:450], r.features1, r.features2, r.matches,
                          inliers=r.inliers, max_lines=30)
    lines = ax.collections[0]
    assert len(lines.get_segments()) == 30
    assert "inliers" in ax.get_title() and "30 drawn" in ax.get_title()
    # An RGB and a gray image of different sizes share one canvas.
    ax = viz.draw_matches(data.astronaut(), cam[:100], np.array([[1.0, 2.0]]), np.array([[3.0, 4.0]]), [[0, 0]])
    assert ax.images[0].get_array().shape == (512, 1024, 3)


def test_draw_matches_with_no_matches():
    cam = data.camera()
    ax = viz.draw_matches(cam, cam, np.zeros((0, 2)), np.zeros((0, 2)), np.zeros((0, 2), int))
    assert ax.get_title() == "0 matches"


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"matches": [[0, 5]]}, InvalidParameterError),
        ({"matches": [[0, 0]], "inliers": [True, False]}, InvalidParameterError),
        ({"matches": [[0, 0]], "max_lines": -1}, InvalidParameterError),
        ({"matches": [[0.5, 0]]}, InvalidParameterError),
    ],
)
def test_draw_matches_bad_input(kwargs, error):
    cam = data.camera()
    with pytest.raises(error):
        viz.draw_matches(cam, cam, np.ones((2, 2)), np.ones((2, 2)), **kwargs)


def test_bad_images_and_keypoints():
    with pytest.raises(InvalidImageError):
        viz.draw_keypoints(np.full((5, 5), np.nan), np.zeros((0, 2)))
    with pytest.raises(InvalidParameterError):
        viz.draw_keypoints(data.camera(), np.zeros((3,)))
