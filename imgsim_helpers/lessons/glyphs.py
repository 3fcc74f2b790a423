"""An Omniglot-like data set, generated offline: the letters of many scripts, each drawn many times.

One-shot learning needs *many* classes: a network learns a general notion of
"same character" only when it has seen hundreds of different characters. The
classic data set for this, Omniglot (1,623 handwritten characters from 50
alphabets), cannot be downloaded here, so this module draws a stand-in from
the DejaVu Sans font that matplotlib ships with every installation:

* the letters of the Latin, Greek, Cyrillic, Armenian, Hebrew and Georgian
  scripts, the digits (:func:`digit_free_classes` leaves them out) and a
  block of mathematical operators;
* codepoints without a glyph in the font are skipped, and classes that look
  the same are dropped (Latin ``A``, Greek ``Α`` and Cyrillic ``А`` are one
  shape; so are ``o`` and ``O`` once both fill the box): a class is kept only
  when its stroke signature differs from that of every class kept before it
  (cosine similarity below :data:`DUPLICATE_SIMILARITY`);
* every class is drawn ``per_class`` times with a random rotation, scale,
  shear, shift, stroke thickness and pixel noise, like several people
  writing the same character.

Everything is deterministic for a seed and is generated at run time in well
under a second, so nothing needs to be committed or downloaded. Images are
float32 in [0, 1] with the ink bright (1) on a dark (0) background, which is
what a network and a pixel distance both prefer.

Examples
--------
>>> glyphs = make_glyph_set(per_class=2, size=28, seed=0)
>>> glyphs.images.shape[1:], glyphs.images.dtype
((28, 28), dtype('float32'))
>>> glyphs.n_classes >= 300
True
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from imgsim_helpers.core.errors import EmptyInputError, ImageNotFoundError, InvalidParameterError
from imgsim_helpers.learned.embeddings import cosine_similarity_matrix

# script -> inclusive codepoint ranges, in the order classes are kept when two look alike
SCRIPTS: dict[str, tuple[tuple[int, int], ...]] = {
    "latin": ((0x41, 0x5A), (0x61, 0x7A), (0x30, 0x39)),
    "greek": ((0x391, 0x3A9), (0x3B1, 0x3C9)),
    "cyrillic": ((0x410, 0x44F),),
    "armenian": ((0x531, 0x556), (0x561, 0x586)),
    "hebrew": ((0x5D0, 0x5EA),),
    "georgian": ((0x10A0, 0x10C5), (0x10D0, 0x10FA)),
    "math": ((0x2200, 0x226F),),
}
# Two classes are one when the cosine similarity of their stroke signatures
# (centre lines at 48 px, one pen width, blurred; see _stroke_signature)
# reaches this. Ignoring stroke weight matters: once every glyph fills the
# box, "o" is a bolder "O", and the drawings vary the weight anyway. 0.93
# merges look-alikes across scripts (A, Α, А) and letter cases (o/O, v/V,
# ж/Ж) and keeps pairs that differ by a stroke (Hebrew samekh and tet).
DUPLICATE_SIMILARITY = 0.93
_DEDUPE_SIZE = 48
_PROTO_SCALE = 4  # prototypes are drawn at 4x the output size, then filtered down
_FILL = 0.78  # the glyph's longer side fills this fraction of the box
_FONT_PX = 96


@dataclass(frozen=True)
class Glyph:
    """One class of the glyph set: a character and the script it was taken from."""

    char: str
    codepoint: int
    script: str


@dataclass(frozen=True)
class GlyphSet:
    """Images of glyph classes, several drawings per class.

    Attributes
    ----------
    images
        ``float32`` array ``(N, size, size)`` in [0, 1], ink = 1.
    labels
        ``int64`` array ``(N,)``: the index of each image's class in ``glyphs``.
    glyphs
        Every class of the full catalogue (a subset keeps the catalogue, so
        labels stay comparable between subsets).
    """

    images: np.ndarray
    labels: np.ndarray
    glyphs: tuple[Glyph, ...]

    @property
    def classes(self) -> np.ndarray:
        """The class indices present, sorted."""
        return np.unique(self.labels)

    @property
    def n_classes(self) -> int:
        return int(self.classes.size)

    def __len__(self) -> int:
        return int(self.labels.size)

    def subset(self, classes) -> GlyphSet:
        """The images of the given class indices only (labels unchanged).

        Examples
        --------
        >>> g = make_glyph_set(per_class=2, seed=0)
        >>> g.subset([0, 5]).n_classes, len(g.subset([0, 5]))
        (2, 4)
        """
        wanted = np.unique(np.asarray(classes, dtype=np.int64).ravel())
        if wanted.size == 0:
            raise EmptyInputError("subset needs at least one class index")
        unknown = np.setdiff1d(wanted, self.classes)
        if unknown.size:
            raise InvalidParameterError(
                f"class indices {unknown[:5].tolist()} are not in this glyph set "
                f"(it holds {self.n_classes} classes); pick from glyph_set.classes"
            )
        keep = np.isin(self.labels, wanted)
        return GlyphSet(self.images[keep], self.labels[keep], self.glyphs)

    def chars(self, labels=None) -> list[str]:
        """The characters of ``labels`` (default: every class present)."""
        labels = self.classes if labels is None else np.asarray(labels).ravel()
        return [self.glyphs[int(i)].char for i in labels]


def font_path() -> Path:
    """The DejaVu Sans file that matplotlib ships (``mpl-data/fonts/ttf/DejaVuSans.ttf``).

    Examples
    --------
    >>> font_path().name
    'DejaVuSans.ttf'
    """
    import matplotlib

    path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    if not path.is_file():
        raise ImageNotFoundError(
            f"the glyph set is drawn from matplotlib's DejaVu Sans font, expected at {path}; "
            "reinstall matplotlib (pip install --force-reinstall matplotlib)"
        )
    return path


def _render(char: str, font) -> np.ndarray | None:
    """The glyph cut to its ink and fitted into a square prototype box (float32, 0..1)."""
    from PIL import Image, ImageDraw

    side = 2 * _FONT_PX
    canvas = Image.new("L", (side, side), 0)
    ImageDraw.Draw(canvas).text((side // 2, side // 2), char, fill=255, font=font, anchor="mm")
    ink = np.asarray(canvas)
    rows, cols = np.nonzero(ink.any(axis=1))[0], np.nonzero(ink.any(axis=0))[0]
    if rows.size == 0:
        return None
    cut = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1].astype(np.float32) / 255.0
    return cut


def _fit(cut: np.ndarray, box: int) -> np.ndarray:
    """Scale ``cut`` so that its longer side fills ``_FILL`` of a ``box``-pixel square, centred."""
    import cv2

    h, w = cut.shape
    factor = _FILL * box / max(h, w)
    new_h, new_w = max(1, round(h * factor)), max(1, round(w * factor))
    interpolation = cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR
    scaled = cv2.resize(cut, (new_w, new_h), interpolation=interpolation)
    out = np.zeros((box, box), np.float32)
    top, left = (box - new_h) // 2, (box - new_w) // 2
    out[top : top + new_h, left : left + new_w] = scaled
    return out


@functools.cache
def _covered_glyphs() -> tuple[tuple[Glyph, ...], tuple[np.ndarray, ...]]:
    """Every codepoint of :data:`SCRIPTS` that the font draws, with its cut-out ink."""
    from matplotlib import ft2font
    from PIL import ImageFont

    path = font_path()
    charmap = ft2font.FT2Font(str(path)).get_charmap()
    font = ImageFont.truetype(str(path), _FONT_PX)
    glyphs, cuts = [], []
    for script, ranges in SCRIPTS.items():
        for low, high in ranges:
            for codepoint in range(low, high + 1):
                if charmap.get(codepoint, 0) == 0:  # glyph index 0 is the font's "missing" box
                    continue
                rendered = _render(chr(codepoint), font)
                if rendered is None:
                    continue
                glyphs.append(Glyph(chr(codepoint), codepoint, script))
                cuts.append(rendered)
    return tuple(glyphs), tuple(cuts)


def _stroke_signature(cut: np.ndarray) -> np.ndarray:
    """The glyph's centre lines drawn with one fixed pen and blurred: blind to stroke weight."""
    import cv2
    from skimage.morphology import skeletonize

    fitted = _fit(cut, _DEDUPE_SIZE)
    lines = skeletonize(fitted > 0.5).astype(np.float32)
    lines = cv2.dilate(lines, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3)))
    return cv2.GaussianBlur(lines, (0, 0), 1.5).ravel()


