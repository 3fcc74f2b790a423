"""Hostile but fair input (issue 15): every bad input gets a typed error or a documented conversion,
one bad file never ends a run, and the app's memory stays flat when weights are unavailable."""

from __future__ import annotations

import gc
import json
import os
import struct
import subprocess
import sys
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import imgsim_helpers as h
import imgsim_helpers.registry as methods
from imgsim_helpers.apps import cli
from imgsim_helpers.apps import web_app as app
from imgsim_helpers.core.checks import check_image
from imgsim_helpers.core.device import seed_everything
from imgsim_helpers.images import io, transforms
from imgsim_helpers.learned.embeddings import IMAGENET_PREPROCESS, Preprocess

REPO_ROOT = Path(__file__).resolve().parents[1]


def write_blank_png(path: Path, width: int, height: int) -> Path:
    """A valid all-black 1-bit PNG of any size: a 30000×30000 one is ~110 kB and takes a second.

    Written chunk by chunk with zlib, so the pixels are never held in memory here.
    """

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte + packed bits
    deflate = zlib.compressobj(1)
    rows_per_piece = max(1, 4_000_000 // len(row))
    pieces, left = [], height
    while left:
        n = min(left, rows_per_piece)
        pieces.append(deflate.compress(row * n))
        left -= n
    pieces.append(deflate.flush())
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1 bit, gray
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", b"".join(pieces))
                     + chunk(b"IEND", b""))
    return path


@pytest.fixture(scope="module")
def bomb(tmp_path_factory) -> Path:
    """900 megapixels in ~110 kB: more than Pillow itself will decode."""
    return write_blank_png(tmp_path_factory.mktemp("bomb") / "bomb.png", 30000, 30000)


@pytest.fixture(scope="module")
def big(tmp_path_factory) -> Path:
    """100 megapixels (10000×10000): Pillow only warns, and decoding takes over a gigabyte."""
    return write_blank_png(tmp_path_factory.mktemp("big") / "big.png", 10000, 10000)


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("photos")
    for name in ("astronaut", "coffee", "coins"):
        Image.fromarray(h.course_image(name, max_side=96)).save(folder / f"{name}.png")
    return folder


def _offline(**_):
    raise h.WeightsUnavailableError("weights unavailable: not cached and no network (test)")


# --------------------------------------------------------------------------- 1. the app's memory


@pytest.fixture
def models_offline(monkeypatch):
    for name in ("vgg16", "clip", "mobilenet_v2", "siamese"):
        monkeypatch.setitem(methods.BUILDERS, name, _offline)
    app.clear_method_cache()
    yield
    app.clear_method_cache()


def test_unavailable_weights_raise_a_fresh_error_each_time(models_offline):
    errors = []
    for _ in range(3):
        with pytest.raises(h.WeightsUnavailableError) as caught:
            app.get_method("vgg16")
        errors.append(caught.value)
    assert len({id(e) for e in errors}) == 3
    depths = []
    for error in errors:
        tb, depth = error.__traceback__, 0
        while tb is not None:
            depth, tb = depth + 1, tb.tb_next
        depths.append(depth)
    assert depths[0] == depths[1] == depths[2]
    assert "not cached" in str(errors[-1])  # the reason is kept


def test_memory_stays_flat_over_many_comparisons_without_weights(models_offline):
    names = ["histogram_rgb", "vgg16", "clip"]
    for _ in range(5):  # warm up: imports, caches
        app.comparison_outputs("astronaut", None, "chelsea", None, methods=names)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(100):
            out = app.comparison_outputs("astronaut", None, "chelsea", None, methods=names)
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert [row[2] for row in out.table] == [out.table[0][2], "n/a", "n/a"]
    # Each leaked comparison kept ~2 MB of images alive; 100 of them would be ~200 MB.
    assert grown < 20 * 2**20, f"traced memory grew by {grown / 2**20:.1f} MiB over 100 comparisons"


