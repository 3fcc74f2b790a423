"""Perceptual hashes: a whole image summarised in 64 bits, compared by counting differing bits.

A perceptual hash shrinks an image to a few pixels of gray, keeps only *which
side of a typical value* each coarse feature falls on, and packs those yes/no
answers into bits. Two copies of one picture — recompressed, resized, a
little brighter — give nearly the same bits; two different pictures differ
in about half of them. Similarity is ``1 − Hamming distance / bits``.

The production path is `ImageHash <https://github.com/JohannesBuchner/imagehash>`_,
the library people use; :data:`HASH_KINDS` names its four classic hashes
plus the colour hash:

* ``ahash`` — average hash: 8×8 gray, each pixel above the mean or not;
* ``dhash`` — difference hash: 9×8 gray, each pixel brighter than its left neighbour or not;
* ``phash`` — perceptual hash: 32×32 gray, 2-D DCT, the 8×8 lowest frequencies above their median or not;
* ``whash`` — wavelet hash: Haar wavelet low band (image DC removed), above its median or not;
* ``colorhash`` — how much of the image is black, gray, and each band of hue (42 bits; no geometry at all).

:func:`phash_reference` is the readable pHash the course shows; a test proves it
gives ImageHash's bits exactly.

Examples
--------
>>> import numpy as np
>>> image = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
>>> bits = image_hash(image, "phash")
>>> bits.shape, bits.dtype.name
((64,), 'bool')
>>> hash_similarity(bits, bits)
1.0
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from imgsim_helpers.core.checks import check_image
from imgsim_helpers.core.errors import (
    DescriptorMismatchError,
    EmptyInputError,
    InvalidParameterError,
    unknown_name,
)
from imgsim_helpers.images.io import to_rgb, to_uint8

# name -> (ImageHash function name, what it keeps)
HASH_KINDS: dict[str, tuple[str, str]] = {
    "ahash": ("average_hash", "8×8 gray pixels above their mean"),
    "dhash": ("dhash", "9×8 gray, each pixel brighter than its left neighbour"),
    "phash": ("phash", "32×32 gray, DCT, 8×8 lowest frequencies above their median"),
    "whash": ("whash", "Haar wavelet low band (DC removed) above its median"),
    "colorhash": ("colorhash", "share of black, gray and each hue band (no geometry)"),
}
HASH_NAMES = tuple(HASH_KINDS)


def to_pil(image):
    """An image array as the 8-bit RGB ``PIL.Image`` ImageHash expects (alpha composited on white).

    Examples
    --------
    >>> to_pil(np.zeros((4, 6), np.uint8)).size
    (6, 4)
    """
    from PIL import Image

    return Image.fromarray(to_uint8(to_rgb(check_image(image))), mode="RGB")


def _check_hash_size(hash_size) -> int:
    if isinstance(hash_size, bool) or not isinstance(hash_size, int | np.integer) or hash_size < 2:
        raise InvalidParameterError(f"hash_size must be a whole number of at least 2; got {hash_size!r}")
    if hash_size & (hash_size - 1):
        raise InvalidParameterError(
            f"hash_size must be a power of two (the wavelet hash needs it; 8 gives 64 bits); got {hash_size}"
        )
    return int(hash_size)


def image_hash(image, kind: str = "phash", *, hash_size: int = 8) -> np.ndarray:
    """The perceptual hash of one image as a flat boolean array (``hash_size²`` bits; colorhash: 14·3 = 42).

    Parameters
    ----------
    image
        An image array (gray, RGB or RGBA; any dtype the package accepts).
    kind
        One of :data:`HASH_NAMES`.
    hash_size
        Side of the bit grid (a power of two); 8 gives the usual 64-bit hash.
        The colour hash ignores it (it always has 42 bits).

    Examples
    --------
    >>> image_hash(np.zeros((32, 32), np.uint8), "dhash").sum()
    np.int64(0)
    """
    import imagehash

    if kind not in HASH_KINDS:
        raise unknown_name("hash", kind, HASH_NAMES)
    size = _check_hash_size(hash_size)
    picture = to_pil(image)
    function = getattr(imagehash, HASH_KINDS[kind][0])
    result = function(picture) if kind == "colorhash" else function(picture, hash_size=size)
    return np.asarray(result.hash, dtype=bool).ravel()


def hash_images(images: Sequence, kind: str = "phash", *, hash_size: int = 8) -> np.ndarray:
    """Hashes of several images, one row each: a ``(n, bits)`` boolean array."""
    images = list(images)
    if not images:
        raise EmptyInputError(f"hash_images: no images to hash with {kind!r}")
    return np.stack([image_hash(image, kind, hash_size=hash_size) for image in images])


def _bits(bits, name: str) -> np.ndarray:
    array = np.asarray(bits)
    if array.dtype != np.bool_ or array.ndim < 1 or array.shape[-1] == 0:
        raise DescriptorMismatchError(
            f"{name} must be a non-empty boolean bit array from image_hash; got dtype {array.dtype}, shape {array.shape}"
        )
    return array


def hamming_distance(bits1, bits2) -> int:
    """How many bits differ between two hashes of the same length.

    Examples
    --------
    >>> hamming_distance(np.array([True, False, True]), np.array([True, True, False]))
    2
    """
    a, b = _bits(bits1, "bits1"), _bits(bits2, "bits2")
    if a.shape != b.shape:
        raise DescriptorMismatchError(f"hashes of different lengths cannot be compared: {a.shape} vs {b.shape}; "
                                      "hash both images with the same kind and hash_size")
    return int(np.count_nonzero(a != b))


def hash_similarity(bits1, bits2) -> float:
    """``1 − Hamming / bits``: 1 for equal hashes, about 0.5 for unrelated images, 0 for complements."""
    return 1.0 - hamming_distance(bits1, bits2) / _bits(bits1, "bits1").shape[-1]


def pairwise_hash_similarity(queries, gallery) -> np.ndarray:
    """The ``len(queries) × len(gallery)`` matrix of :func:`hash_similarity`, vectorised."""
    q = _bits(np.stack(list(queries)), "queries")
    g = _bits(np.stack(list(gallery)), "gallery")
    if q.shape[1] != g.shape[1]:
        raise DescriptorMismatchError(f"query hashes have {q.shape[1]} bits, gallery hashes {g.shape[1]}; "
                                      "hash both with the same kind and hash_size")
    # bits differ where exactly one is set: q·(1−g) + (1−q)·g, as two integer matrix products
    qi, gi = q.astype(np.int32), g.astype(np.int32)
    differing = qi @ (1 - gi).T + (1 - qi) @ gi.T
    return 1.0 - differing / q.shape[1]


def pack_hashes(bits) -> np.ndarray:
    """Boolean hashes ``(n, bits)`` packed into bytes ``(n, bits/8)`` (``uint8``), the layout of FAISS binary indexes."""
    array = _bits(np.atleast_2d(np.asarray(bits)), "bits")
    if array.shape[1] % 8:
        raise DescriptorMismatchError(f"packing needs a multiple of 8 bits; got {array.shape[1]} "
                                      "(the 42-bit colour hash cannot go into a binary index)")
    return np.packbits(array, axis=1)


def phash_reference(image, hash_size: int = 8, highfreq_factor: int = 4) -> np.ndarray:
    """pHash in four readable steps; bit for bit the hash ImageHash's ``phash`` computes.

    Examples
    --------
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
    """The intermediate pictures of :func:`phash_reference`, for drawing: gray, DCT, low block, bits (8×8).

    ``bits.ravel()`` equals ``phash_reference(image)``.
    """
    import scipy.fft
    from PIL import Image

    side = hash_size * highfreq_factor
    small = np.asarray(to_pil(image).convert("L").resize((side, side), Image.Resampling.LANCZOS), dtype=np.float64)
    frequencies = scipy.fft.dct(scipy.fft.dct(small, axis=0), axis=1)
    low = frequencies[:hash_size, :hash_size]
    return {"gray": small, "dct": frequencies, "low": low, "median": float(np.median(low)), "bits": low > np.median(low)}
