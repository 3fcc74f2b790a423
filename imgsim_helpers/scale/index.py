"""Nearest-neighbour indexes over embeddings and perceptual hashes, with FAISS.

A gallery of a few hundred images can be searched by comparing the query
with every image (``top_k``). A catalogue of millions cannot, twice over: the
exact scan grows with the gallery, and so does the memory holding full
``float32`` vectors. An *index* trades a little recall for both:

============  ===========================================  ==================================
``kind``      what FAISS builds                             knobs (build / search)
============  ===========================================  ==================================
``"flat"``    ``IndexFlatIP``: the exact scan, the truth    —
``"hnsw"``    ``IndexHNSWFlat``: a navigable graph          ``m``, ``ef_construction`` /
                                                             ``ef_search``
``"ivfpq"``   ``IndexIVFPQ``: coarse clusters, vectors      ``nlist``, ``pq_m`` (bytes per
              compressed to ``pq_m`` bytes                   code at 8 bits), ``nbits`` /
                                                             ``nprobe`` (``refine``: re-rank
                                                             with full vectors)
``"binary"``  ``IndexBinaryFlat``: exact Hamming scan       —
              over bit hashes (64-bit pHash ...)
``"binary_hash"`` ``IndexBinaryHash``: buckets on the       ``hash_bits`` / ``nflip``
              first ``hash_bits`` bits
============  ===========================================  ==================================

Float vectors are L2-normalised, so the inner product is the cosine and
every kind returns the same score as :func:`~imgsim_helpers.learned.embeddings.top_k`
(``ivfpq`` an approximation of it). Binary indexes return
``1 − Hamming / bits`` (the hash similarity), so *higher = more similar*
everywhere.

The measuring helpers (:func:`exact_neighbours`, :func:`recall_at_k`,
:func:`measure_index`, :func:`hamming_knn_numpy`) are what notebook 09 and
``python -m benchmarks index`` use.

Examples
--------
>>> rng = np.random.default_rng(0)
>>> vectors = rng.normal(size=(200, 16)).astype(np.float32)
>>> index = build_index(vectors, kind="hnsw", m=8, ef_search=32)
>>> scores, positions = index.search(vectors[:2], k=3)
>>> positions[:, 0].tolist()
[0, 1]
>>> index.count, index.dimension, index.kind
(200, 16, 'hnsw')
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from imgsim_helpers.core.errors import (
    EmbeddingMismatchError,
    EmptyInputError,
    IndexFormatError,
    IndexNotFoundError,
    InvalidParameterError,
    unknown_name,
)

FLOAT_KINDS = ("flat", "hnsw", "ivfpq")
BINARY_KINDS = ("binary", "binary_hash")
INDEX_KINDS = FLOAT_KINDS + BINARY_KINDS
MANIFEST_NAME = "manifest.json"
INDEX_FILE = "index.faiss"
FORMAT = "imgsim-index/1"

# Knobs each kind accepts, with their defaults (None: chosen from the data, see _resolve_knobs).
DEFAULT_KNOBS: dict[str, dict] = {
    "flat": {},
    "hnsw": {"m": 32, "ef_construction": 40, "ef_search": 64},
    "ivfpq": {"nlist": None, "pq_m": None, "nbits": 8, "nprobe": 16, "refine": 0, "train_size": None},
    "binary": {},
    "binary_hash": {"hash_bits": 16, "nflip": 2},
}
SEARCH_KNOBS = {"hnsw": ("ef_search",), "ivfpq": ("nprobe", "refine"), "binary_hash": ("nflip",)}


def _faiss():
    import faiss

    return faiss


# --------------------------------------------------------------------------- input checks


def _as_vectors(vectors, *, name: str = "vectors", dimension: int | None = None) -> np.ndarray:
    """A C-contiguous float32 N×D array of finite values, rows L2-normalised (cosine = inner product)."""
    try:
        array = np.asarray(vectors, dtype=np.float32)
    except (TypeError, ValueError) as error:
        raise EmbeddingMismatchError(
            f"{name} must be an N×D array of numbers (one row per image, all of one length); "
            f"could not read it as one: {error}"
        ) from None
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2:
        raise EmbeddingMismatchError(f"{name} must be an N×D array; got shape {array.shape}")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise EmptyInputError(f"{name} is empty (shape {array.shape}); pass at least one vector")
    if dimension is not None and array.shape[1] != dimension:
        raise EmbeddingMismatchError(
            f"{name} have {array.shape[1]} dimensions but the index holds {dimension}-dimensional "
            "vectors; embed the queries with the method the index was built from"
        )
    if not np.isfinite(array).all():
        raise EmbeddingMismatchError(f"{name} hold NaN or infinite values; remove those rows")
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    if (norms == 0).any():
        raise EmbeddingMismatchError(
            f"{name} hold all-zero rows (row {int(np.flatnonzero(norms[:, 0] == 0)[0])}): "
            "a zero vector has no direction, so no cosine; remove it"
        )
    if np.abs(norms - 1).max() <= 1e-5:
        # embeddings come normalised already: no second copy (a million 512-d vectors are 2 GB)
        return np.ascontiguousarray(array)
    return np.ascontiguousarray(array / norms)


def as_hash_codes(hashes, *, name: str = "hashes", bits: int | None = None) -> np.ndarray:
    """Pack bit hashes into the N×(bits/8) ``uint8`` codes FAISS's binary indexes take.

    Accepts ImageHash objects (their ``.hash`` bit grid), hexadecimal strings
    (``str(imagehash.phash(image))``), an N×bits array of 0/1 or booleans, an
    N×(bits/8) ``uint8`` array (already packed), or ``uint64`` integers (one
    64-bit hash each).

    Examples
    --------
    >>> as_hash_codes(["ff00000000000001"]).tolist()
    [[255, 0, 0, 0, 0, 0, 0, 1]]
    >>> as_hash_codes(np.array([1], np.uint64)).shape
    (1, 8)
    """
    if isinstance(hashes, str) or hasattr(hashes, "hash"):
        hashes = [hashes]
    if not isinstance(hashes, np.ndarray):
        hashes = list(hashes)
        if not hashes:
            raise EmptyInputError(f"{name} is empty; pass at least one hash")
        first = hashes[0]
        if hasattr(first, "hash"):  # ImageHash
            hashes = np.stack([np.asarray(h.hash, dtype=bool).ravel() for h in hashes])
        elif isinstance(first, str):
            lengths = {len(h) for h in hashes}
            if len(lengths) != 1 or any(len(h) % 2 for h in hashes):
                raise EmbeddingMismatchError(f"{name}: hexadecimal hashes of different or odd lengths {sorted(lengths)}")
            try:
                hashes = np.frombuffer(bytes.fromhex("".join(hashes)), np.uint8).reshape(len(hashes), -1).copy()
            except ValueError as error:
                raise EmbeddingMismatchError(f"{name}: not hexadecimal hash strings ({error})") from None
        else:
            hashes = np.asarray(hashes)
    array = np.asarray(hashes)
    if array.size == 0:
        raise EmptyInputError(f"{name} is empty; pass at least one hash")
    if array.dtype == np.uint64 or (array.ndim == 1 and np.issubdtype(array.dtype, np.integer)):
        array = array.astype(">u8").view(np.uint8).reshape(-1, 8)
    elif array.dtype == bool or (array.ndim == 2 and array.dtype != np.uint8):
        if not np.isin(array, (0, 1)).all():
            raise EmbeddingMismatchError(f"{name}: a bit array must hold only 0 and 1")
        if array.ndim != 2 or array.shape[1] % 8:
            raise EmbeddingMismatchError(f"{name}: bits must be N×bits with bits a multiple of 8; got {array.shape}")
        array = np.packbits(array.astype(bool), axis=1)
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2 or array.dtype != np.uint8:
        raise EmbeddingMismatchError(f"{name}: expected packed N×(bits/8) uint8 codes; got {array.dtype} {array.shape}")
    if bits is not None and array.shape[1] * 8 != bits:
        raise EmbeddingMismatchError(
            f"{name} are {array.shape[1] * 8}-bit hashes but the index holds {bits}-bit hashes; "
            "hash the queries with the hash the index was built from"
        )
    return np.ascontiguousarray(array)


def _resolve_knobs(kind: str, count: int, dimension: int, knobs: dict) -> dict:
    unknown = sorted(set(knobs) - set(DEFAULT_KNOBS[kind]))
    if unknown:
        raise InvalidParameterError(
            f"{kind!r} index takes the knobs {sorted(DEFAULT_KNOBS[kind]) or 'none'}; got {unknown}"
        )
    resolved = {**DEFAULT_KNOBS[kind], **knobs}
    for key, value in resolved.items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0):
            raise InvalidParameterError(f"knob {key} must be a non-negative integer; got {value!r}")
    if kind == "ivfpq":
        if resolved["nlist"] is None:
            # about 4·sqrt(N) clusters, each trained from at least 39 points (FAISS's floor)
            resolved["nlist"] = int(max(1, min(4 * math.sqrt(count), count // 39)))
        if resolved["pq_m"] is None:
            # 64 bytes per vector where the dimension allows: the sub-vectors must divide D
            resolved["pq_m"] = max(m for m in range(1, min(64, dimension) + 1) if dimension % m == 0)
        if dimension % resolved["pq_m"]:
            raise InvalidParameterError(
                f"pq_m={resolved['pq_m']} must divide the dimension {dimension} (each of the pq_m "
                "sub-vectors gets dimension/pq_m values)"
            )
        need = max(resolved["nlist"], 2 ** resolved["nbits"])
        if count < need:
            raise InvalidParameterError(
                f"an ivfpq index with nlist={resolved['nlist']} and nbits={resolved['nbits']} must be "
                f"trained on at least {need} vectors; got {count}. Use kind='flat' or 'hnsw' for a "
                "small gallery, or lower nlist / nbits"
            )
        if resolved["train_size"] is None:
            resolved["train_size"] = int(min(count, max(256 * resolved["nlist"], 2 ** resolved["nbits"] * 64)))
    if kind == "hnsw" and resolved["m"] < 2:
        raise InvalidParameterError(f"hnsw needs m ≥ 2 links per node; got {resolved['m']}")
    for key in ("nlist", "pq_m", "nbits", "nprobe", "ef_search", "ef_construction"):
        if key in resolved and resolved[key] == 0:
            raise InvalidParameterError(f"knob {key} must be at least 1")
    return {k: (int(v) if v is not None else None) for k, v in resolved.items()}


# --------------------------------------------------------------------------- the index


@dataclass(eq=False)
class VectorIndex:
    """A FAISS index with what is needed to use it later: kind, knobs, ids and the method.

    Build one with :func:`build_index` or :func:`build_hash_index`; read one
    back with :func:`load_index`.

    Attributes
    ----------
    kind
        One of :data:`INDEX_KINDS`.
    faiss_index
        The FAISS object (``IndexFlatIP``, ``IndexHNSWFlat``, ``IndexIVFPQ``
        (inside an ``IndexRefineFlat`` when built with ``refine``),
        ``IndexBinaryFlat``, ``IndexBinaryHash``).
    dimension
        Floats per vector, or bits per hash for binary kinds.
    knobs
        Every build and search setting, defaults included.
    ids
        One label per vector (an image path), or ``None`` (then positions are the labels).
    method
        The similarity method that made the vectors (``"mobilenet_v2"``,
        ``"phash"`` ...), checked against queries that name theirs.
    build_seconds
        Wall time of training and adding.
    """

    kind: str
    faiss_index: object = field(repr=False)
    dimension: int
    knobs: dict
    ids: list[str] | None = field(default=None, repr=False)
    method: str | None = None
    build_seconds: float = 0.0
    extra: dict = field(default_factory=dict, repr=False)

    @property
    def count(self) -> int:
        """Vectors in the index."""
        return int(self.faiss_index.ntotal)

    @property
    def binary(self) -> bool:
        return self.kind in BINARY_KINDS

    def __repr__(self) -> str:
        return (f"VectorIndex(kind={self.kind!r}, count={self.count}, dimension={self.dimension}, "
                f"method={self.method!r}, knobs={self.knobs})")

    # ----------------------------------------------------------------- searching

    def set_search_knobs(self, **knobs) -> VectorIndex:
        """Change the search-time knobs (``ef_search``, ``nprobe``, ``refine``, ``nflip``) in place.

        Returns the index, so ``index.set_search_knobs(nprobe=8).search(q, 10)`` reads as one step.
        """
        allowed = SEARCH_KNOBS.get(self.kind, ())
        unknown = sorted(set(knobs) - set(allowed))
        if unknown:
            raise InvalidParameterError(
                f"a {self.kind!r} index has the search knobs {list(allowed) or 'none'}; got {unknown}"
                + (" (refine is chosen when the index is built)" if "refine" in unknown else "")
            )
        for key, value in knobs.items():
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
                raise InvalidParameterError(f"{key} must be a positive integer; got {value!r}")
            if key == "refine" and not self.knobs.get("refine"):
                raise InvalidParameterError("this ivfpq index was built without refine; rebuild it with refine=k")
        self.knobs.update({k: int(v) for k, v in knobs.items()})
        _apply_search_knobs(self.faiss_index, self.kind, self.knobs)
        return self

    def check_query(self, *, method: str | None = None) -> None:
        """Raise :class:`EmbeddingMismatchError` when ``method`` is not the one the index was built from."""
        if method is not None and self.method is not None and method != self.method:
            raise EmbeddingMismatchError(
                f"the index holds {self.method!r} vectors but the query comes from {method!r}; "
                f"embed the query with {self.method!r} (or build an index from {method!r} vectors)"
            )

    def search(self, queries, k: int = 10, *, method: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest vectors of each query.

        Parameters
        ----------
        queries
            An N×D array of embeddings (one vector is taken as one query), or
            hashes for a binary index (anything :func:`as_hash_codes` takes).
        k
            Neighbours per query; more than :attr:`count` gives :attr:`count`.
        method
            The method that made the queries; a different one than the
            index's raises :class:`EmbeddingMismatchError`.

        Returns
        -------
        scores, positions
            N×k arrays, best first: cosine (float kinds) or ``1 − Hamming/bits``
            (binary kinds) and row positions in the index (``ids[position]``
            is the label). An approximate index may find fewer than ``k``;
            the missing places hold position ``-1`` and score ``-inf``.
        """
        self.check_query(method=method)
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
            raise InvalidParameterError(f"k must be a positive integer; got {k!r}")
        k = int(min(k, self.count))
        if self.binary:
            codes = as_hash_codes(queries, name="queries", bits=self.dimension)
            distances, positions = self.faiss_index.search(codes, k)
            scores = 1.0 - distances.astype(np.float64) / self.dimension
        else:
            vectors = _as_vectors(queries, name="queries", dimension=self.dimension)
            scores, positions = self.faiss_index.search(vectors, k)
            scores = scores.astype(np.float64)
        positions = positions.astype(np.int64)
        scores[positions < 0] = -np.inf
        return scores, positions

    def search_ids(self, queries, k: int = 10, *, method: str | None = None) -> list[list[tuple[str, float]]]:
        """Like :meth:`search`, as ``(id, score)`` pairs per query (positions as strings without ids)."""
        scores, positions = self.search(queries, k, method=method)
        return [[(self._label(p), float(s)) for s, p in zip(row_s, row_p, strict=True) if p >= 0]
                for row_s, row_p in zip(scores, positions, strict=True)]

    def within_radius(self, queries, radius: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """Every hash within Hamming distance ``radius`` of each query (binary kinds).

        Returns one ``(positions, distances)`` pair per query, nearest first.
        This is the near-duplicate question as a threshold: "everything at most
        ``radius`` bits away", however many that is.
        """
        if not self.binary:
            raise InvalidParameterError(
                f"within_radius is a Hamming search; this is a {self.kind!r} index of float vectors "
                "(use search with k, or build_hash_index for hashes)"
            )
        if isinstance(radius, bool) or not isinstance(radius, int | np.integer) or not 0 <= radius <= self.dimension:
            raise InvalidParameterError(f"radius must be an integer in 0..{self.dimension} bits; got {radius!r}")
        codes = as_hash_codes(queries, name="queries", bits=self.dimension)
        # FAISS's binary range search keeps distances strictly below the radius
        limits, distances, positions = self.faiss_index.range_search(codes, int(radius) + 1)
        out = []
        for q in range(len(codes)):
            d = distances[limits[q]: limits[q + 1]].astype(np.int64)
            p = positions[limits[q]: limits[q + 1]].astype(np.int64)
            order = np.lexsort((p, d))
            out.append((p[order], d[order]))
        return out

    def _label(self, position: int) -> str:
        return self.ids[position] if self.ids is not None else str(int(position))

    # ----------------------------------------------------------------- size and persistence

    def serialized_bytes(self) -> int:
        """Bytes of the index as FAISS stores it (vectors or codes, graph links, centroids)."""
        faiss = _faiss()
        if self.binary:
            return int(faiss.serialize_index_binary(self.faiss_index).size)
        return int(faiss.serialize_index(self.faiss_index).size)

    @property
    def bytes_per_vector(self) -> float:
        """:meth:`serialized_bytes` over :attr:`count` (ids not included)."""
        return self.serialized_bytes() / max(self.count, 1)

    def manifest(self) -> dict:
        """What :meth:`save` writes next to the index: enough to use it without this object."""
        return {
            "format": FORMAT,
            "kind": self.kind,
            "method": self.method,
            "dimension": self.dimension,
            "metric": "hamming" if self.binary else "cosine",
            "knobs": self.knobs,
            "count": self.count,
            "build_seconds": round(self.build_seconds, 3),
            "faiss_version": _faiss().__version__,
            **self.extra,
            "ids": self.ids,
        }

    def save(self, folder: str | os.PathLike) -> Path:
        """Write ``index.faiss`` and ``manifest.json`` into ``folder`` (created); return the folder."""
        faiss = _faiss()
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        if self.binary:
            faiss.write_index_binary(self.faiss_index, str(folder / INDEX_FILE))
        else:
            faiss.write_index(self.faiss_index, str(folder / INDEX_FILE))
        (folder / MANIFEST_NAME).write_text(json.dumps(self.manifest(), indent=1))
        return folder


def _apply_search_knobs(index, kind: str, knobs: dict) -> None:
    faiss = _faiss()
    if kind == "hnsw":
        faiss.downcast_index(index).hnsw.efSearch = knobs["ef_search"]
    elif kind == "ivfpq":
        if knobs.get("refine"):
            refine = faiss.downcast_index(index)
            refine.k_factor = float(knobs["refine"])
            faiss.downcast_index(refine.base_index).nprobe = knobs["nprobe"]
        else:
            faiss.downcast_index(index).nprobe = knobs["nprobe"]
    elif kind == "binary_hash":
        index.nflip = knobs["nflip"]


def build_index(vectors, kind: str = "flat", *, ids=None, method: str | None = None, seed: int = 0,
                **knobs) -> VectorIndex:
    """Build a FAISS index over embeddings (cosine similarity).

    Parameters
    ----------
    vectors
        N×D embeddings; rows are L2-normalised here (a copy), so any scale works.
    kind
        ``"flat"`` (exact), ``"hnsw"`` or ``"ivfpq"``; hashes go to :func:`build_hash_index`.
    ids
        One label per vector (image paths), kept in the saved manifest.
    method
        The method that made the vectors, checked against queries later.
    seed
        Seeds the k-means of ``ivfpq`` (the other kinds are deterministic given the order).
    **knobs
        ``hnsw``: ``m`` (links per node, 32), ``ef_construction`` (40),
        ``ef_search`` (64). ``ivfpq``: ``nlist`` (about 4·√N), ``pq_m``
        (sub-quantizers, the code size in bytes at 8 bits; default the largest
        divisor of D up to 64), ``nbits`` (8), ``nprobe`` (16), ``refine``
        (0: off; k: re-rank k×k candidates with the full vectors, which the
        index then also stores), ``train_size`` (vectors k-means sees).

    Raises
    ------
    UnknownMethodError
        An unknown kind.
    EmbeddingMismatchError, EmptyInputError
        Not an N×D array of finite, non-zero rows; ``ids`` of another length.
    InvalidParameterError
        An unknown or invalid knob, or too few vectors to train ``ivfpq``.

    Examples
    --------
    >>> v = np.eye(4, dtype=np.float32)
    >>> build_index(v).search(v[2], k=1)[1].tolist()
    [[2]]
    """
    if kind not in FLOAT_KINDS:
        hint = " (hashes: build_hash_index)" if kind in BINARY_KINDS else ""
        raise unknown_name("index kind for float vectors" + hint, kind, FLOAT_KINDS)
    array = _as_vectors(vectors)
    count, dimension = array.shape
    ids = _check_ids(ids, count)
    resolved = _resolve_knobs(kind, count, dimension, knobs)
    faiss = _faiss()
    start = time.perf_counter()
    if kind == "flat":
        index = faiss.IndexFlatIP(dimension)
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(dimension, resolved["m"], faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = resolved["ef_construction"]
    else:
        quantizer = faiss.IndexFlatIP(dimension)
        index = faiss.IndexIVFPQ(quantizer, dimension, resolved["nlist"], resolved["pq_m"], resolved["nbits"],
                                 faiss.METRIC_INNER_PRODUCT)
        index.cp.seed = seed
        rng = np.random.default_rng(seed)
        sample = array if resolved["train_size"] >= count else array[
            np.sort(rng.choice(count, resolved["train_size"], replace=False))]
        index.train(sample)
        if resolved["refine"]:
            index = faiss.IndexRefineFlat(index)
    index.add(array)
    build_seconds = time.perf_counter() - start
    _apply_search_knobs(index, kind, resolved)
    return VectorIndex(kind=kind, faiss_index=index, dimension=dimension, knobs=resolved, ids=ids,
                       method=method, build_seconds=build_seconds)


def build_hash_index(hashes, kind: str = "binary", *, ids=None, method: str | None = None, **knobs) -> VectorIndex:
    """Build a FAISS binary index over bit hashes (Hamming distance).

    Parameters
    ----------
    hashes
        Anything :func:`as_hash_codes` takes: ImageHash objects, hex strings,
        bit arrays, packed bytes, ``uint64``.
    kind
        ``"binary"`` (exact scan, ``IndexBinaryFlat``) or ``"binary_hash"``
        (``IndexBinaryHash``: looks only in the buckets of hashes whose first
        ``hash_bits`` bits lie within ``nflip`` flips of the query's, so it is
        fast and misses neighbours that differ early).
    ids, method
        As for :func:`build_index` (``method`` e.g. ``"phash"``).

    Examples
    --------
    >>> index = build_hash_index(["0000000000000000", "000000000000000f", "ffffffffffffffff"])
    >>> scores, positions = index.search("0000000000000001", k=2)
    >>> positions.tolist(), scores.round(4).tolist()
    ([[0, 1]], [[0.9844, 0.9531]])
    >>> [p.tolist() for p, d in index.within_radius("0000000000000000", 4)]
    [[0, 1]]
    """
    if kind not in BINARY_KINDS:
        raise unknown_name("index kind for hashes", kind, BINARY_KINDS)
    codes = as_hash_codes(hashes)
    count, bits = len(codes), codes.shape[1] * 8
    ids = _check_ids(ids, count)
    resolved = _resolve_knobs(kind, count, bits, knobs)
    if kind == "binary_hash" and not 1 <= resolved["hash_bits"] <= min(bits, 24):
        raise InvalidParameterError(f"hash_bits must lie in 1..{min(bits, 24)}; got {resolved['hash_bits']}")
    faiss = _faiss()
    start = time.perf_counter()
    index = faiss.IndexBinaryFlat(bits) if kind == "binary" else faiss.IndexBinaryHash(bits, resolved["hash_bits"])
    index.add(codes)
    build_seconds = time.perf_counter() - start
    _apply_search_knobs(index, kind, resolved)
    return VectorIndex(kind=kind, faiss_index=index, dimension=bits, knobs=resolved, ids=ids, method=method,
                       build_seconds=build_seconds)


def _check_ids(ids, count: int) -> list[str] | None:
    if ids is None:
        return None
    ids = [str(i) for i in ids]
    if len(ids) != count:
        raise EmbeddingMismatchError(f"ids has {len(ids)} labels for {count} vectors; give one label per vector")
    return ids


def load_index(folder: str | os.PathLike) -> VectorIndex:
    """Read an index written by :meth:`VectorIndex.save`.

    Raises
    ------
    IndexNotFoundError
        The folder, its ``manifest.json`` or its ``index.faiss`` is missing.
    IndexFormatError
        The manifest is not this package's, or disagrees with the index file.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise IndexNotFoundError(
            f"no index folder at {str(folder)!r}; build one with `imgsim index build embeddings.parquet "
            f"--out {folder}` or VectorIndex.save"
        )
    manifest_path, index_path = folder / MANIFEST_NAME, folder / INDEX_FILE
    for path in (manifest_path, index_path):
        if not path.is_file():
            raise IndexNotFoundError(f"index folder {str(folder)!r} has no {path.name}; it was not written by "
                                     "VectorIndex.save (or is incomplete): rebuild it")
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise IndexFormatError(f"cannot read {str(manifest_path)!r} as JSON: {error}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT or manifest.get("kind") not in INDEX_KINDS:
        raise IndexFormatError(f"{str(manifest_path)!r} is not an imgsim index manifest ({FORMAT}); rebuild the index")
    faiss = _faiss()
    kind = manifest["kind"]
    try:
        if kind in BINARY_KINDS:
            index = faiss.read_index_binary(str(index_path))
        else:
            index = faiss.read_index(str(index_path))
    except RuntimeError as error:
        raise IndexFormatError(f"FAISS cannot read {str(index_path)!r}: {str(error).splitlines()[-1]}") from None
    if int(index.ntotal) != manifest.get("count") or int(index.d) != manifest.get("dimension"):
        raise IndexFormatError(
            f"{str(index_path)!r} holds {index.ntotal} vectors of dimension {index.d}, the manifest says "
            f"{manifest.get('count')} of {manifest.get('dimension')}: the two files come from different builds"
        )
    known = {"format", "kind", "method", "dimension", "metric", "knobs", "count", "build_seconds", "faiss_version", "ids"}
    loaded = VectorIndex(kind=kind, faiss_index=index, dimension=int(index.d), knobs=dict(manifest.get("knobs") or {}),
                         ids=manifest.get("ids"), method=manifest.get("method"),
                         build_seconds=float(manifest.get("build_seconds") or 0.0),
                         extra={k: v for k, v in manifest.items() if k not in known})
    _apply_search_knobs(index, kind, loaded.knobs)
    return loaded


# --------------------------------------------------------------------------- measuring


def exact_neighbours(vectors, queries, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """The true ``k`` nearest neighbours by cosine (FAISS's brute-force ``knn``, no index copy).

    Returns ``(scores, positions)`` like :meth:`VectorIndex.search`.
    """
    base = _as_vectors(vectors)
    query = _as_vectors(queries, name="queries", dimension=base.shape[1])
    faiss = _faiss()
    scores, positions = faiss.knn(query, base, int(min(k, len(base))), metric=faiss.METRIC_INNER_PRODUCT)
    return scores.astype(np.float64), positions.astype(np.int64)


def recall_at_k(found, truth, k: int = 10) -> float:
    """Share of the true ``k`` nearest neighbours that the index returned among its first ``k``.

    Examples
    --------
    >>> recall_at_k([[1, 2, 3]], [[3, 2, 9]], k=3)
    0.6666666666666666
    """
    found, truth = np.asarray(found)[:, :k], np.asarray(truth)[:, :k]
    if found.shape[0] != truth.shape[0]:
        raise InvalidParameterError(f"found has {found.shape[0]} queries, truth {truth.shape[0]}")
    hits = sum(len(np.intersect1d(f[f >= 0], t)) for f, t in zip(found, truth, strict=True))
    return hits / truth.size


def query_ms(index: VectorIndex, queries, k: int = 10, *, repeat: int = 3) -> float:
    """Milliseconds per query: best of ``repeat`` batched searches over all ``queries``, divided by their number.

    A batch uses all of FAISS's threads (``faiss.omp_get_max_threads()``), as a service answering many
    queries would; on a loaded machine the best of several runs is the least disturbed.
    """
    count = len(queries)
    best = math.inf
    for _ in range(max(1, repeat)):
        start = time.perf_counter()
        index.search(queries, k)
        best = min(best, time.perf_counter() - start)
    return 1000.0 * best / count


def measure_index(index: VectorIndex, queries, truth, k: int = 10, *, repeat: int = 3) -> dict:
    """Recall@k against ``truth`` (exact positions), ms per query, build seconds and bytes per vector."""
    _, found = index.search(queries, k)
    return {
        "kind": index.kind,
        **{key: value for key, value in index.knobs.items() if value is not None},
        "count": index.count,
        f"recall@{k}": recall_at_k(found, truth, k),
        "ms_per_query": query_ms(index, queries, k, repeat=repeat),
        "build_s": index.build_seconds,
        "bytes_per_vector": index.bytes_per_vector,
        "threads": _faiss().omp_get_max_threads(),
    }


def hamming_knn_numpy(database, queries, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """The reference Hamming k-NN: XOR and popcount over every 64-bit hash, in NumPy.

    ``database`` and ``queries`` are ``uint64`` arrays (or anything
    :func:`as_hash_codes` takes, packed to 64 bits). Returns
    ``(distances, positions)``, nearest first, ties by position.

    Examples
    --------
    >>> d, p = hamming_knn_numpy(np.array([0, 1, 3], np.uint64), np.array([1], np.uint64), k=2)
    >>> d.tolist(), p.tolist()
    ([[0, 1]], [[1, 0]])
    """
    base = _as_uint64(database, "database")
    query = _as_uint64(queries, "queries")
    k = int(min(k, len(base)))
    distances = np.empty((len(query), k), np.int64)
    positions = np.empty((len(query), k), np.int64)
    for row, q in enumerate(query):
        d = np.bitwise_count(base ^ q)
        part = np.argpartition(d, k - 1)[:k] if k < len(base) else np.arange(len(base))
        order = part[np.lexsort((part, d[part]))]
        distances[row], positions[row] = d[order], order
    return distances, positions


def _as_uint64(hashes, name: str) -> np.ndarray:
    array = np.asarray(hashes) if isinstance(hashes, np.ndarray) else None
    if array is not None and array.dtype == np.uint64 and array.ndim == 1:
        return array
    codes = as_hash_codes(hashes, name=name, bits=64)
    return codes.view(">u8").ravel().astype(np.uint64)


def synthetic_embeddings(count: int, dimension: int = 512, *, seed: int = 0, intrinsic: int = 10,
                         chunk: int = 65_536) -> np.ndarray:
    """Unit vectors on a curved low-dimensional surface in ``dimension`` dimensions, made in chunks.

    The idea of FAISS's ``SyntheticDataset`` (Gaussian points in ``intrinsic``
    dimensions, mapped linearly into ``dimension`` and bent by a sine), so the
    data has the structure of real embeddings — much harder to index than
    uniform noise is easy, much easier than noise is hard — generated chunk by
    chunk in ``float32`` so a million 512-d vectors need their 2 GB and no
    more (``SyntheticDataset`` holds several float64 copies at once).

    Examples
    --------
    >>> v = synthetic_embeddings(3, 8)
    >>> v.shape, v.dtype, np.allclose(np.linalg.norm(v, axis=1), 1)
    ((3, 8), dtype('float32'), True)
    """
    rng = np.random.default_rng(seed)
    mixing = rng.random((intrinsic, dimension)).astype(np.float32)
    frequency = (rng.random(dimension) * 4 + 0.1).astype(np.float32)
    out = np.empty((count, dimension), np.float32)
    for start in range(0, count, chunk):
        n = min(chunk, count - start)
        part = np.sin((rng.standard_normal((n, intrinsic), dtype=np.float32) @ mixing) * frequency)
        part /= np.linalg.norm(part, axis=1, keepdims=True)
        out[start: start + n] = part
    return out