# --------------------------------------------------------------------------- 2. decompression bombs


def test_a_decompression_bomb_is_an_image_load_error_naming_the_limit(bomb):
    with pytest.raises(h.ImageLoadError) as caught:
        io.load_image(bomb)
    message = str(caught.value)
    assert "bomb.png" in message and "900 megapixels" in message  # Pillow refuses it before we see its size
    assert f"{io.MAX_IMAGE_PIXELS / 1e6:g} megapixels" in message


def test_an_image_above_the_pixel_limit_is_refused_before_decoding(big):
    tracemalloc.start()
    try:
        with pytest.raises(h.ImageLoadError, match="megapixels"):
            io.load_image(big)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 10 * 2**20  # the 100 megapixels were never decoded


def test_the_pixel_limit_can_be_raised_for_a_trusted_file(tmp_path):
    path = write_blank_png(tmp_path / "wide.png", 300, 200)
    with pytest.raises(h.ImageLoadError, match="max_pixels"):
        io.load_image(path, max_pixels=50_000)
    assert io.load_image(path, max_pixels=60_000).shape == (200, 300, 3)


@pytest.mark.parametrize("bad", [0, -1, 1.5, "many", True])
def test_a_bad_pixel_limit_is_a_parameter_error(tmp_path, bad):
    path = write_blank_png(tmp_path / "small.png", 4, 4)
    with pytest.raises(h.InvalidParameterError, match="max_pixels"):
        io.load_image(path, max_pixels=bad)


def test_compare_with_a_bomb_exits_2_without_a_traceback(bomb, photos, capsys):
    code = cli.main(["compare", str(bomb), str(photos / "coins.png"), "--method", "ssim"])
    err = capsys.readouterr().err
    assert code == cli.EXIT_BAD_INPUT
    assert "bomb.png" in err and "Traceback" not in err


