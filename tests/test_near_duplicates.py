"""The labelled pair set, thresholds at a target precision, bootstrap intervals, and the benchmark downloader.

The downloader is tested against an HTTP server this file starts on 127.0.0.1; no other network.
"""

import hashlib
import io
import math
import socket
import tarfile

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from PIL import Image

import imgsim_helpers as h
from imgsim_helpers.core.errors import EmptyInputError, InvalidParameterError
from imgsim_helpers.lessons.near_duplicates import (
    COPY_CHANGES,
    ChecksumMismatchError,
    DownloadUnavailableError,
    RemoteFile,
    apply_change,
    benchmark_pairs,
    benchmark_scores,
    bootstrap_interval,
    build_pair_set,
    colorhash_method,
    download_file,
    format_threshold_table,
    hash_invariance,
    near_duplicate_benchmark,
    operating_point,
    pair_features,
    pair_scores,
    retrieve_then_verify,
    threshold_at_precision,
    threshold_study,
)
from imgsim_helpers.registry import build_method
from tests.browser_server import serve_folder

SOURCES = ["astronaut", "camera", "coffee", "brick", "chelsea", "coins"]


@pytest.fixture(scope="module")
def pairs():
    return build_pair_set(SOURCES, max_side=64, negatives_per_pair=2, seed=0)


def test_pair_set_labels_kinds_and_splits(pairs):
    counts = pairs.counts()
    for split in ("calibration", "test"):
        assert counts[split]["positives"] > 0 and counts[split]["negatives"] > 0
    for label, _, _ in COPY_CHANGES:
        assert counts["kinds"][label] == len(SOURCES)
    assert counts["kinds"]["format"] == 3  # chelsea, camera and coins have format copies
    assert counts["kinds"]["same texture"] == 1 and counts["kinds"]["same scene"] == len(SOURCES) - 1
    assert counts["kinds"]["same page"] == 1
    assert not pairs.same[np.isin(pairs.kind, ["different", "same scene", "same texture", "same page"])].any()
    # a source's pairs never straddle the split, so the threshold is judged on unseen pictures
    for group in set(pairs.group.tolist()):
        assert len(set(pairs.split[pairs.group == group].tolist())) == 1
    # a "different" pair joins two sources of one split
    source_of = {i: name.split(" · ")[0] for i, name in enumerate(pairs.image_names)}
    split_of = {g: s for g, s in zip(pairs.group, pairs.split, strict=True)}
    for k in np.flatnonzero(pairs.kind == "different"):
        a, b = source_of[pairs.first[k]], source_of[pairs.second[k]]
        assert a != b and split_of[a] == split_of[b]


def test_pair_set_is_deterministic(pairs):
    again = build_pair_set(SOURCES, max_side=64, negatives_per_pair=2, seed=0)
    assert np.array_equal(again.first, pairs.first) and np.array_equal(again.split, pairs.split)
    assert all(np.array_equal(a, b) for a, b in zip(again.images, pairs.images, strict=True))


def test_pair_set_bad_input():
    with pytest.raises(EmptyInputError, match="at least 4"):
        build_pair_set(["astronaut", "camera"])
    with pytest.raises(InvalidParameterError):
        build_pair_set(SOURCES, negatives_per_pair=0)
    with pytest.raises(h.UnknownMethodError):
        build_pair_set(["astronaut", "camera", "coffee", "no_such_image"])
    with pytest.raises(InvalidParameterError, match="resize"):
        apply_change(np.zeros((16, 16), np.uint8), "resize", 0)


def test_threshold_at_precision_known_values():
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4])
    same = np.array([True, True, False, True, True, False])
    assert threshold_at_precision(scores, same, 1.0) == 0.8
    assert threshold_at_precision(scores, same, 0.8) == 0.5  # 4 of 5 at 0.5: the lowest that holds
    assert threshold_at_precision(scores, same, 0.5) == 0.4
    assert threshold_at_precision([0.1, 0.9], [True, False], 0.9) == math.inf


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 1), st.booleans()), min_size=2, max_size=40), st.floats(0.05, 1.0))
def test_chosen_threshold_reaches_the_target_on_its_own_pairs(rows, target):
    scores, same = np.array([r[0] for r in rows]), np.array([r[1] for r in rows])
    assume(same.any() and not same.all())
    threshold = threshold_at_precision(scores, same, target)
    if math.isinf(threshold):
        assert all((same[scores >= t].mean() < target) for t in np.unique(scores))
    else:
        assert operating_point(scores, same, threshold)["precision"] >= target
        lower = scores[scores < threshold]
        # no lower threshold reaches the target
        assert all(same[scores >= t].mean() < target for t in np.unique(lower))


def test_operating_point_counts():
    point = operating_point([0.9, 0.8, 0.3, 0.2], [True, False, True, False], 0.5)
    assert (point["true_positives"], point["false_positives"], point["false_negatives"], point["true_negatives"]) == (1, 1, 1, 1)
    assert point["precision"] == 0.5 and point["recall"] == 0.5 and point["false_positive_rate"] == 0.5
    assert operating_point([0.1], [True], math.inf)["precision"] is None


