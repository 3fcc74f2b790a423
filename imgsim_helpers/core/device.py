"""Choosing a compute device and seeding every random generator (torch is imported lazily)."""

from __future__ import annotations

import os
import random

import numpy as np

from imgsim_helpers.core.checks import check_seed
from imgsim_helpers.core.errors import DeviceUnavailableError, InvalidParameterError

DEVICE_CHOICES = ("auto", "cpu", "cuda")


def cpu_threads(limit: int | None = None) -> int:
    """The cores this process may run on (its affinity mask), at most ``limit``; at least 1.

    >>> cpu_threads(1)
    1
    """
    try:
        available = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        available = os.cpu_count() or 1
    return available if limit is None else max(1, min(available, int(limit)))


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def resolve_device(device: str = "auto") -> str:
    """The torch device for ``"auto"`` (CUDA when present), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.

    Raises :class:`DeviceUnavailableError` when CUDA is asked for and there is none.

    >>> resolve_device("cpu")
    'cpu'
    """
    choice = check_device(device)
    if choice == "auto":
        return "cuda" if _cuda_available() else "cpu"
    if choice != "cpu" and not _cuda_available():  # "cuda" or "cuda:N"
        raise DeviceUnavailableError(
            f"device {device!r} was requested but torch sees no CUDA GPU here; use DEVICE='auto' or "
            "'cpu', or run on a machine with an NVIDIA GPU and a CUDA build of torch")
    return choice


def check_device(device) -> str:
    """A device request, lower-cased and stripped, checked without importing torch.

    >>> check_device(" CUDA:1 ")
    'cuda:1'
    """
    text = device if isinstance(device, str) else str(device)  # accept a torch.device
    choice = text.strip().lower()
    if choice in DEVICE_CHOICES or (choice.startswith("cuda:") and choice[5:].isdigit()):
        return choice
    raise InvalidParameterError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N'; got {device!r}")


def seed_everything(seed: int = 0) -> np.random.Generator:
    """Seed Python, NumPy and (when installed) torch; return a NumPy generator seeded alike.

    >>> float(seed_everything(3).random()) == float(np.random.default_rng(3).random())
    True
    """
    seed = check_seed(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 - third-party code still draws from the global generator
    os.environ["PYTHONHASHSEED"] = str(seed)
    try:
        import torch
    except ImportError:
        pass
    else:
        torch.manual_seed(seed)
        if torch.cuda.is_available():
            torch.cuda.manual_seed_all(seed)
    return np.random.default_rng(seed)
