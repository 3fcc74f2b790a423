"""The offline Omniglot-like glyph set: coverage, no look-alike classes, determinism, splits, bad input."""

import numpy as np
import pytest

from imgsim_helpers.core.errors import EmptyInputError, InvalidParameterError
from imgsim_helpers.lessons import glyphs


@pytest.fixture(scope="module")
def small_set():
    return glyphs.make_glyph_set(per_class=3, seed=5)


def test_catalogue_has_many_classes_from_every_script():
    catalogue = glyphs.glyph_catalogue()
    assert len(catalogue) >= 300
    assert {g.script for g in catalogue} == set(glyphs.SCRIPTS)
    assert len({g.char for g in catalogue}) == len(catalogue)
    assert catalogue[0] == glyphs.Glyph("A", 65, "latin")


def test_catalogue_only_holds_codepoints_the_font_draws():
    from matplotlib import ft2font

    charmap = ft2font.FT2Font(str(glyphs.font_path())).get_charmap()
    assert all(charmap.get(g.codepoint, 0) != 0 for g in glyphs.glyph_catalogue())


def test_look_alikes_are_merged():
    chars = {g.char for g in glyphs.glyph_catalogue()}
    assert "A" in chars and "\u0391" not in chars and "\u0410" not in chars  # Greek Alpha, Cyrillic A
    assert "O" in chars and "o" not in chars and "\u041e" not in chars  # o and Cyrillic O fill the box like O
    assert not {"I", "l"} <= chars
    # pairs that differ by a stroke stay apart
    assert {"\u05d8", "\u05e1"} <= chars  # Hebrew tet and samekh


def test_no_two_classes_have_the_same_stroke_signature():
    cuts = glyphs._catalogue()[1]
    signatures = np.stack([glyphs._stroke_signature(c) for c in cuts])
    unit = signatures / np.linalg.norm(signatures, axis=1, keepdims=True)
    similarity = unit @ unit.T
    np.fill_diagonal(similarity, 0)
    assert similarity.max() < glyphs.DUPLICATE_SIMILARITY


def test_glyph_set_shape_range_and_labels(small_set):
    n = small_set.n_classes
    assert n == len(glyphs.glyph_catalogue())
    assert small_set.images.shape == (3 * n, 28, 28)
    assert small_set.images.dtype == np.float32
    assert small_set.images.min() >= 0.0 and small_set.images.max() <= 1.0
    assert small_set.labels.tolist() == np.repeat(np.arange(n), 3).tolist()
    ink = small_set.images.reshape(len(small_set), -1).mean(axis=1)
    assert ink.min() > 0.03, "every drawing holds some ink"


def test_same_seed_same_images_other_seed_other_images(small_set):
    again = glyphs.make_glyph_set(per_class=3, seed=5)
    other = glyphs.make_glyph_set(per_class=3, seed=6)
    np.testing.assert_array_equal(small_set.images, again.images)
    assert not np.array_equal(small_set.images, other.images)


def test_drawings_vary_but_stay_closer_within_a_class(small_set):
    x = small_set.images.reshape(len(small_set), -1).astype(np.float64)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    sim = x @ x.T
    same = small_set.labels[:, None] == small_set.labels[None, :]
    off_diagonal = ~np.eye(len(x), dtype=bool)
    assert sim[same & off_diagonal].max() < 0.999, "drawings of a class are not copies"
    assert sim[same & off_diagonal].mean() > sim[~same].mean() + 0.1


def test_options_change_the_drawings():
    plain = glyphs.make_glyph_set(per_class=2, classes=[0, 1], rotation=0, scale=1.0, shear=0, shift=0,
                                  thickness=False, noise=0, seed=0)
    np.testing.assert_array_equal(plain.images[0], plain.images[1])  # nothing random left
    big = glyphs.make_glyph_set(per_class=1, classes=[3], size=64, seed=0)
    assert big.images.shape == (1, 64, 64)


def test_subset_and_split_classes(small_set):
    train, val, test = glyphs.split_classes(small_set, test=30, validation=20, seed=1)
    assert (test.n_classes, val.n_classes) == (30, 20)
    assert train.n_classes == small_set.n_classes - 50
    sets = [set(s.classes.tolist()) for s in (train, val, test)]
    assert not (sets[0] & sets[1]) and not (sets[0] & sets[2]) and not (sets[1] & sets[2])
    assert len(train) + len(val) + len(test) == len(small_set)
    assert glyphs.split_classes(small_set, test=5, seed=0)[1] is None
    sub = small_set.subset([4, 2])
    assert sub.classes.tolist() == [2, 4] and sub.chars() == small_set.chars([2, 4])


def test_digits_set():
    digits = glyphs.digits_set(size=28)
    assert digits.images.shape == (1797, 28, 28)
    assert digits.n_classes == 10
    assert digits.chars() == list("0123456789")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"per_class": 0},
        {"per_class": 2.5},
        {"size": 8},
        {"seed": -1},
        {"rotation": -1},
        {"scale": (1.2, 0.8)},
        {"scale": (0.1, 1.0)},
        {"shift": 0.9},
        {"noise": float("nan")},
        {"classes": [10_000]},
        {"classes": [-1]},
    ],
)
def test_bad_options_raise_typed_errors(kwargs):
    with pytest.raises(InvalidParameterError):
        glyphs.make_glyph_set(per_class=kwargs.pop("per_class", 1), **kwargs)


def test_empty_or_impossible_selections(small_set):
    with pytest.raises(EmptyInputError):
        glyphs.make_glyph_set(per_class=1, classes=[])
    with pytest.raises(EmptyInputError):
        small_set.subset([])
    with pytest.raises(InvalidParameterError, match="not in this glyph set"):
        small_set.subset(small_set.subset([1]).classes + 100_000)
    with pytest.raises(InvalidParameterError, match="fewer than 2"):
        glyphs.split_classes(small_set, test=small_set.n_classes - 1)
    with pytest.raises(InvalidParameterError):
        glyphs.split_classes(small_set, test=0)
    with pytest.raises(InvalidParameterError):
        glyphs.split_classes("not a set", test=3)
    with pytest.raises(InvalidParameterError):
        glyphs.digits_set(size=4)


def test_digit_free_classes_hold_no_digit_and_everything_else():
    catalogue = glyphs.glyph_catalogue()
    kept = glyphs.digit_free_classes()
    digits = [i for i, g in enumerate(catalogue) if g.char in "0123456789"]
    assert len(digits) == 10, "the font draws all ten digits, and no letter swallowed one"
    assert set(kept) == set(range(len(catalogue))) - set(digits)
    drawn = glyphs.make_glyph_set(per_class=1, classes=kept, seed=0)
    assert not any(c.isdigit() for c in drawn.chars())
