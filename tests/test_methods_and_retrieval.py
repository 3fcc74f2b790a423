"""The method registry and the retrieval benchmark built on it."""

import csv

import numpy as np
import pytest

import imgsim_helpers as h
from imgsim_helpers.errors import EmptyInputError, InvalidParameterError, UnknownMethodError
from imgsim_helpers.methods import METHOD_NAMES, build_method
from imgsim_helpers.retrieval import (
    build_benchmark,
    evaluate,
    main,
    run_benchmark,
    run_method,
    summarise,
)

CHEAP = ["histogram_rgb", "histogram_hsv", "ssim", "ms_ssim", "fsim", "sift", "orb"]
A = h.course_image("astronaut", max_side=96)
B = h.course_image("coffee", max_side=96)


@pytest.mark.parametrize("name", CHEAP)
def test_identical_images_score_highest(name):
    method = build_method(name)
    assert method.similarity(A, A) > method.similarity(A, B)


@pytest.mark.parametrize("name", ["histogram_rgb", "ssim", "sift"])
def test_matrix_equals_pairwise_compare(name):
    method = build_method(name)
    feats = method.features([A, B, h.apply_transform(A, "noise", 10)])
    matrix = method.matrix(feats, feats)
    for i in range(3):
        for j in range(3):
            assert matrix[i, j] == pytest.approx(method.compare(feats[i], feats[j]), abs=1e-9)


def test_registry_errors():
    with pytest.raises(UnknownMethodError, match="ssim"):
        build_method("no_such_method")
    method = build_method("ssim")
    with pytest.raises(EmptyInputError):
        method.features([])
    with pytest.raises(EmptyInputError):
        method.matrix([], [1])
    assert h.similarity(A, A, method="histogram_rgb") == pytest.approx(1.0)


def test_evaluate_counts_ties_as_misses():
    scores = np.array([[1.0, 0.2, 0.2], [0.0, 0.0, 0.0], [0.3, np.nan, 0.9], [np.nan, 0.5, 0.1]])
    hit, ap = evaluate(scores, np.array([0, 1, 2, 0]))
    assert hit.tolist() == [True, False, True, False]
    assert ap.tolist() == pytest.approx([1.0, 1 / 3, 1.0, 0.0])
    with pytest.raises(InvalidParameterError):
        evaluate(np.zeros((2, 2)), np.array([0]))


def test_benchmark_is_deterministic_and_labelled():
    first = build_benchmark(smoke=True, families=["noise", "crop"], sources=["astronaut", "coins"], distractors=["brick"])
    again = build_benchmark(smoke=True, families=["noise", "crop"], sources=["astronaut", "coins"], distractors=["brick"])
    assert first.gallery_names == ["astronaut", "coins", "brick"]
    assert len(first.queries) == 4 and first.query_source.tolist() == [0, 0, 1, 1]
    assert all(np.array_equal(a, b) for a, b in zip(first.queries, again.queries, strict=True))
    with pytest.raises(UnknownMethodError):
        build_benchmark(families=["swirl"])
    with pytest.raises(EmptyInputError):
        build_benchmark(sources=[], distractors=[])


def test_a_failing_image_is_reported_not_fatal():
    bench = build_benchmark(smoke=True, families=["noise"], sources=["astronaut", "coins"], distractors=[])
    bench.queries[1] = np.zeros((0, 4, 3), np.uint8)  # an impossible query
    result = run_method("histogram_rgb", bench)
    assert result.status == "ok" and len(result.errors) == 1
    hit, _ = evaluate(result.scores, bench.query_source)
    assert hit.tolist() == [True, False]


def test_unavailable_weights_are_marked(monkeypatch):
    import imgsim_helpers.methods as methods

    def offline(**_):
        raise h.WeightsUnavailableError("no network and nothing cached")

    monkeypatch.setitem(methods.BUILDERS, "clip", offline)
    bench = build_benchmark(smoke=True, families=["flip"], sources=["astronaut"], distractors=[])
    rows = summarise([run_method("clip", bench)], bench)
    assert rows[0]["status"].startswith("unavailable: weights") and np.isnan(rows[0]["recall_at_1"])


def test_writing_outputs_keeps_the_matplotlib_backend(tmp_path):
    import matplotlib

    from imgsim_helpers.retrieval import write_outputs

    before = matplotlib.get_backend()
    rows = run_benchmark(["histogram_rgb"], smoke=True, progress=False, families=["flip"])
    write_outputs(rows, tmp_path)
    assert matplotlib.get_backend() == before
    assert (tmp_path / "recall_heatmap.png").is_file()


def test_command_line_writes_csv_and_plots(tmp_path, capsys):
    code = main(["--smoke", "--methods", "histogram_rgb", "ssim", "--out", str(tmp_path)])
    assert code == 0
    with (tmp_path / "retrieval.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert {r["method"] for r in rows} == {"histogram_rgb", "ssim"}
    assert (tmp_path / "recall_heatmap.png").stat().st_size > 1000
    assert (tmp_path / "accuracy_vs_cost.png").stat().st_size > 1000
    assert main(["--smoke", "--methods", "nope", "--out", str(tmp_path)]) == 2
    assert "nope" in capsys.readouterr().err


def test_best_per_family_keeps_ties():
    from imgsim_helpers.retrieval import best_per_family

    rows = [dict(method=m, family=f, status="ok", recall_at_1=r)
            for m, f, r in [("a", "x", 1.0), ("b", "x", 1.0), ("a", "y", 0.2), ("b", "y", 0.4)]]
    rows.append(dict(method="c", family="all", status="unavailable: weights", recall_at_1=float("nan")))
    assert best_per_family(rows) == {"x": ["a", "b"], "y": ["b"]}
    with pytest.raises(EmptyInputError):
        best_per_family(rows[-1:])


def test_every_registered_method_is_a_known_name():
    assert set(CHEAP) <= set(METHOD_NAMES)
    rows = run_benchmark(["histogram_rgb"], smoke=True, progress=False, families=["flip"])
    assert [r["family"] for r in rows] == ["flip", "all"] and rows[-1]["recall_at_1"] > 0.5
