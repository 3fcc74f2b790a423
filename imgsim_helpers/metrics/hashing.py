"""Perceptual hashes (ImageHash's, :data:`HASH_KINDS`): an image in 64 bits, compared by
``1 − Hamming distance / bits``. :func:`phash_reference` is pHash as it reads, bit for bit.

>>> image = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
>>> bits = image_hash(image, "phash")
>>> bits.shape, bits.dtype.name, hash_similarity(bits, bits)
((64,), 'bool', 1.0)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from imgsim_helpers.core.checks import check_choice, check_int
from imgsim_helpers.core.errors import (
    DescriptorMismatchError,
    EmptyInputError,
    InvalidParameterError,
)
from imgsim_helpers.images.io import to_rgb, to_uint8

# name -> (ImageHash function name, what it keeps)
HASH_KINDS: dict[str, tuple[str, str]] = {
    "ahash": ("average_hash", "8×8 gray pixels above their mean"),
    "dhash": ("dhash", "9×8 gray, each pixel brighter than its left neighbour"),
    "phash": ("phash", "32×32 gray, DCT, 8×8 lowest frequencies above their median"),
    "whash": ("whash", "Haar wavelet low band (DC removed) above its median"),
    "colorhash": ("colorhash", "share of black, gray and each hue band (42 bits, no geometry)"),
}
HASH_NAMES = tuple(HASH_KINDS)


def to_pil(image):
    """An image array as the 8-bit RGB ``PIL.Image`` ImageHash expects (alpha composited on white)."""
    from PIL import Image

    return Image.fromarray(to_uint8(to_rgb(image)), mode="RGB")


def _check_hash(kind, hash_size) -> tuple[str, int]:
    kind = check_choice(kind, "hash", HASH_NAMES)
    size = check_int(hash_size, "hash_size", low=2, hint="a power of two; 8 gives 64 bits")
    if size & (size - 1):
        raise InvalidParameterError(
            f"hash_size must be a power of two (the wavelet hash needs it; 8 gives 64 bits); got {size}")
    return kind, size


def _hash(image, kind: str, size: int) -> np.ndarray:
    import imagehash

    function = getattr(imagehash, HASH_KINDS[kind][0])
    picture = to_pil(image)
    result = function(picture) if kind == "colorhash" else function(picture, hash_size=size)
    return np.asarray(result.hash, dtype=bool).ravel()


def image_hash(image, kind: str = "phash", *, hash_size: int = 8) -> np.ndarray:
    """The perceptual hash of one image as a flat boolean array of ``hash_size²`` bits (the colour
    hash ignores ``hash_size`` and always has 42 bits).

    >>> int(image_hash(np.zeros((32, 32), np.uint8), "dhash").sum())
    0
    """
    return _hash(image, *_check_hash(kind, hash_size))


def hash_images(images: Sequence, kind: str = "phash", *, hash_size: int = 8) -> np.ndarray:
    """Hashes of several images, one row each: a ``(n, bits)`` boolean array."""
    kind, size = _check_hash(kind, hash_size)
    images = list(images)
    if not images:
        raise EmptyInputError(f"hash_images: no images to hash with {kind!r}")
    return np.stack([_hash(image, kind, size) for image in images])


def _bits(bits, name: str) -> np.ndarray:
    array = np.asarray(bits)
    if array.dtype != np.bool_ or array.ndim < 1 or array.shape[-1] == 0:
        raise DescriptorMismatchError(f"{name} must be a non-empty boolean bit array from image_hash; "
                                      f"got dtype {array.dtype}, shape {array.shape}")
    return array


def _same_length(a: np.ndarray, b: np.ndarray, what: str) -> None:
    if a.shape[-1] != b.shape[-1]:
        raise DescriptorMismatchError(f"{what} have {a.shape[-1]} and {b.shape[-1]} bits; hash both images "
                                      "with the same kind and hash_size")


def hamming_distance(bits1, bits2) -> int:
    """How many bits differ between two hashes of the same length.

    >>> hamming_distance(np.array([True, False, True]), np.array([True, True, False]))
    2
    """
    a, b = _bits(bits1, "bits1"), _bits(bits2, "bits2")
    _same_length(a, b, "the hashes")
    return int(np.count_nonzero(a != b))


def hash_similarity(bits1, bits2) -> float:
    """``1 − Hamming / bits``: 1 for equal hashes, about 0.5 for unrelated images, 0 for complements."""
    return 1.0 - hamming_distance(bits1, bits2) / np.shape(bits1)[-1]


def pairwise_hash_similarity(queries, gallery) -> np.ndarray:
    """The ``len(queries) × len(gallery)`` matrix of :func:`hash_similarity`, vectorised."""
    q, g = _bits(np.stack(list(queries)), "queries"), _bits(np.stack(list(gallery)), "gallery")
    _same_length(q, g, "query and gallery hashes")
    # bits differ where exactly one is set: q·(1−g) + (1−q)·g, as two integer matrix products
    qi, gi = q.astype(np.int32), g.astype(np.int32)
    return 1.0 - (qi @ (1 - gi).T + (1 - qi) @ gi.T) / q.shape[1]


def pack_hashes(bits) -> np.ndarray:
    """Boolean hashes ``(n, bits)`` packed into bytes ``(n, bits/8)``, the layout of FAISS binary indexes."""
    array = _bits(np.atleast_2d(np.asarray(bits)), "bits")
    if array.shape[1] % 8:
        raise DescriptorMismatchError(f"packing needs a multiple of 8 bits; got {array.shape[1]} "
                                      "(the 42-bit colour hash cannot go into a binary index)")
    return np.packbits(array, axis=1)


def phash_reference(image, hash_size: int = 8, highfreq_factor: int = 4) -> np.ndarray:
    """pHash in four readable steps; bit for bit the hash ImageHash's ``phash`` computes.

    >>> image = np.random.default_rng(1).integers(0, 256, (40, 50, 3), dtype=np.uint8)
    >>> bool((phash_reference(image) == image_hash(image, "phash")).all())
    True
    """
    import scipy.fft
    from PIL import Image

    side = hash_size * highfreq_factor
    # 1. shrink to 32×32 gray (PIL's luma and Lanczos filter, as ImageHash does)
    small = np.asarray(to_pil(image).convert("L").resize((side, side), Image.Resampling.LANCZOS), dtype=np.float64)
    # 2. the 2-D DCT (type II) says how much of each horizontal × vertical frequency the image holds
    frequencies = scipy.fft.dct(scipy.fft.dct(small, axis=0), axis=1)
    # 3. keep the 8×8 lowest frequencies: the coarse layout of light and dark, not the detail
    low = frequencies[:hash_size, :hash_size]
    # 4. one bit per frequency: above the median or not (half the bits set, whatever the brightness)
    return (low > np.median(low)).ravel()


def phash_steps(image, hash_size: int = 8, highfreq_factor: int = 4) -> dict[str, np.ndarray]:
    """The pictures between :func:`phash_reference`'s steps, for drawing: gray, DCT, low block, bits."""
    import scipy.fft
    from PIL import Image

    side = hash_size * highfreq_factor
    small = np.asarray(to_pil(image).convert("L").resize((side, side), Image.Resampling.LANCZOS), dtype=np.float64)
    frequencies = scipy.fft.dct(scipy.fft.dct(small, axis=0), axis=1)
    low = frequencies[:hash_size, :hash_size]
    return {"gray": small, "dct": frequencies, "low": low, "median": float(np.median(low)), "bits": low > np.median(low)}
