"""Open every page of the built book in headless Chromium, offline, and check the rendered pages.

Run after ``make book`` with ``make check-book``. The book is served from
``_build/html`` on 127.0.0.1, and every request to another host is blocked and
recorded, so the checks also prove that the book works without a network.
Screenshots of each chapter go to ``_build/screenshots/``.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
HTML = Path(os.environ.get("BOOK_HTML", ROOT / "_build" / "html"))
SCREENSHOTS = ROOT / "_build" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
# Flags that stop Chromium's background network requests; without them it looks up Google's hosts at start.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
PAGE_TIMEOUT_MS = 60_000


def _toc_pages() -> list[str]:
    """Return the document names in _toc.yml, root first, such as 'chapters/01_tensor_layout'."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    pages = [toc["root"]]
    for part in toc.get("parts", []):
        pages += [chapter["file"] for chapter in part["chapters"]]
    return pages


PAGES = _toc_pages()
CHAPTERS = [page for page in PAGES if page.startswith("chapters/")]


def _repository() -> tuple[str, str]:
    """Return (owner, name) from the repository URL in _config.yml."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    owner, name = urlparse(config["repository"]["url"]).path.strip("/").split("/")[:2]
    return owner, name


@pytest.fixture(scope="module")
def server():
    """Serve the built book on 127.0.0.1 at a free port; yield its base URL."""
    if not (HTML / "index.html").is_file():
        pytest.fail(f"{HTML}/index.html not found; build the book first with `make book`")

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(HTML))
    handler.log_message = lambda *args: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser():
    """Launch the system Chromium through Playwright."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="install requirements.txt (playwright)")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}; install Debian's chromium package or set CHROMIUM")

    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class PageVisit:
    """A page loaded with every foreign request blocked, and the console errors it logged."""

    def __init__(self, browser, server: str, path: str):
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.blocked: list[str] = []
        self.errors: list[str] = []
        self.page.on("console", self._record_console_error)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.route("**/*", functools.partial(self._route, server))
        self.page.goto(f"{server}/{path}", wait_until="networkidle", timeout=PAGE_TIMEOUT_MS)

    def _record_console_error(self, message) -> None:
        if message.type == "error":
            self.errors.append(message.text)

    def _route(self, server: str, route) -> None:
        if route.request.url.startswith(server + "/"):
            route.continue_()
        else:
            self.blocked.append(route.request.url)
            route.abort()

    def wait_for_mathjax(self) -> None:
        """Wait until MathJax, if the page loads it, has finished its first typesetting pass."""
        if not self.page.locator("script[src*='mathjax']").count():
            return
        self.page.wait_for_function(
            "() => window.MathJax && window.MathJax.startup && window.MathJax.startup.promise",
            timeout=PAGE_TIMEOUT_MS,
        )
        self.page.evaluate("() => window.MathJax.startup.promise.then(() => true)")


def test_only_toc_pages_are_built():
    built = {p.relative_to(HTML).with_suffix("").as_posix() for p in HTML.rglob("*.html")}
    built -= {"index", "search", "genindex"}
    built = {page for page in built if not page.startswith(("_static/", "_sources/", "_images/"))}
    assert built == set(PAGES)


@pytest.mark.parametrize("page", PAGES)
def test_page_is_offline_and_clean(browser, server, page):
    visit = PageVisit(browser, server, f"{page}.html")
    visit.wait_for_mathjax()

    assert visit.blocked == [], f"{page} requested other hosts"
    assert visit.errors == [], f"{page} logged console errors"

    broken_images = visit.page.evaluate(
        "() => Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)"
    )
    assert broken_images == []

    # sphinx-book-theme 1.3 adds a second, empty top bar with its own search field.
    visible_search_fields = visit.page.evaluate(
        "() => Array.from(document.querySelectorAll('.search-button-field'))"
        ".filter(e => e.offsetParent !== null && e.getBoundingClientRect().height > 0).length"
    )
    assert visible_search_fields == 1, f"{page}: {visible_search_fields} visible search fields"

    math_count = visit.page.locator(".math").count()
    typeset_count = visit.page.locator("mjx-container").count()
    assert typeset_count >= math_count, f"{page}: {math_count} equations, {typeset_count} typeset"

    prose = visit.page.evaluate(
        "() => { const c = document.querySelector('article').cloneNode(true);"
        " c.querySelectorAll('pre, code, mjx-container, .cell_output').forEach(e => e.remove());"
        " return c.innerText; }"
    )
    assert "$$" not in prose
    assert "\\frac" not in prose
    visit.page.close()


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_renders_outputs_figures_and_buttons(browser, server, chapter):
    visit = PageVisit(browser, server, f"{chapter}.html")
    page = visit.page

    code_cells = page.locator("div.cell").count()
    outputs = page.locator("div.cell_output").count()
    assert code_cells > 0
    assert outputs > 0, f"{chapter}: no code cell shows an output"

    uncaptioned = page.evaluate(
        "() => Array.from(document.querySelectorAll('.cell_output img'))"
        ".filter(i => !(i.closest('figure') && i.closest('figure').querySelector('figcaption')"
        " && /Fig\\. ?\\d/.test(i.closest('figure').querySelector('figcaption').innerText))).length"
    )
    assert uncaptioned == 0, f"{chapter}: {uncaptioned} figures without a numbered caption"

    owner, name = _repository()
    notebook = f"{chapter}.ipynb"
    download = page.locator("a.btn-download-source-button").first.get_attribute("href")
    assert download.endswith(f"_sources/{notebook}")
    assert (HTML / "_sources" / notebook).is_file()

    colab = page.locator("a[href^='https://colab.research.google.com']").first.get_attribute("href")
    assert colab == f"https://colab.research.google.com/github/{owner}/{name}/blob/main/{notebook}"
    binder = page.locator("a[href^='https://mybinder.org']").first.get_attribute("href")
    assert binder.startswith(f"https://mybinder.org/v2/gh/{owner}/{name}/main?urlpath=")
    assert notebook in binder

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{Path(chapter).name}.png"), full_page=False)
    page.close()


def test_search_finds_a_term(browser, server):
    visit = PageVisit(browser, server, "search.html?q=stride")
    results = visit.page.locator("#search-results ul.search li a")
    results.first.wait_for(timeout=PAGE_TIMEOUT_MS)
    hrefs = [results.nth(i).get_attribute("href") for i in range(results.count())]
    assert any("01_tensor_layout" in href for href in hrefs)
    assert visit.errors == []
    visit.page.close()
