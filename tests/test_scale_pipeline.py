"""imgsim embed / index build / index query on a folder of course images, on a local Ray instance.

One Ray instance (one or two CPUs, no dashboard) serves the module: it takes tens of seconds to
start on a busy machine, so the embedding runs once per scenario and the tests read its results.
"""

from __future__ import annotations

import json
import logging
import os

import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image

import imgsim_helpers as h
from imgsim_helpers.apps.cli import EXIT_BAD_INPUT, EXIT_OK, EXIT_UNAVAILABLE, main
from imgsim_helpers.core.errors import (
    EmbeddingMismatchError,
    EmptyInputError,
    ImageNotFoundError,
    IndexFormatError,
    InvalidParameterError,
)
from imgsim_helpers.metrics.hashing import image_hash
from imgsim_helpers.scale import pipeline
from imgsim_helpers.scale.index import as_hash_codes
from imgsim_helpers.scale.pipeline import (
    build_index_from_tables,
    embed_folder,
    embed_paths,
    load_embeddings,
    table_info,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

IMAGES = ("astronaut", "coffee", "chelsea", "coins")


def test_a_local_run_prints_none_of_rays_own_lines(tmp_path):
    """``imgsim embed`` as a user runs it (a fresh process starting its own local Ray): stderr stays empty.

    First in the file, so that it runs before the module's Ray instance starts.
    """
    pytest.importorskip("ray")
    import os
    import subprocess
    import sys

    folder = tmp_path / "photos"
    folder.mkdir()
    Image.fromarray(h.get_image("coffee", max_side=64)).save(folder / "coffee.png")
    env = {key: value for key, value in os.environ.items() if not key.startswith("RAY_")}
    done = subprocess.run([sys.executable, "-m", "imgsim_helpers.apps.cli", "embed", str(folder), "--out",
                           str(tmp_path / "e.parquet"), "--cpus", "1", "--workers", "1", "--json"],
                          capture_output=True, text=True, timeout=600, env={**env, "HF_HUB_OFFLINE": "1"})
    assert done.returncode == EXIT_OK, done.stderr
    assert json.loads(done.stdout)["embedded"] == 1
    assert done.stderr == "", done.stderr  # no "Set ray log level ...", no actor-restart warning


@pytest.fixture(scope="module")
def ray_local():
    ray = pytest.importorskip("ray")
    import os

    # address="local": a new instance, never a cluster another process left running on this machine
    ray.init(address="local", num_cpus=min(2, os.cpu_count() or 1), include_dashboard=False, logging_level=logging.ERROR,
             log_to_driver=False, object_store_memory=128 * 2**20)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("photos")
    for name in IMAGES:
        Image.fromarray(h.get_image(name, max_side=96)).save(folder / f"{name}.png")
    (folder / "sub").mkdir()
    Image.fromarray(h.get_image("camera", max_side=64)).save(folder / "sub" / "camera.jpg")
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (folder / "notes.txt").write_text("not an image, and not an image suffix: not listed")
    return folder


@pytest.fixture(scope="module")
def first_run(ray_local, folder, tmp_path_factory):
    """Embed the folder without its camera image, then rerun with it: the rerun embeds only what is new."""
    out = tmp_path_factory.mktemp("tables") / "embeddings.parquet"
    camera = folder / "sub" / "camera.jpg"
    hidden = camera.with_suffix(".hidden")
    camera.rename(hidden)
    try:
        code = main(["embed", str(folder), "--out", str(out), "--batch-size", "2", "--workers", "1", "--json"])
    finally:
        hidden.rename(camera)
    first = pq.read_table(out)
    second_code = main(["embed", str(folder), "--out", str(out), "--workers", "1", "--json"])
    return {"out": out, "code": code, "first": first, "second_code": second_code, "table": pq.read_table(out)}


def test_embed_writes_one_row_per_file_with_its_embedding_and_hash(first_run, folder):
    table = first_run["table"].to_pylist()
    assert first_run["code"] == EXIT_OK and first_run["second_code"] == EXIT_OK
    names = sorted(row["path"].rsplit("/", 1)[-1] for row in table)
    assert names == ["astronaut.png", "broken.jpg", "camera.jpg", "chelsea.png", "coffee.png", "coins.png"]
    good = [row for row in table if row["error"] is None]
    assert len(good) == 5
    for row in good:
        vector = np.asarray(row["embedding"], np.float32)
        assert vector.shape == (1280,) and abs(np.linalg.norm(vector) - 1) < 1e-4
        assert len(row["hash"]) == 16 and row["width"] > 0 and row["file_bytes"] > 0
    info = table_info(first_run["out"])
    assert (info["method"], info["dimension"], info["weights"]) == ("mobilenet_v2", 1280, "pretrained")


def test_a_bad_file_is_a_row_with_its_error(first_run):
    broken = [row for row in first_run["table"].to_pylist() if row["path"].endswith("broken.jpg")]
    assert len(broken) == 1 and "broken.jpg" in broken[0]["error"]
    assert broken[0]["embedding"] is None and broken[0]["hash"] is None


def test_the_rerun_keeps_earlier_rows_and_embeds_only_the_new_file(first_run, capsys):
    first = {r["path"]: r for r in first_run["first"].to_pylist()}
    again = {r["path"]: r for r in first_run["table"].to_pylist()}
    assert len(first) == 5 and len(again) == 6
    for path, row in first.items():
        if row["error"] is None:
            assert again[path]["embedding"] == row["embedding"]  # kept, not recomputed


def test_the_embeddings_are_what_the_registry_method_gives(first_run, folder):
    from imgsim_helpers.registry import build_method

    method = build_method("mobilenet_v2", device="cpu")
    row = next(r for r in first_run["table"].to_pylist() if r["path"].endswith("coins.png"))
    image = h.load_image(folder / "coins.png")
    np.testing.assert_allclose(row["embedding"], method.extract(image), atol=1e-5)
    import imagehash

    assert row["hash"] == str(imagehash.phash(Image.fromarray(image)))
    assert (as_hash_codes([row["hash"]]) == np.packbits(image_hash(image, "phash"))).all()


def test_index_build_and_query_through_the_command_line(first_run, folder, tmp_path, capsys):
    index_dir = tmp_path / "index"
    assert main(["index", "build", str(first_run["out"]), "--out", str(index_dir), "--kind", "hnsw",
                 "--knob", "ef_search=16", "--json"]) == EXIT_OK
    built = json.loads(capsys.readouterr().out)
    assert built["count"] == 5 and built["method"] == "mobilenet_v2" and built["knobs"]["ef_search"] == 16
    manifest = json.loads((index_dir / "manifest.json").read_text())
    assert len(manifest["ids"]) == 5 and manifest["weights"] == "pretrained"

    query = tmp_path / "coins_small_gray.png"  # another size and mode than the indexed file
    Image.fromarray(h.get_image("coins", max_side=70, mode="gray")).save(query)
    assert main(["index", "query", str(index_dir), str(query), "--top", "3", "--json"]) == EXIT_OK
    hits = json.loads(capsys.readouterr().out)["results"]
    assert len(hits) == 3 and hits[0]["path"].endswith("coins.png") and hits[0]["score"] > hits[1]["score"]

    rgba = tmp_path / "coffee_rgba.png"
    Image.fromarray(h.get_image("coffee", max_side=80)).convert("RGBA").save(rgba)
    assert main(["index", "query", str(index_dir), str(rgba), "--top", "1"]) == EXIT_OK
    assert capsys.readouterr().out.split()[-1].endswith("coffee.png")


def test_a_hash_index_from_the_same_table(first_run, folder, tmp_path, capsys):
    index_dir = tmp_path / "hashes"
    assert main(["index", "build", str(first_run["out"]), "--out", str(index_dir), "--kind", "binary"]) == EXIT_OK
    assert main(["index", "query", str(index_dir), str(folder / "chelsea.png"), "--top", "1", "--json"]) == EXIT_OK
    out = capsys.readouterr().out
    hit = json.loads(out[out.index("{"):])["results"][0]
    assert hit["path"].endswith("chelsea.png") and hit["score"] == 1.0


def test_query_bad_inputs_exit_with_bad_input(first_run, folder, tmp_path, capsys):
    index_dir = build_index_from_tables(first_run["out"], "flat").save(tmp_path / "flat")
    assert main(["index", "query", str(tmp_path / "nowhere"), str(folder / "coins.png")]) == EXIT_BAD_INPUT
    assert "no index folder" in capsys.readouterr().err
    assert main(["index", "query", str(index_dir), str(folder / "broken.jpg")]) == EXIT_BAD_INPUT
    assert main(["index", "query", str(index_dir), str(tmp_path / "missing.png")]) == EXIT_BAD_INPUT
    assert main(["index", "query", str(index_dir), str(folder / "coins.png"), "--method", "histogram_rgb"]) == EXIT_BAD_INPUT
    assert "'mobilenet_v2' vectors but the query comes from 'histogram_rgb'" in capsys.readouterr().err
    assert main(["index", "query", str(index_dir), str(folder / "coins.png"), "--top", "0"]) == EXIT_BAD_INPUT


def test_build_bad_inputs_exit_with_bad_input(first_run, tmp_path, capsys):
    assert main(["index", "build", str(tmp_path / "none.parquet"), "--out", str(tmp_path / "i")]) == EXIT_BAD_INPUT
    not_parquet = tmp_path / "x.parquet"
    not_parquet.write_text("a,b\n1,2\n")
    assert main(["index", "build", str(not_parquet), "--out", str(tmp_path / "i")]) == EXIT_BAD_INPUT
    assert "not a Parquet file" in capsys.readouterr().err
    assert main(["index", "build", str(first_run["out"]), "--out", str(tmp_path / "i"), "--knob", "m"]) == EXIT_BAD_INPUT
    assert main(["index", "build", str(first_run["out"]), "--out", str(tmp_path / "i"), "--kind", "ivfpq"]) == EXIT_BAD_INPUT
    assert "trained on at least" in capsys.readouterr().err


def _relabelled(table, tmp_path, name, **meta):
    """A copy of the table whose metadata says another method or dimension."""
    metadata = dict(table.schema.metadata)
    metadata.update({f"imgsim.{k}".encode(): str(v).encode() for k, v in meta.items()})
    path = tmp_path / name
    pq.write_table(table.replace_schema_metadata(metadata), path)
    return path


def test_tables_of_another_method_or_dimension_are_refused(first_run, folder, tmp_path):
    table = first_run["table"]
    clip = _relabelled(table, tmp_path, "clip.parquet", method="clip")
    with pytest.raises(EmbeddingMismatchError, match="different methods"):
        load_embeddings([first_run["out"], clip])
    with pytest.raises(EmbeddingMismatchError, match="512 dimensions"):
        table_info(_relabelled(table, tmp_path, "dim.parquet", dimension=512))
    with pytest.raises(IndexFormatError, match="not an imgsim embeddings table"):
        table_info(_relabelled(table.drop_columns(["hash"]), tmp_path, "nohash.parquet"))
    # a rerun into a table of another method stops before any work, naming both
    with pytest.raises(EmbeddingMismatchError, match="holds clip vectors"):
        embed_folder(folder, clip, method="mobilenet_v2", progress=False)
    assert main(["embed", str(folder), "--out", str(clip)]) == EXIT_BAD_INPUT


def test_embed_bad_inputs(tmp_path, folder, monkeypatch):
    with pytest.raises(ImageNotFoundError, match="no folder"):
        embed_folder(tmp_path / "nowhere", tmp_path / "e.parquet")
    (tmp_path / "empty").mkdir()
    with pytest.raises(EmptyInputError, match="no image files"):
        embed_folder(tmp_path / "empty", tmp_path / "e.parquet")
    assert main(["embed", str(tmp_path / "empty"), "--out", str(tmp_path / "e.parquet")]) == EXIT_BAD_INPUT
    with pytest.raises(InvalidParameterError, match="not one embedding vector"):
        embed_folder(folder, tmp_path / "e.parquet", method="histogram_rgb")

    import imgsim_helpers.registry as methods

    def offline(**_):
        raise h.WeightsUnavailableError("VGG16 weights not cached and no network")

    monkeypatch.setitem(methods.BUILDERS, "vgg16", offline)
    assert main(["embed", str(folder), "--out", str(tmp_path / "v.parquet"), "--method", "vgg16"]) == EXIT_UNAVAILABLE
    assert not (tmp_path / "v.parquet").exists()


def test_embed_paths_falls_back_to_one_image_at_a_time(tmp_path):
    from imgsim_helpers.registry import SimilarityMethod

    def extract(image):
        if image.shape[0] < 50:
            raise ValueError("too small")
        return np.ones(3, np.float32)

    def batch(images):
        raise ValueError("batch failed")

    # a method whose batch call fails because one image is unusable
    one_bad_image = SimilarityMethod("fake", "embedding", "", extract, compare=None, extract_many=batch)

    big, small = h.course_path("coffee"), tmp_path / "small.png"
    Image.fromarray(np.zeros((20, 20, 3), np.uint8)).save(small)
    columns = embed_paths(one_bad_image, [big, small, big], dimension=3)
    assert list(columns["error"][[0, 2]]) == ["", ""] and "too small" in columns["error"][1]
    assert columns["hash"][1] == "" and len(columns["hash"][0]) == 16
    np.testing.assert_array_equal(columns["embedding"], [[1, 1, 1], [0, 0, 0], [1, 1, 1]])
    every_file_bad = embed_paths(one_bad_image, [tmp_path / "missing.png"], dimension=3)
    assert every_file_bad["embedding"].shape == (1, 3) and "missing.png" in every_file_bad["error"][0]


def test_joining_a_cluster_sends_this_machines_ray_token(monkeypatch, tmp_path):
    # `ray start --head` (Ray >= 2.5x) requires the token of ~/.ray/auth_token, which a client
    # sends only in token mode: joining switches that mode on when a token is here, and only then.
    token = tmp_path / "auth_token"
    monkeypatch.delenv("RAY_AUTH_MODE", raising=False)
    monkeypatch.delenv("RAY_AUTH_TOKEN", raising=False)
    monkeypatch.setenv("RAY_AUTH_TOKEN_PATH", str(token))
    pipeline._send_token_if_any()
    assert "RAY_AUTH_MODE" not in os.environ
    token.write_text("0" * 64)
    pipeline._send_token_if_any()
    assert os.environ["RAY_AUTH_MODE"] == "token"
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")  # the operator's own choice is kept
    pipeline._send_token_if_any()
    assert os.environ["RAY_AUTH_MODE"] == "disabled"