def test_search_skips_a_bomb_and_lists_it(bomb, photos, tmp_path, capsys):
    gallery = tmp_path / "gallery"
    gallery.mkdir()
    for p in photos.iterdir():
        (gallery / p.name).write_bytes(p.read_bytes())
    (gallery / "bomb.png").write_bytes(bomb.read_bytes())
    code = cli.main(["search", str(photos / "coins.png"), str(gallery), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == cli.EXIT_OK
    assert len(out["results"]) == 3
    assert [Path(s["path"]).name for s in out["skipped"]] == ["bomb.png"]


# --------------------------------------------------------------------------- 3. thin images and the embeddings


def _reference_prepare(pp: Preprocess, rgb: np.ndarray) -> np.ndarray:
    """The preprocessing as torchvision does it: resize the whole image, then cut the centre."""
    height, width = rgb.shape[:2]
    if width <= height:
        new_w, new_h = pp.size, int(pp.size * height / width)
    else:
        new_h, new_w = pp.size, int(pp.size * width / height)
    resample = Image.BICUBIC if pp.interpolation == "bicubic" else Image.BILINEAR
    big = np.asarray(Image.fromarray(rgb).resize((new_w, new_h), resample))
    top, left = int(round((new_h - pp.crop) / 2.0)), int(round((new_w - pp.crop) / 2.0))
    return big[top : top + pp.crop, left : left + pp.crop]


@pytest.mark.parametrize("shape", [(300, 200), (200, 300), (64, 64), (12, 9), (30, 300), (300, 30)])
@pytest.mark.parametrize("interpolation", ["bicubic", "bilinear"])
def test_embedding_preprocessing_equals_resizing_the_whole_image(shape, interpolation):
    rgb = np.random.default_rng(sum(shape)).integers(0, 256, (*shape, 3), dtype=np.uint8)
    pp = Preprocess(size=64, crop=56, interpolation=interpolation)
    np.testing.assert_array_equal(pp.prepare(rgb), _reference_prepare(pp, rgb))


@pytest.mark.parametrize("shape", [(17, 500), (500, 17), (3, 1000), (1, 3000)])
@pytest.mark.parametrize("interpolation", ["bicubic", "bilinear"])
def test_thin_images_get_the_pixels_of_resizing_the_whole_image(shape, interpolation):
    rgb = np.random.default_rng(sum(shape)).integers(0, 256, (*shape, 3), dtype=np.uint8)
    pp = Preprocess(size=64, crop=56, interpolation=interpolation)
    difference = np.abs(pp.prepare(rgb).astype(int) - _reference_prepare(pp, rgb).astype(int))
    assert difference.max() <= 1 and difference.mean() < 0.01  # floating-point rounding only


@pytest.mark.parametrize("shape", [(1, 1000), (1000, 1), (1, 40000), (3, 30000)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_a_thin_image_is_preprocessed_in_little_memory(shape):
    thin = np.random.default_rng(0).integers(0, 256, (*shape, 3), dtype=np.uint8)
    tracemalloc.start()
    try:
        out = IMAGENET_PREPROCESS.prepare(thin)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert out.shape == (224, 224, 3)
    # Resizing the whole 1×40000 image first would hold 256×10,240,000×3 bytes (7.9 GB).
    assert peak < 8 * 2**20, f"preprocessing a {shape} image peaked at {peak / 2**20:.0f} MiB"


# --------------------------------------------------------------------------- 4. float16 and byte order


@pytest.fixture(scope="module")
def half() -> np.ndarray:
    return (h.course_image("camera", mode="gray", max_side=300) / 255.0).astype(np.float16)


def test_float16_is_widened_to_float32(half):
    assert check_image(half).dtype == np.float32
    assert io.resize(half, (10, 10)).dtype == np.float32
    assert io.fit_within(half, 20).shape == (20, 20)
    a, b = io.align_pair(half, half[:100], policy="resize")
    assert a.shape == b.shape == half.shape
    np.testing.assert_allclose(io.resize(half, (50, 50)), io.resize(half.astype(np.float32), (50, 50)))


@pytest.mark.parametrize("name", ["ssim", "ms_ssim", "fsim", "sift", "orb", "histogram_rgb"])
def test_float16_through_the_registry(half, name):
    method = methods.build_method(name)
    score = method.similarity(half, half)
    assert score == pytest.approx(method.similarity(half.astype(np.float32), half.astype(np.float32)))


@pytest.mark.parametrize("dtype", [">f8", ">f4", ">u2", ">f2"])
def test_big_endian_arrays_are_read_by_value(dtype):
    native = np.dtype(dtype).newbyteorder("=")
    values = (np.random.default_rng(1).random((40, 30)) * (65535 if native.kind == "u" else 1)).astype(native)
    swapped = values.astype(dtype)
    assert check_image(swapped).dtype.isnative
    np.testing.assert_array_equal(io.to_float(swapped), io.to_float(values))
    np.testing.assert_array_equal(io.resize(swapped, (20, 15)), io.resize(values, (20, 15)))


def test_longdouble_is_narrowed_to_float64():
    image = np.full((20, 20), 0.5, np.longdouble)
    assert io.resize(image, (10, 10)).dtype == np.float64


# --------------------------------------------------------------------------- 5. floats outside [0, 1]


@pytest.mark.parametrize("name", ["blur", "noise", "rotate", "brightness", "contrast", "jpeg", "flip", "crop"])
def test_transforms_refuse_floats_outside_0_1(name):
    with pytest.raises(h.InvalidImageError, match=r"\[0, 1\]"):
        transforms.apply_transform(np.full((8, 8), 200.0), name, transforms.TRANSFORMS[name].sweep[-1])


def test_compositing_refuses_floats_outside_0_1():
    rgba = np.full((4, 4, 4), 200.0)
    with pytest.raises(h.InvalidImageError, match="divide by 255"):
        io.to_rgb(rgba)
    with pytest.raises(h.InvalidImageError):
        io.composite_alpha(rgba)
    with pytest.raises(h.InvalidImageError):
        io.to_uint8(np.full((4, 4), -0.5))


# --------------------------------------------------------------------------- 6. one small image never ends a run


@pytest.fixture
def small_gallery(photos, tmp_path) -> Path:
    gallery = tmp_path / "gallery"
    gallery.mkdir()
    for p in photos.iterdir():
        (gallery / p.name).write_bytes(p.read_bytes())
    Image.fromarray(np.full((1, 1, 3), 90, np.uint8)).save(gallery / "dot.png")
    Image.fromarray(np.full((8, 4000, 3), 90, np.uint8)).save(gallery / "strip.png")
    return gallery


def test_search_skips_images_a_method_cannot_use_and_names_them(small_gallery, photos, capsys):
    code = cli.main(["search", str(photos / "coins.png"), str(small_gallery), "--method", "sift", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == cli.EXIT_OK
    assert Path(out["results"][0]["path"]).name == "coins.png" and len(out["results"]) == 3
    skipped = {Path(s["path"]).name: s["error"] for s in out["skipped"]}
    assert set(skipped) == {"dot.png", "strip.png"}
    assert "4000×8" in skipped["strip.png"]  # the file's own size, not the shrunk one


def test_search_text_output_lists_skipped_files(small_gallery, photos, capsys):
    assert cli.main(["search", str(photos / "coins.png"), str(small_gallery), "--method", "sift"]) == cli.EXIT_OK
    captured = capsys.readouterr()
    assert "coins.png" in captured.out.splitlines()[0]
    assert "dot.png" in captured.err and "strip.png" in captured.err


def test_search_with_an_unusable_query_names_it(small_gallery, photos, capsys):
    code = cli.main(["search", str(small_gallery / "dot.png"), str(photos), "--method", "sift"])
    err = capsys.readouterr().err
    assert code == cli.EXIT_BAD_INPUT and "dot.png" in err and "Traceback" not in err


def test_compare_keeps_the_methods_that_scored(small_gallery, photos, capsys, monkeypatch):
    monkeypatch.setattr(methods, "METHOD_NAMES", ("histogram_rgb", "ssim", "sift", "orb"))
    code = cli.main(["compare", str(small_gallery / "dot.png"), str(photos / "coins.png"), "--json"])
    captured = capsys.readouterr()
    results = json.loads(captured.out)["results"]
    assert code == cli.EXIT_OK
    assert results["ssim"]["status"] == "ok" and results["histogram_rgb"]["score"] is not None
    assert results["sift"]["score"] is None and results["sift"]["status"].startswith("failed")
    assert "16×16" in results["sift"]["status"]
    assert "sift" in captured.err and "orb" in captured.err


def test_compare_fails_when_no_method_can_score(small_gallery, photos, capsys, monkeypatch):
    monkeypatch.setattr(methods, "METHOD_NAMES", ("sift", "orb"))
    code = cli.main(["compare", str(small_gallery / "dot.png"), str(photos / "coins.png")])
    assert code == cli.EXIT_BAD_INPUT
    assert cli.main(["compare", str(small_gallery / "dot.png"), str(photos / "coins.png"), "--method", "sift"]) \
        == cli.EXIT_BAD_INPUT
    assert "Traceback" not in capsys.readouterr().err


# --------------------------------------------------------------------------- 7. bad paths


@pytest.fixture
def loop(tmp_path) -> Path:
    path = tmp_path / "loop.png"
    path.symlink_to(path)
    return path


def test_a_symlink_loop_is_an_image_load_error(loop):
    with pytest.raises(h.ImageLoadError, match="symbolic link"):
        io.load_image(loop)


def test_a_name_too_long_is_an_image_load_error(tmp_path):
    with pytest.raises(h.ImageLoadError, match="too long"):
        io.load_image(tmp_path / ("a" * 300 + ".png"))


def test_a_nul_character_is_an_image_load_error():
    with pytest.raises(h.ImageLoadError, match="NUL"):
        io.load_image("a\x00b.png")


@pytest.mark.parametrize(
    ("bad", "hint"),
    [
        (None, "None"),
        (3, "int"),
        (b"photo.png", "os.fsdecode"),
        (b"\x89PNG\r\n\x1a\n....", "BytesIO"),
        (np.zeros((4, 4, 3), np.uint8), "already an image array; pass it directly"),
        (["a.png", "b.png"], "one path at a time"),
        (("a.png",), "one path at a time"),
        (3.5, "float"),
    ],
)
def test_a_path_of_the_wrong_type_gets_guidance(bad, hint):
    with pytest.raises(h.ImageTypeError, match="path") as caught:
        io.load_image(bad)
    assert hint in str(caught.value)
    assert isinstance(caught.value, TypeError)


def test_a_pil_image_given_as_a_path_gets_guidance():
    with pytest.raises(h.ImageTypeError, match="np.asarray"):
        io.load_image(Image.new("RGB", (2, 2)))


def test_an_empty_path_is_not_called_a_directory():
    with pytest.raises(h.ImageLoadError) as caught:
        io.load_image("")
    assert "directory" not in str(caught.value) and "empty path" in str(caught.value)


def test_permission_denied_is_reported_as_such(tmp_path, monkeypatch):
    path = tmp_path / "secret.png"
    Image.new("RGB", (4, 4)).save(path)

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(Image, "open", refuse)
    with pytest.raises(h.ImageLoadError, match="permission") as caught:
        io.load_image(path)
    assert "corrupt" not in str(caught.value)


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="needs Linux /proc")
def test_a_file_whose_size_reads_zero_is_not_called_empty():
    with pytest.raises(h.ImageLoadError) as caught:
        io.load_image("/proc/self/status")
    assert "empty" not in str(caught.value) and "not an image" in str(caught.value)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_named_pipe_is_refused_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    with pytest.raises(h.ImageLoadError, match="not a regular file"):
        io.load_image(fifo)


@pytest.mark.parametrize("kind", ["loop", "long", "nul", "dir"])
def test_bad_paths_in_the_command_line_exit_2_without_a_traceback(kind, loop, photos, tmp_path, capsys):
    bad = {"loop": str(loop), "long": str(tmp_path / ("b" * 300 + ".png")), "nul": "a\x00b.png",
           "dir": str(tmp_path)}[kind]
    assert cli.main(["compare", bad, str(photos / "coins.png"), "--method", "ssim"]) == cli.EXIT_BAD_INPUT
    assert cli.main(["search", bad, str(photos)]) == cli.EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("imgsim:") == 2


def test_an_unexpected_error_is_one_line_and_exit_1(photos, capsys, monkeypatch):
    def broken(**_):
        raise ZeroDivisionError("a bug")

    monkeypatch.setitem(methods.BUILDERS, "ssim", broken)
    code = cli.main(["compare", str(photos / "coins.png"), str(photos / "coins.png"), "--method", "ssim"])
    err = capsys.readouterr().err
    assert code == cli.EXIT_UNEXPECTED and "ZeroDivisionError: a bug" in err and "Traceback" not in err


def test_search_into_a_closed_pipe_ends_quietly(photos):
    """`imgsim search ... | head -1`: the reader goes away before the results are written."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "imgsim_helpers.apps.cli", "search", str(photos / "coins.png"), str(photos)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO_ROOT, env=env,
    )
    process.stdout.close()  # like head -1 after its line, but before the first one: always broken
    err = process.stderr.read().decode()
    process.wait(timeout=120)
    assert "Traceback" not in err and "BrokenPipeError" not in err
    assert process.returncode == cli.EXIT_PIPE_CLOSED


def test_an_unknown_device_is_refused_even_for_methods_without_a_model(photos, capsys):
    code = cli.main(["compare", str(photos / "coins.png"), str(photos / "coins.png"), "--method", "ssim",
                     "--device", "bogus"])
    assert code == cli.EXIT_BAD_INPUT and "bogus" in capsys.readouterr().err


def test_a_course_name_in_the_wrong_case_gets_a_suggestion():
    with pytest.raises(h.ImageNotFoundError) as caught:
        h.get_image("Astronaut")
    assert "'astronaut'" in str(caught.value) and "list_course_images()" in str(caught.value)


# --------------------------------------------------------------------------- Low items in these modules


def test_bool_images_documented_conversions():
    mask = np.zeros((16, 16), bool)
    mask[4:12, 4:12] = True
    blurred = transforms.apply_transform(mask, "blur", 1)
    assert blurred.dtype == np.float64 and 0 < blurred.max() <= 1
    assert transforms.apply_transform(mask, "flip", 1).dtype == np.bool_  # moving pixels keeps bool
    assert io.to_gray(np.dstack([mask] * 3)).dtype == np.float64


def test_flip_zero_returns_a_new_image():
    image = np.zeros((4, 4), np.uint8)
    out = transforms.apply_transform(image, "flip", 0)
    assert out is not image and not np.shares_memory(out, image)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda a: transforms.apply_transform(a, "rotate", "10"), "finite number"),
        (lambda a: transforms.apply_transform(a, "rotate", None), "finite number"),
        (lambda a: transforms.apply_transform(a, "noise", 5, seed=-1), "seed"),
        (lambda a: transforms.apply_transform(a, "noise", 5, seed=1.5), "seed"),
        (lambda a: transforms.apply_transform(a, "crop", 0.2, seed="x"), "seed"),
        (lambda a: io.resize(a, None), "size"),
        (lambda a: io.resize(a, (10,)), "size"),
        (lambda a: io.resize(a, ("a", "b")), "size"),
        (lambda a: io.resize(a, (2.5, 3)), "size"),
        (lambda a: io.align_pair(a, a[:4], policy="pad", fill=300), "fill"),
        (lambda a: io.align_pair(a, a[:4], policy="pad", fill=-1), "fill"),
        (lambda a: io.align_pair(a / 255.0, a[:4] / 255.0, policy="pad", fill=2.0), "fill"),
        (lambda a: io.align_pair(a / 255.0, a[:4] / 255.0, policy="pad", fill=np.nan), "fill"),
        (lambda a: io.align_pair(a, a[:4], policy="pad", fill="white"), "fill"),
        (lambda a: io.align_pair(a, a[:4], policy="pad", fill=(1, 2)), "fill"),
        (lambda a: io.composite_alpha(np.dstack([a, a, a, a]), background=(np.nan, 0, 0)), "background"),
        (lambda a: io.fit_within(a, None), "max_side"),
        (lambda a: transforms.foreground_mask(a, tolerance=np.nan), "tolerance"),
        (lambda a: transforms.change_background(a, 0.5, tolerance=-1), "tolerance"),
    ],
)
def test_bad_option_values_are_parameter_errors(call, match):
    image = np.random.default_rng(2).integers(0, 256, (8, 8), dtype=np.uint8)
    with pytest.raises(h.InvalidParameterError, match=match):
        call(image)


@pytest.mark.parametrize("seed", [2**64, -1, 1.5, "0", None, True])
def test_seed_everything_refuses_seeds_torch_cannot_take(seed):
    with pytest.raises(h.InvalidParameterError, match="seed"):
        seed_everything(seed)


def test_int32_pixels_above_16_bits_are_refused_not_saturated(tmp_path):
    path = tmp_path / "deep.tif"
    Image.fromarray(np.array([[0, 70000], [1, 2]], np.int32)).save(path)
    with pytest.raises(h.ImageLoadError, match="70000"):
        io.load_image(path)
