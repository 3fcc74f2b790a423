"""The course site as a learner's browser shows it, with the network cut off.

The site is built (``tools.course_site``) from the notebooks executed at smoke size once per test
session (``tests.notebook_runs``, shared with the claim and figure tests), served from
127.0.0.1, and opened in Debian's headless Chromium through Playwright. Every request to
another host is recorded and aborted: a page that needs one fails. On the landing page and
one page per notebook the test checks that each figure is displayed (natural size > 0), that
every formula is typeset by MathJax (no raw TeX left), and what the page must and must not say.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from tests.browser_server import CHROMIUM, CHROMIUM_ARGS, NEEDS_CHROMIUM, keep_local, serve_folder
from tests.notebook_runs import executed_course
from tools.run_course import course_notebooks

STEMS = [p.stem for p in course_notebooks()]
DEEP_LEARNING = ("05_", "06_", "07_", "08_", "09_")

pytestmark = [pytest.mark.browser, pytest.mark.notebook, NEEDS_CHROMIUM]
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")


@pytest.fixture(scope="module")
def built_site(tmp_path_factory) -> Path:
    import shutil

    from tools import course_site

    if shutil.which("npm") is None and not (course_site.ASSETS_CACHE / ".complete").is_file():
        pytest.skip("npm is not installed: the course site fetches MathJax from the npm registry once")
    index, _ = course_site.build_site(executed_course(), tmp_path_factory.mktemp("course") / "site")
    return index.parent


@pytest.fixture(scope="module")
def site_url(built_site):
    with serve_folder(built_site) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def open_page(browser, site_url):
    """Open a page of the site; afterwards, fail if it reached another host or a file was missing."""
    failed = []
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    outside = keep_local(page, site_url)
    page.on("response", lambda response: failed.append(f"{response.status} {response.url}")
            if response.status >= 400 else None)

    def go(path: str):
        page.goto(site_url + path, wait_until="load")
        if page.locator(".math").count():
            page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise")
            page.evaluate("() => MathJax.startup.promise")
        return page

    try:
        yield go
    finally:
        context.close()
    assert not outside, f"the page tried to reach another host: {outside}"
    assert not failed, f"files the page asked for are missing: {failed}"


def _images(page) -> list[dict]:
    return page.evaluate("""() => Array.from(document.querySelectorAll('article img')).map(img => ({
        src: img.getAttribute('src'), complete: img.complete, width: img.naturalWidth,
        output: !!img.closest('.cell_output')}))""")


def _math(page) -> dict:
    return page.evaluate("""() => {
        const article = document.querySelector('article').cloneNode(true);
        article.querySelectorAll('pre, code, .highlight, .cell_output, mjx-container').forEach(e => e.remove());
        const maths = Array.from(document.querySelectorAll('article .math'));
        return {formulas: maths.length,
                typeset: maths.filter(m => m.querySelector('mjx-container')).length,
                containers: document.querySelectorAll('article mjx-container').length,
                text: article.textContent};
    }""")


def _figures_in(stem: str) -> int:
    nb = nbformat.read(executed_course() / f"{stem}.ipynb", as_version=4)
    return sum("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code" for o in c.outputs)


def _has_math(stem: str) -> bool:
    nb = nbformat.read(executed_course() / f"{stem}.ipynb", as_version=4)
    return any("$" in c.source for c in nb.cells if c.cell_type == "markdown")


def _check_math(page, where: str, expected: bool) -> None:
    math = _math(page)
    assert math["typeset"] == math["formulas"], f"{where}: {math['formulas'] - math['typeset']} formulas not typeset"
    if expected:
        assert math["containers"] > 0, f"{where}: the notebook has maths but MathJax typeset none"
    for raw in ("$$", "\\(", "\\[", "\\begin{"):
        assert raw not in math["text"], f"{where}: raw TeX {raw!r} left in the text"


def test_landing_page(open_page):
    page = open_page("index.html")
    assert page.title().startswith("Image similarity, hands-on")
    text = page.locator("article").inner_text()
    assert "What these pages ran on" in text and "smoke size" in text
    weights = page.locator("article table").last.inner_text()
    for stem in STEMS:
        if stem.startswith(DEEP_LEARNING):
            assert stem[:2] in weights
    for stem in STEMS:  # the README's list and the left-hand table of contents link every page
        assert page.locator(f'article a[href="{stem}.html"]').count() >= 1, stem
        assert page.locator(f'nav a[href="{stem}.html"]').count() >= 1, stem
    assert all(image["width"] > 0 for image in _images(page))
    _check_math(page, "index.html", expected=False)
    assert "badge" not in page.content()


@pytest.mark.parametrize("stem", STEMS)
def test_notebook_page(open_page, stem):
    page = open_page(f"{stem}.html")
    images = [image for image in _images(page) if image["output"]]
    assert len(images) == _figures_in(stem), f"{stem}: {len(images)} figures on the page, {_figures_in(stem)} executed"
    assert images, f"{stem}: the page shows no figure"
    blank = [image["src"] for image in images if not image["complete"] or image["width"] == 0]
    assert not blank, f"{stem}: figures not displayed: {blank}"
    _check_math(page, stem, expected=_has_math(stem))

    text = page.locator("article").inner_text()
    assert "Presenter notes" not in text, "presenter notes belong in the slides' speaker view"
    assert "google.colab" not in text, "the Colab install cell is left out of the pages"
    assert page.get_by_role("link", name="open in Colab").count() == 1
    assert page.get_by_role("link", name="launch on Binder").count() == 1
    label = page.locator("article .admonition", has_text="Which weights ran on this page")
    assert label.count() == (1 if stem.startswith(DEEP_LEARNING) else 0)
    for solution in page.locator("article .tag_solution").all():  # worked solutions start folded
        assert solution.locator("details").first.get_attribute("open") is None
        assert not solution.locator(".cell_input pre").first.is_visible()
        assert not solution.locator(".cell_output").first.is_visible(), "the answer starts folded too"
    if stem != STEMS[0]:
        assert page.locator("a.left-prev").count() == 1
    if stem != STEMS[-1]:
        assert page.locator("a.right-next").count() == 1
    assert page.locator("button.copybtn").count() >= 1, "code cells have copy buttons"


def test_search_finds_pages_offline(open_page):
    page = open_page("search.html?q=SSIM")
    results = page.locator("#search-results li")
    results.first.wait_for()
    assert results.count() >= 1
