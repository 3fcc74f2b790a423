"""Measuring nearest-neighbour indexes: the truth, recall, latency, and data to measure them on.

What notebook 09 and ``python -m benchmarks index`` use to judge the indexes of
:mod:`imgsim_helpers.scale.index`; the library itself needs none of it.

>>> vectors = synthetic_embeddings(500, 16, seed=1)
>>> _, truth = exact_neighbours(vectors, vectors[:5], k=3)
>>> truth[:, 0].tolist()
[0, 1, 2, 3, 4]
"""

from __future__ import annotations

import math
import time

import numpy as np

from imgsim_helpers.core.checks import check_int
from imgsim_helpers.core.errors import InvalidParameterError
from imgsim_helpers.scale.index import VectorIndex, as_hash_codes, as_unit_vectors


def exact_neighbours(vectors, queries, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """The true ``k`` nearest neighbours by cosine (FAISS's brute-force ``knn``, no index copy).

    Returns ``(scores, positions)`` like :meth:`VectorIndex.search`.
    """
    import faiss

    base = as_unit_vectors(vectors)
    query = as_unit_vectors(queries, name="queries", dimension=base.shape[1])
    k = min(check_int(k, "k", low=1), len(base))
    scores, positions = faiss.knn(query, base, k, metric=faiss.METRIC_INNER_PRODUCT)
    return scores.astype(np.float64), positions.astype(np.int64)


def recall_at_k(found, truth, k: int = 10) -> float:
    """Share of the true ``k`` nearest neighbours that the index returned among its first ``k``.

    >>> recall_at_k([[1, 2, 3]], [[3, 2, 9]], k=3)
    0.6666666666666666
    """
    found, truth = np.asarray(found)[:, :k], np.asarray(truth)[:, :k]
    if found.shape[0] != truth.shape[0]:
        raise InvalidParameterError(f"found has {found.shape[0]} queries, truth {truth.shape[0]}")
    hits = sum(len(np.intersect1d(f[f >= 0], t)) for f, t in zip(found, truth, strict=True))
    return hits / truth.size


def query_ms(index: VectorIndex, queries, k: int = 10, *, repeat: int = 3) -> float:
    """Milliseconds per query: the best of ``repeat`` batched searches over all ``queries``, per query.

    A batch uses all of FAISS's threads, as a service answering many queries would; on a
    loaded machine the best of several runs is the least disturbed.
    """
    best = math.inf
    for _ in range(max(1, repeat)):
        start = time.perf_counter()
        index.search(queries, k)
        best = min(best, time.perf_counter() - start)
    return 1000.0 * best / len(queries)


def measure_index(index: VectorIndex, queries, truth, k: int = 10, *, repeat: int = 3) -> dict:
    """Recall@k against ``truth`` (exact positions), ms per query, build seconds and bytes per vector."""
    import faiss

    _, found = index.search(queries, k)
    return {
        "kind": index.kind,
        **{key: value for key, value in index.knobs.items() if value is not None},
        "count": index.count,
        f"recall@{k}": recall_at_k(found, truth, k),
        "ms_per_query": query_ms(index, queries, k, repeat=repeat),
        "build_s": index.build_seconds,
        "bytes_per_vector": index.bytes_per_vector,
        "threads": faiss.omp_get_max_threads(),
    }


def _as_uint64(hashes, name: str) -> np.ndarray:
    if isinstance(hashes, np.ndarray) and hashes.dtype == np.uint64 and hashes.ndim == 1:
        return hashes
    return as_hash_codes(hashes, name=name, bits=64).view(">u8").ravel().astype(np.uint64)


def hamming_knn_numpy(database, queries, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """The reference Hamming k-NN: XOR and popcount over every 64-bit hash, in NumPy.

    ``database`` and ``queries`` are ``uint64`` arrays (or anything :func:`as_hash_codes`
    takes, 64 bits). Returns ``(distances, positions)``, nearest first, ties by position.

    >>> d, p = hamming_knn_numpy(np.array([0, 1, 3], np.uint64), np.array([1], np.uint64), k=2)
    >>> d.tolist(), p.tolist()
    ([[0, 1]], [[1, 0]])
    """
    base = _as_uint64(database, "database")
    query = _as_uint64(queries, "queries")
    k = min(check_int(k, "k", low=1), len(base))
    distances = np.empty((len(query), k), np.int64)
    positions = np.empty((len(query), k), np.int64)
    for row, q in enumerate(query):
        d = np.bitwise_count(base ^ q)
        part = np.argpartition(d, k - 1)[:k] if k < len(base) else np.arange(len(base))
        order = part[np.lexsort((part, d[part]))]
        distances[row], positions[row] = d[order], order
    return distances, positions


def synthetic_embeddings(count: int, dimension: int = 512, *, seed: int = 0, intrinsic: int = 10,
                         chunk: int = 65_536) -> np.ndarray:
    """Unit vectors on a curved low-dimensional surface in ``dimension`` dimensions, made in chunks.

    The idea of FAISS's ``SyntheticDataset`` (Gaussian points in ``intrinsic`` dimensions,
    mapped linearly into ``dimension`` and bent by a sine), so the data has the structure of
    real embeddings, generated chunk by chunk in ``float32``: a million 512-d vectors need
    their 2 GB and no more (``SyntheticDataset`` holds several float64 copies at once).

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
