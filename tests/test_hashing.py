"""Perceptual hashes: the readable pHash equals ImageHash bit for bit, properties, bad input, registry entries."""

import imagehash
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import imgsim_helpers as h
from imgsim_helpers.core.errors import (
    DescriptorMismatchError,
    EmptyInputError,
    InvalidParameterError,
    UnknownMethodError,
)
from imgsim_helpers.images.transforms import apply_transform
from imgsim_helpers.metrics.hashing import (
    HASH_NAMES,
    hamming_distance,
    hash_images,
    hash_similarity,
    image_hash,
    pack_hashes,
    pairwise_hash_similarity,
    phash_reference,
    phash_steps,
    to_pil,
)
from imgsim_helpers.registry import METHOD_NAMES, build_method

COURSE = {name: h.course_image(name, max_side=160) for name in h.list_course_images() if name != "chelsea_exif"}
CHANGES = [("jpeg", 30), ("rotate", 5), ("noise", 10), ("brightness", 40), ("crop", 0.2), ("blur", 2), ("flip", 1)]


def test_reference_phash_equals_imagehash_on_every_course_image_and_its_copies():
    images = [image for base in COURSE.values() for image in [base] + [apply_transform(base, t, s) for t, s in CHANGES]]
    assert len(images) >= 150
    for image in images:
        assert np.array_equal(phash_reference(image), imagehash.phash(to_pil(image)).hash.ravel())
        assert np.array_equal(phash_reference(image), image_hash(image, "phash"))


@settings(max_examples=60, deadline=None)
@given(arrays(np.uint8, st.tuples(st.integers(8, 70), st.integers(8, 70), st.sampled_from([1, 3])),
              elements=st.integers(0, 255)))
def test_reference_phash_equals_imagehash_on_random_images(image):
    image = image[..., 0] if image.shape[2] == 1 else image
    assert np.array_equal(phash_reference(image), imagehash.phash(to_pil(image)).hash.ravel())


@pytest.mark.parametrize("size", [4, 16])
def test_reference_phash_other_sizes(size):
    image = COURSE["astronaut"]
    assert np.array_equal(phash_reference(image, hash_size=size), image_hash(image, "phash", hash_size=size))


@pytest.mark.parametrize("kind", HASH_NAMES)
def test_each_kind_matches_imagehash(kind):
    image = COURSE["coffee"]
    function = {"ahash": imagehash.average_hash, "dhash": imagehash.dhash, "phash": imagehash.phash,
                "whash": imagehash.whash, "colorhash": imagehash.colorhash}[kind]
    assert np.array_equal(image_hash(image, kind), np.asarray(function(to_pil(image)).hash).ravel())
    assert image_hash(image, kind).shape == ((42,) if kind == "colorhash" else (64,))


def test_similarity_identity_symmetry_and_bounds():
    a, b = image_hash(COURSE["astronaut"], "phash"), image_hash(COURSE["coins"], "phash")
    assert hash_similarity(a, a) == 1.0
    assert hash_similarity(a, b) == hash_similarity(b, a)
    assert hash_similarity(a, ~a) == 0.0
    assert hash_similarity(a, b) == 1 - hamming_distance(a, b) / 64


def test_pairwise_equals_one_by_one():
    hashes = hash_images(list(COURSE.values())[:6], "dhash")
    matrix = pairwise_hash_similarity(hashes[:3], hashes)
    expected = [[hash_similarity(q, g) for g in hashes] for q in hashes[:3]]
    assert np.array_equal(matrix, np.array(expected))


def test_jpeg_moves_few_bits_and_different_images_about_half():
    """The property the whole lesson rests on, for pHash on course photos."""
    photos = [COURSE[n] for n in ("astronaut", "coffee", "chelsea", "rocket", "camera")]
    copies = [hamming_distance(image_hash(p, "phash"), image_hash(apply_transform(p, "jpeg", 30), "phash")) for p in photos]
    assert max(copies) <= 6
    hashes = [image_hash(p, "phash") for p in photos]
    unrelated = [hamming_distance(hashes[i], hashes[j]) for i in range(5) for j in range(i + 1, 5)]
    assert 20 <= np.mean(unrelated) <= 44


def test_input_kinds_give_the_same_hash():
    image = COURSE["camera"]
    as_float = image.astype(np.float64) / 255
    assert np.array_equal(image_hash(image, "phash"), image_hash(as_float, "phash"))
    rgba = np.dstack([COURSE["coffee"], np.full(COURSE["coffee"].shape[:2], 255, np.uint8)])
    assert np.array_equal(image_hash(rgba, "ahash"), image_hash(COURSE["coffee"], "ahash"))


def test_pack_hashes_layout():
    bits = hash_images([COURSE["astronaut"], COURSE["coins"]], "phash")
    packed = pack_hashes(bits)
    assert packed.shape == (2, 8) and packed.dtype == np.uint8
    assert np.array_equal(np.unpackbits(packed, axis=1).astype(bool), bits)
    with pytest.raises(DescriptorMismatchError, match="multiple of 8"):
        pack_hashes(image_hash(COURSE["astronaut"], "colorhash"))


def test_bad_input():
    with pytest.raises(UnknownMethodError, match="phash"):
        image_hash(COURSE["astronaut"], "md5")
    with pytest.raises(InvalidParameterError, match="power of two"):
        image_hash(COURSE["astronaut"], "phash", hash_size=6)
    with pytest.raises(InvalidParameterError, match=">= 2"):
        image_hash(COURSE["astronaut"], "phash", hash_size=True)
    with pytest.raises(DescriptorMismatchError, match="same kind"):
        hamming_distance(image_hash(COURSE["astronaut"], "phash"), image_hash(COURSE["astronaut"], "phash", hash_size=4))
    with pytest.raises(DescriptorMismatchError, match="boolean"):
        hamming_distance(np.zeros(64), np.zeros(64))
    with pytest.raises(EmptyInputError):
        hash_images([], "phash")
    with pytest.raises(h.InvalidImageError):
        image_hash(np.full((8, 8), np.nan), "phash")


@pytest.mark.parametrize("name", ["ahash", "dhash", "phash", "whash"])
def test_registry_entries(name):
    assert name in METHOD_NAMES
    method = build_method(name)
    assert method.family == "hash"
    a, b = COURSE["astronaut"], COURSE["brick"]
    assert method.similarity(a, a) == 1.0
    fa, fb = method.extract(a), method.extract(b)
    assert method.compare(fa, fb) == hash_similarity(fa, fb)
    assert np.array_equal(method.matrix([fa, fb], [fa, fb]), pairwise_hash_similarity([fa, fb], [fa, fb]))
    assert build_method(name, hash_size=16).extract(a).shape == (256,)


def test_colorhash_is_not_a_registry_method():
    """Measured in notebook 09: it reaches no useful precision on the course pairs, so it stays out."""
    assert "colorhash" not in METHOD_NAMES


def test_phash_steps_end_in_the_reference_bits():
    steps = phash_steps(COURSE["coffee"])
    assert steps["gray"].shape == (32, 32) and steps["dct"].shape == (32, 32) and steps["low"].shape == (8, 8)
    assert np.array_equal(steps["bits"].ravel(), phash_reference(COURSE["coffee"]))
    assert steps["bits"].sum() == 32  # the median splits the 64 coefficients in half (no ties on a photo)