def test_bootstrap_interval():
    rng = np.random.default_rng(0)
    same = rng.random(400) < 0.5
    scores = np.where(same, rng.normal(0.8, 0.1, 400), rng.normal(0.4, 0.1, 400))
    groups = np.repeat(np.arange(40), 10)
    point = operating_point(scores, same, 0.6)
    interval = bootstrap_interval(scores, same, groups, 0.6, resamples=500, seed=1)
    for rate in ("precision", "recall"):
        low, high = interval[rate]
        assert low <= point[rate] <= high and high - low < 0.2
    assert interval == bootstrap_interval(scores, same, groups, 0.6, resamples=500, seed=1)
    # a perfect detector has a zero-width interval at 1
    perfect = bootstrap_interval(same.astype(float), same, groups, 0.5, resamples=200)
    assert perfect["precision"] == (1.0, 1.0) and perfect["recall"] == (1.0, 1.0)
    assert bootstrap_interval(scores, same, groups, math.inf, resamples=50)["precision"] is None
    with pytest.raises(InvalidParameterError):
        bootstrap_interval(scores, same, groups, 0.5, level=1.5)


def test_threshold_study_on_hashes(pairs):
    scores = {name: pair_scores(build_method(name), pairs) for name in ("phash", "dhash")}
    rows = threshold_study(scores, pairs, target_precision=0.9, resamples=200)
    assert [r["method"] for r in rows] == ["phash", "dhash"]
    for row in rows:
        assert 0.5 <= row["roc_auc"] <= 1 and 0 < row["average_precision"] <= 1
        assert row["recall_by_kind"]["jpeg q30"] == 1.0  # JPEG never moves a hash past its threshold here
        assert row["recall_by_kind"]["flip"] < 1.0  # a mirror image is another hash (but for symmetric pictures)
    table = format_threshold_table(rows)
    assert table.count("\n") == 3 and "phash" in table


def test_pair_scores_failure_is_never_a_copy():
    from imgsim_helpers.registry import SimilarityMethod

    pairs = build_pair_set(SOURCES[:4], max_side=48, negatives_per_pair=1, changes=COPY_CHANGES[:1])
    broken = pairs.first[0]

    def extract(image):
        if image is pairs.images[broken]:
            raise h.ImageTooSmallError("this test's method refuses one image")
        return float(image.mean())

    method = SimilarityMethod("mean", "pixel", "negated mean difference", extract, lambda a, b: -abs(a - b))
    scores = pair_scores(method, pairs)
    assert np.isneginf(scores[pairs.first == broken]).all()
    assert np.isfinite(scores[pairs.first != broken]).all()
    with pytest.raises(InvalidParameterError, match="NaN"):
        threshold_at_precision(np.array([np.nan, 1.0]), np.array([True, False]), 0.9)


def test_pair_scores_reuse_features(pairs):
    method = build_method("ahash")
    features = pair_features(method, pairs)
    assert np.array_equal(pair_scores(method, pairs, features), pair_scores(method, pairs))
    colour = colorhash_method()
    assert colour.similarity(pairs.images[0], pairs.images[0]) == 1.0 and colour.extract(pairs.images[0]).shape == (42,)


def test_retrieve_then_verify_reranks_only_the_candidates():
    rng = np.random.default_rng(0)
    gallery = rng.normal(size=(30, 8)).astype(np.float32)
    queries = gallery[:3] + 0.01
    # the verifier trusts only gallery position 29 for every query: it must come first after re-ranking
    out = retrieve_then_verify(queries, gallery, lambda q, g: 1.0 if g == 29 else 0.0, candidates=30)
    assert out["before"][:, 0].tolist() == [0, 1, 2]
    assert out["after"][:, 0].tolist() == [29, 29, 29]
    assert out["after"][:, 1].tolist() == [0, 1, 2]  # ties keep the index's order
    short = retrieve_then_verify(queries, gallery, lambda q, g: float(g), candidates=5)
    assert short["before"].shape == (3, 5) and set(short["after"][0]) == set(short["before"][0])
    with pytest.raises(InvalidParameterError):
        retrieve_then_verify(queries, gallery, lambda q, g: 0.0, candidates=0)


def test_hash_invariance_table():
    images = [h.course_image(n, max_side=96) for n in ("astronaut", "coffee", "rocket", "camera")]
    table = hash_invariance(images, [("jpeg q30", "jpeg", 30), ("flip", "flip", 1)], kinds=("phash", "ahash"))
    for kind in ("phash", "ahash"):
        assert table[kind]["jpeg q30"] < 8 < table["_unrelated"][kind]
        assert table[kind]["flip"] > table[kind]["jpeg q30"]


# --------------------------------------------------------------------------- the downloader


