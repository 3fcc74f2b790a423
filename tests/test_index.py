"""FAISS indexes: exact agrees with top_k, approximate ones find most of the truth, save/load, hashes, bad input."""

import gc
import json

import numpy as np
import pytest

from imgsim_helpers.core.errors import (
    EmbeddingMismatchError,
    EmptyInputError,
    IndexFormatError,
    IndexNotFoundError,
    InvalidParameterError,
    UnknownMethodError,
    UnknownOptionError,
)
from imgsim_helpers.learned.embeddings import top_k
from imgsim_helpers.lessons.index_study import (
    exact_neighbours,
    hamming_knn_numpy,
    measure_index,
    recall_at_k,
    synthetic_embeddings,
)
from imgsim_helpers.scale.index import as_hash_codes, build_hash_index, build_index, load_index


@pytest.fixture(scope="module", autouse=True)
def one_faiss_thread():
    """FAISS's OpenMP threads spin while they wait: on a busy machine, one thread is 10x faster."""
    import faiss

    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    yield
    faiss.omp_set_num_threads(threads)


@pytest.fixture(scope="module")
def data():
    vectors = synthetic_embeddings(4000, 32, seed=1)
    queries = synthetic_embeddings(50, 32, seed=2)
    return vectors, queries, exact_neighbours(vectors, queries, 10)[1]


def test_flat_index_gives_the_scores_and_order_of_top_k(data):
    vectors, queries, _ = data
    scores, positions = build_index(vectors, "flat").search(queries, 5)
    ref_positions, ref_scores = top_k(queries, vectors, k=5)
    np.testing.assert_array_equal(positions, ref_positions)
    np.testing.assert_allclose(scores, ref_scores, atol=1e-5)


@pytest.mark.parametrize(("kind", "knobs"), [("hnsw", {"m": 16, "ef_search": 64}),
                                             ("ivfpq", {"nlist": 32, "pq_m": 8, "nbits": 6, "nprobe": 16, "refine": 8})])
def test_approximate_indexes_find_most_true_neighbours(data, kind, knobs):
    vectors, queries, truth = data
    index = build_index(vectors, kind, **knobs)
    row = measure_index(index, queries, truth, k=10, repeat=1)
    assert row["recall@10"] >= 0.9
    assert row["count"] == 4000 and row["bytes_per_vector"] > 0


def test_ivfpq_codes_take_pq_m_bytes_and_recall_rises_with_nprobe(data):
    vectors, queries, truth = data
    index = build_index(vectors, "ivfpq", nlist=64, pq_m=8, nbits=6, nprobe=1)
    low = recall_at_k(index.search(queries, 10)[1], truth)
    high = recall_at_k(index.set_search_knobs(nprobe=64).search(queries, 10)[1], truth)
    assert high > low
    # 6 bytes of code (8 × 6 bits) + 8 bytes of id per vector, plus centroids and tables shared by all
    assert 14 <= index.bytes_per_vector < 14 + (64 * 32 * 4 + 8 * 64 * 4 * 4 + 4096) / 4000


def test_save_and_load_round_trip(data, tmp_path):
    vectors, queries, _ = data
    paths = [f"img/{i}.jpg" for i in range(len(vectors))]
    index = build_index(vectors, "hnsw", ids=paths, method="mobilenet_v2", m=8, ef_search=40)
    index.save(tmp_path / "idx")
    manifest = json.loads((tmp_path / "idx" / "manifest.json").read_text())
    assert manifest["method"] == "mobilenet_v2" and manifest["count"] == 4000
    assert manifest["dimension"] == 32 and manifest["kind"] == "hnsw"
    assert manifest["knobs"]["ef_search"] == 40 and manifest["ids"][3] == "img/3.jpg"
    del index
    gc.collect()
    loaded = load_index(tmp_path / "idx")
    scores, positions = loaded.search(queries, 3)
    again = build_index(vectors, "hnsw", m=8, ef_search=40).search(queries, 3)
    np.testing.assert_array_equal(positions, again[1])
    assert loaded.search_ids(queries[:1], 1)[0][0][0] == paths[positions[0, 0]]


def test_ivfpq_with_refine_survives_garbage_collection_and_a_save(data, tmp_path):
    vectors, queries, _ = data
    index = build_index(vectors, "ivfpq", nlist=16, pq_m=8, nbits=6, refine=2)
    gc.collect()
    before = index.search(queries, 5)
    loaded = load_index(index.save(tmp_path / "pq"))
    np.testing.assert_array_equal(loaded.search(queries, 5)[1], before[1])


def test_hash_index_matches_the_numpy_popcount_scan():
    rng = np.random.default_rng(0)
    base = rng.integers(0, 2**63, size=3000, dtype=np.uint64)
    queries = base[:20] ^ np.uint64(0b1011)  # three bits away from their source
    index = build_hash_index(base, "binary")
    scores, positions = index.search(queries, 5)
    distances, ref_positions = hamming_knn_numpy(base, queries, 5)
    np.testing.assert_array_equal(np.round((1 - scores) * 64).astype(int), distances)
    np.testing.assert_array_equal(positions[:, 0], np.arange(20))
    assert (distances[:, 0] == 3).all()
    within = index.within_radius(queries[:2], 3)
    assert [p.tolist()[:1] for p, _ in within] == [[0], [1]]
    assert all((d <= 3).all() for _, d in within)


