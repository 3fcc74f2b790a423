"""Plot helpers draw what they are given and refuse what they cannot draw."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

import imgsim_helpers as h
from imgsim_helpers.images import viz


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_show_images_titles_scores_and_wrapping():
    images = {f"img{i}": np.full((4, 4, 3), i * 30, np.uint8) for i in range(7)}
    fig = viz.show_images(images, scores=list(range(7)), cols=3)
    assert len(fig.axes) == 9
    assert fig.axes[1].get_title() == "img1\n1.000"
    assert not fig.axes[8].axison


def test_show_images_accepts_gray_float_and_rgba():
    fig = viz.show_images([np.zeros((3, 3)), np.ones((3, 3, 4), np.float32), np.zeros((3, 3), np.uint16)])
    assert len(fig.axes) == 3


def test_grid_histogram_curves_heatmap_map():
    assert len(viz.image_grid([[np.zeros((2, 2))] * 2, [np.zeros((2, 2))]], row_labels=["a", "b"]).axes) == 4
    for space in ("rgb", "hsv", "lab"):
        hist = h.color_histogram(h.course_image("coffee", max_side=32), space=space, bins=4)
        assert len(viz.plot_histogram(hist, space=space, top=10).patches) == 10
    assert len(viz.plot_histogram(np.ones(8), space="gray").patches) == 8
    ax = viz.plot_curves([0, 1], {"a": [1, 0], "b": [0, 1]}, xlabel="x")
    assert len(ax.lines) == 2
    ax = viz.plot_heatmap(np.eye(3), row_labels=list("abc"), col_labels=list("abc"))
    assert len(ax.texts) == 9
    viz.show_map(np.random.default_rng(0).random((5, 5)), title="m")


@pytest.mark.parametrize(
    "call",
    [
        lambda: viz.show_images([]),
        lambda: viz.show_images([np.zeros((2, 2))], titles=["a", "b"]),
        lambda: viz.show_images([np.zeros((2, 2), np.int64)]),
        lambda: viz.image_grid([]),
        lambda: viz.plot_histogram(np.array([])),
        lambda: viz.plot_curves([0, 1], {"a": [1]}, xlabel="x"),
        lambda: viz.plot_heatmap(np.ones(3)),
        lambda: viz.show_map(np.ones((2, 2, 2))),
    ],
)
def test_bad_input(call):
    with pytest.raises(h.ImgSimError):
        call()


def test_random_weights_mark_stamps_only_random_figures():
    fig, ax = plt.subplots(figsize=(6, 3))
    stamp = viz.mark_random_weights(ax, "random")
    assert stamp is not None and stamp in fig.texts
    assert stamp.get_text() == viz.RANDOM_WEIGHTS_MARK == "random weights — scores mean nothing"
    # on the figure itself, drawn above the axes, and inside the canvas
    assert stamp.get_zorder() > ax.get_zorder()
    fig.canvas.draw()
    box = stamp.get_window_extent()
    width, height = fig.canvas.get_width_height()
    assert 0 <= box.x0 < box.x1 <= width and 0 <= box.y0 < box.y1 <= height
    for weights in ("pretrained", "local", "none"):
        other = plt.figure()
        assert viz.mark_random_weights(other, weights) is None
        assert not other.texts


@pytest.mark.parametrize("call", [lambda: viz.mark_random_weights(plt.figure(), None),
                                  lambda: viz.mark_random_weights("not a figure", "random")])
def test_random_weights_mark_bad_input(call):
    with pytest.raises(h.InvalidParameterError):
        call()


def test_heatmap_writes_the_missing_text_in_nan_cells():
    ax = viz.plot_heatmap(np.array([[0.5, 1.0], [np.nan, np.nan]]), row_labels=["ran", "unavailable"], missing="n/a")
    assert [t.get_text() for t in ax.texts] == ["0.50", "1.00", "n/a", "n/a"]
    ax = viz.plot_heatmap(np.array([[0.5, np.nan]]))
    assert [t.get_text() for t in ax.texts] == ["0.50"]
