"""Shared fixtures: the reference-image folder and quiet plotting."""

from __future__ import annotations

import json
import os
from pathlib import Path

import matplotlib
import pytest
from huggingface_hub import constants as hub_constants

from imgsim_helpers.core.errors import ImageNotFoundError
from imgsim_helpers.learned import weights as w
from imgsim_helpers.lessons.reference_values import REFERENCE_ENV, readme_values, reference_dir

matplotlib.use("Agg")

REPO_ROOT = Path(__file__).resolve().parents[1]

# A ~3-million-parameter open_clip architecture: every CLIP code path, in milliseconds, offline.
TINY_CLIP = "imgsim-tiny-test-clip"
TINY_CLIP_CONFIG = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 2, "width": 64, "patch_size": 8},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}


@pytest.fixture(scope="session")
def tiny_clip_name(tmp_path_factory) -> str:
    """Register :data:`TINY_CLIP` with open_clip (randomly initialised) and return its name."""
    import open_clip

    folder = tmp_path_factory.mktemp("tiny_clip_config")
    (folder / f"{TINY_CLIP}.json").write_text(json.dumps(TINY_CLIP_CONFIG))
    open_clip.add_model_config(folder)
    return TINY_CLIP

@pytest.fixture(scope="session")
def reference_images() -> Path:
    """The reference folder; the test is skipped, saying where to get it, when it is absent."""
    folder = reference_dir()
    if not (folder / "goldhill.gif").is_file():
        pytest.skip(
            f"reference images not found in {folder}: set {REFERENCE_ENV} to a folder holding "
            "goldhill.gif, goldhill_jpeg.gif, I01.BMP and i01_01_5.bmp (TID2013 and the FSIM "
            "authors' test images)"
        )
    return folder


@pytest.fixture(scope="session")
def matlab_values(reference_images) -> dict[tuple[str, str], float]:
    """``{(metric, pair): value}`` printed by FeatureSIM.m and ssim.m, read from the reference folder's README.

    For example ``matlab_values["FSIMc", "I01"]``; skipped, saying why, without the folder or its README.
    """
    try:
        return {(v.metric, v.pair): v.value for v in readme_values(reference_images)}
    except ImageNotFoundError as missing:
        pytest.skip(str(missing))


# The Hugging Face hub's offline switches: the loaders turn the hub offline for the whole process
# when they find no network; restore_offline_switches undoes that after each test, and
# hub_switches_cleared starts a test with every switch unset, as where nobody set HF_HUB_OFFLINE.


@pytest.fixture(autouse=True)
def restore_offline_switches(monkeypatch):
    for var in w.OFFLINE_ENV_VARS:
        if var in os.environ:
            monkeypatch.setenv(var, os.environ[var])
        else:
            monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", hub_constants.HF_HUB_OFFLINE)
    monkeypatch.setattr(w, "_OFFLINE_SET_HERE", w._OFFLINE_SET_HERE)


@pytest.fixture
def hub_switches_cleared(monkeypatch):
    for var in w.OFFLINE_ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(w, "_OFFLINE_SET_HERE", False)
    return monkeypatch


class NetworkAndWaits:
    """What a call did that costs time whatever the machine's load: connections tried and sleeps asked for."""

    def __init__(self) -> None:
        self.connections: list = []
        self.sleeps: list[float] = []


@pytest.fixture
def network_and_waits(monkeypatch) -> NetworkAndWaits:
    """Record every socket connection attempt and every ``time.sleep`` (a hub's retry loop sleeps).

    "Fails fast" is checked by these counts, not by a stopwatch a busy machine can stop.
    Connections are still made (and refused, offline), sleeps are skipped.
    """
    import socket
    import time

    seen = NetworkAndWaits()
    connect = socket.socket.connect

    def recording_connect(sock, address):
        seen.connections.append(address)
        return connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", recording_connect)
    monkeypatch.setattr(time, "sleep", lambda seconds: seen.sleeps.append(seconds))
    return seen
