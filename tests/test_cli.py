"""The imgsim command line: compare, search, JSON output and exit codes."""

import json

import pytest
from PIL import Image

import imgsim_helpers as h
from imgsim_helpers.apps.cli import EXIT_BAD_INPUT, EXIT_OK, EXIT_UNAVAILABLE, main


@pytest.fixture(scope="module")
def gallery(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gallery")
    for name in ("astronaut", "coffee", "coins", "chelsea"):
        Image.fromarray(h.course_image(name, max_side=96)).save(folder / f"{name}.png")
    (folder / "notes.png").write_text("not an image")
    return folder


def test_compare_one_method_json(gallery, capsys):
    code = main(["compare", str(gallery / "astronaut.png"), str(gallery / "astronaut.png"), "--method", "ssim", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == EXIT_OK and out["results"]["ssim"]["score"] == pytest.approx(1.0)


def test_compare_all_marks_unavailable_methods(gallery, capsys, monkeypatch):
    import imgsim_helpers.registry as methods

    def offline(**_):
        raise h.WeightsUnavailableError("CLIP weights not cached and no network")

    monkeypatch.setitem(methods.BUILDERS, "clip", offline)
    monkeypatch.setitem(methods.BUILDERS, "vgg16", offline)
    code = main(["compare", str(gallery / "astronaut.png"), str(gallery / "coffee.png")])
    text = capsys.readouterr().out
    assert code == EXIT_OK
    assert "histogram_rgb" in text and "fsim" in text and "unavailable" in text
    assert main(["compare", str(gallery / "astronaut.png"), str(gallery / "coffee.png"), "--method", "clip"]) == EXIT_UNAVAILABLE


def test_compare_missing_file_fails_cleanly(gallery, capsys):
    code = main(["compare", str(gallery / "missing.png"), str(gallery / "coffee.png"), "--method", "ssim"])
    assert code == EXIT_BAD_INPUT and "missing.png" in capsys.readouterr().err


def test_search_ranks_the_duplicate_first_and_skips_broken_files(gallery, tmp_path, capsys):
    query = tmp_path / "query.png"
    Image.fromarray(h.apply_transform(h.course_image("coins", max_side=96), "noise", 5)).save(query)
    code = main(["search", str(query), str(gallery), "--top", "2", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == EXIT_OK
    assert out["results"][0]["path"].endswith("coins.png") and len(out["results"]) == 2
    assert out["skipped"] and "notes.png" in out["skipped"][0]["path"]


def test_search_bad_inputs(gallery, tmp_path):
    assert main(["search", str(gallery / "coins.png"), str(tmp_path / "nowhere")]) == EXIT_BAD_INPUT
    assert main(["search", str(gallery / "coins.png"), str(tmp_path)]) == EXIT_BAD_INPUT  # no images
    assert main(["search", str(gallery / "coins.png"), str(gallery), "--top", "0"]) == EXIT_BAD_INPUT
    with pytest.raises(SystemExit):
        main(["compare", "a.png", "b.png", "--method", "no_such_method"])