def test_hash_formats_agree():
    bits = np.zeros((1, 64), bool)
    bits[0, -1] = True
    same = [as_hash_codes(bits), as_hash_codes(["0000000000000001"]), as_hash_codes(np.array([1], np.uint64))]
    assert all((s == same[0]).all() for s in same)

    class FakeImageHash:  # what ImageHash objects offer: an 8×8 bit grid in .hash
        hash = bits.reshape(8, 8)

    assert (as_hash_codes([FakeImageHash()]) == same[0]).all()


def test_binary_hash_index_finds_exact_duplicates():
    rng = np.random.default_rng(1)
    base = rng.integers(0, 2**63, size=500, dtype=np.uint64)
    index = build_hash_index(base, "binary_hash", hash_bits=12, nflip=1)
    assert index.search(base[:10], 1)[1][:, 0].tolist() == list(range(10))


@pytest.mark.parametrize("vectors", [np.zeros((0, 4)), [[1.0, 2.0], [1.0]], np.full((3, 4), np.nan), np.zeros((2, 4)),
                                     np.ones((2, 2, 2))])
def test_bad_vectors_are_typed_errors(vectors):
    with pytest.raises((EmbeddingMismatchError, EmptyInputError)):
        build_index(vectors)


def test_bad_knobs_and_kinds(data):
    vectors, queries, _ = data
    with pytest.raises(UnknownMethodError, match="build_hash_index"):
        build_index(vectors, "binary")
    with pytest.raises(UnknownOptionError, match="'hnsw' index takes no option 'nprobe'; its options are: m,"):
        build_index(vectors, "hnsw", nprobe=3)
    with pytest.raises(InvalidParameterError, match="knob m must be an integer >= 1"):
        build_index(vectors, "hnsw", m=0)
    with pytest.raises(InvalidParameterError, match="knob nlist"):
        build_index(vectors, "ivfpq", nlist=True)
    with pytest.raises(InvalidParameterError, match="trained on at least"):
        build_index(vectors[:100], "ivfpq", nlist=10, pq_m=4)
    with pytest.raises(InvalidParameterError, match="divide"):
        build_index(vectors, "ivfpq", pq_m=5)
    index = build_index(vectors[:50], "flat")
    with pytest.raises(InvalidParameterError, match="search knobs"):
        index.set_search_knobs(ef_search=10)
    with pytest.raises(InvalidParameterError, match="Hamming"):
        index.within_radius(queries, 2)
    with pytest.raises(InvalidParameterError):
        index.search(queries, 0)
    with pytest.raises(EmbeddingMismatchError, match="ids"):
        build_index(vectors[:3], ids=["a"])


def test_queries_of_another_dimension_or_method_are_refused(data):
    vectors, queries, _ = data
    index = build_index(vectors[:100], method="mobilenet_v2")
    with pytest.raises(EmbeddingMismatchError, match="32-dimensional"):
        index.search(np.ones((1, 16)), 1)
    with pytest.raises(EmbeddingMismatchError, match="'clip'"):
        index.search(queries, 1, method="clip")
    hashes = build_hash_index(np.arange(10, dtype=np.uint64))
    with pytest.raises(EmbeddingMismatchError, match="64-bit"):
        hashes.search(np.zeros((1, 4), np.uint8), 1)


def test_k_above_the_count_returns_every_vector(data):
    vectors, queries, _ = data
    scores, positions = build_index(vectors[:3]).search(queries[:2], 10)
    assert positions.shape == (2, 3) and sorted(positions[0]) == [0, 1, 2]


def test_missing_or_foreign_index_folders(tmp_path, data):
    with pytest.raises(IndexNotFoundError, match="no index folder"):
        load_index(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(IndexNotFoundError, match="manifest.json"):
        load_index(tmp_path / "empty")
    folder = build_index(data[0][:20]).save(tmp_path / "ok")
    (folder / "manifest.json").write_text("{not json")
    with pytest.raises(IndexFormatError, match="JSON"):
        load_index(folder)
    (folder / "manifest.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(IndexFormatError, match="not an imgsim index"):
        load_index(folder)
    other = build_index(data[0][:30]).save(tmp_path / "other")
    (folder / "manifest.json").write_text((other / "manifest.json").read_text())
    with pytest.raises(IndexFormatError, match="different builds"):
        load_index(folder)
    (folder / "index.faiss").write_bytes(b"garbage")
    with pytest.raises(IndexFormatError, match="FAISS cannot read"):
        load_index(folder)


def test_the_hamming_benchmark_compares_equal_distances():
    from benchmarks import bench_index

    rows = bench_index.hamming_rows(n=5000, n_queries=40, numpy_queries=20)
    flat = next(r for r in rows if r["method"] == "faiss IndexBinaryFlat")
    radius = next(r for r in rows if r["method"].endswith("radius 8"))
    assert flat["same distances as numpy"] is True and radius["found source"] == 1.0