@functools.cache
def _catalogue() -> tuple[tuple[Glyph, ...], tuple[np.ndarray, ...]]:
    glyphs, cuts = _covered_glyphs()
    signatures = np.stack([_stroke_signature(c) for c in cuts])
    similarity = cosine_similarity_matrix(signatures, signatures)
    keep: list[int] = []
    for i in range(len(glyphs)):
        # greedy in catalogue order: the first of a look-alike group (Latin before Greek ...) stays
        if not keep or similarity[i, keep].max() < DUPLICATE_SIMILARITY:
            keep.append(i)
    return tuple(glyphs[i] for i in keep), tuple(cuts[i] for i in keep)


def glyph_catalogue() -> tuple[Glyph, ...]:
    """Every class of the glyph set, in label order: drawable, look-alikes removed.

    Examples
    --------
    >>> catalogue = glyph_catalogue()
    >>> catalogue[0]
    Glyph(char='A', codepoint=65, script='latin')
    >>> len({g.char for g in catalogue}) == len(catalogue)
    True
    """
    return _catalogue()[0]


def digit_free_classes() -> np.ndarray:
    """Class indices of :func:`glyph_catalogue` that are not decimal digits.

    Pass them as ``make_glyph_set(classes=...)`` to train a network that has
    never seen a digit, so that its score on :func:`digits_set` measures
    transfer to classes it has not learned.

    Examples
    --------
    >>> catalogue = glyph_catalogue()
    >>> kept = digit_free_classes()
    >>> any(catalogue[i].char.isdigit() for i in kept), len(catalogue) - len(kept)
    (False, 10)
    """
    return np.array([i for i, g in enumerate(glyph_catalogue()) if not g.char.isdecimal()], dtype=np.int64)


