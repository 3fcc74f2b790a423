"""Choosing a compute device and seeding every random generator.

Torch is imported lazily so that the metric modules, which do not need it,
import quickly.
"""

from __future__ import annotations

import os
import random

import numpy as np

from imgsim_helpers.core.errors import DeviceUnavailableError, InvalidParameterError

DEVICE_CHOICES = ("auto", "cpu", "cuda")


def cpu_threads(limit: int | None = None) -> int:
    """The cores this process may run on, at most ``limit`` (``None``: no limit; at least 1).

    The one place the thread pools of SURF, phase congruency and the histogram kernels size
    themselves from, so that a CPU affinity mask (a container, ``taskset``) is respected.

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
    """Turn a device request into the device string torch should use.

    Parameters
    ----------
    device
        ``"auto"`` (CUDA when present, else CPU), ``"cpu"``, ``"cuda"`` or
        ``"cuda:N"``. Case and surrounding spaces are ignored.

    Returns
    -------
    str
        ``"cpu"`` or a CUDA device string.

    Raises
    ------
    DeviceUnavailableError
        If CUDA is asked for and no CUDA device is available.
    InvalidParameterError
        If ``device`` is not one of the accepted forms.

    Examples
    --------
    >>> resolve_device("cpu")
    'cpu'
    """
    choice = check_device(device)
    if choice == "auto":
        return "cuda" if _cuda_available() else "cpu"
    if choice == "cpu":
        return "cpu"
    if not _cuda_available():  # "cuda" or "cuda:N"
        raise DeviceUnavailableError(
            f"device {device!r} was requested but torch sees no CUDA GPU here; "
            "use DEVICE='auto' or 'cpu', or run on a machine with an NVIDIA GPU "
            "and a CUDA build of torch"
        )
    return choice


def check_device(device) -> str:
    """Check the form of a device request without importing torch; return it lower-cased and stripped.

    For callers that take a device but may not need one (the command line with
    a method that has no model): a typo is reported either way.

    Raises
    ------
    InvalidParameterError
        If ``device`` is not ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.

    Examples
    --------
    >>> check_device(" CUDA:1 ")
    'cuda:1'
    """
    text = device if isinstance(device, str) else str(device)  # accept a torch.device
    choice = text.strip().lower()
    if choice in ("auto", "cpu", "cuda") or (choice.startswith("cuda:") and choice[5:].isdigit()):
        return choice
    raise InvalidParameterError(
        f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N'; got {device!r}"
    )


def seed_everything(seed: int = 0) -> np.random.Generator:
    """Seed Python, NumPy and (when installed) torch, for reproducible CPU runs.

    Parameters
    ----------
    seed
        A non-negative integer.

    Returns
    -------
    numpy.random.Generator
        A generator seeded with ``seed``, for code that takes one explicitly.

    Examples
    --------
    >>> rng = seed_everything(3)
    >>> float(rng.random()) == float(np.random.default_rng(3).random())
    True
    """
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or not 0 <= seed < 2**64:
        raise InvalidParameterError(
            f"seed must be an integer in 0..2**64 - 1 (the range torch's generator takes); got {seed!r}"
        )
    seed = int(seed)
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
