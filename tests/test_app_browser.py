"""The comparison app end to end: a real server, a real headless Chromium, real uploads.

Needs Debian's ``chromium`` (``/usr/bin/chromium``) and Playwright for Python;
Playwright's own browser download is not used. Skipped, saying why, when
either is missing. Nothing leaves the machine: the app runs with model
downloads switched off, and every request the page makes to anything but
the local server is aborted and reported as a failure.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.browser_server import CHROMIUM, CHROMIUM_ARGS, NEEDS_CHROMIUM, keep_local
from tests.conftest import REPO_ROOT

SERVER_START_S = 90.0  # a cold start imports Gradio and the package (seconds on a busy laptop)
COMPARE_MS = 90_000  # the first comparison also loads MobileNetV2

pytestmark = [pytest.mark.browser, NEEDS_CHROMIUM]
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_logging(process: subprocess.Popen, log: Path) -> threading.Event:
    """Copy the app's output to ``log``; the event is set once Gradio says it is serving (or the
    process ends), so the fixture waits on the app's own signal instead of polling the port."""
    ready = threading.Event()

    def copy() -> None:
        with log.open("w") as out:
            for line in process.stdout:
                out.write(line)
                out.flush()
                if "Running on local URL" in line:
                    ready.set()
        ready.set()  # the process ended: the fixture reports its exit code

    threading.Thread(target=copy, daemon=True).start()
    return ready


def _wait_until_serving(url: str, process: subprocess.Popen, log: Path, ready: threading.Event) -> None:
    # A bound for a cold start on a busy laptop, not a measurement: nothing asserts how long it took.
    if not ready.wait(SERVER_START_S):
        pytest.fail(f"the app did not start serving within {SERVER_START_S:.0f} s:\n{log.read_text()[-3000:]}")
    if process.poll() is not None:
        pytest.fail(f"the app exited with code {process.returncode} before serving:\n{log.read_text()[-3000:]}")
    with urllib.request.urlopen(url, timeout=30) as response:
        assert response.status == 200


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``python -m imgsim_helpers.apps.web_app`` on a free localhost port, stopped after the module."""
    folder = tmp_path_factory.mktemp("app_server")
    port = _free_port()
    env = dict(os.environ)
    env.update(
        GRADIO_ANALYTICS_ENABLED="False",
        GRADIO_TEMP_DIR=str(folder / "gradio"),
        IMGSIM_OFFLINE="1",  # unavailable weights fail at once instead of probing the network
        HF_HUB_OFFLINE="1",
        MPLBACKEND="Agg",
        MPLCONFIGDIR=str(folder / "mpl"),
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
        PYTHONUNBUFFERED="1",
    )
    log = folder / "server.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "imgsim_helpers.apps.web_app", "--port", str(port), "--device", "cpu"],
        cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    ready = _start_logging(process, log)
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_until_serving(url, process, log, ready)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A course image, its noisy copy, a text file named .png and an empty .png."""
    from PIL import Image

    import imgsim_helpers as h

    folder = tmp_path_factory.mktemp("uploads")
    image = h.course_image("astronaut", max_side=256)
    Image.fromarray(image).save(folder / "astronaut.png")
    Image.fromarray(h.apply_transform(image, "noise", 25)).save(folder / "astronaut_noisy.png")
    (folder / "notes.png").write_text("this is a text file, not a picture\n")
    (folder / "empty.png").write_bytes(b"")
    return folder


@pytest.fixture
def page(server, tmp_path):
    """A page of the app in a fresh headless Chromium profile; fails the test if it reaches out."""
    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
        )
        try:
            page = context.new_page()
            page.set_default_timeout(30_000)
            outside = keep_local(page, server)
            page.goto(server)
            page.wait_for_selector("#compare")
            yield page
        finally:
            context.close()
    assert not outside, f"the page tried to reach the internet: {outside}"


def _upload(page, side: int, path: Path) -> None:
    box = page.locator(f"#upload{side}")
    clear = box.get_by_role("button", name="Clear")
    if clear.count():
        clear.click()
    box.locator("input[type=file]").set_input_files(str(path))
    sync_api.expect(box).to_contain_text(path.name)


def _compare(page, expect_in_status: str) -> None:
    page.click("#compare")
    sync_api.expect(page.locator("#status")).to_contain_text(expect_in_status, timeout=COMPARE_MS)


def _scores(page) -> dict[str, list[str]]:
    """The score table as the page shows it: method -> [family, score, note]."""
    rows = page.evaluate(
        """() => Array.from(document.querySelectorAll('#scores [role=row]'))
            .map(row => Array.from(row.querySelectorAll('[role=gridcell]')).map(cell => cell.innerText.trim()))
            .filter(cells => cells.length === 4)"""
    )
    return {cells[0]: cells[1:] for cells in rows}


def _number(cell: str) -> float | None:
    return None if cell == "n/a" else float(cell)


def test_scores_in_the_page_identical_then_noisy(page, files):
    from imgsim_helpers.registry import METHOD_NAMES

    _upload(page, 1, files / "astronaut.png")
    _upload(page, 2, files / "astronaut.png")
    _compare(page, "Compared astronaut.png")
    same = _scores(page)
    assert list(same) == list(METHOD_NAMES), "every registered method has a row, in registry order"
    assert same["ssim"][1] == "1.0000"
    for name, (_, score, note) in same.items():
        if score == "n/a":
            assert note.startswith("unavailable: weights"), f"{name} has no score and no reason: {note!r}"
        elif name == "mse":  # the pixel-error scores have their own maximum: -MSE is 0 ...
            assert _number(score) == pytest.approx(0.0, abs=1e-4), f"{name} on identical images gave {score}"
        elif name == "psnr":  # ... and PSNR is its floored 148 dB
            assert _number(score) > 100, f"{name} on identical images gave {score}"
        else:
            assert _number(score) == pytest.approx(1.0, abs=1e-4), f"{name} on identical images gave {score}"
    assert page.locator("#ssim_map img").count() == 1
    assert page.locator("#phase_congruency img").count() == 1
    assert page.locator("#matches img").count() == 1

    _upload(page, 2, files / "astronaut_noisy.png")
    _compare(page, "astronaut_noisy.png")
    noisy = _scores(page)
    assert list(noisy) == list(METHOD_NAMES)
    assert 0.3 < _number(noisy["ssim"][1]) < 0.95
    for name in ("mse", "psnr", "histogram_rgb", "ssim", "ms_ssim", "fsim", "sift", "orb"):
        assert _number(noisy[name][1]) < _number(same[name][1]), f"{name} did not drop for the noisy copy"
    assert "Traceback" not in page.locator("body").inner_text()


def test_bad_uploads_show_a_message_not_a_traceback(page, files):
    _upload(page, 1, files / "notes.png")
    sync_api.expect(page.locator("#problem1")).to_contain_text("not an image")
    _compare(page, "cannot be used")
    status = page.locator("#status").inner_text()
    assert "notes.png" in status and "not an image" in status
    assert _scores(page) == {}, "no scores are shown for a refused upload"

    _upload(page, 1, files / "empty.png")
    _compare(page, "empty.png")
    assert "empty" in page.locator("#status").inner_text()
    body = page.locator("body").inner_text()
    assert "Traceback" not in body and 'File "' not in body