def _jpeg(seed: int) -> bytes:
    array = np.random.default_rng(seed).integers(0, 256, (48, 48, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(array).save(out, format="JPEG")
    return out.getvalue()


def _archive(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


@pytest.fixture()
def local_server(tmp_path, monkeypatch):
    """An HTTP server on 127.0.0.1 serving a tiny Copydays look-alike; yields (base url, {file: sha256})."""
    for variable in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("no_proxy", "*")
    served = tmp_path / "served"
    served.mkdir()
    scenes = ["2000", "2001", "2002", "2003"]
    archives = {
        "copydays_original.tar.gz": _archive({f"original/{s}00.jpg": _jpeg(i) for i, s in enumerate(scenes)}),
        "copydays_strong.tar.gz": _archive({f"strong/{s}01.jpg": _jpeg(i) for i, s in enumerate(scenes)}),
    }
    for name, data in archives.items():
        (served / name).write_bytes(data)
    with serve_folder(served) as url:
        yield url.rstrip("/"), {n: hashlib.sha256(d).hexdigest() for n, d in archives.items()}


def _remote(base, checksums):
    return tuple(RemoteFile(f"{base}/{name}", digest, name) for name, digest in checksums.items())


def test_download_success_builds_copydays_pairs(local_server, tmp_path):
    base, checksums = local_server
    pairs = near_duplicate_benchmark(download=True, folder=tmp_path / "cache", files=_remote(base, checksums),
                                     timeout=5, max_side=32)
    assert pairs.origin.startswith("INRIA Copydays")
    assert int(pairs.same.sum()) == 4 and int((~pairs.same).sum()) == 4
    assert not pairs.notes
    # a second call finds the files with the pinned checksums and downloads nothing
    path = download_file(_remote(base, checksums)[0], tmp_path / "cache")
    assert path.stat().st_size > 0


def test_checksum_mismatch_is_a_typed_error_and_leaves_no_file(local_server, tmp_path):
    base, checksums = local_server
    wrong = RemoteFile(f"{base}/copydays_original.tar.gz", "0" * 64, "copydays_original.tar.gz")
    with pytest.raises(ChecksumMismatchError, match="expected 0000"):
        download_file(wrong, tmp_path / "cache", timeout=5)
    assert not list((tmp_path / "cache").iterdir())
    with pytest.raises(ChecksumMismatchError):  # the fallback is for an unreachable host, not for bad bytes
        near_duplicate_benchmark(download=True, folder=tmp_path / "cache", files=(wrong,), timeout=5)


def test_unreachable_host_falls_back_to_the_course_pairs(tmp_path, monkeypatch):
    monkeypatch.setenv("no_proxy", "*")
    with socket.socket() as probe:  # a port nobody listens on: the connection is refused at once
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    remote = RemoteFile(f"http://127.0.0.1:{port}/copydays_original.tar.gz", "0" * 64, "copydays_original.tar.gz")
    with pytest.raises(DownloadUnavailableError, match="cannot download"):
        download_file(remote, tmp_path / "cache", timeout=5)
    pairs = near_duplicate_benchmark(download=True, folder=tmp_path / "cache", files=(remote,), timeout=5,
                                     names=SOURCES[:4], max_side=32, negatives_per_pair=1)
    assert pairs.origin == "course images"
    assert pairs.notes and "using the course pairs" in pairs.notes[0]


def test_benchmark_pairs_label_each_query_against_each_gallery_image():
    from types import SimpleNamespace

    names = ["astronaut", "coffee", "camera", "screenshot_desktop", "brick", "screenshot_mobile"]
    bench = SimpleNamespace(gallery_names=names, gallery=[np.zeros((2, 2, 3), np.uint8)] * 6,
                            queries=[np.ones((2, 2, 3), np.uint8)] * 5, query_source=np.array([0, 0, 1, 2, 3]),
                            query_family=["crop", "flip", "blur", "jpeg", "noise"])
    pairs = benchmark_pairs(bench)
    assert len(pairs) == 5 * 6 and pairs.images[5] is bench.gallery[0]  # queries first, nothing copied
    assert pairs.same.sum() == 5 and set(pairs.kind[pairs.same]) == {"crop", "flip", "blur", "jpeg", "noise"}
    # the screenshot query against the other layout of its page is the one hard negative
    assert pairs.kind[~pairs.same].tolist().count("same page") == 1
    assert pairs.kind[(pairs.first == 4) & (pairs.second == 5 + 5)].tolist() == ["same page"]
    for source in set(pairs.group.tolist()):  # all pairs of one source in one split, both splits used
        assert len(set(pairs.split[pairs.group == source].tolist())) == 1
    assert set(pairs.split.tolist()) == {"calibration", "test"}
    scores = np.arange(30.0).reshape(5, 6)
    scores[1, 2] = np.nan
    flat = benchmark_scores(scores)
    assert flat[1 * 6 + 2] == -np.inf and flat[4 * 6 + 3] == scores[4, 3]
    assert pairs.second[4 * 6 + 3] - 5 == 3 and pairs.first[4 * 6 + 3] == 4