@functools.cache
def _prototypes(size: int) -> np.ndarray:
    """Per class, four stroke weights (thin .. bold) at ``_PROTO_SCALE`` × ``size``, pre-filtered."""
    import cv2

    box = size * _PROTO_SCALE
    cuts = _catalogue()[1]
    base = np.stack([_fit(c, box) for c in cuts])
    disk3 = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
    disk5 = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    weights = []
    for op in (
        lambda p: cv2.erode(p, disk3),
        lambda p: p,
        lambda p: cv2.dilate(p, disk3),
        lambda p: cv2.dilate(p, disk5),
    ):
        # a Gaussian of ~half the down-sampling factor removes what the final
        # warp would otherwise alias into jagged strokes
        weights.append(np.stack([cv2.GaussianBlur(op(p), (0, 0), 0.5 * _PROTO_SCALE) for p in base]))
    out = np.stack(weights, axis=1)
    out.setflags(write=False)
    return out


def _check_range(value, name: str, low: float, high: float) -> tuple[float, float]:
    pair = (value, value) if np.isscalar(value) else tuple(value)
    if len(pair) != 2 or not all(np.isfinite(v) for v in pair) or pair[0] > pair[1]:
        raise InvalidParameterError(f"{name} must be a number or a (low, high) pair with low <= high; got {value!r}")
    if pair[0] < low or pair[1] > high:
        raise InvalidParameterError(f"{name} must lie within [{low}, {high}]; got {value!r}")
    return float(pair[0]), float(pair[1])


