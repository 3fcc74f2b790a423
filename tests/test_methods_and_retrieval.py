"""The method registry and the retrieval benchmark built on it."""

import csv

import numpy as np
import pytest

import imgsim_helpers as h
from imgsim_helpers.apps.retrieval import (
    build_benchmark,
    evaluate,
    main,
    run_benchmark,
    run_method,
    run_methods,
    summarise,
)
from imgsim_helpers.core.errors import EmptyInputError, InvalidParameterError, UnknownMethodError
from imgsim_helpers.registry import METHOD_NAMES, build_method

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
    import imgsim_helpers.registry as methods

    def offline(**_):
        raise h.WeightsUnavailableError("no network and nothing cached")

    monkeypatch.setitem(methods.BUILDERS, "clip", offline)
    bench = build_benchmark(smoke=True, families=["flip"], sources=["astronaut"], distractors=[])
    rows = summarise([run_method("clip", bench)], bench)
    assert rows[0]["status"].startswith("unavailable: weights") and np.isnan(rows[0]["recall_at_1"])


def test_writing_outputs_keeps_the_matplotlib_backend(tmp_path):
    import matplotlib

    from imgsim_helpers.apps.retrieval import write_outputs

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
    assert (tmp_path / "query_cost.png").stat().st_size > 1000
    assert main(["--smoke", "--methods", "nope", "--out", str(tmp_path)]) == 2
    assert "nope" in capsys.readouterr().err


def test_best_per_family_keeps_ties():
    from imgsim_helpers.lessons.benchmark_study import best_per_family

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


# --------------------------------------------------------------------------- what does not move with load


def test_feature_sizes_and_comparison_work_follow_the_features():
    from imgsim_helpers.apps.retrieval import comparison_work, feature_size

    bench = build_benchmark(smoke=True, families=["flip"], sources=["astronaut", "coffee"], distractors=[])
    results = {r.method: r for r in run_methods(["histogram_rgb", "ssim", "ms_ssim", "fsim", "sift", "orb"],
                                                              bench, smoke=True, progress=False)}
    # a 512-bin float histogram, a 96×96 gray image (smoke size)
    assert results["histogram_rgb"].feature_numbers == 512
    assert results["histogram_rgb"].compare_work == 3 * 512
    assert results["ssim"].compare_work == 5 * 2 * 11 * 96 * 96
    assert results["ms_ssim"].compare_work > results["ssim"].compare_work
    sift = build_method("sift").extract(A)
    assert feature_size(sift) == (sift.descriptors.size + sift.xy.size, sift.descriptors.nbytes + sift.xy.nbytes)
    assert comparison_work("sift", "keypoints", [sift], [sift]) == len(sift.descriptors) ** 2 * 128
    orb = results["orb"]
    assert orb.feature_bytes < results["sift"].feature_bytes  # 32-byte bit strings against 128 floats
    for r in results.values():
        assert r.scores is not None and r.compare_work > 0 and r.feature_bytes > 0
    with pytest.raises(EmptyInputError):
        comparison_work("sift", "keypoints", [None], [None])


def test_forward_flops_count_mobilenet_v2():
    from imgsim_helpers.learned.embeddings import load_cnn
    from imgsim_helpers.lessons.benchmark_study import forward_flops

    flops = forward_flops(load_cnn("mobilenet_v2", device="cpu", fallback="random"))
    assert 5.5e8 < flops < 6.5e8  # MobileNetV2 at 224×224: about 300 million multiply-adds, 2 FLOPs each


def test_recall_table_keeps_unavailable_rows_as_nan():
    from imgsim_helpers.apps.retrieval import recall_table

    rows = run_benchmark(["histogram_rgb"], smoke=True, progress=False, families=["flip"])
    rows.append({**rows[-1], "method": "clip", "status": "unavailable: weights", "recall_at_1": float("nan")})
    methods, families, table = recall_table(rows, keep_unavailable=True)
    assert methods == ["histogram_rgb", "clip"] and families == ["flip", "all"]
    assert np.isfinite(table[0]).all() and np.isnan(table[1]).all()
    assert recall_table(rows)[0] == ["histogram_rgb"]


def test_query_cost_grows_with_the_gallery_and_plots_log_log():
    import matplotlib.pyplot as plt

    from imgsim_helpers.apps.retrieval import GALLERY_SIZES, plot_query_cost, query_cost_seconds

    assert GALLERY_SIZES[0] == 1 and GALLERY_SIZES[-1] == 1_000_000
    cost = query_cost_seconds(5.0, 2.0)
    assert cost[0] == pytest.approx(0.005 + 2e-6) and cost[-1] == pytest.approx(0.005 + 2.0)
    assert np.all(np.diff(cost) > 0)
    with pytest.raises(InvalidParameterError):
        query_cost_seconds(1.0, 1.0, [0])
    rows = run_benchmark(["histogram_rgb", "ssim"], smoke=True, progress=False, families=["flip"])
    ax = plot_query_cost(rows)
    assert ax.get_xscale() == ax.get_yscale() == "log" and len(ax.lines) == 2
    plt.close("all")
    with pytest.raises(EmptyInputError):
        plot_query_cost([{**rows[-1], "status": "unavailable"}])


