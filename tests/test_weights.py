"""Weight files: cache lookup, checksum and size checks, downloads, offline detection, reading."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import huggingface_hub.constants as hub_constants
import pytest
import torch

from imgsim_helpers.core.errors import CheckpointError, WeightsUnavailableError
from imgsim_helpers.learned import weights as w

PAYLOAD = b"not really weights, but bytes with a known checksum"


def _pin(**changes) -> w.WeightFile:
    fields = dict(
        key="test/file",
        description="a test weight file",
        filename="test-weights.bin",
        url="https://example.invalid/test-weights.bin",
        sha256=hashlib.sha256(PAYLOAD).hexdigest(),
        size_bytes=len(PAYLOAD),
    )
    fields.update(changes)
    return w.WeightFile(**fields)




# --------------------------------------------------------------------------- pins


def test_pins_name_their_checksums():
    clip = w.PINNED["ViT-B-16-plus-240/laion400m_e32"]
    # the publishers put the SHA-256 prefix into the file names
    assert clip.sha256 in clip.filename and clip.url.endswith(clip.filename)
    vgg = w.PINNED["vgg16/imagenet"]
    assert vgg.sha256 in vgg.filename and vgg.url.endswith(vgg.filename)
    assert len(w.PINNED["mobilenet_v2/imagenet"].sha256) == 64


def test_pinned_url_matches_open_clip_registry():
    import open_clip

    cfg = open_clip.get_pretrained_cfg("ViT-B-16-plus-240", "laion400m_e32")
    assert cfg["url"] == w.PINNED["ViT-B-16-plus-240/laion400m_e32"].url


def test_vgg_pin_matches_torchvision():
    import torchvision

    entry = torchvision.models.VGG16_Weights.IMAGENET1K_V1
    pin = w.PINNED["vgg16/imagenet"]
    assert entry.url == pin.url
    assert abs(pin.size_bytes / 2**20 - entry.meta["_file_size"]) < 1e-3


# --------------------------------------------------------------------------- verify / fetch


def test_verify_accepts_the_right_file_and_names_the_check(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(PAYLOAD)
    assert w.verify(path, _pin()) == "full SHA-256 ok, size ok"
    assert "prefix" in w.verify(path, _pin(sha256=_pin().sha256[:8], size_bytes=None))


def test_verify_rejects_wrong_size_and_wrong_checksum(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(PAYLOAD[:-1])
    with pytest.raises(CheckpointError, match="bytes"):
        w.verify(path, _pin())
    path.write_bytes(PAYLOAD[::-1])
    with pytest.raises(CheckpointError, match="SHA-256"):
        w.verify(path, _pin())


def test_fetch_returns_a_cached_file_without_network(tmp_path, monkeypatch):
    (tmp_path / "test-weights.bin").write_bytes(PAYLOAD)
    monkeypatch.setattr(w, "network_available", lambda *a, **k: pytest.fail("no probe needed"))
    path, check = w.fetch(_pin(), cache_dir=tmp_path)
    assert path == tmp_path / "test-weights.bin" and "ok" in check


def test_fetch_offline_names_file_folder_and_fix(tmp_path, network_and_waits):
    with pytest.raises(WeightsUnavailableError) as caught:
        w.fetch(_pin(), cache_dir=tmp_path, offline=True)
    assert network_and_waits.connections == [] and network_and_waits.sleeps == [], "offline: no network, no wait"
    message = str(caught.value)
    for needle in ("test-weights.bin", str(tmp_path), "https://example.invalid", "fallback='random'"):
        assert needle in message


def test_fetch_downloads_and_verifies(tmp_path, monkeypatch):
    def fake_download(url, dst, hash_prefix=None, progress=True):
        Path(dst).write_bytes(PAYLOAD)

    monkeypatch.setattr(torch.hub, "download_url_to_file", fake_download)
    path, check = w.fetch(_pin(), cache_dir=tmp_path / "new", offline=False, progress=False)
    assert path.read_bytes() == PAYLOAD and "ok" in check


def test_fetch_deletes_a_download_that_fails_the_check(tmp_path, monkeypatch):
    def corrupt_download(url, dst, hash_prefix=None, progress=True):
        Path(dst).write_bytes(PAYLOAD[::-1])

    monkeypatch.setattr(torch.hub, "download_url_to_file", corrupt_download)
    with pytest.raises(CheckpointError):
        w.fetch(_pin(), cache_dir=tmp_path, offline=False, progress=False)
    assert not (tmp_path / "test-weights.bin").exists()


def test_fetch_turns_a_failed_download_into_weights_unavailable(tmp_path, monkeypatch):
    def failing_download(url, dst, hash_prefix=None, progress=True):
        raise OSError("connection reset")

    monkeypatch.setattr(torch.hub, "download_url_to_file", failing_download)
    with pytest.raises(WeightsUnavailableError, match="connection reset"):
        w.fetch(_pin(), cache_dir=tmp_path, offline=False, progress=False)


def test_search_dirs_default_to_torch_hub_then_open_clip(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    dirs = w.search_dirs()
    assert dirs[0] == Path(torch.hub.get_dir()) / "checkpoints"
    assert dirs[1].name == "clip"
    assert w.search_dirs(tmp_path) == [tmp_path]


# --------------------------------------------------------------------------- offline


@pytest.mark.parametrize(
    ("env", "expected"),
    [({}, False), ({"HF_HUB_OFFLINE": "1"}, True), ({"IMGSIM_OFFLINE": "true"}, True),
     ({"TRANSFORMERS_OFFLINE": "0"}, False), ({"HF_HUB_OFFLINE": ""}, False)],
)
def test_offline_requested_reads_the_environment(env, expected):
    assert w.offline_requested(env=env) is expected


def test_no_network_sets_the_hub_offline_switch(hub_switches_cleared):
    hub_switches_cleared.setattr(w, "network_available", lambda host, **k: False)
    offline, reason = w.decide_offline(None, "example.invalid")
    assert offline and "example.invalid" in reason
    assert hub_constants.HF_HUB_OFFLINE is True
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    # a switch set by detection is not taken as the user's wish: hosts are probed again
    hub_switches_cleared.setattr(w, "network_available", lambda host, **k: host == w.HF_HUB_HOST)
    assert w.decide_offline(None, "download.example")[0] is True
    assert w.decide_offline(None, w.HF_HUB_HOST) == (False, "")
    assert hub_constants.HF_HUB_OFFLINE is False and "HF_HUB_OFFLINE" not in os.environ


def test_user_offline_switch_is_respected_without_probing(hub_switches_cleared):
    hub_switches_cleared.setenv("HF_HUB_OFFLINE", "1")
    hub_switches_cleared.setattr(w, "network_available", lambda *a, **k: pytest.fail("must not probe"))
    offline, reason = w.decide_offline(None, w.HF_HUB_HOST)
    assert offline and "HF_HUB_OFFLINE" in reason


def test_network_present_stays_online(hub_switches_cleared):
    hub_switches_cleared.setattr(w, "network_available", lambda host, **k: True)
    assert w.decide_offline(None, "example.invalid") == (False, "")
    assert hub_constants.HF_HUB_OFFLINE is False


def test_network_probe_is_bounded_in_time(monkeypatch):
    """The probe waits for its lookup thread at most timeout + 0.5 s, even where name lookups hang."""
    import threading

    joins = []

    class RecordingThread(threading.Thread):
        def join(self, timeout=None):
            joins.append(timeout)
            super().join(timeout)

    monkeypatch.setattr(w.threading, "Thread", RecordingThread)
    # .invalid never resolves (RFC 6761)
    assert w.network_available("example.invalid", timeout=0.5) is False
    assert joins == [1.0]


# --------------------------------------------------------------------------- reading


def test_read_state_dict_unwraps_and_strips_prefix(tmp_path):
    path = tmp_path / "ckpt.pt"
    torch.save({"state_dict": {"module.layer.weight": torch.ones(2)}, "epoch": 3}, path)
    state = w.read_state_dict(path)
    assert list(state) == ["layer.weight"]


def test_read_state_dict_reads_safetensors(tmp_path):
    from safetensors.torch import save_file

    path = tmp_path / "ckpt.safetensors"
    save_file({"a": torch.zeros(3)}, str(path))
    assert w.read_state_dict(path)["a"].shape == (3,)


@pytest.mark.parametrize("content", [b"", b"garbage" * 100, b"PK\x03\x04truncated zip"])
@pytest.mark.parametrize("suffix", [".pt", ".safetensors"])
def test_read_state_dict_rejects_corrupt_files(tmp_path, content, suffix):
    path = tmp_path / f"bad{suffix}"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match="corrupt"):
        w.read_state_dict(path)


def test_read_state_dict_rejects_non_state_dicts(tmp_path):
    path = tmp_path / "tensor.pt"
    torch.save(torch.ones(3), path)
    with pytest.raises(CheckpointError, match="state dict"):
        w.read_state_dict(path)


def test_read_state_dict_missing_path(tmp_path):
    with pytest.raises(WeightsUnavailableError, match="no checkpoint file"):
        w.read_state_dict(tmp_path / "absent.pt")
    with pytest.raises(WeightsUnavailableError, match="directory"):
        w.read_state_dict(tmp_path)


def test_load_strict_lists_what_does_not_fit():
    module = torch.nn.Linear(3, 2)
    state = {"weight": torch.zeros(2, 4), "extra": torch.zeros(1)}
    with pytest.raises(CheckpointError) as caught:
        w.load_strict(module, state, what="a linear layer")
    message = str(caught.value)
    assert "missing (e.g. bias" in message and "unexpected (e.g. extra" in message
    assert "wrong shape (e.g. weight (2, 4) vs (2, 3)" in message


def test_random_banner_says_scores_mean_nothing(capsys):
    text = w.random_weights_banner("vgg16", "offline")
    assert "RANDOM WEIGHTS" in capsys.readouterr().out
    assert "mean nothing" in text