def make_glyph_set(
    *,
    per_class: int = 20,
    size: int = 28,
    seed: int = 0,
    classes=None,
    rotation: float = 12.0,
    scale=(0.8, 1.1),
    shear: float = 0.15,
    shift: float = 0.08,
    thickness: bool = True,
    noise: float = 0.05,
) -> GlyphSet:
    """Draw every glyph class ``per_class`` times with random distortions.

    Parameters
    ----------
    per_class
        Drawings per class (Omniglot has 20).
    size
        Side of each square image, pixels (16 .. 128).
    seed
        Seed of every random choice: the same seed gives the same array.
    classes
        Class indices of :func:`glyph_catalogue` to draw (default: all).
    rotation
        Largest rotation, degrees (uniform in ±``rotation``).
    scale
        Zoom factor range (uniform).
    shear
        Largest horizontal shear (uniform in ±``shear``), like a slanted hand.
    shift
        Largest translation, as a fraction of ``size`` (each axis).
    thickness
        Vary the stroke weight (thin, regular, bold, bolder).
    noise
        Standard deviation of the Gaussian pixel noise (values are clipped to [0, 1]).

    Returns
    -------
    GlyphSet
        Images ordered class by class.

    Raises
    ------
    InvalidParameterError
        A size, count or distortion outside its range; unknown class indices.
    EmptyInputError
        ``classes`` is empty.

    Examples
    --------
    >>> a = make_glyph_set(per_class=3, classes=[0, 1], seed=7)
    >>> b = make_glyph_set(per_class=3, classes=[0, 1], seed=7)
    >>> a.labels.tolist(), bool((a.images == b.images).all())
    ([0, 0, 0, 1, 1, 1], True)
    """
    import cv2

    for name, value, low, high in (("per_class", per_class, 1, 10_000), ("size", size, 16, 128)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or not low <= value <= high:
            raise InvalidParameterError(f"{name} must be an integer in [{low}, {high}]; got {value!r}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise InvalidParameterError(f"seed must be a non-negative integer; got {seed!r}")
    rot = _check_range(rotation, "rotation", 0, 180)[1]
    scale_lo, scale_hi = _check_range(scale, "scale", 0.2, 3.0)
    shear_max = _check_range(shear, "shear", 0, 1)[1]
    shift_max = _check_range(shift, "shift", 0, 0.5)[1]
    noise_sd = _check_range(noise, "noise", 0, 1)[1]

    catalogue = glyph_catalogue()
    if classes is None:
        chosen = np.arange(len(catalogue))
    else:
        chosen = np.asarray(classes, dtype=np.int64).ravel()
        if chosen.size == 0:
            raise EmptyInputError("classes is empty; pass None for every class or a list of indices")
        bad = chosen[(chosen < 0) | (chosen >= len(catalogue))]
        if bad.size:
            raise InvalidParameterError(
                f"class indices must lie in [0, {len(catalogue) - 1}]; got {bad[:5].tolist()}"
            )
    size, per_class = int(size), int(per_class)
    protos = _prototypes(size)
    labels = np.repeat(chosen, per_class)
    n = labels.size

    rng = np.random.default_rng(seed)
    angle = np.deg2rad(rng.uniform(-rot, rot, n))
    zoom = rng.uniform(scale_lo, scale_hi, n) / _PROTO_SCALE
    slant = rng.uniform(-shear_max, shear_max, n)
    offset = rng.uniform(-shift_max, shift_max, (n, 2)) * size
    weight = rng.integers(0, 4, n) if thickness else np.ones(n, np.int64)
    noise_field = rng.normal(0.0, 1.0, (n, size, size)).astype(np.float32) * np.float32(noise_sd)

    # one affine map per drawing, prototype -> output: centre, shear, rotate+zoom, recentre, shift
    cos, sin = np.cos(angle) * zoom, np.sin(angle) * zoom
    linear = np.empty((n, 2, 2))
    linear[:, 0, 0], linear[:, 0, 1] = cos, cos * slant - sin
    linear[:, 1, 0], linear[:, 1, 1] = sin, sin * slant + cos
    src_centre = (size * _PROTO_SCALE - 1) / 2.0
    dst_centre = (size - 1) / 2.0 + offset
    translation = dst_centre - linear @ np.array([src_centre, src_centre])
    matrices = np.concatenate([linear, translation[:, :, None]], axis=2).astype(np.float64)

    images = np.empty((n, size, size), np.float32)
    for i in range(n):  # one small warp per drawing; pixels are handled by OpenCV
        images[i] = cv2.warpAffine(
            protos[labels[i], weight[i]], matrices[i], (size, size),
            flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0.0,
        )
    images += noise_field
    np.clip(images, 0.0, 1.0, out=images)
    return GlyphSet(images, labels.astype(np.int64), catalogue)


def split_classes(
    glyph_set: GlyphSet, *, test: int, validation: int = 0, seed: int = 0
) -> tuple[GlyphSet, GlyphSet | None, GlyphSet]:
    """Split a glyph set by class into training, validation and test sets with no class in common.

    Evaluating on classes never seen in training is what makes an evaluation
    "one-shot": the network must compare characters it has never learned.

    Parameters
    ----------
    glyph_set
        From :func:`make_glyph_set`.
    test, validation
        Number of classes for each held-out set; the rest train.
    seed
        Which classes go where.

    Returns
    -------
    (train, validation, test)
        ``validation`` is ``None`` when ``validation=0``.

    Examples
    --------
    >>> g = make_glyph_set(per_class=2, seed=0)
    >>> train, val, test = split_classes(g, test=20, validation=10, seed=0)
    >>> test.n_classes, val.n_classes, train.n_classes == g.n_classes - 30
    (20, 10, True)
    """
    if not isinstance(glyph_set, GlyphSet):
        raise InvalidParameterError(f"glyph_set must be a GlyphSet; got {type(glyph_set).__name__}")
    classes = glyph_set.classes
    for name, value in (("test", test), ("validation", validation)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
            raise InvalidParameterError(f"{name} must be a non-negative number of classes; got {value!r}")
    if test < 1:
        raise InvalidParameterError(f"test must hold at least 1 class; got {test}")
    if test + validation > classes.size - 2:
        raise InvalidParameterError(
            f"{test} test + {validation} validation classes leave fewer than 2 of the "
            f"{classes.size} classes to train on; hold out fewer"
        )
    order = np.random.default_rng(seed).permutation(classes)
    test_set = glyph_set.subset(order[:test])
    val_set = glyph_set.subset(order[test : test + validation]) if validation else None
    train_set = glyph_set.subset(order[test + validation :])
    return train_set, val_set, test_set


def digits_set(*, size: int = 28) -> GlyphSet:
    """scikit-learn's bundled handwritten digits (1,797 images, 8×8), enlarged to ``size``, as a GlyphSet.

    Ten classes only: the counter-example of notebook 07, where a metric
    learned on five digits does not carry over to the other five.

    Examples
    --------
    >>> digits = digits_set(size=16)
    >>> digits.images.shape, digits.n_classes
    ((1797, 16, 16), 10)
    """
    import cv2

    try:
        from sklearn.datasets import load_digits
    except ImportError as error:  # pragma: no cover - scikit-learn is a dependency
        raise ImportError("digits_set needs scikit-learn: pip install scikit-learn") from error
    if isinstance(size, bool) or not isinstance(size, int | np.integer) or not 8 <= size <= 128:
        raise InvalidParameterError(f"size must be an integer in [8, 128]; got {size!r}")
    digits = load_digits()
    small = (digits.images / 16.0).astype(np.float32)  # the set stores ink as 0..16
    images = np.stack([cv2.resize(d, (int(size), int(size)), interpolation=cv2.INTER_LINEAR) for d in small])
    catalogue = tuple(Glyph(str(d), ord(str(d)), "digits") for d in range(10))
    return GlyphSet(np.clip(images, 0.0, 1.0), digits.target.astype(np.int64), catalogue)