# --------------------------------------------------------------------------- the declarative registry

# A value each option refuses (a wrong type or out of range); every declared option must have one here.
BAD_VALUES = {"size": 0, "hash_size": 1, "max_side": "big", "max_features": 0, "device": "tpu",
              "fallback": "zeros", "seed": -1}


@pytest.mark.parametrize("name", METHOD_NAMES)
def test_every_method_refuses_an_unknown_option_and_names_the_valid_ones(name):
    from imgsim_helpers.core.errors import UnknownOptionError
    from imgsim_helpers.registry import METHOD_OPTIONS

    declared = list(METHOD_OPTIONS[name])
    with pytest.raises(UnknownOptionError) as caught:
        build_method(name, sise=64)  # checked before any model loads
    assert caught.value.given == ("sise",) and list(caught.value.valid) == declared
    assert f"{name} takes no option 'sise'; its options are: {', '.join(declared) or 'none'}" == str(caught.value)
    assert isinstance(caught.value, InvalidParameterError)


@pytest.mark.parametrize("name", METHOD_NAMES)
def test_every_declared_option_checks_its_value(name):
    from imgsim_helpers.registry import METHOD_OPTIONS

    assert set(METHOD_OPTIONS[name]) <= set(BAD_VALUES)
    for option in METHOD_OPTIONS[name]:
        with pytest.raises(InvalidParameterError, match=option):
            build_method(name, **{option: BAD_VALUES[option]})


def test_options_for_keeps_what_a_method_declares():
    from imgsim_helpers.registry import options_for

    settings = {"device": "cpu", "size": 96, "max_side": 192}
    assert options_for("ssim", **settings) == {"size": 96}
    assert options_for("sift", **settings) == {"max_side": 192}
    assert options_for("clip", **settings) == {"device": "cpu"}
    assert options_for("histogram_rgb", **settings) == {}
    with pytest.raises(UnknownMethodError):
        options_for("no_such_method")
    assert build_method("ssim", size=64).options == {"size": 64}
    assert build_method("ms_ssim", size=64).options == {"size": 176}  # five scales need 176 pixels


def test_embeddings_use_the_one_cosine_and_a_zero_vector_scores_zero():
    method = build_method("mobilenet_v2", device="cpu", fallback="random")
    v = np.arange(1, 6, dtype=np.float32)
    assert method.compare(v, np.zeros(5, np.float32)) == 0.0
    assert method.compare(v, 2 * v) == pytest.approx(1.0)
    matrix = method.matrix([v, -v], [v, np.zeros(5, np.float32)])
    np.testing.assert_allclose(matrix, [[1.0, 0.0], [-1.0, 0.0]], atol=1e-12)


def test_the_three_faces_say_unavailable_the_same_way(monkeypatch, tmp_path, capsys):
    import json

    import imgsim_helpers.registry as methods
    from imgsim_helpers.apps import cli, web_app

    error = h.WeightsUnavailableError("CLIP weights not cached and no network\nsecond line")

    def offline(**_):
        raise error

    monkeypatch.setitem(methods.BUILDERS, "clip", offline)
    expected = methods.unavailable_status(error)
    assert expected == "unavailable: weights (CLIP weights not cached and no network)"
    bench = build_benchmark(smoke=True, families=["flip"], sources=["astronaut"], distractors=[])
    assert run_method("clip", bench).status == expected
    web_app.clear_method_cache()
    rows, _ = web_app.compare_images(A, A, methods=["clip"], figures=False)
    web_app.clear_method_cache()
    assert rows[0].note == expected
    from PIL import Image

    Image.fromarray(A).save(tmp_path / "a.png")
    assert cli.main(["compare", str(tmp_path / "a.png"), str(tmp_path / "a.png"), "--json"]) == cli.EXIT_OK
    assert json.loads(capsys.readouterr().out)["results"]["clip"]["status"] == expected


def test_a_bit_hash_is_stored_packed_and_compared_by_xor_and_popcount():
    from imgsim_helpers.apps.retrieval import comparison_work, feature_size

    bench = build_benchmark(smoke=True, families=["flip"], sources=["astronaut", "coffee"], distractors=[])
    result = run_methods(["phash"], bench, smoke=True, progress=False)[0]
    assert (result.feature_numbers, result.feature_bytes, result.compare_work) == (8, 8, 8)  # 64 bits = 8 bytes
    bits = build_method("phash", hash_size=16).extract(A)  # 256 bits
    assert bits.shape == (256,) and feature_size(bits) == (32, 32)
    assert comparison_work("phash", "hash", [bits], [bits]) == 32
