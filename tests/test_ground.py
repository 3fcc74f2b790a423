"""Errors, expect_error, claims recorder, device choice and seeding."""

import json

import numpy as np
import pytest

import imgsim_helpers as h
from imgsim_helpers.core.errors import ExpectedErrorNotRaised, ImgSimError, InvalidParameterError
from imgsim_helpers.lessons.claims import ClaimRecorder, load_claims, smoke_default


def test_errors_are_also_builtin_exceptions():
    assert issubclass(h.ImageNotFoundError, FileNotFoundError)
    assert issubclass(h.ShapeMismatchError, ValueError)
    assert issubclass(h.ImageTypeError, TypeError)
    for error in (h.ImageLoadError, h.WeightsUnavailableError, h.UnknownMethodError, h.CheckpointError):
        assert issubclass(error, ImgSimError)


def test_expect_error_prints_and_keeps_the_error(capsys):
    with h.expect_error(ZeroDivisionError) as caught:
        _ = 1 / 0
    assert isinstance(caught.error, ZeroDivisionError)
    assert "ZeroDivisionError: division by zero" in capsys.readouterr().out


def test_expect_error_fails_loudly_when_nothing_fails():
    with pytest.raises(ExpectedErrorNotRaised):
        with h.expect_error(ValueError):
            pass


def test_expect_error_lets_other_errors_through():
    with pytest.raises(KeyError):
        with h.expect_error(ValueError):
            raise KeyError("x")


def test_claim_recorder_writes_json_after_each_record(tmp_path):
    recorder = ClaimRecorder("demo", tmp_path / "out", smoke=True)
    assert recorder.record("score", np.float32(0.25)) is None, "no Out[] echo in notebooks"
    recorder.record("table", {"a": np.array([1, 2]), "ok": np.bool_(True)})
    data = json.loads((tmp_path / "out" / "demo.results.json").read_text())
    assert data == {"_smoke": True, "score": 0.25, "table": {"a": [1, 2], "ok": True}}
    assert load_claims(tmp_path / "out", "demo")["score"] == 0.25


@pytest.mark.parametrize("bad", [float("nan"), object(), float("inf")])
def test_claim_recorder_rejects_unrecordable_values(tmp_path, bad):
    with pytest.raises(InvalidParameterError):
        ClaimRecorder("demo", tmp_path).record("x", bad)


def test_claim_names_and_missing_records(tmp_path):
    recorder = ClaimRecorder("demo", tmp_path)
    with pytest.raises(InvalidParameterError):
        recorder.record("_private", 1)
    with pytest.raises(FileNotFoundError, match="execute the notebook"):
        load_claims(tmp_path, "other")


def test_smoke_default_reads_the_environment(monkeypatch):
    monkeypatch.setenv("IMGSIM_SMOKE", "1")
    assert smoke_default() is True
    monkeypatch.setenv("IMGSIM_SMOKE", "0")
    assert smoke_default() is False


def test_resolve_device():
    assert h.resolve_device("CPU ") == "cpu"
    assert h.resolve_device("auto") in ("cpu", "cuda")
    with pytest.raises(InvalidParameterError):
        h.resolve_device("tpu")


def test_cuda_request_without_a_gpu_is_a_clear_error(monkeypatch):
    import imgsim_helpers.core.device as device

    monkeypatch.setattr(device, "_cuda_available", lambda: False)
    with pytest.raises(h.DeviceUnavailableError, match="auto"):
        h.resolve_device("cuda")
    assert h.resolve_device("auto") == "cpu"


def test_seed_everything_makes_numpy_and_torch_repeatable():
    import torch

    h.seed_everything(7)
    first = (np.random.rand(), torch.rand(1).item())  # noqa: NPY002
    h.seed_everything(7)
    assert (np.random.rand(), torch.rand(1).item()) == first  # noqa: NPY002
    with pytest.raises(InvalidParameterError):
        h.seed_everything(-1)


def test_import_does_not_load_torch():
    import subprocess
    import sys

    code = "import sys, imgsim_helpers as h; h.load_image; h.color_histogram; print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"


def test_functions_named_like_their_modules_stay_callable():
    import subprocess
    import sys

    code = ("import imgsim_helpers.metrics.feature_similarity, imgsim_helpers.metrics.structural_similarity, imgsim_helpers.metrics.surf_detector, imgsim_helpers.metrics.log_gabor\n"
            "import imgsim_helpers as h\n"
            "print(all(callable(f) for f in (h.fsim, h.ssim, h.surf, h.phase_congruency)))")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "True"


def test_unknown_top_level_name():
    with pytest.raises(AttributeError):
        _ = h.no_such_function
