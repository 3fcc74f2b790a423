"""Nearest-neighbour indexes over embeddings and perceptual hashes, with FAISS.

An index trades a little recall for the time and memory of an exact scan. Kinds (knobs:
build / search):

* ``"flat"``: ``IndexFlatIP``, the exact scan, the truth;
* ``"hnsw"``: ``IndexHNSWFlat``, a navigable graph (``m``, ``ef_construction`` / ``ef_search``);
* ``"ivfpq"``: ``IndexIVFPQ``, coarse clusters, vectors compressed to ``pq_m`` bytes (``nlist``,
  ``pq_m``, ``nbits``, ``train_size``, ``refine``: re-rank with the full vectors / ``nprobe``);
* ``"binary"``: ``IndexBinaryFlat``, the exact Hamming scan over bit hashes;
* ``"binary_hash"``: ``IndexBinaryHash``, buckets on the first ``hash_bits`` bits (/ ``nflip``).

Float vectors are L2-normalised (inner product = cosine); binary indexes score ``1 − Hamming / bits``.

>>> vectors = np.random.default_rng(0).normal(size=(200, 16)).astype(np.float32)
>>> index = build_index(vectors, kind="hnsw", m=8, ef_search=32)
>>> index.search(vectors[:2], k=3)[1][:, 0].tolist(), index.count, index.dimension
([0, 1], 200, 16)
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from imgsim_helpers.core.checks import check_choice, check_int
from imgsim_helpers.core.errors import (
    EmbeddingMismatchError,
    EmptyInputError,
    IndexFormatError,
    IndexNotFoundError,
    InvalidParameterError,
    UnknownOptionError,
)

FLOAT_KINDS = ("flat", "hnsw", "ivfpq")
BINARY_KINDS = ("binary", "binary_hash")
INDEX_KINDS = FLOAT_KINDS + BINARY_KINDS
MANIFEST_NAME = "manifest.json"
INDEX_FILE = "index.faiss"
FORMAT = "imgsim-index/1"

# Knobs each kind accepts, with their defaults (None: chosen from the data, see _ivfpq_defaults).
DEFAULT_KNOBS: dict[str, dict] = {
    "flat": {},
    "hnsw": {"m": 32, "ef_construction": 40, "ef_search": 64},
    "ivfpq": {"nlist": None, "pq_m": None, "nbits": 8, "nprobe": 16, "refine": 0, "train_size": None},
    "binary": {},
    "binary_hash": {"hash_bits": 16, "nflip": 2},
}
SEARCH_KNOBS = {"hnsw": ("ef_search",), "ivfpq": ("nprobe", "refine"), "binary_hash": ("nflip",)}
# Knobs that may be 0 (refine: off; nflip: the query's own bucket only); the others count something.
ZERO_KNOBS = ("refine", "nflip")


def _faiss():
    import faiss
    return faiss


def as_unit_vectors(vectors, *, name: str = "vectors", dimension: int | None = None) -> np.ndarray:
    """A C-contiguous float32 N×D array of finite values, rows L2-normalised (cosine = inner product)."""
    try:
        array = np.asarray(vectors, dtype=np.float32)
    except (TypeError, ValueError) as error:
        raise EmbeddingMismatchError(f"{name} must be an N×D array of numbers (one row per image, all of one "
                                     f"length); could not read it as one: {error}") from None
    array = array[None, :] if array.ndim == 1 else array
    if array.ndim != 2:
        raise EmbeddingMismatchError(f"{name} must be an N×D array; got shape {array.shape}")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise EmptyInputError(f"{name} is empty (shape {array.shape}); pass at least one vector")
    if dimension is not None and array.shape[1] != dimension:
        raise EmbeddingMismatchError(f"{name} have {array.shape[1]} dimensions but the index holds {dimension}-"
                                     "dimensional vectors; embed the queries with the method the index was built from")
    if not np.isfinite(array).all():
        raise EmbeddingMismatchError(f"{name} hold NaN or infinite values; remove those rows")
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    if (norms == 0).any():
        raise EmbeddingMismatchError(f"{name} hold all-zero rows (row {int(np.flatnonzero(norms[:, 0] == 0)[0])}): "
                                     "a zero vector has no direction, so no cosine; remove it")
    if np.abs(norms - 1).max() <= 1e-5:  # normalised already: no second copy (1M × 512 is 2 GB)
        return np.ascontiguousarray(array)
    return np.ascontiguousarray(array / norms)


def _unpacked(hashes, name: str):
    """A list of ImageHash objects or hex strings as an array (bits or packed bytes)."""
    hashes = list(hashes)
    if not hashes:
        raise EmptyInputError(f"{name} is empty; pass at least one hash")
    if hasattr(hashes[0], "hash"):  # ImageHash
        return np.stack([np.asarray(h.hash, dtype=bool).ravel() for h in hashes])
    if not isinstance(hashes[0], str):
        return np.asarray(hashes)
    lengths = {len(h) for h in hashes}
    if len(lengths) != 1 or any(len(h) % 2 for h in hashes):
        raise EmbeddingMismatchError(f"{name}: hexadecimal hashes of different or odd lengths {sorted(lengths)}")
    try:
        return np.frombuffer(bytes.fromhex("".join(hashes)), np.uint8).reshape(len(hashes), -1).copy()
    except ValueError as error:
        raise EmbeddingMismatchError(f"{name}: not hexadecimal hash strings ({error})") from None


def as_hash_codes(hashes, *, name: str = "hashes", bits: int | None = None) -> np.ndarray:
    """Pack bit hashes into the N×(bits/8) ``uint8`` codes FAISS's binary indexes take.

    Accepts ImageHash objects, hexadecimal strings (``str(imagehash.phash(image))``), an
    N×bits array of 0/1 or booleans, N×(bits/8) ``uint8`` (packed) or ``uint64`` integers.

    >>> as_hash_codes(["ff00000000000001"]).tolist()
    [[255, 0, 0, 0, 0, 0, 0, 1]]
    """
    if isinstance(hashes, str) or hasattr(hashes, "hash"):
        hashes = [hashes]
    array = hashes if isinstance(hashes, np.ndarray) else _unpacked(hashes, name)
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
    array = array[None, :] if array.ndim == 1 else array
    if array.ndim != 2 or array.dtype != np.uint8:
        raise EmbeddingMismatchError(f"{name}: expected packed N×(bits/8) uint8 codes; got {array.dtype} {array.shape}")
    if bits is not None and array.shape[1] * 8 != bits:
        raise EmbeddingMismatchError(f"{name} are {array.shape[1] * 8}-bit hashes but the index holds {bits}-bit "
                                     "hashes; hash the queries with the hash the index was built from")
    return np.ascontiguousarray(array)


def _ivfpq_defaults(knobs: dict, count: int, dimension: int) -> None:
    """Fill nlist, pq_m and train_size from the data, and refuse what FAISS cannot train."""
    if knobs["nlist"] is None:  # about 4·sqrt(N) clusters, each trained from at least 39 points (FAISS's floor)
        knobs["nlist"] = int(max(1, min(4 * math.sqrt(count), count // 39)))
    if knobs["pq_m"] is None:  # 64 bytes per vector where the dimension allows: sub-vectors must divide D
        knobs["pq_m"] = max(m for m in range(1, min(64, dimension) + 1) if dimension % m == 0)
    if dimension % knobs["pq_m"]:
        raise InvalidParameterError(f"pq_m={knobs['pq_m']} must divide the dimension {dimension} (each of the "
                                    "pq_m sub-vectors gets dimension/pq_m values)")
    need = max(knobs["nlist"], 2 ** knobs["nbits"])
    if count < need:
        raise InvalidParameterError(
            f"an ivfpq index with nlist={knobs['nlist']} and nbits={knobs['nbits']} must be trained on at least "
            f"{need} vectors; got {count}. Use kind='flat' or 'hnsw' for a small gallery, or lower nlist / nbits")
    if knobs["train_size"] is None:
        knobs["train_size"] = int(min(count, max(256 * knobs["nlist"], 2 ** knobs["nbits"] * 64)))


def _resolve_knobs(kind: str, count: int, dimension: int, knobs: dict) -> dict:
    unknown = [key for key in knobs if key not in DEFAULT_KNOBS[kind]]
    if unknown:
        raise UnknownOptionError(f"a {kind!r} index", unknown, DEFAULT_KNOBS[kind])
    resolved = {**DEFAULT_KNOBS[kind], **{key: check_int(value, f"knob {key}", low=0 if key in ZERO_KNOBS else 1)
                                          for key, value in knobs.items()}}
    if kind == "ivfpq":
        _ivfpq_defaults(resolved, count, dimension)
    if kind == "hnsw" and resolved["m"] < 2:
        raise InvalidParameterError(f"hnsw needs m ≥ 2 links per node; got {resolved['m']}")
    if kind == "binary_hash" and not 1 <= resolved["hash_bits"] <= min(dimension, 24):
        raise InvalidParameterError(f"hash_bits must lie in 1..{min(dimension, 24)}; got {resolved['hash_bits']}")
    return resolved


@dataclass(eq=False)
class VectorIndex:
    """A FAISS index with its kind, knobs, ids (one label per vector, or None: positions) and
    the method that made the vectors; ``dimension`` is floats per vector, or bits per hash."""

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

    def set_search_knobs(self, **knobs) -> VectorIndex:
        """Change the search-time knobs (``ef_search``, ``nprobe``, ``refine``, ``nflip``) in place; return self."""
        allowed = SEARCH_KNOBS.get(self.kind, ())
        unknown = [key for key in knobs if key not in allowed]
        if unknown:
            hint = " (refine is chosen when the index is built)" if "refine" in unknown else ""
            raise InvalidParameterError(f"a {self.kind!r} index has the search knobs {list(allowed) or 'none'}; "
                                        f"got {unknown}{hint}")
        knobs = {key: check_int(value, key, low=1) for key, value in knobs.items()}
        if "refine" in knobs and not self.knobs.get("refine"):
            raise InvalidParameterError("this ivfpq index was built without refine; rebuild it with refine=k")
        self.knobs.update(knobs)
        _apply_search_knobs(self.faiss_index, self.kind, self.knobs)
        return self

    def check_query(self, *, method: str | None = None) -> None:
        """Raise :class:`EmbeddingMismatchError` when ``method`` is not the one the index was built from."""
        if method is not None and self.method is not None and method != self.method:
            raise EmbeddingMismatchError(
                f"the index holds {self.method!r} vectors but the query comes from {method!r}; "
                f"embed the query with {self.method!r} (or build an index from {method!r} vectors)")

    def search(self, queries, k: int = 10, *, method: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest vectors of each query: ``(scores, positions)``, N×k, best first.

        ``queries``: embeddings or, for a binary index, hashes. An approximate index may find
        fewer than ``k``: position -1, score -inf.
        """
        self.check_query(method=method)
        k = min(check_int(k, "k", low=1), self.count)
        if self.binary:
            codes = as_hash_codes(queries, name="queries", bits=self.dimension)
            distances, positions = self.faiss_index.search(codes, k)
            scores = 1.0 - distances.astype(np.float64) / self.dimension
        else:
            vectors = as_unit_vectors(queries, name="queries", dimension=self.dimension)
            scores, positions = self.faiss_index.search(vectors, k)
            scores = scores.astype(np.float64)
        positions = positions.astype(np.int64)
        scores[positions < 0] = -np.inf
        return scores, positions

    def search_ids(self, queries, k: int = 10, *, method: str | None = None) -> list[list[tuple[str, float]]]:
        """Like :meth:`search`, as ``(id, score)`` pairs per query (positions as strings without ids)."""
        scores, positions = self.search(queries, k, method=method)
        return [[(self.label(p), float(s)) for s, p in zip(row_s, row_p, strict=True) if p >= 0]
                for row_s, row_p in zip(scores, positions, strict=True)]

    def within_radius(self, queries, radius: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """Every hash within Hamming distance ``radius`` of each query: ``(positions, distances)``, nearest first."""
        if not self.binary:
            raise InvalidParameterError(f"within_radius is a Hamming search; this is a {self.kind!r} index of float "
                                        "vectors (use search with k, or build_hash_index for hashes)")
        radius = check_int(radius, "radius", low=0, high=self.dimension, hint="in bits")
        codes = as_hash_codes(queries, name="queries", bits=self.dimension)
        # FAISS's binary range search keeps distances strictly below the radius
        limits, distances, positions = self.faiss_index.range_search(codes, radius + 1)
        out = []
        for q in range(len(codes)):
            d = distances[limits[q]: limits[q + 1]].astype(np.int64)
            p = positions[limits[q]: limits[q + 1]].astype(np.int64)
            order = np.lexsort((p, d))
            out.append((p[order], d[order]))
        return out

    def label(self, position: int) -> str:
        """The id of the vector at ``position`` (the position itself when the index has no ids)."""
        return self.ids[position] if self.ids is not None else str(int(position))

    @property
    def bytes_per_vector(self) -> float:
        """Bytes of the index as FAISS stores it (vectors or codes, graph links, centroids; not
        the ids) over :attr:`count`."""
        faiss = _faiss()
        serialize = faiss.serialize_index_binary if self.binary else faiss.serialize_index
        return int(serialize(self.faiss_index).size) / max(self.count, 1)

    def manifest(self) -> dict:
        """What :meth:`save` writes next to the index: enough to use it without this object."""
        return {"format": FORMAT, "kind": self.kind, "method": self.method, "dimension": self.dimension,
                "metric": "hamming" if self.binary else "cosine", "knobs": self.knobs, "count": self.count,
                "build_seconds": round(self.build_seconds, 3), "faiss_version": _faiss().__version__,
                **self.extra, "ids": self.ids}

    def save(self, folder: str | os.PathLike) -> Path:
        """Write ``index.faiss`` and ``manifest.json`` into ``folder`` (created); return the folder."""
        faiss = _faiss()
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        write = faiss.write_index_binary if self.binary else faiss.write_index
        write(self.faiss_index, str(folder / INDEX_FILE))
        (folder / MANIFEST_NAME).write_text(json.dumps(self.manifest(), indent=1))
        return folder


def _apply_search_knobs(index, kind: str, knobs: dict) -> None:
    faiss = _faiss()
    if kind == "hnsw":
        faiss.downcast_index(index).hnsw.efSearch = knobs["ef_search"]
    elif kind == "ivfpq" and knobs.get("refine"):
        refine = faiss.downcast_index(index)
        refine.k_factor = float(knobs["refine"])
        faiss.downcast_index(refine.base_index).nprobe = knobs["nprobe"]
    elif kind == "ivfpq":
        faiss.downcast_index(index).nprobe = knobs["nprobe"]
    elif kind == "binary_hash":
        index.nflip = knobs["nflip"]


def _new_float_index(kind: str, array: np.ndarray, knobs: dict, seed: int):
    """The FAISS object of ``kind``, trained (``ivfpq``) but still empty."""
    faiss = _faiss()
    count, dimension = array.shape
    if kind == "flat":
        return faiss.IndexFlatIP(dimension)
    if kind == "hnsw":
        index = faiss.IndexHNSWFlat(dimension, knobs["m"], faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = knobs["ef_construction"]
        return index
    index = faiss.IndexIVFPQ(faiss.IndexFlatIP(dimension), dimension, knobs["nlist"], knobs["pq_m"],
                             knobs["nbits"], faiss.METRIC_INNER_PRODUCT)
    index.cp.seed = seed
    if knobs["train_size"] >= count:
        index.train(array)
    else:
        index.train(array[np.sort(np.random.default_rng(seed).choice(count, knobs["train_size"], replace=False))])
    return faiss.IndexRefineFlat(index) if knobs["refine"] else index


def build_index(vectors, kind: str = "flat", *, ids=None, method: str | None = None, seed: int = 0,
                **knobs) -> VectorIndex:
    """Build a FAISS index over N×D embeddings (normalised here; cosine similarity).

    ``seed`` seeds ivfpq's k-means; knobs as :data:`DEFAULT_KNOBS` (ivfpq by default
    ``nlist`` ≈ 4·√N and ``pq_m`` the largest divisor of D up to 64).
    """
    hint = " (hashes: build_hash_index)" if kind in BINARY_KINDS else ""
    check_choice(kind, "index kind for float vectors" + hint, FLOAT_KINDS)
    array = as_unit_vectors(vectors)
    ids = _check_ids(ids, len(array))
    resolved = _resolve_knobs(kind, *array.shape, knobs)
    start = time.perf_counter()
    index = _new_float_index(kind, array, resolved, seed)
    index.add(array)
    build_seconds = time.perf_counter() - start
    _apply_search_knobs(index, kind, resolved)
    return VectorIndex(kind=kind, faiss_index=index, dimension=array.shape[1], knobs=resolved, ids=ids,
                       method=method, build_seconds=build_seconds)


def build_hash_index(hashes, kind: str = "binary", *, ids=None, method: str | None = None, **knobs) -> VectorIndex:
    """Build a FAISS binary index over bit hashes (anything :func:`as_hash_codes` takes).

    >>> index = build_hash_index(["0000000000000000", "000000000000000f", "ffffffffffffffff"])
    >>> scores, positions = index.search("0000000000000001", k=2)
    >>> positions.tolist(), scores.round(4).tolist()
    ([[0, 1]], [[0.9844, 0.9531]])
    """
    check_choice(kind, "index kind for hashes", BINARY_KINDS)
    codes = as_hash_codes(hashes)
    count, bits = len(codes), codes.shape[1] * 8
    ids = _check_ids(ids, count)
    resolved = _resolve_knobs(kind, count, bits, knobs)
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


def _read_manifest(folder: Path) -> dict:
    if not folder.is_dir():
        raise IndexNotFoundError(f"no index folder at {str(folder)!r}; build one with `imgsim index build "
                                 f"embeddings.parquet --out {folder}` or VectorIndex.save")
    for path in (folder / MANIFEST_NAME, folder / INDEX_FILE):
        if not path.is_file():
            raise IndexNotFoundError(f"index folder {str(folder)!r} has no {path.name}; it was not written by "
                                     "VectorIndex.save (or is incomplete): rebuild it")
    path = folder / MANIFEST_NAME
    try:
        manifest = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise IndexFormatError(f"cannot read {str(path)!r} as JSON: {error}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT or manifest.get("kind") not in INDEX_KINDS:
        raise IndexFormatError(f"{str(path)!r} is not an imgsim index manifest ({FORMAT}); rebuild the index")
    return manifest


def load_index(folder: str | os.PathLike) -> VectorIndex:
    """Read an index written by :meth:`VectorIndex.save`."""
    folder = Path(folder)
    manifest = _read_manifest(folder)
    faiss, kind, index_path = _faiss(), manifest["kind"], folder / INDEX_FILE
    try:
        read = faiss.read_index_binary if kind in BINARY_KINDS else faiss.read_index
        index = read(str(index_path))
    except RuntimeError as error:
        raise IndexFormatError(f"FAISS cannot read {str(index_path)!r}: {str(error).splitlines()[-1]}") from None
    if int(index.ntotal) != manifest.get("count") or int(index.d) != manifest.get("dimension"):
        raise IndexFormatError(
            f"{str(index_path)!r} holds {index.ntotal} vectors of dimension {index.d}, the manifest says "
            f"{manifest.get('count')} of {manifest.get('dimension')}: the two files come from different builds")
    known = {"format", "kind", "method", "dimension", "metric", "knobs", "count", "build_seconds", "faiss_version", "ids"}
    loaded = VectorIndex(kind=kind, faiss_index=index, dimension=int(index.d), knobs=dict(manifest.get("knobs") or {}),
                         ids=manifest.get("ids"), method=manifest.get("method"),
                         build_seconds=float(manifest.get("build_seconds") or 0.0),
                         extra={k: v for k, v in manifest.items() if k not in known})
    _apply_search_knobs(index, kind, loaded.knobs)
    return loaded
